package chain_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/registry"
)

// The one rule for the parameters that exist on the chain and on its tiers
// (package doc, "Shared parameters"), for each of them: set on the chain
// only, on a tier only, on both with one value, on both with two.
func TestSharedParameterRule(t *testing.T) {
	type want struct {
		eff   string   // the Store's effective value, as "name=value"
		tiers []string // what each tier's DSN must contain
	}
	for _, c := range []struct {
		name       string
		chain      string // chain parameters
		top, lower string // tier DSNs
		want       want
		refused    []string // the error must say all of these
	}{
		{"max_alerts/chain-only", "&max_alerts=5000", "mem://", "mem://",
			want{"max_alerts=5000", []string{"max_alerts=5000", "max_alerts=5000"}}, nil},
		{"max_alerts/tier-only", "", "mem://?max_alerts=1000000", "mem://?max_alerts=1000000",
			want{"max_alerts=1000000", []string{"max_alerts=1000000", "max_alerts=1000000"}}, nil},
		{"max_alerts/first-tier-only", "", "mem://?max_alerts=7000", "mem://",
			want{"max_alerts=7000", []string{"max_alerts=7000", "max_alerts=7000"}}, nil},
		{"max_alerts/lower-tier-larger", "", "mem://", "mem://?max_alerts=1000000",
			want{"max_alerts=1000", []string{"max_alerts=1000", "max_alerts=1000000"}}, nil},
		{"max_alerts/both-equal", "&max_alerts=5000", "mem://?max_alerts=5000", "mem://",
			want{"max_alerts=5000", []string{"max_alerts=5000", "max_alerts=5000"}}, nil},
		{"max_alerts/both-different", "&max_alerts=1000", "mem://", "mem://?max_alerts=1000000",
			want{}, []string{"max_alerts=1000 on the chain", "max_alerts=1000000 on tier 2 (mem)"}},
		{"max_alerts/lower-tier-smaller", "", "mem://?max_alerts=5000", "mem://?max_alerts=100",
			want{}, []string{"max_alerts=100 on tier 2 (mem)", "below the first tier's 5000"}},

		{"max_alert_bytes/chain-only", "&max_alert_bytes=4096", "mem://", "mem://",
			want{"max_alert_bytes=4096", []string{"max_alert_bytes=4096", "max_alert_bytes=4096"}}, nil},
		{"max_alert_bytes/tier-only-smallest-wins", "", "mem://?max_alert_bytes=1048576", "mem://?max_alert_bytes=8192",
			want{"max_alert_bytes=8192", []string{"max_alert_bytes=1048576", "max_alert_bytes=8192"}}, nil},
		{"max_alert_bytes/tier-only-inherited", "", "mem://?max_alert_bytes=1048576", "mem://",
			want{"max_alert_bytes=1048576", []string{"max_alert_bytes=1048576", "max_alert_bytes=1048576"}}, nil},
		{"max_alert_bytes/both-equal", "&max_alert_bytes=4096", "mem://", "mem://?max_alert_bytes=4096",
			want{"max_alert_bytes=4096", []string{"max_alert_bytes=4096", "max_alert_bytes=4096"}}, nil},
		{"max_alert_bytes/both-different", "&max_alert_bytes=4096", "mem://?max_alert_bytes=8192", "mem://",
			want{}, []string{"max_alert_bytes=4096 on the chain", "max_alert_bytes=8192 on tier 1 (mem)"}},

		{"prefix/chain-only", "&prefix=ids:", "mem://", "mem://",
			want{"prefix=ids:", []string{"prefix=ids%3A", "prefix=ids%3A"}}, nil},
		{"prefix/tier-only", "", "mem://?prefix=top:", "mem://?prefix=low:",
			want{"prefix=top:", []string{"prefix=top%3A", "prefix=low%3A"}}, nil},
		{"prefix/first-tier-only", "", "mem://?prefix=top:", "mem://",
			want{"prefix=top:", []string{"prefix=top%3A", "prefix=top%3A"}}, nil},
		{"prefix/both-equal", "&prefix=ids:", "mem://?prefix=ids:", "mem://",
			want{"prefix=ids:", []string{"prefix=ids%3A", "prefix=ids%3A"}}, nil},
		{"prefix/both-different", "&prefix=ids:", "mem://", "mem://?prefix=other:",
			want{}, []string{"prefix=ids: on the chain", "prefix=other: on tier 2 (mem)"}},

		{"none-set", "", "mem://", "mem://",
			want{"max_alerts=1000", []string{"max_alerts=1000&", "max_alerts=1000&"}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dsn := chain.FormatDSN(c.top, c.lower) + c.chain
			s, err := registry.Open(context.Background(), dsn)
			if c.refused != nil {
				if err == nil {
					s.Close()
					t.Fatalf("Open(%s) succeeded; want it refused", dsn)
				}
				if !errors.Is(err, backend.ErrInvalidConfig) || !containsAll(err.Error(), c.refused...) {
					t.Fatalf("Open(%s) = %v; want ErrInvalidConfig saying %q", dsn, err, c.refused)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%s): %v", dsn, err)
			}
			defer s.Close()
			cfg := s.Config()
			got := map[string]string{
				"max_alerts":      strconv.Itoa(cfg.MaxAlerts),
				"max_alert_bytes": strconv.Itoa(cfg.MaxAlertBytes),
				"prefix":          cfg.Prefix,
			}
			name, value, _ := strings.Cut(c.want.eff, "=")
			if got[name] != value {
				t.Errorf("Store.Config() %s = %s, want %s", name, got[name], value)
			}
			st, _ := chain.StatusOf(s)
			for i, part := range c.want.tiers {
				if d := st.Tiers[i].DSN + "&"; !strings.Contains(d, part) {
					t.Errorf("tier %d opened as %s, want it to contain %s", i+1, st.Tiers[i].DSN, part)
				}
			}
		})
	}
}

