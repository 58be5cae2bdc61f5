package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// Checks lists the suite's rules in the order they run. Their names are
// stable; see docs/writing-a-backend.md for the list with explanations.
func Checks() []Check {
	return []Check{
		{"RoundTripLegacyFormat", "alerts in the old system's JSON format are stored and listed back with every field semantically identical, severity spelling and timestamp string included", checkRoundTripLegacy},
		{"AssignsIDAndTimestamp", "an alert stored without id or timestamp gets a unique id and a timestamp, set on the caller's alert and stored", checkAssignsIdentity},
		{"KeepsGivenID", "an alert's own id is kept as given", checkKeepsID},
		{"NewestFirst", "List returns alerts newest first, in the order they were stored", checkNewestFirst},
		{"BatchOrder", "a batch is stored in its order, as if stored one by one", checkBatchOrder},
		{"CapDropsOldest", "with max_alerts N the store keeps exactly the newest N alerts", checkCap},
		{"CapBatchLargerThanCap", "a batch larger than max_alerts leaves its newest max_alerts alerts", checkCapBatch},
		{"FilterSeverities", "a severity-set filter returns exactly the alerts of those severities, whatever their spelling", checkFilterSeverities},
		{"FilterMinSeverity", "a minimum-severity filter returns exactly the alerts at or above it", checkFilterMinSeverity},
		{"FilterEntity", "an entity filter returns exactly that entity's alerts", checkFilterEntity},
		{"FilterSourceType", "a source-type filter matches source.type exactly", checkFilterSource},
		{"FilterTimeWindow", "a time window keeps since <= timestamp < until, naive timestamps read as UTC", checkFilterTime},
		{"FiltersCombine", "filters combine with AND", checkFiltersCombine},
		{"PagingOffset", "offset paging skips exactly that many matching alerts", checkPagingOffset},
		{"PagingCursor", "cursor paging visits every alert once, newest first, and ends", checkPagingCursor},
		{"PagingCursorStableUnderWrites", "a cursor continues after its page even when newer alerts arrive in between", checkCursorUnderWrites},
		{"InvalidQuery", "a malformed query fails with ErrInvalidQuery before any I/O", checkInvalidQuery},
		{"Count", "Count reports the number of stored entries", checkCount},
		{"Clear", "Clear empties the namespace and the store keeps working", checkClear},
		{"ConcurrentWriters", "concurrent writers' alerts are all present, none duplicated", checkConcurrentWriters},
		{"DeadlineAndCancel", "a call whose ctx is done fails with the ctx's error (or ErrUnavailable) and stores nothing", checkDeadline},
		{"UseAfterClose", "every call after Close fails with ErrClosed, through the Store and on the driver, and a second Close does not panic", checkUseAfterClose},
		{"InvalidAlertsRejected", "invalid alerts are rejected with ErrInvalidAlert and its precise kind, and a batch with one stores none", checkInvalidRejected},
		{"ForeignEntriesSkipped", "entries that are not alerts are skipped and counted by List, never an error", checkForeignSkipped},
		{"DuplicateIDsListedOnce", "an alert stored twice with one id is listed once per page", checkDuplicateIDs},
		{"PreservesNumbersAndUnicode", "numbers keep their exact digits and text its characters", checkPreserves},
		{"AlertNearSizeCap", "an alert just under max_alert_bytes is stored; just over is rejected with ErrTooLarge", checkSizeCap},
		{"Ping", "Ping succeeds on an open store", checkPing},
		{"Watch", "with the watch capability, every alert stored after Watch is delivered in order, from this and other stores on the namespace; without it, Watch fails with ErrUnsupported", checkWatch},
		{"SharedNamespace", "with the shared capability, two stores on one namespace see each other's writes; without it they do not", checkShared},
		{"NamespacesIsolated", "two prefixes never see each other's alerts", checkIsolated},
		{"Drop", "with the drop capability, Drop removes the namespace and a store opened on it afterwards starts empty and works; without it, the driver does not implement Dropper", checkDrop},
		{"PersistentReopen", "with the persistent capability, alerts survive Close and reopen; without it, a reopened store is empty", checkPersistent},
	}
}

// --- helpers ---------------------------------------------------------------

func mustParse(raw []byte) *backend.Alert {
	a, err := backend.ParseAlert(raw)
	if err != nil {
		panic(fmt.Sprintf("fixture does not parse: %v", err))
	}
	return a
}

// mk builds a small alert: entity, severity word, source type, timestamp.
func mk(entity, sev, src, ts string) *backend.Alert {
	m := map[string]any{"entity": entity, "entity_type": "host", "event_type": "test", "message": "conformance " + entity}
	if sev != "" {
		m["severity"] = sev
	}
	if src != "" {
		m["source"] = map[string]any{"type": src}
	}
	if ts != "" {
		m["timestamp"] = ts
	}
	b, _ := json.Marshal(m)
	return mustParse(b)
}

