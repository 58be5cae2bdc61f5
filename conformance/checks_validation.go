package conformance

// Checks of what is refused: invalid queries and alerts, foreign entries,
// the size cap, deadlines and use after Close.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

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
	if err := e.driver(s).Append(ctx, junk[:5]); err != nil {
		return fmt.Errorf("driver Append of foreign entries: %w", err)
	}
	if err := s.Store(ctx, good[1]); err != nil {
		return err
	}
	if err := e.driver(s).Append(ctx, junk[5:]); err != nil {
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
	if err := e.driver(capped).Append(ctx, junk[:3]); err != nil {
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
	d := e.driver(s)
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

func checkPing(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	return s.Ping(ctx)
}
