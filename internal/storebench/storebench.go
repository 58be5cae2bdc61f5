// Package storebench is the benchmark suite of issue 10: each row runs a
// Store and a hand-written raw-client baseline doing the same work, one
// after the other in the same process, so that their ratio can be read
// from one `go test -bench` run (docs/performance.md).
//
// A backend's benchmark file names its targets and calls the rows:
//
//	func BenchmarkWrite(b *testing.B) { storebench.Write(b, targets) }
//
// Benchmark names are Row/target/params/store and Row/target/params/raw,
// with alerts/s (writes, lists) or latency metrics reported besides ns/op.
// Everything here runs only under -bench: a Benchmark function is never
// run by a plain `go test`.
package storebench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// StoreSize is how many alerts the list and count rows fill the store
// (and the raw baseline) with; it is also the cap of every benchmark store.
const StoreSize = 10_000

// Raw is the baseline: the same commands a caller would write by hand
// with the client library, with no portable layer in between.
type Raw interface {
	// Push appends encoded alerts and keeps the newest StoreSize
	// (for Redis: one pipelined RPUSH + LTRIM).
	Push(ctx context.Context, vals [][]byte) error
	// Newest returns the newest n encoded alerts (LRANGE -n -1).
	Newest(ctx context.Context, n int) ([][]byte, error)
	// All returns every stored alert: the old system's LRANGE 0 -1.
	All(ctx context.Context) ([][]byte, error)
	// Count is the number stored (LLEN).
	Count(ctx context.Context) (int64, error)
}

// RawWatcher is a Raw that can also notify and be notified, for the
// watch latency row: PushNotify appends one alert and publishes it.
type RawWatcher interface {
	Raw
	PushNotify(ctx context.Context, val []byte) error
	// Subscribe returns next, which waits for one notification, and
	// stop, which ends the subscription.
	Subscribe(ctx context.Context) (next func(context.Context) error, stop func(), err error)
}

// Target is one backend configuration under test.
type Target struct {
	// Name is the benchmark name element, e.g. "goredis".
	Name string
	// Open opens a fresh, empty store of cfg and its raw baseline on
	// storage of its own (a fresh key prefix, file or value), both
	// closed when b ends.
	Open func(b *testing.B, cfg backend.Config) (*backend.Store, Raw)
}

// Payload returns the project's sample alerts (conformance.LegacyAlerts,
// passed in to keep this package free of the conformance suite), which
// the rows cycle through.
type Payload [][]byte

// Synthetic returns n alerts of about size bytes of JSON each (at least
// the ~200 bytes of their fixed fields), one in six Critical like the
// samples, the message padded to the size: for how the figures move with
// alert size.
func Synthetic(n, size int) Payload {
	sev := []string{"low", "medium", "high", "critical", "medium", "low"}
	out := make(Payload, n)
	for i := range out {
		a := map[string]any{
			"entity": fmt.Sprintf("host-%03d", i%97), "entity_type": "host", "event_type": "beacon",
			"severity": sev[i%len(sev)], "prediction_score": 0.5 + float64(i%50)/100,
			"source": map[string]any{"type": "kafka"}, "message": "",
		}
		b, _ := json.Marshal(a)
		a["message"] = strings.Repeat("x", max(0, size-len(b)))
		out[i], _ = json.Marshal(a)
	}
	return out
}

// At is sample i, cycling.
func (p Payload) At(i int) []byte { return p[i%len(p)] }

func config() backend.Config { return backend.Config{MaxAlerts: StoreSize} }

// Pair is one cell of the suite's table: the store's side and the raw
// baseline's side of the same work, each a benchmark function.
type Pair struct {
	// Row names the work, e.g. "Write/callers=16" (the benchmark name
	// without the target).
	Row string
	// Store is the store's side.
	Store func(b *testing.B)
	// Raw is the baseline's side; nil when there is no baseline.
	Raw func(b *testing.B)
	// Metric is the figure the table compares: "alerts/s" (higher is
	// better) or "latency-us" (lower is better).
	Metric string
}

