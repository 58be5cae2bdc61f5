package chain_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
)

// scanHooked is a flaky driver that runs hook once, on the first Scan
// after it is armed, after that Scan has read what it returns.
type scanHooked struct {
	*flaky
	mu   sync.Mutex
	hook func()
}

func (s *scanHooked) Scan(ctx context.Context, before int64, limit int) ([]backend.Entry, error) {
	es, err := s.flaky.Scan(ctx, before, limit)
	s.mu.Lock()
	h := s.hook
	s.hook = nil
	s.mu.Unlock()
	if h != nil {
		h()
	}
	return es, err
}

// TestAmbiguousWriteDuringReplay: a write that times out on the higher
// tier but was applied there, then lands on the lower tier, while a replay
// into the higher tier is running (it read the higher tier's ids before
// that write), and the higher tier is back before the replay's next step.
// The alert must end up in the higher tier once: the replay may not move
// the lower tier's copy on the strength of ids read before the tier went
// down. (It did: the whole-cluster-down fault test found 4 alerts twice.)
func TestAmbiguousWriteDuringReplay(t *testing.T) {
	cfg := backend.Config{Prefix: "t:", MaxAlerts: 10_000, Timeout: 5 * time.Second}
	inner := memory.Open("", cfg, nil)
	primary := &scanHooked{flaky: newFlaky(inner, redisLike, down)}
	lower, err := bolt.Open(context.Background(), filepath.Join(t.TempDir(), "lower.db"), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	drv, err := chain.New(context.Background(), []chain.Tier{{Name: "primary", Driver: primary}, {Name: "bolt", Driver: lower}}, fastOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	store := backend.NewStore(drv, chain.Scheme, cfg)
	t.Cleanup(func() { _ = store.Close() })
	status := func() chain.Status {
		st, _ := chain.StatusOf(store)
		return st
	}
	for range 5 { // primary down: a backlog on bolt
		if err := store.Store(context.Background(), backend.NewAlert()); err != nil {
			t.Fatal(err)
		}
	}

	// The first Scan of primary once it is back is the replay reading its
	// ids. Right after it: the ambiguous write, and primary back again.
	x := backend.NewAlert()
	reached, done := make(chan struct{}), make(chan struct{})
	primary.mu.Lock()
	primary.hook = func() {
		close(reached)
		<-done
	}
	primary.mu.Unlock()
	primary.set(up)
	select {
	case <-reached:
	case <-time.After(10 * time.Second):
		t.Fatal("no replay into primary within 10s of it answering")
	}
	primary.ambiguous.Store(true)
	if err := store.Store(context.Background(), x); err != nil {
		t.Fatalf("Store: %v (the chain should have fallen back on bolt)", err)
	}
	primary.ambiguous.Store(false)
	waitFor(t, 5*time.Second, "primary back", func() bool { return status().Active == "primary" })
	close(done)

	waitFor(t, 5*time.Second, "the backlog replayed", func() bool { st := status(); return st.Backlog == 0 && !st.Replaying })
	copies := 0
	for _, id := range ids(t, inner) {
		if id == x.ID() {
			copies++
		}
	}
	if copies != 1 {
		t.Fatalf("the alert written ambiguously during a replay is %d times in primary, want once (status %+v)", copies, status())
	}
}
