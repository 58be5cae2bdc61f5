package bolt_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/internal/storebench"
	"github.com/apt-detection/alertstore/internal/storebench/baseline"
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

func openRaw(b *testing.B) *baseline.Bolt {
	r, err := baseline.OpenBolt(filepath.Join(b.TempDir(), "raw.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Close() })
	return r
}

// privateDir is a fresh directory only we can list (bolt warns otherwise).
func privateDir(b *testing.B) string {
	dir := b.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	return dir
}

// usedBytes is what the buckets of the bolt file at path occupy (leaf
// and branch pages allocated), without the file's free and preallocated
// pages.
func usedBytes(b *testing.B, path string) int64 {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n int64
	err = db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(_ []byte, bk *bbolt.Bucket) error {
			st := bk.Stats()
			n += int64(st.BranchAlloc + st.LeafAlloc)
			return nil
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func openStore(b *testing.B, path string, cfg backend.Config) *backend.Store {
	d, err := bolt.Open(context.Background(), path, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	s := backend.NewStore(d, bolt.Scheme, cfg)
	b.Cleanup(func() { _ = s.Close() })
	return s
}

var boltTargets = []storebench.Target{{
	Name: "bolt",
	Open: func(b *testing.B, cfg backend.Config) (*backend.Store, storebench.Raw) {
		return openStore(b, filepath.Join(privateDir(b), "store.db"), cfg), openRaw(b)
	},
}}

var payload = storebench.Payload(conformance.LegacyAlerts())

// The rows of the suite (internal/storebench; docs/performance.md).
func BenchmarkSuiteWrite(b *testing.B) { storebench.Write(b, payload, boltTargets) }
func BenchmarkSuiteBatch(b *testing.B) { storebench.Batch(b, payload, boltTargets) }
func BenchmarkSuiteList(b *testing.B)  { storebench.List(b, payload, boltTargets) }
func BenchmarkSuiteCount(b *testing.B) { storebench.Count(b, payload, boltTargets) }

// BenchmarkFootprint is item 5 of issue 10: the bolt file's size per
// stored alert (file-B/alert) and the pages its buckets use per alert
// (B/alert) after StoreSize alerts in batches of 100, next to the alerts'
// JSON size (json-B/alert) and to the baseline's file (raw).
// It fills once, whatever b.N: read only the metrics.
func BenchmarkFootprint(b *testing.B) {
	ctx := context.Background()
	n := storebench.StoreSize
	for _, impl := range []string{"store", "raw"} {
		b.Run("bolt/"+impl, func(b *testing.B) {
			var path string
			var push func(vals [][]byte) error
			var closeDB func() error
			switch impl {
			case "store":
				path = filepath.Join(privateDir(b), "store.db")
				s := openStore(b, path, backend.Config{MaxAlerts: n})
				closeDB = s.Close
				push = func(vals [][]byte) error {
					alerts := make([]*backend.Alert, len(vals))
					for i, v := range vals {
						a, err := backend.ParseAlert(v)
						if err != nil {
							return err
						}
						alerts[i] = a
					}
					return s.StoreBatch(ctx, alerts)
				}
			case "raw":
				r := openRaw(b)
				path = r.DB.Path()
				push = func(vals [][]byte) error { return r.Push(ctx, vals) }
				closeDB = r.DB.Close
			}
			total := 0
			for i := 0; i < n; i += 100 {
				vals := make([][]byte, 100)
				for j := range vals {
					vals[j] = payload.At(i + j)
					total += len(vals[j])
				}
				if err := push(vals); err != nil {
					b.Fatal(err)
				}
			}
			if err := closeDB(); err != nil {
				b.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(usedBytes(b, path))/float64(n), "B/alert")
			b.ReportMetric(float64(fi.Size())/float64(n), "file-B/alert")
			b.ReportMetric(float64(total)/float64(n), "json-B/alert")
		})
	}
}
