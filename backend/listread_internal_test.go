package backend

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func listedJSON(id, sev, msg string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"timestamp":"2025-03-01T00:00:00","severity":%q,"message":%q}`, id, sev, msg)
}

// TestPageReaderCopies: duplicates and conflicts come out the same whether
// the first copy of an id is kept as bytes (the usual case) or, past the
// reader's budget, only as its sum.
func TestPageReaderCopies(t *testing.T) {
	real := listedJSON("X", "High", "beacon")
	forged := listedJSON("X", "Low", "all clear")
	spaced := []byte(strings.ReplaceAll(string(real), `":"`, `": "`))
	reordered := []byte(`{"timestamp":"2025-03-01T00:00:00","id":"X","severity":"High","message":"beacon"}`)
	other := listedJSON("Y", "High", "other")
	high := func(a *Alert) bool { return a.Severity() >= SeverityHigh }
	all := func(*Alert) bool { return true }
	for _, c := range []struct {
		name          string
		entries       [][]byte // in the order List examines them (newest first)
		match         func(*Alert) bool
		wantListed    []string // messages
		wantFlagged   []bool
		wantConflicts []string
		wantDups      int
	}{
		{"distinct-ids", [][]byte{real, other}, all, []string{"beacon", "other"}, []bool{false, false}, nil, 0},
		{"identical-and-spaced-copies", [][]byte{real, spaced, real}, all, []string{"beacon"}, []bool{false}, nil, 2},
		{"key-order-is-other-content", [][]byte{real, reordered}, all, []string{"beacon", "beacon"}, []bool{true, true}, []string{"X"}, 0},
		{"conflict-flags-the-listed-copy", [][]byte{real, other, forged}, all, []string{"beacon", "other", "all clear"}, []bool{true, false, true}, []string{"X"}, 0},
		{"conflict-then-duplicates-of-both", [][]byte{real, forged, real, forged, spaced}, all, []string{"beacon", "all clear"}, []bool{true, true}, []string{"X"}, 3},
		{"filtered-first-copy-still-conflicts", [][]byte{forged, real}, high, []string{"beacon"}, []bool{true}, []string{"X"}, 0},
		{"filtered-first-copy-still-deduplicates", [][]byte{forged, forged, real}, high, []string{"beacon"}, []bool{true}, []string{"X"}, 1},
	} {
		for _, keep := range []struct {
			name string
			max  int
		}{{"kept", listKeptBytes}, {"summed", 0}} {
			t.Run(c.name+"/"+keep.name, func(t *testing.T) {
				page := &Page{}
				r := newPageReader(page, DefaultMaxAlertBytes)
				r.keepMax = keep.max
				for i, data := range c.entries {
					a := r.admit(Entry{Pos: int64(len(c.entries) - i), Data: data})
					if a != nil && c.match(a) {
						page.Alerts = append(page.Alerts, a)
						r.listed(a)
					}
				}
				var msgs []string
				var flagged []bool
				for _, a := range page.Alerts {
					msgs = append(msgs, a.Message())
					flagged = append(flagged, a.IDConflict())
				}
				if !slices.Equal(msgs, c.wantListed) || !slices.Equal(flagged, c.wantFlagged) {
					t.Errorf("listed %q flagged %v; want %q flagged %v", msgs, flagged, c.wantListed, c.wantFlagged)
				}
				if !slices.Equal(page.Conflicts, c.wantConflicts) || page.Duplicates != c.wantDups {
					t.Errorf("Conflicts %q, Duplicates %d; want %q, %d", page.Conflicts, page.Duplicates, c.wantConflicts, c.wantDups)
				}
				if keep.max == 0 && r.kept != 0 {
					t.Errorf("kept %d bytes of first copies with a budget of 0", r.kept)
				}
			})
		}
	}
}

// TestPageReaderLazy: entries with distinct ids (the usual List) cost no
// hashing and one allocation each beside the decoded alert: the reader
// does its duplicate work only when an id comes back.
func TestPageReaderLazy(t *testing.T) {
	const n = 1000
	entries := make([]Entry, n)
	for i := range entries {
		entries[i] = Entry{Pos: int64(n - i), Data: listedJSON(fmt.Sprintf("id-%04d", i), "High", "m")}
	}
	var r *pageReader
	allocs := testing.AllocsPerRun(5, func() {
		r = newPageReader(&Page{Alerts: make([]*Alert, 0, n)}, DefaultMaxAlertBytes)
		for _, e := range entries {
			if r.admit(e) == nil {
				t.Fatal("an entry was not admitted")
			}
		}
	})
	if r.h != nil {
		t.Error("the reader hashed entries with distinct ids")
	}
	// The alert and its id string; the map's own growth is amortized.
	if per := allocs / n; per > 2.1 {
		t.Errorf("%.2f allocations per entry, want at most 2.1 (the alert and its id)", per)
	}
	if r.kept == 0 || r.page.Examined != n {
		t.Errorf("kept %d bytes, examined %d; want the first copies kept and %d examined", r.kept, r.page.Examined, n)
	}
}
