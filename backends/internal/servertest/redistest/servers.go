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
	"testing"

	"github.com/apt-detection/alertstore/conformance/containers"
)

// Shared returns the server of spec shared by this test binary, started on
// first use (containers.SharedServer). When Docker or the image is missing
// it skips t, or fails it under ALERTSTORE_REQUIRE_DOCKER=1. The server
// lives until Main's cleanup; tests must not stop, pause or flush it.
func Shared(t testing.TB, spec containers.ServerSpec) *containers.Server {
	t.Helper()
	return containers.SharedServer(t, spec)
}

// Main runs the tests and then removes the shared servers; call it from
// TestMain:
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
func Main(m *testing.M) { containers.Main(m) }

// ForEachServer runs f as a parallel subtest per server of
// containers.Matrix(), named after it: the loop every backend's
// real-server test starts with.
func ForEachServer(t *testing.T, f func(t *testing.T, spec containers.ServerSpec)) {
	t.Helper()
	for _, spec := range containers.Matrix() {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			f(t, spec)
		})
	}
}
