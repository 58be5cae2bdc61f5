package redislist

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
)

// TestRecordedCap: the first writer records its cap; a writer without
// max_alerts trims to it; a lower explicit cap is refused until the cap is
// changed deliberately, which every writer follows from its next append.
func TestRecordedCap(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	first := New(f, backend.Config{MaxAlerts: 50}, nil)
	unset := New(f, backend.Config{MaxAlerts: 1000, MaxAlertsDefault: true}, nil)
	low := New(f, backend.Config{MaxAlerts: 1}, nil)
	if err := first.Append(ctx, payloads(0, 3)); err != nil {
		t.Fatal(err)
	}
	if err := unset.Append(ctx, payloads(3, 100)); err != nil {
		t.Fatal(err)
	}
	if n, _ := unset.Count(ctx); n != 50 {
		t.Fatalf("a writer without max_alerts kept %d entries, want the recorded 50", n)
	}
	err := low.Append(ctx, payloads(200, 1))
	if !errors.Is(err, backend.ErrInvalidConfig) || !backend.IsCapError(err) || !strings.Contains(err.Error(), "max_alerts=1 is below the cap 50") {
		t.Fatalf("low writer: err = %v, want a CapError naming 1 and 50", err)
	}
	if n, _ := first.Count(ctx); n != 50 {
		t.Fatalf("the refused write changed the list: %d entries", n)
	}
	if err := first.SetCap(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := low.Append(ctx, payloads(201, 1)); err != nil {
		t.Fatalf("after SetCap(1) the writer with max_alerts=1 is still refused: %v", err)
	}
	// unset learned 50 at its last append: it trims to 50 once more, then
	// follows the record.
	for i := 0; i < 2; i++ {
		if err := unset.Append(ctx, payloads(300+i, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := unset.Count(ctx); n != 1 {
		t.Fatalf("after SetCap(1): %d entries, want 1", n)
	}
}

// TestMissing: an old tool's LTRIM below the recorded cap is reported;
// a Clear is not mistaken for one.
func TestMissing(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	d := New(f, backend.Config{MaxAlerts: 100, ClientName: "tester"}, nil)
	for _, c := range []struct {
		name    string
		do      func() error
		missing int64
	}{
		{"fresh", func() error { return d.Append(ctx, payloads(0, 30)) }, 0},
		{"old-tool-trims-to-10", func() error { f.ltrim(10); return nil }, 20},
		{"cleared", func() error { return d.Clear(ctx) }, 0},
		{"refilled", func() error { return d.Append(ctx, payloads(30, 150)) }, 0},
		{"old-tool-trims-to-1", func() error { f.ltrim(1); return nil }, 99},
		{"foreign-push-then-append", func() error { f.foreignPush(`{}`); return d.Append(ctx, payloads(200, 1)) }, 97},
	} {
		if err := c.do(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		info, err := d.NamespaceInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Missing() != c.missing {
			t.Fatalf("%s: Missing = %d (cap %d, len %d, appended %d), want %d", c.name, info.Missing(), info.Cap, info.Len, info.Appended, c.missing)
		}
	}
	info, _ := d.NamespaceInfo(ctx)
	if len(info.Audit) != 1 || info.Audit[0].Op != backend.AuditClear || info.Audit[0].Entries != 10 || info.Audit[0].Client != "tester" {
		t.Fatalf("audit = %+v, want one clear of 10 entries by tester", info.Audit)
	}
}
