package conformance

// Checks of the shared and drop capabilities.

import (
	"context"
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
