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
	if err := c.check(ctx); err != nil {
		return err
	}
	var errs []error
	tried := make([]bool, len(c.tiers))
	cands := c.candidates()
	for i, t := range cands {
		tried[t.idx] = true
		start := time.Now()
		err := c.appendTo(ctx, t, alerts, i == len(cands)-1)
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
