package chain_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
)

// A stopped primary: writes go to bolt, the chain says so, and when the
// primary is back the backlog moves up in order and leaves bolt empty.
func TestFallbackThenReplay(t *testing.T) {
	r := newRig(t, nil)
	before := r.storeN("before", 5)
	r.primary.set(down)
	during := r.storeN("during", 10)
	st := r.status()
	if st.Active != "bolt" || st.Fallbacks != 1 || st.Backlog != 10 || st.DegradedSince.IsZero() {
		t.Fatalf("status while down: %+v; want active bolt, 1 fallback, backlog 10, degraded", st)
	}
	if got := ids(t, r.lower); !equal(got, during) {
		t.Fatalf("bolt holds %d alerts, want the 10 written while down", len(got))
	}
	r.primary.set(up)
	waitFor(t, 5*time.Second, "the backlog to be replayed", func() bool { return r.status().Backlog == 0 && r.status().Replayed == 10 })
	if got, want := ids(t, r.inner), append(before, during...); !equal(got, want) {
		t.Fatalf("primary holds %v,\nwant %v (in original order, once)", got, want)
	}
	if n, _ := r.lower.Count(context.Background()); n != 0 {
		t.Fatalf("bolt still holds %d alerts after replay", n)
	}
	st = r.status()
	if st.Active != "primary" || !st.DegradedSince.IsZero() || st.Tiers[0].Probes == 0 {
		t.Fatalf("status after recovery: %+v", st)
	}
}

// A frozen primary (a paused container) answers nothing: each call to it
// ends at tier_timeout and the write lands in bolt within that.
func TestFrozenPrimaryFallsBackWithinTierTimeout(t *testing.T) {
	r := newRig(t, nil)
	r.primary.set(frozen)
	start := time.Now()
	r.storeN("frozen", 1)
	took := time.Since(start)
	if took < 250*time.Millisecond || took > 2*time.Second {
		t.Fatalf("store with a frozen primary took %s, want about tier_timeout (300ms)", took)
	}
	start = time.Now()
	// The primary is known down: no more waiting (trying it would cost
	// 20 x 300ms = 6s).
	r.storeN("after", 20)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("20 stores after the fallback took %s: the frozen tier is still being tried", took)
	}
	if n, _ := r.lower.Count(context.Background()); n != 21 {
		t.Fatalf("bolt holds %d, want 21", n)
	}
}

// When every tier fails, the caller gets one error naming each tier's
// failure, and errors.Is finds ErrUnavailable through it.
func TestEveryTierFailsAggregates(t *testing.T) {
	cfg := backend.Config{MaxAlerts: 100}
	p := newFlaky(memory.Open("", cfg, nil), redisLike, up)
	l := newFlaky(memory.Open("", cfg, nil), redisLike, up)
	d, err := chain.New(context.Background(), []chain.Tier{{Name: "redis", Driver: p}, {Name: "disk", Driver: l}}, fastOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	s := backend.NewStore(d, chain.Scheme, backend.Config{MaxAlerts: 100, Timeout: time.Second})
	defer s.Close()
	p.set(down)
	l.set(frozen) // the last tier gets the caller's whole deadline: 1s
	start := time.Now()
	err = s.Store(context.Background(), backend.NewAlert())
	if took := time.Since(start); took < 900*time.Millisecond || took > 3*time.Second {
		t.Fatalf("Store took %s; the last tier should have had the call's whole 1s", took)
	}
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("Store with every tier down = %v, want ErrUnavailable", err)
	}
	var me *multierror.Error
	if !errors.As(err, &me) || len(me.Errors) != 2 {
		t.Fatalf("error %v is not one multierror of the 2 tiers' failures", err)
	}
	for _, want := range []string{"tier redis", "connection refused", "tier disk", "deadline exceeded"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// The next call, both known down, tries them again (a probe may not
	// have run yet) and still aggregates.
	if err := s.Store(context.Background(), backend.NewAlert()); !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("second Store = %v", err)
	}
	if st, _ := chain.StatusOf(s); st.Active != "" {
		t.Fatalf("status: active %q with every tier down", st.Active)
	}
}

// The caller's deadline is not a tier failure: no fallback, no tier marked
// down, the ctx's error returned.
func TestCallerDeadlineIsNotATierFailure(t *testing.T) {
	r := newRig(t, nil)
	r.primary.set(frozen)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := r.store.Store(ctx, backend.NewAlert())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Store past the caller's deadline = %v, want DeadlineExceeded", err)
	}
	if st := r.status(); st.Active != "primary" || st.Fallbacks != 0 {
		t.Fatalf("the caller's deadline marked the primary down: %+v", st)
	}
	if n, _ := r.lower.Count(context.Background()); n != 0 {
		t.Fatalf("bolt took %d alerts although the caller gave up", n)
	}
}