func seq(prefix string, n int) []*backend.Alert {
	out := make([]*backend.Alert, n)
	for i := range out {
		out[i] = mk(fmt.Sprintf("%s%03d", prefix, i), "Medium", "test", "")
	}
	return out
}

func listAll(ctx context.Context, s *backend.Store, q backend.Query) ([]*backend.Alert, *backend.Page, error) {
	if q.Limit == 0 {
		q.Limit = backend.MaxLimit
	}
	p, err := s.List(ctx, q)
	if err != nil {
		return nil, nil, fmt.Errorf("List(%+v): %w", q, err)
	}
	return p.Alerts, p, nil
}

func entities(as []*backend.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Entity()
	}
	return out
}

func reversed(as []*backend.Alert) []string {
	e := entities(as)
	for i, j := 0, len(e)-1; i < j; i, j = i+1, j-1 {
		e[i], e[j] = e[j], e[i]
	}
	return e
}

func equalStrings(got, want []string) error {
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("got %d alerts %v, want %d %v", len(got), abbreviate(got), len(want), abbreviate(want))
	}
	return nil
}

func abbreviate(s []string) []string {
	if len(s) <= 12 {
		return s
	}
	return append(append(append([]string{}, s[:6]...), "..."), s[len(s)-5:]...)
}

func semantic(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func openDefault(ctx context.Context, e *Env) (*backend.Store, error) { return e.Open(ctx, nil) }

// --- checks ------------------------------------------------------------------

func checkRoundTripLegacy(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	fixtures := LegacyAlerts()
	var batch []*backend.Alert
	for _, f := range fixtures {
		batch = append(batch, mustParse(f))
	}
	if err := s.StoreBatch(ctx, batch); err != nil {
		return fmt.Errorf("StoreBatch of the old system's alerts: %w", err)
	}
	got, _, err := listAll(ctx, s, backend.Query{})
	if err != nil {
		return err
	}
	if len(got) != len(fixtures) {
		return fmt.Errorf("listed %d alerts, stored %d", len(got), len(fixtures))
	}
	for i, f := range fixtures {
		a := got[len(got)-1-i]
		want, _ := semantic(f)
		wm := want.(map[string]any)
		enc, _ := a.MarshalJSON()
		have, err := semantic(enc)
		if err != nil {
			return fmt.Errorf("alert %d re-encodes to invalid JSON: %v", i, err)
		}
		hm := have.(map[string]any)
		if id, _ := hm["id"].(string); id == "" {
			return fmt.Errorf("alert %d came back without an id", i)
		}
		delete(hm, "id")
		if !reflect.DeepEqual(hm, wm) {
			return fmt.Errorf("alert %d changed on the round trip:\n stored %s\n listed %s", i, f, enc)
		}
		// Written again, read again: still identical.
		again := mustParse(enc)
		enc2, _ := again.MarshalJSON()
		if !bytes.Equal(enc, enc2) {
			return fmt.Errorf("alert %d is not stable under re-encoding:\n %s\n %s", i, enc, enc2)
		}
	}
	first := got[len(got)-1]
	if first.SeverityString() != "High" || first.Severity() != backend.SeverityHigh {
		return fmt.Errorf("severity spelling: got %q (%v), want \"High\"", first.SeverityString(), first.Severity())
	}
	if first.TimestampString() != "2025-03-01T12:34:56.789012" {
		return fmt.Errorf("timestamp string changed: %q", first.TimestampString())
	}
	if want := time.Date(2025, 3, 1, 12, 34, 56, 789012000, time.UTC); !first.Time().Equal(want) {
		return fmt.Errorf("naive timestamp read as %s, want %s (UTC)", first.Time(), want)
	}
	if first.SourceType() != "kafka" || first.Entity() != "host1" || first.EntityType() != "host" || first.EventType() != "lateral_movement" {
		return fmt.Errorf("typed fields: source %q entity %q type %q event %q", first.SourceType(), first.Entity(), first.EntityType(), first.EventType())
	}
	if sc, ok := first.Score(); !ok || sc != 0.85 {
		return fmt.Errorf("score: got %v, %v; want 0.85", sc, ok)
	}
	return nil
}

func checkAssignsIdentity(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	a := mk("noid", "High", "test", "")
	a.Delete(backend.FieldTimestamp)
	before := time.Now().Add(-time.Second)
	if err := s.Store(ctx, a); err != nil {
		return err
	}
	if a.ID() == "" || a.TimestampString() == "" {
		return fmt.Errorf("Store did not set id (%q) and timestamp (%q) on the caller's alert", a.ID(), a.TimestampString())
	}
	if a.Time().Before(before) || a.Time().After(time.Now().Add(time.Second)) {
		return fmt.Errorf("assigned timestamp %s is not now", a.Time())
	}
	b := mk("noid2", "High", "test", "")
	if err := s.Store(ctx, b); err != nil {
		return err
	}
	if a.ID() == b.ID() {
		return fmt.Errorf("two alerts got the same id %q", a.ID())
	}
	got, _, err := listAll(ctx, s, backend.Query{})
	if err != nil {
		return err
	}
	if len(got) != 2 || got[1].ID() != a.ID() || got[0].ID() != b.ID() || got[1].TimestampString() != a.TimestampString() {
		return fmt.Errorf("listed ids %v, want [%s %s] with the assigned timestamp", ids(got), b.ID(), a.ID())
	}
	return nil
}

func ids(as []*backend.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID()
	}
	return out
}

