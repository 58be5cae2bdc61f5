package goredis_test

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/backends/internal/servertest/redistest"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/conformance/containers"
)

// The servers of containers.Matrix() are started once for this binary and
// shared by every test below; each test works under a prefix of its own.
func TestMain(m *testing.M) { redistest.Main(m) }

func TestConformance(t *testing.T) {
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		srv := redistest.Shared(t, spec)
		conformance.RunConformanceTests(t, redistest.Harness(goredis.Scheme, srv.Addr()))
	})
}

// Store.As reaches the go-redis client behind the store (the package doc's
// escape hatch), and nothing else.
func TestAs(t *testing.T) {
	srv := redistest.Shared(t, containers.Matrix()[0])
	s := redistest.Open(t, redistest.DSN(goredis.Scheme, srv.Addr(), backend.Config{Prefix: redistest.Prefix(t)}, ""))
	var c redis.UniversalClient
	if !s.As(&c) {
		t.Fatal("As(*redis.UniversalClient) = false")
	}
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("PING through the client As returned: %v", err)
	}
	var other *redis.Client
	if s.As(&other) {
		t.Error("As(**redis.Client) = true; only redis.UniversalClient is documented")
	}
}

func TestServer(t *testing.T) {
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		redistest.RunServerTests(t, goredis.Scheme, redistest.Shared(t, spec))
	})
}

func TestFaults(t *testing.T) {
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		redistest.RunFaultTests(t, goredis.Scheme, spec)
	})
}

// TestUnixSocket reaches a server through a Unix socket (a proxy to the
// container's TCP port, since the container's own socket is out of reach).
func TestUnixSocket(t *testing.T) {
	specs := containers.Matrix()
	if len(specs) == 0 {
		t.Skip("no servers selected")
	}
	{
		srv := redistest.Shared(t, specs[0])
		sock := filepath.Join(t.TempDir(), "redis.sock")
		redistest.NewUnixProxy(t, sock, srv.Addr())
		prefix := redistest.Prefix(t)
		s := redistest.Open(t, goredis.SchemeUnix+"://"+sock+"?db=0&prefix="+url.QueryEscape(prefix))
		ctx := context.Background()
		a := backend.NewAlert()
		if err := a.SetEntity("via-socket"); err != nil {
			t.Fatal(err)
		}
		if err := s.Store(ctx, a); err != nil {
			t.Fatal(err)
		}
		tcp := redistest.Open(t, redistest.DSN(goredis.Scheme, srv.Addr(), backend.Config{Prefix: prefix}, ""))
		p, err := tcp.List(ctx, backend.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Alerts) != 1 || p.Alerts[0].ID() != a.ID() {
			t.Errorf("over TCP, listed %v; want the alert stored over the socket", p.Alerts)
		}
	}
}

func TestNoServer(t *testing.T) {
	redistest.RunOfflineTests(t, goredis.Scheme)
}

func TestTLS(t *testing.T) {
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		redistest.RunTLSTests(t, goredis.SchemeTLS, spec)
	})
}

func TestACLRoles(t *testing.T) {
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		redistest.RunACLTests(t, goredis.Scheme, spec)
	})
}
