package chain

import (
	"context"
	"fmt"

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
	for _, t := range c.candidates() {
		tried[t.idx] = true
		err := c.appendTo(ctx, t, alerts)
		if err == nil {
			if t.idx > 0 {
				t.backlog.Add(int64(len(alerts)))
			}
			c.notify(alerts)
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			// The caller's deadline, not the tier's failure: stop, and
			// do not blame the tier.
			return fmt.Errorf("chain: append to tier %s: %w", t.name, cerr)
		}
		if permanent(err) {
			return err
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

func (c *Chain) appendTo(ctx context.Context, t *tier, alerts [][]byte) error {
	t.writeMu.RLock()
	defer t.writeMu.RUnlock()
	return c.call(ctx, t, func(ctx context.Context, d backend.Driver) error { return d.Append(ctx, alerts) })
}