func checkKeepsID(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	a := mk("withid", "Low", "test", "2025-03-01T00:00:00")
	if err := a.SetID("det-42:0001"); err != nil {
		return err
	}
	if err := s.Store(ctx, a); err != nil {
		return err
	}
	got, _, err := listAll(ctx, s, backend.Query{})
	if err != nil {
		return err
	}
	if len(got) != 1 || got[0].ID() != "det-42:0001" {
		return fmt.Errorf("listed ids %v, want [det-42:0001]", ids(got))
	}
	return nil
}

func checkNewestFirst(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	in := seq("n", 7)
	for _, a := range in {
		if err := s.Store(ctx, a); err != nil {
			return err
		}
	}
	got, _, err := listAll(ctx, s, backend.Query{})
	if err != nil {
		return err
	}
	return equalStrings(entities(got), reversed(in))
}

func checkBatchOrder(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	in := seq("b", 10)
	if err := s.StoreBatch(ctx, in[:4]); err != nil {
		return err
	}
	if err := s.Store(ctx, in[4]); err != nil {
		return err
	}
	if err := s.StoreBatch(ctx, in[5:]); err != nil {
		return err
	}
	got, _, err := listAll(ctx, s, backend.Query{})
	if err != nil {
		return err
	}
	return equalStrings(entities(got), reversed(in))
}

func checkCap(ctx context.Context, e *Env) error {
	s, err := e.Open(ctx, func(c *backend.Config) { c.MaxAlerts = 5 })
	if err != nil {
		return err
	}
	in := seq("c", 12)
	for _, a := range in {
		if err := s.Store(ctx, a); err != nil {
			return err
		}
	}
	n, err := s.Count(ctx)
	if err != nil {
		return err
	}
	if n != 5 {
		return fmt.Errorf("Count = %d after 12 stores with max_alerts 5, want 5", n)
	}
	got, _, err := listAll(ctx, s, backend.Query{})
	if err != nil {
		return err
	}
	return equalStrings(entities(got), reversed(in[7:]))
}

func checkCapBatch(ctx context.Context, e *Env) error {
	s, err := e.Open(ctx, func(c *backend.Config) { c.MaxAlerts = 5 })
	if err != nil {
		return err
	}
	in := seq("cb", 8)
	if err := s.StoreBatch(ctx, in); err != nil {
		return err
	}
	got, _, err := listAll(ctx, s, backend.Query{})
	if err != nil {
		return err
	}
	if n, err := s.Count(ctx); err != nil || n != 5 {
		return fmt.Errorf("Count = %d, %v; want 5", n, err)
	}
	return equalStrings(entities(got), reversed(in[3:]))
}

// storeMixed stores alerts of every severity (in several spellings), three
// entities, three sources and a spread of timestamps.
func storeMixed(ctx context.Context, s *backend.Store) ([]*backend.Alert, error) {
	in := []*backend.Alert{
		mk("h1", "Info", "kafka", "2025-03-01T10:00:00"),
		mk("h2", "low", "file", "2025-03-01T10:30:00.5"),
		mk("h1", "MEDIUM", "kafka", "2025-03-01T11:00:00+00:00"),
		mk("h3", "High", "wazuh", "2025-03-01T12:00:00Z"),
		mk("h2", "Critical", "kafka", "2025-03-01T13:00:00+01:00"), // 12:00 UTC
		mk("h1", "high", "file", "2025-03-01 14:00:00.000001"),
		mk("h3", "Critical", "wazuh", "2025-03-01T15:00:00"),
	}
	return in, s.StoreBatch(ctx, in)
}

func filterCase(ctx context.Context, e *Env, q backend.Query, want func(a *backend.Alert) bool) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	in, err := storeMixed(ctx, s)
	if err != nil {
		return err
	}
	got, _, err := listAll(ctx, s, q)
	if err != nil {
		return err
	}
	var exp []*backend.Alert
	for i := len(in) - 1; i >= 0; i-- {
		if want(in[i]) {
			exp = append(exp, in[i])
		}
	}
	if len(exp) == 0 {
		return fmt.Errorf("bad check: the filter matches nothing")
	}
	if err := equalStrings(ids(got), ids(exp)); err != nil {
		return fmt.Errorf("query %+v: %v", q, err)
	}
	return nil
}

