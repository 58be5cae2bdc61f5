// Package cluster_test runs the cluster schemes (redis+cluster:// on
// go-redis, valkey+cluster:// on valkey-go) against real Redis 7.0, Redis
// 8.0 and Valkey 8.1 clusters of six nodes (three masters, three
// replicas): the whole conformance suite on one cluster per server,
// shared by the package's tests, and fault tests on clusters of their own.
package cluster_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/backends/valkeygo"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/conformance/containers"
)

func TestMain(m *testing.M) { containers.Main(m) }

// schemes are the two cluster schemes, one per client library.
var schemes = []string{goredis.SchemeCluster, valkeygo.SchemeCluster}

// forEach runs f as a parallel subtest per server of the matrix and
// scheme, named server/scheme.
func forEach(t *testing.T, f func(t *testing.T, spec containers.ServerSpec, scheme string)) {
	t.Helper()
	for _, spec := range containers.Matrix() {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			for _, scheme := range schemes {
				t.Run(scheme, func(t *testing.T) { f(t, spec, scheme) })
			}
		})
	}
}

// shared is the cluster of spec that this binary's non-destructive tests
// share.
func shared(t testing.TB, spec containers.ServerSpec) *containers.Cluster {
	t.Helper()
	return containers.SharedCluster(t, spec)
}

// clusterDSN is scheme://seed1?addr=seed2&addr=seed3 plus extra (encoded
// parameters).
func clusterDSN(scheme string, c *containers.Cluster, extra string) string {
	addrs := c.Addrs()
	var q []string
	for _, a := range addrs[1:3] {
		q = append(q, "addr="+url.QueryEscape(a))
	}
	if extra != "" {
		q = append(q, extra)
	}
	return scheme + "://" + addrs[0] + "?" + strings.Join(q, "&")
}

func TestConformance(t *testing.T) {
	forEach(t, func(t *testing.T, spec containers.ServerSpec, scheme string) {
		c := shared(t, spec)
		conformance.RunConformanceTests(t, conformance.DSNHarness(func(context.Context, testing.TB) (string, error) {
			return clusterDSN(scheme, c, ""), nil
		}))
	})
}

// TestConformanceSharded runs the suite on namespaces spread over 4
// shards (redislist's sharded layout).
func TestConformanceSharded(t *testing.T) {
	forEach(t, func(t *testing.T, spec containers.ServerSpec, scheme string) {
		c := shared(t, spec)
		conformance.RunConformanceTests(t, conformance.DSNHarness(func(context.Context, testing.TB) (string, error) {
			return clusterDSN(scheme, c, "shards=4"), nil
		}))
	})
}
