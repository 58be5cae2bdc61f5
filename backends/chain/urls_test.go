package chain

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	_ "github.com/apt-detection/alertstore/backends/goredis" // registers redis://, the first tier of the DSN checks (no server is reached)
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
)

func parse(t *testing.T, dsn string) ([]Tier, *Options, error) {
	t.Helper()
	d, err := registry.ParseDSN(dsn)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := d.Common()
	if err != nil {
		return nil, nil, err
	}
	tiers, opts, err := parseDSN(d, cfg)
	if err != nil {
		return nil, nil, err
	}
	// What New does with them: the rule for shared parameters, and
	// tier_timeout as each tier's timeout.
	r, err := resolveShared(*opts, tiers)
	if err != nil {
		return nil, nil, err
	}
	for i := range tiers {
		tiers[i].DSN = inheritTimeout(r.dsns[i], opts.TierTimeout.String())
	}
	opts.MaxAlerts = r.eff.maxAlerts
	return tiers, opts, nil
}

func TestParseDSN(t *testing.T) {
	for _, c := range []struct {
		dsn   string
		tiers []string
		opts  Options
	}{
		{
			"chain://?tier=mem://&tier=bolt:///var/lib/a.db",
			[]string{
				"mem://?max_alert_bytes=262144&max_alerts=1000&prefix=apt_detection%3A&timeout=2s",
				"bolt:///var/lib/a.db?max_alert_bytes=262144&max_alerts=1000&prefix=apt_detection%3A&timeout=2s",
			},
			Options{MaxAlerts: 1000, TierTimeout: 2 * time.Second, ProbeInterval: time.Second, ProbeMax: 30 * time.Second, ReplayBatch: 100, ReplayCheck: 10000},
		},
		{
			// The tier's own timeout stays; the chain's shared
			// parameters fill the rest.
			"chain://?prefix=ids:&max_alerts=50000&timeout=10s&tier=" + url.QueryEscape("redis://:pw@h:6379/0?prefix=ids:&timeout=1s") +
				"&tier=bolt:///a.db&tier_timeout=500ms&probe_interval=250ms&probe_max=5s&replay_batch=1000&replay_check=0",
			[]string{
				"redis://:pw@h:6379/0?max_alert_bytes=262144&max_alerts=50000&prefix=ids%3A&timeout=1s",
				"bolt:///a.db?max_alert_bytes=262144&max_alerts=50000&prefix=ids%3A&timeout=500ms",
			},
			Options{MaxAlerts: 50000, TierTimeout: 500 * time.Millisecond, ProbeInterval: 250 * time.Millisecond, ProbeMax: 5 * time.Second, ReplayBatch: 1000, ReplayCheck: -1},
		},
	} {
		t.Run(c.dsn, func(t *testing.T) {
			tiers, opts, err := parse(t, c.dsn)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tr := range tiers {
				got = append(got, tr.DSN)
			}
			if strings.Join(got, "\n") != strings.Join(c.tiers, "\n") {
				t.Errorf("tiers\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.tiers, "\n"))
			}
			if o := *opts; o.MaxAlerts != c.opts.MaxAlerts || o.TierTimeout != c.opts.TierTimeout || o.ProbeInterval != c.opts.ProbeInterval ||
				o.ProbeMax != c.opts.ProbeMax || o.ReplayBatch != c.opts.ReplayBatch || o.ReplayCheck != c.opts.ReplayCheck {
				t.Errorf("options %+v, want %+v", *opts, c.opts)
			}
		})
	}
}

func TestParseDSNRejects(t *testing.T) {
	for _, c := range []struct{ dsn, says string }{
		{"chain://", "0 tier= parameters"},
		{"chain://?tier=mem://&tiers=mem://", `unknown parameter "tiers"`},
		{"chain://host?tier=mem://", "tier= parameters"},
		{"chain://?tier=chain%3A%2F%2F%3Ftier%3Dmem%3A%2F%2F", "chains do not nest"},
		{"chain://?tier=mem://&tier=nope", "tier 2"},
		{"chain://?tier=mem://&tier_timeout=5s", "must exceed tier_timeout"},
		{"chain://?tier=mem://&tier_timeout=2", "not a duration"},
		{"chain://?tier=mem://&probe_interval=10s&probe_max=1s", "below probe_interval"},
		{"chain://?tier=mem://&replay_batch=0", "out of range"},
		{"chain://?" + strings.Repeat("tier=mem://&", 17), "17 tier="},
		{"chain://?tier=redis://:hunter2@h/&bogus=1", `unknown parameter "bogus"`},
	} {
		t.Run(c.dsn, func(t *testing.T) {
			_, _, err := parse(t, c.dsn)
			if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("= %v, want ErrInvalidConfig saying %q", err, c.says)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error leaks a nested password: %v", err)
			}
		})
	}
}

