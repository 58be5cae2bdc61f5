package dirstore_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"

	dirstore "example.com/alertstore-dirstore"
)

// prodHarness ignores the prefix the suite asks for: every driver it
// makes is on the production namespace of one directory.
type prodHarness struct{ dsn string }

func (h prodHarness) MakeDriver(ctx context.Context, _ backend.Config) (backend.Driver, error) {
	return registry.OpenDriver(ctx, h.dsn)
}

func (prodHarness) Close() {}

// TestScratchNamespace: a third-party backend reports where it writes, so
// the conformance suite (and `alertstore selftest`, which runs it) refuses
// a harness that hands it production data, and leaves that data alone.
func TestScratchNamespace(t *testing.T) {
	ctx := context.Background()
	dsn := dirstore.Scheme + "://" + t.TempDir() + "?prefix=apt_detection:"
	prod, err := registry.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	if got, want := prod.Namespaces(), []backend.Namespace{{Prefix: "apt_detection:"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Namespaces() = %+v, want %+v", got, want)
	}
	if err := prod.RequireNamespace("alertstore-selftest:"); !errors.Is(err, backend.ErrInvalidConfig) {
		t.Fatalf("RequireNamespace(scratch) on the production prefix = %v, want ErrInvalidConfig", err)
	}
	for _, entity := range []string{"real-a", "real-b", "real-c"} {
		a := backend.NewAlert()
		if err := a.SetEntity(entity); err != nil {
			t.Fatal(err)
		}
		if err := prod.Store(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	before := listIDs(t, prod)
	for _, r := range conformance.Run(ctx, prodHarness{dsn}, "") {
		if !errors.Is(r.Err, conformance.ErrForeignNamespace) {
			t.Errorf("%s: err = %v, skipped %q; want ErrForeignNamespace", r.Name, r.Err, r.Skipped)
		}
	}
	if after := listIDs(t, prod); !slices.Equal(before, after) {
		t.Fatalf("the production namespace changed: before %v, after %v", before, after)
	}
}

func listIDs(t *testing.T, s *backend.Store) []string {
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
