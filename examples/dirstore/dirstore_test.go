package dirstore_test

import (
	"context"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/conformance"

	dirstore "example.com/alertstore-dirstore"
)

// harness opens every driver in one directory, a subdirectory per prefix,
// as a program sharing the directory would.
type harness struct {
	dir  string
	opts *dirstore.Options
}

func (h harness) MakeDriver(ctx context.Context, cfg backend.Config) (backend.Driver, error) {
	return dirstore.Open(ctx, h.dir, cfg, h.opts)
}

// Close has nothing to release: t.TempDir removes the directory.
func (harness) Close() {}

// TestConformance runs the shared suite once per fsync setting, since the
// two take different paths through Append and Clear.
func TestConformance(t *testing.T) {
	for _, c := range []struct {
		name string
		opts *dirstore.Options
	}{
		{"fsync", nil},
		{"nosync", &dirstore.Options{NoSync: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			conformance.RunConformanceTests(t, func(context.Context, testing.TB) (conformance.Harness, error) {
				return harness{dir: dir, opts: c.opts}, nil
			})
		})
	}
}