// Nested DSNs keep their secrets: registry.RedactDSN recurses into tier=
// values, escaped or not.
func TestRedactNestedDSN(t *testing.T) {
	nested := "redis://alice:s3cret@cache:6379/0?password_file=/run/pw&token=t0ken"
	for _, dsn := range []string{
		FormatDSN(nested, "bolt:///var/lib/a.db"),
		"chain://?tier=redis://alice:s3cret@cache:6379/0&tier=mem://",
	} {
		red := registry.RedactDSN(dsn)
		if strings.Contains(red, "s3cret") || strings.Contains(red, "t0ken") {
			t.Fatalf("RedactDSN(%s) = %s: a nested secret survived", dsn, red)
		}
		if !strings.Contains(red, "cache") {
			t.Fatalf("RedactDSN(%s) = %s: redacted more than the secrets", dsn, red)
		}
	}
}

func TestStringRedacts(t *testing.T) {
	c := &Chain{tiers: []*tier{{name: "redis", dsn: "redis://:s3cret@cache:6379/0?password=p4ss"}, {name: "bolt", dsn: "bolt:///a.db"}}}
	got := c.String()
	if strings.Contains(got, "s3cret") || strings.Contains(got, "p4ss") || !strings.Contains(got, "redis=redis://") || !strings.Contains(got, "bolt=bolt:///a.db") {
		t.Fatalf("String() = %s", got)
	}
}

func TestFormatDSN(t *testing.T) {
	got := FormatDSN("redis://h:6379/0?prefix=a:&max_alerts=5", "bolt:///x.db")
	want := "chain://?tier=redis%3A%2F%2Fh%3A6379%2F0%3Fprefix%3Da%3A%26max_alerts%3D5&tier=bolt%3A%2F%2F%2Fx.db"
	if got != want {
		t.Fatalf("FormatDSN = %s, want %s", got, want)
	}
	tiers, _, err := parse(t, got)
	if err != nil || !strings.Contains(tiers[0].DSN, "max_alerts=5") || !strings.Contains(tiers[0].DSN, "prefix=a%3A") {
		t.Fatalf("a formatted DSN does not parse back: %v %v", tiers, err)
	}
}

// TestDSNChecks: a bad chain DSN is refused before any tier is opened: no
// connection to the Redis tier, no file of the bolt tier, and no tier's
// password in any message.
func TestDSNChecks(t *testing.T) {
	redisTier := "redis://:" + conformance.DSNSecret + "@{addr}/0"
	conformance.RunDSNChecks(t, conformance.DSNCase{
		DSN: FormatDSN(redisTier, "bolt://{path}"),
		Rejects: []conformance.DSNReject{
			{Name: "no-tier", DSN: "chain://?tier_timeout=1s", Says: "0 tier= parameters"},
			{Name: "nested-chain", DSN: FormatDSN(redisTier, FormatDSN("bolt://{path}")), Says: "chains do not nest"},
			{Name: "bad-tier", DSN: FormatDSN(redisTier, "bolt://{path}?sync=never"), Says: `sync="never"`},
			{Name: "tier-unknown-parameter", DSN: FormatDSN(redisTier+"?dial_timout=1s", "bolt://{path}"), Says: `"dial_timout"`},
			{Name: "tier_timeout-not-below-timeout", DSN: FormatDSN(redisTier, "bolt://{path}") + "&tier_timeout=5s", Says: "must exceed tier_timeout"},
		},
	})
}