// A conflict names the tier by number and scheme, never its DSN: a
// password in a tier DSN stays out of the error.
func TestSharedParameterConflictHidesSecrets(t *testing.T) {
	dsn := chain.FormatDSN("redis://:hunter2@127.0.0.1:1/0?max_alerts=5", "mem://") + "&max_alerts=10"
	_, err := registry.Open(context.Background(), dsn)
	if !errors.Is(err, backend.ErrInvalidConfig) || !containsAll(err.Error(), "max_alerts=10 on the chain", "max_alerts=5 on tier 1 (redis)") {
		t.Fatalf("Open = %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("the error leaks the tier's password: %v", err)
	}
}

// The Store in front of a chain checks alerts against the effective
// max_alert_bytes, the smallest any tier sets: an alert the chain accepts
// fits every tier, and one that fits none is refused before any I/O.
func TestEffectiveMaxAlertBytesEnforced(t *testing.T) {
	ctx := context.Background()
	s, err := registry.Open(ctx, chain.FormatDSN("mem://?max_alert_bytes=1048576", "mem://?max_alert_bytes=512"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := backend.NewAlert()
	_ = a.SetEntity("host1")
	_ = a.SetMessage(strings.Repeat("x", 600))
	if err := s.Store(ctx, a); !errors.Is(err, backend.ErrTooLarge) {
		t.Fatalf("Store of a 600+ byte alert = %v, want ErrTooLarge (the lower tier's cap is 512)", err)
	}
	small := backend.NewAlert()
	_ = small.SetEntity("host1")
	if err := s.Store(ctx, small); err != nil {
		t.Fatalf("Store of a small alert: %v", err)
	}
}

// Timeouts are not one of the shared parameters: the chain's timeout
// bounds a whole call across tiers and is never inherited; a tier that
// sets no timeout gets tier_timeout; a tier's own timeout stays.
func TestTierTimeoutInheritance(t *testing.T) {
	dsn := chain.FormatDSN("mem://?timeout=300ms", "mem://") + "&tier_timeout=700ms&timeout=9s"
	s, err := registry.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, _ := chain.StatusOf(s)
	if d := st.Tiers[0].DSN; !strings.Contains(d, "timeout=300ms") {
		t.Errorf("tier 1 = %s, want its own timeout=300ms", d)
	}
	if d := st.Tiers[1].DSN; !strings.Contains(d, "timeout=700ms") {
		t.Errorf("tier 2 = %s, want tier_timeout's 700ms", d)
	}
	if got := s.Config().Timeout.String(); got != "9s" {
		t.Errorf("the chain's timeout = %s, want 9s", got)
	}
}

// TestCapRefusedByTierIsReported: a tier whose namespace recorded a higher
// cap than the chain's refuses the chain's writes; the chain reports that
// to the caller instead of parking the alert in the next tier.
func TestCapRefusedByTierIsReported(t *testing.T) {
	ctx := context.Background()
	first := memory.Open(t.Name(), backend.Config{Prefix: "capref:", MaxAlerts: 5000}, nil)
	defer first.Close()
	if err := first.Append(ctx, [][]byte{[]byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	c, err := chain.New(ctx, []chain.Tier{
		{Name: "first", Driver: memory.Open(t.Name(), backend.Config{Prefix: "capref:", MaxAlerts: 1000}, nil)},
		{Name: "second", Driver: memory.Open(t.Name()+"-2", backend.Config{Prefix: "capref:", MaxAlerts: 1000}, nil)},
	}, &chain.Options{Prefix: "capref:", MaxAlerts: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Append(ctx, [][]byte{[]byte(`{"entity":"x"}`)})
	if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), "max_alerts=1000 is below the cap 5000") {
		t.Fatalf("Append = %v, want the first tier's cap refusal", err)
	}
	if st := c.(*chain.Chain).Status(); st.Backlog != 0 || st.Fallbacks != 0 {
		t.Fatalf("the refused alert went to the second tier: backlog %d, fallbacks %d", st.Backlog, st.Fallbacks)
	}
}
