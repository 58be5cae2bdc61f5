package redislist

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// Write coalescing (issue 10): concurrent Append calls on one Driver are
// combined into one append transaction per round trip, one RPUSH of every
// caller's alerts, one INCRBY, one LTRIM, one PUBLISH (and one WAIT for
// min_replicas), instead of one transaction each. On a busy server that
// is most of the cost of a small append: the commands, the replies and
// the client's and server's per-command work, not the bytes.
//
// The rules, which keep every caller's guarantee as it was:
//
//   - Nothing waits on a timer. A call that finds fewer than
//     MaxInFlight transactions in flight and nobody queued runs its own
//     transaction at once, on its own context, exactly as without
//     coalescing. Calls that arrive while transactions are in flight
//     queue, and when one completes the queue is sent as the next
//     transaction. The added latency of a queued call is the rest of the
//     transaction in flight.
//   - A transaction holds at most MaxCoalesce alerts and MaxCoalesceBytes
//     bytes, so that it stays far below the server's limits (a command's
//     argument count, its query buffer) and the wait it adds stays
//     bounded. A call is never split: a call over the bounds on its own
//     is a transaction of its own, all or nothing as before.
//   - A call is acknowledged only when the transaction holding its alerts
//     was, and fails with exactly that transaction's error: one failed
//     transaction fails exactly its callers.
//   - A call whose context ends while it is queued is taken out of the
//     queue and returns the context's error: nothing of it was sent.
//     Once its transaction is sent it waits for the real outcome. The
//     transaction is sent with the earliest deadline of its calls, so
//     that no call waits past its own deadline (a chain's tier_timeout
//     holds for every call); calls of one Store carry the same timeout,
//     so their deadlines differ only by when they arrived.
//   - The alerts of one call stay contiguous and in order; calls are
//     sent in the order they queued.

// Coalescing bounds, the defaults of Options.
const (
	// DefaultMaxCoalesce is the default Options.MaxCoalesce.
	DefaultMaxCoalesce = 1024
	// DefaultMaxCoalesceBytes is the default Options.MaxCoalesceBytes.
	DefaultMaxCoalesceBytes = 4 << 20
	// DefaultMaxInFlight is the default Options.MaxInFlight.
	DefaultMaxInFlight = 1
)

// coalescer queues Append calls behind the transactions in flight.
type coalescer struct {
	send     func(ctx context.Context, alerts [][]byte) error
	maxN     int
	maxBytes int
	maxSends int

	mu       sync.Mutex
	inFlight int
	queue    []*txn // not yet sent, oldest first
}

// txn is one append transaction: the calls it holds, and its outcome.
type txn struct {
	calls []*queued
	n     int // alerts of the calls still in it
	bytes int
	sent  bool
	done  chan struct{} // closed when err is set
	err   error
}

// queued is one Append call waiting in a txn.
type queued struct {
	ctx     context.Context
	alerts  [][]byte
	bytes   int
	dropped bool // its context ended before the txn was sent
}

func newCoalescer(send func(ctx context.Context, alerts [][]byte) error, o Options) *coalescer {
	c := &coalescer{send: send, maxN: o.MaxCoalesce, maxBytes: o.MaxCoalesceBytes, maxSends: o.MaxInFlight}
	if c.maxN <= 0 {
		c.maxN = DefaultMaxCoalesce
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxCoalesceBytes
	}
	if c.maxSends <= 0 {
		c.maxSends = DefaultMaxInFlight
	}
	return c
}

func size(alerts [][]byte) int {
	n := 0
	for _, a := range alerts {
		n += len(a)
	}
	return n
}

// append stores alerts, alone or with the calls queued beside them.
func (c *coalescer) append(ctx context.Context, alerts [][]byte) error {
	c.mu.Lock()
	if c.inFlight < c.maxSends && len(c.queue) == 0 {
		// The pipe is idle: go at once, on the caller's own context.
		c.inFlight++
		c.mu.Unlock()
		err := c.send(ctx, alerts)
		c.finished()
		return err
	}
	q := &queued{ctx: ctx, alerts: alerts, bytes: size(alerts)}
	var t *txn
	if n := len(c.queue); n > 0 {
		last := c.queue[n-1]
		if last.n+len(alerts) <= c.maxN && last.bytes+q.bytes <= c.maxBytes {
			t = last
		}
	}
	if t == nil {
		t = &txn{done: make(chan struct{})}
		c.queue = append(c.queue, t)
	}
	t.calls = append(t.calls, q)
	t.n += len(alerts)
	t.bytes += q.bytes
	c.mu.Unlock()

	select {
	case <-t.done:
		return t.err
	case <-ctx.Done():
	}
	c.mu.Lock()
	if !t.sent {
		q.dropped = true
		t.n -= len(alerts)
		t.bytes -= q.bytes
		c.mu.Unlock()
		return notSent(ctx.Err())
	}
	c.mu.Unlock()
	<-t.done
	return t.err
}

// notSent is the error of a call whose context ended while it was queued.
func notSent(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: not sent within the deadline, queued behind earlier appends: %w", backend.ErrUnavailable, err)
	}
	return err
}

// finished is called when a transaction completes: it sends the queued
// calls, if any, as the next transaction.
func (c *coalescer) finished() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight--
	if t := c.next(); t != nil {
		go c.run(t)
	}
}

// next takes the oldest queued transaction that still holds a call and
// marks it sent, or returns nil. c.mu is held.
func (c *coalescer) next() *txn {
	if c.inFlight >= c.maxSends {
		return nil
	}
	for len(c.queue) > 0 {
		t := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		if t.n == 0 {
			continue // every call left before it was sent; done is never read
		}
		t.sent = true
		c.inFlight++
		return t
	}
	return nil
}

// run sends t, and then the next queued transaction, until none is left.
func (c *coalescer) run(t *txn) {
	for t != nil {
		var alerts [][]byte
		if len(t.calls) == 1 {
			alerts = t.calls[0].alerts
		} else {
			alerts = make([][]byte, 0, t.n)
			for _, q := range t.calls {
				if !q.dropped {
					alerts = append(alerts, q.alerts...)
				}
			}
		}
		ctx, cancel := sendContext(t.calls)
		t.err = c.send(ctx, alerts)
		cancel()
		close(t.done)
		c.mu.Lock()
		c.inFlight--
		t = c.next()
		c.mu.Unlock()
	}
}

// sendContext is the context a transaction is sent on: the values of its
// first live call's context, no cancellation (a caller that cancels
// after the send must not cut the others' transaction short) and the
// earliest deadline of its calls (none if none has one).
func sendContext(calls []*queued) (context.Context, context.CancelFunc) {
	var base context.Context
	var earliest time.Time
	for _, q := range calls {
		if q.dropped {
			continue
		}
		if base == nil {
			base = q.ctx
		}
		if dl, ok := q.ctx.Deadline(); ok && (earliest.IsZero() || dl.Before(earliest)) {
			earliest = dl
		}
	}
	if earliest.IsZero() {
		return context.WithCancel(context.WithoutCancel(base))
	}
	return context.WithDeadline(context.WithoutCancel(base), earliest)
}
