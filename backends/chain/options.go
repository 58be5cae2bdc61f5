package chain

import (
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// Scheme is the DSN scheme.
const Scheme = "chain"

// Defaults of Options, also the DSN parameter defaults.
const (
	DefaultTierTimeout   = 2 * time.Second
	DefaultProbeInterval = time.Second
	DefaultProbeMax      = 30 * time.Second
	DefaultReplayBatch   = 100
	DefaultReplayCheck   = 10_000
	// MaxTiers bounds a chain: positions carry the tier in 4 bits.
	MaxTiers = 16
)

// Options tune a chain. The zero value (or nil) is the defaults.
type Options struct {
	// MaxAlerts is the cap of merged reads and of replay (see the package
	// doc). Default backend.DefaultMaxAlerts.
	MaxAlerts int
	// TierTimeout bounds each call to one tier. Default
	// DefaultTierTimeout.
	TierTimeout time.Duration
	// ProbeInterval is the first wait before probing a down tier.
	// Default DefaultProbeInterval.
	ProbeInterval time.Duration
	// ProbeMax caps the probe backoff. Default DefaultProbeMax.
	ProbeMax time.Duration
	// ReplayBatch is how many entries one replay step moves. Default
	// DefaultReplayBatch.
	ReplayBatch int
	// ReplayCheck is how many of the higher tier's newest entries a
	// replay reads for ids it already holds. Default DefaultReplayCheck;
	// negative means 0 (no check).
	ReplayCheck int
	// Registry opens DSN tiers. Default registry.Default.
	Registry *registry.Registry
	// Logf, if set, is told of fallbacks, recoveries and replays.
	Logf func(format string, args ...any)
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.MaxAlerts <= 0 {
		c.MaxAlerts = backend.DefaultMaxAlerts
	}
	if c.TierTimeout <= 0 {
		c.TierTimeout = DefaultTierTimeout
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = DefaultProbeInterval
	}
	if c.ProbeMax <= 0 {
		c.ProbeMax = DefaultProbeMax
	}
	if c.ProbeMax < c.ProbeInterval {
		c.ProbeMax = c.ProbeInterval
	}
	if c.ReplayBatch <= 0 {
		c.ReplayBatch = DefaultReplayBatch
	}
	if c.ReplayCheck == 0 {
		c.ReplayCheck = DefaultReplayCheck
	} else if c.ReplayCheck < 0 {
		c.ReplayCheck = 0
	}
	if c.Registry == nil {
		c.Registry = registry.Default
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c
}
