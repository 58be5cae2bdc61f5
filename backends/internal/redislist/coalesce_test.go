package redislist

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// gateClient is the fake layout with every append transaction held at a
// gate: the test learns when one is sent (entered, with its alert count)
// and decides when and how it ends (release: nil runs it, an error fails
// it with nothing stored).
type gateClient struct {
	*fakeClient
	entered   chan int
	release   chan error
	deadlines chan time.Time // each transaction's deadline (zero: none)
}

func newGate() *gateClient {
	return &gateClient{fakeClient: newFake(), entered: make(chan int, 100), release: make(chan error, 100), deadlines: make(chan time.Time, 100)}
}

func (g *gateClient) Append(ctx context.Context, k Keys, p [][]byte, max int, o AppendOptions) (AppendResult, error) {
	dl, _ := ctx.Deadline()
	g.deadlines <- dl
	g.entered <- len(p)
	if err := <-g.release; err != nil {
		return AppendResult{}, err
	}
	return g.fakeClient.Append(ctx, k, p, max, o)
}

// sent waits for the next transaction to be sent and returns its size.
func (g *gateClient) sent(t *testing.T) int {
	t.Helper()
	select {
	case n := <-g.entered:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no append transaction was sent")
		return 0
	}
}

// queuedCalls is how many calls wait in the queue, not yet sent.
func (c *coalescer) queuedCalls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.queue {
		for _, q := range t.calls {
			if !q.dropped {
				n++
			}
		}
	}
	return n
}

// waitQueued waits until n calls are queued.
func waitQueued(t *testing.T, d *Driver, n int) {
	t.Helper()
	for d.co.queuedCalls() != n {
		time.Sleep(time.Millisecond)
	}
}

// call is one Append in its own goroutine; its result arrives on the
// returned channel.
func call(ctx context.Context, d *Driver, alerts [][]byte) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- d.Append(ctx, alerts) }()
	return ch
}

func stored(t *testing.T, d *Driver) []string {
	t.Helper()
	_, data := scanAll(t, d)
	slices.Sort(data)
	return data
}

func names(from, n int) []string {
	var out []string
	for _, p := range payloads(from, n) {
		out = append(out, string(p))
	}
	return out
}

// TestCoalesceRoundTrips: one append in flight, 63 more arrive: they go
// as one transaction once it completes (2 round trips for 64 calls, not
// 64), and each call is acknowledged with its alert stored once.
func TestCoalesceRoundTrips(t *testing.T) {
	ctx := context.Background()
	g := newGate()
	d := New(g, backend.Config{Prefix: "t:", MaxAlerts: 1000}, nil)
	first := call(ctx, d, payloads(0, 1))
	if n := g.sent(t); n != 1 {
		t.Fatalf("first transaction holds %d alerts, want 1 (an idle pipe sends at once)", n)
	}
	var rest []<-chan error
	for i := 1; i < 64; i++ {
		rest = append(rest, call(ctx, d, payloads(i, 1)))
	}
	waitQueued(t, d, 63)
	g.release <- nil
	if err := <-first; err != nil {
		t.Fatalf("first call: %v", err)
	}
	if n := g.sent(t); n != 63 {
		t.Fatalf("second transaction holds %d alerts, want the 63 queued calls", n)
	}
	g.release <- nil
	for i, ch := range rest {
		if err := <-ch; err != nil {
			t.Errorf("call %d: %v", i+1, err)
		}
	}
	select {
	case n := <-g.entered:
		t.Errorf("a third transaction of %d alerts was sent; want 2 for 64 calls", n)
	default:
	}
	pos, _ := scanAll(t, d)
	if len(pos) != 64 || pos[0] != 64 || pos[63] != 1 {
		t.Errorf("positions %v, want 64 down to 1", pos)
	}
	want := names(0, 64)
	slices.Sort(want)
	if got := stored(t, d); !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// TestCoalesceFailureFailsItsCallers: a transaction that fails fails
// exactly the calls it held; the calls before it and after it are
// acknowledged and stored.
func TestCoalesceFailureFailsItsCallers(t *testing.T) {
	ctx := context.Background()
	g := newGate()
	d := New(g, backend.Config{Prefix: "t:", MaxAlerts: 1000}, nil)
	a := call(ctx, d, payloads(0, 1))
	g.sent(t)
	var b, c []<-chan error
	for i := range 5 {
		b = append(b, call(ctx, d, payloads(100+i, 1)))
	}
	waitQueued(t, d, 5)
	g.release <- nil // a
	if n := g.sent(t); n != 5 {
		t.Fatalf("second transaction holds %d alerts, want 5", n)
	}
	for i := range 3 {
		c = append(c, call(ctx, d, payloads(200+2*i, 2)))
	}
	waitQueued(t, d, 3)
	g.release <- fmt.Errorf("%w: connection reset", backend.ErrUnavailable) // b
	if n := g.sent(t); n != 6 {
		t.Fatalf("third transaction holds %d alerts, want 6", n)
	}
	g.release <- nil // c
	if err := <-a; err != nil {
		t.Errorf("call before the failed transaction: %v", err)
	}
	for i, ch := range b {
		if err := <-ch; !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("call %d of the failed transaction: %v, want its error", i, err)
		}
	}
	for i, ch := range c {
		if err := <-ch; err != nil {
			t.Errorf("call %d after the failed transaction: %v", i, err)
		}
	}
	want := append(names(0, 1), names(200, 6)...)
	slices.Sort(want)
	if got := stored(t, d); !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// TestCoalesceContext: a call whose context ends while it is queued
// leaves the queue with the context's error and nothing of it stored; a
// call whose context ends after its transaction was sent gets the real
// outcome.
func TestCoalesceContext(t *testing.T) {
	g := newGate()
	d := New(g, backend.Config{Prefix: "t:", MaxAlerts: 1000}, nil)
	bg := context.Background()
	a := call(bg, d, payloads(0, 1))
	g.sent(t)

	cancelled, cancel := context.WithCancel(bg)
	gone := call(cancelled, d, payloads(1, 1))
	kept, cancelKept := context.WithCancel(bg)
	stay := call(kept, d, payloads(3, 1))
	waitQueued(t, d, 2)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) || errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("cancelled while queued: %v, want context.Canceled alone", err)
	}
	// The first transaction is still held: this call can only queue.
	expired, cancel2 := context.WithTimeout(bg, time.Millisecond)
	defer cancel2()
	if err := <-call(expired, d, payloads(2, 1)); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("deadline while queued: %v, want DeadlineExceeded wrapped in ErrUnavailable", err)
	}
	waitQueued(t, d, 1)
	g.release <- nil // a
	if n := g.sent(t); n != 1 {
		t.Fatalf("second transaction holds %d alerts, want only the call still queued", n)
	}
	cancelKept() // after the send: the caller waits for the real outcome
	g.release <- nil
	if err := <-a; err != nil {
		t.Errorf("first call: %v", err)
	}
	if err := <-stay; err != nil {
		t.Errorf("call cancelled after its transaction was sent: %v, want its acknowledgement", err)
	}
	want := append(names(0, 1), names(3, 1)...)
	if got := stored(t, d); !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// TestCoalesceBounds: queued calls are cut into transactions of at most
