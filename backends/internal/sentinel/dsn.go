package sentinel

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redisconf"
	"github.com/apt-detection/alertstore/registry"
)

// Defaults and bounds of the Sentinel parameters.
const (
	// DefaultSentinelPort is the port of a sentinel address that names
	// none (Sentinel's own default).
	DefaultSentinelPort = 26379
	// DefaultReplicaTimeout is how long an append waits for min_replicas
	// acknowledgements when replica_timeout is not given (capped at half the
	// timeout parameter).
	DefaultReplicaTimeout = time.Second
	// DefaultCheckInterval is how often the master is re-resolved from the
	// sentinels and confirmed with ROLE when nothing went wrong.
	DefaultCheckInterval = 5 * time.Second
	// MaxMinReplicas bounds min_replicas: a bigger number is a typo, not a
	// replication setup.
	MaxMinReplicas = 100

	minCheckInterval = 100 * time.Millisecond
	maxDuration      = 10 * time.Minute
)

// Parameters this package reads itself; everything else but the shared
// parameters goes to redisconf, the parser of the goredis and valkeygo
// backends.
const (
	paramAddr             = "addr"
	paramSentinelUsername = "sentinel_username"
	paramSentinelPassword = "sentinel_password" // and sentinel_password_file
	paramMinReplicas      = "min_replicas"
	paramReplicaTimeout   = "replica_timeout"
	paramCheckInterval    = "check_interval"
)

var ownParams = []string{
	paramAddr, paramSentinelUsername, paramSentinelPassword, paramSentinelPassword + "_file",
	paramMinReplicas, paramReplicaTimeout, paramCheckInterval,
}

// Config is a parsed Sentinel DSN.
type Config struct {
	// MasterName is the name the sentinels monitor the master under.
	MasterName string
	// Sentinels are the sentinel addresses, host:port (IPv6 bracketed):
	// the DSN's host first, then the addr= parameters in order.
	Sentinels []string
	// SentinelUsername and SentinelPassword authenticate to the sentinels
	// (AUTH on every sentinel connection); empty: no AUTH.
	SentinelUsername string
	SentinelPassword string
	// Data is how to reach the data nodes (master and replicas): the user
	// info's credentials, db, timeouts, pool and TLS, as the goredis and
	// valkeygo backends parse them. Its Addr and Host are the first
	// sentinel's and unused: the sentinels say where the master is.
	Data redisconf.Config
	// MinReplicas > 0 makes every append wait (WAIT) until that many
	// replicas have it, and fail otherwise.
	MinReplicas int
	// ReplicaTimeout is WAIT's timeout.
	ReplicaTimeout time.Duration
	// CheckInterval is the period of the master check.
	CheckInterval time.Duration
	// Timeout is the store's timeout parameter: it bounds each sentinel
	// and ROLE probe as it bounds every call.
	Timeout time.Duration
}

// String describes the configuration without secrets.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "master %s via sentinels %s", c.MasterName, strings.Join(c.Sentinels, ","))
	if c.SentinelUsername != "" {
		fmt.Fprintf(&b, " sentinel_username=%s", c.SentinelUsername)
	}
	if c.SentinelPassword != "" {
		b.WriteString(" sentinel_password=xxxxx")
	}
	if c.MinReplicas > 0 {
		fmt.Fprintf(&b, " min_replicas=%d replica_timeout=%s", c.MinReplicas, c.ReplicaTimeout)
	}
	fmt.Fprintf(&b, " check_interval=%s; data nodes: db=%d", c.CheckInterval, c.Data.DB)
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

// GoString keeps %#v from printing the passwords.
func (c Config) GoString() string { return "sentinel.Config{" + c.String() + "}" }

