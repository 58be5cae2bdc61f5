package chain_test

// Container tests of the chain's cap rule (issue 14). They use only the
// exported API of package chain and of conformance/containers, and no
// helper of the other test files, so that they can move to the module of
// the container tests as they are. Run:
//
//	TESTCONTAINERS_RYUK_DISABLED=true ALERTSTORE_REQUIRE_DOCKER=1 \
//	ALERTSTORE_REDIS_IMAGE=alertstore-offline/redis:8.0 go test -race -run 'TestCapFault' -v ./backends/chain/
//
// ALERTSTORE_CHAIN_SEEDS=N runs N seeds of the randomized test instead of
// the default 6; ALERTSTORE_CHAIN_SEED=S runs seed S alone.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	_ "github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
	_ "github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/conformance/containers"
	"github.com/apt-detection/alertstore/registry"
)

func capFaultRedis(t *testing.T) *containers.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Redis container")
	}
	spec, ok := containers.Lookup(containers.NameRedis8)
	if !ok {
		t.Fatal("no redis-8.0 in the container matrix")
	}
	return containers.StartServer(context.Background(), t, spec, containers.WithAOF())
}

// capFaultList reads <prefix>alerts as the dashboard does (LRANGE 0 -1)
// and counts each alert id.
func capFaultList(t *testing.T, srv *containers.Server, prefix string) (map[string]int, int) {
	t.Helper()
	v, err := srv.Do(context.Background(), "LRANGE", prefix+"alerts", "0", "-1")
	if err != nil {
		t.Fatal(err)
	}
	items, _ := v.([]any)
	count := map[string]int{}
	for _, it := range items {
		s, _ := it.(string)
		a, err := backend.ParseAlert([]byte(s))
		if err != nil {
			t.Fatalf("Redis holds an entry that is not an alert: %v", err)
		}
		count[a.ID()]++
	}
	return count, len(items)
}

// capFaultWriters stores total alerts from n goroutines and records what
// was acknowledged; every alert's id is given before the call.
type capFaultWriters struct {
	mu     sync.Mutex
	acked  []string
	sent   []string
	failed atomic.Int64
	n      atomic.Int64
}

