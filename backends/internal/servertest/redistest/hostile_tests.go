package redistest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
)

// The tests of this file write what a hostile or broken writer with RPUSH
// on the list can (issue 9, section 5), with raw commands, and check that
// a reader stays bounded: nothing over max_alert_bytes crosses the wire,
// no more than max_alerts entries are examined, and a List keeps its
// deadline. Sizes are measured (bytes through a proxy, bytes allocated),
// never times: the times are logged as FIGURES lines.

// hostileMu runs the tests of this file one at a time across the server
// matrix: they push and decode megabytes, and the allocation measured by
// one must not be another's.
var hostileMu sync.Mutex

// evalRaw runs a Lua script on the server, outside the code under test.
func (e env) evalRaw(t *testing.T, script string, keys []string, args ...string) any {
	t.Helper()
	cmd := append([]string{"EVAL", script, fmt.Sprint(len(keys))}, keys...)
	return e.do(t, append(cmd, args...)...)
}

// allocated returns the bytes this process allocated while fn ran.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// testOversizedNotTransferred pushes a 10 MiB entry (made on the server)
// between two alerts and lists through a proxy that counts the bytes the
// server sends: the entry is counted in Oversized and never crosses the
// wire, and the reader allocates far less than its size. A watch skips it
// the same way.
func testOversizedNotTransferred(t *testing.T, e env) {
	hostileMu.Lock()
	defer hostileMu.Unlock()
	const big = 10 << 20
	cfg := backend.Config{Prefix: Prefix(t)}
	key := redislist.NewKeys(cfg.Prefix).List
	s := e.open(t, cfg)
	x := store(t, s, 1, "before")
	e.evalRaw(t, `redis.call('RPUSH', KEYS[1], string.rep('z', tonumber(ARGV[1]))) return 1`, []string{key}, fmt.Sprint(big))
	y := store(t, s, 1, "after")

	proxy := NewProxy(t, e.srv.Addr())
	ps := Open(t, e.dsn(proxy.Addr(), cfg, ""))
	if err := ps.Ping(testCtx(t)); err != nil { // connect outside the measurement
		t.Fatal(err)
	}
	down := proxy.BytesDown()
	var p *backend.Page
	alloc := allocated(func() { p = list(t, ps, backend.Query{}) })
	down = proxy.BytesDown() - down
	wantIDs(t, p, y[0].ID(), x[0].ID())
	if p.Oversized != 1 || p.Skipped != 1 {
		t.Errorf("Oversized %d, Skipped %d; want 1 and 1", p.Oversized, p.Skipped)
	}
	if down > 64<<10 {
		t.Errorf("listing read %d bytes from the server; the %d-byte entry must stay there", down, big)
	}
	if alloc > big/2 {
		t.Errorf("listing allocated %d bytes; a reader must not hold the %d-byte entry", alloc, big)
	}
	t.Logf("FIGURES oversized: 10 MiB entry skipped on the server; list read %d bytes, allocated %d bytes", down, alloc)

	// A watch started before the entry skips it without reading it.
	ctx := testCtx(t)
	w, err := ps.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	down = proxy.BytesDown()
	e.evalRaw(t, `redis.call('RPUSH', KEYS[1], string.rep('z', tonumber(ARGV[1]))) return 1`, []string{key}, fmt.Sprint(big))
	z := store(t, s, 1, "watched")
	got, err := w.Next(ctx)
	if err != nil || got.ID() != z[0].ID() {
		t.Fatalf("watch after an oversized entry: %v, %v; want %s", got, err, z[0].ID())
	}
	if w.Skipped() != 1 {
		t.Errorf("watch skipped %d entries, want 1", w.Skipped())
	}
	if down = proxy.BytesDown() - down; down > 64<<10 {
		t.Errorf("the watch read %d bytes from the server; the oversized entry must stay there", down)
	}
}

