package backend

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// OpEvent is one finished Store call, as an Observer sees it. Fields may
// be added; an Observer reads those it knows.
type OpEvent struct {
	// Op is the call: "store" (Store and StoreBatch), "list", "count",
	// "clear" or "ping".
	Op string
	// Backend is the store's scheme ("redis", "chain", ...).
	Backend string
	// N is, for "store", how many alerts the call was given (stored when
	// Err is nil); for "list", how many alerts the page holds; for
	// "count", the count; else 0.
	N int
	// Skipped is, for "list", how many entries the page skipped as not
	// alerts (Page.Skipped + Page.Oversized); else 0.
	Skipped int
	// Err is the call's error, nil on success.
	Err error
	// Took is how long the call took.
	Took time.Duration
}

// Observer is told of every finished Store call, in the caller's
// goroutine, after the call: an implementation must be safe for concurrent
// use and quick (count, do not do I/O). A metrics exporter implements it,
// or reads a Counters, without importing any backend. Set it with
// registry.WithObserver or Store.SetObserver.
type Observer interface {
	OnOp(OpEvent)
}

// SetObserver makes s report its calls to o (nil: to none). Call it before
// s is shared; registry.Open calls it with the ctx's observer.
func (s *Store) SetObserver(o Observer) { s.obs = o }

// started is the start time of a call for observe: the clock is read
// only when there is an observer to tell.
func (s *Store) started() time.Time {
	if s.obs == nil {
		return time.Time{}
	}
	return time.Now()
}

func (s *Store) observe(op string, n, skipped int, err error, start time.Time) {
	if s.obs != nil {
		s.obs.OnOp(OpEvent{Op: op, Backend: s.name, N: n, Skipped: skipped, Err: err, Took: time.Since(start)})
	}
}

// Counters is a ready-made Observer: atomic counters a metrics exporter
// reads with Snapshot. The zero value is ready to use.
type Counters struct {
	stored, rejected, skipped atomic.Uint64
	mu                        sync.Mutex
	ops                       map[string]*OpCounts
}

// OpCounts are the counters of one operation.
type OpCounts struct {
	// Calls counts the calls; Errors those that failed.
	Calls, Errors uint64
	// Unavailable counts the failures that wrap ErrUnavailable.
	Unavailable uint64
	// Total is the time the calls took, together; Max the longest.
	Total, Max time.Duration
}

// CountersSnapshot is Counters at one moment.
type CountersSnapshot struct {
	// Stored counts alerts stored; Rejected alerts refused as invalid
	// (ErrInvalidAlert: the whole batch, none stored); Skipped entries
	// List skipped as not alerts or oversized.
	Stored, Rejected, Skipped uint64
	// Ops are the counts per operation ("store", "list", ...).
	Ops map[string]OpCounts
}

// OnOp implements Observer.
func (c *Counters) OnOp(e OpEvent) {
	switch {
	case e.Op == "store" && e.Err == nil:
		c.stored.Add(uint64(e.N))
	case e.Op == "store" && errors.Is(e.Err, ErrInvalidAlert):
		c.rejected.Add(uint64(e.N))
	}
	c.skipped.Add(uint64(e.Skipped))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ops == nil {
		c.ops = map[string]*OpCounts{}
	}
	oc := c.ops[e.Op]
	if oc == nil {
		oc = &OpCounts{}
		c.ops[e.Op] = oc
	}
	oc.Calls++
	if e.Err != nil {
		oc.Errors++
		if errors.Is(e.Err, ErrUnavailable) {
			oc.Unavailable++
		}
	}
	oc.Total += e.Took
	oc.Max = max(oc.Max, e.Took)
}

// Snapshot returns the counters now.
func (c *Counters) Snapshot() CountersSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := CountersSnapshot{Stored: c.stored.Load(), Rejected: c.rejected.Load(), Skipped: c.skipped.Load(), Ops: map[string]OpCounts{}}
	for op, oc := range c.ops {
		s.Ops[op] = *oc
	}
	return s
}
