package chain

import (
	"context"
	"fmt"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// Append stores the alerts in the first tier that takes them; see the
// package doc. The alerts are acknowledged by exactly the tier that
// returned nil; a tier that failed may still have applied them (a timeout
// is ambiguous), which replay's id check absorbs.
func (c *Chain) Append(ctx context.Context, alerts [][]byte) error {
	return c.AppendWithin(ctx, alerts, 0)
}

// AppendWithin implements backend.BoundedAppender: Append, bounded by
// within as well as by ctx. The bound is applied only when a tier is
// tried that its tier_timeout would not cut off in time (the last tier
// the call can try, or a tier_timeout longer than what is left): the
// healthy path, the first tier under tier_timeout, then costs one
// context with a deadline, as the tier alone under a Store does, where a
// Store's own context around Append made it two.
func (c *Chain) AppendWithin(ctx context.Context, alerts [][]byte, within time.Duration) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	var end time.Time // zero: ctx alone bounds the call
	if within > 0 {
		end = time.Now().Add(within)
		if dl, ok := ctx.Deadline(); ok && !dl.After(end) {
			end = time.Time{}
		}
	}
	var release context.CancelFunc // the bound's, once applied
	defer func() {
		if release != nil {
			release()
		}
	}()
	var errs []error
	tried := make([]bool, len(c.tiers))
	cands := c.candidates()
	for i, t := range cands {
		tried[t.idx] = true
		start := time.Now()
		last := i == len(cands)-1
		if !end.IsZero() && release == nil && (last || c.opts.TierTimeout <= 0 || start.Add(c.opts.TierTimeout).After(end)) {
			// From here on the call is bounded as a Store's context
			// would have bounded it; the checks of ctx below then see
			// that bound as the caller's deadline, as they saw the
			// Store's.
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, end)
			release = cancel
		}
		err := c.appendTo(ctx, t, alerts, last)
		if err == nil {
			if t.idx > 0 {
				t.backlog.Add(int64(len(alerts)))
			}
			c.notify(alerts)
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			// The caller's deadline: stop. The tier is to blame only if
			// it had its tier_timeout (the last tier is not cut off at
			// tier_timeout, but it is down all the same).
			if time.Since(start) >= c.opts.TierTimeout {
				c.markDown(t, fmt.Errorf("%w: no answer within tier_timeout %s", backend.ErrUnavailable, c.opts.TierTimeout))
			}
			if len(errs) == 0 {
				return fmt.Errorf("chain: append to tier %s: %w", t.name, cerr)
			}
			return aggregate("append", append(errs, fmt.Errorf("tier %s: %w: %w", t.name, backend.ErrUnavailable, cerr)))
		}
		if permanent(err) {
			return err
		}
		if insecure(err) {
			return c.securityFailure(t, "append", err)
		}
		c.markDown(t, err)
		errs = append(errs, tierError(t, err))
	}
	// Name the tiers that were skipped as down, so the error tells the
	// whole story.
	c.mu.Lock()
	for _, t := range c.tiers {
		if !tried[t.idx] {
			errs = append(errs, tierError(t, fmt.Errorf("%w: down since %s: %s", backend.ErrUnavailable, t.downSince.Format("15:04:05"), t.lastErr)))
		}
	}
	c.mu.Unlock()
	return aggregate("append", errs)
}

// appendTo appends to t, under tier_timeout unless t is the last tier the
// call can try.
func (c *Chain) appendTo(ctx context.Context, t *tier, alerts [][]byte, last bool) error {
	t.writeMu.RLock()
	defer t.writeMu.RUnlock()
	fn := func(ctx context.Context, d backend.Driver) error { return d.Append(ctx, alerts) }
	if last {
		return c.callLast(ctx, t, fn)
	}
	return c.call(ctx, t, fn)
}

var _ backend.BoundedAppender = (*Chain)(nil)
