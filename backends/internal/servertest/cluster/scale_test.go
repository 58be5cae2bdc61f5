package cluster_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/backends/valkeygo"
	"github.com/apt-detection/alertstore/conformance/containers"
)

// TestScale measures what sharding spreads, on a cluster of its own
// (Redis 8.0, or the first server selected): the same writers and the
// same number of alerts, first into an unsharded namespace (one list, so
// one master does all the work), then into a namespace with shards=M, M
// the number of masters (one shard on each). It logs FIGURES lines:
// throughput of both in the same run, and per master the appends run
// (INFO commandstats: the shard append script's EVALSHA calls) and the
// memory the namespace's keys take there (MEMORY USAGE). On this 2-core
// machine every node shares the same cores, so sharding cannot show more
// throughput; what it shows is that the load lands evenly, which is what
// scales on real hosts (docs/scale.md projects from these figures).
//
// The only assertions are on counts, never on time: each shard on its own
// master, every master the same appends (within 10 %) and the same memory
// (within 10 %).
func TestScale(t *testing.T) {
	specs := containers.Matrix()
	if len(specs) == 0 {
		t.Skip("no servers selected")
	}
	spec := specs[0]
	for _, s := range specs {
		if s.Name == containers.NameRedis8 {
			spec = s
		}
	}
	ctx := testCtx(t, 4*time.Minute)
	c := containers.StartCluster(ctx, t, spec)
	masters, err := c.Masters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const alerts = 6000
	writers := 2 * len(masters)
	for _, scheme := range []string{goredis.SchemeCluster, valkeygo.SchemeCluster} {
		t.Run(scheme, func(t *testing.T) {
			ctx := testCtx(t, 3*time.Minute)
			base := strings.ReplaceAll(scheme, "+", "-")
			single, sharded := base+"-single:", base+"-sharded:"
			shards := redislist.ShardKeys(sharded, len(masters))
			onMaster := make([]int, len(masters)) // shard index per master
			for i := range onMaster {
				onMaster[i] = -1
			}
			for i, k := range shards {
				m, err := c.MasterOfKey(ctx, k.List)
				if err != nil {
					t.Fatal(err)
				}
				j := slices.Index(masters, m)
				if j < 0 || onMaster[j] >= 0 {
					t.Fatalf("shard %d (%s) on %v, which holds another shard or is no master: the shards do not spread", i, k.List, m)
				}
				onMaster[j] = i
			}

			before := masterStats(t, ctx, masters)
			oneRate := writeAll(t, ctx, clusterDSN(scheme, c, "max_alerts=100000&prefix="+url.QueryEscape(single)), writers, alerts)
			mid := masterStats(t, ctx, masters)
			shardedRate := writeAll(t, ctx, clusterDSN(scheme, c, fmt.Sprintf("max_alerts=100000&shards=%d&prefix=%s", len(masters), url.QueryEscape(sharded))), writers, alerts)
			after := masterStats(t, ctx, masters)

			t.Logf("FIGURES: scale scheme=%s server=%s masters=%d writers=%d alerts=%d one_shard=%.0f/s shards_%d=%.0f/s ratio=%.2f",
				scheme, spec.Name, len(masters), writers, alerts, oneRate, len(masters), shardedRate, shardedRate/oneRate)
			var appends, mem []float64
			for i, m := range masters {
				d := after[i].sub(mid[i])
				o := mid[i].sub(before[i])
				k := shards[onMaster[i]]
				var used int64
				for _, key := range []string{k.List, k.Seq, "{" + k.List + "}:stamps"} {
					v, err := m.Do(ctx, "MEMORY", "USAGE", key, "SAMPLES", "0")
					if err != nil {
						t.Fatal(err)
					}
					n, _ := v.(int64)
					used += n
				}
				appends = append(appends, float64(d.evalsha))
				mem = append(mem, float64(used))
				t.Logf("FIGURES: scale scheme=%s master=%s shard=%d phase=sharded evalsha=%d spublish=%d shard_bytes=%d bytes_per_alert=%.0f | phase=one_shard exec=%d rpush=%d",
					scheme, m.Addr(), onMaster[i], d.evalsha, d.spublish, used, float64(used)/float64(alerts/len(masters)), o.exec, o.rpush)
			}
			if s := spreadOf(appends); s > 0.10 {
				t.Errorf("appends per master %v: %.0f %% from even, want within 10 %%", appends, 100*s)
			}
			if s := spreadOf(mem); s > 0.10 {
				t.Errorf("memory per master %v: %.0f %% from even, want within 10 %%", mem, 100*s)
			}
			t.Logf("FIGURES: scale scheme=%s spread_from_even appends=%.1f%% memory=%.1f%%", scheme, 100*spreadOf(appends), 100*spreadOf(mem))
		})
	}
}

// writeAll stores alerts from writers goroutines through one store of
// dsn, and returns the rate in alerts a second.
func writeAll(t *testing.T, ctx context.Context, dsn string, writers, alerts int) float64 {
	t.Helper()
	s := openStore(t, dsn)
	per := alerts / writers
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for i := range per {
				a := backend.NewAlert()
				_ = a.SetEntity("w" + strconv.Itoa(w) + "-" + strconv.Itoa(i))
				if err := s.Store(ctx, a); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d stores failed", n)
	}
	return float64(per*writers) / elapsed.Seconds()
}

// stats are the counters of one master.
type stats struct {
	exec, rpush, evalsha, spublish int64
	memory                         int64
}

func (a stats) sub(b stats) stats {
	return stats{a.exec - b.exec, a.rpush - b.rpush, a.evalsha - b.evalsha, a.spublish - b.spublish, a.memory - b.memory}
}

func masterStats(t *testing.T, ctx context.Context, masters []*containers.Server) []stats {
	t.Helper()
	out := make([]stats, len(masters))
	for i, m := range masters {
		out[i] = stats{
			exec:     commandCalls(t, ctx, m, "exec"),
			rpush:    commandCalls(t, ctx, m, "rpush"),
			evalsha:  commandCalls(t, ctx, m, "evalsha"),
			spublish: commandCalls(t, ctx, m, "spublish"),
		}
		v, err := m.Do(ctx, "INFO", "memory")
		if err != nil {
			t.Fatal(err)
		}
		info, _ := v.(string)
		for line := range strings.SplitSeq(info, "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
				out[i].memory, _ = strconv.ParseInt(rest, 10, 64)
			}
		}
	}
	return out
}

// spreadOf is the largest relative distance of xs from their mean.
func spreadOf(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	worst := 0.0
	for _, x := range xs {
		d := (x - mean) / mean
		if d < 0 {
			d = -d
		}
		worst = max(worst, d)
	}
	return worst
}
