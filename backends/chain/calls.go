package chain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/hashicorp/go-multierror"
)

// call runs fn on t's driver with the tier deadline.
func (c *Chain) call(ctx context.Context, t *tier, fn func(ctx context.Context, d backend.Driver) error) error {
	return c.callWithin(ctx, t, c.opts.TierTimeout, fn)
}

// callLast runs fn on the last tier a call can try: with the caller's
// whole remaining deadline, since cutting it short would only turn a slow
// success (an fsync on a busy disk) into a failure with nowhere to go.
func (c *Chain) callLast(ctx context.Context, t *tier, fn func(ctx context.Context, d backend.Driver) error) error {
	return c.callWithin(ctx, t, 0, fn)
}

func (c *Chain) callWithin(ctx context.Context, t *tier, within time.Duration, fn func(ctx context.Context, d backend.Driver) error) error {
	d := c.driver(t)
	if d == nil {
		return fmt.Errorf("%w: not opened yet", backend.ErrUnavailable)
	}
	tctx, cancel := ctx, context.CancelFunc(func() {})
	if within > 0 {
		tctx, cancel = context.WithTimeout(ctx, within)
	}
	defer cancel()
	err := fn(tctx, d)
	if err != nil && tctx.Err() != nil && ctx.Err() == nil && !errors.Is(err, backend.ErrUnavailable) {
		err = fmt.Errorf("%w: no answer within tier_timeout %s: %w", backend.ErrUnavailable, c.opts.TierTimeout, err)
	}
	return err
}

// permanent reports an error that another tier would return too: falling
// back cannot help, and the tier is not to blame.
func permanent(err error) bool {
	// A tier that refuses the chain's cap (below its namespace's recorded
	// one) would refuse it again after any fallback: the caller must hear
	// it, not find the alerts parked in a lower tier forever.
	return errors.Is(err, backend.ErrInvalidAlert) || errors.Is(err, backend.ErrInvalidQuery) || backend.IsCapError(err)
}

// insecure reports a security failure of a tier (backend.ErrSecurity: a
// certificate that does not verify, credentials refused). Falling back on
// it would hide from the caller that somebody may be impersonating the
// tier, or that its credentials are wrong: the call fails instead, with
// the tier named, and the chain logs it at error level. The tier is not
// marked down: the next call tries it again and fails the same way, until
// an operator fixes it.
func insecure(err error) bool { return errors.Is(err, backend.ErrSecurity) }

// securityFailure logs a tier's security failure at error level and names
// the tier in the error the call returns.
func (c *Chain) securityFailure(t *tier, op string, err error) error {
	c.mu.Lock()
	t.lastErr = err.Error()
	c.mu.Unlock()
	c.log.Error(SecurityFailureMessage, "tier", t.name, "op", op, "error", err)
	return fmt.Errorf("chain: %s: tier %s (not falling back on a security failure): %w", op, t.name, err)
}

// tierError names the tier in an error, and makes sure errors.Is finds
// ErrUnavailable through the aggregate.
func tierError(t *tier, err error) error {
	if errors.Is(err, backend.ErrUnavailable) {
		return fmt.Errorf("tier %s: %w", t.name, err)
	}
	return fmt.Errorf("tier %s: %w: %w", t.name, backend.ErrUnavailable, err)
}

// aggregate is the one error of a call that failed on tiers: each tier's
// failure (go-multierror), and ErrUnavailable through errors.Is, since
// every element wraps it (tierError).
func aggregate(op string, errs []error) error {
	if len(errs) == 0 {
		return fmt.Errorf("%w: chain: %s: no tier available", backend.ErrUnavailable, op)
	}
	return &multierror.Error{Errors: errs, ErrorFormat: func(es []error) string {
		s := fmt.Sprintf("chain: %s failed on %d tier(s)", op, len(es))
		for _, e := range es {
			s += "; " + e.Error()
		}
		return s
	}}
}
