package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// ErrDockerUnavailable is returned (wrapped) when no Docker engine answers.
// [StartServer] skips the test on it, or fails it under
// ALERTSTORE_REQUIRE_DOCKER=1.
var ErrDockerUnavailable = errors.New("no Docker engine reachable")

// ErrImageNotFound is returned (wrapped) when an image is not present
// locally. The helpers never pull, because the test machines reach no
// registry; the error says how to build or choose the image.
var ErrImageNotFound = errors.New("image not found locally")

// LabelKey labels every container started here, so that containers left
// behind by a killed test binary (there is no reaper offline) can be found.
const LabelKey = "alertstore.conformance"

// dockerPingTimeout bounds the engine check: a wedged socket must not eat
// the test's whole timeout before we decide to skip.
const dockerPingTimeout = 10 * time.Second

var (
	dockerMu     sync.Mutex
	dockerClient *testcontainers.DockerClient
)

// docker returns a client for the engine testcontainers would use
// (DOCKER_HOST, ~/.testcontainers.properties, the default socket), created
// once and shared: Kill, Pause and Unpause, which testcontainers lacks, go
// through it. A failed attempt is not cached, so a later test may retry.
func docker(ctx context.Context) (*testcontainers.DockerClient, error) {
	dockerMu.Lock()
	defer dockerMu.Unlock()
	if dockerClient != nil {
		return dockerClient, nil
	}
	ctx, cancel := context.WithTimeout(ctx, dockerPingTimeout)
	defer cancel()
	reaperOnce.Do(func() { settleReaper(ctx) })
	cli, err := newDockerClient(ctx)
	if err != nil {
		return nil, noEngine(err)
	}
	// NewDockerClientWithOpts falls back to a client from the environment
	// without checking it, so ask the engine ourselves.
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		_ = cli.Close()
		return nil, noEngine(err)
	}
	dockerClient = cli
	return cli, nil
}

// noEngine is the error for an engine that did not answer: one line (the
// skip message of every container test) saying what to do, with the first
// line of the cause.
func noEngine(err error) error {
	cause, _, _ := strings.Cut(err.Error(), "\n")
	return fmt.Errorf("containers: %w (%s); start a Docker engine, or point DOCKER_HOST at one, to run this test", ErrDockerUnavailable, cause)
}

// newDockerClient wraps testcontainers' constructor, which panics instead of
// returning an error on some misconfigurations.
func newDockerClient(ctx context.Context) (cli *testcontainers.DockerClient, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("docker client: %v", r)
		}
	}()
	return testcontainers.NewDockerClientWithOpts(ctx)
}

// checkImage returns the image to run for spec: spec.Image when it is
// present locally, else the offline-built equivalent of a default image
// (see [Matrix]), else an error wrapping ErrImageNotFound that names the
// variable selecting it and how to build it.
func checkImage(ctx context.Context, cli *testcontainers.DockerClient, spec ServerSpec) (string, error) {
	_, err := cli.ImageInspect(ctx, spec.Image)
	if err == nil {
		return spec.Image, nil
	}
	if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("containers: inspect image %s: %w", spec.Image, err)
	}
	if alt, ok := offlineAlternative(spec); ok {
		if _, err := cli.ImageInspect(ctx, alt); err == nil {
			return alt, nil
		}
	}
	return "", missingImageError(fmt.Sprintf("containers: %s: image %s not found locally; build it with "+
		"conformance/containers/offline/build-images.sh or set %s",
		spec.Name, spec.Image, imageEnvFor(spec)))
}

// reaperImage is the image testcontainers starts its reaper from. The
// exported name is deprecated in favour of an internal constant of the same
// value, which is not reachable from here.
//
//nolint:staticcheck // SA1019: the only exported name of that value.
var reaperImage = testcontainers.ReaperDefaultImage

// envRyukDisabled is testcontainers' switch for its reaper (Ryuk).
const envRyukDisabled = "TESTCONTAINERS_RYUK_DISABLED"

var reaperOnce sync.Once

// settleReaper turns testcontainers' reaper off for this process unless
// its image is present locally or somebody chose either way, so that a
// newcomer with a Docker engine but no registry never has to learn that a
// reaper exists. The reaper only removes the containers of a test binary
// that died; every test here removes its own (t.Cleanup), and leftovers
// carry [LabelKey]. A reaper image that is present is used as usual.
//
// It must run before testcontainers creates its first client: testcontainers
// reads its configuration (environment and ~/.testcontainers.properties)
// once per process, at that moment. So it asks the engine itself, with plain
// clients for DOCKER_HOST and for the default socket (the engines
// testcontainers tries first). When neither shows the image, the reaper is
// off: one it could not start would fail every test after a long pull.
func settleReaper(ctx context.Context) {
	if _, set := os.LookupEnv(envRyukDisabled); set {
		return
	}
	hosts := []string{client.DefaultDockerHost}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		hosts = append([]string{h}, hosts...)
	}
	for _, h := range hosts {
		if reaperImagePresent(ctx, h) {
			return
		}
	}
	_ = os.Setenv(envRyukDisabled, "true")
}

// reaperImagePresent reports whether the engine at host answers and has
// testcontainers' reaper image.
func reaperImagePresent(ctx context.Context, host string) bool {
	cli, err := client.New(client.FromEnv, client.WithHost(host))
	if err != nil {
		return false
	}
	defer func() { _ = cli.Close() }()
	_, err = cli.ImageInspect(ctx, reaperImage)
	return err == nil
}

// checkReaper fails early when testcontainers would start its reaper but
// cannot: its image would have to be pulled, which fails here only after a
// long retry loop and with a message about the registry. After
// settleReaper that happens only when testcontainers had read its
// configuration before this package's first client (another package in
// the same test binary started a container first) or an explicit
// configuration asks for the reaper.
func checkReaper(ctx context.Context, cli *testcontainers.DockerClient) error {
	if testcontainers.ReadConfig().RyukDisabled {
		return nil
	}
	img := reaperImage
	if _, err := cli.ImageInspect(ctx, img); err != nil {
		if cerrdefs.IsNotFound(err) {
			return missingImageError(fmt.Sprintf("containers: testcontainers' reaper (Ryuk) image %s "+
				"is not present locally, and %s asks for the reaper; unset it to run without one", img, envRyukDisabled))
		}
		return fmt.Errorf("containers: inspect reaper image %s: %w", img, err)
	}
	return nil
}

// missingImageError is an error that says in full what is missing and
// how to get it, and matches ErrImageNotFound with errors.Is.
type missingImageError string

func (e missingImageError) Error() string { return string(e) }
func (e missingImageError) Unwrap() error { return ErrImageNotFound }

// imageEnvFor names the variable that selects spec's image, for error
// messages; a spec built by hand has none.
func imageEnvFor(spec ServerSpec) string {
	for _, e := range matrixEntries {
		if e.name == spec.Name {
			return e.env
		}
	}
	switch spec.Flavor {
	case Valkey:
		return EnvValkeyImage
	default:
		return EnvRedisImage + " / " + EnvRedis7Image
	}
}
