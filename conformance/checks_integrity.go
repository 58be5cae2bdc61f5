package conformance

import (
	"context"
	"fmt"
	"slices"

	"github.com/apt-detection/alertstore/backend"
)

// checkSameIDConflict stores an alert, then appends (as any writer with
// access to the storage could) a later entry with the same id and other
// content. Both must be listed and flagged: a backend that keeps one
// entry per id (a key-value layout, an upsert) would let the later entry
// hide the real alert, even from a filter the real one matches.
func checkSameIDConflict(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	const id = "same-id-conflict"
	real := mk("victim", "High", "test", "2025-03-01T00:00:00")
	if err := real.SetID(id); err != nil {
		return err
	}
	if err := real.SetMessage("beacon to rare domain"); err != nil {
		return err
	}
	forged := real.Clone()
	if err := forged.SetSeverity(backend.SeverityLow); err != nil {
		return err
	}
	if err := forged.SetMessage("all clear"); err != nil {
		return err
	}
	if err := s.Store(ctx, real); err != nil {
		return err
	}
	raw, _ := forged.MarshalJSON()
	if err := e.driver(s).Append(ctx, [][]byte{raw}); err != nil {
		return fmt.Errorf("driver Append of the same-id entry: %w", err)
	}
	got, p, err := listAll(ctx, s, backend.Query{})
	if err != nil {
		return err
	}
	var msgs []string
	for _, a := range got {
		if a.ID() != id {
			return fmt.Errorf("listed an alert with id %q, want only %q", a.ID(), id)
		}
		if !a.IDConflict() {
			return fmt.Errorf("the copy %q is listed without IDConflict", a.Message())
		}
		msgs = append(msgs, a.Message())
	}
	if want := []string{"all clear", "beacon to rare domain"}; !slices.Equal(msgs, want) {
		return fmt.Errorf("listed %q; want both copies of id %s, newest first, %q (a later entry must not hide an alert)", msgs, id, want)
	}
	if !slices.Equal(p.Conflicts, []string{id}) || p.Duplicates != 0 {
		return fmt.Errorf("Page.Conflicts %q, Duplicates %d; want [%s] and 0", p.Conflicts, p.Duplicates, id)
	}
	high, p, err := listAll(ctx, s, backend.Query{MinSeverity: backend.SeverityHigh})
	if err != nil {
		return err
	}
	if len(high) != 1 || high[0].Message() != "beacon to rare domain" || !high[0].IDConflict() || !slices.Equal(p.Conflicts, []string{id}) {
		return fmt.Errorf("List --min-severity high listed %d alerts (conflicts %q); want the real alert, flagged", len(high), p.Conflicts)
	}
	return nil
}
