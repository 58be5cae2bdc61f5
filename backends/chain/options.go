package chain

import (
	"log/slog"
	"time"

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
	// Prefix, MaxAlerts and MaxAlertBytes are the chain's shared
	// parameters; zero means not set. The rule that combines them with
	// the tiers' (see "Shared parameters" in the package doc) gives the
	// chain's effective values: MaxAlerts is then the cap of merged reads,
	// and the first tier's cap. Default: what follows from the tiers,
	// else backend.DefaultPrefix, backend.DefaultMaxAlerts and
	// backend.DefaultMaxAlertBytes.
	Prefix        string
	MaxAlerts     int
	MaxAlertBytes int
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
	// Logger receives fallbacks and failed replays (Warn), recoveries
	// and replays (Info), and one record per acknowledged alert a replay
	// drops (Warn, message DropMessage, with its id); events.go lists the
	// messages. Default slog.Default(); a chain opened by DSN logs to the
	// logger of the ctx it was opened with (registry.WithLogger), else
	// slog.Default().
	Logger *slog.Logger

	// holdReplay starts the chain with its replay held (tests: reads
	// merged over a backlog, before any replay can move it).
	holdReplay bool
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
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
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