// MaxCoalesce alerts and MaxCoalesceBytes bytes, in the order they came,
// never splitting a call (one over the bounds goes alone).
func TestCoalesceBounds(t *testing.T) {
	for _, c := range []struct {
		name  string
		opts  Options
		calls []int // alerts per queued call
		want  []int // alerts per transaction after the first
	}{
		{"count", Options{MaxCoalesce: 4}, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, []int{4, 4, 2}},
		{"count-big-call", Options{MaxCoalesce: 4}, []int{1, 6, 1, 2}, []int{1, 6, 3}},
		// payloads are `{"n":NNN}`, 9 bytes each
		{"bytes", Options{MaxCoalesceBytes: 30}, []int{1, 1, 1, 1, 1, 1, 1}, []int{3, 3, 1}},
		{"bytes-big-call", Options{MaxCoalesceBytes: 30}, []int{1, 5, 1}, []int{1, 5, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			g := newGate()
			d := New(g, backend.Config{Prefix: "t:", MaxAlerts: 1000}, &c.opts)
			first := call(ctx, d, payloads(100, 1))
			g.sent(t)
			var chs []<-chan error
			from := 200
			for i, n := range c.calls {
				chs = append(chs, call(ctx, d, payloads(from, n)))
				from += n
				waitQueued(t, d, i+1) // in this order
			}
			g.release <- nil
			var got []int
			for range c.want {
				got = append(got, g.sent(t))
				g.release <- nil
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("transactions of %v alerts, want %v", got, c.want)
			}
			for _, ch := range append(chs, first) {
				if err := <-ch; err != nil {
					t.Error(err)
				}
			}
			// Each call's alerts are contiguous and in order.
			_, data := scanAll(t, d)
			slices.Reverse(data)
			want := append(names(100, 1), names(200, from-200)...)
			if !slices.Equal(data, want) {
				t.Errorf("stored oldest first %s, want %s", strings.Join(data, " "), strings.Join(want, " "))
			}
		})
	}
}

// TestCoalesceDeadline: a coalesced transaction is sent with the earliest
// deadline of its calls, so that no call waits past its own; a call
// without a deadline does not lift the others'.
func TestCoalesceDeadline(t *testing.T) {
	g := newGate()
	d := New(g, backend.Config{Prefix: "t:", MaxAlerts: 1000}, nil)
	bg := context.Background()
	first := call(bg, d, payloads(0, 1))
	g.sent(t)
	<-g.deadlines
	soon := time.Now().Add(time.Hour)
	c1, cancel1 := context.WithDeadline(bg, soon.Add(time.Minute))
	defer cancel1()
	c2, cancel2 := context.WithDeadline(bg, soon)
	defer cancel2()
	a := call(c1, d, payloads(1, 1))
	b := call(bg, d, payloads(2, 1))
	waitQueued(t, d, 2)
	c := call(c2, d, payloads(3, 1))
	waitQueued(t, d, 3)
	g.release <- nil
	if n := g.sent(t); n != 3 {
		t.Fatalf("second transaction holds %d alerts, want 3", n)
	}
	if got := <-g.deadlines; !got.Equal(soon) {
		t.Errorf("transaction deadline %v, want the earliest of its calls, %v", got, soon)
	}
	g.release <- nil
	for _, ch := range []<-chan error{first, a, b, c} {
		if err := <-ch; err != nil {
			t.Error(err)
		}
	}
}
