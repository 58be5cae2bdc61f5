package chain

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/notify"
)

// watchBuffer is how many notifications a chain watcher may lag before it
// gets ErrLagged.
const watchBuffer = 1024

// Watch subscribes to every tier that watches; see the package doc.
func (c *Chain) Watch(ctx context.Context) (backend.Subscription, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	if !c.caps.Watch {
		return nil, backend.ErrUnsupported
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &subscription{
		c: c, ctx: sctx, cancel: cancel,
		tsubs: make([]backend.Subscription, len(c.tiers)),
		wake:  make([]chan struct{}, len(c.tiers)),
		seen:  newIDWindow(watchWindow(c.opts.MaxAlerts)),
	}
	s.Queue = notify.NewQueue(watchBuffer, s.shutdown)
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		cancel()
		return nil, backend.ErrClosed
	}
	c.subs[s] = struct{}{}
	c.nsubs.Store(int32(len(c.subs)))
	c.mu.Unlock()
	for i, t := range c.tiers {
		s.wake[i] = make(chan struct{}, 1)
		if c.isHealthy(t) {
			s.subscribe(t)
		}
	}
	for _, t := range c.tiers {
		s.wg.Add(1)
		go s.pump(t)
	}
	s.CloseWhenDone(ctx)
	return s, nil
}

// subscription merges the tiers' subscriptions, de-duplicated by id, into
// its queue (whose Next and Close it offers).
type subscription struct {
	*notify.Queue
	c      *Chain
	ctx    context.Context
	cancel context.CancelFunc
	wake   []chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex
	tsubs []backend.Subscription // per tier, nil while not subscribed
	seen  *idWindow
}

// subscribe subscribes to t unless already subscribed, waiting at most
// tier_timeout for the tier's Watch (a frozen server must not hold up a
// recovery); a late answer is still installed.
func (s *subscription) subscribe(t *tier) {
	d := s.c.driver(t)
	w, ok := backend.WatcherOf(d)
	if !ok || !s.c.caps.Watch || s.Closed() {
		return
	}
	s.mu.Lock()
	has := s.tsubs[t.idx] != nil
	s.mu.Unlock()
	if has {
		return
	}
	res := make(chan backend.Subscription, 1)
	go func() {
		ts, err := w.Watch(s.ctx)
		if err != nil {
			ts = nil
		}
		res <- ts
	}()
	install := func(ts backend.Subscription) {
		if ts == nil {
			return
		}
		s.mu.Lock()
		if s.tsubs[t.idx] != nil || s.Closed() {
			s.mu.Unlock()
			_ = ts.Close()
			return
		}
		s.tsubs[t.idx] = ts
		s.mu.Unlock()
		select {
		case s.wake[t.idx] <- struct{}{}:
		default:
		}
	}
	timer := time.NewTimer(s.c.opts.TierTimeout)
	defer timer.Stop()
	select {
	case ts := <-res:
		install(ts)
	case <-timer.C:
		go func() { install(<-res) }()
	case <-s.Done():
		go func() {
			if ts := <-res; ts != nil {
				_ = ts.Close()
			}
		}()
	}
}

// pump forwards one tier's notifications. While the tier is down, its
// subscription is kept through ErrUnavailable; one that fails while the
// tier counts as healthy is replaced: at once, or by the tier's recovery
// (restore) if the tier is down by then.
func (s *subscription) pump(t *tier) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		ts := s.tsubs[t.idx]
		s.mu.Unlock()
		if ts == nil {
			if s.c.isHealthy(t) {
				s.subscribe(t)
				s.mu.Lock()
				ts = s.tsubs[t.idx]
				s.mu.Unlock()
			}
			if ts == nil {
				timer := time.NewTimer(s.c.opts.ProbeInterval)
				select {
				case <-s.wake[t.idx]:
				case <-timer.C:
				case <-s.Done():
					timer.Stop()
					return
				}
				timer.Stop()
				continue
			}
		}
		e, err := ts.Next(s.ctx)
		switch {
		case err == nil:
			s.deliver(t, e)
		case errors.Is(err, backend.ErrLagged):
			s.MarkLagged()
		case s.Closed():
			return
		case errors.Is(err, backend.ErrUnavailable) && !s.c.isHealthy(t):
			// The tier is down: a subscription that resumes where it
			// was (redislist's does) is kept, and asked again once
			// the tier is back or after probe_interval.
			timer := time.NewTimer(s.c.opts.ProbeInterval)
			select {
			case <-s.wake[t.idx]:
			case <-timer.C:
			case <-s.Done():
			}
			timer.Stop()
		default:
			// Broken while its tier counts as healthy (or for good):
			// replace it.
			s.mu.Lock()
			if s.tsubs[t.idx] == ts {
				s.tsubs[t.idx] = nil
			}
			s.mu.Unlock()
			_ = ts.Close()
		}
	}
}

