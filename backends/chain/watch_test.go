package chain_test

import (
	"context"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// Watch goes on across a fallback and a recovery: the alerts written to
// bolt while the primary is down are delivered, and when replay writes
// them to the primary again (which announces them again) they are not
// delivered twice.
func TestWatchAcrossFallbackAndRecovery(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	w, err := r.store.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	want := r.storeN("up", 3)
	r.primary.set(down) // also drops the primary's subscription
	want = append(want, r.storeN("down", 3)...)
	r.primary.set(up)
	waitFor(t, 5*time.Second, "recovery and replay", func() bool {
		st := r.status()
		return st.Active == "primary" && st.Backlog == 0 && st.Replayed == 3
	})
	want = append(want, r.storeN("back", 3)...)

	var got []string
	for len(got) < len(want) {
		nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		a, err := w.Next(nctx)
		cancel()
		if err != nil {
			t.Fatalf("Next after %d of %d: %v", len(got), len(want), err)
		}
		got = append(got, a.ID())
	}
	if !equal(got, want) {
		t.Fatalf("watch delivered %v,\nwant %v", got, want)
	}
	nctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if a, err := w.Next(nctx); err == nil {
		t.Fatalf("watch delivered %s (%s) again: a replayed alert was not de-duplicated", a.ID(), a.Entity())
	}
}

// A watcher opened while the primary is down gets the primary's alerts
// once it recovers (its subscription is made by the recovery).
func TestWatchStartedWhileDown(t *testing.T) {
	r := newRig(t, nil)
	r.primary.set(down)
	r.storeN("down", 1)
	ctx := context.Background()
	w, err := r.store.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.primary.set(up)
	waitFor(t, 5*time.Second, "recovery", func() bool { return r.status().Active == "primary" && r.status().Backlog == 0 })
	want := r.storeN("up", 2)
	for i := range want {
		nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		a, err := w.Next(nctx)
		cancel()
		if err != nil || a.ID() != want[i] {
			t.Fatalf("Next = %v, %v; want %s", a, err, want[i])
		}
	}
	_ = backend.ErrLagged
}

// A forged entry that carries a real alert's id, written to a tier first
// by someone with raw access, must not hide the real alert from watchers:
// both copies are delivered (List shows and flags both the same way).
func TestWatchForgedSameIDDoesNotHideTheAlert(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	w, err := r.store.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	real := backend.NewAlert()
	if err := real.SetEntity("victim-host"); err != nil {
		t.Fatal(err)
	}
	if err := real.SetID("0190a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b"); err != nil {
		t.Fatal(err)
	}
	forged := []byte(`{"id":"0190a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b","timestamp":"2025-03-01T12:00:00","entity":"decoy","severity":"Low"}`)
	if err := r.inner.Append(ctx, [][]byte{forged}); err != nil {
		t.Fatal(err)
	}
	next := func(what string) *backend.Alert {
		t.Helper()
		nctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		a, err := w.Next(nctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		return a
	}
	if a := next("the forged entry"); a.Entity() != "decoy" {
		t.Fatalf("first delivery is %q, want the forged decoy", a.Entity())
	}
	if err := r.store.Store(ctx, real); err != nil {
		t.Fatal(err)
	}
	if a := next("the real alert with the same id"); a.Entity() != "victim-host" {
		t.Fatalf("second delivery is %q, want the real alert", a.Entity())
	}
}
