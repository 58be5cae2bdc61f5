package sentinel

import (
	"context"
	"testing"

	"github.com/apt-detection/alertstore/conformance"
)

// TestConformance runs the shared suite on each scheme against a
// topology of three data nodes and three sentinels.
func TestConformance(t *testing.T) {
	for _, tg := range selected(t, targets) {
		t.Run(tg.String(), func(t *testing.T) {
			t.Parallel()
			tp := sharedTopo(t, tg.server)
			conformance.RunConformanceTests(t, func(ctx context.Context, t testing.TB) (conformance.Harness, error) {
				return &harness{scheme: tg.scheme, tp: tp}, nil
			})
		})
	}
}