// testOversizedAtChunkEdges: the read script reads its window in LRANGE
// chunks of 16 (redislist.WindowScript). Entries over max_alert_bytes on
// both sides of a chunk's edge and at the window's ends are left on the
// server, and every alert around them is listed once and in order, in one
// page and in pages of 7 (windows that start off a chunk's edge).
func testOversizedAtChunkEdges(t *testing.T, e env) {
	const maxBytes, n = 1024, 40
	cfg := backend.Config{Prefix: Prefix(t), MaxAlertBytes: maxBytes}
	s := e.open(t, cfg)
	big := map[int]bool{0: true, 15: true, 16: true, 31: true, 32: true, n - 1: true}
	var want []string // newest first
	push := []string{"RPUSH", redislist.NewKeys(cfg.Prefix).List}
	for i := range n {
		if big[i] {
			push = append(push, `{"timestamp":"2025-03-01T00:00:00","pad":"`+strings.Repeat("z", 2*maxBytes)+`"}`)
			continue
		}
		id := fmt.Sprintf("edge-%02d", i)
		push = append(push, fmt.Sprintf(`{"id":%q,"timestamp":"2025-03-01T00:00:00","severity":"High","entity":"h"}`, id))
		want = append([]string{id}, want...)
	}
	e.do(t, push...)

	p := list(t, s, backend.Query{Limit: n})
	wantIDs(t, p, want...)
	if p.Oversized != len(big) || p.Examined != n {
		t.Errorf("one page: Oversized %d, Examined %d; want %d and %d", p.Oversized, p.Examined, len(big), n)
	}
	var got []string
	oversized := 0
	for q := (backend.Query{Limit: 7}); ; {
		p := list(t, s, q)
		for _, a := range p.Alerts {
			got = append(got, a.ID())
		}
		oversized += p.Oversized
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	if strings.Join(got, " ") != strings.Join(want, " ") || oversized != len(big) {
		t.Errorf("pages of 7: listed %q with %d oversized; want %q with %d", got, oversized, want, len(big))
	}
}

// testJunkFloodBounded pushes 200,000 junk entries under the default cap
// of 1,000 (a writer that never trims): a List examines 1,000, says it
// stopped, and reads about 1,000 entries' worth of bytes; its cursor
// continues, again bounded.
func testJunkFloodBounded(t *testing.T, e env) {
	hostileMu.Lock()
	defer hostileMu.Unlock()
	const flood = 200_000
	cfg := backend.Config{Prefix: Prefix(t)}
	key := redislist.NewKeys(cfg.Prefix).List
	s := e.open(t, cfg)
	e.evalRaw(t, `for i = 1, tonumber(ARGV[1]) do redis.call('RPUSH', KEYS[1], 'junk-entry') end return 1`, []string{key}, fmt.Sprint(flood))

	proxy := NewProxy(t, e.srv.Addr())
	ps := Open(t, e.dsn(proxy.Addr(), cfg, ""))
	if err := ps.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	down := proxy.BytesDown()
	p := list(t, ps, backend.Query{MinSeverity: backend.SeverityHigh})
	down = proxy.BytesDown() - down
	if !p.Stopped || p.Examined != backend.DefaultMaxAlerts || p.Skipped != backend.DefaultMaxAlerts || p.Next == "" {
		t.Errorf("Stopped %v, Examined %d, Skipped %d, Next %q; want true, %d, %d and a cursor",
			p.Stopped, p.Examined, p.Skipped, p.Next, backend.DefaultMaxAlerts, backend.DefaultMaxAlerts)
	}
	// 1,001 entries of 10 bytes with RESP framing, and the replies'
	// headers: far under what 200,000 would take (3 MB).
	if down > 64<<10 {
		t.Errorf("listing read %d bytes from the server, want about %d entries' worth", down, backend.DefaultMaxAlerts)
	}
	next := list(t, ps, backend.Query{Cursor: p.Next})
	if !next.Stopped || next.Examined != backend.DefaultMaxAlerts {
		t.Errorf("continuing: Stopped %v, Examined %d; want true, %d", next.Stopped, next.Examined, backend.DefaultMaxAlerts)
	}
	if n := count(t, s); n != flood {
		t.Errorf("Count = %d, want %d (Count reports what is there)", n, flood)
	}
	// The store's own next append trims the flood away.
	y := store(t, s, 1, "trims")
	p = list(t, s, backend.Query{})
	if p.Stopped || p.Skipped != backend.DefaultMaxAlerts-1 {
		t.Errorf("after a trimming append: Stopped %v, Skipped %d; want false, %d", p.Stopped, p.Skipped, backend.DefaultMaxAlerts-1)
	}
	wantIDs(t, p, y[0].ID())
	t.Logf("FIGURES junk flood: %d entries; list examined %d, read %d bytes", flood, backend.DefaultMaxAlerts, down)
}

// craftedKeys is a valid alert of about size bytes made of distinct keys:
// the input that made the old duplicate-key check quadratic.
func craftedKeys(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"timestamp":"2025-03-01T00:00:00","severity":"low"`)
	for i := 0; b.Len() < size-16; i++ {
		fmt.Fprintf(&b, `,"k%d":0`, i)
	}
	b.WriteString("}")
	return []byte(b.String())
}

// testCraftedKeysKeepDeadline pushes 10 entries of ~40,000 distinct keys
// each, just under the size cap. With a generous timeout they are listed
// (the decoder is linear); with a timeout shorter than decoding all of
// them takes, List fails with ErrUnavailable, whether the deadline passed
// while the entries were in transit or (the usual case) between two
// decodes, instead of returning a page decoded past it. Times are logged,
// not asserted.
func testCraftedKeysKeepDeadline(t *testing.T, e env) {
	hostileMu.Lock()
	defer hostileMu.Unlock()
	const n = 10
	cfg := backend.Config{Prefix: Prefix(t), Timeout: time.Minute}
	key := redislist.NewKeys(cfg.Prefix).List
	entry := craftedKeys(backend.DefaultMaxAlertBytes - 64)
	entries := make([][]byte, n)
	for i := range entries {
		entries[i] = entry
	}
	e.rpush(t, key, entries...)

	s := e.open(t, cfg)
	start := time.Now()
	p := list(t, s, backend.Query{})
	full := time.Since(start)
	if len(p.Alerts) != n || p.Skipped != 0 {
		t.Errorf("listed %d, skipped %d; want %d and 0", len(p.Alerts), p.Skipped, n)
	}

	short := Open(t, e.dsn(e.srv.Addr(), backend.Config{Prefix: cfg.Prefix, Timeout: 30 * time.Millisecond}, ""))
	// Warm the connection: a first dial and handshake can take longer than
	// 30 ms on a loaded machine, and the point is the List's deadline.
	var err error
	for range 100 {
		if err = short.Ping(context.Background()); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("no connection within 100 pings of 30 ms: %v", err)
	}
	start = time.Now()
	p, err = short.List(context.Background(), backend.Query{})
	took := time.Since(start)
	switch {
	case err == nil:
		// Possible only on a machine that transfers and decodes 10 MiB
		// of keys within the timeout: then there is nothing to check.
		t.Logf("List with a 30 ms timeout completed (%d alerts in %s)", len(p.Alerts), took)
	case !errors.Is(err, backend.ErrUnavailable):
		t.Errorf("List past its deadline: %v, want ErrUnavailable", err)
	}
	t.Logf("FIGURES crafted keys: %d entries of %d bytes; full list %s; with timeout 30ms: %s, during decode %v (%v)",
		n, len(entry), full, took, errors.Is(err, context.DeadlineExceeded), err)
}
