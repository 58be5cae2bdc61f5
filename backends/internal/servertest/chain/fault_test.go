package chain_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
	_ "github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/conformance/containers"
	"github.com/apt-detection/alertstore/registry"
)

// The fault tests run chain(redis -> bolt) against a real Redis server in
// a container (host networking: a restarted server keeps its address), with
// AOF and appendfsync always, so that what Redis acknowledged survives its
// own SIGKILL and the tests measure the chain, not Redis's persistence
// settings. They skip without Docker, or fail with ALERTSTORE_REQUIRE_DOCKER=1:
//
//	ALERTSTORE_REQUIRE_DOCKER=1 \
//	go test -race -run Fault -v ./backends/internal/servertest/chain/
//
// Each logs one FIGURES: line.

// faultParams are the chain's knobs in these tests: a fallback within
// half a second, probes from 100ms to 1s.
const faultParams = "&max_alerts=100000&tier_timeout=500ms&timeout=5s&probe_interval=100ms&probe_max=1s"

type faultRig struct {
	t      *testing.T
	redis  *containers.Server
	prefix string
	bolt   string
	dsn    string
}

func newFaultRig(t *testing.T) *faultRig {
	if testing.Short() {
		t.Skip("starts a Redis container")
	}
	spec, ok := containers.Lookup(containers.NameRedis8)
	if !ok {
		t.Fatal("no redis-8.0 in the container matrix")
	}
	srv := containers.StartServer(context.Background(), t, spec, containers.WithAOF())
	r := &faultRig{
		t:      t,
		redis:  srv,
		prefix: "fault-" + strings.ToLower(strings.TrimPrefix(t.Name(), "TestFault")) + ":",
		bolt:   filepath.Join(t.TempDir(), "local.db"),
	}
	r.dsn = chain.FormatDSN("redis://"+srv.Addr()+"/0", "bolt://"+r.bolt) + "&prefix=" + r.prefix + faultParams
	return r
}

func (r *faultRig) open(extra string) *backend.Store {
	r.t.Helper()
	s, err := registry.Open(context.Background(), r.dsn+extra)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// outcome compares what was acknowledged with what Redis and the local
// tier hold once the chain is closed.
type outcome struct {
	sent, acked, once, lost, dup, inRedis int
	leftLocal                             int64
}

func (r *faultRig) check(sent int, acked []string) outcome {
	r.t.Helper()
	ctx := context.Background()
	// Read the list the way the dashboard does (LRANGE of <prefix>alerts),
	// not through the backend under test.
	rdb := redis.NewClient(&redis.Options{Addr: r.redis.Addr(), MaxRetries: -1})
	defer rdb.Close()
	items, err := rdb.LRange(ctx, r.prefix+"alerts", 0, -1).Result()
	if err != nil {
		r.t.Fatal(err)
	}
	count := map[string]int{}
	for _, it := range items {
		a, err := backend.ParseAlert([]byte(it))
		if err != nil {
			r.t.Fatalf("Redis holds an entry that is not an alert: %v", err)
		}
		count[a.ID()]++
	}
	o := outcome{sent: sent, acked: len(acked), inRedis: len(items)}
	for _, id := range acked {
		switch count[id] {
		case 0:
			o.lost++
		case 1:
			o.once++
		default:
			o.dup++
		}
	}
	l, err := bolt.Open(ctx, r.bolt, backend.Config{Prefix: r.prefix, MaxAlerts: 100_000}, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	defer l.Close()
	o.leftLocal, _ = l.Count(ctx)
	return o
}

func (o outcome) fail(t *testing.T) {
	t.Helper()
	if o.lost > 0 || o.dup > 0 || o.leftLocal != 0 {
		t.Fatalf("%d acknowledged: %d lost, %d duplicated in Redis, %d left in the local tier", o.acked, o.lost, o.dup, o.leftLocal)
	}
}

// waitDrained waits for an empty backlog after a recovery and returns how
// long it took.
func waitDrained(t *testing.T, s *backend.Store, from time.Time, within time.Duration) time.Duration {
	t.Helper()
	waitFor(t, within, "the chain to be back on Redis with an empty backlog", func() bool {
		st, _ := chain.StatusOf(s)
		return st.Active == "redis" && st.Backlog == 0 && !st.Replaying
	})
	return time.Since(from)
}

// writer stores alerts through s from n goroutines until stop is closed or
// total alerts were sent, recording the acknowledged ids and the slowest
// call.
type writer struct {
	mu      sync.Mutex
	acked   []string
	sent    atomic.Int64
	failed  atomic.Int64
	slowest atomic.Int64 // ns
	errs    []string     // the first failures, for the log
}

func (w *writer) run(s *backend.Store, n, total int, stop <-chan struct{}) {
	w.runPaced(s, n, total, 0, stop)
}

// runPaced is run with a pause between a goroutine's calls.
func (w *writer) runPaced(s *backend.Store, n, total int, pause time.Duration, stop <-chan struct{}) {
	var wg sync.WaitGroup
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := w.sent.Add(1)
				if total > 0 && i > int64(total) {
					w.sent.Add(-1)
					return
				}
				a := backend.NewAlert()
				_ = a.SetEntity(fmt.Sprintf("w%d-%d", g, i))
				_ = a.SetSeverity(backend.SeverityHigh)
				start := time.Now()
				err := s.Store(context.Background(), a)
				if d := int64(time.Since(start)); d > w.slowest.Load() {
					w.slowest.Store(d)
				}
				if err != nil {
					if w.failed.Add(1) <= 3 {
						w.mu.Lock()
						w.errs = append(w.errs, fmt.Sprintf("after %s: %v", time.Since(start).Round(time.Millisecond), err))
						w.mu.Unlock()
					}
					continue
				}
				w.mu.Lock()
				w.acked = append(w.acked, a.ID())
				w.mu.Unlock()
				if pause > 0 {
					time.Sleep(pause)
				}
			}
		}(g)
	}
	wg.Wait()
}

