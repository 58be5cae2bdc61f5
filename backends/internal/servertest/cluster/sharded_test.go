package cluster_test

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/backends/internal/servertest/redistest"
	"github.com/apt-detection/alertstore/backends/valkeygo"
	"github.com/apt-detection/alertstore/conformance/containers"
)

// TestSharded checks what a sharded namespace (shards=3 on 3 masters)
// gives and gives up, on each scheme: every shard on its own master, each
// holding a third of the alerts; the old tools see shard 0 (the old list)
// only; the other library reads the same namespace, each writer's
// alerts newest first; and a watcher gets each of two writers' alerts in
// that writer's order.
func TestSharded(t *testing.T) {
	forEach(t, func(t *testing.T, spec containers.ServerSpec, scheme string) {
		ctx := testCtx(t, 2*time.Minute)
		c := shared(t, spec)
		prefix := redistest.Prefix(t)
		params := "shards=3&max_alerts=1000&prefix=" + url.QueryEscape(prefix)
		s := redistest.Open(t, clusterDSN(scheme, c, params))
		sub, err := s.Watch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sub.Close() }()

		// Two writers, each a store of its own, 30 alerts each.
		const per = 30
		var wg sync.WaitGroup
		for w := range 2 {
			ws := redistest.Open(t, clusterDSN(scheme, c, params))
			wg.Go(func() {
				for i := range per {
					if err := ws.Store(ctx, newAlert(t, fmt.Sprintf("w%d-%02d", w, i))); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		next := [2]int{}
		for range 2 * per {
			a, err := sub.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var w, i int
			if _, err := fmt.Sscanf(a.Entity(), "w%d-%d", &w, &i); err != nil || w > 1 {
				t.Fatalf("watch delivered %q", a.Entity())
			}
			if i != next[w] {
				t.Errorf("writer %d: watch delivered alert %d, want %d (a writer's alerts in its order)", w, i, next[w])
			}
			next[w] = i + 1
		}

		masters := map[*containers.Server]bool{}
		for i, k := range redislist.ShardKeys(prefix, 3) {
			m, err := c.MasterOfKey(ctx, k.List)
			if err != nil {
				t.Fatal(err)
			}
			masters[m] = true
			v, err := m.Do(ctx, "LLEN", k.List)
			if err != nil || v != int64(2*per/3) {
				t.Errorf("shard %d (%s) holds %v (%v), want %d: a third", i, k.List, v, err, 2*per/3)
			}
		}
		if len(masters) != 3 {
			t.Errorf("the 3 shards are on %d masters", len(masters))
		}
		// The old tools know one list: shard 0.
		if out, err := c.Nodes()[0].CLI(ctx, "-c", "LLEN", prefix+"alerts"); err != nil || out != strconv.Itoa(2*per/3) {
			t.Errorf("redis-cli -c LLEN %salerts = %q, %v; want shard 0's %d", prefix, out, err, 2*per/3)
		}
		// Both libraries read the same namespace, newest first.
		other := valkeygo.SchemeCluster
		if scheme == valkeygo.SchemeCluster {
			other = goredis.SchemeCluster
		}
		for _, sc := range []string{scheme, other} {
			r := redistest.Open(t, clusterDSN(sc, c, params))
			if n, err := r.Count(ctx); err != nil || n != 2*per {
				t.Errorf("%s: Count = %d, %v; want %d", sc, n, err, 2*per)
			}
			page, err := r.List(ctx, backend.Query{Limit: 2 * per})
			if err != nil {
				t.Fatal(err)
			}
			// Newest first by the time each was stored: each writer's
			// alerts in its reverse order (two writers at once
			// interleave by when their appends ran).
			last := [2]int{per, per}
			for _, a := range page.Alerts {
				var w, i int
				if _, err := fmt.Sscanf(a.Entity(), "w%d-%d", &w, &i); err != nil || w > 1 {
					t.Fatalf("%s: listed %q", sc, a.Entity())
				}
				if i >= last[w] {
					t.Errorf("%s: writer %d's alert %d listed after its alert %d", sc, w, i, last[w])
				}
				last[w] = i
			}
		}
	})
}

// TestShardedCapOneShotWriters: stores that write one alert each and go
// (alertstore put) spread over the shards at random, not evenly; the
// namespace still never shows more than its cap, newest first, and shows
// the newest alert.
func TestShardedCapOneShotWriters(t *testing.T) {
	spec := containers.Matrix()[0]
	c := shared(t, spec)
	ctx := testCtx(t, time.Minute)
	prefix := redistest.Prefix(t)
	params := "shards=3&max_alerts=6&prefix=" + url.QueryEscape(prefix)
	var last string
	for i := range 40 {
		s := redistest.Open(t, clusterDSN(goredis.SchemeCluster, c, params))
		last = fmt.Sprintf("one-shot-%02d", i)
		if err := s.Store(ctx, newAlert(t, last)); err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
	}
	r := redistest.Open(t, clusterDSN(valkeygo.SchemeCluster, c, params))
	n, err := r.Count(ctx)
	if err != nil || n != 6 {
		t.Fatalf("Count = %d, %v; want the cap, 6", n, err)
	}
	page, err := r.List(ctx, backend.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Alerts) != 6 || page.Alerts[0].Entity() != last {
		t.Fatalf("listed %d alerts, newest %v; want 6, the newest %s first", len(page.Alerts), page.Alerts, last)
	}
	var got []string
	for i, a := range page.Alerts {
		got = append(got, a.Entity())
		if i > 0 && a.Entity() >= page.Alerts[i-1].Entity() {
			t.Errorf("not newest first: %v", got)
		}
	}
	t.Logf("FIGURES: sharded one-shot writers: cap 6, 40 stores of one alert each over 3 shards: listed %v", got)
}

// TestShardedOversizedAtChunkEdges: the sharded read script reads entries
// and their stamps in LRANGE chunks of 16 (redislist.ShardReadScript). A
// store with max_alert_bytes=1024 reads a namespace that another filled
// with 160 alerts, the first and last of every 16 of 2 KiB: those stay on
// the servers, and every other alert is listed once, newest first, in one
// page and in pages of 7 and 17 (windows that start and end off a chunk's
// edge on each shard).
func TestShardedOversizedAtChunkEdges(t *testing.T) {
	forEach(t, func(t *testing.T, spec containers.ServerSpec, scheme string) {
		ctx := testCtx(t, 2*time.Minute)
		c := shared(t, spec)
		params := "shards=3&max_alerts=1000&prefix=" + url.QueryEscape(redistest.Prefix(t))
		w := redistest.Open(t, clusterDSN(scheme, c, params+"&max_alert_bytes=4096"))
		r := redistest.Open(t, clusterDSN(scheme, c, params+"&max_alert_bytes=1024"))
		const n = 160
		var want []string // newest first
		big := 0
		for i := range n {
			a := newAlert(t, fmt.Sprintf("edge-%03d", i))
			if i%16 == 0 || i%16 == 15 {
				if err := a.SetMessage(strings.Repeat("z", 2048)); err != nil {
					t.Fatal(err)
				}
				big++
			} else {
				want = append([]string{a.Entity()}, want...)
			}
			if err := w.Store(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		for _, limit := range []int{n, 7, 17} {
			var got []string
			oversized := 0
			for q := (backend.Query{Limit: limit}); ; {
				p, err := r.List(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range p.Alerts {
					got = append(got, a.Entity())
				}
				oversized += p.Oversized
				if p.Next == "" {
					break
				}
				q.Cursor = p.Next
			}
			if !slices.Equal(got, want) || oversized != big {
				t.Errorf("pages of %d: listed %q with %d oversized; want %q with %d", limit, got, oversized, want, big)
			}
		}
	})
}
