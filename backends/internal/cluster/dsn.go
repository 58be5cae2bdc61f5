// Package cluster is the library-neutral part of the Redis Cluster and
// Valkey Cluster schemes (redis+cluster:// on go-redis, valkey+cluster://
// on valkey-go): the DSN, parsed once for both client libraries, so that
// both spell every parameter the same way and reject the same mistakes.
// The layout in a cluster (hash tags, sharded pub/sub) is
// backends/internal/redislist's ClusterKeys.
package cluster

import (
	"fmt"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redisconf"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/registry"
)

// Defaults and bounds of the cluster parameters.
const (
	// DefaultPort is the port of a seed that names none.
	DefaultPort = 6379
	// DefaultReplicaTimeout is how long an append waits for min_replicas
	// acknowledgements when replica_timeout is not given (capped at half
	// the timeout parameter).
	DefaultReplicaTimeout = time.Second
	// MaxMinReplicas bounds min_replicas.
	MaxMinReplicas = 100
	// MaxSeeds bounds the seed addresses: a cluster client needs one that
	// answers; a thousand is a mistake.
	MaxSeeds = 1000

	maxDuration = 10 * time.Minute
)

// Parameters this package reads itself; every other one but the shared
// parameters goes to redisconf, the parser of the single-server schemes.
const (
	paramAddr           = "addr"
	paramMinReplicas    = "min_replicas"
	paramReplicaTimeout = "replica_timeout"
	paramShards         = "shards"
)

var ownParams = []string{paramAddr, paramMinReplicas, paramReplicaTimeout, paramShards}

// Config is a parsed cluster DSN.
type Config struct {
	// Seeds are the addresses the client learns the cluster from,
	// host:port (IPv6 bracketed): the DSN's host first, then the addr=
	// parameters in order. One that answers is enough; the cluster tells
	// the client about every other node.
	Seeds []string
	// Data is how to reach every node: credentials, timeouts, pool and
	// TLS, as the single-server schemes parse them. Its Addr is the first
	// seed's; DB is always 0 (a cluster has no other database).
	Data redisconf.Config
	// MinReplicas > 0 makes every append wait (WAIT, on the connection
	// that ran it) until that many replicas of the slot's master have it,
	// and fail otherwise.
	MinReplicas int
	// ReplicaTimeout is WAIT's timeout.
	ReplicaTimeout time.Duration
	// Shards is how many lists the namespace spreads over (1: the
	// unsharded layout; see redislist's sharded layout).
	Shards int
}

// String describes the configuration without secrets.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cluster seeds %s", strings.Join(c.Seeds, ","))
	if c.MinReplicas > 0 {
		fmt.Fprintf(&b, " min_replicas=%d replica_timeout=%s", c.MinReplicas, c.ReplicaTimeout)
	}
	if c.Shards > 1 {
		fmt.Fprintf(&b, " shards=%d", c.Shards)
	}
	if c.Data.Username != "" {
		fmt.Fprintf(&b, " username=%s", c.Data.Username)
	}
	if c.Data.Password != "" {
		b.WriteString(" password=xxxxx")
	}
	if c.Data.TLS != nil {
		b.WriteString(" tls=true")
	}
	return b.String()
}

// GoString keeps %#v from printing the password.
func (c Config) GoString() string { return "cluster.Config{" + c.String() + "}" }

// ParseDSN reads a cluster DSN whose shared parameters (prefix,
// max_alerts, ...) the registry has already consumed into common. It
// consumes every other parameter of dsn and fails, naming it, on one it
// does not know, before any I/O. Errors wrap backend.ErrInvalidConfig and
// never contain a secret.
//
//	redis+cluster://[user[:password]@]host[:port][/0][?addr=host:port&...&params]
func ParseDSN(dsn *registry.DSN, common backend.Config) (Config, error) {
	var c Config
	timeout := common.Timeout
	if timeout <= 0 {
		timeout = backend.DefaultTimeout
	}
	if common.Prefix != "" {
		if err := redislist.CheckClusterPrefix(common.Prefix); err != nil {
			return c, dsn.Errorf("%v", err)
		}
	}
	u := dsn.URL()
	if u.Host == "" {
		return c, dsn.Errorf("no seed address: write %s://node1:%d?addr=node2:%d, naming one or more nodes of the cluster", dsn.Scheme(), DefaultPort, DefaultPort)
	}
	first, err := redisconf.HostPort(u.Host, DefaultPort)
	if err != nil {
		return c, dsn.Errorf("seed address %q: %v", u.Host, err)
	}
	c.Seeds = []string{first}
	addrs := dsn.Params(paramAddr)
	if len(addrs)+1 > MaxSeeds {
		return c, dsn.Errorf("%d seed addresses; at most %d", len(addrs)+1, MaxSeeds)
	}
	for i, a := range addrs {
		hp, err := redisconf.HostPort(a, DefaultPort)
		if err != nil {
			if !redisconf.PrintableAddr(a) {
				// Not an address: credentials put in the wrong place,
				// say. Its value is not shown.
				dsn.Hide(paramAddr)
				return c, dsn.Errorf("addr= number %d is not host:port (value not shown: it holds characters no address has)", i+1)
			}
			return c, dsn.Errorf("addr=%q: %v", a, err)
		}
		for _, have := range c.Seeds {
			if have == hp {
				return c, dsn.Errorf("seed %s given twice", hp)
			}
		}
		c.Seeds = append(c.Seeds, hp)
	}
	switch p := strings.TrimPrefix(u.Path, "/"); p {
	case "", "0":
	default:
		return c, dsn.Errorf("path %q: a cluster has only database 0 (write no path, or /0)", u.Path)
	}
	if dsn.Has("db") {
		return c, dsn.Errorf("db= given: a cluster has only database 0")
	}

	if c.MinReplicas, err = dsn.Int(paramMinReplicas, 0, 0, MaxMinReplicas); err != nil {
		return c, err
	}
	if dsn.Has(paramReplicaTimeout) && c.MinReplicas == 0 {
		return c, dsn.Errorf("replica_timeout without min_replicas (it is how long an append waits for them)")
	}
	if c.ReplicaTimeout, err = dsn.Duration(paramReplicaTimeout, min(DefaultReplicaTimeout, timeout/2), time.Millisecond, maxDuration); err != nil {
		return c, err
	}
	if c.MinReplicas > 0 && c.ReplicaTimeout >= timeout {
		return c, dsn.Errorf("replica_timeout=%s must be below timeout=%s, which bounds the whole append", c.ReplicaTimeout, timeout)
	}
	if c.MinReplicas == 0 {
		c.ReplicaTimeout = 0
	}
	if c.Shards, err = dsn.Int(paramShards, 1, 1, redislist.MaxShards); err != nil {
		return c, err
	}
	if c.Shards > 1 && c.MinReplicas > 0 {
		return c, dsn.Errorf("min_replicas with shards=%d: a sharded namespace cannot wait for replicas (WAIT covers the writes of one connection, one shard)", c.Shards)
	}

	if c.Data, err = redisconf.ParseNodes(dsn, "", ownParams); err != nil {
		return c, err
	}
	return c, nil
}
