// Package bench runs the benchmark suite of internal/storebench against
// real servers: goredis and valkeygo on one server, redis+sentinel with and
// without min_replicas=1, and a chain of redis then bolt, each against a
// hand-written go-redis or valkey-go baseline (docs/performance.md).
// It holds benchmarks only; a plain `go test` runs nothing here.
package bench
