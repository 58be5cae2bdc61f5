package redistest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/conformance/containers"
)

// RunServerTests runs the behaviours that need a real server and are not
// the conformance suite's business: the layout the system we replace reads
// and writes, foreign entries, the slice a read fetches, and the watch
// protocol's lag and goroutines. What the suite checks already (sharing
// between stores, persistence across reopen, isolated prefixes, watching
// other stores' writes) is not repeated here. srv is shared (see Shared): the
// tests neither stop nor flush it, and each uses its own prefix.
func RunServerTests(t *testing.T, scheme string, srv *containers.Server) {
	e := env{scheme: scheme, srv: srv}
	tests := []struct {
		name string
		fn   func(*testing.T, env)
	}{
		{"DeclaresCapabilities", testCapabilities},
		{"ReadsLegacyPythonAlerts", testReadsLegacy},
		{"WritesPlainJSON", testWritesPlainJSON},
		{"SkipsJunkWithinCap", testJunk},
		{"UpgradesLegacyList", testUpgradeLegacy},
		{"ListReadsOnlyTheNeededSlice", testSlice},
		{"WatchLagsWhenTrimmed", testWatchLag},
		{"WatchLeaksNoGoroutines", testWatchNoLeak},
		{"WrongTypeIsNotUnavailable", testWrongType},
		{"DropLeavesNoKeys", testDropLeavesNoKeys},
		{"OversizedEntryNotTransferred", testOversizedNotTransferred},
		{"OversizedAtChunkEdges", testOversizedAtChunkEdges},
		{"JunkFloodBounded", testJunkFloodBounded},
		{"CraftedKeysKeepDeadline", testCraftedKeysKeepDeadline},
		{"CapRecordedBesideList", testCapRecorded},
		{"TrimByOldToolReported", testTrimReported},
		{"AuditRecordsBesideList", testAuditRecords},
		{"SignedAlertsStayPlainJSON", testSigned},
		{"ConcurrentStoresCoalesce", testCoalesced},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, e) })
	}
}

// RunCrossTests checks that two backends (schemes a and b) read and watch
// each other's writes on one server and prefix: they share a layout.
func RunCrossTests(t *testing.T, a, b string, srv *containers.Server) {
	ctx := testCtx(t)
	cfg := backend.Config{Prefix: Prefix(t)}
	sa := Open(t, DSN(a, srv.Addr(), cfg, ""))
	sb := Open(t, DSN(b, srv.Addr(), cfg, ""))
	w, err := sb.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	x := newAlert(t, "via-"+a)
	if err := sa.Store(ctx, x); err != nil {
		t.Fatal(err)
	}
	got, err := w.Next(ctx)
	if err != nil {
		t.Fatalf("%s watch of a %s write: %v", b, a, err)
	}
	if got.ID() != x.ID() {
		t.Errorf("%s watch got %s, want %s", b, got.ID(), x.ID())
	}
	y := newAlert(t, "via-"+b)
	if err := sb.Store(ctx, y); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, list(t, sa, backend.Query{}), y.ID(), x.ID())
	wantIDs(t, list(t, sb, backend.Query{}), y.ID(), x.ID())
}

type env struct {
	scheme string
	srv    *containers.Server
}

func (e env) open(t *testing.T, cfg backend.Config) *backend.Store {
	t.Helper()
	return Open(t, e.dsn(e.srv.Addr(), cfg, ""))
}

// dsn is DSN with the server's password, if it has one, in the user info.
func (e env) dsn(addr string, cfg backend.Config, extra string) string {
	d := DSN(e.scheme, addr, cfg, extra)
	if p := e.srv.Password(); p != "" {
		d = strings.Replace(d, "://", "://"+url.UserPassword("", p).String()+"@", 1)
	}
	return d
}

// do runs one raw command on the server (not through the code under test).
func (e env) do(t *testing.T, args ...string) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := e.srv.Do(ctx, args...)
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return v
}

