package backend_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// fixed is a driver over a fixed list of entries, oldest first, with
// positions 1..n. It records the largest Scan limit it was asked for and
// how many entries it returned, and runs hook (if set) in every Scan.
type fixed struct {
	plain
	data     [][]byte
	tooLarge map[int]int64 // index -> size: returned as TooLarge, Data nil
	hook     func(ctx context.Context)

	maxLimit, returned, scans int
}

func (f *fixed) Scan(ctx context.Context, before int64, limit int) ([]backend.Entry, error) {
	if f.hook != nil {
		f.hook(ctx)
	}
	f.maxLimit = max(f.maxLimit, limit)
	f.scans++
	end := len(f.data)
	if before > 0 {
		end = min(end, int(before)-1)
	}
	var out []backend.Entry
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		e := backend.Entry{Pos: int64(i + 1), Data: f.data[i]}
		if n, ok := f.tooLarge[i]; ok {
			e.Data, e.TooLarge = nil, n
		}
		out = append(out, e)
	}
	f.returned += len(out)
	return out, nil
}

func alertJSON(id, sev, msg string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"timestamp":"2025-03-01T00:00:00","severity":%q,"entity":"h","message":%q}`, id, sev, msg)
}

func TestListHonoursDeadline(t *testing.T) {
	valid := make([][]byte, 100)
	for i := range valid {
		valid[i] = alertJSON(fmt.Sprintf("id-%d", i), "High", "m")
	}
	for _, c := range []struct {
		name string
		// hook runs in Scan; cancel is the List's own ctx's cancel.
		hook func(ctx context.Context, cancel context.CancelFunc)
		want error
	}{
		// The storage answers just as the deadline passes: List must not
		// go on decoding what came back.
		{"deadline-during-scan", func(ctx context.Context, _ context.CancelFunc) { <-ctx.Done() }, context.DeadlineExceeded},
		{"cancelled-during-scan", func(_ context.Context, cancel context.CancelFunc) { cancel() }, context.Canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := &fixed{data: valid, hook: func(ctx context.Context) { c.hook(ctx, cancel) }}
			s := backend.NewStore(f, "fixed", backend.Config{Timeout: 50 * time.Millisecond})
			p, err := s.List(ctx, backend.Query{})
			if !errors.Is(err, c.want) {
				t.Fatalf("List = %d alerts, %v; want an error wrapping %v", pageLen(p), err, c.want)
			}
			if errors.Is(c.want, context.DeadlineExceeded) && !errors.Is(err, backend.ErrUnavailable) {
				t.Errorf("List past its deadline: %v, want it to wrap ErrUnavailable", err)
			}
		})
	}
}

func pageLen(p *backend.Page) int {
	if p == nil {
		return -1
	}
	return len(p.Alerts)
}

func TestListScanBudget(t *testing.T) {
	junk := func(n int) [][]byte { return slices.Repeat([][]byte{[]byte("junk")}, n) }
	for _, c := range []struct {
		name        string
		data        [][]byte
		maxAlerts   int
		q           backend.Query
		wantStopped bool
		wantListed  int
		maxExamined int
	}{
		{"junk-over-cap", junk(5000), 1000, backend.Query{}, true, 0, 1000},
		{"junk-exactly-cap", junk(1000), 1000, backend.Query{}, false, 0, 1000},
		{"junk-under-cap", junk(10), 1000, backend.Query{}, false, 0, 10},
		{"page-fills-first", append(junk(5000), alertJSON("a", "High", "m"), alertJSON("b", "High", "m")), 1000, backend.Query{Limit: 2}, false, 2, 2},
		{"filter-matches-nothing", slices.Repeat([][]byte{alertJSON("", "Low", "m")}, 3000), 500, backend.Query{MinSeverity: backend.SeverityHigh}, true, 0, 500},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fixed{data: c.data}
			s := backend.NewStore(f, "fixed", backend.Config{MaxAlerts: c.maxAlerts})
			p, err := s.List(context.Background(), c.q)
			if err != nil {
				t.Fatal(err)
			}
			if p.Stopped != c.wantStopped || len(p.Alerts) != c.wantListed || p.Examined > c.maxExamined {
				t.Errorf("Stopped %v, listed %d, examined %d; want %v, %d, at most %d", p.Stopped, len(p.Alerts), p.Examined, c.wantStopped, c.wantListed, c.maxExamined)
			}
			// One entry more than the budget may be fetched, to tell a
			// store of exactly its cap from one over it.
			if f.returned > c.maxAlerts+1 {
				t.Errorf("the driver returned %d entries, want at most %d", f.returned, c.maxAlerts+1)
			}
			if c.wantStopped {
				if p.Next == "" {
					t.Fatal("a stopped List gives no cursor to continue")
				}
				next, err := s.List(context.Background(), backend.Query{Cursor: p.Next})
				if err != nil || next.Examined == 0 {
					t.Errorf("continuing after a stop: examined %d, %v", next.Examined, err)
				}
			}
		})
	}
}

// TestListChunkBoundsMemory: besides the page, a List holds one chunk of
// entries, whose count times max_alert_bytes stays within 16 MiB, 16
// entries or one page, whichever is more.
func TestListChunkBoundsMemory(t *testing.T) {
	for _, maxBytes := range []int{1 << 10, backend.DefaultMaxAlertBytes, 4 << 20} {
		for _, limit := range []int{10, 1000} {
			t.Run(fmt.Sprintf("max-alert-bytes-%d/limit-%d", maxBytes, limit), func(t *testing.T) {
				f := &fixed{data: slices.Repeat([][]byte{[]byte("junk")}, 5000)}
				s := backend.NewStore(f, "fixed", backend.Config{MaxAlerts: 5000, MaxAlertBytes: maxBytes})
				if _, err := s.List(context.Background(), backend.Query{Limit: limit}); err != nil {
					t.Fatal(err)
				}
				if held := f.maxLimit * maxBytes; held > max(16<<20, 16*maxBytes, limit*maxBytes) {
					t.Errorf("a Scan asked for %d entries of up to %d bytes (%d MiB)", f.maxLimit, maxBytes, held>>20)
				}
			})
		}
	}
}

// TestListRoundTrips: a page is fetched in one Scan, and a sparse filter
// costs a few, each chunk doubling up to the bound above: on Redis each
// Scan is a round trip.
func TestListRoundTrips(t *testing.T) {
	sparse := make([][]byte, 10_000) // one in six Critical, as the benchmark's samples
	for i := range sparse {
		sev := "Low"
		if i%6 == 0 {
			sev = "Critical"
		}
		sparse[i] = alertJSON(fmt.Sprintf("id-%d", i), sev, "m")
	}
	for _, c := range []struct {
		name      string
		maxBytes  int
		q         backend.Query
		maxScans  int
		wantAlert int
	}{
		{"newest-page-default-cap", 0, backend.Query{Limit: 100}, 1, 100},
		{"newest-page-over-byte-bound", 4 << 20, backend.Query{Limit: 100}, 1, 100},
		{"one-in-six-default-cap", 0, backend.Query{Limit: 100, MinSeverity: backend.SeverityCritical}, 6, 100},
		{"one-in-six-small-cap", 4 << 10, backend.Query{Limit: 100, MinSeverity: backend.SeverityCritical}, 3, 100},
		{"no-match-small-cap", 4 << 10, backend.Query{Limit: 100, Entity: "nobody"}, 14, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fixed{data: sparse}
			s := backend.NewStore(f, "fixed", backend.Config{MaxAlerts: len(sparse), MaxAlertBytes: c.maxBytes})
			p, err := s.List(context.Background(), c.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Alerts) != c.wantAlert || f.scans > c.maxScans {
				t.Errorf("%d alerts in %d Scans (largest %d entries); want %d in at most %d", len(p.Alerts), f.scans, f.maxLimit, c.wantAlert, c.maxScans)
			}
		})
	}
}

func TestListOversized(t *testing.T) {
	const maxBytes = 1024
	f := &fixed{
		data: [][]byte{
			alertJSON("a", "High", "m"),
			[]byte(`{"timestamp":"2025-03-01T00:00:00","pad":"` + strings.Repeat("x", maxBytes) + `"}`), // returned whole
			nil, // returned as TooLarge, as the Redis backends do
			alertJSON("b", "High", "m"),
			[]byte("junk"),
		},
		tooLarge: map[int]int64{2: 100 << 20},
	}
	s := backend.NewStore(f, "fixed", backend.Config{MaxAlertBytes: maxBytes})
	p, err := s.List(context.Background(), backend.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Alerts) != 2 || p.Skipped != 3 || p.Oversized != 2 {
		t.Errorf("listed %d, skipped %d, oversized %d; want 2, 3 (junk and both oversized), 2", len(p.Alerts), p.Skipped, p.Oversized)
	}
}

func TestListSameIDConflict(t *testing.T) {
	real := alertJSON("X", "High", "beacon to rare domain")
	forged := alertJSON("X", "Low", "all clear")
	spaced := []byte(strings.ReplaceAll(string(real), `":"`, `": "`)) // the same alert, other whitespace
	other := alertJSON("Y", "High", "other")
	for _, c := range []struct {
		name          string
		data          [][]byte // oldest first
		q             backend.Query
		wantMessages  []string // listed, newest first
		wantFlagged   []bool
		wantConflicts []string
		wantDups      int
	}{
		{"forgery-after-real", [][]byte{real, other, forged}, backend.Query{},
			[]string{"all clear", "other", "beacon to rare domain"}, []bool{true, false, true}, []string{"X"}, 0},
		{"forgery-hidden-by-filter-still-flags", [][]byte{real, forged}, backend.Query{MinSeverity: backend.SeverityHigh},
			[]string{"beacon to rare domain"}, []bool{true}, []string{"X"}, 0},
		{"forgery-before-real", [][]byte{forged, real}, backend.Query{},
			[]string{"beacon to rare domain", "all clear"}, []bool{true, true}, []string{"X"}, 0},
		{"identical-copies-deduplicated", [][]byte{real, spaced, real}, backend.Query{},
			[]string{"beacon to rare domain"}, []bool{false}, nil, 2},
		{"conflict-and-duplicate", [][]byte{real, forged, real, forged}, backend.Query{},
			[]string{"all clear", "beacon to rare domain"}, []bool{true, true}, []string{"X"}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := backend.NewStore(&fixed{data: c.data}, "fixed", backend.Config{})
			p, err := s.List(context.Background(), c.q)
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			var flagged []bool
			for _, a := range p.Alerts {
				msgs = append(msgs, a.Message())
				flagged = append(flagged, a.IDConflict())
			}
			if !slices.Equal(msgs, c.wantMessages) || !slices.Equal(flagged, c.wantFlagged) {
				t.Errorf("listed %q flagged %v; want %q flagged %v", msgs, flagged, c.wantMessages, c.wantFlagged)
			}
			if !slices.Equal(p.Conflicts, c.wantConflicts) || p.Duplicates != c.wantDups {
				t.Errorf("Conflicts %q, Duplicates %d; want %q, %d", p.Conflicts, p.Duplicates, c.wantConflicts, c.wantDups)
			}
		})
	}
}
