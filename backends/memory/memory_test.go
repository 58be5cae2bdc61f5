package memory_test

import (
	"context"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/conformance"
)

// harness opens memory drivers; named ones share data per prefix, private
// ones do not, so the suite checks the shared capability both ways.
type harness struct{ name string }

func (h harness) MakeDriver(ctx context.Context, cfg backend.Config) (backend.Driver, error) {
	return memory.Open(h.name, cfg, nil), nil
}

func (harness) Close() {}

func TestConformance(t *testing.T) {
	for _, c := range []struct{ name, store string }{{"named", t.Name()}, {"private", ""}} {
		t.Run(c.name, func(t *testing.T) {
			conformance.RunConformanceTests(t, func(context.Context, testing.TB) (conformance.Harness, error) {
				return harness{name: c.store}, nil
			})
		})
	}
}
