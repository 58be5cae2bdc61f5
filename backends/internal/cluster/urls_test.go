package cluster

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

const secret = "s3cr3t-Pa55"

// parse runs what the openers run before any I/O: the shared parameters,
// then ours, then the registry's check that nothing was left over.
func parse(t *testing.T, s string) (Config, error) {
	t.Helper()
	d, err := registry.ParseDSN(s)
	if err != nil {
		return Config{}, err
	}
	common, err := d.Common()
	if err != nil {
		return Config{}, err
	}
	c, err := ParseDSN(d, common)
	if err != nil {
		return c, err
	}
	return c, d.Unknown()
}

func TestParseDSN(t *testing.T) {
	for _, tt := range []struct {
		name, dsn string
		seeds     []string
		user      string
		password  bool
		minRep    int
		repWait   time.Duration
		tls       bool
		dial      time.Duration
		pool      int
	}{
		{"one seed, default port", "redis+cluster://node1", []string{"node1:6379"}, "", false, 0, 0, false, 5 * time.Second, 0},
		{"seeds in order", "valkey+cluster://node1:7000?addr=node2:7001&addr=10.0.0.3", []string{"node1:7000", "node2:7001", "10.0.0.3:6379"}, "", false, 0, 0, false, 5 * time.Second, 0},
		{"ipv6 seeds", "redis+cluster://[::1]:7000?addr=[fe80::1%25eth0]:7001&addr=[2001:db8::2]", []string{"[::1]:7000", "[fe80::1%eth0]:7001", "[2001:db8::2]:6379"}, "", false, 0, 0, false, 5 * time.Second, 0},
		{"database 0 path", "redis+cluster://node1:7000/0", []string{"node1:7000"}, "", false, 0, 0, false, 5 * time.Second, 0},
		{"credentials and timeouts", "redis+cluster://alice:" + secret + "@node1:7000?addr=node2:7001&dial_timeout=300ms&pool_size=4", []string{"node1:7000", "node2:7001"}, "alice", true, 0, 0, false, 300 * time.Millisecond, 4},
		{"password parameter", "valkey+cluster://node1?password=" + secret, []string{"node1:6379"}, "", true, 0, 0, false, 5 * time.Second, 0},
		{"min_replicas default wait", "redis+cluster://node1?min_replicas=1", []string{"node1:6379"}, "", false, 1, time.Second, false, 5 * time.Second, 0},
		{"min_replicas wait capped by timeout", "redis+cluster://node1?min_replicas=2&timeout=1s", []string{"node1:6379"}, "", false, 2, 500 * time.Millisecond, false, 5 * time.Second, 0},
		{"replica_timeout", "redis+cluster://node1?min_replicas=1&replica_timeout=250ms", []string{"node1:6379"}, "", false, 1, 250 * time.Millisecond, false, 5 * time.Second, 0},
		{"tls", "redis+cluster://node1?tls=true", []string{"node1:6379"}, "", false, 0, 0, true, 5 * time.Second, 0},
		{"shared parameters", "redis+cluster://node1?prefix=site1:&max_alerts=5000&timeout=2s", []string{"node1:6379"}, "", false, 0, 0, false, 5 * time.Second, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(t, tt.dsn)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				field     string
				got, want any
			}{
				{"Seeds", fmt.Sprint(c.Seeds), fmt.Sprint(tt.seeds)},
				{"Data.Addr", c.Data.Addr, tt.seeds[0]},
				{"Data.DB", c.Data.DB, 0},
				{"Data.Username", c.Data.Username, tt.user},
				{"Data.Password set", c.Data.Password == secret, tt.password},
				{"MinReplicas", c.MinReplicas, tt.minRep},
				{"ReplicaTimeout", c.ReplicaTimeout, tt.repWait},
				{"TLS set", c.Data.TLS != nil, tt.tls},
				{"DialTimeout", c.Data.DialTimeout, tt.dial},
				{"PoolSize", c.Data.PoolSize, tt.pool},
			} {
				if f.got != f.want {
					t.Errorf("%s = %v, want %v", f.field, f.got, f.want)
				}
			}
			if c.Data.TLS != nil && c.Data.TLS.ServerName != "" {
				t.Errorf("TLS ServerName = %q: each node's own host must be checked", c.Data.TLS.ServerName)
			}
			for _, s := range []string{c.String(), c.GoString(), fmt.Sprintf("%v %+v %#v", c, c, c)} {
				if strings.Contains(s, secret) {
					t.Errorf("the configuration prints the password: %s", s)
				}
			}
		})
	}
}

