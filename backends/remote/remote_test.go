package remote_test

import (
	"context"
	"testing"

	_ "github.com/apt-detection/alertstore/backends/bolt"
	_ "github.com/apt-detection/alertstore/backends/memory"
	_ "github.com/apt-detection/alertstore/backends/remote"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/internal/servetest"
)

func TestMain(m *testing.M) { servetest.Main(m) }

// TestConformance runs the whole suite through a real `alertstore serve`
// process, twice, so that each capability is checked both ways: over a
// bolt file with --admin (watch, shared, persistent, durable, drop,
// namespace), and over a named mem:// store without it (watch and shared
// only).
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the client backend runs the suite against a real alertstore serve process (it builds the command); run without -short")
	}
	for _, c := range []struct {
		name string
		dsn  func(t *testing.T) string
		args []string
	}{
		{"bolt-admin", func(t *testing.T) string { return "bolt://" + t.TempDir() + "/alerts.db" }, []string{"--any-namespace", "--admin"}},
		{"mem", func(t *testing.T) string { return "mem://conformance" }, []string{"--any-namespace"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := servetest.Start(t, c.dsn(t), c.args...)
			conformance.RunConformanceTests(t, conformance.DSNHarness(func(context.Context, testing.TB) (string, error) {
				return "alertstore+http://" + p.Addr, nil
			}))
		})
	}
}
