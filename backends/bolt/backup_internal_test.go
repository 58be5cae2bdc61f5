package bolt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apt-detection/alertstore/backend"
)

// BenchmarkLiveCopy times the lock-free copy alone (liveCopy, of a file no
// process writes, so each copy takes one attempt): a writer that commits
// less often than this keeps a live backup from starving. MB/s is its
// speed.
func BenchmarkLiveCopy(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "alerts.db")
	cfg := backend.Config{MaxAlerts: 1_000_000}
	d, err := Open(context.Background(), path, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	s := backend.NewStore(d, Scheme, cfg)
	for i := range 40 {
		batch := make([]*backend.Alert, 500)
		for j := range batch {
			a := backend.NewAlert()
			_ = a.SetMessage(fmt.Sprintf("alert %d %0800d", i*500+j, 0))
			batch[j] = a
		}
		if err := s.StoreBatch(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		tmp, err := os.CreateTemp(dir, "copy-*")
		if err != nil {
			b.Fatal(err)
		}
		src, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		var info BackupInfo
		if err := liveCopy(context.Background(), src, tmp, BackupOptions{Patience: DefaultBackupPatience}, &info); err != nil || info.Attempts != 1 {
			b.Fatalf("%+v %v", info, err)
		}
		_ = src.Close()
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}
}