func checkFilterSeverities(ctx context.Context, e *Env) error {
	return filterCase(ctx, e, backend.Query{Severities: []backend.Severity{backend.SeverityHigh, backend.SeverityInfo}}, func(a *backend.Alert) bool {
		return a.Severity() == backend.SeverityHigh || a.Severity() == backend.SeverityInfo
	})
}

func checkFilterMinSeverity(ctx context.Context, e *Env) error {
	return filterCase(ctx, e, backend.Query{MinSeverity: backend.SeverityMedium}, func(a *backend.Alert) bool {
		return a.Severity() >= backend.SeverityMedium
	})
}

func checkFilterEntity(ctx context.Context, e *Env) error {
	return filterCase(ctx, e, backend.Query{Entity: "h1"}, func(a *backend.Alert) bool { return a.Entity() == "h1" })
}

func checkFilterSource(ctx context.Context, e *Env) error {
	return filterCase(ctx, e, backend.Query{SourceType: "kafka"}, func(a *backend.Alert) bool { return a.SourceType() == "kafka" })
}

func checkFilterTime(ctx context.Context, e *Env) error {
	since := time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC)
	until := time.Date(2025, 3, 1, 14, 0, 0, 0, time.UTC)
	// 11:00 is in (inclusive), 14:00:00.000001 is out (exclusive bound
	// at 14:00), the +01:00 alert is at 12:00 UTC and in.
	return filterCase(ctx, e, backend.Query{Since: since, Until: until}, func(a *backend.Alert) bool {
		return !a.Time().Before(since) && a.Time().Before(until)
	})
}

func checkFiltersCombine(ctx context.Context, e *Env) error {
	return filterCase(ctx, e, backend.Query{MinSeverity: backend.SeverityHigh, SourceType: "wazuh", Entity: "h3"}, func(a *backend.Alert) bool {
		return a.Severity() >= backend.SeverityHigh && a.SourceType() == "wazuh" && a.Entity() == "h3"
	})
}

func checkPagingOffset(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	in := seq("o", 25)
	if err := s.StoreBatch(ctx, in); err != nil {
		return err
	}
	want := reversed(in)
	for _, c := range []struct{ off, lim, from, to int }{{0, 10, 0, 10}, {10, 10, 10, 20}, {20, 10, 20, 25}, {25, 10, 25, 25}, {40, 5, 25, 25}} {
		p, err := s.List(ctx, backend.Query{Offset: c.off, Limit: c.lim})
		if err != nil {
			return err
		}
		if err := equalStrings(entities(p.Alerts), want[c.from:c.to]); err != nil {
			return fmt.Errorf("offset %d limit %d: %v", c.off, c.lim, err)
		}
	}
	// Offsets count matching alerts, not entries.
	p, err := s.List(ctx, backend.Query{Offset: 1, Limit: 1, Entity: "o003"})
	if err != nil {
		return err
	}
	if len(p.Alerts) != 0 {
		return fmt.Errorf("offset 1 of a single match returned %v", entities(p.Alerts))
	}
	return nil
}

func pageThrough(ctx context.Context, s *backend.Store, q backend.Query, between func(page int) error) ([]string, error) {
	var all []string
	for page := 0; page < 1000; page++ {
		p, err := s.List(ctx, q)
		if err != nil {
			return nil, err
		}
		all = append(all, entities(p.Alerts)...)
		if p.Next == "" {
			return all, nil
		}
		if p.Next == q.Cursor {
			return nil, fmt.Errorf("cursor did not advance: %q", p.Next)
		}
		q.Cursor = p.Next
		if between != nil {
			if err := between(page); err != nil {
				return nil, err
			}
		}
	}
	return nil, fmt.Errorf("paging did not end after 1000 pages")
}

func checkPagingCursor(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	in := seq("p", 25)
	if err := s.StoreBatch(ctx, in); err != nil {
		return err
	}
	got, err := pageThrough(ctx, s, backend.Query{Limit: 10}, nil)
	if err != nil {
		return err
	}
	if err := equalStrings(got, reversed(in)); err != nil {
		return err
	}
	// With a filter, pages hold only matches.
	got, err = pageThrough(ctx, s, backend.Query{Limit: 1, Entity: "p007"}, nil)
	if err != nil {
		return err
	}
	return equalStrings(got, []string{"p007"})
}

func checkCursorUnderWrites(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	in := seq("w", 20)
	if err := s.StoreBatch(ctx, in); err != nil {
		return err
	}
	got, err := pageThrough(ctx, s, backend.Query{Limit: 6}, func(page int) error {
		return s.StoreBatch(ctx, seq(fmt.Sprintf("late%d-", page), 3))
	})
	if err != nil {
		return err
	}
	return equalStrings(got, reversed(in))
}

func checkInvalidQuery(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	for _, q := range []backend.Query{
		{Limit: -1},
		{Offset: -3},
		{Cursor: "not-a-cursor"},
		{Cursor: "p", Offset: 1},
		{Limit: backend.MaxLimit + 1},
		{Since: time.Unix(100, 0), Until: time.Unix(50, 0)},
		{Severities: []backend.Severity{backend.Severity(9)}},
	} {
		if _, err := s.List(ctx, q); !errors.Is(err, backend.ErrInvalidQuery) {
			return fmt.Errorf("List(%+v) = %v, want ErrInvalidQuery", q, err)
		}
	}
	return nil
}

