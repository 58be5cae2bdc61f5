package bolt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/conformance"
)

// harness opens every driver on one file, one bucket per prefix, as the
// CLI does; both sync modes run the suite.
type harness struct {
	path string
	opts *bolt.Options
}

func (h harness) MakeDriver(ctx context.Context, cfg backend.Config) (backend.Driver, error) {
	return bolt.Open(ctx, h.path, cfg, h.opts)
}

func (harness) Close() {}

func TestConformance(t *testing.T) {
	for _, c := range []struct {
		name string
		opts *bolt.Options
	}{
		{"always", nil},
		{"batch", &bolt.Options{Sync: bolt.SyncBatch}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "alerts.db")
			conformance.RunConformanceTests(t, func(context.Context, testing.TB) (conformance.Harness, error) {
				return harness{path: path, opts: c.opts}, nil
			})
		})
	}
}

func open(t *testing.T, path string, cfg backend.Config, opts *bolt.Options) backend.Driver {
	t.Helper()
	d, err := bolt.Open(context.Background(), path, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func alerts(n int, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		pad := strings.Repeat("x", max(size-80, 0))
		out[i] = []byte(fmt.Sprintf(`{"id":"a%04d","timestamp":"2025-03-01T00:00:00","pad":"%s"}`, i, pad))
	}
	return out
}

func scanAll(t *testing.T, d backend.Driver) []backend.Entry {
	t.Helper()
	var out []backend.Entry
	before := int64(0)
	for {
		es, err := d.Scan(context.Background(), before, 7)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, es...)
		if len(es) < 7 {
			return out
		}
		before = es[len(es)-1].Pos
	}
}

// A second holder of the file lock (another process, in production) makes
// Open fail within lock_timeout with a message that says so, not hang.
func TestOpenLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.db")
	other, err := bbolt.Open(path, 0o600, nil) // its own file description: a lock holder like another process
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	start := time.Now()
	_, err = bolt.Open(context.Background(), path, backend.Config{}, &bolt.Options{LockTimeout: 200 * time.Millisecond})
	took := time.Since(start)
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "file locked by another process") {
		t.Fatalf("Open of a locked file = %v, want ErrUnavailable saying the file is locked", err)
	}
	if took > 2*time.Second {
		t.Fatalf("Open of a locked file took %s, want about the 200ms lock timeout", took)
	}
}

func TestMaxBytesDropsOldest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.db")
	d := open(t, path, backend.Config{MaxAlerts: 1000}, &bolt.Options{MaxBytes: 2048})
	defer d.Close()
	ctx := context.Background()
	in := alerts(10, 500)
	for _, a := range in {
		if err := d.Append(ctx, [][]byte{a}); err != nil {
			t.Fatal(err)
		}
	}
	got := scanAll(t, d)
	if len(got) != 4 || !bytes.Equal(got[0].Data, in[9]) || !bytes.Equal(got[3].Data, in[6]) {
		t.Fatalf("kept %d entries, want the newest 4 (4*500 bytes <= 2048)", len(got))
	}
	if n, _ := d.Count(ctx); n != 4 {
		t.Fatalf("Count = %d, want 4", n)
	}
	// One alert over the byte bound is still stored, alone.
	huge := alerts(1, 4000)[0]
	if err := d.Append(ctx, [][]byte{huge}); err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, d); len(got) != 1 || !bytes.Equal(got[0].Data, huge) {
		t.Fatalf("after an oversized alert: %d entries, want it alone", len(got))
	}
}

// Clear keeps the position counter: a cursor taken before Clear never
// points into alerts stored after it, and positions survive reopening.
func TestClearKeepsPositions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.db")
	ctx := context.Background()
	d := open(t, path, backend.Config{}, nil)
	if err := d.Append(ctx, alerts(3, 0)); err != nil {
		t.Fatal(err)
	}
	last := scanAll(t, d)[0].Pos
	if err := d.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = open(t, path, backend.Config{}, nil)
	defer d.Close()
	if n, _ := d.Count(ctx); n != 0 {
		t.Fatalf("Count after Clear and reopen = %d", n)
	}
	if err := d.Append(ctx, alerts(1, 0)); err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, d); len(got) != 1 || got[0].Pos <= last {
		t.Fatalf("after Clear, new entry at %v, want one entry after position %d", got, last)
	}
	if es, _ := d.Scan(ctx, last+1, 10); len(es) != 0 {
		t.Fatalf("a cursor from before Clear sees %d entries stored after it", len(es))
	}
}

// Appends committed in one group are told to watchers in commit order,
// whichever driver of the file made them.
func TestWatchOrderUnderConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "alerts.db")
	d1 := open(t, path, backend.Config{MaxAlerts: 10000}, &bolt.Options{Sync: bolt.SyncBatch})
	defer d1.Close()
	d2 := open(t, path, backend.Config{MaxAlerts: 10000}, nil)
	defer d2.Close()
	sub, err := d1.(backend.Watcher).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	const writers, each = 4, 50
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			d := d1
			if w%2 == 1 {
				d = d2
			}
			for i := 0; i < each; i++ {
				if err := d.Append(ctx, [][]byte{[]byte(fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))}); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	var last int64
	for n := 0; n < writers*each; n++ {
		e, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if e.Pos <= last {
			t.Fatalf("watch delivered position %d after %d", e.Pos, last)
		}
		last = e.Pos
	}
}
