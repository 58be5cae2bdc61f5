package chain

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/apt-detection/alertstore/backend"
)

// ErrBacklogLeft is what Replay returns (wrapped, with the count) when
// backlog is still waiting when it returns: its ctx ran out, or the first
// tier does not answer, or a step failed.
var ErrBacklogLeft = errors.New("chain: backlog left")

// ReplayProgress is one progress report of Replay: after each replay step
// (one batch moved, or one lower tier found empty).
type ReplayProgress struct {
	// From and To name the tiers of the step ("" when the report is the
	// final one and nothing is left).
	From, To string
	// Moved is how many entries this Replay call has moved so far.
	Moved int
	// Backlog is how many entries the tiers below the first hold now, by
	// the chain's last count.
	Backlog int64
}

// Replay drains the backlog into the first tier now, in the caller's
// goroutine, and returns when none is left (nil) or ctx ends, the first
// tier does not answer or a step fails (an error wrapping ErrBacklogLeft,
// and ErrUnavailable or ctx's error). It is for short-lived processes
// (a command that exits before the background replay could run); a
// long-lived one needs not call it. progress, if not nil, is called after
// each step, in the caller's goroutine. Replay moves entries exactly as
// the background replay does (same id check, same cap rule, same
// DropMessage records) and is safe to call while it runs: a tier is
// drained by one replay at a time.
func (c *Chain) Replay(ctx context.Context, progress func(ReplayProgress)) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	var moved atomic.Int64
	report := func(from, to string) {
		p := ReplayProgress{From: from, To: to, Moved: int(moved.Load()), Backlog: c.backlog()}
		c.log.Info(ReplayProgressMessage, "from", p.From, "to", p.To, "moved", p.Moved, "backlog", p.Backlog)
		if progress != nil {
			progress(p)
		}
	}
	for {
		up := c.active()
		switch {
		case up == nil:
			return fmt.Errorf("%w: %d entries: %w: no tier answers", ErrBacklogLeft, c.backlog(), backend.ErrUnavailable)
		case up.idx != 0:
			return fmt.Errorf("%w: %d entries: %w: the first tier (%s) is down", ErrBacklogLeft, c.backlog(), backend.ErrUnavailable, c.tiers[0].name)
		}
		before := c.replayed.Load()
		failed := c.replayStep(ctx, up, func(lo *tier, n int) {
			moved.Add(int64(n))
			report(lo.name, up.name)
		})
		n := c.backlog()
		if n == 0 && failed == nil {
			report("", "")
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w: %d entries: %w", ErrBacklogLeft, n, err)
		}
		if failed != nil {
			return fmt.Errorf("%w: %d entries: %w", ErrBacklogLeft, n, failed)
		}
		if c.replayed.Load() == before && c.active() == up {
			// Nothing moved and nothing failed: what is left is not
			// movable now (a tier below is down, or new entries keep
			// arriving in a tier without Drainer).
			return fmt.Errorf("%w: %d entries: %w: a lower tier holding them does not answer", ErrBacklogLeft, n, backend.ErrUnavailable)
		}
	}
}

// replayStep is one round of replayOnce for Replay: every lower tier
// counted, drained into up, and each step reported; the first error it
// met is returned. A tier below that is down is an error: its backlog
// cannot move.
func (c *Chain) replayStep(ctx context.Context, up *tier, step func(lo *tier, moved int)) error {
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	for _, lo := range c.tiers[up.idx+1:] {
		if ctx.Err() != nil || c.active() != up {
			return first
		}
		if c.driver(lo) == nil || !c.isHealthy(lo) {
			if lo.backlog.Load() > 0 {
				keep(fmt.Errorf("%w: tier %s holds backlog and does not answer", backend.ErrUnavailable, lo.name))
			}
			continue
		}
		var n int64
		err := c.call(ctx, lo, func(ctx context.Context, d backend.Driver) (err error) {
			n, err = d.Count(ctx)
			return err
		})
		if err != nil {
			c.markDownUnlessCtx(ctx, lo, err)
			keep(fmt.Errorf("counting tier %s: %w", lo.name, err))
			continue
		}
		lo.backlog.Store(n)
		if n == 0 {
			step(lo, 0)
			continue
		}
		if err := c.drainReporting(ctx, up, lo, func(n int) { step(lo, n) }); err != nil {
			keep(err)
		}
	}
	return first
}

// backlog sums the last known entry counts of the tiers below the first.
func (c *Chain) backlog() int64 {
	var n int64
	for _, t := range c.tiers[1:] {
		n += t.backlog.Load()
	}
	return n
}

// ReplayerOf returns the chain behind s, for Replay, and false when s is
// not a chain. It is Store.As with a **Chain.
func ReplayerOf(s *backend.Store) (*Chain, bool) {
	if s == nil {
		return nil, false
	}
	var c *Chain
	ok := s.As(&c)
	return c, ok
}
