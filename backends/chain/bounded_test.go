package chain_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
)

// deadlineOf records the deadline of every Append's context.
type deadlineOf struct {
	backend.Driver
	mu   sync.Mutex
	left []time.Duration // time to the deadline at the call; -1: none
}

func (d *deadlineOf) Append(ctx context.Context, alerts [][]byte) error {
	left := time.Duration(-1)
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	d.mu.Lock()
	d.left = append(d.left, left)
	d.mu.Unlock()
	return d.Driver.Append(ctx, alerts)
}

// TestAppendWithinBounds: the chain's AppendWithin (what a Store calls
// instead of Append under a context of its own) gives a healthy first
// tier only its tier_timeout, and bounds the call by within wherever
// tier_timeout would not: the last tier, a tier_timeout longer than
// within, and never past the caller's own deadline.
func TestAppendWithinBounds(t *testing.T) {
	for _, c := range []struct {
		name         string
		tierTimeout  time.Duration
		within       time.Duration
		caller       time.Duration // the caller's deadline; 0: a guard of 3s
		first, lower mode
		wantErr      bool
		wantAbout    time.Duration // how long the call takes, about
		wantFirst    time.Duration // the first tier's deadline, about (0: not checked)
	}{
		{name: "HealthyFirstTierGetsTierTimeout", tierTimeout: 300 * time.Millisecond, within: 2 * time.Second,
			first: up, lower: up, wantFirst: 300 * time.Millisecond},
		{name: "FirstTierLongerThanWithin", tierTimeout: 2 * time.Second, within: 400 * time.Millisecond,
			first: up, lower: up, wantFirst: 400 * time.Millisecond},
		{name: "BothFrozenStopAtWithin", tierTimeout: 300 * time.Millisecond, within: 700 * time.Millisecond,
			first: frozen, lower: frozen, wantErr: true, wantAbout: 700 * time.Millisecond},
		{name: "FrozenFirstCutAtWithin", tierTimeout: 2 * time.Second, within: 400 * time.Millisecond,
			first: frozen, lower: up, wantErr: true, wantAbout: 400 * time.Millisecond},
		{name: "CallerDeadlineSooner", tierTimeout: 2 * time.Second, within: 2 * time.Second, caller: 300 * time.Millisecond,
			first: frozen, lower: frozen, wantErr: true, wantAbout: 300 * time.Millisecond},
		{name: "FallsBackWithinBound", tierTimeout: 200 * time.Millisecond, within: 2 * time.Second,
			first: frozen, lower: up, wantAbout: 200 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := backend.Config{Prefix: "t:", MaxAlerts: 1000}
			// Both answer while the chain opens (it probes its tiers);
			// then they take the case's modes.
			firstFlaky := newFlaky(memory.Open("", cfg, nil), redisLike, up)
			first := &deadlineOf{Driver: firstFlaky}
			lower := newFlaky(memory.Open("", cfg, nil), redisLike, up)
			opts := fastOptions(cfg)
			opts.TierTimeout = c.tierTimeout
			opts.ProbeInterval = time.Hour // no probe between the calls
			drv, err := chain.New(context.Background(), []chain.Tier{{Name: "first", Driver: first}, {Name: "lower", Driver: lower}}, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = drv.Close() })
			firstFlaky.set(c.first)
			lower.set(c.lower)
			ba, ok := drv.(backend.BoundedAppender)
			if !ok {
				t.Fatal("the chain is not a backend.BoundedAppender")
			}
			// No caller deadline is a guard of 3s, far beyond every
			// bound the case expects, so that a chain that ignores
			// within fails the case instead of hanging the test.
			caller := 3 * time.Second
			if c.caller > 0 {
				caller = c.caller
			}
			ctx, cancel := context.WithTimeout(context.Background(), caller)
			defer cancel()
			start := time.Now()
			err = ba.AppendWithin(ctx, [][]byte{[]byte(`{"id":"a1","severity":"High"}`)}, c.within)
			took := time.Since(start)
			if (err != nil) != c.wantErr {
				t.Fatalf("AppendWithin: %v, want error %v", err, c.wantErr)
			}
			if err != nil && !errors.Is(err, backend.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("AppendWithin: %v, want ErrUnavailable or DeadlineExceeded", err)
			}
			// Slack for a loaded machine, and never anywhere near the
			// next bound up (tier_timeout or within of 5s).
			if c.wantAbout > 0 && (took < c.wantAbout-50*time.Millisecond || took > c.wantAbout+time.Second) {
				t.Fatalf("AppendWithin took %v, want about %v", took, c.wantAbout)
			}
			if c.wantFirst > 0 {
				first.mu.Lock()
				left := first.left
				first.mu.Unlock()
				if len(left) != 1 || left[0] > c.wantFirst || left[0] < c.wantFirst-500*time.Millisecond {
					t.Fatalf("first tier's deadlines %v, want one of about %v", left, c.wantFirst)
				}
			}
		})
	}
}
