package goredis

import (
	"bufio"
	"context"
	"io"
	"net"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backends/internal/sentinel"
	"github.com/apt-detection/alertstore/registry"
)

const sentinelSecret = "s3nt1nel-Pa55"

// sentinelConfig parses a redis+sentinel DSN as the opener does.
func sentinelConfig(t *testing.T, dsn string) sentinel.Config {
	t.Helper()
	d, err := registry.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	common, err := d.Common()
	if err != nil {
		t.Fatal(err)
	}
	c, err := sentinel.ParseDSN(d, common)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCredentialMapping checks go-redis' half of the credential table of
// docs/dsn.md: the sentinel credentials go to Sentinel*, the user info to
// the data nodes, and the settings the guarantees rest on are set.
func TestCredentialMapping(t *testing.T) {
	c := sentinelConfig(t, SchemeSentinel+"://alice:"+secret+"@s1:26379/mymaster/2?addr=[::1]:26380&sentinel_username=sam&sentinel_password="+sentinelSecret+"&timeout=3s&read_timeout=1s&pool_size=7")
	g := failoverOptions(c, &connTracker{})
	for _, f := range []struct {
		field     string
		got, want any
	}{
		{"MasterName", g.MasterName, "mymaster"},
		{"SentinelAddrs", g.SentinelAddrs, []string{"s1:26379", "[::1]:26380"}},
		{"SentinelUsername", g.SentinelUsername, "sam"},
		{"SentinelPassword", g.SentinelPassword == sentinelSecret, true},
		{"Username", g.Username, "alice"},
		{"Password", g.Password == secret, true},
		{"DB", g.DB, 2},
		{"ReadTimeout", g.ReadTimeout, time.Second},
		{"WriteTimeout", g.WriteTimeout, 3 * time.Second},
		{"PoolSize", g.PoolSize, 7},
		{"PoolTimeout", g.PoolTimeout, 3 * time.Second},
		{"MaxRetries", g.MaxRetries, -1},
		{"ContextTimeoutEnabled", g.ContextTimeoutEnabled, true},
		{"DialerRetries", g.DialerRetries, 1},
		{"ClientName", g.ClientName, ClientName},
		{"Dialer set", g.Dialer != nil, true},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("%s = %v, want %v", f.field, f.got, f.want)
		}
	}
}

// pongServer answers every line it reads with +PONG.
func pongServer(t *testing.T) string {
	t.Helper()
	return loopbackServer(t, func(c net.Conn) {
		defer func() { _ = c.Close() }()
		r := bufio.NewReader(c)
		for {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			if _, err := io.WriteString(c, "+PONG\r\n"); err != nil {
				return
			}
		}
	})
}

// TestTrackerClosesOtherDataNodes: the tracker closes exactly the
// connections to data nodes other than the master, and keeps the ones to
// the master and to sentinels (which are no data nodes).
func TestTrackerClosesOtherDataNodes(t *testing.T) {
	master, replica, sent := pongServer(t), pongServer(t), pongServer(t)
	tr := &connTracker{dialTimeout: time.Second, conns: map[*trackedConn]struct{}{}}
	ctx := context.Background()
	conns := map[string]net.Conn{}
	for _, addr := range []string{master, replica, sent} {
		c, err := tr.dial(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		conns[addr] = c
	}
	if n := tr.closeExcept(master, map[string]bool{master: true, replica: true}); n != 1 {
		t.Fatalf("closed %d connections, want 1", n)
	}
	if got := tr.addrs(); got[replica] != 0 || got[master] != 1 || got[sent] != 1 {
		t.Errorf("open connections after closeExcept: %v", got)
	}
	ping := func(c net.Conn) error {
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := io.WriteString(c, "*1\r\n$4\r\nPING\r\n"); err != nil {
			return err
		}
		_, err := bufio.NewReader(c).ReadString('\n')
		return err
	}
	if err := ping(conns[replica]); err == nil {
		t.Error("the connection to the replica still works")
	}
	for _, a := range []string{master, sent} {
		if err := ping(conns[a]); err != nil {
			t.Errorf("connection to %s: %v", a, err)
		}
	}
	// A plain TCP connection exposes its socket to go-redis' health check.
	if _, ok := conns[master].(interface {
		SyscallConn() (syscall.RawConn, error)
	}); !ok {
		t.Error("a tracked TCP connection hides its socket from the pool's health check")
	}
}
