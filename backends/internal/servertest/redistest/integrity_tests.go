package redistest

// Integrity of the record on a real server (issue 9, section 6): the
// recorded cap, trims by old tools, audit records, signed alerts.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
)

// testCapRecorded: the first writer's cap is a plain integer key beside the
// list; a writer without max_alerts trims to it; a lower explicit cap is
// refused, naming both values, and the list is untouched.
func testCapRecorded(t *testing.T, e env) {
	ctx := testCtx(t)
	cfg := backend.Config{Prefix: Prefix(t), MaxAlerts: 50}
	k := redislist.NewKeys(cfg.Prefix)
	first := e.open(t, cfg)
	store(t, first, 3, "first")
	if v := e.do(t, "GET", k.Cap); fmt.Sprint(v) != "50" {
		t.Fatalf("GET %s = %v, want 50", k.Cap, v)
	}
	unset := e.open(t, backend.Config{Prefix: cfg.Prefix}) // no max_alerts in the DSN
	store(t, unset, 60, "unset")
	if n := e.do(t, "LLEN", k.List); n != int64(50) {
		t.Fatalf("LLEN after a writer without max_alerts stored 60 = %v, want the recorded 50", n)
	}
	low := e.open(t, backend.Config{Prefix: cfg.Prefix, MaxAlerts: 1})
	err := low.Store(ctx, newAlert(t, "low"))
	if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), "max_alerts=1 is below the cap 50") {
		t.Fatalf("writer with max_alerts=1: %v, want ErrInvalidConfig naming 1 and 50", err)
	}
	if n := e.do(t, "LLEN", k.List); n != int64(50) {
		t.Fatalf("LLEN after the refused write = %v, want 50", n)
	}
	if err := first.SetCap(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := low.Store(ctx, newAlert(t, "low")); err != nil {
		t.Fatalf("after cap set 1: %v", err)
	}
	if n := e.do(t, "LLEN", k.List); n != int64(1) {
		t.Fatalf("LLEN after cap set 1 and one append = %v, want 1", n)
	}
}

