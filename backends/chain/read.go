package chain

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/apt-detection/alertstore/backend"
)

// readSet is the tiers one read call consults: the first that works and
// every lower tier that holds backlog. More than one means a merged read.
// Tiers that failed during the call are left out of later attempts.
func (c *Chain) readSet(ctx context.Context, failed []bool) ([]*tier, []error) {
	var set []*tier
	var errs []error
	for _, t := range c.candidates() {
		if failed[t.idx] || c.driver(t) == nil {
			continue
		}
		if len(set) == 0 {
			set = append(set, t)
			continue
		}
		var n int64
		err := c.call(ctx, t, func(ctx context.Context, d backend.Driver) (err error) {
			n, err = d.Count(ctx)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, []error{ctx.Err()}
			}
			if insecure(err) {
				return nil, []error{c.securityFailure(t, "count", err)}
			}
			failed[t.idx] = true
			c.markDown(t, err)
			errs = append(errs, tierError(t, err))
			continue
		}
		t.backlog.Store(n)
		if n > 0 {
			set = append(set, t)
		}
	}
	return set, errs
}

// read runs fn on the read set, retrying without a tier that fails.
func (c *Chain) read(ctx context.Context, op string, fn func(set []*tier) (*tier, error)) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	failed := make([]bool, len(c.tiers))
	var errs []error
	for range len(c.tiers) + 1 {
		set, serrs := c.readSet(ctx, failed)
		for _, e := range serrs {
			if insecure(e) {
				return e
			}
		}
		errs = append(errs, serrs...)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(set) == 0 {
			break
		}
		bad, err := fn(set)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("chain: %s on tier %s: %w", op, bad.name, ctx.Err())
		}
		if permanent(err) || bad == nil {
			return err
		}
		if insecure(err) {
			return c.securityFailure(bad, op, err)
		}
		failed[bad.idx] = true
		c.markDown(bad, err)
		errs = append(errs, tierError(bad, err))
	}
	return aggregate(op, errs)
}

// Scan reads the active tier alone when no lower tier holds backlog, and
// merges the tiers otherwise; see the package doc for positions.
func (c *Chain) Scan(ctx context.Context, before int64, limit int) ([]backend.Entry, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: scan limit %d", backend.ErrInvalidQuery, limit)
	}
	var out []backend.Entry
	err := c.read(ctx, "scan", func(set []*tier) (*tier, error) {
		var bad *tier
		var err error
		if len(set) == 1 && c.ownCursor(set[0], before) {
			out, bad, err = c.scanOne(ctx, set[0], before, limit)
		} else {
			out, bad, err = c.scanMerged(ctx, set, before, limit)
		}
		return bad, err
	})
	return out, err
}

func (c *Chain) scanTier(ctx context.Context, t *tier, before int64, limit int) ([]backend.Entry, error) {
	var es []backend.Entry
	err := c.call(ctx, t, func(ctx context.Context, d backend.Driver) (err error) {
		es, err = d.Scan(ctx, before, limit)
		return err
	})
	return es, err
}

// ownCursor reports whether before starts a listing or is a cursor of
// tier t: then t alone is read in its own order. Any other cursor (merged,
// or another tier's) is served by a merged read, in time-key order, even
// over one tier: after a replay a tier's own order is not time order, and
// a time-key cursor applied to it would skip alerts.
func (c *Chain) ownCursor(t *tier, before int64) bool {
	if before <= 0 {
		return true
	}
	ti, _ := splitTierPos(before)
	return !isMerged(before) && ti == t.idx
}

// scanOne reads one tier in its own order, with its own positions.
func (c *Chain) scanOne(ctx context.Context, t *tier, before int64, limit int) ([]backend.Entry, *tier, error) {
	var pos int64
	if before > 0 {
		_, pos = splitTierPos(before)
	}
	es, err := c.scanTier(ctx, t, pos, limit)
	if err != nil {
		return nil, t, err
	}
	for i := range es {
		if err := checkTierPos(t, es[i].Pos); err != nil {
			return nil, nil, err
		}
		es[i].Pos = tierPos(t.idx, es[i].Pos)
	}
	return es, nil, nil
}

// cursorKey translates a cursor to a merged time key: entries older than
// it come next. A tier cursor is translated through the entry it points
// at; one that cannot be (its tier is down) starts from the newest, which
// may repeat a page but never skips one.
func (c *Chain) cursorKey(ctx context.Context, before int64) int64 {
	if before <= 0 {
		return math.MaxInt64
	}
	if isMerged(before) {
		return before
	}
	ti, pos := splitTierPos(before)
	if ti >= len(c.tiers) {
		return math.MaxInt64
	}
	t := c.tiers[ti]
	if !c.isHealthy(t) {
		return math.MaxInt64
	}
	es, err := c.scanTier(ctx, t, pos+1, 1)
	if err != nil {
		return math.MaxInt64
	}
	if len(es) == 0 {
		return mergedBit // past the oldest: nothing is older
	}
	_, k := orderKey(es[0].Data)
	if es[0].Pos == pos {
		return k // the cursor's own entry: strictly older ones follow
	}
	return k + 1 // its entry is gone: the next one is included
}

