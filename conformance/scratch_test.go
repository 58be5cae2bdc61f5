package conformance_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/conformance"
)

// prodHarness is a broken harness: it ignores cfg.Prefix, and every driver
// it makes writes to one "production" namespace, as a harness (or a
// selftest DSN) whose backend keeps a prefix of its own would.
type prodHarness struct {
	name string
	// hide wraps the driver so that it does not report its namespace
	// (no backend.Namespacer): only the emptiness check can catch it.
	hide bool
}

// hidden does not promote the memory driver's Namespaces.
type hidden struct{ backend.Driver }

func (h prodHarness) MakeDriver(_ context.Context, _ backend.Config) (backend.Driver, error) {
	d := memory.Open(h.name, backend.Config{Prefix: backend.DefaultPrefix}, nil)
	if h.hide {
		return hidden{d}, nil
	}
	return d, nil
}

func (prodHarness) Close() {}

// TestSuiteNeverTouchesForeignNamespace: against a harness that hands out
// a namespace the suite did not make, every check fails with
// ErrForeignNamespace before its first write, and the production alerts
// are exactly as they were: nothing added, cleared or dropped.
func TestSuiteNeverTouchesForeignNamespace(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		hide   bool
		stored int
	}{
		{"reports-other-prefix/empty", false, 0},
		{"reports-other-prefix/holding-alerts", false, 3},
		{"reports-nothing/holding-alerts", true, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := prodHarness{name: t.Name(), hide: c.hide}
			prod := backend.NewStore(memory.Open(h.name, backend.Config{Prefix: backend.DefaultPrefix}, nil), "mem", backend.Config{})
			defer prod.Close()
			for i := range c.stored {
				a := backend.NewAlert()
				if err := a.SetEntity("real-" + string(rune('a'+i))); err != nil {
					t.Fatal(err)
				}
				if err := prod.Store(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			before := prodIDs(t, prod)

			results := conformance.Run(ctx, h, "")
			for _, r := range results {
				if !errors.Is(r.Err, conformance.ErrForeignNamespace) {
					t.Errorf("%s: err = %v, skipped %q; want ErrForeignNamespace", r.Name, r.Err, r.Skipped)
				}
			}
			if after := prodIDs(t, prod); !slices.Equal(before, after) {
				t.Fatalf("the production namespace changed: before %v, after %v", before, after)
			}
		})
	}
}

func prodIDs(t *testing.T, s *backend.Store) []string {
	t.Helper()
	p, err := s.List(context.Background(), backend.Query{Limit: backend.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range p.Alerts {
		out = append(out, a.ID())
	}
	return out
}
