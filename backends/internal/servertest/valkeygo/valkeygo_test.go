package valkeygo_test

import (
	"context"
	"testing"

	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/backend"

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
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		srv := redistest.Shared(t, spec)
		conformance.RunConformanceTests(t, redistest.Harness(valkeygo.Scheme, srv.Addr()))
	})
}

// Store.As reaches the valkey-go client behind the store (the package
// doc's escape hatch), and nothing else.
func TestAs(t *testing.T) {
	srv := redistest.Shared(t, containers.Matrix()[0])
	s := redistest.Open(t, redistest.DSN(valkeygo.Scheme, srv.Addr(), backend.Config{Prefix: redistest.Prefix(t)}, ""))
	var c valkey.Client
	if !s.As(&c) {
		t.Fatal("As(*valkey.Client) = false")
	}
	ctx := context.Background()
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
		t.Fatalf("PING through the client As returned: %v", err)
	}
	var n int
	if s.As(&n) {
		t.Error("As(*int) = true")
	}
}

func TestServer(t *testing.T) {
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		redistest.RunServerTests(t, valkeygo.Scheme, redistest.Shared(t, spec))
	})
}

func TestFaults(t *testing.T) {
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		redistest.RunFaultTests(t, valkeygo.Scheme, spec)
	})
}

// TestSharesLayoutWithGoredis writes with each backend and reads and
// watches with the other, on one server and prefix.
func TestSharesLayoutWithGoredis(t *testing.T) {
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		srv := redistest.Shared(t, spec)
		redistest.RunCrossTests(t, valkeygo.Scheme, goredis.Scheme, srv)
		redistest.RunCrossTests(t, goredis.Scheme, valkeygo.Scheme, srv)
	})
}

func TestNoServer(t *testing.T) {
	redistest.RunOfflineTests(t, valkeygo.Scheme)
}

func TestTLS(t *testing.T) {
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		redistest.RunTLSTests(t, valkeygo.SchemeTLS, spec)
	})
}

func TestACLRoles(t *testing.T) {
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		redistest.RunACLTests(t, valkeygo.Scheme, spec)
	})
}
