package goredis

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/apt-detection/alertstore/backends/internal/cluster"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
)

// clusterOpts parses dsn as openCluster does and returns go-redis' options.
func clusterOpts(t *testing.T, dsn string) *redis.ClusterOptions {
	t.Helper()
	d, err := registry.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := d.Common()
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cluster.ParseDSN(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return clusterOptions(cc, cfg)
}

func TestClusterOptions(t *testing.T) {
	got := clusterOpts(t, "redis+cluster://alice:"+secret+"@[::1]:7000?addr=10.0.0.2:7001&timeout=2s&dial_timeout=300ms&pool_size=3&tls=true")
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"Addrs", fmt.Sprint(got.Addrs), "[[::1]:7000 10.0.0.2:7001]"},
		{"Username", got.Username, "alice"},
		{"Password", got.Password == secret, true},
		{"DialTimeout", got.DialTimeout, 300 * time.Millisecond},
		{"ReadTimeout", got.ReadTimeout, 2 * time.Second},
		{"WriteTimeout", got.WriteTimeout, 2 * time.Second},
		{"PoolSize", got.PoolSize, 3},
		{"PoolTimeout", got.PoolTimeout, 2 * time.Second},
		{"TLSConfig set", got.TLSConfig != nil, true},
		// The guarantees, whatever the DSN.
		{"MaxRetries", got.MaxRetries, -1},
		{"DialerRetries", got.DialerRetries, 1},
		{"ReadOnly", got.ReadOnly, false},
		{"RouteByLatency", got.RouteByLatency, false},
		{"RouteRandomly", got.RouteRandomly, false},
		{"ContextTimeoutEnabled", got.ContextTimeoutEnabled, true},
		{"ClientName", got.ClientName, ClientName},
		{"MaintNotifications", got.MaintNotificationsConfig.Mode, maintnotifications.ModeDisabled},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
}

func TestRedirectOf(t *testing.T) {
	for _, tt := range []struct {
		err        error
		kind, addr string
	}{
		{redisError("MOVED 3999 127.0.0.1:6381"), "MOVED", "127.0.0.1:6381"},
		{redisError("ASK 3999 [::1]:6381"), "ASK", "[::1]:6381"},
		{fmt.Errorf("wrapped: %w", redisError("MOVED 1 h:1")), "MOVED", "h:1"},
		{redisError("TRYAGAIN Multiple keys request during rehashing of slot"), "", ""},
		{redisError("CLUSTERDOWN The cluster is down"), "", ""},
		{fmt.Errorf("MOVED 1 h:1"), "", ""}, // not a server reply
		{nil, "", ""},
	} {
		kind, addr, ok := redirectOf(tt.err)
		if kind != tt.kind || addr != tt.addr || ok != (tt.kind != "") {
			t.Errorf("redirectOf(%v) = %q, %q, %v; want %q, %q", tt.err, kind, addr, ok, tt.kind, tt.addr)
		}
	}
}

// TestClusterDSNChecks: a bad cluster DSN is refused before anything is
// dialled, and no message shows the password.
func TestClusterDSNChecks(t *testing.T) {
	conformance.RunDSNChecks(t, conformance.DSNCase{
		DSN: "redis+cluster://alice:" + conformance.DSNSecret + "@{addr}?dial_timeout=500ms",
		Rejects: []conformance.DSNReject{
			{Name: "client-library-option", DSN: "redis+cluster://:" + conformance.DSNSecret + "@{addr}?max_redirects=3", Says: `unknown parameter "max_redirects"`},
			{Name: "database-path", DSN: "redis+cluster://:" + conformance.DSNSecret + "@{addr}/2", Says: "only database 0"},
			{Name: "hash-tag-prefix", DSN: "redis+cluster://{addr}?password=" + conformance.DSNSecret + "&prefix=%7Bsite%7D:", Says: "hash tag"},
		},
	})
}
