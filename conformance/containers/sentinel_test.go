package containers

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestSentinelConf(t *testing.T) {
	cfg, err := newTopologyConfig([]TopologyOption{WithMasterName("alerts"), WithDownAfter(1500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	tp := &Topology{cfg: cfg}
	common := []string{
		"sentinel resolve-hostnames no\n",
		"sentinel monitor alerts 127.0.0.1 6400 2\n",
		"sentinel down-after-milliseconds alerts 1500\n",
		"sentinel failover-timeout alerts 5000\n",
		"sentinel auth-pass alerts pw\n",
	}
	tlsCfg := serverConfig{tls: &TLSFiles{ClientAuth: "yes", ClientCert: []byte("c"), ClientKey: []byte("k")}, tlsOnly: true}
	for _, c := range []struct {
		name      string
		cfg       serverConfig
		want, not []string
	}{
		{"plain", serverConfig{}, append([]string{"port 26400\n"}, common...), []string{"tls-port", "port 0\n"}},
		{"tls", tlsCfg, append([]string{
			"port 0\n", "tls-port 26400\n", "tls-replication yes\n", "tls-auth-clients yes\n",
			"tls-ca-cert-file /tls/ca.crt\n", "tls-client-cert-file /tls/client.crt\n", "tls-client-key-file /tls/client.key\n",
		}, common...), []string{"\nport 26400\n"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf := "\n" + tp.sentinelConf(6400, "pw", c.cfg)(26400)
			for _, want := range c.want {
				if !strings.Contains(conf, "\n"+want) {
					t.Errorf("sentinel.conf lacks %q:\n%s", want, conf)
				}
			}
			for _, bad := range c.not {
				if strings.Contains(conf, bad) {
					t.Errorf("sentinel.conf has %q:\n%s", bad, conf)
				}
			}
		})
	}
	for _, bad := range [][]TopologyOption{
		{WithMasterName("two words")},
		{WithReplicas(0)},
		{WithSentinels(3), WithQuorum(4)},
	} {
		if _, err := newTopologyConfig(bad); err == nil {
			t.Errorf("options %d accepted", len(bad))
		}
	}
}

// TestSentinelTopology starts a topology per matrix server, checks what the
// readiness gate promises, moves the master with one forced failover, and
// brings the topology back to ready after killing the new master.
func TestSentinelTopology(t *testing.T) {
	for _, spec := range Matrix() {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t, 4*time.Minute)
			begin := time.Now()
			tp := StartSentinelTopology(ctx, t, spec, WithServerOptions(WithPassword("pw")))
			t.Logf("topology started and ready in %s", time.Since(begin).Round(time.Millisecond))
			logOnFailure(t, tp)

			if got := tp.MasterName(); got != "mymaster" {
				t.Fatalf("MasterName = %q", got)
			}
			if n, r, s := len(tp.Nodes()), len(tp.Replicas()), len(tp.SentinelAddrs()); n != 3 || r != 2 || s != 3 {
				t.Fatalf("nodes/replicas/sentinels = %d/%d/%d, want 3/2/3", n, r, s)
			}
			master := tp.Master()
			if cur, err := tp.CurrentMaster(ctx); err != nil || cur != master.Addr() {
				t.Fatalf("CurrentMaster = %q, %v; want %s", cur, err, master.Addr())
			}

			// Replication works, as the gate promised.
			conn, err := master.Dial(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Do(ctx, "SET", "before", "failover"); err != nil {
				t.Fatal(err)
			}
			if v, err := conn.Do(ctx, "WAIT", "2", "5000"); err != nil || v != int64(2) {
				t.Fatalf("WAIT 2 = %v, %v", v, err)
			}
			_ = conn.Close()
			for _, r := range tp.Replicas() {
				if v, err := r.Do(ctx, "GET", "before"); err != nil || v != "failover" {
					t.Fatalf("GET before on replica %s = %v, %v", r.Addr(), v, err)
				}
				if err := checkRole(ctx, r, "slave"); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range tp.Sentinels() {
				if err := checkRole(ctx, s, "sentinel"); err != nil {
					t.Fatal(err)
				}
			}

			start := time.Now()
			if err := tp.Failover(ctx); err != nil {
				t.Fatal(err)
			}
			t.Logf("forced failover took %s", time.Since(start).Round(time.Millisecond))
			moved := tp.Master()
			if moved == master {
				t.Fatalf("Failover left the master on %s", master.Addr())
			}
			if cur, err := tp.CurrentMaster(ctx); err != nil || cur != moved.Addr() {
				t.Fatalf("CurrentMaster after failover = %q, %v; want %s", cur, err, moved.Addr())
			}
			if err := tp.WaitReady(ctx); err != nil {
				t.Fatal(err)
			}
			if err := checkRole(ctx, master, "slave"); err != nil {
				t.Fatalf("old master after failover: %v", err)
			}
			if v, err := moved.Do(ctx, "GET", "before"); err != nil || v != "failover" {
				t.Fatalf("GET before on new master = %v, %v", v, err)
			}

			// A crash of the master: the sentinels fail over by themselves
			// (down-after 1s); the crashed node, started again, rejoins as
			// a replica and WaitReady sees the topology whole again.
			start = time.Now()
			if err := moved.Kill(ctx); err != nil {
				t.Fatal(err)
			}
			for {
				cur, err := tp.agreedMaster(ctx)
				if err == nil && cur != moved.Addr() {
					t.Logf("automatic failover to %s took %s", cur, time.Since(start).Round(time.Millisecond))
					break
				}
				if err := sleepCtx(ctx, pollInterval); err != nil {
					t.Fatalf("no automatic failover after killing %s: %v", moved.Addr(), err)
				}
			}
			if err := moved.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if err := tp.WaitReady(ctx); err != nil {
				t.Fatal(err)
			}
			if tp.Master() == moved {
				t.Fatalf("killed master %s is master again", moved.Addr())
			}
			t.Logf("ready again after kill/restart in %s", time.Since(start).Round(time.Millisecond))
		})
	}
}

// logOnFailure logs every container's output if t fails; registered after
// the topology's own cleanup, it runs before the containers are removed.
func logOnFailure(t *testing.T, tp *Topology) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, s := range append(tp.Nodes(), tp.Sentinels()...) {
			logs, err := s.Logs(ctx)
			t.Logf("==== %s logs (err %v):\n%s", s, err, logs)
		}
	})
}
