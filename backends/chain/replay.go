package chain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// replayLoop moves backlog up whenever a higher tier is healthy: when
// woken (a recovery, start-up) and every probe_interval, which also
// refreshes the backlog figures of Status.
func (c *Chain) replayLoop() {
	defer c.wg.Done()
	tick := time.NewTicker(c.opts.ProbeInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.kick:
		case <-tick.C:
		}
		c.replayOnce(c.ctx)
	}
}

// replayOnce drains every tier below the active one into it, nearest
// first, until the active tier changes or fails.
func (c *Chain) replayOnce(ctx context.Context) {
	up := c.active()
	if up == nil || c.replayHeld.Load() {
		return
	}
	for _, lo := range c.tiers[up.idx+1:] {
		if ctx.Err() != nil || c.active() != up {
			return
		}
		if c.driver(lo) == nil || !c.isHealthy(lo) {
			continue
		}
		var n int64
		err := c.call(ctx, lo, func(ctx context.Context, d backend.Driver) (err error) {
			n, err = d.Count(ctx)
			return err
		})
		if err != nil {
			if ctx.Err() == nil {
				c.markDown(lo, err)
			}
			continue
		}
		lo.backlog.Store(n)
		if n == 0 {
			continue
		}
		if err := c.drain(ctx, up, lo); err != nil && ctx.Err() == nil {
			c.log.Warn(ReplayStoppedMessage, "from", lo.name, "to", up.name, "error", err)
		}
	}
}

// session is one replay of one lower tier into a higher one: the copies
// of alerts the higher tier already holds (copyKey), and the time keys of its entries (for the
// cap rule).
type session struct {
	up, lo   *tier
	has      map[string]bool
	keys     []int64 // the higher tier's time keys, ascending
	complete bool    // keys cover the whole higher tier, or at least the cap
	// outcome counts the alerts the higher tier will hold by time key: its
	// own (keys) and the backlog's, less what the replay skips or drops.
	// Set by drain; nil means no drop decision is possible.
	outcome *keyCounter
	// onBatch, if not nil, is told how many entries each step moved.
	onBatch func(moved int)
	// downs is up.downs from before the session read up's ids.
	downs uint64
}

// upWentDown reports that s.up was marked down since the session began:
// a write that failed on it meanwhile (a timeout: maybe applied there,
// after has was read) and went to a lower tier must not be moved on the
// strength of has. The session ends; the next one reads up's ids again
// and skips it.
func (s *session) upWentDown() bool { return s.up.downs.Load() != s.downs }

func (s *session) batchDone(n int) {
	if s.onBatch != nil {
		s.onBatch(n)
	}
}

// drain moves lo's entries into up; see the package doc.
func (c *Chain) drain(ctx context.Context, up, lo *tier) error {
	return c.drainReporting(ctx, up, lo, nil)
}

// drainReporting is drain calling onBatch, if not nil, with the number of
// entries each step moved (Replay's progress).
func (c *Chain) drainReporting(ctx context.Context, up, lo *tier, onBatch func(moved int)) error {
	lo.drainMu.Lock()
	defer lo.drainMu.Unlock()
	c.replaying.Store(true)
	defer c.replaying.Store(false)
	start := time.Now()
	downs := up.downs.Load()
	s, err := c.newSession(ctx, up)
	if err == nil {
		s.lo, s.onBatch, s.downs = lo, onBatch, downs
	}
	if err != nil {
		c.markDownUnlessCtx(ctx, up, err)
		return fmt.Errorf("reading tier %s: %w", up.name, err)
	}
	// The backlog's time keys, for the drop rule. A Drainer tier is read
	// again batch by batch (Oldest), so that a crash loses no step, and
	// only its keys are kept meanwhile; any other tier is copied whole, so
	// its entries are kept for the copy.
	dr, drains := backend.DrainerOf(c.driver(lo))
	// An alert is counted once however many copies there are: a backlog
	// entry whose copy the higher tier already holds (an ambiguous write:
	// applied there, its reply lost, then stored again below) or that the
	// backlog holds twice is the same alert. Counting it twice would make
	// every older entry see one more newer alert than exists, and drop it
	// below the cap (keep skips such copies without counting them).
	var backlog []backend.Entry
	var keys []int64
	counted := map[string]bool{}
	err = c.scanEach(ctx, lo, func(e backend.Entry) {
		if !drains {
			backlog = append(backlog, e)
		}
		if e.Data != nil { // nil: over max_alert_bytes, never moved (see keep)
			id, k := orderKey(e.Data)
			if s.complete {
				if ck := copyKey(id, e.Data); ck != "" {
					if s.has[ck] || counted[ck] {
						return
					}
					counted[ck] = true
				}
			}
			keys = append(keys, k)
		}
	})
	if err != nil {
		c.markDownUnlessCtx(ctx, lo, err)
		return fmt.Errorf("reading tier %s: %w", lo.name, err)
	}
	if s.complete {
		s.outcome = newKeyCounter(append(keys, s.keys...))
	}
	moved := 0
	if drains {
		moved, err = c.drainEntries(ctx, s, up, lo, dr)
	} else {
		moved, err = c.drainWhole(ctx, s, up, lo, backlog)
	}
	if moved > 0 {
		c.log.Info(ReplayedMessage, "from", lo.name, "to", up.name, "alerts", moved, "took", time.Since(start).Round(time.Millisecond))
	}
	return err
}

