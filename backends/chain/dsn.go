package chain

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

func init() {
	registry.Register(Scheme, Opener(registry.Default))
}

// Opener returns the chain's opener for a registry r, whose backends open
// the tiers: register it in a registry of your own to compose the backends
// you registered there. The default registry has it as "chain".
func Opener(r *registry.Registry) registry.Opener {
	return func(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
		tiers, opts, err := parseDSN(dsn, cfg)
		if err != nil {
			return nil, err
		}
		opts.Registry = r
		opts.Logger = registry.LoggerFrom(ctx).With("backend", Scheme)
		return New(ctx, tiers, opts)
	}
}

// FormatDSN builds a chain DSN from tier DSNs, highest first, escaping
// each; add chain parameters after it ("&tier_timeout=1s").
func FormatDSN(tiers ...string) string {
	var b strings.Builder
	b.WriteString(Scheme + "://")
	for i, t := range tiers {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString("tier=" + url.QueryEscape(t))
	}
	return b.String()
}

// parseDSN reads the tiers and the chain's parameters and rejects the
// rest, without I/O. Of the shared parameters it keeps those the chain's
// DSN sets explicitly: New combines them with the tiers' (resolveShared).
func parseDSN(dsn *registry.DSN, cfg backend.Config) ([]Tier, *Options, error) {
	o := &Options{}
	if dsn.Has("prefix") {
		o.Prefix = cfg.Prefix
	}
	if dsn.Has("max_alerts") {
		o.MaxAlerts = cfg.MaxAlerts
	}
	if dsn.Has("max_alert_bytes") {
		o.MaxAlertBytes = cfg.MaxAlertBytes
	}
	var err error
	if o.TierTimeout, err = dsn.Duration("tier_timeout", DefaultTierTimeout, time.Millisecond, time.Minute); err != nil {
		return nil, nil, err
	}
	if o.ProbeInterval, err = dsn.Duration("probe_interval", DefaultProbeInterval, 10*time.Millisecond, 10*time.Minute); err != nil {
		return nil, nil, err
	}
	if o.ProbeMax, err = dsn.Duration("probe_max", DefaultProbeMax, 10*time.Millisecond, time.Hour); err != nil {
		return nil, nil, err
	}
	if o.ProbeMax < o.ProbeInterval {
		return nil, nil, dsn.Errorf("probe_max %s is below probe_interval %s", o.ProbeMax, o.ProbeInterval)
	}
	if o.ReplayBatch, err = dsn.Int("replay_batch", DefaultReplayBatch, 1, 10_000); err != nil {
		return nil, nil, err
	}
	if o.ReplayCheck, err = dsn.Int("replay_check", DefaultReplayCheck, 0, 1_000_000); err != nil {
		return nil, nil, err
	}
	if o.ReplayCheck == 0 {
		o.ReplayCheck = -1 // Options: negative means no check
	}
	// Before Unknown: a tier DSN with an unescaped '?' has leaked its
	// parameters into the chain's, which is the error to report.
	if err := checkTierEscaping(dsn); err != nil {
		return nil, nil, err
	}
	raw := dsn.Params("tier")
	if err := dsn.Unknown(); err != nil {
		return nil, nil, err
	}
	if len(raw) == 0 {
		if raw, err = envTiers(); err != nil {
			return nil, nil, dsn.Errorf("%v", err)
		}
	}
	if dsn.Host() != "" || (dsn.Path() != "" && dsn.Path() != "/") || dsn.Username() != "" {
		return nil, nil, dsn.Errorf("the tiers go in tier= parameters: chain://?tier=<DSN>&tier=<DSN>")
	}
	if len(raw) == 0 || len(raw) > MaxTiers {
		return nil, nil, dsn.Errorf("%d tier= parameters (and no $%s1), want 1 to %d", len(raw), EnvTierPrefix, MaxTiers)
	}
	if cfg.Timeout > 0 && cfg.Timeout <= o.TierTimeout {
		return nil, nil, dsn.Errorf("timeout %s must exceed tier_timeout %s, or a frozen first tier would use up the whole call before the next one is tried", cfg.Timeout, o.TierTimeout)
	}
	tiers := make([]Tier, len(raw))
	for i, t := range raw {
		td, err := registry.ParseDSN(t)
		if err != nil {
			return nil, nil, dsn.Errorf("tier %d: %v", i+1, strings.TrimPrefix(err.Error(), backend.ErrInvalidConfig.Error()+": "))
		}
		if td.Scheme() == Scheme {
			return nil, nil, dsn.Errorf("tier %d is a chain: chains do not nest", i+1)
		}
		tiers[i] = Tier{DSN: t}
	}
	return tiers, o, nil
}

// EnvTierPrefix is the prefix of the environment variables that give a
// chain its tiers when its DSN has no tier= parameter: ALERTSTORE_TIER_1
// is the first tier's DSN, ALERTSTORE_TIER_2 the second, and so on, each
// written as is (no escaping). The numbers run from 1 without a gap.
const EnvTierPrefix = "ALERTSTORE_TIER_"

// envTiers reads $ALERTSTORE_TIER_1.. in order. A variable after a gap
// (ALERTSTORE_TIER_3 without ALERTSTORE_TIER_2) is an error, not ignored.
func envTiers() ([]string, error) {
	var out []string
	gap := 0
	for i := 1; i <= MaxTiers+1; i++ {
		v, ok := os.LookupEnv(fmt.Sprintf("%s%d", EnvTierPrefix, i))
		switch {
		case !ok || v == "":
			if gap == 0 {
				gap = i
			}
		case gap != 0:
			return nil, fmt.Errorf("$%s%d is set but $%s%d is not: the tiers are numbered from 1 without a gap", EnvTierPrefix, i, EnvTierPrefix, gap)
		case i > MaxTiers:
			return nil, fmt.Errorf("$%s%d: at most %d tiers", EnvTierPrefix, i, MaxTiers)
		default:
			out = append(out, v)
		}
	}
	return out, nil
}

// checkTierEscaping refuses a tier= value holding a raw '?': in
// chain://?tier=redis://h/0?prefix=x:&max_alerts=5 the URL parser gives
// the tier "redis://h/0?prefix=x:" and the chain max_alerts=5, which the
// user meant for the tier. Only the raw query shows it: an escaped '?'
// (%3F) is the tier's own query, as it should be. The error names the
// tier by number, never its DSN (it may hold a password).
func checkTierEscaping(dsn *registry.DSN) error {
	n := 0
	for _, kv := range strings.Split(dsn.URL().RawQuery, "&") {
		if !strings.HasPrefix(kv, "tier=") {
			continue
		}
		n++
		if strings.Contains(kv, "?") {
			return dsn.Errorf("tier %d has an unescaped '?': its parameters after the first '&' would go to the chain, not the tier; escape each tier DSN (url.QueryEscape, or chain.FormatDSN in Go: ? is %%3F, & is %%26, = is %%3D), or leave tier= out and give the tiers unescaped in $%s1, $%s2, ...", n, EnvTierPrefix, EnvTierPrefix)
		}
	}
	return nil
}