// testTrimReported: the old system's writer trims with its own LTRIM;
// NamespaceInfo reports the entries it removed below the recorded cap,
// and a Clear is not mistaken for such a trim.
func testTrimReported(t *testing.T, e env) {
	ctx := testCtx(t)
	cfg := backend.Config{Prefix: Prefix(t), MaxAlerts: 100}
	k := redislist.NewKeys(cfg.Prefix)
	s := e.open(t, cfg)
	store(t, s, 30, "ours")
	info, err := s.NamespaceInfo(ctx)
	if err != nil || info.Missing() != 0 || info.Cap != 100 || info.Len != 30 {
		t.Fatalf("before: %+v, missing %d, %v; want cap 100, len 30, nothing missing", info, info.Missing(), err)
	}
	e.rpush(t, k.List, []byte(`{"entity":"legacy","timestamp":"2025-01-01T00:00:00"}`))
	e.do(t, "LTRIM", k.List, "-10", "-1") // the old writer's max_alerts=10
	store(t, s, 1, "after")               // raises the counter past the foreign push
	info, err = s.NamespaceInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The foreign push is not counted (the counter was ahead of the
	// list): Missing errs low, never high.
	if info.Len != 11 || info.Appended != 31 || info.Missing() != 20 {
		t.Fatalf("after an old tool's LTRIM to 10: len %d, appended %d, missing %d; want 11, 31, 20", info.Len, info.Appended, info.Missing())
	}
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	store(t, s, 2, "refill")
	if info, err = s.NamespaceInfo(ctx); err != nil || info.Missing() != 0 {
		t.Fatalf("after Clear and 2 appends: missing %d, %v; want 0", info.Missing(), err)
	}
}

// testAuditRecords: Clear and SetCap append JSON records to a capped list
// beside the alerts, which anyone can read with LRANGE.
func testAuditRecords(t *testing.T, e env) {
	ctx := testCtx(t)
	cfg := backend.Config{Prefix: Prefix(t), ClientName: "detector-7@ids"}
	k := redislist.NewKeys(cfg.Prefix)
	s := e.open(t, cfg)
	store(t, s, 4, "a")
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	store(t, s, 2, "b")
	if err := s.SetCap(ctx, 5000); err != nil {
		t.Fatal(err)
	}
	raw, ok := e.do(t, "LRANGE", k.Audit, "0", "-1").([]any)
	if !ok || len(raw) != 2 {
		t.Fatalf("LRANGE %s = %v, want 2 records", k.Audit, raw)
	}
	var recs []backend.AuditRecord
	for _, r := range raw {
		var a backend.AuditRecord
		if err := json.Unmarshal([]byte(fmt.Sprint(r)), &a); err != nil {
			t.Fatalf("audit record %v is not JSON: %v", r, err)
		}
		recs = append(recs, a)
	}
	if r := recs[0]; r.Op != backend.AuditClear || r.Entries != 4 || r.Client != "detector-7@ids" || r.Time.IsZero() {
		t.Errorf("clear record %+v", r)
	}
	if r := recs[1]; r.Op != backend.AuditSetCap || r.Cap != 5000 || r.OldCap != backend.DefaultMaxAlerts || r.Entries != 2 {
		t.Errorf("cap record %+v, want cap 5000 from %d with 2 entries", r, backend.DefaultMaxAlerts)
	}
	for i := 0; i < backend.AuditKeep+5; i++ {
		if err := s.SetCap(ctx, 5000+i); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.do(t, "LLEN", k.Audit); n != int64(backend.AuditKeep) {
		t.Errorf("LLEN %s = %v, want it capped at %d", k.Audit, n, backend.AuditKeep)
	}
	info, err := s.NamespaceInfo(ctx)
	if err != nil || len(info.Audit) != backend.AuditKeep || info.Audit[0].Cap != 5000+backend.AuditKeep+4 {
		t.Fatalf("NamespaceInfo audit: %d records, newest %+v, %v", len(info.Audit), info.Audit[0], err)
	}
}

// testSigned: a signing store's entries stay plain JSON objects with one
// more key (the old dashboard's json.loads reads them); a reader with the
// key verifies them and flags an entry edited on the server.
func testSigned(t *testing.T, e env) {
	keyFile := filepath.Join(t.TempDir(), "keys")
	secret := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	if err := os.WriteFile(keyFile, []byte("k1 "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := backend.Config{Prefix: Prefix(t)}
	k := redislist.NewKeys(cfg.Prefix)
	s := Open(t, e.dsn(e.srv.Addr(), cfg, "sign_key_file="+url.QueryEscape(keyFile)))
	store(t, s, 3, "signed")
	raw, _ := e.do(t, "LRANGE", k.List, "0", "-1").([]any)
	for _, r := range raw {
		var m map[string]any
		if err := json.Unmarshal([]byte(fmt.Sprint(r)), &m); err != nil {
			t.Fatalf("stored entry %v is not a JSON object: %v", r, err)
		}
		if sig, ok := m[backend.FieldSignature].(string); !ok || !strings.HasPrefix(sig, "v1:k1:") {
			t.Fatalf("stored entry %v has no signature", r)
		}
	}
	// An attacker with write access edits the oldest alert in place.
	edited := strings.Replace(fmt.Sprint(raw[0]), "signed", "benign", 1)
	e.do(t, "LSET", k.List, "0", edited)
	p := list(t, s, backend.Query{})
	if len(p.Alerts) != 3 || p.Invalid != 1 || p.Unsigned != 0 || p.Alerts[2].Verification() != backend.BadSignature {
		t.Fatalf("after an in-place edit: %d alerts, %d invalid, %d unsigned; want 3, 1, 0", len(p.Alerts), p.Invalid, p.Unsigned)
	}
	if p := list(t, s, backend.Query{Verified: true}); len(p.Alerts) != 2 {
		t.Fatalf("verified only: %d alerts, want 2", len(p.Alerts))
	}
}