func (w *writer) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// SIGKILL the Redis container in the middle of a stream of 10,000 alerts,
// start it again: every acknowledged alert ends in Redis exactly once and
// none is left in the local tier.
func TestFaultRedisKilledMidStream(t *testing.T) {
	r := newFaultRig(t)
	ctx := context.Background()
	s := r.open("")
	defer s.Close()
	w := &writer{}
	done := make(chan struct{})
	go func() { defer close(done); w.run(s, 4, 10_000, nil) }()

	waitFor(t, 60*time.Second, "3,000 acknowledged alerts", func() bool { return w.count() >= 3000 })
	if err := r.redis.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	killedAt := w.count()
	waitFor(t, 60*time.Second, "3,000 alerts more (on the local tier)", func() bool { return w.count() >= killedAt+3000 })
	if err := r.redis.Start(ctx); err != nil {
		t.Fatal(err)
	}
	recovered := time.Now()
	<-done
	drained := waitDrained(t, s, recovered, 60*time.Second)
	st, _ := chain.StatusOf(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	o := r.check(int(w.sent.Load()), w.acked)
	t.Logf("FIGURES: redis-sigkill-mid-stream sent=%d acknowledged=%d present_once=%d lost=%d duplicated=%d left_in_local=%d failed_calls=%d killed_at_ack=%d fallbacks=%d replayed=%d deduplicated=%d recovery_to_empty_backlog=%s",
		o.sent, o.acked, o.once, o.lost, o.dup, o.leftLocal, w.failed.Load(), killedAt, st.Fallbacks, st.Replayed, st.Deduplicated, drained.Round(time.Millisecond))
	if o.sent != 10_000 || o.acked != 10_000 {
		t.Errorf("sent %d, acknowledged %d: the chain refused alerts although the local tier was up", o.sent, o.acked)
	}
	o.fail(t)
}

// Freeze Redis (docker pause) for longer than the deadline: the chain falls
// back within tier_timeout, and after the unpause nothing is lost (the
// writes Redis ran late are not stored twice by the replay).
func TestFaultPauseFallsBackWithinDeadline(t *testing.T) {
	r := newFaultRig(t)
	ctx := context.Background()
	s := r.open("")
	defer s.Close()
	w := &writer{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); w.run(s, 2, 0, stop) }()

	waitFor(t, 30*time.Second, "500 acknowledged alerts", func() bool { return w.count() >= 500 })
	w.slowest.Store(0)
	if err := r.redis.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	waitFor(t, 5*time.Second, "the fallback", func() bool { st, _ := chain.StatusOf(s); return st.Active == "bolt" })
	fellBack := time.Since(paused)
	time.Sleep(3 * time.Second) // six times the deadline
	slowest := time.Duration(w.slowest.Load())
	if err := r.redis.Unpause(ctx); err != nil {
		t.Fatal(err)
	}
	unpaused := time.Now()
	time.Sleep(time.Second)
	close(stop)
	<-done
	drained := waitDrained(t, s, unpaused, 60*time.Second)
	st, _ := chain.StatusOf(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	o := r.check(int(w.sent.Load()), w.acked)
	t.Logf("FIGURES: redis-paused-3s sent=%d acknowledged=%d present_once=%d lost=%d duplicated=%d left_in_local=%d failed_calls=%d fallback_after=%s slowest_call_while_paused=%s deduplicated=%d recovery_to_empty_backlog=%s",
		o.sent, o.acked, o.once, o.lost, o.dup, o.leftLocal, w.failed.Load(), fellBack.Round(time.Millisecond), slowest.Round(time.Millisecond), st.Deduplicated, drained.Round(time.Millisecond))
	// One tier_timeout (500ms) for the call that finds Redis frozen, plus
	// the fsync of the local write; never the 5s call timeout.
	if slowest > 1500*time.Millisecond {
		t.Errorf("a call took %s while Redis was frozen: the fallback did not happen within the 500ms tier deadline", slowest)
	}
	if w.failed.Load() > 0 {
		t.Errorf("%d calls failed although the local tier was up", w.failed.Load())
	}
	o.fail(t)
}

// The child process of TestFaultChildKilledWhileRedisDown: it writes
// through the chain (Redis stopped) and prints each acknowledged id, or
// replays and prints its progress; the parent SIGKILLs it.
const (
	envFaultChild = "ALERTSTORE_CHAIN_FAULT_CHILD"
	envFaultDSN   = "ALERTSTORE_CHAIN_FAULT_DSN"
)

func TestFaultChild(t *testing.T) {
	role := os.Getenv(envFaultChild)
	if role == "" {
		t.Skip("only runs as the child of TestFaultChildKilledWhileRedisDown")
	}
	ctx := context.Background()
	s, err := registry.Open(ctx, os.Getenv(envFaultDSN))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	switch role {
	case "write":
		for i := 0; ; i++ {
			a := backend.NewAlert()
			_ = a.SetEntity(fmt.Sprintf("child-%05d", i))
			if err := s.Store(ctx, a); err != nil {
				fmt.Println("ERR", err)
				os.Exit(2)
			}
			fmt.Println("ACK", a.ID())
		}
	case "replay":
		for {
			st, _ := chain.StatusOf(s)
			fmt.Println("REPLAYED", st.Replayed)
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// Kill our own process (a child writing through the chain) while Redis is
// down; start Redis; kill a second process in the middle of replaying;
// a third finishes: every alert the first acknowledged is in Redis once.
func TestFaultChildKilledWhileRedisDown(t *testing.T) {
	r := newFaultRig(t)
	ctx := context.Background()
	if err := r.redis.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	child := func(role, extra string, line func(string) bool) {
		t.Helper()
		reexec(t, "TestFaultChild", []string{envFaultChild + "=" + role, envFaultDSN + "=" + r.dsn + extra}, line)
	}
	acked := map[string]bool{}
	var order []string
	child("write", "", func(l string) bool {
		if id, ok := strings.CutPrefix(l, "ACK "); ok && !acked[id] {
			acked[id] = true
			order = append(order, id)
		}
		return len(acked) >= 2000
	})
	if err := r.redis.Start(ctx); err != nil {
		t.Fatal(err)
	}
	recovered := time.Now()
	var replayedAtKill uint64
	child("replay", "&replay_batch=10", func(l string) bool {
		n, _ := strconv.ParseUint(strings.TrimPrefix(l, "REPLAYED "), 10, 64)
		replayedAtKill = max(replayedAtKill, n)
		return n >= 500
	})
	s := r.open("")
	drained := waitDrained(t, s, recovered, 60*time.Second)
	st, _ := chain.StatusOf(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	o := r.check(len(order), order)
	t.Logf("FIGURES: child-killed-while-redis-down sent>=%d acknowledged=%d present_once=%d lost=%d duplicated=%d left_in_local=%d replayed_by_killed_replayer=%d deduplicated_after_restart=%d recovery_to_empty_backlog=%s (includes two process starts and one kill)",
		o.sent, o.acked, o.once, o.lost, o.dup, o.leftLocal, replayedAtKill, st.Deduplicated, drained.Round(time.Millisecond))
	o.fail(t)
}

// A flapping primary (stopped and started every 2s for 30s) under a
// stream of alerts: nothing lost or doubled, no goroutine or connection
// growth, and reconnect attempts (probes) rate-limited.
func TestFaultFlappingPrimary(t *testing.T) {
	r := newFaultRig(t)
	ctx := context.Background()
	base := runtime.NumGoroutine()
	s := r.open("")
	w := &writer{}
	stop := make(chan struct{})
	done := make(chan struct{})
	// At most 1,000 alerts/s, so that 30s stay well under max_alerts.
	go func() { defer close(done); w.runPaced(s, 2, 0, 2*time.Millisecond, stop) }()

	// Toggle on a fixed schedule (every 2s from the start, whatever a
	// docker stop or start takes), for 30s, ending with the server up.
	var goroutines []int
	start := time.Now()
	running := true
	for tick := 1; tick <= 15; tick++ {
		time.Sleep(time.Until(start.Add(time.Duration(tick) * 2 * time.Second)))
		var err error
		if running {
			err = r.redis.Stop(ctx)
		} else {
			err = r.redis.Start(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		running = !running
		goroutines = append(goroutines, runtime.NumGoroutine())
	}
	if !running {
		if err := r.redis.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	flapped := time.Since(start)
	recovered := time.Now()
	time.Sleep(time.Second)
	close(stop)
	<-done
	drained := waitDrained(t, s, recovered, 60*time.Second)
	st, _ := chain.StatusOf(s)
	clients, _ := r.redis.CLI(ctx, "INFO", "clients")
	connected := infoField(clients, "connected_clients")
	statsOut, _ := r.redis.CLI(ctx, "INFO", "stats")
	received := infoField(statsOut, "total_connections_received")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	after := runtime.NumGoroutine()
	checkStart := time.Now()
	o := r.check(int(w.sent.Load()), w.acked)
	t.Logf("flapping took %s, checking %s; first failures: %q", flapped.Round(time.Millisecond), time.Since(checkStart).Round(time.Millisecond), w.errs)
	t.Logf("FIGURES: flapping-2s-for-30s sent=%d acknowledged=%d present_once=%d lost=%d duplicated=%d left_in_local=%d failed_calls=%d fallbacks=%d probes=%d redis_connections_received_since_last_start=%s connected_clients_at_end=%s goroutines_before=%d per_cycle=%v after_close=%d recovery_to_empty_backlog=%s",
		o.sent, o.acked, o.once, o.lost, o.dup, o.leftLocal, w.failed.Load(), st.Fallbacks, st.Tiers[0].Probes, received, connected, base, goroutines, after, drained.Round(time.Millisecond))
	o.fail(t)
	// Probes: at most one per probe_interval/2 (100ms, jittered) while
	// down (15s of 30), far fewer with the backoff; a reconnect storm would
	// be thousands.
	if st.Tiers[0].Probes > 300 {
		t.Errorf("%d probes in 30s of flapping: not rate-limited", st.Tiers[0].Probes)
	}
	// Goroutines: no growth from cycle to cycle, and back to the start
	// after Close (a few may be the Docker client's idle connections).
	first, last := goroutines[0], goroutines[len(goroutines)-1]
	if last > first+10 {
		t.Errorf("goroutines grew from %d to %d over the flapping", first, last)
	}
	if after > base+5 {
		t.Errorf("%d goroutines after Close, %d before the chain opened", after, base)
	}
	if n, err := strconv.Atoi(connected); err == nil && n > 2*runtime.GOMAXPROCS(0)*10+2 {
		t.Errorf("%d clients connected to Redis: connections grew past the pool", n)
	}
}

func infoField(info, field string) string {
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), field+":"); ok {
			return v
		}
	}
	return "?"
}