func TestParseDSNRejects(t *testing.T) {
	for _, tt := range []struct{ name, dsn, want string }{
		{"no host", "redis+cluster:///0", "no seed address"},
		{"a database path", "redis+cluster://node1/3", "only database 0"},
		{"db parameter", "redis+cluster://node1?db=0", "only database 0"},
		{"bad port", "redis+cluster://alice:" + secret + "@node1:0", "not in 1..65535"},
		{"unbracketed ipv6 addr", "redis+cluster://node1?addr=::1:7000", "IPv6 address goes in brackets"},
		{"bad bracketed addr", "redis+cluster://node1?addr=[::1", "missing ']'"},
		{"ipv4 in brackets", "redis+cluster://node1?addr=[10.0.0.1]:1", "is not an IPv6 address"},
		{"empty addr", "redis+cluster://node1?addr=", "empty address"},
		{"empty addr port", "redis+cluster://node1?addr=node2:", "empty port"},
		{"duplicate seed", "redis+cluster://node1:6379?addr=node1", "given twice"},
		{"a dsn in addr", "redis+cluster://node1?addr=redis://:" + secret + "@node2:7000", "value not shown"},
		{"a password in addr", "redis+cluster://node1?addr=" + url.QueryEscape("p/"+secret+"?x"), "value not shown"},
		{"replica_timeout alone", "redis+cluster://node1?replica_timeout=1s", "replica_timeout without min_replicas"},
		{"replica_timeout not below timeout", "redis+cluster://node1?min_replicas=1&replica_timeout=5s", "must be below timeout"},
		{"min_replicas too big", "redis+cluster://node1?min_replicas=101", "out of range"},
		{"a client library option", "redis+cluster://:" + secret + "@node1?max_redirects=3", `unknown parameter "max_redirects"`},
		{"read from replicas is not offered", "valkey+cluster://node1?read_only=true", `unknown parameter "read_only"`},
		{"a typo", "valkey+cluster://node1?min_replica=1", `unknown parameter "min_replica"`},
		{"shards zero", "redis+cluster://node1?shards=0", "out of range"},
		{"shards over 16", "redis+cluster://node1?shards=17", "out of range"},
		{"shards with min_replicas", "redis+cluster://node1?shards=2&min_replicas=1", "cannot wait for replicas"},
		{"tls option without tls", "redis+cluster://node1?tls_ca=/x", "TLS is off"},
		{"password twice", "redis+cluster://alice:" + secret + "@node1?password=" + secret, "password given twice"},
		{"user without password", "redis+cluster://alice@node1", "user name without a password"},
		{"hash tag in prefix", "redis+cluster://node1?prefix=" + url.QueryEscape("{site}:"), "hash tag"},
		{"bad prefix", "redis+cluster://node1?prefix=a*b", "prefix"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.dsn)
			if err == nil {
				t.Fatalf("%s accepted", registry.RedactDSN(tt.dsn))
			}
			if !errors.Is(err, backend.ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// TestEveryParameterConsumed: after ParseDSN, the registry finds nothing
// left over, whichever layer read each parameter.
func TestShards(t *testing.T) {
	for _, tt := range []struct {
		dsn  string
		want int
	}{
		{"redis+cluster://node1", 1},
		{"redis+cluster://node1?shards=1", 1},
		{"valkey+cluster://node1?shards=4", 4},
		{"redis+cluster://node1?shards=16&addr=node2", 16},
	} {
		c, err := parse(t, tt.dsn)
		if err != nil || c.Shards != tt.want {
			t.Errorf("%s: Shards = %d, %v; want %d", tt.dsn, c.Shards, err, tt.want)
		}
	}
}

func TestEveryParameterConsumed(t *testing.T) {
	dsn := "redis+cluster://node1?addr=node2&shards=1&min_replicas=1&replica_timeout=100ms&read_timeout=1s&write_timeout=1s&dial_timeout=1s&pool_size=2&username=u&password=" + secret + "&prefix=p:&max_alerts=10&timeout=3s"
	c, err := parse(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Seeds, []string{"node1:6379", "node2:6379"}) {
		t.Errorf("Seeds = %v", c.Seeds)
	}
}
