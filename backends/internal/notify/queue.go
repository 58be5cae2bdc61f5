// Package notify is the in-process half of Watch that the memory, bolt and
// chain backends share: a subscriber's bounded queue of entries that never
// blocks the writer who publishes into it.
//
// A writer must not wait for a slow watcher (a stuck dashboard would stall
// every detector), and a watcher must not miss an alert silently. So a full
// queue drops the notification and marks the subscriber lagged, and drops
// every later one until the subscriber is told; Next then returns the
// entries still buffered (all older than the first dropped one), then
// backend.ErrLagged once, then newer entries. A consumer that catches up
// with List from the last entry it got therefore misses nothing.
package notify

import (
	"context"
	"sync"

	"github.com/apt-detection/alertstore/backend"
)

// Queue is one subscriber's queue. It implements backend.Subscription.
type Queue struct {
	ch      chan backend.Entry
	done    chan struct{}
	once    sync.Once
	onClose func()

	// lagged holds a token while a notification was dropped and the
	// consumer was not told yet. A channel, not a flag, so that a Next
	// already waiting wakes up: a drop marked after the consumer emptied
	// the queue and began to wait (Deliver's failed send and its
	// MarkLagged are two steps) would otherwise be reported only with the
	// next entry, and the end of a burst would never reach it.
	lagged chan struct{}
}

// NewQueue makes a queue holding up to size entries. onClose, if not nil,
// runs once when the queue is closed (to deregister it from its publisher).
func NewQueue(size int, onClose func()) *Queue {
	return &Queue{ch: make(chan backend.Entry, size), done: make(chan struct{}), onClose: onClose, lagged: make(chan struct{}, 1)}
}

// CloseWhenDone closes the queue when ctx is done: the subscription ends
// with the context it was opened with.
func (q *Queue) CloseWhenDone(ctx context.Context) {
	go func() {
		select {
		case <-ctx.Done():
			_ = q.Close()
		case <-q.done:
		}
	}()
}

// Deliver queues e without blocking; a full queue marks the subscriber as
// lagged instead. It reports whether e was queued.
func (q *Queue) Deliver(e backend.Entry) bool {
	if len(q.lagged) > 0 {
		// Lagged and not told yet: drop this one too. An entry queued
		// after a dropped one would reach the consumer before it learns
		// of the drop, and a consumer that catches up "from the last
		// entry seen" would then start after the gap, not before it.
		return false
	}
	select {
	case q.ch <- e:
		return true
	default:
		q.MarkLagged()
		return false
	}
}

// MarkLagged records that the subscriber missed a notification.
func (q *Queue) MarkLagged() {
	select {
	case q.lagged <- struct{}{}:
	default: // already marked
	}
}

// Done is closed when the queue is.
func (q *Queue) Done() <-chan struct{} { return q.done }

// Closed reports whether Close was called.
func (q *Queue) Closed() bool {
	select {
	case <-q.done:
		return true
	default:
		return false
	}
}

// Next implements backend.Subscription.
func (q *Queue) Next(ctx context.Context) (backend.Entry, error) {
	if q.Closed() {
		return backend.Entry{}, backend.ErrClosed
	}
	// Entries buffered before a drop come first; then the consumer is told
	// it lagged; then newer entries follow.
	select {
	case e := <-q.ch:
		return e, nil
	default:
	}
	select {
	case <-q.lagged:
		return backend.Entry{}, backend.ErrLagged
	default:
	}
	select {
	case e := <-q.ch:
		return e, nil
	case <-q.lagged:
		// Marked while waiting: an entry queued before the drop still
		// comes first, and the mark stays for the next call.
		select {
		case e := <-q.ch:
			q.MarkLagged()
			return e, nil
		default:
		}
		return backend.Entry{}, backend.ErrLagged
	case <-q.done:
		return backend.Entry{}, backend.ErrClosed
	case <-ctx.Done():
		return backend.Entry{}, ctx.Err()
	}
}

// Close implements backend.Subscription; it is safe to call more than once.
func (q *Queue) Close() error {
	q.once.Do(func() {
		close(q.done)
		if q.onClose != nil {
			q.onClose()
		}
	})
	return nil
}
