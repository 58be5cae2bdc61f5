// Package containers starts real Redis and Valkey servers in Docker for
// alertstore's tests: single servers, Sentinel topologies (a master,
// replicas and sentinels) and Clusters (masters sharing the hash slots,
// each with replicas), with fault injection (stop, start, kill, pause,
// slot migration).
//
// It is a package of its own, apart from the conformance suite, so that a
// backend's conformance tests can be run against any address — a server
// started here, a CI service, a developer's local redis-server — and a
// third-party backend need not import testcontainers to use the suite.
// It is also a Go module of its own
// (github.com/apt-detection/alertstore/conformance/containers), so that a
// program importing the library never inherits testcontainers, moby and
// their dependencies in its module graph; only tests require it.
//
// Why host networking: every container uses the host's network namespace and
// listens on a free 127.0.0.1 port chosen here. A stopped and restarted
// container therefore keeps its address, which the fault tests rely on
// (a client must find "the same server" again), and Sentinel reports the
// same addresses the tests dial, with no NAT between them.
//
// Why images must already be present: the machines this project is tested on
// reach no container registry. The helpers never pull; they check the image
// locally first and say how to build it (offline/build-images.sh) when it is
// missing. Which images are used is set by environment variables, see
// [Matrix]; the defaults are the official images, for machines that can pull
// them some other way.
//
// Whether a test without Docker is skipped or fails is decided by
// ALERTSTORE_REQUIRE_DOCKER, see [RequireDocker]: locally a missing engine
// skips, in CI (which sets it to 1) it fails, so a broken CI machine cannot
// pass by skipping everything.
//
// testcontainers' reaper (Ryuk) is an image too, so it cannot be pulled
// either. When its image is not present locally and
// TESTCONTAINERS_RYUK_DISABLED is not set, the helpers turn the reaper off
// for the test process, so nobody has to know about it; a present reaper
// image is used. Cleanup is done by t.Cleanup in any case (see
// [StartServer]); containers of a killed test binary carry the label
// [LabelKey] and can be removed with
//
//	docker rm -f $(docker ps -aq --filter label=alertstore.conformance)
package containers
