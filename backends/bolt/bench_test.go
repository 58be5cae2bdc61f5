package bolt_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
)

// BenchmarkAppend measures acknowledged (fsync'd) alerts per second, one
// alert per Append and 100 per Append, serial and with parallel writers
// (where group commit shows).
func BenchmarkAppend(b *testing.B) {
	alert := alerts(1, 600)[0] // a realistic alert is a few hundred bytes to a few KiB
	for _, c := range []struct {
		name     string
		batch    int
		parallel bool
		opts     *bolt.Options
	}{
		{"single", 1, false, nil},
		{"batch100", 100, false, nil},
		{"single-parallel", 1, true, nil},
		{"single-parallel-syncbatch", 1, true, &bolt.Options{Sync: bolt.SyncBatch}},
	} {
		b.Run(c.name, func(b *testing.B) {
			d, err := bolt.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), backend.Config{MaxAlerts: 100_000}, c.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			batch := make([][]byte, c.batch)
			for i := range batch {
				batch[i] = alert
			}
			ctx := context.Background()
			b.SetBytes(int64(len(alert) * c.batch))
			start := time.Now()
			if c.parallel {
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := d.Append(ctx, batch); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for i := 0; i < b.N; i++ {
					if err := d.Append(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*c.batch)/time.Since(start).Seconds(), "alerts/s")
		})
	}
}
