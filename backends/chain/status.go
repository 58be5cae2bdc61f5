package chain

import (
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// Status is a chain's state as data, for `alertstore status`, metrics and
// tests. It is read from memory (no I/O): the backlog figures are those of
// the last replay round (every probe_interval) or read.
type Status struct {
	// Active is the name of the tier writes go to now, "" when none
	// answers.
	Active string
	// DegradedSince is when the first tier last stopped answering; zero
	// while it answers.
	DegradedSince time.Time
	// Backlog is how many entries the tiers below the first hold: what
	// waits to be replayed.
	Backlog int64
	// Replaying is true while a replay is moving entries up.
	Replaying bool
	// Replayed counts entries moved up; Fallbacks counts tiers going
	// down; Deduplicated counts backlog entries not moved because the
	// higher tier already held their id; DroppedForCap counts backlog
	// entries removed without being moved because newer alerts filled
	// the cap. All since the chain was opened.
	Replayed, Fallbacks, Deduplicated, DroppedForCap uint64
	// Tiers are the tiers, highest first.
	Tiers []TierStatus
}

// TierStatus is one tier's state.
type TierStatus struct {
	// Name is the tier's label (its scheme unless named).
	Name string
	// DSN is the tier's DSN with its secrets redacted ("" for a tier
	// given as a driver).
	DSN string
	// Healthy is whether the chain sends calls to it.
	Healthy bool
	// Opened is false for a DSN tier that could not be opened yet.
	Opened bool
	// DownSince is when it last stopped answering (zero while healthy).
	DownSince time.Time
	// LastError is its last failure, "" if none.
	LastError string
	// Probes counts the background health checks sent to it: the
	// reconnect attempts the chain made.
	Probes uint64
	// Backlog is its last known entry count, for tiers below the first.
	Backlog int64
	// MaxAlerts is the tier's effective cap: what it keeps, and what a
	// replay into it keeps (the chain's own max_alerts is the first
	// tier's).
	MaxAlerts int
	// Capabilities are the tier's own (zero if never opened).
	Capabilities backend.Capabilities
	// Lossy is true when an alert this tier acknowledged dies with this
	// process: a tier neither Durable nor Persistent (a memory tier). A
	// Redis tier is not lossy in this sense: its alerts outlive us, with
	// the server's own persistence (docs/guarantees.md). False for a tier
	// not opened yet, whose capabilities are unknown.
	Lossy bool
}

// Status reports the chain's state.
func (c *Chain) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Status{
		DegradedSince: c.degradedSince,
		Replaying:     c.replaying.Load(),
		Replayed:      c.replayed.Load(),
		Fallbacks:     c.fallbacks.Load(),
		Deduplicated:  c.deduplicated.Load(),
		DroppedForCap: c.droppedCap.Load(),
	}
	for _, t := range c.tiers {
		ts := TierStatus{
			Name:         t.name,
			Healthy:      t.healthy,
			Opened:       t.drv != nil,
			LastError:    t.lastErr,
			Probes:       t.probes.Load(),
			MaxAlerts:    t.maxAlerts,
			Capabilities: t.caps,
			Lossy:        t.drv != nil && !t.caps.Durable && !t.caps.Persistent,
		}
		if t.dsn != "" {
			ts.DSN = registry.RedactDSN(t.dsn)
		}
		if !t.healthy {
			ts.DownSince = t.downSince
		}
		if t.idx > 0 {
			ts.Backlog = t.backlog.Load()
			st.Backlog += ts.Backlog
		}
		if st.Active == "" && t.healthy {
			st.Active = t.name
		}
		st.Tiers = append(st.Tiers, ts)
	}
	return st
}

// StatusOf returns the status of the chain behind s, and false when s is
// not a chain.
func StatusOf(s *backend.Store) (Status, bool) {
	if s == nil {
		return Status{}, false
	}
	var st Status
	ok := s.As(&st)
	return st, ok
}

// As implements backend.Aser: Store.As(&st), st a Status, sets st to the
// chain's status (what StatusOf does); Store.As(&c), c a *Chain, sets c to
// the chain itself, for Replay (what ReplayerOf does).
func (c *Chain) As(i any) bool {
	switch p := i.(type) {
	case *Status:
		*p = c.Status()
		return true
	case **Chain:
		*p = c
		return true
	}
	return false
}
