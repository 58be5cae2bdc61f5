package bench_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/backends/internal/servertest/redistest"
)

// lindexLoop is the item loop of the read script before it read the
// window in LRANGE chunks of 16: one LINDEX per item.
const lindexLoop = `
for i = start, stop do
  local idx = i
  if i >= n / 2 then idx = i - n end
  local v = redis.call('LINDEX', KEYS[1], idx) or ''
  if string.len(v) > maxb then v = string.len(v) end
  items[#items + 1] = v
end
`

// lrangeChunks is the item loop with one LRANGE per k items.
func lrangeChunks(k int) string {
	return fmt.Sprintf(`
for i = start, stop, %d do
  local j = i + %d
  if j > stop then j = stop end
  for _, v in ipairs(redis.call('LRANGE', KEYS[1], i, j)) do
    if string.len(v) > maxb then v = string.len(v) end
    items[#items + 1] = v
  end
end
`, k, k-1)
}

// serverCPU is the CPU time the server has used, in seconds (INFO cpu).
func serverCPU(b *testing.B, c *redis.Client) float64 {
	info, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			total += f
		}
	}
	return total
}

// BenchmarkWindowScript measures the server's side of a List on a real
// server: the read script returning the newest 100 (and 1000) of 10,000
// sample alerts, its items read one LINDEX at a time or in LRANGE chunks
// of k, 16 callers; unchecked is the script returning one LRANGE as is
// (no size check: the floor of any script) and plain-lrange a bare LRANGE
// with no script. server-us/op is the server's CPU per call (INFO cpu),
// the figure to compare; entries/s moves with the client's load too.
func BenchmarkWindowScript(b *testing.B) {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: server(b).Addr()})
	b.Cleanup(func() { _ = c.Close() })
	k := redislist.NewKeys(redistest.Prefix(b))
	b.Cleanup(func() { _ = c.Del(context.Background(), k.List, k.Seq).Err() })
	for i := 0; i < 10_000; i += 1000 {
		vals := make([]any, 1000)
		for j := range vals {
			vals[j] = payload.At(i + j)
		}
		if err := c.RPush(ctx, k.List, vals...).Err(); err != nil {
			b.Fatal(err)
		}
	}
	loop := strings.Index(redislist.WindowScript, "\nfor i = start, stop")
	if loop < 0 {
		b.Fatal("the read script has no item loop")
	}
	variants := []struct{ name, body string }{
		{"lindex", lindexLoop},
		{"lrange-k=64", lrangeChunks(64)},
		{"lrange-k=1000", lrangeChunks(1000)},
		{"script", ""},       // redislist.WindowScript as it is
		{"unchecked", ""},    // the same, sizes not checked: one LRANGE returned as is
		{"plain-lrange", ""}, // no script: what the server spends on LRANGE alone
	}
	for _, limit := range []int{100, 1000} {
		for _, v := range variants {
			src := redislist.WindowScript
			if v.body != "" {
				end := strings.Index(src[loop:], "\nend\n") + loop + len("\nend\n")
				src = src[:loop] + v.body + src[end:]
			}
			script := redis.NewScript(src)
			maxb := backend.DefaultMaxAlertBytes
			if v.name == "unchecked" {
				maxb = 0 // the script's one-LRANGE path with no size check
			}
			args := redislist.WindowArgs(redislist.ModeBefore, 0, limit, maxb)
			b.Run(fmt.Sprintf("limit=%d/%s", limit, v.name), func(b *testing.B) {
				if err := script.Load(ctx, c).Err(); err != nil {
					b.Fatal(err)
				}
				b.SetParallelism(8)
				cpu0 := serverCPU(b, c)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if v.name == "plain-lrange" {
							items, err := c.LRange(ctx, k.List, int64(-limit), -1).Result()
							if err != nil || len(items) != limit {
								b.Errorf("LRANGE: %d items, %v", len(items), err)
								return
							}
							continue
						}
						r, err := script.EvalSha(ctx, c, []string{k.List, k.Seq}, args).Slice()
						if err != nil {
							b.Error(err)
							return
						}
						if items, _ := r[3].([]any); len(items) != limit {
							b.Errorf("%d items, want %d", len(items), limit)
							return
						}
					}
				})
				b.StopTimer()
				b.ReportMetric(float64(b.N*limit)/b.Elapsed().Seconds(), "entries/s")
				b.ReportMetric((serverCPU(b, c)-cpu0)*1e6/float64(b.N), "server-us/op")
			})
		}
	}
}
