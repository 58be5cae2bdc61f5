package containers

import (
	"fmt"
	"os"
	"strings"
)

// Flavor is the server implementation: which binaries an image holds.
type Flavor string

// The flavors a [ServerSpec] can have.
const (
	Redis  Flavor = "redis"
	Valkey Flavor = "valkey"
)

// ServerBinary is the server program ("redis-server" or "valkey-server"),
// used both for data nodes and, with --sentinel, for sentinels.
func (f Flavor) ServerBinary() string { return string(f) + "-server" }

// CLIBinary is the command-line client shipped in the image
// ("redis-cli" or "valkey-cli").
func (f Flavor) CLIBinary() string { return string(f) + "-cli" }

// ServerSpec names one server of the test matrix and the image it runs.
type ServerSpec struct {
	Name   string // matrix name, e.g. "redis-7.0"; used in test names
	Flavor Flavor
	Image  string // a local Docker image; never pulled
}

// Names of the matrix entries, as accepted in ALERTSTORE_SERVERS.
const (
	NameRedis7 = "redis-7.0"
	NameRedis8 = "redis-8.0"
	NameValkey = "valkey-8.1"
)

// Environment variables read by [Matrix] and [RequireDocker].
const (
	EnvRedis7Image   = "ALERTSTORE_REDIS7_IMAGE"
	EnvRedisImage    = "ALERTSTORE_REDIS_IMAGE"
	EnvValkeyImage   = "ALERTSTORE_VALKEY_IMAGE"
	EnvServers       = "ALERTSTORE_SERVERS"
	EnvRequireDocker = "ALERTSTORE_REQUIRE_DOCKER"
)

// Default images: the official ones. Where no registry is reachable,
// offline/build-images.sh builds equivalents from Debian packages under the
// Offline names; when a variable is unset and the official image is not
// present locally, the helpers use the offline one if it is.
const (
	DefaultRedis7Image = "redis:7.0"
	DefaultRedisImage  = "redis:8.0"
	DefaultValkeyImage = "valkey/valkey:8.1"

	OfflineRedis7Image = "alertstore-offline/redis:7.0"
	OfflineRedisImage  = "alertstore-offline/redis:8.0"
	OfflineValkeyImage = "alertstore-offline/valkey:8.1"
)

// matrixEntry ties a matrix name to the variable choosing its image.
type matrixEntry struct {
	name, env, def, offline string
	flavor                  Flavor
}

var matrixEntries = []matrixEntry{
	{NameRedis7, EnvRedis7Image, DefaultRedis7Image, OfflineRedis7Image, Redis},
	{NameRedis8, EnvRedisImage, DefaultRedisImage, OfflineRedisImage, Redis},
	{NameValkey, EnvValkeyImage, DefaultValkeyImage, OfflineValkeyImage, Valkey},
}

// offlineAlternative is the image the offline script builds for spec, when
// spec runs its entry's official default because no variable chose one.
func offlineAlternative(spec ServerSpec) (string, bool) {
	for _, e := range matrixEntries {
		if e.name == spec.Name && spec.Image == e.def && strings.TrimSpace(os.Getenv(e.env)) == "" {
			return e.offline, true
		}
	}
	return "", false
}

// Matrix returns the servers the tests run against: redis-7.0, redis-8.0
// and valkey-8.1, with images from ALERTSTORE_REDIS7_IMAGE,
// ALERTSTORE_REDIS_IMAGE and ALERTSTORE_VALKEY_IMAGE (defaults: the official
// images, else the offline ones when only those are present).
// ALERTSTORE_SERVERS, a comma-separated list of names, restricts it,
// in the order given.
//
// An unknown name in ALERTSTORE_SERVERS panics: silently dropping it would
// let a typo turn the whole suite into a run of zero servers.
func Matrix() []ServerSpec {
	specs, err := matrixFromEnv(os.Getenv(EnvServers))
	if err != nil {
		panic(err)
	}
	return specs
}

// Lookup returns the matrix entry called name (with its image from the
// environment), ignoring ALERTSTORE_SERVERS.
func Lookup(name string) (ServerSpec, bool) {
	for _, e := range matrixEntries {
		if e.name == name {
			return e.spec(), true
		}
	}
	return ServerSpec{}, false
}

func (e matrixEntry) spec() ServerSpec {
	img := strings.TrimSpace(os.Getenv(e.env))
	if img == "" {
		img = e.def
	}
	return ServerSpec{Name: e.name, Flavor: e.flavor, Image: img}
}

func matrixFromEnv(list string) ([]ServerSpec, error) {
	if strings.TrimSpace(list) == "" {
		specs := make([]ServerSpec, 0, len(matrixEntries))
		for _, e := range matrixEntries {
			specs = append(specs, e.spec())
		}
		return specs, nil
	}
	var specs []ServerSpec
	seen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" || seen[name] {
			continue
		}
		spec, ok := Lookup(name)
		if !ok {
			return nil, fmt.Errorf("containers: %s=%q: unknown server %q (known: %s, %s, %s)",
				EnvServers, list, name, NameRedis7, NameRedis8, NameValkey)
		}
		seen[name] = true
		specs = append(specs, spec)
	}
	return specs, nil
}

// RequireDocker reports whether ALERTSTORE_REQUIRE_DOCKER is set to a true
// value (1, true, yes). Then a missing Docker engine or image fails a test
// instead of skipping it: CI sets it so that a machine without Docker cannot
// turn the suite green by skipping.
func RequireDocker() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(EnvRequireDocker))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
