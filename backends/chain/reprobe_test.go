package chain_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
)

// holdRecovery is a slog handler that holds the first RecoveredMessage
// record until released: the prober that logs it is then between putting
// its tier back and returning, the moment a write that fails at once (a
// cluster whose first node to answer PING is not yet serving) catches it.
type holdRecovery struct {
	once    sync.Once
	reached chan struct{}
	release chan struct{}
}

func (h *holdRecovery) Enabled(context.Context, slog.Level) bool { return true }

func (h *holdRecovery) Handle(_ context.Context, r slog.Record) error {
	if r.Message == chain.RecoveredMessage {
		h.once.Do(func() {
			close(h.reached)
			<-h.release
		})
	}
	return nil
}

func (h *holdRecovery) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *holdRecovery) WithGroup(string) slog.Handler      { return h }

// TestDownAgainWhileRecovering: a tier that fails again right after its
// prober put it back, before that prober has returned, gets a prober of
// its own and comes back once it answers. (Before, the failure found the
// old prober still marked running, started none, and the tier stayed down
// for good: the whole-cluster-down fault test waited in vain for the chain
// to leave its local tier.)
func TestDownAgainWhileRecovering(t *testing.T) {
	cfg := backend.Config{Prefix: "t:", MaxAlerts: 10_000, Timeout: 5 * time.Second}
	h := &holdRecovery{reached: make(chan struct{}), release: make(chan struct{})}
	var released sync.Once
	release := func() { released.Do(func() { close(h.release) }) }
	t.Cleanup(release)
	opts := fastOptions(cfg)
	opts.Logger = slog.New(h)
	lower, err := bolt.Open(context.Background(), filepath.Join(t.TempDir(), "lower.db"), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	primary := newFlaky(memory.Open("", cfg, nil), redisLike, down)
	drv, err := chain.New(context.Background(), []chain.Tier{{Name: "primary", Driver: primary}, {Name: "bolt", Driver: lower}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	store := backend.NewStore(drv, chain.Scheme, cfg)
	t.Cleanup(func() { _ = store.Close() })
	status := func() chain.Status {
		st, _ := chain.StatusOf(store)
		return st
	}
	storeOne := func() {
		t.Helper()
		if err := store.Store(context.Background(), backend.NewAlert()); err != nil {
			t.Fatal(err)
		}
	}

	storeOne() // primary down: on bolt, primary probed
	waitFor(t, 5*time.Second, "the chain on bolt", func() bool { return status().Active == "bolt" })
	primary.set(up)
	select {
	case <-h.reached: // the prober put primary back and is logging it
	case <-time.After(10 * time.Second):
		t.Fatal("primary was not put back within 10s of answering")
	}
	primary.set(down)
	storeOne() // fails on primary (marked down again), lands on bolt
	if st := status(); st.Active != "bolt" {
		t.Fatalf("after a failed write on primary the chain is on %q, want bolt", st.Active)
	}
	release()
	primary.set(up)
	waitFor(t, 5*time.Second, "the chain back on primary", func() bool { return status().Active == "primary" })
	waitFor(t, 5*time.Second, "the backlog replayed", func() bool { st := status(); return st.Backlog == 0 && !st.Replaying })
}
