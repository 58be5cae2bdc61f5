package registry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	_ "github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/registry"
)

// A store opened with WithObserver reports every call: the counts match
// what was done, by operation, and a store opened without it reports
// nothing to that observer.
func TestWithObserverCounts(t *testing.T) {
	var c backend.Counters
	ctx := registry.WithObserver(context.Background(), &c)
	s, err := registry.Open(ctx, "mem://?prefix=obs:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	good := func() *backend.Alert { a := backend.NewAlert(); _ = a.SetEntity("h"); return a }
	if err := s.StoreBatch(ctx, []*backend.Alert{good(), good(), good()}); err != nil {
		t.Fatal(err)
	}
	if err := s.Store(ctx, good()); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreBatch(ctx, []*backend.Alert{good(), nil}); !errors.Is(err, backend.ErrInvalidAlert) {
		t.Fatalf("StoreBatch with a nil alert: %v", err)
	}
	if _, err := s.List(ctx, backend.Query{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Count(ctx); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if err := s.Ping(ctx); !errors.Is(err, backend.ErrClosed) {
		t.Fatalf("Ping after Close: %v", err)
	}
	got := c.Snapshot()
	for _, chk := range []struct {
		name      string
		got, want uint64
	}{
		{"stored", got.Stored, 4},
		{"rejected", got.Rejected, 2},
		{"store calls", got.Ops["store"].Calls, 3},
		{"store errors", got.Ops["store"].Errors, 1},
		{"list calls", got.Ops["list"].Calls, 1},
		{"count calls", got.Ops["count"].Calls, 1},
		{"ping errors", got.Ops["ping"].Errors, 1},
		{"clear calls", got.Ops["clear"].Calls, 0},
	} {
		if chk.got != chk.want {
			t.Errorf("%s = %d, want %d", chk.name, chk.got, chk.want)
		}
	}

	other, err := registry.Open(context.Background(), "mem://?prefix=obs2:")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, _ = other.Count(context.Background())
	if n := c.Snapshot().Ops["count"].Calls; n != 1 {
		t.Fatalf("a store opened without the observer reported to it: count calls %d", n)
	}
}
