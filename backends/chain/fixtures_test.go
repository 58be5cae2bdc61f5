package chain_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
)

// rig is a two-tier chain for behaviour tests: a flaky primary over a
// private memory driver, and a bolt file below it.
type rig struct {
	t       *testing.T
	cfg     backend.Config
	primary *flaky
	inner   backend.Driver // what the primary really holds
	lower   backend.Driver
	drv     backend.Driver
	store   *backend.Store
}

func fastOptions(cfg backend.Config) *chain.Options {
	return &chain.Options{
		MaxAlerts:     cfg.MaxAlerts,
		TierTimeout:   300 * time.Millisecond,
		ProbeInterval: 20 * time.Millisecond,
		ProbeMax:      100 * time.Millisecond,
	}
}

func newRig(t *testing.T, opts *chain.Options) *rig {
	t.Helper()
	cfg := backend.Config{Prefix: "t:", MaxAlerts: 10_000, Timeout: 5 * time.Second}
	if opts == nil {
		opts = fastOptions(cfg)
	}
	inner := memory.Open("", cfg, nil)
	lower, err := bolt.Open(context.Background(), filepath.Join(t.TempDir(), "lower.db"), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, cfg: cfg, inner: inner, lower: lower, primary: newFlaky(inner, redisLike, up)}
	r.drv, err = chain.New(context.Background(), []chain.Tier{{Name: "primary", Driver: r.primary}, {Name: "bolt", Driver: lower}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	r.store = backend.NewStore(r.drv, chain.Scheme, cfg)
	t.Cleanup(func() { _ = r.store.Close() })
	return r
}

func (r *rig) status() chain.Status {
	st, ok := chain.StatusOf(r.store)
	if !ok {
		r.t.Fatal("StatusOf: not a chain")
	}
	return st
}

// store stores n alerts named prefix000.. one by one and returns their ids.
func (r *rig) storeN(prefix string, n int) []string {
	r.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		a := backend.NewAlert()
		_ = a.SetEntity(fmt.Sprintf("%s%03d", prefix, i))
		if err := r.store.Store(context.Background(), a); err != nil {
			r.t.Fatalf("Store %s%03d: %v", prefix, i, err)
		}
		ids[i] = a.ID()
	}
	return ids
}

// ids returns the ids a driver holds, oldest first.
func ids(t *testing.T, d backend.Driver) []string {
	t.Helper()
	var out []string
	before := int64(0)
	for {
		es, err := d.Scan(context.Background(), before, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			a, err := backend.ParseAlert(e.Data)
			if err != nil {
				t.Fatalf("stored entry is not an alert: %v", err)
			}
			out = append([]string{a.ID()}, out...)
		}
		if len(es) < 1000 {
			return out
		}
		before = es[len(es)-1].Pos
	}
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func runtimeGoroutines() int { return runtime.NumGoroutine() }

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
