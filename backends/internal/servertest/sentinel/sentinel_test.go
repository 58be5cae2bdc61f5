package sentinel_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
)

// TestConformance runs the shared suite on each scheme against a
// topology of three data nodes and three sentinels.
func TestConformance(t *testing.T) {
	for _, tg := range selected(t, targets) {
		t.Run(tg.String(), func(t *testing.T) {
			t.Parallel()
			tp := sharedTopo(t, tg.server)
			conformance.RunConformanceTests(t, func(ctx context.Context, t testing.TB) (conformance.Harness, error) {
				return &harness{scheme: tg.scheme, tp: tp}, nil
			})
		})
	}
}

// TestCredentialsGoWhereDocumented runs the credential table of the
// package doc against a topology whose data nodes and sentinels have
// different passwords: the documented DSN works, and each way of putting
// a credential in the wrong place fails at Open with an error that says
// which credentials were refused, not with ErrUnavailable, and without the
// password.
func TestCredentialsGoWhereDocumented(t *testing.T) {
	passFile := filepath.Join(t.TempDir(), "sentinel-pass")
	if err := os.WriteFile(passFile, []byte(sentinelPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tg := range selected(t, targets) {
		t.Run(tg.String(), func(t *testing.T) {
			t.Parallel()
			tp := sharedTopo(t, tg.server)
			cfg := backend.Config{Prefix: prefix(t)}
			good := tp.dsn(tg.scheme, cfg, "")
			sentinels := tp.SentinelAddrs()
			rest := "/" + tp.MasterName() + "/0?addr=" + sentinels[1] + "&addr=" + sentinels[2] + "&prefix=" + url.QueryEscape(cfg.Prefix)
			// The data-node ACL user docs/dsn.md documents: that of
			// docs/dsn.md plus ROLE. ACL commands are not replicated:
			// every data node gets it.
			aclUser := strings.NewReplacer(":", "-", "_", "-").Replace(strings.TrimSuffix(cfg.Prefix, ":"))
			for _, n := range tp.Nodes() {
				if _, err := n.Do(testCtx(t, 10*time.Second), "ACL", "SETUSER", aclUser, "on", ">acl-secret", "~"+cfg.Prefix+"*", "&"+cfg.Prefix+"*",
					"+@list", "+@string", "+@pubsub", "+@scripting", "+@transaction", "+@connection", "+del", "+role"); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct {
				name, dsn string
				refused   string // "" if it must work
			}{
				{"documented", good, ""},
				{"documented data-node ACL user, min_replicas",
					tg.scheme + "://" + aclUser + ":acl-secret@" + sentinels[0] + rest + "&sentinel_username=" + sentinelUser + "&sentinel_password=" + sentinelPassword + "&min_replicas=1", ""},
				{"sentinel password from a file",
					tg.scheme + "://:" + url.PathEscape(dataPassword) + "@" + sentinels[0] + rest + "&sentinel_username=" + sentinelUser + "&sentinel_password_file=" + url.QueryEscape(passFile), ""},
				{"go-redis URL habit: sentinel credentials in the user info",
					tg.scheme + "://" + sentinelUser + ":" + sentinelPassword + "@" + sentinels[0] + rest, "data-node credentials"},
				{"data password given as the sentinel password only",
					tg.scheme + "://" + sentinels[0] + rest + "&sentinel_password=" + url.QueryEscape(dataPassword), "sentinel credentials"},
				{"no data password",
					tg.scheme + "://" + sentinels[0] + rest + "&sentinel_username=" + sentinelUser + "&sentinel_password=" + sentinelPassword, "data-node credentials"},
				{"wrong sentinel password",
					tg.scheme + "://:" + url.PathEscape(dataPassword) + "@" + sentinels[0] + rest + "&sentinel_username=" + sentinelUser + "&sentinel_password=wrong", "sentinel credentials"},
			} {
				t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
					ctx := testCtx(t, 30*time.Second)
					s, err := registry.Open(ctx, c.dsn)
					if c.refused == "" {
						if err != nil {
							t.Fatalf("open: %v", err)
						}
						defer s.Close()
						w, err := s.Watch(ctx)
						if err != nil {
							t.Fatalf("watch: %v", err)
						}
						defer w.Close()
						a := newAlert(t, "creds")
						if err := s.Store(ctx, a); err != nil {
							t.Fatalf("store: %v", err)
						}
						if got, err := w.Next(ctx); err != nil || got.ID() != a.ID() {
							t.Fatalf("watch delivered %v, %v", got, err)
						}
						if p, err := s.List(ctx, backend.Query{}); err != nil || len(p.Alerts) == 0 {
							t.Fatalf("list: %v, %v", p, err)
						}
						return
					}
					if err == nil {
						s.Close()
						t.Fatalf("open of %s succeeded", registry.RedactDSN(c.dsn))
					}
					if errors.Is(err, backend.ErrUnavailable) || !errors.Is(err, backend.ErrSecurity) || !strings.Contains(err.Error(), c.refused) {
						t.Errorf("open = %v; want ErrSecurity about the %s, not ErrUnavailable", err, c.refused)
					}
					for _, pw := range []string{dataPassword, sentinelPassword} {
						if strings.Contains(err.Error(), pw) {
							t.Errorf("the error shows a password: %v", err)
						}
					}
				})
			}
		})
	}
}

// TestIPv6Sentinels reaches the sentinels at IPv6 addresses (forwarders
// on [::1] in front of them: the containers listen on 127.0.0.1), given
// as the host and as addr= parameters.
func TestIPv6Sentinels(t *testing.T) {
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		ln.Close()
	}
	for _, tg := range selected(t, faultTargets) {
		t.Run(tg.String(), func(t *testing.T) {
			t.Parallel()
			tp := sharedTopo(t, tg.server)
			var v6 []string
			for _, a := range tp.SentinelAddrs() {
				v6 = append(v6, forward(t, a))
			}
			p := prefix(t)
			dsn := tg.scheme + "://:" + url.PathEscape(dataPassword) + "@" + v6[0] + "/" + tp.MasterName() + "/0?addr=" + v6[1] + "&addr=" + v6[2] +
				"&sentinel_username=" + sentinelUser + "&sentinel_password=" + sentinelPassword + "&prefix=" + url.QueryEscape(p)
			s := openStore(t, dsn)
			ctx := testCtx(t, 30*time.Second)
			a := newAlert(t, "over-ipv6")
			if err := s.Store(ctx, a); err != nil {
				t.Fatal(err)
			}
			page, err := s.List(ctx, backend.Query{})
			if err != nil || len(page.Alerts) != 1 || page.Alerts[0].ID() != a.ID() {
				t.Fatalf("List = %v, %v", page, err)
			}
		})
	}
}

// forward listens on [::1] and forwards every connection to target until
// t ends; it returns the listening address.
func forward(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			open = append(open, c, u)
			mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	})
	return ln.Addr().String()
}
