package containers

import (
	"context"
	"errors"
	"fmt"
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
	cli, err := newDockerClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("containers: %w: %v", ErrDockerUnavailable, err)
	}
	// NewDockerClientWithOpts falls back to a client from the environment
	// without checking it, so ask the engine ourselves.
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("containers: %w: %v", ErrDockerUnavailable, err)
	}
	dockerClient = cli
	return cli, nil
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

// checkImage fails with ErrImageNotFound unless image is present locally,
// naming the variable that selects it.
func checkImage(ctx context.Context, cli *testcontainers.DockerClient, spec ServerSpec) error {
	_, err := cli.ImageInspect(ctx, spec.Image)
	if err == nil {
		return nil
	}
	if cerrdefs.IsNotFound(err) {
		return missingImageError(fmt.Sprintf("containers: %s: image %s not found locally; build it with "+
			"conformance/containers/offline/build-images.sh or set %s",
			spec.Name, spec.Image, imageEnvFor(spec)))
	}
	return fmt.Errorf("containers: inspect image %s: %w", spec.Image, err)
}

// checkReaper fails early when testcontainers would start its reaper but
// cannot: its image would have to be pulled, which fails here only after
// a long retry loop and with a message about the registry.
func checkReaper(ctx context.Context, cli *testcontainers.DockerClient) error {
	if testcontainers.ReadConfig().RyukDisabled {
		return nil
	}
	img := testcontainers.ReaperDefaultImage
	if _, err := cli.ImageInspect(ctx, img); err != nil {
		if cerrdefs.IsNotFound(err) {
			return missingImageError(fmt.Sprintf("containers: testcontainers' reaper (Ryuk) image %s "+
				"not found locally, and it cannot be pulled here; set TESTCONTAINERS_RYUK_DISABLED=true", img))
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
