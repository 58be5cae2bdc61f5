package bench_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/backends/internal/servertest/redistest"
	"github.com/apt-detection/alertstore/backends/valkeygo"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/conformance/containers"
	"github.com/apt-detection/alertstore/internal/storebench"
	"github.com/apt-detection/alertstore/internal/storebench/baseline"
	"github.com/apt-detection/alertstore/registry"
)

func TestMain(m *testing.M) { redistest.Main(m) }

var payload = storebench.Payload(conformance.LegacyAlerts())

// server is the one server the single-node targets share: the first of
// containers.Matrix() (ALERTSTORE_SERVERS picks it).
func server(b *testing.B) *containers.Server {
	specs := containers.Matrix()
	if len(specs) == 0 {
		b.Skip("no servers selected")
	}
	return redistest.Shared(b, specs[0])
}

// topology is the Sentinel topology (three data nodes, three sentinels)
// shared by the binary.
func topology(b *testing.B) *containers.Topology {
	specs := containers.Matrix()
	if len(specs) == 0 {
		b.Skip("no servers selected")
	}
	return containers.Shared(b, "bench-topology\x00"+specs[0].Name, func(ctx context.Context) (*containers.Topology, error) {
		return containers.StartTopology(ctx, specs[0])
	})
}

func openStore(b *testing.B, dsn string) *backend.Store {
	s := redistest.Open(b, dsn)
	b.Cleanup(func() { _ = s.Drop(context.Background()) })
	return s
}

func goredisRaw(b *testing.B, c redis.UniversalClient, key string, wait int) *baseline.GoRedis {
	r := baseline.NewGoRedis(c, key, wait)
	b.Cleanup(func() {
		_ = r.Drop(context.Background())
		_ = c.Close()
	})
	return r
}

var targets = []storebench.Target{
	{Name: "goredis", Open: func(b *testing.B, cfg backend.Config) (*backend.Store, storebench.Raw) {
		srv := server(b)
		cfg.Prefix = redistest.Prefix(b)
		s := openStore(b, redistest.DSN(goredis.Scheme, srv.Addr(), cfg, ""))
		return s, goredisRaw(b, redis.NewClient(&redis.Options{Addr: srv.Addr()}), cfg.Prefix+"raw", 0)
	}},
	{Name: "valkeygo", Open: func(b *testing.B, cfg backend.Config) (*backend.Store, storebench.Raw) {
		srv := server(b)
		cfg.Prefix = redistest.Prefix(b)
		s := openStore(b, redistest.DSN(valkeygo.Scheme, srv.Addr(), cfg, ""))
		c, err := valkey.NewClient(valkey.ClientOption{InitAddress: []string{srv.Addr()}, DisableCache: true})
		if err != nil {
			b.Fatal(err)
		}
		r := baseline.NewValkey(c, cfg.Prefix+"raw")
		b.Cleanup(func() {
			_ = r.Drop(context.Background())
			c.Close()
		})
		return s, r
	}},
	sentinelTarget("sentinel", 0),
	sentinelTarget("sentinel-min_replicas=1", 1),
	{Name: "chain", Open: func(b *testing.B, cfg backend.Config) (*backend.Store, storebench.Raw) {
		srv := server(b)
		cfg.Prefix = redistest.Prefix(b)
		// Not b.TempDir: its name holds the benchmark's "callers=1",
		// and a bolt DSN's path may not hold '='.
		dir, err := os.MkdirTemp("", "alertstore-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = os.RemoveAll(dir) })
		tier := redistest.DSN(goredis.Scheme, srv.Addr(), backend.Config{}, "")
		dsn := chain.FormatDSN(tier, bolt.Scheme+"://"+filepath.Join(dir, "chain.db")) +
			"&" + registry.ConfigParams(cfg).Encode()
		s := openStore(b, dsn)
		return s, goredisRaw(b, redis.NewClient(&redis.Options{Addr: srv.Addr()}), cfg.Prefix+"raw", 0)
	}},
}

// chainOverTier is the chain of the targets above, compared with its
// first tier alone (a goredis store on the same server) instead of a raw
// client: the chain's overhead over a healthy first tier (issue 10's
// target: at least 0.9x).
var chainOverTier = storebench.Target{Name: "chain-vs-tier", Open: func(b *testing.B, cfg backend.Config) (*backend.Store, storebench.Raw) {
	s, _ := targets[len(targets)-1].Open(b, cfg)
	tierCfg := cfg
	tierCfg.Prefix = redistest.Prefix(b) + "tier:"
	tier := openStore(b, redistest.DSN(goredis.Scheme, server(b).Addr(), tierCfg, ""))
	return s, baseline.Store{S: tier}
}}

// BenchmarkChainOverhead is the Write row of the chain against its first
// tier alone (store/raw here is chain/tier).
func BenchmarkChainOverhead(b *testing.B) {
	storebench.Write(b, payload, []storebench.Target{chainOverTier})
}

// BenchmarkSize is the Write and Batch rows of goredis with alerts of
// 300 B, 600 B and 4 KiB (storebench.Synthetic): how the figures move
// with alert size.
func BenchmarkSize(b *testing.B) {
	for _, size := range []int{300, 600, 4096} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			p := storebench.Synthetic(60, size)
			b.Run("Write", func(b *testing.B) { storebench.Write(b, p, targets[:1]) })
			b.Run("Batch", func(b *testing.B) { storebench.Batch(b, p, targets[:1]) })
		})
	}
}

