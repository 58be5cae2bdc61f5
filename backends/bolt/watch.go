package bolt

import (
	"context"
	"sync"

	"github.com/apt-detection/alertstore/backend"
)

// Watch subscribes to the prefix's appends made through any driver of this
// file in this process. Notifications are sent after the commit, so a
// watcher never sees an alert that a crash could still take back.
func (d *driver) Watch(ctx context.Context) (backend.Subscription, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	s := &subscription{d: d, ch: make(chan backend.Entry, d.opts.WatchBuffer), done: make(chan struct{})}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, backend.ErrClosed
	}
	d.mySubs[s] = struct{}{}
	d.mu.Unlock()
	f := d.f
	f.subsMu.Lock()
	if f.subs[d.ns.prefix] == nil {
		f.subs[d.ns.prefix] = map[*subscription]struct{}{}
	}
	f.subs[d.ns.prefix][s] = struct{}{}
	f.subsMu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.done:
		}
	}()
	return s, nil
}

type subscription struct {
	d     *driver
	ch    chan backend.Entry
	done  chan struct{}
	once  sync.Once
	lagMu sync.Mutex
	lag   bool // a notification was dropped since the last Next
}

// deliver runs in the writer goroutine and never blocks it: a full buffer
// marks the subscriber as lagged instead.
func (s *subscription) deliver(e backend.Entry) {
	select {
	case s.ch <- e:
	default:
		s.lagMu.Lock()
		s.lag = true
		s.lagMu.Unlock()
	}
}

func (s *subscription) Next(ctx context.Context) (backend.Entry, error) {
	select {
	case <-s.done:
		return backend.Entry{}, backend.ErrClosed
	default:
	}
	select {
	case e := <-s.ch:
		return e, nil
	default:
	}
	s.lagMu.Lock()
	lag := s.lag
	s.lag = false
	s.lagMu.Unlock()
	if lag {
		return backend.Entry{}, backend.ErrLagged
	}
	select {
	case e := <-s.ch:
		return e, nil
	case <-s.done:
		return backend.Entry{}, backend.ErrClosed
	case <-ctx.Done():
		return backend.Entry{}, ctx.Err()
	}
}

func (s *subscription) Close() error {
	s.once.Do(func() {
		close(s.done)
		f := s.d.f
		f.subsMu.Lock()
		delete(f.subs[s.d.ns.prefix], s)
		if len(f.subs[s.d.ns.prefix]) == 0 {
			delete(f.subs, s.d.ns.prefix)
		}
		f.subsMu.Unlock()
		s.d.mu.Lock()
		delete(s.d.mySubs, s)
		s.d.mu.Unlock()
	})
	return nil
}