func (c *Chain) markDownUnlessCtx(ctx context.Context, t *tier, err error) {
	if ctx.Err() == nil && !permanent(err) {
		c.markDown(t, err)
	}
}

func (c *Chain) newSession(ctx context.Context, up *tier) (*session, error) {
	s := &session{up: up, has: map[string]bool{}}
	depth := max(c.opts.ReplayCheck, 0)
	var b int64
	n := 0
	for n < depth {
		chunk := min(depth-n, 1000)
		es, err := c.scanTier(ctx, up, b, chunk)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			id, k := orderKey(e.Data)
			if ck := copyKey(id, e.Data); ck != "" {
				s.has[ck] = true
			}
			s.keys = append(s.keys, k)
		}
		n += len(es)
		if len(es) < chunk {
			s.complete = true
			break
		}
		b = es[len(es)-1].Pos
	}
	if n >= up.maxAlerts {
		s.complete = true
	}
	slices.Sort(s.keys)
	return s, nil
}

// DropMessage is the message of the log record the chain writes for each
// acknowledged alert that a replay drops, with attributes id, from, to,
// max_alerts (the cap of the tier it was to be replayed into) and newer
// (how many newer alerts that tier holds or will hold once the rest of the
// backlog is replayed).
const DropMessage = "chain: dropped an acknowledged alert on replay: the tier it was to be replayed into holds max_alerts newer ones and would trim it at once"

// keep decides for one backlog entry: move it, skip it as already there,
// or drop it. An entry is dropped only when the tier it is replayed into
// (s.up, by its own max_alerts) would trim it at once: at least that many
// alerts newer than it, by time (the alert id's, else its timestamp), are
// already there or in the backlog and not dropped (all of which the
// replay moves), so moving it would only push a newer alert out of the
// cap. Counting by time, not by backlog order, matters: writers running
// at once append slightly out of time order, and an entry must never be
// dropped for "newer" alerts that are in fact older. Every drop is
// counted (Status.DroppedForCap) and logged.
func (c *Chain) keep(s *session, data []byte) (id string, move bool) {
	if data == nil {
		// Left unread by its tier for being over max_alert_bytes: not an
		// alert, and there are no bytes to move.
		return "", false
	}
	id, k := orderKey(data)
	if ck := copyKey(id, data); ck != "" && s.has[ck] {
		c.deduplicated.Add(1) // not in outcome twice: see drainReporting
		return id, false
	}
	if s.outcome != nil {
		if newer := s.outcome.newer(k); newer >= s.up.maxAlerts {
			c.droppedCap.Add(1)
			s.outcome.remove(k)
			from := ""
			if s.lo != nil {
				from = s.lo.name
			}
			c.log.Warn(DropMessage, "id", id, "from", from, "to", s.up.name, "max_alerts", s.up.maxAlerts, "newer", newer)
			return id, false
		}
	}
	return id, true
}

// scanEach calls f with every entry of t, newest first, reading 1,000 at
// a time.
func (c *Chain) scanEach(ctx context.Context, t *tier, f func(backend.Entry)) error {
	var b int64
	for {
		es, err := c.scanTier(ctx, t, b, 1000)
		if err != nil {
			return err
		}
		for _, e := range es {
			f(e)
		}
		if len(es) < 1000 {
			return nil
		}
		b = es[len(es)-1].Pos
	}
}

