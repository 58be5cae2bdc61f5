package archive_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/archive"
	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	_ "github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
)

func open(t *testing.T, dsn string) *backend.Store {
	t.Helper()
	s, err := registry.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func boltDSN(t *testing.T, name, params string) string {
	return bolt.DSNFor(filepath.Join(t.TempDir(), name)) + params
}

// stored returns every alert s holds, oldest first, as stored (compact).
func stored(t *testing.T, s *backend.Store) []string {
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
			out = append(out, string(b))
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// fill stores the old system's sample alerts and n made ones, in batches,
// in a known order; it returns them as stored, oldest first.
func fill(t *testing.T, s *backend.Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	var batch []*backend.Alert
	for _, raw := range conformance.LegacyAlerts() {
		a, err := backend.ParseAlert(raw)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, a)
	}
	for i := range n {
		a := backend.NewAlert()
		_ = a.SetEntity(fmt.Sprintf("host-%d", i))
		_ = a.SetSeverity(backend.Severities()[i%len(backend.Severities())])
		_ = a.SetMessage(fmt.Sprintf("alert %d: é \u2192 %q", i, "x"))
		_ = a.Set("n", i)
		batch = append(batch, a)
		if len(batch) == 97 {
			if err := s.StoreBatch(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	if err := s.StoreBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	return stored(t, s)
}

func lines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestRoundTrip exports a bolt store and imports the file into a memory
// store and a second bolt file: both hold the same alerts, in the same
// order, with the same ids, byte for byte.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := open(t, boltDSN(t, "src.db", "?max_alerts=5000"))
	want := fill(t, src, 1200)
	for _, pageSize := range []int{0, 7, 1000, 5000} {
		t.Run(fmt.Sprintf("page=%d", pageSize), func(t *testing.T) {
			var buf bytes.Buffer
			var phases []string
			spoolDir := t.TempDir()
			res, err := archive.Export(ctx, src, &buf, &archive.ExportOptions{PageSize: pageSize, SpoolDir: spoolDir, Progress: func(p archive.Progress) {
				if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
					phases = append(phases, p.Phase)
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Alerts != len(want) || res.Trimmed != 0 || res.Skipped != 0 {
				t.Fatalf("export: %+v, want %d alerts", res, len(want))
			}
			if left, _ := os.ReadDir(spoolDir); len(left) > 0 {
				t.Errorf("the spool was left behind: %v", left)
			}
			if got := strings.Join(phases, ","); got != "read,write" {
				t.Errorf("progress phases %s, want read,write", got)
			}
			if got := lines(buf.Bytes()); !equal(got, want) {
				t.Fatalf("the export is not the stored alerts oldest first: %s", diff(got, want))
			}
			for _, dsn := range []string{"mem://?max_alerts=5000", boltDSN(t, "dst.db", "?max_alerts=5000")} {
				dst := open(t, dsn)
				ir, err := archive.Import(ctx, dst, bytes.NewReader(buf.Bytes()), nil)
				if err != nil {
					t.Fatalf("import into %s: %v", dst.Backend(), err)
				}
				if ir.Stored != len(want) || ir.AlreadyStored != 0 || ir.Invalid != 0 || ir.Conflicts != 0 {
					t.Errorf("import into %s: %+v", dst.Backend(), ir)
				}
				if got := stored(t, dst); !equal(got, want) {
					t.Errorf("%s after import: %s", dst.Backend(), diff(got, want))
				}
			}
		})
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

func diff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("%d alerts, want %d", len(got), len(want))
}

// TestImportResumes interrupts an import after its first batches, then
// runs the same import again: every alert is stored once, in file order.
func TestImportResumes(t *testing.T) {
	src := open(t, "mem://?max_alerts=5000")
	want := fill(t, src, 700)
	file := []byte(strings.Join(want, "\n") + "\n")
	for _, c := range []struct {
		name string
		stop func(cancel func(), r archive.ImportResult)
	}{
		{"cancelled", func(cancel func(), r archive.ImportResult) {
			if r.Stored >= 200 {
				cancel()
			}
		}},
		{"never", func(func(), archive.ImportResult) {}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dst := open(t, boltDSN(t, "dst.db", "?max_alerts=5000"))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first, err := archive.Import(ctx, dst, bytes.NewReader(file), &archive.ImportOptions{Batch: 100, Progress: func(r archive.ImportResult) { c.stop(cancel, r) }})
			if c.name == "cancelled" {
				if !errors.Is(err, context.Canceled) || first.Stored < 200 || first.Stored >= len(want) {
					t.Fatalf("first run: %+v, %v; want interrupted after 200", first, err)
				}
				if first.StoredThrough != first.Stored {
					t.Errorf("first run stored %d but says through line %d", first.Stored, first.StoredThrough)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			second, err := archive.Import(context.Background(), dst, bytes.NewReader(file), &archive.ImportOptions{Batch: 100})
			if err != nil {
				t.Fatal(err)
			}
			if first.Stored+second.Stored != len(want) || second.AlreadyStored != first.Stored || second.Conflicts+second.Invalid != 0 {
				t.Errorf("first %+v, second %+v: want %d stored once", first, second, len(want))
			}
			if got := stored(t, dst); !equal(got, want) {
				t.Errorf("after the second run: %s", diff(got, want))
			}
		})
	}
}

// TestImportRejects checks each line that is not stored: reported by
// number with the reason, the rest stored, nothing stored overwritten.
func TestImportRejects(t *testing.T) {
	ctx := context.Background()
	dst := open(t, "mem://?max_alerts=100&max_alert_bytes=2048")
	a := `{"id":"a1","timestamp":"2025-03-01T12:00:00","severity":"High","entity":"h1"}`
	if err := dst.Store(ctx, mustParse(t, a)); err != nil {
		t.Fatal(err)
	}
	input := strings.Join([]string{
		`{"id":"b1","timestamp":"2025-03-01T12:00:01","severity":"Low","entity":"h2"}`, // 1 stored
		a, // 2 already stored
		`{"id":"a1","timestamp":"2025-03-01T12:00:00","severity":"Low","entity":"h1"}`, // 3 conflict
		`not json`,                     // 4 invalid
		``,                             // 5 blank
		`{"id":"c1","severity":"Low"}`, // 6 no timestamp
		`{"id":"d1","timestamp":"2025-03-01T12:00:02","severity":"urgent"}`,                       // 7 bad severity
		`{"id":"e1","timestamp":"2025-03-01T12:00:03","pad":"` + strings.Repeat("x", 3000) + `"}`, // 8 over max_alert_bytes
		`{"id":"f1","timestamp":"2025-03-01T12:00:04","pad":"` + strings.Repeat("y", 9000) + `"}`, // 9 over the line limit
		`{"id":"b1","timestamp":"2025-03-01T12:00:01","severity":"Low","entity":"h2"}`,            // 10 twice in the file
		`{"timestamp":"2025-03-01T12:00:05","entity":"legacy"}`,                                   // 11 no id: stored with one
		`{"timestamp":"2025-03-01T12:00:05","entity":"legacy"}`,                                   // 12 the same again
		`{"id":"g1","timestamp":"2025-03-01T12:00:06"}`,                                           // 13 stored, no newline
	}, "\n")
	var rejected []string
	res, err := archive.Import(ctx, dst, strings.NewReader(input), &archive.ImportOptions{Reject: func(le *archive.LineError) {
		kind := "invalid"
		if errors.Is(le.Err, archive.ErrConflict) {
			kind = "conflict"
		} else if !errors.Is(le.Err, backend.ErrInvalidAlert) {
			kind = "other: " + le.Err.Error()
		}
		rejected = append(rejected, strconv.Itoa(le.Line)+" "+kind)
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantRejected := "3 conflict,4 invalid,6 invalid,7 invalid,8 invalid,9 invalid"
	if got := strings.Join(rejected, ","); got != wantRejected {
		t.Errorf("rejected %s, want %s", got, wantRejected)
	}
	want := archive.ImportResult{Lines: 13, Stored: 3, AlreadyStored: 3, Invalid: 5, Conflicts: 1, StoredThrough: 13}
	if res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	var got []string
	for _, s := range stored(t, dst) {
		a := mustParse(t, s)
		if a.ID() == "" {
			t.Errorf("stored without an id: %s", s)
		}
		if a.ID() == "a1" && a.Severity() != backend.SeverityHigh {
			t.Errorf("a1 overwritten: %s", s)
		}
		if a.Entity() == "legacy" {
			got = append(got, "legacy")
			continue
		}
		got = append(got, a.ID())
	}
	if want := "a1 b1 legacy g1"; strings.Join(got, " ") != want {
		t.Errorf("stored %v, want %s", got, want)
	}
	// The alert without an id got one; the same file again stores
	// nothing.
	again, err := archive.Import(ctx, dst, strings.NewReader(input), nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Stored != 0 || again.AlreadyStored != 6 || again.Conflicts != 1 {
		t.Errorf("second run: %+v, want nothing stored, 6 already stored, the conflict again", again)
	}
	// Another alert with b1's id, in a later file: a conflict too.
	res2, err := archive.Import(ctx, dst, strings.NewReader(`{"id":"b1","timestamp":"2025-03-01T12:00:01","severity":"Low","entity":"forged"}`), nil)
	if err != nil || res2.Conflicts != 1 || res2.Stored != 0 {
		t.Errorf("b1 with other content: %+v, %v; want a conflict", res2, err)
	}
}

func mustParse(t *testing.T, s string) *backend.Alert {
	t.Helper()
	a, err := backend.ParseAlert([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestImportOverCap: importing more than the store's cap keeps the newest
// and says how many the cap dropped.
func TestImportOverCap(t *testing.T) {
	src := open(t, "mem://?max_alerts=100")
	want := fill(t, src, 10-len(conformance.LegacyAlerts()))
	dst := open(t, "mem://?max_alerts=4")
	res, err := archive.Import(context.Background(), dst, strings.NewReader(strings.Join(want, "\n")), nil)
	if err != nil || res.Stored != 10 || res.Trimmed != 6 {
		t.Fatalf("import: %+v, %v; want 10 stored, 6 trimmed", res, err)
	}
	if got := stored(t, dst); !equal(got, want[6:]) {
		t.Errorf("after import: %s", diff(got, want[6:]))
	}
}

// TestExportDuringWrites exports a full store that a writer keeps
// appending to (and so trimming): the export is a run of consecutive
// alerts, none twice, ending with the newest stored when it began, and
// says how many it lost to trimming.
func TestExportDuringWrites(t *testing.T) {
	for _, dsn := range []string{"mem://?max_alerts=2000", boltDSN(t, "w.db", "?max_alerts=2000&sync=batch")} {
		s := open(t, dsn)
		t.Run(s.Backend(), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var acked atomic.Int64 // the highest n acknowledged
			var wg sync.WaitGroup
			write := func(from, to int) error {
				var batch []*backend.Alert
				for n := from; n < to; n++ {
					a := backend.NewAlert()
					_ = a.Set("n", n)
					batch = append(batch, a)
				}
				if err := s.StoreBatch(context.Background(), batch); err != nil {
					return err
				}
				acked.Store(int64(to - 1))
				return nil
			}
			if err := write(0, 2000); err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 2000; ctx.Err() == nil && n < 3500; n += 10 { // at most 1500: some of the 2000 always stay
					if err := write(n, n+10); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			time.Sleep(5 * time.Millisecond)
			before := acked.Load()
			var buf bytes.Buffer
			res, err := archive.Export(ctx, s, &buf, &archive.ExportOptions{PageSize: 50, Progress: func(archive.Progress) { time.Sleep(100 * time.Microsecond) }})
			cancel()
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			got := lines(buf.Bytes())
			if len(got) != res.Alerts || len(got) == 0 {
				t.Fatalf("%d lines, result %+v", len(got), res)
			}
			var first, last int64
			for i, l := range got {
				raw, _ := mustParse(t, l).Get("n")
				n, _ := strconv.ParseInt(string(raw), 10, 64)
				if i == 0 {
					first = n
				} else if n != last+1 {
					t.Fatalf("line %d: n=%d after %d: a gap or a repeat; %+v\n%s", i+1, n, last, res, strings.Join(got[:min(len(got), 60)], "\n"))
				}
				last = n
			}
			if last < before {
				t.Errorf("the export ends at %d, before the newest acknowledged when it began (%d)", last, before)
			}
			t.Logf("FIGURES: %s: exported %d..%d (%d), trimmed during the export %d, writer at %d", s.Backend(), first, last, len(got), res.Trimmed, acked.Load())
		})
	}
}

// TestExportTrimmed: writes made while the export reads (from its
// progress callback, so at a known point) push the oldest alerts out: the
// export holds the rest, oldest first, and counts what it lost.
func TestExportTrimmed(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"mem://?max_alerts=200", boltDSN(t, "t.db", "?max_alerts=200")} {
		s := open(t, dsn)
		t.Run(s.Backend(), func(t *testing.T) {
			want := fill(t, s, 200-len(conformance.LegacyAlerts()))
			pushed := false
			var buf bytes.Buffer
			res, err := archive.Export(ctx, s, &buf, &archive.ExportOptions{PageSize: 50, Progress: func(p archive.Progress) {
				if p.Phase == "read" && !pushed {
					pushed = true // after the first page: 120 more trim the oldest 120
					fill(t, s, 120-len(conformance.LegacyAlerts()))
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Trimmed != 120 || res.Alerts != 80 {
				t.Errorf("result %+v: want 80 alerts, 120 trimmed", res)
			}
			if got := lines(buf.Bytes()); !equal(got, want[120:]) {
				t.Errorf("export: %s", diff(got, want[120:]))
			}
		})
	}
}

// TestExportWriteError: a failing writer stops the export with its error.
func TestExportWriteError(t *testing.T) {
	s := open(t, "mem://")
	fill(t, s, 10)
	boom := errors.New("disk full")
	_, err := archive.Export(context.Background(), s, failWriter{boom}, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

var _ io.Writer = failWriter{}
