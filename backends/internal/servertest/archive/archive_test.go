// Package archive_test runs export and import (package archive) and the
// watch's resume positions through real Redis and Valkey servers, with
// both client libraries: a store exported from a bolt file and imported
// into Redis lists the same alerts, in the same order, byte for byte, and
// exports to the same file; the positions a watch delivers are the
// cursors List takes (what `alertstore watch --cursor` relies on).
package archive_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/archive"
	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/backends/internal/servertest/redistest"
	"github.com/apt-detection/alertstore/backends/valkeygo"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/conformance/containers"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// storedOldestFirst returns every alert s holds as stored, oldest first.
func storedOldestFirst(t *testing.T, s *backend.Store) []string {
	t.Helper()
	var out []string
	cursor := ""
	for {
		page, err := s.List(context.Background(), backend.Query{Limit: 1000, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Alerts {
			b, _ := a.MarshalJSON()
			out = append([]string{string(b)}, out...)
		}
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

func TestRoundTripThroughRedis(t *testing.T) {
	containers.SkipShort(t)
	ctx := context.Background()
	// The source: a bolt file with the old system's alerts and made ones.
	src := redistest.Open(t, bolt.DSNFor(filepath.Join(t.TempDir(), "src.db"))+"?max_alerts=5000")
	var batch []*backend.Alert
	for _, raw := range conformance.LegacyAlerts() {
		a, err := backend.ParseAlert(raw)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, a)
	}
	for i := range 1500 {
		a := backend.NewAlert()
		_ = a.SetEntity(fmt.Sprintf("host-%d", i))
		_ = a.SetSeverity(backend.Severities()[i%len(backend.Severities())])
		_ = a.Set("n", i)
		batch = append(batch, a)
	}
	if err := src.StoreBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	want := storedOldestFirst(t, src)
	var file bytes.Buffer
	if _, err := archive.Export(ctx, src, &file, nil); err != nil {
		t.Fatal(err)
	}
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		srv := redistest.Shared(t, spec)
		for _, scheme := range []string{goredis.Scheme, valkeygo.Scheme} {
			t.Run(scheme, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				defer cancel()
				dsn := redistest.DSN(scheme, srv.Addr(), backend.Config{Prefix: redistest.Prefix(t), MaxAlerts: 5000}, "")
				dst := redistest.Open(t, dsn)
				res, err := archive.Import(ctx, dst, bytes.NewReader(file.Bytes()), nil)
				if err != nil || res.Stored != len(want) {
					t.Fatalf("import: %+v, %v; want %d stored", res, err, len(want))
				}
				got := storedOldestFirst(t, dst)
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Fatalf("alert %d:\n got %s\nwant %s", i, got[i], want[i])
					}
				}
				if len(got) != len(want) {
					t.Fatalf("%d alerts, want %d", len(got), len(want))
				}
				// Again: nothing stored twice.
				again, err := archive.Import(ctx, dst, bytes.NewReader(file.Bytes()), nil)
				if err != nil || again.Stored != 0 || again.AlreadyStored != len(want) {
					t.Fatalf("second import: %+v, %v", again, err)
				}
				var back bytes.Buffer
				if _, err := archive.Export(ctx, dst, &back, nil); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(back.Bytes(), file.Bytes()) {
					t.Errorf("the export from %s differs from the file imported", spec.Name)
				}
			})
		}
	})
}

// TestWatchPositionsAreCursors: the cursor of every alert a watch
// delivers is the one List gives the same alert, and List{After: it}
// lists exactly what was stored after it.
func TestWatchPositionsAreCursors(t *testing.T) {
	containers.SkipShort(t)
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		srv := redistest.Shared(t, spec)
		for _, scheme := range []string{goredis.Scheme, valkeygo.Scheme} {
			t.Run(scheme, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				dsn := redistest.DSN(scheme, srv.Addr(), backend.Config{Prefix: redistest.Prefix(t)}, "")
				watcher, writer := redistest.Open(t, dsn), redistest.Open(t, dsn)
				w, err := watcher.Watch(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = w.Close() }()
				const n = 6
				for i := range n {
					a := backend.NewAlert()
					_ = a.Set("n", i)
					if err := writer.Store(ctx, a); err != nil {
						t.Fatal(err)
					}
				}
				var seen []*backend.Alert
				for range n {
					a, err := w.Next(ctx)
					if err != nil {
						t.Fatal(err)
					}
					seen = append(seen, a)
				}
				page, err := writer.List(ctx, backend.Query{})
				if err != nil {
					t.Fatal(err)
				}
				listed := map[string]string{}
				for _, a := range page.Alerts {
					listed[a.ID()] = a.Cursor()
				}
				for i, a := range seen {
					if a.Cursor() == "" || a.Cursor() != listed[a.ID()] {
						t.Fatalf("watched alert %d: cursor %q, list gives %q", i, a.Cursor(), listed[a.ID()])
					}
				}
				after, err := writer.List(ctx, backend.Query{After: seen[2].Cursor()})
				if err != nil {
					t.Fatal(err)
				}
				if len(after.Alerts) != n-3 || after.Alerts[0].ID() != seen[n-1].ID() || after.Alerts[n-4].ID() != seen[3].ID() || !after.AfterReached {
					t.Fatalf("List after the third watched alert: %d alerts, AfterReached %v; want the %d after it", len(after.Alerts), after.AfterReached, n-3)
				}
			})
		}
	})
}