func checkCount(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	if n, err := s.Count(ctx); err != nil || n != 0 {
		return fmt.Errorf("Count of a fresh namespace = %d, %v; want 0", n, err)
	}
	if err := s.StoreBatch(ctx, seq("k", 9)); err != nil {
		return err
	}
	if n, err := s.Count(ctx); err != nil || n != 9 {
		return fmt.Errorf("Count = %d, %v; want 9", n, err)
	}
	return nil
}

func checkClear(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	if err := s.StoreBatch(ctx, seq("x", 5)); err != nil {
		return err
	}
	if err := s.Clear(ctx); err != nil {
		return err
	}
	if n, err := s.Count(ctx); err != nil || n != 0 {
		return fmt.Errorf("Count after Clear = %d, %v; want 0", n, err)
	}
	if got, _, err := listAll(ctx, s, backend.Query{}); err != nil || len(got) != 0 {
		return fmt.Errorf("List after Clear = %v, %v; want nothing", entities(got), err)
	}
	in := seq("y", 3)
	if err := s.StoreBatch(ctx, in); err != nil {
		return fmt.Errorf("Store after Clear: %w", err)
	}
	got, _, err := listAll(ctx, s, backend.Query{})
	if err != nil {
		return err
	}
	return equalStrings(entities(got), reversed(in))
}

func checkConcurrentWriters(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	const writers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				var err error
				if i%4 == 3 {
					err = s.StoreBatch(ctx, seq(fmt.Sprintf("cw%d-%d-", w, i), 2))
				} else {
					err = s.Store(ctx, mk(fmt.Sprintf("cw%d-%d", w, i), "High", "test", ""))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return fmt.Errorf("concurrent Store: %w", err)
	}
	got, p, err := listAll(ctx, s, backend.Query{})
	if err != nil {
		return err
	}
	want := writers * (each/4*3 + each/4*2)
	seen := map[string]int{}
	for _, a := range got {
		seen[a.Entity()]++
	}
	for k, n := range seen {
		if n != 1 {
			return fmt.Errorf("alert %s listed %d times", k, n)
		}
	}
	if len(got) != want || p.Duplicates != 0 {
		return fmt.Errorf("listed %d alerts (%d duplicates), want %d", len(got), p.Duplicates, want)
	}
	// Each writer's alerts appear in its own order.
	last := map[int]int{}
	for i := len(got) - 1; i >= 0; i-- {
		var w, n int
		if _, err := fmt.Sscanf(got[i].Entity(), "cw%d-%d", &w, &n); err != nil {
			return fmt.Errorf("unexpected entity %q", got[i].Entity())
		}
		if prev, ok := last[w]; ok && n < prev {
			return fmt.Errorf("writer %d: alert %d listed after %d", w, n, prev)
		}
		last[w] = n
	}
	return nil
}

func checkDeadline(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	if err := s.Store(expired, mk("late", "High", "test", "")); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, backend.ErrUnavailable) {
		return fmt.Errorf("Store with an expired ctx = %v, want DeadlineExceeded or ErrUnavailable", err)
	}
	canceled, cancel2 := context.WithCancel(ctx)
	cancel2()
	if err := s.Store(canceled, mk("canceled", "High", "test", "")); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("Store with a canceled ctx = %v, want context.Canceled", err)
	}
	if _, err := s.List(canceled, backend.Query{}); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("List with a canceled ctx = %v, want context.Canceled", err)
	}
	if _, err := s.Count(canceled); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("Count with a canceled ctx = %v, want context.Canceled", err)
	}
	if n, err := s.Count(ctx); err != nil || n != 0 {
		return fmt.Errorf("Count = %d, %v after failed stores; want 0", n, err)
	}
	// A deadline shorter than the store's own timeout still holds.
	short, cancel3 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel3()
	if err := s.Ping(short); err != nil {
		return fmt.Errorf("Ping within 5s: %w", err)
	}
	return nil
}

