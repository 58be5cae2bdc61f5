package containers

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/internal/hashslot"
)

func TestParseClusterNodes(t *testing.T) {
	text := "07c3 127.0.0.1:30004@31004 myself,master - 0 0 1 connected 0-5460 [5461->-e7d1]\n" +
		"e7d1 127.0.0.1:30005@31005,host master - 0 1700 2 connected 5461-10922 [5461-<-07c3] 16000\n" +
		"292f 127.0.0.1:30006@31006 slave,fail? 07c3 0 1700 1 connected\n"
	got, err := parseClusterNodes(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d nodes", len(got))
	}
	if n := got[0]; n.ID != "07c3" || n.Addr != "127.0.0.1:30004" || !n.Master() || n.Failing() ||
		!slices.Equal(n.Slots, [][2]int{{0, 5460}}) || !slices.Equal(n.Migrating, []int{5461}) {
		t.Errorf("node 0 = %+v", n)
	}
	if n := got[1]; !slices.Equal(n.Slots, [][2]int{{5461, 10922}, {16000, 16000}}) || !slices.Equal(n.Importing, []int{5461}) {
		t.Errorf("node 1 = %+v", n)
	}
	if n := got[2]; n.Master() || !n.Failing() || n.MasterID != "07c3" {
		t.Errorf("node 2 = %+v", n)
	}
	if _, err := parseClusterNodes("short line"); err == nil {
		t.Error("a short line parsed")
	}
	for _, bad := range [][]ClusterOption{{WithClusterMasters(2)}, {WithClusterReplicas(-1)}, {WithNodeTimeout(time.Millisecond)}} {
		if _, err := newClusterConfig(bad); err == nil {
			t.Errorf("options %d accepted", len(bad))
		}
	}
}

func TestKeyInSlot(t *testing.T) {
	for _, slot := range []int{0, 1, 5460, 5461, 16383} {
		if k := KeyInSlot("probe", slot); hashslot.Of(k) != slot || !strings.HasPrefix(k, "probe:{") {
			t.Errorf("KeyInSlot(probe, %d) = %q in slot %d", slot, k, hashslot.Of(k))
		}
	}
}

// TestCluster starts one cluster (on the first matrix server: each costs
// six containers), checks what the readiness gate promises and that the
// servers agree with our slot arithmetic, migrates a slot, and brings the
// cluster back to ready after killing a master.
func TestCluster(t *testing.T) {
	spec := Matrix()[0]
	ctx := testCtx(t, 5*time.Minute)
	begin := time.Now()
	c := StartCluster(ctx, t, spec, WithClusterServerOptions(WithPassword("pw")))
	t.Logf("%s cluster started and ready in %s", spec.Name, time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		lctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, s := range c.Nodes() {
			logs, err := s.Logs(lctx)
			t.Logf("==== %s logs (err %v):\n%s", s, err, logs)
		}
	})

	if n := len(c.Nodes()); n != 6 {
		t.Fatalf("%d nodes", n)
	}
	masters, err := c.Masters(ctx)
	if err != nil || len(masters) != 3 {
		t.Fatalf("Masters = %v, %v", masters, err)
	}
	for _, key := range []string{"foo", "apt_detection:alerts", "{apt_detection:alerts}:seq", "x{}y"} {
		v, err := masters[0].Do(ctx, "CLUSTER", "KEYSLOT", key)
		if err != nil || v != int64(hashslot.Of(key)) {
			t.Errorf("CLUSTER KEYSLOT %s = %v, %v; hashslot.Of = %d", key, v, err, hashslot.Of(key))
		}
	}

	// Writes reach the slot's master and its replica.
	key := "apt_detection:alerts"
	slot := hashslot.Of(key)
	m, err := c.MasterOf(ctx, slot)
	if err != nil {
		t.Fatal(err)
	}
	reps, err := c.ReplicasOf(ctx, m)
	if err != nil || len(reps) != 1 {
		t.Fatalf("ReplicasOf(%s) = %v, %v", m, reps, err)
	}
	conn, err := m.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Do(ctx, "RPUSH", key, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if v, err := conn.Do(ctx, "WAIT", "1", "5000"); err != nil || v != int64(1) {
		t.Fatalf("WAIT = %v, %v", v, err)
	}
	_ = conn.Close()

	// A migration moves the keys and the slot; the other masters learn.
	var to *Server
	for _, o := range masters {
		if o != m {
			to = o
			break
		}
	}
	if err := c.MigrateSlot(ctx, slot, to, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := c.MasterOf(ctx, slot); err != nil || got != to {
		t.Fatalf("MasterOf after migration = %v, %v; want %s", got, err, to)
	}
	if v, err := to.Do(ctx, "LLEN", key); err != nil || v != int64(2) {
		t.Fatalf("LLEN on the new master = %v, %v", v, err)
	}
	if _, err := m.Do(ctx, "LLEN", key); err == nil || !strings.HasPrefix(err.Error(), "MOVED") {
		t.Fatalf("LLEN on the old master = %v, want MOVED", err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	// A crash of that master: its replica takes over, the crashed node
	// comes back as a replica, and the gate sees the cluster whole again.
	start := time.Now()
	if err := to.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		got, err := c.MasterOf(ctx, slot)
		if err == nil && got != to {
			t.Logf("failover to %s took %s", got, time.Since(start).Round(time.Millisecond))
			break
		}
		if err := sleepCtx(ctx, pollInterval); err != nil {
			t.Fatalf("no failover after killing %s: %v", to, err)
		}
	}
	if err := to.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.MasterOf(ctx, slot); got == to {
		t.Fatalf("killed master %s is master again", to)
	}
	t.Logf("ready again after kill/restart in %s", time.Since(start).Round(time.Millisecond))
}