func sentinelTarget(name string, minReplicas int) storebench.Target {
	return storebench.Target{Name: name, Open: func(b *testing.B, cfg backend.Config) (*backend.Store, storebench.Raw) {
		tp := topology(b)
		cfg.Prefix = redistest.Prefix(b)
		addrs := tp.SentinelAddrs()
		q := registry.ConfigParams(cfg)
		for _, a := range addrs[1:] {
			q.Add("addr", a)
		}
		if minReplicas > 0 {
			q.Set("min_replicas", strconv.Itoa(minReplicas))
		}
		u := url.URL{Scheme: goredis.SchemeSentinel, Host: addrs[0], Path: "/" + tp.MasterName() + "/0", RawQuery: q.Encode()}
		s := openStore(b, u.String())
		c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: tp.MasterName(), SentinelAddrs: addrs})
		return s, goredisRaw(b, c, cfg.Prefix+"raw", minReplicas)
	}}
}

// The rows of the suite (internal/storebench; docs/performance.md).
func BenchmarkSuiteWrite(b *testing.B) { storebench.Write(b, payload, targets) }
func BenchmarkSuiteBatch(b *testing.B) { storebench.Batch(b, payload, targets) }
func BenchmarkSuiteList(b *testing.B)  { storebench.List(b, payload, targets) }
func BenchmarkSuiteCount(b *testing.B) { storebench.Count(b, payload, targets) }
func BenchmarkSuiteWatch(b *testing.B) { storebench.Watch(b, payload, targets) }

// masterDirect is a goredis store on the Sentinel topology's master
// itself (redis://, no Sentinel), against the same raw baseline: what a
// store pays on a master that replicates every command to two replicas,
// whichever backend reaches it.
var masterDirect = storebench.Target{Name: "master-direct", Open: func(b *testing.B, cfg backend.Config) (*backend.Store, storebench.Raw) {
	m := topology(b).Master()
	cfg.Prefix = redistest.Prefix(b)
	s := openStore(b, redistest.DSN(goredis.Scheme, m.Addr(), cfg, ""))
	return s, goredisRaw(b, redis.NewClient(&redis.Options{Addr: m.Addr()}), cfg.Prefix+"raw", 0)
}}

// BenchmarkTopologyWrite is the Write row of the Sentinel store and of a
// goredis store on the same topology's master directly, in one run: where
// the Sentinel rows fall below the single server's, it tells the
// topology's cost (replication, on the same cores) from the Sentinel
// backend's.
func BenchmarkTopologyWrite(b *testing.B) {
	storebench.Write(b, payload, []storebench.Target{sentinelTarget("sentinel", 0), masterDirect})
}
