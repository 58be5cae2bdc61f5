package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/backends/valkeygo"
	"github.com/apt-detection/alertstore/conformance/containers"
	"github.com/apt-detection/alertstore/internal/hashslot"
	"github.com/apt-detection/alertstore/registry"
)

// The fault tests run streams of alerts, each from several writers, while
// a fault hits the master of the streams' hash slot, then count, straight
// from the slot's master after the cluster is whole again, what was
// acknowledged, lost and duplicated. Each fault runs `runs` times
// (ALERTSTORE_CLUSTER_RUNS, default 3; 1 with -short) on one cluster of
// the target's own, and logs a FIGURES line per run and stream and a
// summary (median and max) per fault and stream. Time is reported, never
// asserted, except the generous bound in which writes must resume.
//
// Two streams run side by side, on prefixes whose lists share one slot
// (so one master holds both): min_replicas=1, which must lose nothing it
// acknowledged when the master crashes or freezes, and min_replicas=0,
// whose loss is measured. A write that fails is retried, same alert and
// id, as the documentation tells callers to.
//
// To keep CI within its budget the faults run on two targets: Redis 8.0
// with redis+cluster:// (go-redis) and Valkey 8.1 with valkey+cluster://
// (valkey-go); the conformance suite covers every server with both.

const (
	streamTimeout = time.Second
	streamWriters = 4
	streamPace    = 2 * time.Millisecond  // a writer's pause between acknowledged writes
	retryPause    = 20 * time.Millisecond // before retrying a failed write
	resumeBound   = 45 * time.Second      // "writes resume": within this
	settle        = time.Second           // writes kept going after recovery
	nodeTimeout   = 2 * time.Second       // cluster-node-timeout of the fault clusters
)

type faultTarget struct{ server, scheme string }

func (f faultTarget) String() string { return f.server + "/" + f.scheme }

var faultTargets = []faultTarget{
	{containers.NameRedis8, goredis.SchemeCluster},
	{containers.NameValkey, valkeygo.SchemeCluster},
}

func runs(t *testing.T) int {
	if s := os.Getenv("ALERTSTORE_CLUSTER_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("ALERTSTORE_CLUSTER_RUNS=%q: want a positive number", s)
		}
		return n
	}
	if testing.Short() {
		return 1
	}
	return 3
}

// forEachFaultTarget runs f per target whose server is in the matrix, in
// parallel, each on a cluster of its own (with AOF, so that the chain test
// can stop and start every node and find the data again).
func forEachFaultTarget(t *testing.T, f func(t *testing.T, fe *faultEnv)) {
	matrix := map[string]containers.ServerSpec{}
	for _, spec := range containers.Matrix() {
		matrix[spec.Name] = spec
	}
	for _, tg := range faultTargets {
		spec, ok := matrix[tg.server]
		if !ok {
			continue // not selected by ALERTSTORE_SERVERS
		}
		t.Run(tg.String(), func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t, 4*time.Minute)
			c := containers.StartCluster(ctx, t, spec,
				containers.WithNodeTimeout(nodeTimeout),
				containers.WithClusterServerOptions(containers.WithAOF()))
			f(t, &faultEnv{tg: tg, c: c, runs: runs(t)})
		})
	}
}

type faultEnv struct {
	tg   faultTarget
	c    *containers.Cluster
	runs int
}