// drainEntries replays a Drainer tier batch by batch: append up, then
// remove below. A crash between the two leaves the batch in both tiers,
// and the next session skips what the higher tier holds.
func (c *Chain) drainEntries(ctx context.Context, s *session, up, lo *tier, dr backend.Drainer) (int, error) {
	moved := 0
	for {
		if ctx.Err() != nil || c.active() != up {
			return moved, nil
		}
		var batch []backend.Entry
		err := c.call(ctx, lo, func(ctx context.Context, _ backend.Driver) (err error) {
			batch, err = dr.Oldest(ctx, 0, c.opts.ReplayBatch)
			return err
		})
		if err != nil {
			c.markDownUnlessCtx(ctx, lo, err)
			return moved, fmt.Errorf("reading tier %s: %w", lo.name, err)
		}
		if len(batch) == 0 {
			lo.backlog.Store(0)
			return moved, nil
		}
		// After reading the batch: a write that failed on up marked it
		// down before it went to lo, so if its copy is in the batch, this
		// sees it.
		if s.upWentDown() {
			return moved, nil
		}
		remaining := lo.backlog.Load()
		var send [][]byte
		var copies []string
		for _, e := range batch {
			id, move := c.keep(s, e.Data)
			if !move {
				continue
			}
			send = append(send, e.Data)
			if id != "" {
				copies = append(copies, copyKey(id, e.Data))
			}
		}
		if len(send) > 0 {
			c.markReplayed(copies)
			if err := c.appendTo(ctx, up, send, false); err != nil {
				c.markDownUnlessCtx(ctx, up, err)
				return moved, fmt.Errorf("appending to tier %s: %w", up.name, err)
			}
			for _, ck := range copies {
				s.has[ck] = true
			}
		}
		last := batch[len(batch)-1].Pos
		if err := c.call(ctx, lo, func(ctx context.Context, _ backend.Driver) error { return dr.Remove(ctx, last) }); err != nil {
			// What was appended is in the session's ids: the next step
			// (or session) skips it and removes it then.
			c.markDownUnlessCtx(ctx, lo, err)
			return moved, fmt.Errorf("removing from tier %s: %w", lo.name, err)
		}
		moved += len(send)
		c.replayed.Add(uint64(len(send)))
		lo.backlog.Store(max(remaining-int64(len(batch)), 0))
		s.batchDone(len(send))
	}
}

// drainWhole replays a tier without Drainer: copy everything up, oldest
// first, then clear it if nothing arrived meanwhile (the chain's own
// appends to it wait on writeMu for that moment). If something did, the
// next session copies again and skips what the higher tier holds.
func (c *Chain) drainWhole(ctx context.Context, s *session, up, lo *tier, all []backend.Entry) (int, error) {
	if len(all) == 0 {
		return 0, nil
	}
	newest := all[0].Pos
	slices.Reverse(all)
	moved := 0
	for i := 0; i < len(all); i += c.opts.ReplayBatch {
		if ctx.Err() != nil || c.active() != up || s.upWentDown() {
			return moved, nil
		}
		batch := all[i:min(i+c.opts.ReplayBatch, len(all))]
		var send [][]byte
		var copies []string
		for _, e := range batch {
			id, move := c.keep(s, e.Data)
			if move {
				send = append(send, e.Data)
				if id != "" {
					copies = append(copies, copyKey(id, e.Data))
				}
			}
		}
		if len(send) == 0 {
			continue
		}
		c.markReplayed(copies)
		if err := c.appendTo(ctx, up, send, false); err != nil {
			c.markDownUnlessCtx(ctx, up, err)
			return moved, fmt.Errorf("appending to tier %s: %w", up.name, err)
		}
		for _, ck := range copies {
			s.has[ck] = true
		}
		moved += len(send)
		c.replayed.Add(uint64(len(send)))
		s.batchDone(len(send))
	}
	lo.writeMu.Lock()
	defer lo.writeMu.Unlock()
	es, err := c.scanTier(ctx, lo, 0, 1)
	if err != nil {
		return moved, fmt.Errorf("reading tier %s: %w", lo.name, err)
	}
	if len(es) == 1 && es[0].Pos != newest {
		return moved, errors.New("new entries arrived during the copy; the next replay moves them")
	}
	if err := c.call(ctx, lo, func(ctx context.Context, d backend.Driver) error { return d.Clear(ctx) }); err != nil {
		return moved, fmt.Errorf("clearing tier %s: %w", lo.name, err)
	}
	lo.backlog.Store(0)
	return moved, nil
}

// keyCounter is a multiset of time keys that answers "how many are
// greater than k" and takes keys out, each in O(log n): a Fenwick tree
// over the distinct keys, sorted.
type keyCounter struct {
	keys  []int64 // distinct, ascending
	tree  []int   // Fenwick tree of the counts, 1-based
	total int
}

func newKeyCounter(keys []int64) *keyCounter {
	slices.Sort(keys)
	kc := &keyCounter{keys: slices.Compact(slices.Clone(keys))}
	kc.tree = make([]int, len(kc.keys)+1)
	for _, k := range keys {
		kc.add(k, 1)
	}
	return kc
}

func (kc *keyCounter) add(k int64, d int) {
	i, found := slices.BinarySearch(kc.keys, k)
	if !found {
		return
	}
	kc.total += d
	for i++; i < len(kc.tree); i += i & -i {
		kc.tree[i] += d
	}
}

// remove takes one k out; a nil counter or an absent key is a no-op.
func (kc *keyCounter) remove(k int64) {
	if kc != nil {
		kc.add(k, -1)
	}
}

// newer is how many keys are greater than k.
func (kc *keyCounter) newer(k int64) int {
	i, found := slices.BinarySearch(kc.keys, k)
	if found {
		i++ // k itself is not newer than k
	}
	atMost := 0
	for ; i > 0; i -= i & -i {
		atMost += kc.tree[i]
	}
	return kc.total - atMost
}
