package dirstore_test

import (
	"context"
	"testing"

	"github.com/apt-detection/alertstore/conformance"

	dirstore "example.com/alertstore-dirstore"
)

// TestConformance runs the shared suite once per fsync setting, since the
// two take different paths through Append and Clear. The harness opens
// every driver by DSN in one directory, a subdirectory per prefix, as a
// program sharing the directory would.
func TestConformance(t *testing.T) {
	for _, c := range []struct{ name, params string }{
		{"fsync", ""},
		{"nosync", "?fsync=false"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conformance.RunConformanceTests(t, conformance.DSNHarness(func(_ context.Context, t testing.TB) (string, error) {
				return dirstore.Scheme + "://" + t.TempDir() + c.params, nil
			}))
		})
	}
}
