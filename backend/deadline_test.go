package backend_test

import (
	"context"
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
