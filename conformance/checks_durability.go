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
