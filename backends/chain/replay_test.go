package chain_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
)

// brokenRemove is a bolt tier whose Remove fails while failing is set: the
// state a crash between "appended to the higher tier" and "removed here"
// leaves.
type brokenRemove struct {
	backend.Driver
	failing atomic.Bool
}

func (b *brokenRemove) Oldest(ctx context.Context, after int64, limit int) ([]backend.Entry, error) {
	return b.Driver.(backend.Drainer).Oldest(ctx, after, limit)
}

func (b *brokenRemove) Remove(ctx context.Context, upTo int64) error {
	if b.failing.Load() {
		return fmt.Errorf("%w: remove failed (the process died here)", backend.ErrUnavailable)
	}
	return b.Driver.(backend.Drainer).Remove(ctx, upTo)
}

func (b *brokenRemove) Watch(ctx context.Context) (backend.Subscription, error) {
	return b.Driver.(backend.Watcher).Watch(ctx)
}

// A replay interrupted after appending a batch to the higher tier and
// before removing it below is resumed by the next process without storing
// the batch twice.
func TestReplayResumedAfterInterruption(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := backend.Config{Prefix: "r:", MaxAlerts: 1000}
	primaryPath, localPath := filepath.Join(dir, "p.db"), filepath.Join(dir, "l.db")
	open := func(primaryUp bool, failRemove bool) (backend.Driver, *flaky, *brokenRemove) {
		p, err := bolt.Open(ctx, primaryPath, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		l, err := bolt.Open(ctx, localPath, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := down
		if primaryUp {
			m = up
		}
		f := newFlaky(p, p.Capabilities(), m)
		br := &brokenRemove{Driver: l}
		br.failing.Store(failRemove)
		d, err := chain.New(ctx, []chain.Tier{{Name: "primary", Driver: f}, {Name: "local", Driver: br}}, &chain.Options{
			MaxAlerts: cfg.MaxAlerts, TierTimeout: time.Second, ProbeInterval: 10 * time.Millisecond, ReplayBatch: 7,
		})
		if err != nil {
			t.Fatal(err)
		}
		return d, f, br
	}
	// 1: the primary is down; 20 alerts go to the local tier.
	d, _, _ := open(false, false)
	s := backend.NewStore(d, chain.Scheme, cfg)
	var want []string
	for i := 0; i < 20; i++ {
		a := backend.NewAlert()
		_ = a.SetEntity(fmt.Sprint(i))
		if err := s.Store(ctx, a); err != nil {
			t.Fatal(err)
		}
		want = append(want, a.ID())
	}
	_ = s.Close()
	// 2: the primary is back, but removing from the local tier fails: the
	// first batch reaches the primary and stays below too. The process
	// "dies" (closes) there.
	d, f, _ := open(true, true)
	waitFor(t, 5*time.Second, "the first batch to be appended", func() bool { n, _ := f.Count(ctx); return n >= 7 })
	_ = d.Close()
	// 3: a new process finishes the replay.
	d, _, _ = open(true, false)
	s = backend.NewStore(d, chain.Scheme, cfg)
	defer s.Close()
	waitFor(t, 5*time.Second, "the replay to finish", func() bool { st, _ := chain.StatusOf(s); return st.Backlog == 0 && st.Replayed > 0 })
	st, _ := chain.StatusOf(s)
	got, err := s.List(ctx, backend.Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if got.Duplicates != 0 || len(got.Alerts) != 20 {
		t.Fatalf("primary lists %d alerts with %d duplicates, want 20 and 0", len(got.Alerts), got.Duplicates)
	}
	for i, a := range got.Alerts {
		if a.ID() != want[19-i] {
			t.Fatalf("alert %d is %s, want %s (original order)", i, a.ID(), want[19-i])
		}
	}
	if st.Deduplicated != 7 {
		t.Fatalf("Deduplicated = %d, want the 7 of the interrupted batch", st.Deduplicated)
	}
}

// A memory lower tier (no Drainer) is copied up whole and cleared, and the
// status labels it lossy.
func TestMemoryTierReplayedAndLabelledLossy(t *testing.T) {
	ctx := context.Background()
	cfg := backend.Config{MaxAlerts: 1000}
	inner := memory.Open("", cfg, nil)
	p := newFlaky(inner, redisLike, up)
	lower := memory.Open("", cfg, nil)
	d, err := chain.New(ctx, []chain.Tier{{Name: "redis", Driver: p}, {Name: "mem", Driver: lower}}, fastOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	s := backend.NewStore(d, chain.Scheme, cfg)
	defer s.Close()
	p.set(down)
	for i := 0; i < 250; i++ {
		if err := s.Store(ctx, backend.NewAlert()); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := chain.StatusOf(s)
	if !st.Tiers[1].Lossy || s.Capabilities().Durable {
		t.Fatalf("memory tier not labelled lossy, or chain claims durable: %+v, %+v", st.Tiers, s.Capabilities())
	}
	p.set(up)
	waitFor(t, 5*time.Second, "replay", func() bool { n, _ := lower.Count(ctx); return n == 0 })
	if n, _ := inner.Count(ctx); n != 250 {
		t.Fatalf("primary holds %d, want 250", n)
	}
}

// Replay does not push newer alerts out of the cap: with a cap of 10, 6
// newer alerts in the primary and 8 older in the backlog, only the 4
// newest of the backlog move up; the other 4 are dropped and counted.
func TestReplayKeepsTheCap(t *testing.T) {
	ctx := context.Background()
	cfg := backend.Config{MaxAlerts: 10}
	inner := memory.Open("", cfg, nil)
	p := newFlaky(inner, redisLike, up)
	lower, err := bolt.Open(ctx, filepath.Join(t.TempDir(), "l.db"), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(i int) []byte {
		a := backend.NewAlert()
		_ = a.SetEntity(fmt.Sprint(i))
		_ = a.SetTime(time.Now())
		_ = a.SetID(mustID(t))
		b, _ := a.MarshalJSON()
		return b
	}
	for i := 0; i < 8; i++ { // older: the backlog of an outage
		if err := lower.Append(ctx, [][]byte{mk(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 8; i < 14; i++ { // newer: written after the recovery
		if err := inner.Append(ctx, [][]byte{mk(i)}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := chain.New(ctx, []chain.Tier{{Driver: p}, {Driver: lower}}, fastOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	s := backend.NewStore(d, chain.Scheme, cfg)
	defer s.Close()
	// Counters are final once the replay step ended, not as soon as the
	// lower tier is empty.
	waitFor(t, 5*time.Second, "replay", func() bool {
		n, _ := lower.Count(ctx)
		st, _ := chain.StatusOf(s)
		return n == 0 && st.Backlog == 0 && !st.Replaying
	})
	st, _ := chain.StatusOf(s)
	page, err := s.List(ctx, backend.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, a := range page.Alerts {
		got[a.Entity()] = true
	}
	for i := 4; i < 14; i++ {
		if !got[fmt.Sprint(i)] {
			t.Errorf("alert %d, among the 10 newest, is gone", i)
		}
	}
	if st.DroppedForCap != 4 || st.Replayed != 4 {
		t.Fatalf("replayed %d, dropped for cap %d; want 4 and 4", st.Replayed, st.DroppedForCap)
	}
}

// Clear while the primary is down clears what it can reach and says what
// it could not: the primary's alerts would come back with it.
func TestClearWhileDegraded(t *testing.T) {
	r := newRig(t, nil)
	r.storeN("x", 2)
	r.primary.set(down)
	r.storeN("y", 2)
	err := r.store.Clear(context.Background())
	if !errors.Is(err, backend.ErrUnavailable) || !containsAll(err.Error(), "tier primary", "clear") {
		t.Fatalf("Clear with the primary down = %v, want ErrUnavailable naming the primary", err)
	}
	if n, _ := r.lower.Count(context.Background()); n != 0 {
		t.Fatalf("the reachable tier still holds %d", n)
	}
}
