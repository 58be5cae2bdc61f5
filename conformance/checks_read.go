package conformance

// Checks of reading: filters and paging.

import (
	"context"
	"fmt"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

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