func (e env) rpush(t *testing.T, key string, entries ...[]byte) {
	t.Helper()
	args := []string{"RPUSH", key}
	for _, x := range entries {
		args = append(args, string(x))
	}
	e.do(t, args...)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var alertSeq atomic.Int64

func newAlert(t *testing.T, entity string) *backend.Alert {
	t.Helper()
	n := alertSeq.Add(1)
	a := backend.NewAlert()
	for _, err := range []error{
		a.SetEntity(entity),
		a.SetEntityType("host"),
		a.SetEventType("test"),
		a.SetSeverity(backend.SeverityHigh),
		a.SetScore(0.5),
		a.SetSourceType("test"),
		a.SetMessage("alert " + strconv.FormatInt(n, 10)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func store(t *testing.T, s *backend.Store, n int, entity string) []*backend.Alert {
	t.Helper()
	ctx := testCtx(t)
	out := make([]*backend.Alert, n)
	for i := range out {
		out[i] = newAlert(t, fmt.Sprintf("%s-%d", entity, i))
	}
	if err := s.StoreBatch(ctx, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func list(t *testing.T, s *backend.Store, q backend.Query) *backend.Page {
	t.Helper()
	p, err := s.List(testCtx(t), q)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// wantIDs checks a page's alerts, newest first.
func wantIDs(t *testing.T, p *backend.Page, ids ...string) {
	t.Helper()
	var got []string
	for _, a := range p.Alerts {
		got = append(got, a.ID())
	}
	if strings.Join(got, " ") != strings.Join(ids, " ") {
		t.Errorf("listed ids\n got %v\nwant %v", got, ids)
	}
}

// newestFirst returns the ids of alerts, reversed.
func newestFirst(alerts []*backend.Alert) []string {
	ids := make([]string, len(alerts))
	for i, a := range alerts {
		ids[len(alerts)-1-i] = a.ID()
	}
	return ids
}

func count(t *testing.T, s *backend.Store) int64 {
	t.Helper()
	n, err := s.Count(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// testCapabilities pins what a Redis backend declares: the conformance
// suite checks each capability both ways, but only this says which way is
// right for a server shared by many processes that keeps no fsync promise
// of its own (durability is the server's configuration, docs/guarantees.md).
func testCapabilities(t *testing.T, e env) {
	s := e.open(t, backend.Config{Prefix: Prefix(t)})
	want := backend.Capabilities{Watch: true, Shared: true, Persistent: true, Drop: true, Namespace: true}
	if got := s.Capabilities(); got != want {
		t.Errorf("capabilities %+v, want %+v", got, want)
	}
}

// testReadsLegacy pushes alerts exactly as the Python system wrote them and
// reads them back with every field.
func testReadsLegacy(t *testing.T, e env) {
	cfg := backend.Config{Prefix: Prefix(t)}
	s := e.open(t, cfg)
	legacy := conformance.LegacyAlerts()
	e.rpush(t, redislist.NewKeys(cfg.Prefix).List, legacy...)
	p := list(t, s, backend.Query{})
	if p.Skipped != 0 || len(p.Alerts) != len(legacy) {
		t.Fatalf("listed %d alerts, skipped %d; want %d and 0", len(p.Alerts), p.Skipped, len(legacy))
	}
	for i, a := range p.Alerts {
		raw := legacy[len(legacy)-1-i]
		var want bytes.Buffer
		if err := json.Compact(&want, raw); err != nil {
			t.Fatal(err)
		}
		got, _ := a.MarshalJSON()
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("alert %d read back as\n%s\nwant\n%s", i, got, want.Bytes())
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if len(a.Keys()) != len(m) {
			t.Errorf("alert %d has keys %v, want the %d of the original", i, a.Keys(), len(m))
		}
	}
	first := p.Alerts[len(p.Alerts)-1] // the oldest: host1
	if first.Entity() != "host1" || first.EntityType() != "host" || first.Severity() != backend.SeverityHigh || first.SourceType() != "kafka" {
		t.Errorf("typed fields of the first legacy alert: entity %q type %q severity %v source %q", first.Entity(), first.EntityType(), first.Severity(), first.SourceType())
	}
	if score, ok := first.Score(); !ok || score != 0.85 {
		t.Errorf("score = %v, %v; want 0.85", score, ok)
	}
	if want := time.Date(2025, 3, 1, 12, 34, 56, 789012000, time.UTC); !first.Time().Equal(want) {
		t.Errorf("time = %v, want %v", first.Time(), want)
	}
	if first.TimestampString() != "2025-03-01T12:34:56.789012" {
		t.Errorf("timestamp string = %q, want it unchanged", first.TimestampString())
	}
}

// testWritesPlainJSON reads what a Store wrote the way the old system's
// readers do: LRANGE 0 -1 and json.loads of each entry.
func testWritesPlainJSON(t *testing.T, e env) {
	cfg := backend.Config{Prefix: Prefix(t)}
	s := e.open(t, cfg)
	a := newAlert(t, "web-01")
	if err := a.Set("mitre_attack", map[string]any{"techniques": []string{"T1059"}, "tactics": []string{"Execution"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Store(testCtx(t), a); err != nil {
		t.Fatal(err)
	}
	v := e.do(t, "LRANGE", redislist.NewKeys(cfg.Prefix).List, "0", "-1")
	entries, ok := v.([]any)
	if !ok || len(entries) != 1 {
		t.Fatalf("LRANGE = %#v, want one entry", v)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(entries[0].(string)), &m); err != nil {
		t.Fatalf("stored entry is not a JSON object: %v", err)
	}
	want := map[string]any{
		"id":               a.ID(),
		"entity":           "web-01",
		"entity_type":      "host",
		"event_type":       "test",
		"severity":         "High",
		"prediction_score": 0.5,
		"timestamp":        a.TimestampString(),
	}
	for k, w := range want {
		if m[k] != w {
			t.Errorf("field %q = %#v, want %#v", k, m[k], w)
		}
	}
	if src, _ := m["source"].(map[string]any); src["type"] != "test" {
		t.Errorf("source = %#v, want type test", m["source"])
	}
	if mitre, _ := m["mitre_attack"].(map[string]any); mitre["tactics"] == nil {
		t.Errorf("mitre_attack = %#v", m["mitre_attack"])
	}
	if n := e.do(t, "LLEN", redislist.NewKeys(cfg.Prefix).List); n != int64(1) {
		t.Errorf("LLEN = %v, want 1", n)
	}
}

// testJunk pushes entries other tools could have left: not JSON, JSON that
// is not an object, invalid UTF-8, over the size cap, an invalid field, and
// "{}" (an object, but no alert: a stored alert always has a timestamp).
// List skips and counts them, Count includes them, and the cap bounds them
// like our own entries.
func testJunk(t *testing.T, e env) {
	cfg := backend.Config{Prefix: Prefix(t), MaxAlerts: 11}
	s := e.open(t, cfg)
	key := redislist.NewKeys(cfg.Prefix).List
	junk := [][]byte{
		[]byte("x"),
		[]byte("null"),
		[]byte(`"a string"`),
		[]byte("[1,2]"),
		{'{', '"', 'a', '"', ':', '"', 0xff, 0xfe, '"', '}'}, // invalid UTF-8
		bytes.Repeat([]byte("z"), 1<<20),                     // 1 MiB, over the size cap
		[]byte(`{"severity": "apocalyptic", "timestamp": "2025-03-01T12:00:00"}`),
		[]byte("{}"),
	}
	x := store(t, s, 2, "before")
	e.rpush(t, key, junk...)
	y := store(t, s, 1, "after")

	p := list(t, s, backend.Query{})
	if p.Skipped != len(junk) {
		t.Errorf("Skipped = %d, want %d", p.Skipped, len(junk))
	}
	wantIDs(t, p, y[0].ID(), x[1].ID(), x[0].ID())
	if n := count(t, s); n != 11 {
		t.Errorf("Count = %d, want 11 (stored and foreign entries, at the cap)", n)
	}
	// The cap holds against foreign entries: they are trimmed like ours.
	z := store(t, s, 11, "flood")
	p = list(t, s, backend.Query{})
	if p.Skipped != 0 {
		t.Errorf("Skipped = %d after the flood, want 0", p.Skipped)
	}
	wantIDs(t, p, newestFirst(z)...)
	if n := count(t, s); n != 11 {
		t.Errorf("Count = %d, want 11", n)
	}
}

// testUpgradeLegacy opens a store on a list the old system filled (no
// counter), starts paging it by cursor, appends through the store (which
// trims the oldest legacy entry), and finishes paging: every legacy entry
// still stored is listed exactly once, because the append raised the
// counter without moving the positions readers had been given.
func testUpgradeLegacy(t *testing.T, e env) {
	cfg := backend.Config{Prefix: Prefix(t), MaxAlerts: 8}
	k := redislist.NewKeys(cfg.Prefix)
	legacy := conformance.LegacyAlerts() // 6 entries
	e.rpush(t, k.List, legacy...)
	s := e.open(t, cfg)
	entities := func(p *backend.Page) (out []string) {
		for _, a := range p.Alerts {
			out = append(out, a.Entity())
		}
		return out
	}
	first := list(t, s, backend.Query{Limit: 2})
	got := entities(first)
	x := store(t, s, 3, "new") // 9 entries, trimmed to 8: the oldest legacy one goes
	if seq := e.do(t, "GET", k.Seq); seq != "9" {
		t.Errorf("counter = %v after the first append, want 9 (6 legacy + 3)", seq)
	}
	for q := (backend.Query{Limit: 2, Cursor: first.Next}); q.Cursor != ""; {
		p := list(t, s, q)
		got = append(got, entities(p)...)
		q.Cursor = p.Next
	}
	want := []string{"printer-3f", "bob", "build-runner-07", "10.20.30.40", "alice@corp.example"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("paged across the upgrade\n got %v\nwant %v", got, want)
	}
	p := list(t, s, backend.Query{})
	if len(p.Alerts) != 8 {
		t.Fatalf("listed %d, want 8", len(p.Alerts))
	}
	wantIDs(t, &backend.Page{Alerts: p.Alerts[:3]}, newestFirst(x)...)
}

// testSlice checks, with a proxy counting the bytes the server sends, that
// listing the newest 10 of 400 alerts reads about 10, not 400.
func testSlice(t *testing.T, e env) {
	cfg := backend.Config{Prefix: Prefix(t), MaxAlerts: 1000}
	s := e.open(t, cfg)
	big := make([]*backend.Alert, 400)
	for i := range big {
		big[i] = newAlert(t, "bulk")
		if err := big[i].Set("features", map[string]string{"pad": strings.Repeat("p", 1000)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.StoreBatch(testCtx(t), big); err != nil {
		t.Fatal(err)
	}
	proxy := NewProxy(t, e.srv.Addr())
	ps := Open(t, e.dsn(proxy.Addr(), cfg, ""))
	if err := ps.Ping(testCtx(t)); err != nil { // connect outside the measurement
		t.Fatal(err)
	}
	before := proxy.BytesDown()
	p := list(t, ps, backend.Query{Limit: 10})
	read := proxy.BytesDown() - before
	wantIDs(t, p, newestFirst(big[390:])...)
	// The Store asks for max(limit, 16) entries; 40 KiB is well over 16
	// entries of ~1.2 KiB and far under 400 of them.
	if read > 40<<10 {
		t.Errorf("listing 10 alerts read %d bytes from the server, want the needed slice only", read)
	}
}

// testWatchLag: a watcher that does not read while more than max_alerts
// are appended is told it lagged, once, then gets what is still stored,
// then new alerts.
func testWatchLag(t *testing.T, e env) {
	watchMu.RLock()
	defer watchMu.RUnlock()
	ctx := testCtx(t)
	cfg := backend.Config{Prefix: Prefix(t), MaxAlerts: 5}
	s := e.open(t, cfg)
	w, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	flood := store(t, s, 20, "flood")
	if _, err := w.Next(ctx); !errors.Is(err, backend.ErrLagged) {
		t.Fatalf("first Next after the flood: %v, want ErrLagged", err)
	}
	for _, want := range flood[15:] {
		got, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("Next after the lag: %v", err)
		}
		if got.ID() != want.ID() {
			t.Errorf("got %s, want %s", got.Entity(), want.Entity())
		}
	}
	late := store(t, s, 1, "late")
	got, err := w.Next(ctx)
	if err != nil || got.ID() != late[0].ID() {
		t.Errorf("Next after catching up = %v, %v; want %s", got, err, late[0].Entity())
	}
}

// watchMu keeps the goroutine count of testWatchNoLeak to its own
// watches: the other watch tests (on the other servers, run in parallel)
// hold it shared, the leak test exclusively.
var watchMu sync.RWMutex

// testWatchNoLeak opens and ends many watches, by Close and by cancelling
// their context, and checks that no goroutine of ours is left. The client
// libraries' own goroutines (pooled connections, pipelines) are not
// counted: they belong to the pool, not to a watch.
func testWatchNoLeak(t *testing.T, e env) {
	watchMu.Lock()
	defer watchMu.Unlock()
	cfg := backend.Config{Prefix: Prefix(t)}
	s := e.open(t, cfg)
	ctx := testCtx(t)
	before := ourGoroutines()
	for i := range 10 {
		wctx, cancel := context.WithCancel(ctx)
		w, err := s.Watch(wctx)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			store(t, s, 1, "live")
			if _, err := w.Next(ctx); err != nil {
				t.Fatal(err)
			}
			if n := ourGoroutines(); n <= before {
				t.Fatalf("a live watch shows no goroutine of ours (%d before, %d now): the count sees nothing", before, n)
			}
		}
		if i%2 == 0 {
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			cancel()
		} else {
			cancel()
			if _, err := w.Next(ctx); err == nil {
				t.Fatal("Next after the watch's context was cancelled succeeded")
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		after := ourGoroutines()
		if after <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines of ours: %d before, %d after ending 10 watches\n%s", before, after, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ourGoroutines counts the goroutines running code of the backends (the
// shared driver, goredis, valkeygo) that are not test goroutines.
func ourGoroutines() int {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "/redistest.") || strings.Contains(g, "testing.tRunner") {
			continue
		}
		for _, pkg := range []string{"/backends/internal/redislist.", "/backends/goredis.", "/backends/valkeygo."} {
			if strings.Contains(g, pkg) {
				n++
				break
			}
		}
	}
	return n
}

// testWrongType: a key of the wrong type (another tool's string where our
// list goes) is a server error that retrying will not fix, so it must not
// be reported as ErrUnavailable, and nothing is stored.
func testWrongType(t *testing.T, e env) {
	cfg := backend.Config{Prefix: Prefix(t)}
	s := e.open(t, cfg)
	e.do(t, "SET", redislist.NewKeys(cfg.Prefix).List, "not a list")
	ctx := testCtx(t)
	err := s.Store(ctx, newAlert(t, "wrongtype"))
	if err == nil || errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Errorf("Store on a string key: %v, want a WRONGTYPE error that is not ErrUnavailable", err)
	}
	if _, err := s.Count(ctx); err == nil || errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Count on a string key: %v, want a WRONGTYPE error that is not ErrUnavailable", err)
	}
	if _, err := s.List(ctx, backend.Query{}); err == nil || errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("List on a string key: %v, want a WRONGTYPE error that is not ErrUnavailable", err)
	}
}

// testDropLeavesNoKeys checks what the conformance suite cannot see: after
// Drop, no key of the namespace is left on the server (Clear keeps the
// counter; a selftest against production must not leave it behind).
func testDropLeavesNoKeys(t *testing.T, e env) {
	cfg := backend.Config{Prefix: Prefix(t)}
	s := e.open(t, cfg)
	store(t, s, 3, "drop")
	if err := s.Clear(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	keys := fmt.Sprint(e.do(t, "KEYS", cfg.Prefix+"*"))
	for _, k := range []string{"alerts:seq", "alerts:cap", "alerts:base", "alerts:audit"} {
		if !strings.Contains(keys, cfg.Prefix+k) {
			t.Errorf("after Clear, keys %v lack %s%s", keys, cfg.Prefix, k)
		}
	}
	if strings.Contains(keys, cfg.Prefix+"alerts ") || strings.Contains(keys, cfg.Prefix+"alerts]") {
		t.Errorf("after Clear, the list is still there: %v", keys)
	}
	store(t, s, 1, "again")
	if err := s.Drop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if keys := e.do(t, "KEYS", cfg.Prefix+"*"); fmt.Sprint(keys) != "[]" {
		t.Errorf("after Drop, keys %v are left under prefix %s", keys, cfg.Prefix)
	}
}