// rows builds the pairs of one store and its baseline (raw may be nil)
// and remembers the first error an operation returned, which a
// benchmark reports only as a failure.
type rows struct {
	p   Payload
	s   *backend.Store
	raw Raw

	mu  sync.Mutex
	err error
}

func (r *rows) fail(b *testing.B, err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
	b.Error(err)
}

// firstErr returns and forgets the first error since the last call.
func (r *rows) firstErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.err
	r.err = nil
	return err
}

// run calls op b.N times from callers goroutines and reports
// perOp*b.N/elapsed as alerts/s, the calls' 99th percentile latency as
// p99-us and this process's CPU time per call as cpu-us/op (on Unix): on
// a shared machine, whose load moves alerts/s by tens of percent between
// rounds, the CPU a call costs moves much less (a server in another
// process is not counted).
func (r *rows) run(b *testing.B, callers, perOp int, op func(ctx context.Context, i int) error) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	lat := make([][]time.Duration, callers)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := op(ctx, int(i)); err != nil {
					r.fail(b, err)
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if cpu := processCPU() - cpu0; cpu0 > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu-us/op")
	}
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "alerts/s")
	all := slices.Concat(lat...)
	if len(all) > 0 {
		slices.Sort(all)
		b.ReportMetric(float64(all[len(all)*99/100].Nanoseconds())/1e3, "p99-us")
	}
}

func (r *rows) parse(i int) (*backend.Alert, error) {
	a, err := backend.ParseAlert(r.p.At(i))
	if err != nil {
		return nil, fmt.Errorf("sample alert %d: %w", i%len(r.p), err)
	}
	return a, nil
}

// write is one alert per call from callers goroutines. The store's side
// parses the alert (a detector holds bytes) and stores it.
func (r *rows) write(callers int) Pair {
	pr := Pair{Row: fmt.Sprintf("Write/callers=%d", callers), Metric: "alerts/s"}
	pr.Store = func(b *testing.B) {
		r.run(b, callers, 1, func(ctx context.Context, i int) error {
			a, err := r.parse(i)
			if err != nil {
				return err
			}
			return r.s.Store(ctx, a)
		})
	}
	if r.raw != nil {
		pr.Raw = func(b *testing.B) {
			r.run(b, callers, 1, func(ctx context.Context, i int) error {
				return r.raw.Push(ctx, [][]byte{r.p.At(i)})
			})
		}
	}
	return pr
}

// BatchSize is the batch of the Batch row.
const BatchSize = 100

// BatchCallers is the concurrency of the Batch row.
const BatchCallers = 16

func (r *rows) batch() Pair {
	pr := Pair{Row: fmt.Sprintf("Batch/callers=%d", BatchCallers), Metric: "alerts/s"}
	pr.Store = func(b *testing.B) {
		r.run(b, BatchCallers, BatchSize, func(ctx context.Context, i int) error {
			batch := make([]*backend.Alert, BatchSize)
			for j := range batch {
				a, err := r.parse(i*BatchSize + j)
				if err != nil {
					return err
				}
				batch[j] = a
			}
			return r.s.StoreBatch(ctx, batch)
		})
	}
	if r.raw != nil {
		pr.Raw = func(b *testing.B) {
			r.run(b, BatchCallers, BatchSize, func(ctx context.Context, i int) error {
				vals := make([][]byte, BatchSize)
				for j := range vals {
					vals[j] = r.p.At(i*BatchSize + j)
				}
				return r.raw.Push(ctx, vals)
			})
		}
	}
	return pr
}

// fill stores StoreSize alerts in the store and the baseline, cycling
// through the payload (one in len(p) of the samples is Critical).
func (r *rows) fill(ctx context.Context) error {
	const chunk = 1000
	for i := 0; i < StoreSize; i += chunk {
		alerts := make([]*backend.Alert, chunk)
		vals := make([][]byte, chunk)
		for j := range alerts {
			a, err := r.parse(i + j)
			if err != nil {
				return err
			}
			alerts[j] = a
			vals[j] = r.p.At(i + j)
		}
		if err := r.s.StoreBatch(ctx, alerts); err != nil {
			return fmt.Errorf("fill store: %w", err)
		}
		if r.raw != nil {
			if err := r.raw.Push(ctx, vals); err != nil {
				return fmt.Errorf("fill raw: %w", err)
			}
		}
	}
	return nil
}

