//go:build unix

package bolt_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
)

// A file that fails the structural check while another process holds its
// lock is busy, not damaged: a writer's file can be read between two of
// its writes. Open must say it is locked (ErrUnavailable, wait and retry),
// not tell the operator to move a live database aside (ErrInvalidConfig).
func TestBusyFileIsNotCalledDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("torn page\n", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		lock   bool
		wantIs error
		want   string
	}{
		{"locked", true, backend.ErrUnavailable, "file locked by another process"},
		{"unlocked", false, backend.ErrInvalidConfig, "not a bolt database"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.lock {
				holder, err := os.Open(path) // its own file description, as another process's
				if err != nil {
					t.Fatal(err)
				}
				defer holder.Close()
				if err := syscall.Flock(int(holder.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
					t.Fatal(err)
				}
			}
			_, err := bolt.Open(context.Background(), path, backend.Config{}, &bolt.Options{LockTimeout: 50 * time.Millisecond})
			if !errors.Is(err, c.wantIs) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open = %v, want %v saying %q", err, c.wantIs, c.want)
			}
		})
	}
}
