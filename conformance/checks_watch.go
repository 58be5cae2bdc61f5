package conformance

// The check of the watch capability.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

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
	defer func() { _ = w.Close() }() // the check is about delivery; Close errors are UseAfterClose's
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
