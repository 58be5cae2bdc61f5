package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/conformance"
)

const backupWriterRole = "backup-writer"

// backupCfg holds every alert the tests write: nothing is trimmed, so a
// backup must hold every alert acknowledged before it began.
var backupCfg = backend.Config{MaxAlerts: 1_000_000}

func openBackupStore(t testing.TB, path string, o *bolt.Options) *backend.Store {
	t.Helper()
	d, err := bolt.Open(context.Background(), path, backupCfg, o)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return backend.NewStore(d, bolt.Scheme, backupCfg)
}

// numbers returns the "n" of every alert in the file at path, opened
// read-only, oldest first.
func numbers(t testing.TB, path string) []int {
	t.Helper()
	s := openBackupStore(t, path, &bolt.Options{ReadOnly: true})
	defer func() { _ = s.Close() }()
	var ns []int
	cursor := ""
	for {
		page, err := s.List(context.Background(), backend.Query{Limit: 1000, Cursor: cursor})
		if err != nil {
			t.Fatalf("listing %s: %v", path, err)
		}
		if page.Skipped > 0 {
			t.Errorf("%s: %d entries are not alerts", path, page.Skipped)
		}
		for _, a := range page.Alerts {
			raw, _ := a.Get("n")
			n, err := strconv.Atoi(string(raw))
			if err != nil {
				t.Fatalf("alert without n: %v", a)
			}
			ns = append(ns, n)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	for i, j := 0, len(ns)-1; i < j; i, j = i+1, j-1 {
		ns[i], ns[j] = ns[j], ns[i]
	}
	return ns
}

// bboltCheck runs bbolt's own consistency check on the file at path, as
// a second opinion on Backup's.
func bboltCheck(path string) error {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	return db.View(func(tx *bbolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// checkHolds checks that ns is 0, 1, 2, ... with at least upTo+1 of them:
// every alert acknowledged up to upTo, in order, none twice.
func checkHolds(ns []int, upTo int) error {
	for i, n := range ns {
		if n != i {
			return fmt.Errorf("alert %d is n=%d: a gap, a repeat or a torn page", i, n)
		}
	}
	if len(ns) <= upTo {
		return fmt.Errorf("holds %d alerts, but %d were acknowledged before the backup began", len(ns), upTo+1)
	}
	return nil
}

// writeNumbered stores n = from, from+1, ... to s in batches of batch, and
// calls acked with the highest stored after each batch, until stop.
func writeNumbered(s *backend.Store, from, batch int, pause time.Duration, stop func() bool, acked func(int)) error {
	for n := from; !stop(); n += batch {
		alerts := make([]*backend.Alert, batch)
		for i := range alerts {
			a := backend.NewAlert()
			_ = a.Set("n", n+i)
			_ = a.SetMessage(strings.Repeat("payload ", 100))
			alerts[i] = a
		}
		if err := s.StoreBatch(context.Background(), alerts); err != nil {
			return err
		}
		acked(n + batch - 1)
		time.Sleep(pause)
	}
	return nil
}

// TestBackupWhileAnotherProcessWrites runs backups in a loop while another
// process (this test binary again) holds the file and commits to it: each
// backup is a lock-free copy that passes bbolt's check and holds every
// alert acknowledged before it began. The first attempt of each backup
// waits, after its first chunk, until the writer has committed twice: the
// page the copy reads next may then have been rewritten, so that attempt
// must be discarded (Attempts >= 2), and the copy made again.
func TestBackupWhileAnotherProcessWrites(t *testing.T) {
	if role, arg, ok := conformance.ChildRole(t); ok {
		if role != backupWriterRole {
			return
		}
		s := openBackupStore(t, arg, nil)
		err := writeNumbered(s, 0, 3, 2*time.Millisecond, func() bool { return false }, func(n int) { fmt.Printf("ack %d\n", n) })
		fmt.Printf("ERR %v\n", err) // writes until killed
		select {}
	}
	if testing.Short() {
		t.Skip("re-executes the test binary as a writer; not with -short")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.db")
	var acked atomic.Int64
	acked.Store(-1)
	var finished atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer finished.Store(true)
		for acked.Load() < 1000 { // a file of a few chunks
			time.Sleep(10 * time.Millisecond)
		}
		defer bolt.SetLiveCopyPaused(func(attempt int) {
			if attempt > 1 {
				return
			}
			// Two commits of the writer's batches of 3: the second
			// may have rewritten pages of the copied commit.
			deadline := time.Now().Add(30 * time.Second) // a writer that died ends the wait
			for from := acked.Load(); acked.Load() < from+6 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
		})()
		const backups = 12
		var attempts []int
		for i := range backups {
			before := int(acked.Load())
			out := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
			info, err := bolt.Backup(context.Background(), path, out, nil)
			if err != nil {
				t.Errorf("backup %d: %v", i, err)
				return
			}
			if !info.Live || info.Attempts < 2 {
				t.Errorf("backup %d: %+v: want a lock-free copy (the writer holds the lock) whose first attempt, during which the writer committed twice, was discarded", i, info)
			}
			if err := bboltCheck(out); err != nil {
				t.Errorf("backup %d (tx %d): bbolt's check: %v", i, info.TxID, err)
			}
			if err := checkHolds(numbers(t, out), before); err != nil {
				t.Errorf("backup %d (tx %d): %v", i, info.TxID, err)
			}
			attempts = append(attempts, info.Attempts)
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("FIGURES: %d lock-free backups during writes, attempts each %v, writer at n=%d", backups, attempts, acked.Load())
	}()
	conformance.Reexec(t, backupWriterRole, path, 2*time.Minute, func(line string) bool {
		if n, ok := strings.CutPrefix(line, "ack "); ok {
			v, _ := strconv.Atoi(n)
			acked.Store(int64(v))
		}
		return finished.Load()
	})
	wg.Wait()
}

// TestBackup covers the two ways with the lock (this process has the
// file open and writes meanwhile; nobody has it open) and the refusals,
// after which the destination is as it was.
func TestBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.db")

	t.Run("open-in-this-process", func(t *testing.T) {
		s := openBackupStore(t, path, nil)
		defer func() { _ = s.Close() }()
		var acked atomic.Int64
		var stop atomic.Bool
		done := make(chan error, 1)
		go func() {
			done <- writeNumbered(s, 0, 5, 0, stop.Load, func(n int) { acked.Store(int64(n)) })
		}()
		for acked.Load() < 200 {
			time.Sleep(time.Millisecond)
		}
		before := int(acked.Load())
		out := filepath.Join(dir, "live.db")
		info, err := bolt.Backup(ctx, path, out, nil)
		stop.Store(true)
		if werr := <-done; werr != nil {
			t.Fatal(werr)
		}
		if err != nil {
			t.Fatal(err)
		}
		if info.Live || info.Path != out || info.Bytes == 0 {
			t.Errorf("info %+v: want bbolt's own copy of the open file", info)
		}
		if err := checkHolds(numbers(t, out), before); err != nil {
			t.Error(err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		want := numbers(t, path)
		out := filepath.Join(dir, "closed.db")
		if err := os.WriteFile(out, []byte("an older backup"), 0o600); err != nil {
			t.Fatal(err)
		}
		info, err := bolt.Backup(ctx, path, out, nil)
		if err != nil {
			t.Fatal(err)
		}
		if info.Live {
			t.Errorf("info %+v: nobody holds the lock, want bbolt's own copy", info)
		}
		if err := checkHolds(numbers(t, out), len(want)-1); err != nil {
			t.Error(err)
		}
		// The source opens for writing again: the read-only copy let go.
		s := openBackupStore(t, path, &bolt.Options{LockTimeout: -1})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})

	damaged := filepath.Join(dir, "damaged.db")
	if err := os.WriteFile(damaged, []byte(strings.Repeat("not a bolt file ", 1024)), 0o600); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "existing.db")
	for _, c := range []struct {
		name, src, dst, dsn string
		want                string
	}{
		{name: "not-bolt", dsn: "mem://x", dst: existing, want: "alertstore export"},
		{name: "redis", dsn: "redis://localhost:6379/0", dst: existing, want: "BGSAVE"},
		{name: "bad-bolt-dsn", dsn: bolt.DSNFor(path) + "?bogus=1", dst: existing, want: "bogus"},
		{name: "into-itself", src: path, dst: path, want: "is the bolt file itself"},
		{name: "into-directory", src: path, dst: dir, want: "is a directory"},
		{name: "missing", src: filepath.Join(dir, "nope.db"), dst: existing, want: "does not exist"},
		{name: "damaged", src: damaged, dst: existing, want: "not a bolt database"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
				t.Fatal(err)
			}
			var err error
			if c.dsn != "" {
				_, err = bolt.BackupDSN(ctx, c.dsn, c.dst)
			} else {
				_, err = bolt.Backup(ctx, c.src, c.dst, nil)
			}
			if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrInvalidConfig saying %q", err, c.want)
			}
			if b, _ := os.ReadFile(existing); string(b) != "keep me" {
				t.Errorf("the destination changed: %q", b)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// BenchmarkBackup backs up a closed file of 20,000 alerts (bbolt's own
// copy, then the checks): MB/s is the backup's speed.
func BenchmarkBackup(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "alerts.db")
	s := openBackupStore(b, path, nil)
	stop := 0
	if err := writeNumbered(s, 0, 500, 0, func() bool { stop++; return stop > 40 }, func(int) {}); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for b.Loop() {
		if _, err := bolt.Backup(context.Background(), path, filepath.Join(dir, "out.db"), nil); err != nil {
			b.Fatal(err)
		}
	}
}
