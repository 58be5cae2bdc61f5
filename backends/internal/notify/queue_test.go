package notify

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

func TestQueueOrderLagAndClose(t *testing.T) {
	ctx := context.Background()
	closed := 0
	q := NewQueue(2, func() { closed++ })
	for i := int64(1); i <= 3; i++ {
		q.Deliver(backend.Entry{Pos: i})
	}
	for _, want := range []int64{1, 2} {
		e, err := q.Next(ctx)
		if err != nil || e.Pos != want {
			t.Fatalf("Next = %v, %v; want the buffered entry %d first", e.Pos, err, want)
		}
	}
	if _, err := q.Next(ctx); !errors.Is(err, backend.ErrLagged) {
		t.Fatalf("Next after a drop = %v, want ErrLagged", err)
	}
	q.Deliver(backend.Entry{Pos: 4})
	if e, err := q.Next(ctx); err != nil || e.Pos != 4 {
		t.Fatalf("Next after the lag = %v, %v; want 4: the stream resumes", e.Pos, err)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := q.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next on an empty queue = %v, want the ctx's error", err)
	}
	q.Close()
	q.Close()
	if _, err := q.Next(ctx); !errors.Is(err, backend.ErrClosed) || closed != 1 {
		t.Fatalf("after Close: %v, onClose ran %d times; want ErrClosed and once", err, closed)
	}
}

func TestQueueClosesWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	q := NewQueue(1, nil)
	q.CloseWhenDone(ctx)
	cancel()
	select {
	case <-q.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("queue not closed after its context ended")
	}
}

// TestLagMarkedWhileWaitingWakesNext: a drop marked after the consumer
// emptied the queue and began to wait (Deliver's failed send and its
// mark are two steps) is reported at once, not with the next entry: at
// the end of a burst there is no next entry, and the consumer would wait
// forever behind.
func TestLagMarkedWhileWaitingWakesNext(t *testing.T) {
	q := NewQueue(1, nil)
	q.Deliver(backend.Entry{Pos: 1})
	if e, err := q.Next(context.Background()); err != nil || e.Pos != 1 {
		t.Fatalf("Next = %v, %v", e.Pos, err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := q.Next(context.Background())
		got <- err
	}()
	time.Sleep(20 * time.Millisecond) // Next is waiting
	q.MarkLagged()
	select {
	case err := <-got:
		if !errors.Is(err, backend.ErrLagged) {
			t.Fatalf("Next = %v, want ErrLagged", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a lag marked while Next waited did not wake it")
	}
}

// TestNothingQueuedAfterADrop: once a notification is dropped, later ones
// are dropped too until Next reports the lag, so that every entry the
// consumer gets before ErrLagged is older than the first one it missed
// (a consumer catching up from its last entry would skip the gap
// otherwise).
func TestNothingQueuedAfterADrop(t *testing.T) {
	ctx := context.Background()
	q := NewQueue(2, nil)
	for i := int64(1); i <= 3; i++ { // 3 is dropped
		q.Deliver(backend.Entry{Pos: i})
	}
	if e, err := q.Next(ctx); err != nil || e.Pos != 1 {
		t.Fatalf("Next = %v, %v; want 1", e.Pos, err)
	}
	if q.Deliver(backend.Entry{Pos: 4}) {
		t.Fatal("an entry after a drop was queued before the lag was reported")
	}
	if e, err := q.Next(ctx); err != nil || e.Pos != 2 {
		t.Fatalf("Next = %v, %v; want 2", e.Pos, err)
	}
	if _, err := q.Next(ctx); !errors.Is(err, backend.ErrLagged) {
		t.Fatalf("Next = %v, want ErrLagged", err)
	}
	if !q.Deliver(backend.Entry{Pos: 5}) {
		t.Fatal("an entry after the lag was reported was not queued")
	}
	if e, err := q.Next(ctx); err != nil || e.Pos != 5 {
		t.Fatalf("Next = %v, %v; want 5", e.Pos, err)
	}
}