func (w *capFaultWriters) run(s *backend.Store, n, total int) {
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			for {
				i := w.n.Add(1)
				if i > int64(total) {
					return
				}
				a := backend.NewAlert()
				_ = a.SetEntity(fmt.Sprintf("w%d-%d", g, i))
				_ = a.SetSeverity(backend.SeverityHigh)
				err := s.Store(context.Background(), a)
				w.mu.Lock()
				w.sent = append(w.sent, a.ID())
				if err == nil {
					w.acked = append(w.acked, a.ID())
				}
				w.mu.Unlock()
				if err != nil {
					w.failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
}

func (w *capFaultWriters) ackedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func capFaultWait(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func capFaultDrained(s *backend.Store) bool {
	st, _ := chain.StatusOf(s)
	return st.Active == "redis" && st.Backlog == 0 && !st.Replaying
}

// Issue 14, end to end: four writers, 6,000 alerts, the chain's cap unset
// and both tiers at max_alerts=1000000; Redis SIGKILLed (restarted after
// 1.5s), later stopped gracefully (restarted after 1s). Every acknowledged
// alert ends in Redis exactly once, none dropped.
func TestCapFaultIssue14(t *testing.T) {
	srv := capFaultRedis(t)
	ctx := context.Background()
	prefix := "issue14:"
	boltPath := filepath.Join(t.TempDir(), "local.db")
	dsn := chain.FormatDSN("redis://"+srv.Addr()+"/0?max_alerts=1000000&prefix="+prefix, "bolt://"+boltPath+"?max_alerts=1000000&prefix="+prefix) +
		"&tier_timeout=300ms&probe_interval=100ms&probe_max=1s"
	s, err := registry.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Config().MaxAlerts; got != 1_000_000 {
		t.Fatalf("the chain's effective max_alerts = %d, want the first tier's 1000000", got)
	}
	const total = 6000
	w := &capFaultWriters{}
	done := make(chan struct{})
	go func() { defer close(done); w.run(s, 4, total) }()

	capFaultWait(t, 60*time.Second, "1,000 acknowledged", func() bool { return w.ackedCount() >= 1000 })
	if err := srv.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	capFaultWait(t, 60*time.Second, "3,500 acknowledged", func() bool { return w.ackedCount() >= 3500 })
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
	capFaultWait(t, 60*time.Second, "an empty backlog on Redis", func() bool { return capFaultDrained(s) })
	st, _ := chain.StatusOf(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	count, n := capFaultList(t, srv, prefix)
	lost, dup := 0, 0
	for _, id := range w.acked {
		switch count[id] {
		case 0:
			lost++
		case 1:
		default:
			dup++
		}
	}
	t.Logf("FIGURES: issue14 sent=%d acknowledged=%d in_redis=%d lost=%d duplicated=%d failed_calls=%d fallbacks=%d replayed=%d deduplicated=%d dropped_for_cap=%d",
		len(w.sent), len(w.acked), n, lost, dup, w.failed.Load(), st.Fallbacks, st.Replayed, st.Deduplicated, st.DroppedForCap)
	if len(w.acked) != total || n != total || lost != 0 || dup != 0 || st.DroppedForCap != 0 {
		t.Fatalf("%d of %d acknowledged, Redis holds %d: %d lost, %d duplicated, %d dropped for cap; want all %d once", len(w.acked), total, n, lost, dup, st.DroppedForCap, total)
	}
}

// capCase is one randomized configuration: max_alerts on the chain and
// on each tier, 0 for unset.
type capCase struct {
	chain, top, lower int
}

// expect is the rule (package doc, "Shared parameters") written again,
// independently: the first tier's cap, or why the chain must refuse.
func (c capCase) expect() (top int, refusal string) {
	for _, v := range []int{c.top, c.lower} {
		if c.chain > 0 && v > 0 && v != c.chain {
			return 0, "on the chain but"
		}
	}
	eff := c.chain
	if eff == 0 {
		eff = c.top
	}
	if eff == 0 {
		eff = backend.DefaultMaxAlerts
	}
	top, lower := eff, eff
	if c.top > 0 {
		top = c.top
	}
	if c.lower > 0 {
		lower = c.lower
	}
	if lower < top {
		return 0, "below the first tier's"
	}
	return top, ""
}

func capFaultSeeds(t *testing.T) []uint64 {
	if s := os.Getenv("ALERTSTORE_CHAIN_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("ALERTSTORE_CHAIN_SEED=%q: %v", s, err)
		}
		return []uint64{v}
	}
	n := 6
	if s := os.Getenv("ALERTSTORE_CHAIN_SEEDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("ALERTSTORE_CHAIN_SEEDS=%q: want a count", s)
		}
		n = v
	}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	return seeds
}

// The randomized fault test: per seed, random caps on the chain and its
// tiers (configurations the rule refuses must be refused at open, and are
// drawn again), several writers, random faults on Redis (kill, stop,
// pause, flap). After recovery:
//
//   - nothing is left in the local tier and no alert is in Redis twice;
//   - every drop was logged (one record per alert) and counted, the
//     dropped alert is not in Redis, and it had at least the first tier's
//     cap of newer alerts (by the time in their ids);
//   - when the first tier's cap holds every alert, every acknowledged
//     alert is in Redis and nothing was dropped;
//   - otherwise an acknowledged alert missing from Redis and not dropped
//     was trimmed by Redis's own cap: Redis is full. How many of those had
//     fewer than the cap of newer alerts by time (Redis trims by append
//     order, which a replay running beside live writes makes differ from
//     time order) is reported as trimmed_out_of_time_order.
func TestCapFaultRandomized(t *testing.T) {
	srv := capFaultRedis(t)
	caps := []int{0, 0, 300, 1000, 2500, 1_000_000}
	for _, seed := range capFaultSeeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("seed %d (rerun with ALERTSTORE_CHAIN_SEED=%d)", seed, seed)
			rng := rand.New(rand.NewPCG(seed, 14))
			prefix := fmt.Sprintf("capfault%d:", seed)
			boltPath := filepath.Join(t.TempDir(), "local.db")
			ctx := context.Background()
			var (
				drv  backend.Driver
				c    capCase
				top  int
				logs = &capFaultLog{}
			)
			refused := 0
			for drv == nil {
				c = capCase{caps[rng.IntN(len(caps))], caps[rng.IntN(len(caps))], caps[rng.IntN(len(caps))]}
				q := func(n int) string {
					if n == 0 {
						return "prefix=" + prefix
					}
					return fmt.Sprintf("prefix=%s&max_alerts=%d", prefix, n)
				}
				tiers := []chain.Tier{{DSN: "redis://" + srv.Addr() + "/0?" + q(c.top)}, {DSN: bolt.DSNFor(boltPath) + "?" + q(c.lower)}}
				opts := &chain.Options{MaxAlerts: c.chain, TierTimeout: 300 * time.Millisecond, ProbeInterval: 100 * time.Millisecond, ProbeMax: time.Second, Logger: slog.New(logs)}
				var refusal string
				top, refusal = c.expect()
				d, err := chain.New(ctx, tiers, opts)
				switch {
				case refusal != "":
					if err == nil {
						_ = d.Close()
						t.Fatalf("caps %+v opened; want refused (%s)", c, refusal)
					}
					if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), refusal) {
						t.Fatalf("caps %+v: %v; want ErrInvalidConfig saying %q", c, err, refusal)
					}
					refused++
				case err != nil:
					t.Fatalf("caps %+v: %v", c, err)
				default:
					drv = d
				}
			}
			cfg := drv.(interface {
				EffectiveConfig(backend.Config) backend.Config
			}).EffectiveConfig(backend.Config{Timeout: 5 * time.Second})
			if cfg.MaxAlerts != top {
				t.Fatalf("caps %+v: effective max_alerts %d, want %d", c, cfg.MaxAlerts, top)
			}
			s := backend.NewStore(drv, chain.Scheme, cfg)
			defer s.Close()

			total := 1500 + rng.IntN(1500)
			writers := 2 + rng.IntN(3)
			w := &capFaultWriters{}
			done := make(chan struct{})
			go func() { defer close(done); w.run(s, writers, total) }()
			var faults []string
			at := 0
			for range 2 + rng.IntN(2) {
				at += 200 + rng.IntN(total/4)
				if at >= total-100 {
					break
				}
				capFaultWait(t, 60*time.Second, fmt.Sprintf("%d acknowledged", at), func() bool { return w.ackedCount() >= at })
				d := time.Duration(300+rng.IntN(1200)) * time.Millisecond
				kind := []string{"kill", "stop", "pause", "flap"}[rng.IntN(4)]
				faults = append(faults, fmt.Sprintf("%s@%d/%s", kind, at, d))
				capFaultInject(t, srv, kind, d)
			}
			<-done
			capFaultWait(t, 90*time.Second, "an empty backlog on Redis", func() bool { return capFaultDrained(s) })
			st, _ := chain.StatusOf(s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			count, n := capFaultList(t, srv, prefix)
			sent := slices.Clone(w.sent)
			slices.Sort(sent) // UUIDv7 text order is time order
			newer := func(id string) int { i, _ := slices.BinarySearch(sent, id); return len(sent) - i - 1 }
			dropped := logs.ids()
			var missing, dup, outOfOrder, droppedPresent, droppedYoung int
			isDropped := map[string]bool{}
			for _, id := range dropped {
				isDropped[id] = true
				if count[id] > 0 {
					droppedPresent++
				}
				if newer(id) < top {
					droppedYoung++
				}
			}
			for id, k := range count {
				if k > 1 {
					dup++
				}
				if _, found := slices.BinarySearch(sent, id); !found {
					t.Errorf("Redis holds %s, which no writer sent", id)
				}
			}
			for _, id := range w.acked {
				if count[id] == 0 && !isDropped[id] {
					missing++
					if newer(id) < top {
						outOfOrder++
					}
				}
			}
			t.Logf("FIGURES: seed=%d caps(chain,redis,bolt)=%d,%d,%d first_tier_cap=%d refused_configs=%d writers=%d sent=%d acknowledged=%d failed_calls=%d faults=%v in_redis=%d dropped=%d dropped_for_cap=%d trimmed_by_redis=%d trimmed_out_of_time_order=%d duplicated=%d replayed=%d deduplicated=%d",
				seed, c.chain, c.top, c.lower, top, refused, writers, len(w.sent), len(w.acked), w.failed.Load(), faults, n, len(dropped), st.DroppedForCap, missing, outOfOrder, dup, st.Replayed, st.Deduplicated)
			if dup > 0 {
				t.Errorf("%d alerts are in Redis more than once", dup)
			}
			if uint64(len(dropped)) != st.DroppedForCap {
				t.Errorf("%d drop records, dropped_for_cap=%d: a drop went unlogged", len(dropped), st.DroppedForCap)
			}
			if droppedPresent > 0 {
				t.Errorf("%d alerts reported dropped are in Redis: a drop record must mean a loss", droppedPresent)
			}
			if droppedYoung > 0 {
				t.Errorf("%d drops were not justified: fewer than %d alerts newer than each were ever sent", droppedYoung, top)
			}
			if top >= len(w.sent) {
				if missing > 0 || len(dropped) > 0 {
					t.Errorf("the first tier holds %d, all %d alerts fit: %d acknowledged alerts missing, %d dropped", top, len(w.sent), missing, len(dropped))
				}
			} else if missing > 0 && n != top {
				t.Errorf("%d acknowledged alerts missing but Redis holds %d, below its cap %d: they were not trimmed by it", missing, n, top)
			}
		})
	}
}

// capFaultInject runs one fault on Redis and returns with it up again.
func capFaultInject(t *testing.T, srv *containers.Server, kind string, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
	}
	switch kind {
	case "kill":
		must(srv.Kill(ctx))
		time.Sleep(d)
		must(srv.Start(ctx))
	case "stop":
		must(srv.Stop(ctx))
		time.Sleep(d)
		must(srv.Start(ctx))
	case "pause":
		must(srv.Pause(ctx))
		time.Sleep(d)
		must(srv.Unpause(ctx))
	case "flap":
		for range 3 {
			must(srv.Stop(ctx))
			time.Sleep(d / 3)
			must(srv.Start(ctx))
			time.Sleep(d / 3)
		}
	}
}

// capFaultLog collects the ids of the chain's drop records.
type capFaultLog struct {
	mu  sync.Mutex
	dup []string
}

func (l *capFaultLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *capFaultLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *capFaultLog) WithGroup(string) slog.Handler            { return l }
func (l *capFaultLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != chain.DropMessage {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "id" {
			l.mu.Lock()
			l.dup = append(l.dup, a.Value.String())
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

func (l *capFaultLog) ids() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.dup)
}
