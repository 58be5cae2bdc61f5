package backend_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
)

// TestListAfter: Query.After lists what was stored after an alert (its
// Cursor), pages with Cursor within that bound, and says whether it met
// the bound (AfterReached) or ran out of stored entries first.
func TestListAfter(t *testing.T) {
	data := make([][]byte, 10)
	for i := range data {
		data[i] = alertJSON(fmt.Sprintf("a%d", i), "High", "m") // positions 1..10
	}
	data[6] = []byte("junk") // position 7: not an alert, skipped
	ctx := context.Background()
	s := backend.NewStore(&fixed{data: data}, "fixed", backend.Config{})
	all, err := s.List(ctx, backend.Query{})
	if err != nil {
		t.Fatal(err)
	}
	cursorOf := map[string]string{}
	for _, a := range all.Alerts {
		cursorOf[a.ID()] = a.Cursor()
	}
	if cursorOf["a9"] != all.Alerts[0].Cursor() || cursorOf["a0"] == "" || backend.NewAlert().Cursor() != "" {
		t.Fatalf("cursors %v: want one per listed alert, none for a new one", cursorOf)
	}
	for _, c := range []struct {
		name        string
		q           backend.Query
		want        string // ids, newest first
		wantReached bool
		wantNext    bool
	}{
		{"after-a4", backend.Query{After: cursorOf["a4"]}, "a9 a8 a7 a5", true, false},
		{"after-newest", backend.Query{After: cursorOf["a9"]}, "", true, false},
		{"after-oldest", backend.Query{After: cursorOf["a0"]}, "a9 a8 a7 a5 a4 a3 a2 a1", true, false},
		{"paged", backend.Query{After: cursorOf["a2"], Limit: 3}, "a9 a8 a7", false, true},
		{"paged-2", backend.Query{After: cursorOf["a2"], Cursor: cursorOf["a7"], Limit: 3}, "a5 a4 a3", false, true},
		{"paged-3", backend.Query{After: cursorOf["a2"], Cursor: cursorOf["a3"], Limit: 3}, "", true, false},
		{"below-a5", backend.Query{Cursor: cursorOf["a5"]}, "a4 a3 a2 a1 a0", false, false},
		{"filtered", backend.Query{After: cursorOf["a4"], Entity: "nobody"}, "", true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := s.List(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range p.Alerts {
				ids = append(ids, a.ID())
			}
			if got := strings.Join(ids, " "); got != c.want || p.AfterReached != c.wantReached || (p.Next != "") != c.wantNext {
				t.Errorf("got %q, AfterReached %v, Next %q; want %q, %v, next %v", got, p.AfterReached, p.Next, c.want, c.wantReached, c.wantNext)
			}
		})
	}
	for _, bad := range []string{"p0", "nonsense", "12"} {
		if _, err := s.List(ctx, backend.Query{After: bad}); err == nil {
			t.Errorf("After %q accepted", bad)
		}
	}
}
