// Package servertest is the home of alertstore's tests against real Redis
// and Valkey servers in containers: the conformance suite on every server of
// the matrix, and the fault tests (kill, stop, pause, flap, failover) of the
// go-redis, valkey-go, Sentinel and chain backends. Its subdirectories hold
// the tests, one per backend, and redistest, the harness they share.
//
// It is a Go module of its own, like the container helpers it uses
// (conformance/containers), so that testcontainers and its dependencies stay
// out of the library's go.mod: a program that imports alertstore never
// inherits them. It sits under backends/internal so that the tests may use
// the backends' internal packages (the Redis key layout) and nobody else may
// import it. The README's test command (`go test ... work`) runs it with every
// other module of go.work.
//
// jsonlib, which measures JSON libraries for reading alerts (issue 10),
// lives here for the same reason: the libraries it compares stay out of the
// library's go.mod. It needs no container.
//
// The tests skip without a Docker engine or without the images, with a line
// saying how to get them (docs/offline-images.md); ALERTSTORE_REQUIRE_DOCKER=1
// turns those skips into failures, as CI does.
package servertest
