package memory_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/internal/storebench"
	"github.com/apt-detection/alertstore/internal/storebench/baseline"
)

// BenchmarkStore measures the portable layer plus the ring: validation, id
// assignment, encoding and append, one alert per call and 100 per batch.
func BenchmarkStore(b *testing.B) {
	ctx := context.Background()
	raw := conformance.LegacyAlerts()[0]
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := backend.NewStore(memory.Open("", backend.Config{MaxAlerts: 10000}, nil), "mem", backend.Config{MaxAlerts: 10000})
			defer s.Close()
			alerts := make([]*backend.Alert, batch)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range alerts {
					alerts[j], _ = backend.ParseAlert(raw)
				}
				if err := s.StoreBatch(ctx, alerts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}

// BenchmarkListNewest shows that listing the newest N costs O(N), not
// O(store size): the store holds 100000 alerts.
func BenchmarkListNewest(b *testing.B) {
	ctx := context.Background()
	cfg := backend.Config{MaxAlerts: 100000}
	s := backend.NewStore(memory.Open("", cfg, nil), "mem", cfg)
	defer s.Close()
	raw := conformance.LegacyAlerts()[0]
	for i := 0; i < 100000; i += 1000 {
		batch := make([]*backend.Alert, 1000)
		for j := range batch {
			batch[j], _ = backend.ParseAlert(raw)
		}
		if err := s.StoreBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("limit=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				p, err := s.List(ctx, backend.Query{Limit: n})
				if err != nil || len(p.Alerts) != n {
					b.Fatalf("List: %d alerts, %v", len(p.Alerts), err)
				}
			}
		})
	}
}

var memTargets = []storebench.Target{{
	Name: "memory",
	Open: func(b *testing.B, cfg backend.Config) (*backend.Store, storebench.Raw) {
		s := backend.NewStore(memory.Open("", cfg, nil), memory.Scheme, cfg)
		b.Cleanup(func() { _ = s.Close() })
		return s, &baseline.Slice{}
	},
}}

var payload = storebench.Payload(conformance.LegacyAlerts())

// The rows of the suite (internal/storebench; docs/performance.md).
func BenchmarkSuiteWrite(b *testing.B) { storebench.Write(b, payload, memTargets) }
func BenchmarkSuiteBatch(b *testing.B) { storebench.Batch(b, payload, memTargets) }
func BenchmarkSuiteList(b *testing.B)  { storebench.List(b, payload, memTargets) }
func BenchmarkSuiteCount(b *testing.B) { storebench.Count(b, payload, memTargets) }
func BenchmarkSuiteWatch(b *testing.B) { storebench.Watch(b, payload, memTargets) }

// BenchmarkSize is the Write and Batch rows with alerts of 300 B, 600 B
// and 4 KiB (storebench.Synthetic).
func BenchmarkSize(b *testing.B) {
	for _, size := range []int{300, 600, 4096} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			p := storebench.Synthetic(60, size)
			b.Run("Write", func(b *testing.B) { storebench.Write(b, p, memTargets) })
			b.Run("Batch", func(b *testing.B) { storebench.Batch(b, p, memTargets) })
		})
	}
}

// BenchmarkFootprint is item 5 of issue 10: the heap a memory store holds
// per stored alert (B/alert), next to the alert's JSON size (json-B/alert)
// and to the baseline's slice of copies (raw). Each op fills a fresh store
// with StoreSize alerts once, whatever b.N (so ns/op is the time of one
// fill divided by b.N: read only the metrics).
func BenchmarkFootprint(b *testing.B) {
	ctx := context.Background()
	n := storebench.StoreSize
	for _, impl := range []string{"store", "raw"} {
		b.Run("memory/"+impl, func(b *testing.B) {
			var perAlert, jsonBytes float64
			{
				before := heapInUse()
				var keep any
				var total int
				switch impl {
				case "store":
					cfg := backend.Config{MaxAlerts: n}
					s := backend.NewStore(memory.Open("", cfg, nil), memory.Scheme, cfg)
					for i := range n {
						a, err := backend.ParseAlert(payload.At(i))
						if err != nil {
							b.Fatal(err)
						}
						if err := s.Store(ctx, a); err != nil {
							b.Fatal(err)
						}
					}
					// What it holds is what List returns in full.
					pg, err := s.List(ctx, backend.Query{Limit: 1})
					if err != nil {
						b.Fatal(err)
					}
					enc, _ := json.Marshal(pg.Alerts[0])
					total = len(enc) * n
					keep = s
				case "raw":
					r := &baseline.Slice{}
					for i := range n {
						_ = r.Push(ctx, [][]byte{payload.At(i)})
						total += len(payload.At(i))
					}
					keep = r
				}
				perAlert = float64(heapInUse()-before) / float64(n)
				jsonBytes = float64(total) / float64(n)
				runtime.KeepAlive(keep)
			}
			b.ReportMetric(perAlert, "B/alert")
			b.ReportMetric(jsonBytes, "json-B/alert")
		})
	}
}

// heapInUse is the live heap after a full collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
