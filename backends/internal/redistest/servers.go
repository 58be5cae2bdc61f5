// Package redistest holds the real-server tests the goredis and valkey
// backends share, and what they need to run them: one server per matrix
// entry shared by a whole test binary, DSNs and fresh prefixes, a harness
// for the conformance suite, and a TCP proxy that can lose a reply.
//
// The tests open stores by DSN through the registry, so they are the same
// code for both backends and check exactly what a user's DSN gets. A
// backend's test binary imports its backend (which registers the scheme)
// and calls, per server in containers.Matrix():
//
//	redistest.RunServerTests(t, goredis.Scheme, srv)  // on a shared server
//	redistest.RunFaultTests(t, goredis.Scheme, spec)  // on a server of its own
//
// Sharing: starting a container costs a second or two and a good share of
// two CPUs, so each test binary starts each matrix server once (Shared) and
// stops it after the last test (Main, from TestMain). Tests isolate
// themselves with a fresh key prefix each (Prefix), never by flushing the
// server. The fault tests stop and pause their server, so they get their
// own (containers.StartServer), and run one at a time on it.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/conformance/containers"
)

// startTimeout bounds starting one shared server.
const startTimeout = 3 * time.Minute

type shared struct {
	once sync.Once
	srv  *containers.Server
	err  error
}

var (
	sharedMu sync.Mutex
	servers  = map[string]*shared{}
)

// Shared returns the server of spec shared by this test binary, starting it
// on first use. When Docker or the image is missing it skips t, or fails it
// under ALERTSTORE_REQUIRE_DOCKER=1, like containers.StartServer. The
// server lives until Main's cleanup; tests must not stop, pause or flush it.
func Shared(t testing.TB, spec containers.ServerSpec) *containers.Server {
	t.Helper()
	sharedMu.Lock()
	s, ok := servers[spec.Name+"\x00"+spec.Image]
	if !ok {
		s = &shared{}
		servers[spec.Name+"\x00"+spec.Image] = s
	}
	sharedMu.Unlock()
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		s.srv, s.err = containers.Start(ctx, spec)
	})
	if s.err != nil {
		if errors.Is(s.err, containers.ErrDockerUnavailable) || errors.Is(s.err, containers.ErrImageNotFound) {
			if containers.RequireDocker() {
				t.Fatalf("%v (%s is set, so this fails instead of skipping)", s.err, containers.EnvRequireDocker)
			}
			t.Skipf("%v (set %s=1 to fail instead of skipping)", s.err, containers.EnvRequireDocker)
		}
		t.Fatal(s.err)
	}
	return s.srv
}

// Main runs the tests and then removes the shared servers; call it from
// TestMain:
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	for _, s := range servers {
		if s.srv != nil {
			if err := s.srv.Terminate(ctx); err != nil {
				fmt.Fprintf(os.Stderr, "redistest: terminate %s: %v\n", s.srv, err)
				if code == 0 {
					code = 1
				}
			}
		}
	}
	os.Exit(code)
}
