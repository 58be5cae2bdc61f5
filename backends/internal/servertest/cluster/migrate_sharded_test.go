package cluster_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/conformance/containers"
	"github.com/apt-detection/alertstore/internal/hashslot"
)

// testMigrateShardSlot: the sharded layout (shards=3) under writers while
// the slot of one of its shards moves to another master, key by key. The
// shard's append is one script that SPUBLISHes inside; unlike a MULTI
// holding SPUBLISH (which Valkey 8.1 runs on the importing node with keys
// still on the source), a script is routed by the keys it declares alone,
// so it is refused (TRYAGAIN) or redirected (ASK) like any other command
// on a slot in migration, and the shard's keys are never forked: the
// migration completes (a forked key would stop it with BUSYKEY), nothing
// acknowledged is lost and nothing is stored twice. Once per target: the
// unsharded migration runs the figures.
func testMigrateShardSlot(t *testing.T, f *faultEnv) {
	const shards = 3
	prefix := prefixesInOneSlot("shardmig", 1)[0]
	s := &stream{label: fmt.Sprintf("shards=%d", shards), prefix: prefix, stopCh: make(chan struct{})}
	s.store = openStore(t, clusterDSN(f.tg.scheme, f.c, fmt.Sprintf("shards=%d&max_alerts=1000000&timeout=%s&prefix=%s", shards, streamTimeout, url.QueryEscape(prefix))))
	for w := range streamWriters {
		s.wg.Add(1)
		go s.run(w)
	}
	t.Cleanup(s.stop)
	warmUp(t, []*stream{s})

	ctx := testCtx(t, 2*time.Minute)
	keys := redislist.ShardKeys(prefix, shards)
	slot := hashslot.Of(keys[1].List)
	from, err := f.c.MasterOf(ctx, slot)
	if err != nil {
		t.Fatal(err)
	}
	masters, err := f.c.Masters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var to *containers.Server
	for _, m := range masters {
		if m != from {
			to = m
			break
		}
	}
	t0 := time.Now()
	if err := f.c.MigrateSlot(ctx, slot, to, 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	s.waitAckAfter(t, time.Now(), "the migration")
	time.Sleep(settle)
	f.ready(t)
	s.stop()

	ids := map[string]int{}
	for _, k := range keys {
		got, err := listIDsOf(ctx, f.c, k.List)
		if err != nil {
			t.Fatal(err)
		}
		for id, n := range got {
			ids[id] += n
		}
	}
	s.mu.Lock()
	acked, failed := len(s.acks), s.failures
	lost := 0
	for _, a := range s.acks {
		if ids[a.id] == 0 {
			lost++
		}
	}
	s.mu.Unlock()
	dup := 0
	for _, n := range ids {
		dup += max(n-1, 0)
	}
	t.Logf("FIGURES: scheme=%s server=%s fault=migrate-shard-slot shards=%d writers=%d acked=%d lost=%d dup=%d failed_calls=%d migration=%s",
		f.tg.scheme, f.tg.server, shards, streamWriters, acked, lost, dup, failed, took.Round(time.Millisecond))
	if lost > 0 || dup > 0 {
		t.Errorf("%d acknowledged: %d lost, %d duplicated across the migration of shard 1's slot %d", acked, lost, dup, slot)
	}
}
