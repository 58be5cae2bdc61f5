package conformance

// Checks of the shared and drop capabilities.

import (
	"context"
	"errors"
	"fmt"

	"github.com/apt-detection/alertstore/backend"
)

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

func checkDrop(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	_, implements := e.driver(s).(backend.Dropper)
	if !s.Capabilities().Drop {
		if implements {
			return fmt.Errorf("the driver implements Dropper but does not declare the drop capability")
		}
		if err := s.Drop(ctx); !errors.Is(err, backend.ErrUnsupported) {
			return fmt.Errorf("Drop without the capability = %v, want ErrUnsupported", err)
		}
		return skipf("backend does not declare drop (checked: no Dropper, Drop fails with ErrUnsupported)")
	}
	if !implements {
		return fmt.Errorf("the drop capability is declared but the driver does not implement Dropper")
	}
	if err := s.StoreBatch(ctx, seq("d", 3)); err != nil {
		return err
	}
	if err := s.Drop(ctx); err != nil {
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

func checkCapabilitiesMatch(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	d := e.driver(s)
	if err := backend.CheckCapabilities(d); err != nil {
		return err
	}
	other, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	if a, b := s.Capabilities(), other.Capabilities(); a != b {
		return fmt.Errorf("two opens on one namespace declare different capabilities: %+v and %+v", a, b)
	}
	if s.Capabilities() != d.Capabilities() {
		return fmt.Errorf("capabilities changed between two calls: %+v, then %+v", s.Capabilities(), d.Capabilities())
	}
	// As is the escape hatch: it must refuse what it does not support,
	// without panicking.
	if s.As(nil) {
		return fmt.Errorf("As(nil) = true, want false")
	}
	var unsupported struct{ conformance int }
	if s.As(&unsupported) {
		return fmt.Errorf("As(*struct{...}) = true for a type no backend can support")
	}
	return nil
}

// entryEntities decodes entries as alerts and returns their entities.
func entryEntities(es []backend.Entry) ([]string, error) {
	out := make([]string, len(es))
	for i, en := range es {
		a, err := backend.ParseAlert(en.Data)
		if err != nil {
			return nil, fmt.Errorf("entry at position %d does not decode: %w", en.Pos, err)
		}
		out[i] = a.Entity()
		if i > 0 && en.Pos <= es[i-1].Pos {
			return nil, fmt.Errorf("Oldest returned position %d after %d: not oldest first", en.Pos, es[i-1].Pos)
		}
	}
	return out, nil
}

func checkDrain(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	_, implements := e.driver(s).(backend.Drainer)
	if !s.Capabilities().Drain {
		if implements {
			return fmt.Errorf("the driver implements Drainer but does not declare the drain capability")
		}
		if _, ok := backend.DrainerOf(e.driver(s)); ok {
			return fmt.Errorf("DrainerOf found a Drainer the driver does not declare")
		}
		return skipf("backend does not declare drain (checked: no Drainer)")
	}
	dr, ok := backend.DrainerOf(e.driver(s))
	if !ok || !implements {
		return fmt.Errorf("the drain capability is declared but the driver does not implement Drainer")
	}
	in := seq("dr", 7)
	if err := s.StoreBatch(ctx, in); err != nil {
		return err
	}
	want := entities(in)
	first, err := dr.Oldest(ctx, 0, 3)
	if err != nil {
		return fmt.Errorf("Oldest(0, 3): %w", err)
	}
	got, err := entryEntities(first)
	if err != nil {
		return err
	}
	if err := equalStrings(got, want[:3]); err != nil {
		return fmt.Errorf("Oldest(0, 3): %v", err)
	}
	rest, err := dr.Oldest(ctx, first[2].Pos, 100)
	if err != nil {
		return fmt.Errorf("Oldest after the 3rd: %w", err)
	}
	if got, err = entryEntities(rest); err != nil {
		return err
	}
	if err := equalStrings(got, want[3:]); err != nil {
		return fmt.Errorf("Oldest after the 3rd: %v", err)
	}
	for round := 0; round < 2; round++ { // removing again is not an error
		if err := dr.Remove(ctx, first[2].Pos); err != nil {
			return fmt.Errorf("Remove up to the 3rd (round %d): %w", round+1, err)
		}
	}
	if n, err := s.Count(ctx); err != nil || n != 4 {
		return fmt.Errorf("Count after removing 3 of 7 = %d, %v; want 4", n, err)
	}
	listed, _, err := listAll(ctx, s, backend.Query{})
	if err != nil {
		return err
	}
	if err := equalStrings(entities(listed), reversed(in[3:])); err != nil {
		return fmt.Errorf("List after Remove: %v", err)
	}
	left, err := dr.Oldest(ctx, 0, 100)
	if err != nil {
		return err
	}
	if got, err = entryEntities(left); err != nil {
		return err
	}
	if err := equalStrings(got, want[3:]); err != nil {
		return fmt.Errorf("Oldest after Remove: %v", err)
	}
	last := rest[len(rest)-1].Pos
	if err := dr.Remove(ctx, last); err != nil {
		return fmt.Errorf("Remove up to the newest: %w", err)
	}
	if n, err := s.Count(ctx); err != nil || n != 0 {
		return fmt.Errorf("Count after removing everything = %d, %v; want 0", n, err)
	}
	// Positions never go backwards: what is appended after a drain comes
	// after everything removed, so a replay's "after" stays valid.
	more := seq("dr-after", 2)
	if err := s.StoreBatch(ctx, more); err != nil {
		return err
	}
	after, err := dr.Oldest(ctx, last, 100)
	if err != nil {
		return err
	}
	if got, err = entryEntities(after); err != nil {
		return err
	}
	return equalStrings(got, entities(more))
}
