package conformance

// Checks of what survives: the persistent capability.

import (
	"context"
	"fmt"

	"github.com/apt-detection/alertstore/backend"
)

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

func checkDurable(ctx context.Context, e *Env) error {
	s, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	c := s.Capabilities()
	if !c.Durable {
		return skipf("backend does not declare durable")
	}
	if !c.Persistent {
		return fmt.Errorf("durable is declared but persistent is not: what survives a crash survives a Close")
	}
	in := seq("dur", 3)
	if err := s.StoreBatch(ctx, in); err != nil {
		return err
	}
	// A crash runs no Close: what is acknowledged is already where another
	// open finds it, with the writer still open.
	r, err := openDefault(ctx, e)
	if err != nil {
		return err
	}
	got, _, err := listAll(ctx, r, backend.Query{})
	if err != nil {
		return err
	}
	if err := equalStrings(entities(got), reversed(in)); err != nil {
		return fmt.Errorf("a second open, with the writer not closed: %v", err)
	}
	return nil
}
