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
