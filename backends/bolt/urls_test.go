package bolt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
)

func TestParseDSN(t *testing.T) {
	home, _ := os.UserHomeDir()
	for _, c := range []struct {
		dsn  string
		path string
		want Options
	}{
		{"bolt:///var/lib/alertstore/alerts.db", "/var/lib/alertstore/alerts.db", Options{MaxBytes: DefaultMaxBytes, Sync: SyncAlways, BatchWindow: DefaultBatchWindow, LockTimeout: DefaultLockTimeout}},
		{"bolt://./alerts.db", "alerts.db", Options{MaxBytes: DefaultMaxBytes, BatchWindow: DefaultBatchWindow, LockTimeout: DefaultLockTimeout}},
		{"bolt://./data/x/../alerts.db", "data/alerts.db", Options{MaxBytes: DefaultMaxBytes, BatchWindow: DefaultBatchWindow, LockTimeout: DefaultLockTimeout}},
		{"bolt://../alerts.db", "../alerts.db", Options{MaxBytes: DefaultMaxBytes, BatchWindow: DefaultBatchWindow, LockTimeout: DefaultLockTimeout}},
		{"bolt://~/as/alerts.db", filepath.Join(home, "as/alerts.db"), Options{MaxBytes: DefaultMaxBytes, BatchWindow: DefaultBatchWindow, LockTimeout: DefaultLockTimeout}},
		{"bolt:///a.db?max_bytes=4096&sync=batch&batch_window=5ms&lock_timeout=250ms", "/a.db", Options{MaxBytes: 4096, Sync: SyncBatch, BatchWindow: 5 * time.Millisecond, LockTimeout: 250 * time.Millisecond}},
		{"bolt:///a.db?sync=always&lock_timeout=0s", "/a.db", Options{MaxBytes: DefaultMaxBytes, BatchWindow: DefaultBatchWindow, LockTimeout: -1}},
		{"bolt:///a%20b.db", "/a b.db", Options{MaxBytes: DefaultMaxBytes, BatchWindow: DefaultBatchWindow, LockTimeout: DefaultLockTimeout}},
	} {
		t.Run(c.dsn, func(t *testing.T) {
			d, err := registry.ParseDSN(c.dsn)
			if err != nil {
				t.Fatal(err)
			}
			path, opts, err := parseDSN(d)
			if err != nil {
				t.Fatalf("parseDSN: %v", err)
			}
			if path != c.path {
				t.Errorf("path = %q, want %q", path, c.path)
			}
			if *opts != c.want {
				t.Errorf("options = %+v, want %+v", *opts, c.want)
			}
		})
	}
}

func TestParseDSNRejects(t *testing.T) {
	for _, c := range []struct{ dsn, says string }{
		{"bolt://alerts.db", `host "alerts.db"`},
		{"bolt://localhost/var/a.db", `host "localhost"`},
		{"bolt://", "no file name"},
		{"bolt:///var/lib/", "no file name"},
		{"bolt:///a.db?sync=never", `sync="never"`},
		{"bolt:///a.db?batch_window=5ms", "needs sync=batch"},
		{"bolt:///a.db?sync=batch&batch_window=5", "not a duration"},
		{"bolt:///a.db?max_bytes=10", "out of range"},
		{"bolt:///a.db?maxbytes=4096", `unknown parameter "maxbytes"`},
		{"bolt:///a.db?lock_timeout=2m", "out of range"},
		{"bolt://user:hunter2@/a.db", "user info"},
	} {
		t.Run(c.dsn, func(t *testing.T) {
			d, err := registry.ParseDSN(c.dsn)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = parseDSN(d)
			if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("parseDSN(%s) = %v, want ErrInvalidConfig saying %q", c.dsn, err, c.says)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

// TestDSNChecks: bolt:// rejects a bad DSN before it creates a directory,
// a file or a lock, and never shows a secret.
func TestDSNChecks(t *testing.T) {
	conformance.RunDSNChecks(t, conformance.DSNCase{
		DSN: "bolt://{path}?sync=batch&batch_window=1ms",
		Rejects: []conformance.DSNReject{
			{Name: "user-info", DSN: "bolt://alice:" + conformance.DSNSecret + "@{path}", Says: "user info"},
			{Name: "sync-never", DSN: "bolt://{path}?sync=never", Says: `sync="never"`},
			{Name: "batch_window-without-batch", DSN: "bolt://{path}?batch_window=5ms", Says: "needs sync=batch"},
			{Name: "max_bytes-small", DSN: "bolt://{path}?max_bytes=10", Says: "out of range"},
		},
	})
}