// A write that the primary applied but reported as failed (a reply lost
// to a timeout) lands in bolt too; replay finds its id in the primary and
// does not store it twice.
func TestAmbiguousWriteReplayedOnce(t *testing.T) {
	r := newRig(t, nil)
	r.primary.ambiguous.Store(true)
	id := r.storeN("ambiguous", 1)[0]
	r.primary.ambiguous.Store(false)
	r.primary.set(down) // what a timeout usually means next
	more := r.storeN("down", 3)
	r.primary.set(up)
	waitFor(t, 5*time.Second, "replay", func() bool { st := r.status(); return st.Backlog == 0 && st.Replayed == 3 })
	if got := ids(t, r.inner); !equal(got, append([]string{id}, more...)) {
		t.Fatalf("primary holds %v, want the ambiguous alert once, then the 3", got)
	}
	if st := r.status(); st.Deduplicated != 1 {
		t.Fatalf("Deduplicated = %d, want 1", st.Deduplicated)
	}
}

// Probes back off exponentially up to probe_max: a primary that stays
// down gets few reconnect attempts, and Close stops them (no goroutine is
// left behind).
func TestProbesBackOffAndStopOnClose(t *testing.T) {
	base := runtimeGoroutines()
	cfg := backend.Config{MaxAlerts: 100}
	p := newFlaky(memory.Open("", cfg, nil), redisLike, down)
	opts := &chain.Options{TierTimeout: 100 * time.Millisecond, ProbeInterval: 20 * time.Millisecond, ProbeMax: 160 * time.Millisecond}
	d, err := chain.New(context.Background(), []chain.Tier{{Driver: p}, {Driver: memory.Open("", cfg, nil)}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	pings := p.pings.Load()
	// Waits: 20, 40, 80, then 160 capped, each jittered to [w/2, w]: at
	// most about 4 + 2000/80 = 29 pings, at least 2000/160 = 12.
	if pings < 4 || pings > 30 { // the lower bound leaves room for a starved CI machine
		t.Fatalf("%d probes in 2s with backoff 20ms..160ms", pings)
	}
	if st := d.(*chain.Chain).Status(); st.Tiers[0].Probes != uint64(pings-1) {
		// The first ping is New's health check, not a probe.
		t.Fatalf("Status counts %d probes, the driver saw %d pings", st.Tiers[0].Probes, pings)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	after := p.pings.Load()
	time.Sleep(300 * time.Millisecond)
	if p.pings.Load() != after {
		t.Fatal("probes go on after Close")
	}
	waitFor(t, 2*time.Second, "goroutines to end", func() bool { return runtimeGoroutines() <= base })
}

// A primary that flaps (down and up every 50ms) while alerts stream in:
// nothing lost or doubled, and no goroutines pile up.
func TestFlappingPrimary(t *testing.T) {
	base := runtimeGoroutines()
	r := newRig(t, nil)
	stop := make(chan struct{})
	flapped := make(chan struct{})
	go func() {
		defer close(flapped)
		m := down
		for {
			select {
			case <-stop:
				r.primary.set(up)
				return
			case <-time.After(50 * time.Millisecond):
				r.primary.set(m)
				m = up + down - m
			}
		}
	}()
	var acked []string
	deadline := time.Now().Add(2 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		a := backend.NewAlert()
		_ = a.SetEntity("flap")
		if err := r.store.Store(context.Background(), a); err != nil {
			t.Fatalf("Store during flapping: %v", err)
		}
		acked = append(acked, a.ID())
		time.Sleep(time.Millisecond)
	}
	close(stop)
	<-flapped
	waitFor(t, 10*time.Second, "the backlog to drain", func() bool {
		n, _ := r.lower.Count(context.Background())
		return n == 0 && r.status().Active == "primary"
	})
	got := ids(t, r.inner)
	count := map[string]int{}
	for _, id := range got {
		count[id]++
	}
	lost, dup := 0, 0
	for _, id := range acked {
		switch count[id] {
		case 0:
			lost++
		case 1:
		default:
			dup++
		}
	}
	st := r.status()
	t.Logf("FIGURES: flapping(in-process) sent=%d acknowledged=%d present_once=%d lost=%d duplicated=%d fallbacks=%d probes=%d", len(acked), len(acked), len(acked)-lost-dup, lost, dup, st.Fallbacks, st.Tiers[0].Probes)
	if lost > 0 || dup > 0 || len(got) != len(acked) {
		t.Fatalf("%d acknowledged, primary holds %d: %d lost, %d doubled", len(acked), len(got), lost, dup)
	}
	_ = r.store.Close()
	waitFor(t, 2*time.Second, "goroutines to end", func() bool { return runtimeGoroutines() <= base })
}
