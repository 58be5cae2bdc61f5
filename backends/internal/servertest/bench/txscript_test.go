package bench_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/backends/internal/servertest/redistest"
)

// appendScript does the work of the append transaction's commands in one
// script: KEYS list, seq, cap; ARGV max, channel, payloads...
const appendScript = `
local n = #ARGV - 2
local pushed = redis.call('RPUSH', KEYS[1], unpack(ARGV, 3))
local seq = redis.pcall('INCRBY', KEYS[2], n)
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('PUBLISH', ARGV[2], n)
return {pushed, seq, redis.call('GET', KEYS[3])}
`

// appender is one way of sending the append transaction of one alert.
type appender func(ctx context.Context, k redislist.Keys, payload []byte) error

// BenchmarkAppendTx is the micro benchmark behind the choice of MULTI/EXEC
// over one script for the append (docs/performance.md, "What changed"):
// the append transaction as the backends send it (MULTI RPUSH INCRBY
// LTRIM PUBLISH MGET EXEC) against one EVALSHA of a script doing the same
// RPUSH/INCRBY/LTRIM/PUBLISH/GET, on go-redis and valkey-go, with 1 and
// 64 callers each sending its own one-alert transaction (no coalescing:
// this is the cost of one transaction, client and server). The variants
// of one client and caller count sit side by side, so -count interleaves
// them.
func BenchmarkAppendTx(b *testing.B) {
	srv := server(b)
	ctx := context.Background()
	one := payload[0]

	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, PoolSize: 64})
	b.Cleanup(func() { _ = rdb.Close() })
	vk, err := valkey.NewClient(valkey.ClientOption{InitAddress: []string{srv.Addr()}, DisableCache: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(vk.Close)
	gs := redis.NewScript(appendScript)
	vs := valkey.NewLuaScript(appendScript)

	clients := []struct {
		name     string
		variants []struct {
			name string
			fn   appender
		}
	}{
		{"goredis", []struct {
			name string
			fn   appender
		}{
			{"multi", func(ctx context.Context, k redislist.Keys, p []byte) error {
				var exec *redis.Cmd
				_, err := rdb.Pipelined(ctx, func(pp redis.Pipeliner) error {
					pp.Do(ctx, "multi")
					pp.Do(ctx, "rpush", k.List, p)
					pp.Do(ctx, "incrby", k.Seq, 1)
					pp.Do(ctx, "ltrim", k.List, -10000, -1)
					pp.Do(ctx, "publish", k.Events, 1)
					pp.Do(ctx, "mget", k.Cap)
					exec = pp.Do(ctx, "exec")
					return nil
				})
				if err != nil {
					return err
				}
				_, err = exec.Slice()
				return err
			}},
			{"script", func(ctx context.Context, k redislist.Keys, p []byte) error {
				return gs.Run(ctx, rdb, []string{k.List, k.Seq, k.Cap}, 10000, k.Events, p).Err()
			}},
		}},
		{"valkeygo", []struct {
			name string
			fn   appender
		}{
			{"multi", func(ctx context.Context, k redislist.Keys, p []byte) error {
				bb := vk.B()
				resps := vk.DoMulti(ctx,
					bb.Multi().Build(),
					bb.Rpush().Key(k.List).Element(valkey.BinaryString(p)).Build(),
					bb.Incrby().Key(k.Seq).Increment(1).Build(),
					bb.Ltrim().Key(k.List).Start(-10000).Stop(-1).Build(),
					bb.Publish().Channel(k.Events).Message("1").Build(),
					bb.Mget().Key(k.Cap).Build(),
					bb.Exec().Build())
				_, err := resps[len(resps)-1].ToArray()
				return err
			}},
			{"script", func(ctx context.Context, k redislist.Keys, p []byte) error {
				return vs.Exec(ctx, vk, []string{k.List, k.Seq, k.Cap}, []string{"10000", k.Events, valkey.BinaryString(p)}).Error()
			}},
		}},
	}
	for _, c := range clients {
		for _, callers := range []int{1, 64} {
			for _, v := range c.variants {
				b.Run(fmt.Sprintf("%s/callers=%d/%s", c.name, callers, v.name), func(b *testing.B) {
					k := redislist.NewKeys(redistest.Prefix(b))
					b.Cleanup(func() { _ = rdb.Del(ctx, k.List, k.Seq).Err() })
					if err := v.fn(ctx, k, one); err != nil { // loads the script
						b.Fatal(err)
					}
					var next atomic.Int64
					var failed atomic.Value
					var wg sync.WaitGroup
					b.ResetTimer()
					for range callers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for next.Add(1) <= int64(b.N) {
								if err := v.fn(ctx, k, one); err != nil {
									failed.Store(err)
									return
								}
							}
						}()
					}
					wg.Wait()
					b.StopTimer()
					if err, _ := failed.Load().(error); err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "txn/s")
				})
			}
		}
	}
}
