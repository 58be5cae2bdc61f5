package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// SkipOrFail ends a test whose server could not be started with err: when
// no Docker engine answers or an image is missing it skips the test with
// one line saying how to run it, or fails it when ALERTSTORE_REQUIRE_DOCKER=1
// (see [RequireDocker]); any other error fails it. [StartServer],
// [StartSentinelTopology] and [Shared] call it; call it yourself after
// [Start] or [StartTopology].
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrDockerUnavailable) || errors.Is(err, ErrImageNotFound) {
		if RequireDocker() {
			t.Fatalf("%v (%s is set, so this fails instead of skipping)", err, EnvRequireDocker)
		}
		t.Skipf("%v (set %s=1 to fail instead of skipping)", err, EnvRequireDocker)
	}
	t.Fatal(err)
}

// SkipShort skips t under go test -short: every test that needs a
// container is slow, and -short is the fast checks' way of saying so. It
// skips even under ALERTSTORE_REQUIRE_DOCKER=1, which is about machines,
// not about what a run asked for.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("containers: needs a container; not run under -short")
	}
}

// Terminator is what [Shared] keeps: a [*Server], a [*Topology], or a
// test's own type around one of them.
type Terminator interface {
	Terminate(ctx context.Context) error
}

// sharedStartTimeout bounds starting one shared value: a topology of six
// containers on a busy two-core machine takes a minute or two.
const sharedStartTimeout = 4 * time.Minute

type sharedEntry struct {
	once sync.Once
	v    Terminator
	err  error
}

var (
	sharedMu      sync.Mutex
	sharedEntries = map[string]*sharedEntry{}
	sharedOrder   []string
)

// Shared returns the value that start makes for key, shared by every test
// of the test binary: the first caller starts it (within a few minutes),
// later callers get the same value, or the same error. A start error goes
// through [SkipOrFail]. [Main] terminates every shared value after the last
// test, so tests must not stop or terminate it, and isolate themselves by
// other means (a fresh key prefix each).
//
// Why share: starting a container costs a second or two and a good share
// of two CPUs, a Sentinel topology much more; a binary that starts each
// server once runs in a fraction of the time.
func Shared[T Terminator](t testing.TB, key string, start func(ctx context.Context) (T, error)) T {
	t.Helper()
	SkipShort(t)
	sharedMu.Lock()
	e, ok := sharedEntries[key]
	if !ok {
		e = &sharedEntry{}
		sharedEntries[key] = e
		sharedOrder = append(sharedOrder, key)
	}
	sharedMu.Unlock()
	e.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), sharedStartTimeout)
		defer cancel()
		v, err := start(ctx)
		if err != nil {
			e.err = err
			return
		}
		e.v = v
	})
	if e.err != nil {
		SkipOrFail(t, e.err)
	}
	v, ok := e.v.(T)
	if !ok {
		t.Fatalf("containers: shared %q is a %T, not the type asked for", key, e.v)
	}
	return v
}

// SharedServer is [Shared] for one server of spec, started with opts.
func SharedServer(t testing.TB, spec ServerSpec, opts ...Option) *Server {
	t.Helper()
	return Shared(t, "server\x00"+spec.Name+"\x00"+spec.Image, func(ctx context.Context) (*Server, error) {
		return Start(ctx, spec, opts...)
	})
}

// Main runs the tests, then terminates every value [Shared] started, and
// exits. A test binary that uses Shared calls it from TestMain:
//
//	func TestMain(m *testing.M) { containers.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	for _, key := range sharedOrder {
		e := sharedEntries[key]
		if e.v == nil {
			continue
		}
		if err := e.v.Terminate(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "containers: terminate shared %q: %v\n", key, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}
