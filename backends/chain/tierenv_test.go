package chain

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
)

// A tier= value with a raw '?' is refused (its parameters after '&' would
// have gone to the chain), without showing the tier's password; the same
// tier escaped is accepted.
func TestTierEscaping(t *testing.T) {
	const secret = "s3cr3tpw"
	for _, c := range []struct {
		name, dsn string
		ok        bool
	}{
		{"unescaped with a chain param after it", "chain://?tier=redis://:" + secret + "@h/0?prefix=x:&max_alerts=5", false},
		{"unescaped last", "chain://?tier=mem://&tier=bolt:///var/a.db?prefix=x:", false},
		{"escaped", "chain://?tier=" + url.QueryEscape("redis://:"+secret+"@h/0?prefix=x:") + "&max_alerts=5", true},
		{"no query in the tier", "chain://?tier=redis://h/0&tier=bolt:///var/a.db", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parse(t, c.dsn)
			if c.ok {
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				return
			}
			if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), "unescaped '?'") || !strings.Contains(err.Error(), EnvTierPrefix+"1") {
				t.Fatalf("parse: %v; want ErrInvalidConfig naming the unescaped '?' and %s1", err, EnvTierPrefix)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error shows the password: %v", err)
			}
		})
	}
}

// With no tier=, $ALERTSTORE_TIER_N give the tiers, unescaped, each
// keeping its own parameters; tier= wins over them; a gap is an error.
func TestEnvTiers(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     map[string]string
		dsn     string
		tiers   []string // prefixes of the tier DSNs
		wantErr string
	}{
		{"two tiers", map[string]string{"1": "redis://h/0?prefix=x:&max_alerts=5", "2": "bolt:///var/a.db"}, "chain://?tier_timeout=1s",
			[]string{"redis://h/0?max_alert_bytes=262144&max_alerts=5&prefix=x%3A", "bolt:///var/a.db?"}, ""},
		{"tier= wins", map[string]string{"1": "redis://h/0"}, "chain://?tier=mem://", []string{"mem://"}, ""},
		{"gap", map[string]string{"1": "mem://", "3": "bolt:///var/a.db"}, "chain://", nil, "_TIER_3 is set but $ALERTSTORE_TIER_2 is not"},
		{"none", nil, "chain://", nil, "0 tier= parameters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for i := 1; i <= MaxTiers+1; i++ {
				t.Setenv(EnvTierPrefix+itoa(i), "")
			}
			for k, v := range c.env {
				t.Setenv(EnvTierPrefix+k, v)
			}
			tiers, _, err := parse(t, c.dsn)
			if c.wantErr != "" {
				if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("parse: %v; want ErrInvalidConfig with %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if len(tiers) != len(c.tiers) {
				t.Fatalf("%d tiers, want %d", len(tiers), len(c.tiers))
			}
			for i, want := range c.tiers {
				if !strings.HasPrefix(tiers[i].DSN, want) {
					t.Errorf("tier %d = %s, want it to start %s", i+1, tiers[i].DSN, want)
				}
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