func (f *faultEnv) ready(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

// prefixesInOneSlot returns n prefixes for name whose lists hash to the
// same slot.
func prefixesInOneSlot(name string, n int) []string {
	base := fmt.Sprintf("%s-%d:", name, time.Now().UnixNano()%1e9)
	out := []string{base}
	slot := hashslot.Of(base + "alerts")
	for i := 0; len(out) < n; i++ {
		p := fmt.Sprintf("%s%d:", base, i)
		if hashslot.Of(p+"alerts") == slot {
			out = append(out, p)
		}
	}
	return out
}

// stream writes alerts from streamWriters goroutines through one store.
type stream struct {
	label  string
	prefix string
	store  *backend.Store

	mu       sync.Mutex
	acks     []ack
	failures int
	lastErr  error

	stopCh chan struct{}
	wg     sync.WaitGroup
}

type ack struct {
	id         string
	start, end time.Time
}

const (
	labelWait   = "min_replicas=1"
	labelNoWait = "min_replicas=0"
)

// startStreams starts a min_replicas=1 and a min_replicas=0 stream whose
// lists share a slot, and returns them and that slot.
func (f *faultEnv) startStreams(t *testing.T, name string) ([]*stream, int) {
	t.Helper()
	prefixes := prefixesInOneSlot(name, 2)
	var out []*stream
	for i, label := range []string{labelWait, labelNoWait} {
		extra := "max_alerts=1000000&timeout=" + streamTimeout.String() + "&prefix=" + url.QueryEscape(prefixes[i])
		if label == labelWait {
			extra += "&min_replicas=1&replica_timeout=500ms"
		}
		s := &stream{label: label, prefix: prefixes[i], stopCh: make(chan struct{})}
		s.store = openStore(t, clusterDSN(f.tg.scheme, f.c, extra))
		for w := range streamWriters {
			s.wg.Add(1)
			go s.run(w)
		}
		t.Cleanup(s.stop)
		out = append(out, s)
	}
	return out, hashslot.Of(prefixes[0] + "alerts")
}

func openStore(t *testing.T, dsn string) *backend.Store {
	t.Helper()
	return openStoreCtx(context.Background(), t, dsn)
}

// openStoreCtx is openStore with the values of parent (a logger).
func openStoreCtx(parent context.Context, t *testing.T, dsn string) *backend.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(parent, 30*time.Second)
	defer cancel()
	s, err := registry.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", registry.RedactDSN(dsn), err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func (s *stream) run(w int) {
	defer s.wg.Done()
	for i := 0; ; i++ {
		a := backend.NewAlert()
		_ = a.SetEntity(fmt.Sprintf("%s-w%d-%06d", s.label, w, i))
		for {
			select {
			case <-s.stopCh:
				return
			default:
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 3*streamTimeout)
			err := s.store.Store(ctx, a)
			cancel()
			if err == nil {
				s.mu.Lock()
				s.acks = append(s.acks, ack{id: a.ID(), start: start, end: time.Now()})
				s.mu.Unlock()
				break
			}
			s.mu.Lock()
			s.failures++
			s.lastErr = err
			s.mu.Unlock()
			select {
			case <-s.stopCh:
				return
			case <-time.After(retryPause):
			}
		}
		select {
		case <-s.stopCh:
			return
		case <-time.After(streamPace):
		}
	}
}

func (s *stream) stop() {
	select {
	case <-s.stopCh:
	default:
		close(s.stopCh)
	}
	s.wg.Wait()
}

func (s *stream) firstAckAfter(t0 time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.acks {
		if !a.start.Before(t0) {
			return a.end.Sub(t0)
		}
	}
	return -1
}

