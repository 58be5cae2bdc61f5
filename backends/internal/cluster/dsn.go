// Package cluster is the library-neutral part of the Redis Cluster and
// Valkey Cluster schemes (redis+cluster:// on go-redis, valkey+cluster://
// on valkey-go): the DSN, parsed once for both client libraries, so that
// both spell every parameter the same way and reject the same mistakes.
// The layout in a cluster (hash tags, sharded pub/sub) is
// backends/internal/redislist's ClusterKeys.
package cluster

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
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
	first, err := hostPort(u.Host)
	if err != nil {
		return c, dsn.Errorf("seed address %q: %v", u.Host, err)
	}
	c.Seeds = []string{first}
	addrs := dsn.Params(paramAddr)
	if len(addrs)+1 > MaxSeeds {
		return c, dsn.Errorf("%d seed addresses; at most %d", len(addrs)+1, MaxSeeds)
	}
	for i, a := range addrs {
		hp, err := hostPort(a)
		if err != nil {
			if !addrChars.MatchString(a) {
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

	if c.Data, err = parseData(dsn); err != nil {
		return c, err
	}
	return c, nil
}

// parseData runs redisconf.Parse on a DSN made of dsn's scheme, user info
// and first seed and every parameter but ours. The shared parameters are
// consumed on it by Common, exactly as the registry did on dsn, so what
// redisconf rejects as unknown is unknown to both. On success every
// parameter of dsn has been read by someone, and is marked consumed on dsn
// too.
func parseData(dsn *registry.DSN) (redisconf.Config, error) {
	u := dsn.URL()
	inner := &url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, RawQuery: u.RawQuery}
	d, err := registry.ParseDSN(inner.String())
	if err != nil {
		return redisconf.Config{}, err
	}
	d.SetLoggerOf(dsn)
	for _, p := range ownParams {
		d.Params(p)
	}
	if _, err := d.Common(); err != nil {
		return redisconf.Config{}, err
	}
	defer func() {
		for _, w := range d.Warnings() {
			dsn.Warn("%s", w)
		}
	}()
	rc, err := redisconf.Parse(d, redisconf.TCP)
	if err != nil {
		return rc, renameDSN(err, d, dsn)
	}
	for name := range u.Query() {
		dsn.Params(name)
	}
	// The TLS server name defaults to each node's own host, not the first
	// seed's: crypto/tls fills in the dialled host when it is empty.
	if rc.TLS != nil && !dsn.Has("tls_server_name") {
		rc.TLS.ServerName = ""
	}
	return rc, nil
}

// renameDSN makes an error about the inner DSN of parseData name the
// user's DSN instead, which is the one they wrote.
func renameDSN(err error, inner, outer *registry.DSN) error {
	msg := err.Error()
	marker := "DSN " + inner.String() + ": "
	if i := strings.Index(msg, marker); i >= 0 {
		return outer.Errorf("%s", msg[i+len(marker):])
	}
	return err
}

// addrChars are the shapes of host:port, [ipv6]:port and
// [fe80::1%zone]:port: an addr= value of any other shape is not printed.
var addrChars = regexp.MustCompile(`^(\[[0-9A-Za-z:.%_-]*\]?|[A-Za-z0-9._:-]*)(:[0-9A-Za-z]*)?$`)

// hostName is what a host outside brackets may be: a DNS name or an IPv4
// address.
var hostName = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9._-]*[A-Za-z0-9_])?$`)

// hostPort checks a seed address, host[:port] or [ipv6][:port], and
// returns it as host:port with the default port filled in.
func hostPort(s string) (string, error) {
	var host, port string
	switch {
	case s == "":
		return "", fmt.Errorf("empty address")
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return "", fmt.Errorf("missing ']' after the IPv6 address")
		}
		host = s[1:end]
		switch rest := s[end+1:]; {
		case rest == "":
		case strings.HasPrefix(rest, ":") && len(rest) > 1:
			port = rest[1:]
		case rest == ":":
			return "", fmt.Errorf("empty port")
		default:
			return "", fmt.Errorf("unexpected %q after the IPv6 address", rest)
		}
		ip, zone, hasZone := strings.Cut(host, "%")
		if net.ParseIP(ip) == nil || !strings.Contains(ip, ":") || hasZone && zone == "" {
			return "", fmt.Errorf("%q is not an IPv6 address", host)
		}
	case strings.Count(s, ":") > 1:
		return "", fmt.Errorf("an IPv6 address goes in brackets: [%s]:%d", s, DefaultPort)
	default:
		var found bool
		host, port, found = strings.Cut(s, ":")
		if found && port == "" {
			return "", fmt.Errorf("empty port")
		}
		if host == "" {
			return "", fmt.Errorf("no host")
		}
		if !hostName.MatchString(host) {
			return "", fmt.Errorf("%q is not a host name or IPv4 address", host)
		}
	}
	p := DefaultPort
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("port %q is not in 1..65535", port)
		}
		p = n
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}
