package sentinel_test

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/backends/internal/servertest/redistest"
	"github.com/apt-detection/alertstore/conformance/containers"
	"github.com/apt-detection/alertstore/registry"
)

// TestTLS runs both Sentinel schemes against a topology that speaks TLS
// only (containers.WithTopologyTLS: no plain port anywhere, replication
// and the sentinels' own links over TLS) and requires a client
// certificate of its CA on every connection (mutual TLS), with
// certificates made in the test. One set of tls_* parameters serves the
// sentinels and the data nodes (docs/dsn.md says why). With the right CA
// and a client certificate a store stores, lists and watches, and follows
// a failover; with an unknown CA, the system roots or a server name the
// certificates do not carry, opening fails with ErrSecurity (never
// ErrUnavailable) naming the sentinels, and nothing is stored.
func TestTLS(t *testing.T) {
	for _, tg := range selected(t, faultTargets) {
		t.Run(tg.String(), func(t *testing.T) {
			t.Parallel()
			spec, ok := containers.Lookup(tg.server)
			if !ok {
				t.Fatalf("no matrix entry %s", tg.server)
			}
			pki := redistest.NewPKI(t, "alertstore")
			other := redistest.NewPKI(t, "impostor")
			nodeCert, nodeKey := pki.Client(t, "node")
			ctx := testCtx(t, 4*time.Minute)
			// One replica and two sentinels: enough for replication,
			// sentinel-to-sentinel links and a failover over TLS, at
			// four containers instead of six.
			tp := containers.StartSentinelTopology(ctx, t, spec,
				containers.WithReplicas(1), containers.WithSentinels(2),
				containers.WithDownAfter(downAfter),
				containers.WithTopologyTLS(containers.TLSFiles{
					Cert: pki.ServerCert, Key: pki.ServerKey, CA: pki.CAPEM, ClientAuth: "yes",
					ClientCert: nodeCert, ClientKey: nodeKey,
				}))
			ca := redistest.WriteFile(t, "ca.pem", pki.CAPEM)
			otherCA := redistest.WriteFile(t, "other-ca.pem", other.CAPEM)
			cc, ck := pki.Client(t, "detector")
			cert, key := redistest.WriteFile(t, "client.pem", cc), redistest.WriteFile(t, "client.key", ck)
			dsn := func(cfg backend.Config, kv ...string) string {
				addrs := tp.SentinelAddrs()
				q := registry.ConfigParams(cfg)
				for _, a := range addrs[1:] {
					q.Add("addr", a)
				}
				q.Set("tls", "true")
				for i := 0; i < len(kv); i += 2 {
					q.Set(kv[i], kv[i+1])
				}
				return tg.scheme + "://" + addrs[0] + "/" + tp.MasterName() + "/0?" + q.Encode()
			}
			// llen reads the list's length on the master through the
			// helpers' own TLS connection, not through the code under test.
			llen := func(t *testing.T, prefix string) int64 {
				t.Helper()
				addr, err := tp.CurrentMaster(testCtx(t, 10*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				v, err := tp.Node(addr).Do(testCtx(t, 10*time.Second), "LLEN", redislist.NewKeys(prefix).List)
				if err != nil {
					t.Fatalf("LLEN on master %s: %v", addr, err)
				}
				n, _ := v.(int64)
				return n
			}

			t.Run("MutualTLS", func(t *testing.T) {
				cfg := backend.Config{Prefix: prefix(t)}
				s := openStore(t, dsn(cfg, "tls_ca", ca, "tls_cert", cert, "tls_key", key))
				ctx := testCtx(t, 2*time.Minute)
				w, err := s.Watch(ctx)
				if err != nil {
					t.Fatalf("Watch over mutual TLS: %v", err)
				}
				defer w.Close()
				storeAndSee := func(entity string) *backend.Alert {
					t.Helper()
					a := newAlert(t, entity)
					if err := s.Store(ctx, a); err != nil {
						t.Fatalf("Store %s: %v", entity, err)
					}
					if got, err := w.Next(ctx); err != nil || got.ID() != a.ID() {
						t.Fatalf("Watch.Next after %s = %v, %v; want %s", entity, got, err, a.ID())
					}
					return a
				}
				before := storeAndSee("before-failover")
				old := tp.Master().Addr()
				if err := tp.Failover(ctx); err != nil {
					t.Fatal(err)
				}
				if tp.Master().Addr() == old {
					t.Fatalf("the master is still %s after the failover", old)
				}
				// The store follows the new master, which the sentinels
				// announce over TLS, and the watch keeps delivering.
				var after *backend.Alert
				for {
					a := newAlert(t, "after-failover")
					err := s.Store(ctx, a)
					if err == nil {
						after = a
						break
					}
					if !errors.Is(err, backend.ErrUnavailable) || ctx.Err() != nil {
						t.Fatalf("Store after the failover: %v", err)
					}
					time.Sleep(200 * time.Millisecond)
				}
				p, err := s.List(ctx, backend.Query{})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, a := range p.Alerts {
					got = append(got, a.ID())
				}
				if want := []string{after.ID(), before.ID()}; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("List after the failover = %v, want %v", got, want)
				}
				if n := llen(t, cfg.Prefix); n != 2 {
					t.Errorf("LLEN on the new master = %d, want 2", n)
				}
				if err := tp.WaitReady(ctx); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("NoPlainPort", func(t *testing.T) {
				// The topology is TLS only: plain RESP to a sentinel's or a
				// node's address gets no reply, so every passing case above
				// spoke TLS.
				for _, addr := range append(tp.SentinelAddrs(), tp.Master().Addr()) {
					nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
					if err != nil {
						t.Fatal(err)
					}
					_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
					_, _ = nc.Write([]byte("*1\r\n$4\r\nPING\r\n"))
					buf := make([]byte, 64)
					n, _ := nc.Read(buf)
					_ = nc.Close()
					if strings.Contains(string(buf[:n]), "PONG") {
						t.Errorf("%s answers PING in plain RESP", addr)
					}
				}
			})

			t.Run("FixedServerName", func(t *testing.T) {
				// tls_server_name applies to sentinels and data nodes alike:
				// every certificate carries "localhost".
				s := openStore(t, dsn(backend.Config{Prefix: prefix(t)}, "tls_ca", ca, "tls_cert", cert, "tls_key", key, "tls_server_name", "localhost"))
				if err := s.Ping(testCtx(t, 30*time.Second)); err != nil {
					t.Errorf("Ping with tls_server_name=localhost: %v", err)
				}
			})

			for _, c := range []struct {
				name, says string
				kv         []string
			}{
				{"UnknownCA", "unknown authority", []string{"tls_ca", otherCA, "tls_cert", cert, "tls_key", key}},
				{"SystemRoots", "unknown authority", []string{"tls_cert", cert, "tls_key", key}},
				{"WrongServerName", "db.elsewhere.example", []string{"tls_ca", ca, "tls_cert", cert, "tls_key", key, "tls_server_name", "db.elsewhere.example"}},
			} {
				t.Run(c.name, func(t *testing.T) {
					cfg := backend.Config{Prefix: prefix(t), Timeout: 5 * time.Second}
					d := dsn(cfg, c.kv...)
					ctx := testCtx(t, 30*time.Second)
					s, err := registry.Open(ctx, d)
					if err == nil {
						// Opening should have failed; a store that opened
						// anyway must refuse every write.
						err = s.Store(ctx, newAlert(t, "untrusted"))
						s.Close()
					}
					switch {
					case !errors.Is(err, backend.ErrSecurity):
						t.Errorf("open %s = %v, want ErrSecurity", registry.RedactDSN(d), err)
					case errors.Is(err, backend.ErrUnavailable):
						t.Errorf("%v also wraps ErrUnavailable", err)
					case !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), "sentinel"):
						t.Errorf("%v does not say %q and name the sentinels", err, c.says)
					}
					if n := llen(t, cfg.Prefix); n != 0 {
						t.Errorf("LLEN = %d after refused TLS, want 0", n)
					}
				})
			}
		})
	}
}
