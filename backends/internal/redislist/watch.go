package redislist

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// Watch implements backend.Watcher.
//
// The protocol: every append publishes its batch size on the events
// channel, in the same transaction. A watcher subscribes first, then reads
// the newest position; every entry appended after that has a greater
// position, whatever the order the two steps' replies arrive in. A message
// only wakes the watcher, which then reads the entries after the last
// position it delivered, oldest first, WatchBatch at a time. So a message
// lost while the subscription reconnected loses nothing (the next message
// or the poll reads the same entries), and a slow consumer is bounded by
// the list, not by a buffer: it lags only when entries it had not read yet
// were trimmed (or cleared) away, and then it is told so with ErrLagged,
// once, before the stream resumes at the oldest entry still stored.
func (d *Driver) Watch(ctx context.Context) (backend.Subscription, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	// The caller's ctx bounds the subscription's life, usually with no
	// deadline; setting it up gets the driver's timeout.
	setup, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()

	s := &subscription{d: d, notify: make(chan struct{}, 1), done: make(chan struct{})}
	stop, err := d.c.Subscribe(setup, d.k.Events, s.poke)
	if err != nil {
		return nil, err
	}
	s.stopSub = stop
	var w Window
	err = d.read(setup, func() (err error) {
		w, err = d.c.Window(setup, d.k, WindowArgs(ModeBefore, 0, 0, 0))
		return err
	})
	if err != nil {
		stop()
		return nil, err
	}
	s.last = w.Seq

	d.mu.Lock()
	if d.subs == nil { // closed meanwhile
		d.mu.Unlock()
		stop()
		return nil, backend.ErrClosed
	}
	d.subs[s] = struct{}{}
	d.mu.Unlock()
	// The subscription ends with ctx; this goroutine ends with it or
	// with Close, whichever comes first.
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close() // the subscriber learns of the end from ctx
		case <-s.done:
		}
	}()
	return s, nil
}

type subscription struct {
	d       *Driver
	notify  chan struct{} // capacity 1: wake-ups coalesce
	done    chan struct{}
	once    sync.Once
	stopSub func()

	mu     sync.Mutex // serialises Next
	last   int64      // position of the last entry delivered (or the start)
	buf    []backend.Entry
	lagged bool
}

func (s *subscription) poke() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Next implements backend.Subscription. While the server cannot be reached
// it returns errors wrapping ErrUnavailable; the subscription stays usable
// and resumes where it was.
func (s *subscription) Next(ctx context.Context) (backend.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var poll *time.Timer
	defer func() {
		if poll != nil {
			poll.Stop()
		}
	}()
	for {
		select {
		case <-s.done:
			return backend.Entry{}, backend.ErrClosed
		default:
		}
		if err := ctx.Err(); err != nil {
			return backend.Entry{}, err
		}
		// A gap is found by the read that also returns the entries after
		// it, so it is reported before them.
		if s.lagged {
			s.lagged = false
			return backend.Entry{}, fmt.Errorf("%w: entries were trimmed or cleared before this watcher read them", backend.ErrLagged)
		}
		if len(s.buf) > 0 {
			e := s.buf[0]
			s.buf[0] = backend.Entry{}
			s.buf = s.buf[1:]
			return e, nil
		}
		// Drain a pending wake-up before reading, so that a message for
		// what this read returns does not cause a second, empty read.
		select {
		case <-s.notify:
		default:
		}
		if err := s.fetch(ctx); err != nil {
			return backend.Entry{}, err
		}
		if len(s.buf) > 0 || s.lagged {
			continue
		}
		if poll == nil {
			poll = time.NewTimer(s.d.opts.PollInterval)
		} else {
			poll.Reset(s.d.opts.PollInterval)
		}
		select {
		case <-s.notify:
		case <-poll.C:
		case <-s.done:
			return backend.Entry{}, backend.ErrClosed
		case <-ctx.Done():
			return backend.Entry{}, ctx.Err()
		}
	}
}

// fetch reads the entries after s.last into s.buf, noting a gap as lag.
func (s *subscription) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.d.timeout)
	defer cancel()
	var w Window
	err := s.d.read(ctx, func() (err error) {
		w, err = s.d.c.Window(ctx, s.d.k, WindowArgs(ModeAfter, s.last, s.d.opts.WatchBatch, s.d.maxBytes))
		return err
	})
	if err != nil {
		return err
	}
	if w.Seq < s.last {
		// The counter went backwards: the keys were deleted (a server
		// restarted without persistence, FLUSHDB, a DEL of the counter).
		// Positions restarted, so everything stored now came after the
		// reset: deliver it all, after telling the consumer.
		s.last = w.Seq - w.Len
		s.lagged = true
		return nil
	}
	first := w.Pos(0)
	if len(w.Items) == 0 {
		first = w.Seq + 1
	}
	if first > s.last+1 {
		// Entries s.last+1 .. first-1 were trimmed or cleared unread.
		s.lagged = true
	}
	for j := range w.Items {
		s.buf = append(s.buf, w.Entry(j))
	}
	if len(w.Items) > 0 {
		s.last = w.Pos(len(w.Items) - 1)
	} else {
		s.last = w.Seq
	}
	return nil
}

// Close implements backend.Subscription.
func (s *subscription) Close() error {
	s.once.Do(func() {
		close(s.done)
		s.stopSub()
		s.d.mu.Lock()
		if s.d.subs != nil {
			delete(s.d.subs, s)
		}
		s.d.mu.Unlock()
	})
	return nil
}