func (s *stream) waitAckAfter(t *testing.T, t0 time.Time, what string) {
	t.Helper()
	for s.firstAckAfter(t0) < 0 {
		if time.Since(t0) > resumeBound {
			s.mu.Lock()
			err := s.lastErr
			s.mu.Unlock()
			t.Fatalf("%s: no write acknowledged within %s of %s (last error: %v)", s.label, resumeBound, what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func warmUp(t *testing.T, streams []*stream) {
	t.Helper()
	t0 := time.Now()
	for _, s := range streams {
		s.waitAckAfter(t, t0, "the start")
	}
	time.Sleep(500 * time.Millisecond)
}

// figure is one stream's outcome in one run.
type figure struct {
	ttfw     time.Duration // fault to the first acknowledged write started after it that survived
	gap      time.Duration // longest time without an acknowledgement
	acked    int
	lost     int // acknowledged, not in the list after recovery
	dup      int // extra copies in the list (an ambiguous write retried)
	failures int // failed Store calls (each retried)
}

// listIDs reads the list under prefix from the master of its slot, the way
// the old dashboard does (LRANGE, json), and counts each id.
func listIDs(ctx context.Context, c *containers.Cluster, prefix string) (map[string]int, error) {
	return listIDsOf(ctx, c, redislist.ClusterKeys(prefix).List)
}

// listIDsOf is listIDs of the list named key.
func listIDsOf(ctx context.Context, c *containers.Cluster, key string) (map[string]int, error) {
	m, err := c.MasterOfKey(ctx, key)
	if err != nil {
		return nil, err
	}
	v, err := m.Do(ctx, "LRANGE", key, "0", "-1")
	if err != nil {
		return nil, err
	}
	items, _ := v.([]any)
	ids := map[string]int{}
	for _, it := range items {
		s, _ := it.(string)
		var obj struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(s), &obj); err != nil {
			return nil, fmt.Errorf("an entry that is not an alert: %q", s)
		}
		ids[obj.ID]++
	}
	return ids, nil
}

// count stops s and compares what it acknowledged with the list; the
// cluster must be ready (replication caught up).
func (s *stream) count(t *testing.T, c *containers.Cluster, fault time.Time) figure {
	t.Helper()
	s.stop()
	ids, err := listIDs(testCtx(t, 30*time.Second), c, s.prefix)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	acks := slices.Clone(s.acks)
	slices.SortFunc(acks, func(a, b ack) int { return a.end.Compare(b.end) })
	fg := figure{acked: len(acks), failures: s.failures, ttfw: -1}
	var lostIDs []string
	for i, a := range acks {
		if i > 0 {
			fg.gap = max(fg.gap, a.end.Sub(acks[i-1].end))
		}
		if ids[a.id] == 0 {
			fg.lost++
			if len(lostIDs) < 5 {
				lostIDs = append(lostIDs, a.id)
			}
			continue
		}
		if !a.start.Before(fault) && (fg.ttfw < 0 || a.end.Sub(fault) < fg.ttfw) {
			fg.ttfw = a.end.Sub(fault)
		}
	}
	for _, n := range ids {
		if n > 1 {
			fg.dup += n - 1
		}
	}
	if fg.lost > 0 {
		t.Logf("%s: lost %d acknowledged alerts, e.g. %v", s.label, fg.lost, lostIDs)
	}
	return fg
}

// figures collects the runs of one fault, per stream label.
type figures struct {
	tg      faultTarget
	fault   string
	byLabel map[string][]figure
	labels  []string
}

func newFigures(f *faultEnv, fault string) *figures {
	return &figures{tg: f.tg, fault: fault, byLabel: map[string][]figure{}}
}

func (fs *figures) add(t *testing.T, run int, label string, fg figure, extra string) {
	t.Helper()
	if _, ok := fs.byLabel[label]; !ok {
		fs.labels = append(fs.labels, label)
	}
	fs.byLabel[label] = append(fs.byLabel[label], fg)
	t.Logf("FIGURES: scheme=%s server=%s fault=%s run=%d stream=%s writers=%d ttfw=%s gap=%s acked=%d lost=%d dup=%d failed_calls=%d%s",
		fs.tg.scheme, fs.tg.server, fs.fault, run, label, streamWriters, fg.ttfw.Round(time.Millisecond), fg.gap.Round(time.Millisecond), fg.acked, fg.lost, fg.dup, fg.failures, extra)
}

func (fs *figures) summary(t *testing.T) {
	t.Helper()
	for _, label := range fs.labels {
		rs := fs.byLabel[label]
		var ttfw, gap []time.Duration
		var acked, lost, dup []int
		for _, r := range rs {
			ttfw, gap = append(ttfw, r.ttfw), append(gap, r.gap)
			acked, lost, dup = append(acked, r.acked), append(lost, r.lost), append(dup, r.dup)
		}
		t.Logf("FIGURES: summary scheme=%s server=%s fault=%s stream=%s runs=%d ttfw_median=%s ttfw_max=%s gap_median=%s gap_max=%s acked_median=%d lost_median=%d lost_max=%d dup_median=%d dup_max=%d",
			fs.tg.scheme, fs.tg.server, fs.fault, label, len(rs),
			median(ttfw).Round(time.Millisecond), slices.Max(ttfw).Round(time.Millisecond),
			median(gap).Round(time.Millisecond), slices.Max(gap).Round(time.Millisecond),
			median(acked), median(lost), slices.Max(lost), median(dup), slices.Max(dup))
	}
}

func median[T int | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// waitFailover waits until a master other than old serves slot and
// returns how long after t0 that was.
func (f *faultEnv) waitFailover(t *testing.T, slot int, old *containers.Server, t0 time.Time) time.Duration {
	t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		m, err := f.c.MasterOf(ctx, slot)
		cancel()
		if err == nil && m != old {
			return time.Since(t0)
		}
		if time.Since(t0) > resumeBound {
			t.Fatalf("no failover of slot %d within %s (last: %v, %v)", slot, resumeBound, m, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFaults(t *testing.T) {
	forEachFaultTarget(t, func(t *testing.T, f *faultEnv) {
		for _, c := range []struct {
			name string
			fn   func(*testing.T, *faultEnv)
		}{
			{"KillMaster", testKillMaster},
			{"PauseMaster", testPauseMaster},
			{"MigrateSlot", testMigrateSlot},
			{"MigrateShardSlot", testMigrateShardSlot},
			{"ChainWholeClusterDown", testChainWholeClusterDown},
		} {
			t.Run(c.name, func(t *testing.T) {
				f.ready(t)
				c.fn(t, f)
				f.ready(t)
			})
		}
	})
}

// testKillMaster: SIGKILL the master of the streams' slot. Its replica is
// promoted after cluster-node-timeout; the killed node is started again
// at once and rejoins as the new master's replica (which min_replicas=1
// waits for: until then the new master has none). With min_replicas=1
// nothing acknowledged is lost; without, the loss is measured.
func testKillMaster(t *testing.T, f *faultEnv) {
	fs := newFigures(f, "kill-master")
	for run := 1; run <= f.runs; run++ {
		streams, slot := f.startStreams(t, fmt.Sprintf("kill%d", run))
		warmUp(t, streams)
		ctx := testCtx(t, 2*time.Minute)
		m, err := f.c.MasterOf(ctx, slot)
		if err != nil {
			t.Fatal(err)
		}
		// The fault time is when the kill returned (the container has
		// stopped): an acknowledgement after it is the new master's.
		if err := m.Kill(ctx); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		failover := f.waitFailover(t, slot, m, t0)
		if err := m.Start(ctx); err != nil {
			t.Fatal(err)
		}
		for _, s := range streams {
			s.waitAckAfter(t, t0, "the kill")
		}
		time.Sleep(settle)
		f.ready(t)
		for _, s := range streams {
			fg := s.count(t, f.c, t0)
			fs.add(t, run, s.label, fg, fmt.Sprintf(" failover=%s", failover.Round(time.Millisecond)))
			if s.label == labelWait && fg.lost > 0 {
				t.Errorf("run %d: min_replicas=1 lost %d acknowledged alerts to a master crash", run, fg.lost)
			}
		}
	}
	fs.summary(t)
}

// testPauseMaster: freeze the master past cluster-node-timeout (docker
// pause): its replica is promoted; then unpause it, and it rejoins as a
// replica, dropping whatever it had not replicated.
func testPauseMaster(t *testing.T, f *faultEnv) {
	fs := newFigures(f, "pause-master")
	for run := 1; run <= f.runs; run++ {
		streams, slot := f.startStreams(t, fmt.Sprintf("pause%d", run))
		warmUp(t, streams)
		ctx := testCtx(t, 2*time.Minute)
		m, err := f.c.MasterOf(ctx, slot)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Pause(ctx); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		failover := f.waitFailover(t, slot, m, t0)
		if err := m.Unpause(ctx); err != nil {
			t.Fatal(err)
		}
		for _, s := range streams {
			s.waitAckAfter(t, t0, "the pause")
		}
		time.Sleep(settle)
		f.ready(t)
		for _, s := range streams {
			fg := s.count(t, f.c, t0)
			fs.add(t, run, s.label, fg, fmt.Sprintf(" failover=%s", failover.Round(time.Millisecond)))
			if s.label == labelWait && fg.lost > 0 {
				t.Errorf("run %d: min_replicas=1 lost %d acknowledged alerts to a frozen master", run, fg.lost)
			}
		}
	}
	fs.summary(t)
}

// testMigrateSlot: move the streams' slot to another master while they
// write (SETSLOT IMPORTING/MIGRATING, MIGRATE key by key with pauses,
// SETSLOT NODE): the clients see ASK, TRYAGAIN and MOVED. Nothing ran
// twice and nothing acknowledged is lost, with or without min_replicas.
func testMigrateSlot(t *testing.T, f *faultEnv) {
	fs := newFigures(f, "migrate-slot")
	for run := 1; run <= f.runs; run++ {
		streams, slot := f.startStreams(t, fmt.Sprintf("migrate%d", run))
		warmUp(t, streams)
		ctx := testCtx(t, 2*time.Minute)
		from, err := f.c.MasterOf(ctx, slot)
		if err != nil {
			t.Fatal(err)
		}
		masters, err := f.c.Masters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var to *containers.Server
		for _, m := range masters {
			if m != from {
				to = m
				break
			}
		}
		t0 := time.Now()
		if err := f.c.MigrateSlot(ctx, slot, to, 150*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		took := time.Since(t0)
		t1 := time.Now()
		for _, s := range streams {
			s.waitAckAfter(t, t1, "the migration")
		}
		time.Sleep(settle)
		f.ready(t)
		if m, err := f.c.MasterOf(ctx, slot); err != nil || m != to {
			t.Fatalf("after the migration slot %d is on %v (%v), want %s", slot, m, err, to)
		}
		for _, s := range streams {
			fg := s.count(t, f.c, t0)
			fs.add(t, run, s.label, fg, fmt.Sprintf(" migration=%s", took.Round(time.Millisecond)))
			if fg.lost > 0 || fg.dup > 0 {
				t.Errorf("run %d: %s: %d lost, %d duplicated across a slot migration", run, s.label, fg.lost, fg.dup)
			}
		}
	}
	fs.summary(t)
}

// testChainWholeClusterDown: a chain redis+cluster -> bolt under a stream
// while every node of the cluster is stopped, then started again (with
// AOF, so the cluster comes back with its data): the alerts acknowledged
// meanwhile by the local tier are replayed into the cluster exactly once.
func testChainWholeClusterDown(t *testing.T, f *faultEnv) {
	prefix := prefixesInOneSlot("chain", 1)[0]
	local := filepath.Join(t.TempDir(), "local.db")
	dsn := chain.FormatDSN(clusterDSN(f.tg.scheme, f.c, "timeout=1s"), "bolt://"+local) +
		"&prefix=" + url.QueryEscape(prefix) + "&max_alerts=100000&tier_timeout=500ms&timeout=5s&probe_interval=100ms&probe_max=1s"
	// The chain's events (fallbacks, recoveries, replays and why they
	// stopped), with their times, are printed if the test fails: the
	// status alone says where the chain is, not how it got there.
	events := &eventLog{}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("ALERTSTORE_CHAIN_EVENTS") != "" {
			t.Logf("chain events:\n%s", events)
		}
	})
	s := openStoreCtx(registry.WithLogger(context.Background(), slog.New(slog.NewTextHandler(events, nil))), t, dsn)
	var mu sync.Mutex
	var acked []string
	failed := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range streamWriters {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				a := backend.NewAlert()
				_ = a.SetEntity(fmt.Sprintf("chain-w%d-%06d", w, i))
				err := s.Store(context.Background(), a)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					acked = append(acked, a.ID())
				}
				mu.Unlock()
				time.Sleep(streamPace)
			}
		})
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitUntil(t, 60*time.Second, "500 acknowledged alerts", func() bool { return count() >= 500 })

	nodes := f.c.Nodes()
	each := func(op func(*containers.Server, context.Context) error) {
		ctx := testCtx(t, 2*time.Minute)
		var owg sync.WaitGroup
		errs := make([]error, len(nodes))
		for i, n := range nodes {
			owg.Go(func() { errs[i] = op(n, ctx) })
		}
		owg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	t0 := time.Now()
	each((*containers.Server).Stop)
	down := count()
	waitUntil(t, 60*time.Second, "500 alerts more on the local tier", func() bool { return count() >= down+500 })
	each((*containers.Server).Start)
	back := time.Now()
	f.ready(t)
	readyAfter := time.Since(back)
	time.Sleep(settle)
	close(stop)
	wg.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, _ := chain.StatusOf(s)
		if len(st.Tiers) > 0 && st.Active == st.Tiers[0].Name && st.Backlog == 0 && !st.Replaying {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 60s for the chain back on the cluster with an empty backlog: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	drained := time.Since(back)
	st, _ := chain.StatusOf(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	ids, err := listIDs(testCtx(t, 30*time.Second), f.c, prefix)
	if err != nil {
		t.Fatal(err)
	}
	lost, once, dup := 0, 0, 0
	for _, id := range acked {
		switch ids[id] {
		case 0:
			lost++
		case 1:
			once++
		default:
			dup++
		}
	}
	l, err := bolt.Open(context.Background(), local, backend.Config{Prefix: prefix, MaxAlerts: 100_000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	left, _ := l.Count(context.Background())
	_ = l.Close()
	t.Logf("FIGURES: scheme=%s server=%s fault=whole-cluster-down-chain writers=%d acknowledged=%d present_once=%d lost=%d duplicated=%d left_in_local=%d failed_calls=%d acked_while_down>=%d fallbacks=%d replayed=%d deduplicated=%d down_for=%s cluster_ready_after_start=%s recovery_to_empty_backlog=%s",
		f.tg.scheme, f.tg.server, streamWriters, len(acked), once, lost, dup, left, failed, 500, st.Fallbacks, st.Replayed, st.Deduplicated,
		back.Sub(t0).Round(time.Millisecond), readyAfter.Round(time.Millisecond), drained.Round(time.Millisecond))
	if lost > 0 || dup > 0 || left != 0 {
		t.Errorf("%d acknowledged: %d lost, %d duplicated in the cluster, %d left in the local tier", len(acked), lost, dup, left)
	}
	if st.Replayed == 0 {
		t.Errorf("nothing was replayed: the cluster was not down while writes went on (fallbacks %d)", st.Fallbacks)
	}
}

// eventLog is an io.Writer for a slog handler that keeps what it is
// given, for a test to print.
type eventLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *eventLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