// ListLimit is how many alerts the list rows ask for.
const ListLimit = 100

// ListCallers is the concurrency of the list rows.
const ListCallers = 16

func decodeMaps(vals [][]byte) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(vals))
	for _, v := range vals {
		var m map[string]any
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// lists are the newest ListLimit of a full store (fill first),
// unfiltered (raw: the newest ListLimit + encoding/json into maps; and,
// as newest-lrange, the newest ListLimit alone, not decoded) and Critical
// only (raw: the old system's read of everything, decode, filter).
func (r *rows) lists() []Pair {
	var out []Pair
	for _, c := range []struct {
		name string
		q    backend.Query
		raw  func(ctx context.Context) (int, error)
	}{
		{"newest", backend.Query{Limit: ListLimit}, func(ctx context.Context) (int, error) {
			vals, err := r.raw.Newest(ctx, ListLimit)
			if err != nil {
				return 0, err
			}
			ms, err := decodeMaps(vals)
			return len(ms), err
		}},
		// The same List against the bare LRANGE (no decode): issue 10's
		// "at least 0.4x LRANGE alone".
		{"newest-lrange", backend.Query{Limit: ListLimit}, func(ctx context.Context) (int, error) {
			vals, err := r.raw.Newest(ctx, ListLimit)
			return len(vals), err
		}},
		{"critical", backend.Query{Limit: ListLimit, MinSeverity: backend.SeverityCritical}, func(ctx context.Context) (int, error) {
			vals, err := r.raw.All(ctx)
			if err != nil {
				return 0, err
			}
			ms, err := decodeMaps(vals)
			if err != nil {
				return 0, err
			}
			n := 0
			for i := len(ms) - 1; i >= 0 && n < ListLimit; i-- {
				if sev, _ := ms[i]["severity"].(string); strings.EqualFold(sev, "critical") {
					n++
				}
			}
			return n, nil
		}},
	} {
		pr := Pair{Row: fmt.Sprintf("List/%s/callers=%d", c.name, ListCallers), Metric: "alerts/s"}
		pr.Store = func(b *testing.B) {
			r.run(b, ListCallers, ListLimit, func(ctx context.Context, _ int) error {
				pg, err := r.s.List(ctx, c.q)
				if err == nil && len(pg.Alerts) != ListLimit {
					err = fmt.Errorf("list %s: %d alerts, want %d", c.name, len(pg.Alerts), ListLimit)
				}
				return err
			})
		}
		if r.raw != nil {
			pr.Raw = func(b *testing.B) {
				r.run(b, ListCallers, ListLimit, func(ctx context.Context, _ int) error {
					n, err := c.raw(ctx)
					if err == nil && n != ListLimit {
						err = fmt.Errorf("raw %s: %d alerts, want %d", c.name, n, ListLimit)
					}
					return err
				})
			}
		}
		out = append(out, pr)
	}
	return out
}

// count is Store.Count against the raw count, one caller, full store
// (fill first).
func (r *rows) count() Pair {
	check := func(n int64, err error) error {
		if err == nil && n != StoreSize {
			err = fmt.Errorf("count %d, want %d", n, StoreSize)
		}
		return err
	}
	pr := Pair{Row: "Count", Metric: "alerts/s"}
	pr.Store = func(b *testing.B) {
		r.run(b, 1, 1, func(ctx context.Context, _ int) error { return check(r.s.Count(ctx)) })
	}
	if r.raw != nil {
		pr.Raw = func(b *testing.B) {
			r.run(b, 1, 1, func(ctx context.Context, _ int) error { return check(r.raw.Count(ctx)) })
		}
	}
	return pr
}

// watch is the time from a Store call to the delivery of its alert to a
// watcher of the same store, one alert at a time, reported as
// latency-us (the mean); raw: append + publish to a subscriber. ok is
// false when the store cannot watch.
func (r *rows) watch() (Pair, bool) {
	if !r.s.Capabilities().Watch {
		return Pair{}, false
	}
	pr := Pair{Row: "Watch", Metric: "latency-us"}
	pr.Store = func(b *testing.B) {
		ctx := context.Background()
		w, err := r.s.Watch(ctx)
		if err != nil {
			r.fail(b, err)
			return
		}
		defer func() { _ = w.Close() }()
		r.latency(b, func(i int) error {
			a, err := r.parse(i)
			if err != nil {
				return err
			}
			if err := r.s.Store(ctx, a); err != nil {
				return err
			}
			_, err = w.Next(ctx)
			return err
		})
	}
	if rw, ok := r.raw.(RawWatcher); ok {
		pr.Raw = func(b *testing.B) {
			ctx := context.Background()
			next, stop, err := rw.Subscribe(ctx)
			if err != nil {
				r.fail(b, err)
				return
			}
			defer stop()
			r.latency(b, func(i int) error {
				if err := rw.PushNotify(ctx, r.p.At(i)); err != nil {
					return err
				}
				return next(ctx)
			})
		}
	}
	return pr, true
}

func (r *rows) latency(b *testing.B, op func(i int) error) {
	b.Helper()
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := op(i); err != nil {
			r.fail(b, err)
			return
		}
		total += time.Since(t0)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "latency-us")
}

