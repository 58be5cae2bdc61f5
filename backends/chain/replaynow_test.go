package chain_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
)

// Replay drains the backlog in the caller's goroutine: with the
// background replay held, only Replay can have moved it.
func TestReplayDrainsNow(t *testing.T) {
	opts := fastOptions(backend.Config{MaxAlerts: 10_000})
	opts.ReplayBatch = 40
	r := newRig(t, opts)
	chain.HoldReplay(r.drv, true)
	r.primary.set(down)
	during := r.storeN("during", 250)
	r.primary.set(up)
	waitFor(t, 5*time.Second, "the primary to be probed back", func() bool { return r.status().Active == "primary" })
	c, ok := chain.ReplayerOf(r.store)
	if !ok {
		t.Fatal("ReplayerOf: not a chain")
	}
	var steps []chain.ReplayProgress
	if err := c.Replay(context.Background(), func(p chain.ReplayProgress) { steps = append(steps, p) }); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if got := ids(t, r.inner); !equal(got, during) {
		t.Fatalf("primary holds %d alerts after Replay, want the 250 written while down, in order", len(got))
	}
	if n, _ := r.lower.Count(context.Background()); n != 0 {
		t.Fatalf("bolt still holds %d after Replay", n)
	}
	if len(steps) < 2 {
		t.Fatalf("%d progress reports, want one per batch and a final one", len(steps))
	}
	if last := steps[len(steps)-1]; last.Moved != 250 || last.Backlog != 0 {
		t.Fatalf("last progress %+v, want moved 250, backlog 0", last)
	}
}

// Replay that cannot finish says how much is left and loses nothing.
func TestReplayLeavesBacklog(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() context.Context
		want []error
	}{
		{"first tier down", context.Background, []error{chain.ErrBacklogLeft, backend.ErrUnavailable}},
		{"ctx cancelled", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, []error{context.Canceled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.primary.set(down)
			r.storeN("during", 10)
			c, _ := chain.ReplayerOf(r.store)
			err := c.Replay(tt.ctx(), nil)
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Fatalf("Replay: %v; want errors.Is %v", err, w)
				}
			}
			if n, _ := r.lower.Count(context.Background()); n != 10 {
				t.Fatalf("bolt holds %d after a failed Replay, want the 10", n)
			}
		})
	}
}

func TestReplayerOfNotAChain(t *testing.T) {
	s := backend.NewStore(memory.Open("", backend.Config{}, nil), "mem", backend.Config{})
	defer s.Close()
	if _, ok := chain.ReplayerOf(s); ok {
		t.Fatal("ReplayerOf(mem store) = true")
	}
}
