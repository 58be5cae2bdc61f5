package archive_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/apt-detection/alertstore/archive"
	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/registry"
)

// benchStore is a bolt store of 10,000 alerts like the old system's.
func benchStore(b *testing.B) *backend.Store {
	b.Helper()
	s, err := registry.Open(context.Background(), bolt.DSNFor(filepath.Join(b.TempDir(), "a.db"))+"?max_alerts=20000&sync=batch")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	fillB(b, s, 10_000)
	return s
}

func fillB(b *testing.B, s *backend.Store, n int) {
	b.Helper()
	var batch []*backend.Alert
	for i := range n {
		a := backend.NewAlert()
		_ = a.SetEntity("host")
		_ = a.SetSeverity(backend.SeverityHigh)
		_ = a.SetMessage("Suspicious SMB session fan-out from host1 to 14 hosts, off hours, 1.8 MB out")
		_ = a.Set("n", i)
		batch = append(batch, a)
		if len(batch) == 500 {
			if err := s.StoreBatch(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = nil
		}
	}
}

// BenchmarkExport: alerts/s exported from bolt (10,000, spooled).
func BenchmarkExport(b *testing.B) {
	s := benchStore(b)
	for b.Loop() {
		res, err := archive.Export(context.Background(), s, io.Discard, nil)
		if err != nil || res.Alerts != 10_000 {
			b.Fatal(res, err)
		}
	}
	b.ReportMetric(float64(10_000*b.N)/b.Elapsed().Seconds(), "alerts/s")
}

// BenchmarkImport: alerts/s imported into a fresh memory store, then the
// same file again into it (everything already stored).
func BenchmarkImport(b *testing.B) {
	var file bytes.Buffer
	if _, err := archive.Export(context.Background(), benchStore(b), &file, nil); err != nil {
		b.Fatal(err)
	}
	for _, again := range []bool{false, true} {
		name := "fresh"
		if again {
			name = "again"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				dst, err := registry.Open(context.Background(), "mem://?max_alerts=20000")
				if err != nil {
					b.Fatal(err)
				}
				if again {
					if _, err := archive.Import(context.Background(), dst, bytes.NewReader(file.Bytes()), nil); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				res, err := archive.Import(context.Background(), dst, bytes.NewReader(file.Bytes()), nil)
				if err != nil || res.Stored+res.AlreadyStored != 10_000 {
					b.Fatal(res, err)
				}
				_ = dst.Close()
			}
			b.ReportMetric(float64(10_000*b.N)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}