// bench runs pr as the sub-benchmarks store and raw of b.
func bench(b *testing.B, pr Pair) {
	b.Run("store", pr.Store)
	if pr.Raw != nil {
		b.Run("raw", pr.Raw)
	}
}

// open opens tg's store and baseline for the rows of b.
func open(b *testing.B, p Payload, tg Target) *rows {
	s, raw := tg.Open(b, config())
	return &rows{p: p, s: s, raw: raw}
}

// Write is one alert per call with 1, 16 and 64 concurrent callers. The
// store's side parses the alert (a detector holds bytes) and stores it.
func Write(b *testing.B, p Payload, targets []Target) {
	for _, tg := range targets {
		for _, callers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/callers=%d", tg.Name, callers), func(b *testing.B) {
				bench(b, open(b, p, tg).write(callers))
			})
		}
	}
}

// Batch is BatchSize alerts per call with BatchCallers callers.
func Batch(b *testing.B, p Payload, targets []Target) {
	for _, tg := range targets {
		b.Run(fmt.Sprintf("%s/callers=%d", tg.Name, BatchCallers), func(b *testing.B) {
			bench(b, open(b, p, tg).batch())
		})
	}
}

// List is the newest ListLimit of a full store, unfiltered and Critical
// only (see rows.lists).
func List(b *testing.B, p Payload, targets []Target) {
	for _, tg := range targets {
		b.Run(tg.Name, func(b *testing.B) {
			r := open(b, p, tg)
			if err := r.fill(context.Background()); err != nil {
				b.Fatal(err)
			}
			for _, pr := range r.lists() {
				b.Run(strings.TrimPrefix(pr.Row, "List/"), func(b *testing.B) { bench(b, pr) })
			}
		})
	}
}

// Count is Store.Count against the raw count, one caller, full store.
func Count(b *testing.B, p Payload, targets []Target) {
	for _, tg := range targets {
		b.Run(tg.Name, func(b *testing.B) {
			r := open(b, p, tg)
			if err := r.fill(context.Background()); err != nil {
				b.Fatal(err)
			}
			bench(b, r.count())
		})
	}
}

// Watch is the watch latency (see rows.watch). Targets whose store cannot
// watch, or whose raw cannot notify, are skipped with a line saying so.
func Watch(b *testing.B, p Payload, targets []Target) {
	for _, tg := range targets {
		b.Run(tg.Name, func(b *testing.B) {
			r := open(b, p, tg)
			pr, ok := r.watch()
			if !ok || pr.Raw == nil {
				b.Skipf("%s: no watch (store capability %v, raw baseline notifies: %v)", tg.Name, ok, pr.Raw != nil)
			}
			bench(b, pr)
		})
	}
}