type merged struct {
	key  int64
	tier int
	e    backend.Entry
	id   string
}

// gather reads up to the cap from each tier of set and returns the merged
// view: newest first by time key, one entry per copy of an alert (the
// highest tier's; see copyKey), at most the cap.
func (c *Chain) gather(ctx context.Context, set []*tier) ([]merged, *tier, error) {
	var all []merged
	for _, t := range set {
		b := int64(0)
		n := 0
		for n < c.opts.MaxAlerts {
			chunk := min(c.opts.MaxAlerts-n, 1000)
			es, err := c.scanTier(ctx, t, b, chunk)
			if err != nil {
				return nil, t, err
			}
			for _, e := range es {
				id, k := orderKey(e.Data)
				all = append(all, merged{key: k, tier: t.idx, e: e, id: id})
			}
			n += len(es)
			if len(es) < chunk {
				break
			}
			b = es[len(es)-1].Pos
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].key != all[j].key {
			return all[i].key > all[j].key
		}
		if all[i].tier != all[j].tier {
			return all[i].tier < all[j].tier
		}
		return all[i].e.Pos > all[j].e.Pos
	})
	seen := map[string]bool{}
	out := all[:0]
	for _, m := range all {
		if k := copyKey(m.id, m.e.Data); k != "" {
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, m)
		if len(out) == c.opts.MaxAlerts {
			break
		}
	}
	return out, nil, nil
}

func (c *Chain) scanMerged(ctx context.Context, set []*tier, before int64, limit int) ([]backend.Entry, *tier, error) {
	key := c.cursorKey(ctx, before)
	view, bad, err := c.gather(ctx, set)
	if err != nil {
		return nil, bad, err
	}
	var out []backend.Entry
	for _, m := range view {
		if m.key >= key {
			continue
		}
		e := m.e
		e.Pos = m.key
		out = append(out, e)
		if len(out) == limit {
			break
		}
	}
	return out, nil, nil
}

// Count is the active tier's count, plus the lower tiers' backlog while
// there is one (then at most max_alerts, and an alert a failed write left
// in two tiers counts twice).
func (c *Chain) Count(ctx context.Context) (int64, error) {
	var total int64
	err := c.read(ctx, "count", func(set []*tier) (*tier, error) {
		total = 0
		for i, t := range set {
			if i > 0 {
				total += t.backlog.Load() // just counted by readSet
				continue
			}
			var n int64
			err := c.call(ctx, t, func(ctx context.Context, d backend.Driver) (err error) {
				n, err = d.Count(ctx)
				return err
			})
			if err != nil {
				return t, err
			}
			total += n
		}
		if len(set) > 1 {
			total = min(total, int64(c.opts.MaxAlerts))
		}
		return nil, nil
	})
	return total, err
}

// Clear clears every tier. A tier that cannot be reached is not cleared,
// and Clear then fails (wrapping ErrUnavailable, naming the tier) after
// clearing the others: what the unreachable tier holds would come back
// with it.
func (c *Chain) Clear(ctx context.Context) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	var errs []error
	for _, t := range c.tiers {
		t.writeMu.Lock()
		err := c.call(ctx, t, func(ctx context.Context, d backend.Driver) error { return d.Clear(ctx) })
		t.writeMu.Unlock()
		if err == nil {
			t.backlog.Store(0)
			continue
		}
		if ctx.Err() != nil {
			return fmt.Errorf("chain: clear tier %s: %w", t.name, ctx.Err())
		}
		if insecure(err) {
			return c.securityFailure(t, "clear", err)
		}
		if c.driver(t) != nil {
			c.markDown(t, err)
		}
		errs = append(errs, tierError(t, err))
	}
	if len(errs) > 0 {
		return aggregate("clear", errs)
	}
	return nil
}

// Ping succeeds when some tier can take writes: the chain as a whole is
// available. Status tells whether it is degraded.
func (c *Chain) Ping(ctx context.Context) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	var errs []error
	for _, t := range c.candidates() {
		err := c.call(ctx, t, func(ctx context.Context, d backend.Driver) error { return d.Ping(ctx) })
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if insecure(err) {
			return c.securityFailure(t, "ping", err)
		}
		if c.driver(t) != nil {
			c.markDown(t, err)
		}
		errs = append(errs, tierError(t, err))
	}
	return aggregate("ping", errs)
}
