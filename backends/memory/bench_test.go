package memory_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/conformance"
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
