package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/backends/internal/servertest/redistest"
	"github.com/apt-detection/alertstore/backends/valkeygo"
	"github.com/apt-detection/alertstore/conformance/containers"
	"github.com/apt-detection/alertstore/internal/hashslot"
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func newAlert(t *testing.T, entity string) *backend.Alert {
	t.Helper()
	a := backend.NewAlert()
	if err := a.SetEntity(entity); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestLayout checks the cluster layout on the servers: the list under its
// old name, every other key in its slot on the same master, the old
// tools' view (redis-cli -c LRANGE, json.loads), and the notifications
// on sharded pub/sub in that slot.
func TestLayout(t *testing.T) {
	forEach(t, func(t *testing.T, spec containers.ServerSpec, scheme string) {
		ctx := testCtx(t, 2*time.Minute)
		c := shared(t, spec)
		prefix := redistest.Prefix(t)
		s := redistest.Open(t, clusterDSN(scheme, c, "prefix="+url.QueryEscape(prefix)))
		sub, err := s.Watch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sub.Close() }()

		k := redislist.ClusterKeys(prefix)
		m, err := c.MasterOfKey(ctx, k.List)
		if err != nil {
			t.Fatal(err)
		}
		// The watch's SSUBSCRIBE is on the slot's shard.
		if v, err := m.Do(ctx, "PUBSUB", "SHARDNUMSUB", k.Events); err != nil || !strings.Contains(strings.ReplaceAll(fmtAny(v), " ", ""), k.Events+"1") {
			t.Errorf("PUBSUB SHARDNUMSUB %s on the master = %v, %v; want 1 subscriber", k.Events, v, err)
		}
		before := commandCalls(t, ctx, m, "spublish")

		for i := range 3 {
			if err := s.Store(ctx, newAlert(t, "host"+strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			a, err := sub.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if a.Entity() != "host"+strconv.Itoa(i) {
				t.Errorf("watch delivered %s as number %d", a.Entity(), i)
			}
		}
		if got := commandCalls(t, ctx, m, "spublish"); got < before+3 {
			t.Errorf("SPUBLISH calls on the master went from %d to %d over 3 appends", before, got)
		}

		for _, key := range []string{k.List, k.Seq, k.Cap} {
			if hashslot.Of(key) != k.Slot() {
				t.Errorf("%s is in slot %d, the list in %d", key, hashslot.Of(key), k.Slot())
			}
			if v, err := m.Do(ctx, "EXISTS", key); err != nil || v != int64(1) {
				t.Errorf("EXISTS %s on the list's master = %v, %v", key, v, err)
			}
		}
		if v, err := m.Do(ctx, "GET", k.Seq); err != nil || v != "3" {
			t.Errorf("GET %s = %v, %v", k.Seq, v, err)
		}
		if k.List != prefix+"alerts" {
			t.Errorf("list key %q, want the old name %q", k.List, prefix+"alerts")
		}

		// The old tools: redis-cli in cluster mode (-c follows MOVED) from
		// any node, and json.loads of each entry.
		other := c.Nodes()[0]
		if other == m {
			other = c.Nodes()[1]
		}
		if out, err := other.CLI(ctx, "-c", "LLEN", k.List); err != nil || out != "3" {
			t.Errorf("redis-cli -c LLEN = %q, %v", out, err)
		}
		out, err := other.CLI(ctx, "-c", "LRANGE", k.List, "0", "-1")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 {
			t.Fatalf("redis-cli -c LRANGE printed %d lines:\n%s", len(lines), out)
		}
		for i, l := range lines {
			var obj map[string]any
			if err := json.Unmarshal([]byte(l), &obj); err != nil || obj["entity"] != "host"+strconv.Itoa(i) {
				t.Errorf("LRANGE line %d = %s (%v)", i, l, err)
			}
		}
	})
}

// fmtAny flattens a RESP reply for a substring check.
func fmtAny(v any) string {
	switch v := v.(type) {
	case []any:
		var b strings.Builder
		for _, e := range v {
			b.WriteString(fmtAny(e))
		}
		return b.String()
	case int64:
		return strconv.FormatInt(v, 10)
	case string:
		return v
	}
	return ""
}

// commandCalls reads calls=N of cmdstat_<cmd> from INFO commandstats.
func commandCalls(t *testing.T, ctx context.Context, s *containers.Server, cmd string) int64 {
	t.Helper()
	v, err := s.Do(ctx, "INFO", "commandstats")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := v.(string)
	for line := range strings.SplitSeq(info, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+cmd+":calls=")
		if ok {
			n, _ := strconv.ParseInt(strings.SplitN(rest, ",", 2)[0], 10, 64)
			return n
		}
	}
	return 0
}

// TestCrossLibrary: what one cluster scheme writes, the other reads, in
// both directions (the same layout, the same keys).
func TestCrossLibrary(t *testing.T) {
	spec := containers.Matrix()[0]
	c := shared(t, spec)
	ctx := testCtx(t, time.Minute)
	prefix := redistest.Prefix(t)
	a := redistest.Open(t, clusterDSN(goredis.SchemeCluster, c, "prefix="+url.QueryEscape(prefix)))
	b := redistest.Open(t, clusterDSN(valkeygo.SchemeCluster, c, "prefix="+url.QueryEscape(prefix)))
	if err := a.Store(ctx, newAlert(t, "from-go-redis")); err != nil {
		t.Fatal(err)
	}
	if err := b.Store(ctx, newAlert(t, "from-valkey-go")); err != nil {
		t.Fatal(err)
	}
	for i, s := range []*backend.Store{a, b} {
		page, err := s.List(ctx, backend.Query{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Alerts) != 2 || page.Alerts[0].Entity() != "from-valkey-go" || page.Alerts[1].Entity() != "from-go-redis" {
			t.Errorf("store %d lists %d alerts: %v", i, len(page.Alerts), page.Alerts)
		}
	}
}

// TestMinReplicas: with min_replicas=1 an append is acknowledged once the
// slot master's replica has it (WAIT on the connection that ran it); with
// min_replicas=2 (each master has one replica) it is not, and says so.
func TestMinReplicas(t *testing.T) {
	forEach(t, func(t *testing.T, spec containers.ServerSpec, scheme string) {
		ctx := testCtx(t, time.Minute)
		c := shared(t, spec)
		prefix := redistest.Prefix(t)
		s := redistest.Open(t, clusterDSN(scheme, c, "min_replicas=1&prefix="+url.QueryEscape(prefix)))
		if err := s.Store(ctx, newAlert(t, "replicated")); err != nil {
			t.Fatalf("min_replicas=1: %v", err)
		}
		k := redislist.ClusterKeys(prefix)
		m, err := c.MasterOfKey(ctx, k.List)
		if err != nil {
			t.Fatal(err)
		}
		reps, err := c.ReplicasOf(ctx, m)
		if err != nil || len(reps) != 1 {
			t.Fatalf("ReplicasOf = %v, %v", reps, err)
		}
		// Acknowledged by WAIT means on the replica now, not eventually.
		if _, err := reps[0].Do(ctx, "READONLY"); err != nil {
			t.Fatal(err)
		}
		conn, err := reps[0].Dial(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		if _, err := conn.Do(ctx, "READONLY"); err != nil {
			t.Fatal(err)
		}
		if v, err := conn.Do(ctx, "LLEN", k.List); err != nil || v != int64(1) {
			t.Errorf("LLEN on the replica right after the acknowledgement = %v, %v", v, err)
		}

		two := redistest.Open(t, clusterDSN(scheme, c, "min_replicas=2&replica_timeout=200ms&prefix="+url.QueryEscape(prefix)))
		err = two.Store(ctx, newAlert(t, "under-replicated"))
		if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "not acknowledged by 2 replicas") {
			t.Errorf("min_replicas=2 with one replica: %v, want ErrUnavailable saying not acknowledged", err)
		}
	})
}

// TestAs reaches each library's cluster client through Store.As.
func TestAs(t *testing.T) {
	spec := containers.Matrix()[0]
	c := shared(t, spec)
	ctx := testCtx(t, time.Minute)
	gr := redistest.Open(t, clusterDSN(goredis.SchemeCluster, c, ""))
	var uc redis.UniversalClient
	if !gr.As(&uc) {
		t.Fatal("redis+cluster: As(*redis.UniversalClient) = false")
	}
	if _, ok := uc.(*redis.ClusterClient); !ok {
		t.Errorf("redis+cluster: As gave a %T, want *redis.ClusterClient", uc)
	}
	if err := uc.Ping(ctx).Err(); err != nil {
		t.Error(err)
	}
	vk := redistest.Open(t, clusterDSN(valkeygo.SchemeCluster, c, ""))
	var vc valkey.Client
	if !vk.As(&vc) {
		t.Fatal("valkey+cluster: As(*valkey.Client) = false")
	}
	if vc.Mode() != valkey.ClientModeCluster {
		t.Errorf("valkey+cluster: As gave a %s client", vc.Mode())
	}
}
