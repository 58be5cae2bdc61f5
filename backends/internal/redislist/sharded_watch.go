package redislist

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// Watch implements backend.Watcher for a sharded namespace: a
// subscription to every shard's channel, and per shard the position of
// the last entry read, so that nothing appended to any shard is missed.
//
// Order across shards: each round reads every shard after its last
// position. An entry is delivered only after a later round has read every
// shard again, together with everything then read with a smaller
// position. So when a writer's append A was acknowledged before its
// append B started, A (whatever its shard) was visible to the round that
// followed the one that found B, and is delivered first: one writer's
// alerts arrive in its order; writers running at the same time arrive in
// the order of their stamps.
func (s *ShardedDriver) Watch(ctx context.Context) (backend.Subscription, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	setup, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	sub := &shardedSub{d: s, notify: make(chan struct{}, 1), done: make(chan struct{}), last: make([]int64, len(s.shards))}
	for _, k := range s.shards {
		stop, err := s.c.Subscribe(setup, k.Events, sub.poke)
		if err != nil {
			sub.stopAll()
			return nil, err
		}
		sub.stops = append(sub.stops, stop)
	}
	for i := range s.shards {
		r, err := s.readShard(setup, i, ModeAfter, 0, 0, 0)
		if err != nil {
			sub.stopAll()
			return nil, err
		}
		sub.last[i] = r.seq
	}
	s.smu.Lock()
	if s.subs == nil {
		s.smu.Unlock()
		sub.stopAll()
		return nil, backend.ErrClosed
	}
	s.subs[sub] = struct{}{}
	s.smu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
			_ = sub.Close()
		case <-sub.done:
		}
	}()
	return sub, nil
}

type shardedSub struct {
	d      *ShardedDriver
	notify chan struct{}
	done   chan struct{}
	once   sync.Once
	stops  []func()

	mu      sync.Mutex
	last    []int64         // per shard: position of the last entry read
	pending []backend.Entry // read, not yet deliverable
	ready   []backend.Entry // deliverable, in order
	lagged  bool
}

func (w *shardedSub) poke() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *shardedSub) stopAll() {
	for _, stop := range w.stops {
		stop()
	}
}

// Next implements backend.Subscription.
func (w *shardedSub) Next(ctx context.Context) (backend.Entry, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var poll *time.Timer
	defer func() {
		if poll != nil {
			poll.Stop()
		}
	}()
	for {
		select {
		case <-w.done:
			return backend.Entry{}, backend.ErrClosed
		default:
		}
		if err := ctx.Err(); err != nil {
			return backend.Entry{}, err
		}
		if w.lagged {
			w.lagged = false
			return backend.Entry{}, fmt.Errorf("%w: entries were trimmed or cleared before this watcher read them", backend.ErrLagged)
		}
		if len(w.ready) > 0 {
			e := w.ready[0]
			w.ready[0] = backend.Entry{}
			w.ready = w.ready[1:]
			return e, nil
		}
		select {
		case <-w.notify:
		default:
		}
		found, err := w.round(ctx)
		if err != nil {
			return backend.Entry{}, err
		}
		if len(w.ready) > 0 || w.lagged || found || len(w.pending) > 0 {
			continue // a pending entry needs one more round, at once
		}
		if poll == nil {
			poll = time.NewTimer(w.d.opts.PollInterval)
		} else {
			poll.Reset(w.d.opts.PollInterval)
		}
		select {
		case <-w.notify:
		case <-poll.C:
		case <-w.done:
			return backend.Entry{}, backend.ErrClosed
		case <-ctx.Done():
			return backend.Entry{}, ctx.Err()
		}
	}
}

// round reads every shard after its last position, makes deliverable
// what the previous rounds read (and whatever this one read before it in
// position order), and reports whether it read anything.
func (w *shardedSub) round(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, w.d.timeout)
	defer cancel()
	var fresh []backend.Entry
	for i := range w.d.shards {
		r, err := w.d.readShard(ctx, i, ModeAfter, w.last[i], w.d.opts.WatchBatch, 0)
		if err != nil {
			return false, err
		}
		if r.seq < w.last[i] {
			// The shard's counter went backwards (its keys deleted):
			// everything there now came after.
			w.last[i] = r.seq - r.n
			w.lagged = true
			continue
		}
		firstPos := r.seq + 1
		if len(r.entries) > 0 {
			firstPos = r.entries[0].pos
		}
		if firstPos > w.last[i]+1 {
			w.lagged = true
		}
		for _, se := range r.entries {
			fresh = append(fresh, se.e)
		}
		if len(r.entries) > 0 {
			w.last[i] = r.entries[len(r.entries)-1].pos
		} else {
			w.last[i] = r.seq
		}
	}
	byPos := func(a, b backend.Entry) int {
		switch {
		case a.Pos < b.Pos:
			return -1
		case a.Pos > b.Pos:
			return 1
		}
		return 0
	}
	if len(w.pending) > 0 {
		threshold := slices.MaxFunc(w.pending, byPos).Pos
		all := append(w.pending, fresh...)
		slices.SortFunc(all, byPos)
		cut := 0
		for cut < len(all) && all[cut].Pos <= threshold {
			cut++
		}
		w.ready = append(w.ready, all[:cut]...)
		w.pending = slices.Clone(all[cut:])
	} else {
		slices.SortFunc(fresh, byPos)
		w.pending = fresh
	}
	return len(fresh) > 0, nil
}

// Close implements backend.Subscription.
func (w *shardedSub) Close() error {
	w.once.Do(func() {
		close(w.done)
		w.stopAll()
		w.d.smu.Lock()
		if w.d.subs != nil {
			delete(w.d.subs, w)
		}
		w.d.smu.Unlock()
	})
	return nil
}