// TestWatchCursorResumesThroughRedis runs the command: a watch stopped
// with SIGINT prints its resume cursor; alerts stored while it is down
// are printed first by the next watch started from it, then new ones,
// with no gap and no repeat.
func TestWatchCursorResumesThroughRedis(t *testing.T) {
	containers.SkipShort(t)
	bin := filepath.Join(t.TempDir(), "alertstore")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/apt-detection/alertstore/cmd/alertstore").CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/alertstore: %v\n%s", err, out)
	}
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		srv := redistest.Shared(t, spec)
		for _, scheme := range []string{goredis.Scheme, valkeygo.Scheme} {
			t.Run(scheme, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				dsn := redistest.DSN(scheme, srv.Addr(), backend.Config{Prefix: redistest.Prefix(t)}, "")
				s := redistest.Open(t, dsn)
				put := func(names ...string) {
					for _, n := range names {
						a := backend.NewAlert()
						_ = a.SetEntity(n)
						_ = a.SetSeverity(backend.SeverityHigh)
						if strings.HasPrefix(n, "low") {
							_ = a.SetSeverity(backend.SeverityLow)
						}
						if err := s.Store(ctx, a); err != nil {
							t.Fatal(err)
						}
					}
				}
				put("old")
				got1, cur := watchUntil(ctx, t, bin, dsn, "", func() { put("n1", "low1", "n2") }, "n2")
				put("n3", "low2", "n4") // while nobody watches
				got2, _ := watchUntil(ctx, t, bin, dsn, cur, func() { put("n5") }, "n5")
				if got := fmt.Sprint(got1, got2); got != "[n1 n2] [n3 n4 n5]" {
					t.Fatalf("printed %s, want [n1 n2] [n3 n4 n5]", got)
				}
			})
		}
	})
}

// watchUntil runs `alertstore watch --min-severity high -o ndjson`
// (from cursor, when given), calls then once it follows, waits until the
// entity last is printed, stops it with SIGINT, and returns the entities
// printed and the resume cursor.
func watchUntil(ctx context.Context, t *testing.T, bin, dsn, cursor string, then func(), last string) ([]string, string) {
	t.Helper()
	args := []string{"watch", "--min-severity", "high", "-o", "ndjson"}
	if cursor != "" {
		args = append(args, "--cursor", cursor)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "ALERTSTORE_DSN="+dsn, "NO_COLOR=1")
	var stderr bytes.Buffer
	cmd.Stderr = &syncWriter{w: &stderr}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for !strings.Contains(cmd.Stderr.(*syncWriter).String(), "following") {
		if ctx.Err() != nil {
			t.Fatalf("watch never followed: %s", cmd.Stderr.(*syncWriter).String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	then()
	var printed []string
	for l := range lines {
		a, err := backend.ParseAlert([]byte(l))
		if err != nil {
			t.Fatalf("not NDJSON: %q", l)
		}
		printed = append(printed, a.Entity())
		if a.Entity() == last {
			break
		}
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	for range lines { // drain
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("watch: %v\n%s", err, cmd.Stderr.(*syncWriter).String())
	}
	_, after, ok := strings.Cut(cmd.Stderr.(*syncWriter).String(), "resume with --cursor ")
	if !ok {
		t.Fatalf("no resume cursor:\n%s", cmd.Stderr.(*syncWriter).String())
	}
	return printed, strings.Fields(after)[0]
}

// syncWriter is a writer the child's stderr copier and the test share.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