func checkUseAfterClose(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return fmt.Errorf("first Close: %w", err)
	}
	calls := map[string]error{
		"Store":      s.Store(ctx, mk("z", "High", "test", "")),
		"StoreBatch": s.StoreBatch(ctx, seq("z", 2)),
		"Clear":      s.Clear(ctx),
		"Ping":       s.Ping(ctx),
		"Close":      s.Close(),
	}
	_, calls["List"] = s.List(ctx, backend.Query{})
	_, calls["Count"] = s.Count(ctx)
	_, calls["Watch"] = s.Watch(ctx)
	for name, err := range calls {
		if !errors.Is(err, backend.ErrClosed) {
			return fmt.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	// The driver itself must refuse too: wrappers such as the chain call
	// drivers directly.
	d := s.Driver()
	_, scanErr := d.Scan(ctx, 0, 1)
	_, countErr := d.Count(ctx)
	for name, err := range map[string]error{
		"driver Append": d.Append(ctx, [][]byte{[]byte(`{"timestamp":"2025-03-01T00:00:00"}`)}),
		"driver Scan":   scanErr,
		"driver Count":  countErr,
		"driver Ping":   d.Ping(ctx),
	} {
		if !errors.Is(err, backend.ErrClosed) {
			return fmt.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	return nil
}

func checkInvalidRejected(ctx context.Context, e *Env) error {
	for _, c := range []struct {
		name string
		raw  string
		kind error
	}{
		{"array", `[1,2]`, backend.ErrNotObject},
		{"string", `"x"`, backend.ErrNotObject},
		{"null", `null`, backend.ErrNotObject},
		{"empty", ``, backend.ErrNotObject},
		{"truncated", `{"entity": "h`, backend.ErrMalformedJSON},
		{"trailing", `{"entity": "h"} {}`, backend.ErrMalformedJSON},
		{"invalid-utf8", "{\"entity\": \"\xff\xfe\"}", backend.ErrInvalidUTF8},
		{"bad-severity", `{"severity": "urgent"}`, backend.ErrBadSeverity},
		{"bad-timestamp", `{"timestamp": "yesterday"}`, backend.ErrBadTimestamp},
		{"numeric-timestamp", `{"timestamp": 1740832496}`, backend.ErrBadFieldType},
		{"duplicate-key", `{"entity": "a", "entity": "b"}`, backend.ErrDuplicateKey},
		{"duplicate-source-type", `{"source": {"type": "a", "type": "b"}}`, backend.ErrDuplicateKey},
		{"entity-not-string", `{"entity": 7}`, backend.ErrBadFieldType},
		{"score-not-number", `{"prediction_score": "high"}`, backend.ErrBadFieldType},
	} {
		_, err := backend.ParseAlert([]byte(c.raw))
		if !errors.Is(err, c.kind) || !errors.Is(err, backend.ErrInvalidAlert) {
			return fmt.Errorf("ParseAlert(%s: %q) = %v, want %v", c.name, c.raw, err, c.kind)
		}
	}
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	bad := backend.NewAlert()
	if err := bad.Set("severity", "urgent"); !errors.Is(err, backend.ErrBadSeverity) {
		return fmt.Errorf("Set(severity, urgent) = %v, want ErrBadSeverity", err)
	}
	batch := seq("v", 3)
	huge := mk("huge", "High", "test", "")
	if err := huge.Set("blob", strings.Repeat("a", e.cfg.MaxAlertBytes)); err != nil {
		return err
	}
	batch = append(batch, huge)
	err = s.StoreBatch(ctx, batch)
	var ae *backend.AlertError
	if !errors.Is(err, backend.ErrTooLarge) || !errors.As(err, &ae) || ae.Index != 3 {
		return fmt.Errorf("StoreBatch with an oversized 4th alert = %v, want ErrTooLarge at index 3", err)
	}
	if err := s.Store(ctx, nil); !errors.Is(err, backend.ErrInvalidAlert) {
		return fmt.Errorf("Store(nil) = %v, want ErrInvalidAlert", err)
	}
	if n, err := s.Count(ctx); err != nil || n != 0 {
		return fmt.Errorf("Count = %d, %v after rejected writes; want 0 (nothing stored)", n, err)
	}
	return nil
}

func checkForeignSkipped(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	junk := [][]byte{
		[]byte("x"), []byte(`"x"`), []byte("null"), []byte("{}"), []byte(`[1]`),
		[]byte("\xff\xfe\xfd"), []byte(`{"severity": "urgent", "timestamp": "2025-03-01T00:00:00"}`),
		[]byte(`{"entity": "a", "entity": "b", "timestamp": "2025-03-01T00:00:00"}`), []byte(`{"entity": "trunc`),
		bytes.Repeat([]byte("A"), e.cfg.MaxAlertBytes+1),
	}
	good := seq("g", 3)
	if err := s.Store(ctx, good[0]); err != nil {
		return err
	}
	if err := s.Driver().Append(ctx, junk[:5]); err != nil {
		return fmt.Errorf("driver Append of foreign entries: %w", err)
	}
	if err := s.Store(ctx, good[1]); err != nil {
		return err
	}
	if err := s.Driver().Append(ctx, junk[5:]); err != nil {
		return fmt.Errorf("driver Append of foreign entries: %w", err)
	}
	if err := s.Store(ctx, good[2]); err != nil {
		return err
	}
	got, p, err := listAll(ctx, s, backend.Query{})
	if err != nil {
		return fmt.Errorf("List over foreign entries must not fail: %w", err)
	}
	if err := equalStrings(entities(got), reversed(good)); err != nil {
		return err
	}
	if p.Skipped != len(junk) {
		return fmt.Errorf("Page.Skipped = %d, want %d", p.Skipped, len(junk))
	}
	if n, err := s.Count(ctx); err != nil || n != int64(len(junk)+len(good)) {
		return fmt.Errorf("Count = %d, %v; want %d (entries, foreign included)", n, err, len(junk)+len(good))
	}
	// The cap still holds with foreign entries in the list.
	capped, err := e.Open(ctx, func(c *backend.Config) { c.MaxAlerts = 4; c.Prefix += "capped:" })
	if err != nil {
		return err
	}
	if err := capped.Store(ctx, mk("c0", "High", "test", "")); err != nil {
		return err
	}
	if err := capped.Driver().Append(ctx, junk[:3]); err != nil {
		return err
	}
	if err := capped.StoreBatch(ctx, seq("c", 2)); err != nil {
		return err
	}
	if n, err := capped.Count(ctx); err != nil || n != 4 {
		return fmt.Errorf("Count = %d, %v after 6 entries with max_alerts 4; want 4", n, err)
	}
	got, p, err = listAll(ctx, capped, backend.Query{})
	if err != nil {
		return err
	}
	if err := equalStrings(entities(got), []string{"c001", "c000"}); err != nil || p.Skipped != 2 {
		return fmt.Errorf("capped store with foreign entries: %v, skipped %d (want 2)", err, p.Skipped)
	}
	return nil
}

func checkDuplicateIDs(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	a := mk("dup", "High", "test", "")
	if err := s.Store(ctx, a); err != nil {
		return err
	}
	if err := s.Store(ctx, a); err != nil { // a retry of the same alert
		return err
	}
	got, p, err := listAll(ctx, s, backend.Query{})
	if err != nil {
		return err
	}
	if len(got) != 1 || p.Duplicates != 1 {
		return fmt.Errorf("listed %d alerts with %d duplicates, want 1 and 1", len(got), p.Duplicates)
	}
	return nil
}

func checkPreserves(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	raw := `{"entity":"h\u00f4te-\u6771\u4eac-\ud83d\udd25","timestamp":"2025-03-01T00:00:00","severity":"Low","n":{"big":123456789012345678901234567890,"f":0.1,"e":1E+400,"neg":-0.0},"s":"tab\tquote\"nl\n<&>"}`
	a, err := backend.ParseAlert([]byte(raw))
	if err != nil {
		return err
	}
	if err := s.Store(ctx, a); err != nil {
		return err
	}
	got, _, err := listAll(ctx, s, backend.Query{})
	if err != nil || len(got) != 1 {
		return fmt.Errorf("List = %d alerts, %v", len(got), err)
	}
	n, _ := got[0].Get("n")
	if string(n) != `{"big":123456789012345678901234567890,"f":0.1,"e":1E+400,"neg":-0.0}` {
		return fmt.Errorf("numbers changed: %s", n)
	}
	if got[0].Entity() != "hôte-東京-🔥" {
		return fmt.Errorf("entity changed: %q", got[0].Entity())
	}
	sv, _ := got[0].Get("s")
	var str string
	if err := json.Unmarshal(sv, &str); err != nil || str != "tab\tquote\"nl\n<&>" {
		return fmt.Errorf("string changed: %s", sv)
	}
	return nil
}

func checkSizeCap(ctx context.Context, e *Env) error {
	const limit = 4096
	s, err := e.Open(ctx, func(c *backend.Config) { c.MaxAlertBytes = limit })
	if err != nil {
		return err
	}
	a := mk("big", "High", "test", "2025-03-01T00:00:00")
	if err := a.SetID("fixed-id"); err != nil {
		return err
	}
	base, _ := a.MarshalJSON()
	pad := limit - len(base) - len(`,"pad":""`)
	if err := a.Set("pad", strings.Repeat("p", pad)); err != nil {
		return err
	}
	if enc, _ := a.MarshalJSON(); len(enc) != limit {
		return fmt.Errorf("bad check: built %d bytes, want %d", len(enc), limit)
	}
	if err := s.Store(ctx, a); err != nil {
		return fmt.Errorf("an alert of exactly max_alert_bytes was refused: %w", err)
	}
	if err := a.Set("pad", strings.Repeat("p", pad+1)); err != nil {
		return err
	}
	if err := s.Store(ctx, a); !errors.Is(err, backend.ErrTooLarge) {
		return fmt.Errorf("an alert one byte over max_alert_bytes: %v, want ErrTooLarge", err)
	}
	got, _, err := listAll(ctx, s, backend.Query{})
	if err != nil || len(got) != 1 {
		return fmt.Errorf("List = %d alerts, %v; want the 1 that fits", len(got), err)
	}
	return nil
}

func checkPing(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	return s.Ping(ctx)
}

func checkWatch(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	if !s.Capabilities().Watch {
		if _, err := s.Watch(ctx); !errors.Is(err, backend.ErrUnsupported) {
			return fmt.Errorf("Watch without the capability = %v, want ErrUnsupported", err)
		}
		return skipf("backend does not declare watch (checked: Watch fails with ErrUnsupported)")
	}
	if err := s.Store(ctx, mk("before-watch", "Low", "test", "")); err != nil {
		return err
	}
	w, err := s.Watch(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	in := seq("wa", 5)
	if err := s.Store(ctx, in[0]); err != nil {
		return err
	}
	if err := s.StoreBatch(ctx, in[1:3]); err != nil {
		return err
	}
	writers := []*backend.Store{s}
	if s.Capabilities().Shared {
		other, err := openDefault(ctx, e)
		if err != nil {
			return err
		}
		writers = append(writers, other)
	}
	if err := writers[len(writers)-1].StoreBatch(ctx, in[3:]); err != nil {
		return err
	}
	var got []string
	for len(got) < len(in) {
		nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		a, err := w.Next(nctx)
		cancel()
		if err != nil {
			return fmt.Errorf("Watch.Next after %v: %w", got, err)
		}
		got = append(got, a.Entity())
	}
	want := entities(in)
	if err := equalStrings(got, want); err != nil {
		return fmt.Errorf("watch delivered in the wrong order or the wrong alerts: %v", err)
	}
	// Close ends the stream.
	if err := w.Close(); err != nil {
		return err
	}
	nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := w.Next(nctx); err == nil {
		return fmt.Errorf("Watch.Next after Close returned an alert")
	} else if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("Watch.Next after Close blocked until the deadline instead of failing")
	}
	return nil
}

func checkShared(ctx context.Context, e *Env) error {
	a, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	b, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	if err := a.Store(ctx, mk("from-a", "High", "test", "")); err != nil {
		return err
	}
	if err := b.Store(ctx, mk("from-b", "High", "test", "")); err != nil {
		return err
	}
	gotA, _, err := listAll(ctx, a, backend.Query{})
	if err != nil {
		return err
	}
	gotB, _, err := listAll(ctx, b, backend.Query{})
	if err != nil {
		return err
	}
	if !a.Capabilities().Shared {
		if err := equalStrings(entities(gotA), []string{"from-a"}); err != nil {
			return fmt.Errorf("not shared, yet store A sees: %v", err)
		}
		return skipf("backend does not declare shared (checked: two opens are independent)")
	}
	if err := equalStrings(entities(gotA), []string{"from-b", "from-a"}); err != nil {
		return fmt.Errorf("store A: %v", err)
	}
	return equalStrings(entities(gotB), []string{"from-b", "from-a"})
}

func checkIsolated(ctx context.Context, e *Env) error {
	a, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	other := e.cfg.Prefix + "other:"
	b, err := e.Open(ctx, func(c *backend.Config) { c.Prefix = other })
	if err != nil {
		return err
	}
	if err := a.Store(ctx, mk("in-a", "High", "test", "")); err != nil {
		return err
	}
	if err := b.Store(ctx, mk("in-b", "High", "test", "")); err != nil {
		return err
	}
	if err := b.Clear(ctx); err != nil {
		return err
	}
	got, _, err := listAll(ctx, a, backend.Query{})
	if err != nil {
		return err
	}
	return equalStrings(entities(got), []string{"in-a"})
}

func checkPersistent(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	if err := s.StoreBatch(ctx, seq("keep", 3)); err != nil {
		return err
	}
	persistent := s.Capabilities().Persistent
	if err := s.Close(); err != nil {
		return err
	}
	r, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	got, _, err := listAll(ctx, r, backend.Query{})
	if err != nil {
		return err
	}
	if !persistent {
		if len(got) != 0 && !r.Capabilities().Shared {
			return fmt.Errorf("neither persistent nor shared, yet a reopened store lists %v", entities(got))
		}
		return skipf("backend does not declare persistent")
	}
	return equalStrings(entities(got), []string{"keep002", "keep001", "keep000"})
}

func checkDrop(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	dr, implements := s.Driver().(backend.Dropper)
	if !s.Capabilities().Drop {
		if implements {
			return fmt.Errorf("the driver implements Dropper but does not declare the drop capability")
		}
		return skipf("backend does not declare drop (checked: no Dropper)")
	}
	if !implements {
		return fmt.Errorf("the drop capability is declared but the driver does not implement Dropper")
	}
	if err := s.StoreBatch(ctx, seq("d", 3)); err != nil {
		return err
	}
	if err := dr.Drop(ctx); err != nil {
		return fmt.Errorf("Drop: %w", err)
	}
	if n, err := s.Count(ctx); err != nil || n != 0 {
		return fmt.Errorf("Count after Drop = %d, %v; want 0", n, err)
	}
	in := seq("after-drop", 2)
	if err := s.StoreBatch(ctx, in); err != nil {
		return fmt.Errorf("Store after Drop: %w", err)
	}
	got, _, err := listAll(ctx, s, backend.Query{})
	if err != nil {
		return err
	}
	return equalStrings(entities(got), reversed(in))
}
