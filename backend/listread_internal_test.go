package backend

import (
	"bytes"
	"crypto/sha256"
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

// FuzzPageReaderCopies checks the lazy duplicate check against the rule
// it implements, computed the plain way (a SHA-256 of every copy): an
// entry is a duplicate when an earlier copy of its id has the same compact
// encoding, an id is in conflict once two encodings were seen, and every
// listed copy of an id in conflict is flagged. Entries are the input's
// lines; the reader lists every alert it admits, with its first copies
// kept as bytes or (keep false) as sums only.
func FuzzPageReaderCopies(f *testing.F) {
	seed := [][]byte{
		listedJSON("X", "High", "beacon"),
		listedJSON("X", "Low", "all clear"),
		[]byte(`{"id": "X", "timestamp":"2025-03-01T00:00:00","severity":"High","message":"beacon"}`),
		[]byte(`{"timestamp":"2025-03-01T00:00:00","id":"X","severity":"High","message":"beacon"}`),
		listedJSON("Y", "High", "other"),
		listedJSON("", "High", "no id"),
		[]byte("junk"),
	}
	for _, keep := range []bool{true, false} {
		f.Add(bytes.Join(seed, []byte("\n")), keep)
		f.Add(bytes.Join([][]byte{seed[0], seed[1], seed[0], seed[2], seed[1], seed[3]}, []byte("\n")), keep)
	}
	f.Fuzz(func(t *testing.T, data []byte, keep bool) {
		entries := bytes.Split(data, []byte("\n"))
		if len(entries) > 64 {
			entries = entries[:64]
		}
		// The rule, the plain way.
		type ref struct {
			sums     map[[sha256.Size]byte]bool
			conflict bool
		}
		byID := map[string]*ref{}
		var wantIDs []string
		var wantConflicts []string
		wantDups := 0
		for _, e := range entries {
			a, err := decodeStored(e, DefaultMaxAlertBytes)
			if err != nil {
				continue
			}
			id := a.ID()
			sum := sha256.Sum256(a.encoded())
			c := byID[id]
			switch {
			case id == "":
			case c == nil:
				byID[id] = &ref{sums: map[[sha256.Size]byte]bool{sum: true}}
			case c.sums[sum]:
				wantDups++
				continue
			default:
				c.sums[sum] = true
				if !c.conflict {
					c.conflict = true
					wantConflicts = append(wantConflicts, id)
				}
			}
			wantIDs = append(wantIDs, id)
		}

		page := &Page{}
		r := newPageReader(page, DefaultMaxAlertBytes)
		if !keep {
			r.keepMax = 0
		}
		for i, e := range entries {
			if a := r.admit(Entry{Pos: int64(len(entries) - i), Data: e}); a != nil {
				page.Alerts = append(page.Alerts, a)
				r.listed(a)
			}
		}
		var gotIDs []string
		for _, a := range page.Alerts {
			gotIDs = append(gotIDs, a.ID())
			if want := byID[a.ID()] != nil && byID[a.ID()].conflict; a.IDConflict() != want {
				t.Errorf("alert %q flagged %v, want %v", a.ID(), a.IDConflict(), want)
			}
		}
		if !slices.Equal(gotIDs, wantIDs) || !slices.Equal(page.Conflicts, wantConflicts) || page.Duplicates != wantDups {
			t.Errorf("listed %q, Conflicts %q, Duplicates %d; want %q, %q, %d", gotIDs, page.Conflicts, page.Duplicates, wantIDs, wantConflicts, wantDups)
		}
	})
}