func (s *subscription) deliver(t *tier, e backend.Entry) {
	ck := copyKey(entryID(e.Data), e.Data)
	if ck != "" && s.c.wasReplayed(ck) {
		return // a replay's copy of an alert that is not new
	}
	if e.Pos > 0 && e.Pos <= posMask {
		e.Pos = tierPos(t.idx, e.Pos)
	}
	s.send(ck, e)
}

// send delivers e unless the same copy (id and bytes, copyKey) was
// delivered already. Keying by id alone would let a forged entry with a
// real alert's id, written to a tier first, hide the real one from every
// watcher; two different entries with one id are both delivered, as List
// shows both.
func (s *subscription) send(ck string, e backend.Entry) {
	if ck != "" {
		s.mu.Lock()
		dup := !s.seen.add(ck)
		s.mu.Unlock()
		if dup {
			return
		}
	}
	s.Deliver(e)
}

// notify delivers alerts this chain just wrote (acknowledged by a tier) to
// its watchers at once: a tier's subscription can lose notifications in
// flight when its connection drops, and the chain's own writes must not
// have gaps. The tiers' notifications of the same alerts are de-duplicated
// by id. Their position is the time key, as in merged reads.
func (c *Chain) notify(alerts [][]byte) {
	if c.nsubs.Load() == 0 {
		return // the usual case: no lock on the write path
	}
	c.mu.Lock()
	if len(c.subs) == 0 {
		c.mu.Unlock()
		return
	}
	subs := make([]*subscription, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	for _, a := range alerts {
		id, pos := orderKey(a)
		ck := copyKey(id, a)
		if ck == "" {
			continue // cannot be de-duplicated: left to the tier's notification
		}
		for _, s := range subs {
			s.send(ck, backend.Entry{Pos: pos, Data: a})
		}
	}
}

// markReplayed records the copies (copyKey) a replay is about to append to
// a higher tier, so that watchers ignore the higher tier's announcement of
// them.
func (c *Chain) markReplayed(copies []string) {
	c.replayedMu.Lock()
	defer c.replayedMu.Unlock()
	for _, ck := range copies {
		c.replayedIDs.add(ck)
	}
}

func (c *Chain) wasReplayed(ck string) bool {
	c.replayedMu.Lock()
	defer c.replayedMu.Unlock()
	_, ok := c.replayedIDs.set[ck]
	return ok
}

// shutdown runs once, when the queue closes: it ends the pumps and the
// tiers' subscriptions and forgets the subscription.
func (s *subscription) shutdown() {
	s.cancel()
	s.mu.Lock()
	tsubs := append([]backend.Subscription(nil), s.tsubs...)
	s.mu.Unlock()
	for _, ts := range tsubs {
		if ts != nil {
			_ = ts.Close()
		}
	}
	s.wg.Wait()
	s.c.mu.Lock()
	delete(s.c.subs, s)
	s.c.nsubs.Store(int32(len(s.c.subs)))
	s.c.mu.Unlock()
}

// watchWindow is how many ids de-duplication remembers: twice the cap
// (a backlog is at most a cap), at least 4096, at most 1Mi.
func watchWindow(maxAlerts int) int { return min(max(2*maxAlerts, 4096), 1<<20) }

// idWindow remembers the last n ids delivered.
type idWindow struct {
	ring []string
	next int
	set  map[string]struct{}
}

func newIDWindow(n int) *idWindow {
	return &idWindow{ring: make([]string, n), set: make(map[string]struct{}, n)}
}

// add records id and reports whether it was new.
func (w *idWindow) add(id string) bool {
	if _, ok := w.set[id]; ok {
		return false
	}
	if old := w.ring[w.next]; old != "" {
		delete(w.set, old)
	}
	w.ring[w.next] = id
	w.next = (w.next + 1) % len(w.ring)
	w.set[id] = struct{}{}
	return true
}
