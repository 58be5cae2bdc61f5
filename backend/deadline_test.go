package backend_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// deadlines records the deadline of the ctx each Count gets.
type deadlines struct {
	plain
	got  time.Time
	have bool
}

func (d *deadlines) Count(ctx context.Context) (int64, error) {
	d.got, d.have = ctx.Deadline()
	return 0, nil
}

// TestEveryCallHasADeadline: the driver always gets a deadline, the
// caller's when it is earlier than Config.Timeout from now, else that.
func TestEveryCallHasADeadline(t *testing.T) {
	const timeout = time.Minute
	for _, c := range []struct {
		name   string
		caller time.Duration // 0: no deadline
		want   time.Duration // from now, about
	}{
		{"none", 0, timeout},
		{"earlier", 10 * time.Second, 10 * time.Second},
		{"later", time.Hour, timeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &deadlines{}
			s := backend.NewStore(d, "deadlines", backend.Config{Timeout: timeout})
			ctx := context.Background()
			if c.caller > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.caller)
				defer cancel()
			}
			start := time.Now()
			if _, err := s.Count(ctx); err != nil {
				t.Fatal(err)
			}
			// The deadline was set between start (less a second of
			// slack for the caller's own) and now, want later.
			if !d.have || d.got.Before(start.Add(c.want-time.Second)) || d.got.After(time.Now().Add(c.want)) {
				t.Fatalf("driver's deadline %v (set: %v), want about %v from now", time.Until(d.got), d.have, c.want)
			}
		})
	}
}

// bounded is a BoundedAppender recording how each append was called.
type bounded struct {
	plain
	appends, withins int
	within           time.Duration
	hadDeadline      bool
}

func (b *bounded) Append(context.Context, [][]byte) error { b.appends++; return nil }

func (b *bounded) AppendWithin(ctx context.Context, _ [][]byte, within time.Duration) error {
	b.withins++
	b.within = within
	_, b.hadDeadline = ctx.Deadline()
	return nil
}

// TestBoundedAppenderTakesTheTimeout: a driver that bounds its appends
// itself (the chain) gets the Store's Timeout through AppendWithin and
// the caller's context as it is, not Append under a second context; the
// Store's checks before the I/O still run.
func TestBoundedAppenderTakesTheTimeout(t *testing.T) {
	const timeout = 7 * time.Second
	d := &bounded{}
	s := backend.NewStore(d, "bounded", backend.Config{Timeout: timeout})
	a, err := backend.ParseAlert([]byte(`{"severity":"High","message":"m"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if d.withins != 1 || d.appends != 0 || d.within != timeout || d.hadDeadline {
		t.Fatalf("AppendWithin %d times (within %v, ctx deadline %v), Append %d times; want AppendWithin once with %v and the caller's context",
			d.withins, d.within, d.hadDeadline, d.appends, timeout)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Store(ctx, a); !errors.Is(err, context.Canceled) || d.withins != 1 {
		t.Fatalf("Store with an ended context: %v, AppendWithin %d times; want context.Canceled before the driver", err, d.withins)
	}
	_ = s.Close()
	if err := s.Store(context.Background(), a); !errors.Is(err, backend.ErrClosed) || d.withins != 1 {
		t.Fatalf("Store on a closed Store: %v, AppendWithin %d times; want ErrClosed before the driver", err, d.withins)
	}
}
