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

// At is sample i, cycling.
func (p Payload) At(i int) []byte { return p[i%len(p)] }

func (p Payload) parse(b *testing.B, i int) *backend.Alert {
	a, err := backend.ParseAlert(p.At(i))
	if err != nil {
		b.Fatalf("sample alert %d: %v", i%len(p), err)
	}
	return a
}

func config() backend.Config { return backend.Config{MaxAlerts: StoreSize} }

// run calls op b.N times from callers goroutines and reports
// perOp*b.N/elapsed as alerts/s.
func run(b *testing.B, callers, perOp int, op func(ctx context.Context, i int) error) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := op(ctx, int(i)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "alerts/s")
}

// Write is one alert per call with 1, 16 and 64 concurrent callers. The
// store's side parses the alert (a detector holds bytes) and stores it.
func Write(b *testing.B, p Payload, targets []Target) {
	for _, tg := range targets {
		for _, callers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/callers=%d", tg.Name, callers), func(b *testing.B) {
				s, raw := tg.Open(b, config())
				b.Run("store", func(b *testing.B) {
					run(b, callers, 1, func(ctx context.Context, i int) error {
						a, err := backend.ParseAlert(p.At(i))
						if err != nil {
							return err
						}
						return s.Store(ctx, a)
					})
				})
				b.Run("raw", func(b *testing.B) {
					run(b, callers, 1, func(ctx context.Context, i int) error {
						return raw.Push(ctx, [][]byte{p.At(i)})
					})
				})
			})
		}
	}
}

// BatchSize is the batch of the Batch row.
const BatchSize = 100

// Batch is BatchSize alerts per call with 16 callers.
func Batch(b *testing.B, p Payload, targets []Target) {
	const callers = 16
	for _, tg := range targets {
		b.Run(fmt.Sprintf("%s/callers=%d", tg.Name, callers), func(b *testing.B) {
			s, raw := tg.Open(b, config())
			b.Run("store", func(b *testing.B) {
				run(b, callers, BatchSize, func(ctx context.Context, i int) error {
					batch := make([]*backend.Alert, BatchSize)
					for j := range batch {
						a, err := backend.ParseAlert(p.At(i + j))
						if err != nil {
							return err
						}
						batch[j] = a
					}
					return s.StoreBatch(ctx, batch)
				})
			})
			b.Run("raw", func(b *testing.B) {
				run(b, callers, BatchSize, func(ctx context.Context, i int) error {
					vals := make([][]byte, BatchSize)
					for j := range vals {
						vals[j] = p.At(i + j)
					}
					return raw.Push(ctx, vals)
				})
			})
		})
	}
}

// fill stores StoreSize alerts in s and raw, cycling through p (one in
// len(p) of the samples is Critical).
func fill(b *testing.B, p Payload, s *backend.Store, raw Raw) {
	b.Helper()
	ctx := context.Background()
	const chunk = 1000
	for i := 0; i < StoreSize; i += chunk {
		alerts := make([]*backend.Alert, chunk)
		vals := make([][]byte, chunk)
		for j := range alerts {
			alerts[j] = p.parse(b, i+j)
			vals[j] = p.At(i + j)
		}
		if err := s.StoreBatch(ctx, alerts); err != nil {
			b.Fatalf("fill store: %v", err)
		}
		if err := raw.Push(ctx, vals); err != nil {
			b.Fatalf("fill raw: %v", err)
		}
	}
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

// List is the newest ListLimit of a full store, unfiltered (raw: the
// newest ListLimit + encoding/json into maps) and Critical only (raw: the
// old system's read of everything, decode, filter).
func List(b *testing.B, p Payload, targets []Target) {
	for _, tg := range targets {
		b.Run(tg.Name, func(b *testing.B) {
			s, raw := tg.Open(b, config())
			fill(b, p, s, raw)
			for _, c := range []struct {
				name  string
				q     backend.Query
				raw   func(ctx context.Context) (int, error)
				perOp int
			}{
				{"newest", backend.Query{Limit: ListLimit}, func(ctx context.Context) (int, error) {
					vals, err := raw.Newest(ctx, ListLimit)
					if err != nil {
						return 0, err
					}
					ms, err := decodeMaps(vals)
					return len(ms), err
				}, ListLimit},
				{"critical", backend.Query{Limit: ListLimit, MinSeverity: backend.SeverityCritical}, func(ctx context.Context) (int, error) {
					vals, err := raw.All(ctx)
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
				}, ListLimit},
			} {
				b.Run(fmt.Sprintf("%s/callers=%d", c.name, ListCallers), func(b *testing.B) {
					b.Run("store", func(b *testing.B) {
						run(b, ListCallers, c.perOp, func(ctx context.Context, _ int) error {
							pg, err := s.List(ctx, c.q)
							if err == nil && len(pg.Alerts) != ListLimit {
								err = fmt.Errorf("list %s: %d alerts, want %d", c.name, len(pg.Alerts), ListLimit)
							}
							return err
						})
					})
					b.Run("raw", func(b *testing.B) {
						run(b, ListCallers, c.perOp, func(ctx context.Context, _ int) error {
							n, err := c.raw(ctx)
							if err == nil && n != ListLimit {
								err = fmt.Errorf("raw %s: %d alerts, want %d", c.name, n, ListLimit)
							}
							return err
						})
					})
				})
			}
		})
	}
}

// Count is Store.Count against the raw count, one caller, full store.
func Count(b *testing.B, p Payload, targets []Target) {
	for _, tg := range targets {
		b.Run(tg.Name, func(b *testing.B) {
			s, raw := tg.Open(b, config())
			fill(b, p, s, raw)
			check := func(n int64, err error) error {
				if err == nil && n != StoreSize {
					err = fmt.Errorf("count %d, want %d", n, StoreSize)
				}
				return err
			}
			b.Run("store", func(b *testing.B) {
				run(b, 1, 1, func(ctx context.Context, _ int) error { return check(s.Count(ctx)) })
			})
			b.Run("raw", func(b *testing.B) {
				run(b, 1, 1, func(ctx context.Context, _ int) error { return check(raw.Count(ctx)) })
			})
		})
	}
}

// Watch is the time from a Store call to the delivery of its alert to a
// watcher of the same store, one alert at a time, reported as
// latency-us (the mean); raw: append + publish to a subscriber.
// Targets whose store cannot watch, or whose raw cannot notify, are
// skipped with a line saying so.
func Watch(b *testing.B, p Payload, targets []Target) {
	for _, tg := range targets {
		b.Run(tg.Name, func(b *testing.B) {
			s, raw := tg.Open(b, config())
			rw, ok := raw.(RawWatcher)
			if !s.Capabilities().Watch || !ok {
				b.Skipf("%s: no watch (store capability %v, raw baseline notifies: %v)", tg.Name, s.Capabilities().Watch, ok)
			}
			ctx := context.Background()
			b.Run("store", func(b *testing.B) {
				w, err := s.Watch(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer func() { _ = w.Close() }()
				latency(b, func(i int) error {
					if err := s.Store(ctx, p.parse(b, i)); err != nil {
						return err
					}
					_, err := w.Next(ctx)
					return err
				})
			})
			b.Run("raw", func(b *testing.B) {
				next, stop, err := rw.Subscribe(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer stop()
				latency(b, func(i int) error {
					if err := rw.PushNotify(ctx, p.At(i)); err != nil {
						return err
					}
					return next(ctx)
				})
			})
		})
	}
}

func latency(b *testing.B, op func(i int) error) {
	b.Helper()
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := op(i); err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "latency-us")
}
