package conformance

// Checks of writing: the old format round trip, identity, order, the cap,
// counting, clearing, concurrency, duplicate ids and namespaces.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

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
