package valkeygo_test

import (
	"testing"

	"github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/backends/internal/servertest/redistest"
	"github.com/apt-detection/alertstore/backends/valkeygo"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/conformance/containers"
)

// The servers of containers.Matrix() are started once for this binary and
// shared by every test below; each test works under a prefix of its own.
func TestMain(m *testing.M) { redistest.Main(m) }

func TestConformance(t *testing.T) {
	for _, spec := range containers.Matrix() {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Shared(t, spec)
			conformance.RunConformanceTests(t, redistest.Harness(valkeygo.Scheme, srv.Addr()))
		})
	}
}

func TestServer(t *testing.T) {
	for _, spec := range containers.Matrix() {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			redistest.RunServerTests(t, valkeygo.Scheme, redistest.Shared(t, spec))
		})
	}
}

func TestFaults(t *testing.T) {
	for _, spec := range containers.Matrix() {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			redistest.RunFaultTests(t, valkeygo.Scheme, spec)
		})
	}
}

// TestSharesLayoutWithGoredis writes with each backend and reads and
// watches with the other, on one server and prefix.
func TestSharesLayoutWithGoredis(t *testing.T) {
	for _, spec := range containers.Matrix() {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Shared(t, spec)
			redistest.RunCrossTests(t, valkeygo.Scheme, goredis.Scheme, srv)
			redistest.RunCrossTests(t, goredis.Scheme, valkeygo.Scheme, srv)
		})
	}
}

func TestNoServer(t *testing.T) {
	redistest.RunOfflineTests(t, valkeygo.Scheme)
}