// ParseDSN reads a Sentinel DSN whose shared parameters (prefix,
// max_alerts, ...) the registry has already consumed into common. It
// consumes every other parameter of dsn and fails, naming it, on one it
// does not know, before any I/O. Errors wrap backend.ErrInvalidConfig and
// never contain a secret.
//
//	redis+sentinel://[user[:password]@]host[:port]/master-name[/db][?params]
func ParseDSN(dsn *registry.DSN, common backend.Config) (Config, error) {
	c := Config{Timeout: common.Timeout}
	if c.Timeout <= 0 {
		c.Timeout = backend.DefaultTimeout
	}
	u := dsn.URL()

	// Where: the sentinels.
	if u.Host == "" {
		return c, dsn.Errorf("no sentinel address: write %s://sentinel1:%d/<master-name>", dsn.Scheme(), DefaultSentinelPort)
	}
	first, err := redisconf.HostPort(u.Host, DefaultSentinelPort)
	if err != nil {
		return c, dsn.Errorf("sentinel address %q: %v", u.Host, err)
	}
	c.Sentinels = []string{first}
	for i, a := range dsn.Params(paramAddr) {
		hp, err := redisconf.HostPort(a, DefaultSentinelPort)
		if err != nil {
			if !redisconf.PrintableAddr(a) {
				// Not an address: credentials or a DSN put in the
				// wrong place, say. Its value is not shown.
				dsn.Hide(paramAddr)
				return c, dsn.Errorf("addr= number %d is not host:port (value not shown: it holds characters no address has; sentinel credentials go in sentinel_password= or sentinel_password_file=)", i+1)
			}
			return c, dsn.Errorf("addr=%q: %v", a, err)
		}
		for _, have := range c.Sentinels {
			if have == hp {
				return c, dsn.Errorf("sentinel %s given twice", hp)
			}
		}
		c.Sentinels = append(c.Sentinels, hp)
	}

	// Which master, which database.
	name, db, err := masterPath(u)
	if err != nil {
		return c, dsn.Errorf("%v", err)
	}
	c.MasterName = name

	// The sentinels' own credentials.
	if c.SentinelUsername, err = dsn.Param(paramSentinelUsername, ""); err != nil {
		return c, err
	}
	pass, hasPass, err := dsn.Secret(paramSentinelPassword)
	if err != nil {
		return c, err
	}
	c.SentinelPassword = pass
	switch {
	case dsn.Has(paramSentinelUsername) && c.SentinelUsername == "":
		return c, dsn.Errorf("sentinel_username= is empty")
	case c.SentinelUsername != "" && !hasPass:
		return c, dsn.Errorf("sentinel_username without sentinel_password or sentinel_password_file (AUTH needs a password)")
	}

	// Durability and the check.
	if c.MinReplicas, err = dsn.Int(paramMinReplicas, 0, 0, MaxMinReplicas); err != nil {
		return c, err
	}
	if dsn.Has(paramReplicaTimeout) && c.MinReplicas == 0 {
		return c, dsn.Errorf("replica_timeout without min_replicas (it is how long an append waits for them)")
	}
	defWait := min(DefaultReplicaTimeout, c.Timeout/2)
	if c.ReplicaTimeout, err = dsn.Duration(paramReplicaTimeout, defWait, time.Millisecond, maxDuration); err != nil {
		return c, err
	}
	if c.MinReplicas > 0 && c.ReplicaTimeout >= c.Timeout {
		return c, dsn.Errorf("replica_timeout=%s must be below timeout=%s, which bounds the whole append", c.ReplicaTimeout, c.Timeout)
	}
	if c.MinReplicas == 0 {
		c.ReplicaTimeout = 0
	}
	if c.CheckInterval, err = dsn.Duration(paramCheckInterval, DefaultCheckInterval, minCheckInterval, maxDuration); err != nil {
		return c, err
	}

	// How to reach the data nodes: the goredis/valkeygo parser, on a DSN that
	// holds what is left of ours with the database as its path.
	c.Data, err = redisconf.ParseNodes(dsn, dbPath(db), ownParams)
	if err != nil {
		return c, err
	}
	return c, nil
}

// masterPath splits "/master-name[/db]". The name is percent-decoded, so
// a name with a '/' can be written %2F.
func masterPath(u *url.URL) (name, db string, err error) {
	p := strings.TrimPrefix(u.EscapedPath(), "/")
	parts := strings.Split(p, "/")
	if p == "" || parts[0] == "" {
		return "", "", fmt.Errorf("no master name: write %s://%s/<master-name>[/db], with the name the sentinels monitor", u.Scheme, u.Host)
	}
	if len(parts) > 2 {
		return "", "", fmt.Errorf("path %q: want /<master-name> or /<master-name>/<db>", u.Path)
	}
	if name, err = url.PathUnescape(parts[0]); err != nil {
		return "", "", fmt.Errorf("master name %q: %v", parts[0], err)
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f || r == '"' {
			return "", "", fmt.Errorf("master name %q: no spaces, quotes or control characters (Sentinel cannot monitor such a name)", name)
		}
	}
	if len(parts) == 2 && parts[1] != "" {
		db = parts[1]
		if _, err := strconv.ParseUint(db, 10, 31); err != nil {
			return "", "", fmt.Errorf("%q after the master name is not a database number (want /%s/0 .. /%s/%d)", db, parts[0], parts[0], redisconf.MaxDB)
		}
	}
	return name, db, nil
}

// dbPath is the path of the data nodes' DSN: "/db", or none.
func dbPath(db string) string {
	if db == "" {
		return ""
	}
	return "/" + db
}
