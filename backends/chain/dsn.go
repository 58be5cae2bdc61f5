package chain

import (
	"context"
	"net/url"
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
	raw := dsn.Params("tier")
	if err := dsn.Unknown(); err != nil {
		return nil, nil, err
	}
	if dsn.Host() != "" || (dsn.Path() != "" && dsn.Path() != "/") || dsn.Username() != "" {
		return nil, nil, dsn.Errorf("the tiers go in tier= parameters: chain://?tier=<DSN>&tier=<DSN>")
	}
	if len(raw) == 0 || len(raw) > MaxTiers {
		return nil, nil, dsn.Errorf("%d tier= parameters, want 1 to %d", len(raw), MaxTiers)
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
