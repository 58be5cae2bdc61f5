// Package sentinel is the library-neutral half of the Redis/Valkey backends
// for a master with replicas behind Redis Sentinel: the DSN, the master
// check (monitor, with its own RESP probes) and Open. The alerts live in
// the current master, in the list layout of redislist, and the store
// follows the master through failovers.
//
// Each client library's backend registers its scheme and supplies a Client
// (redislist.Client plus Retarget); this package imports neither library,
// so a binary links only the one whose backend it imports:
//
//	redis+sentinel://   backends/goredis: go-redis' failover client (redis.NewFailoverClient)
//	valkey+sentinel://  backends/valkeygo: valkey-go's sentinel client (valkey.ClientOption.Sentinel)
//
// Both work with Redis and Valkey servers and sentinels alike.
//
// # DSN
//
//	redis+sentinel://[user[:password]@]sentinel1[:port]/<master-name>[/db][?params]
//	valkey+sentinel://... (the same)
//
// The host is the first sentinel (port 26379 by default); the others are
// repeated addr= parameters. IPv6 addresses go in brackets, in the host and
// in addr= alike: [::1]:26379. The path is the name the sentinels monitor
// the master under ("sentinel monitor <name> ..." in sentinel.conf), then
// optionally the database number (default 0; or db=N).
//
// Parameters, besides the shared ones (prefix, max_alerts, max_alert_bytes,
// timeout):
//
//	addr                    another sentinel, host:port; repeat for each
//	sentinel_username       ACL user for the sentinels
//	sentinel_password       password for the sentinels (requirepass or the user's)
//	sentinel_password_file  file holding it (one trailing newline dropped)
//	min_replicas            appends wait until this many replicas have them (WAIT), default 0
//	replica_timeout         how long they wait, default 1s (at most half of timeout), below timeout
//	check_interval          how often the master is re-resolved and checked, default 5s
//
// and those of the goredis and valkeygo backends that concern the data
// nodes, with the same spelling and meaning (docs/dsn.md): db,
// username, password, password_file, dial_timeout, read_timeout,
// write_timeout, pool_size, tls, tls_ca, tls_cert, tls_key,
// tls_server_name, tls_insecure_skip_verify. tls applies to sentinels and
// data nodes alike (go-redis has one TLS setting for both), and the
// server name checked is each node's own host unless tls_server_name is
// given. Unknown parameters are an error naming them; no error or String()
// shows a password.
//
// # Credentials: which go where
//
// The user info (and username=, password=, password_file=) are the data
// nodes' credentials: the master's and the replicas' requirepass or ACL
// user, the ones you would put in a redis:// DSN for the master. The
// sentinels' own credentials, for sentinels started with requirepass or
// an ACL user, are sentinel_username and sentinel_password (or
// sentinel_password_file). With no sentinel_password the sentinels are
// not authenticated to. The client libraries spell this differently, and
// their own URL parsers disagree with each other:
//
//	                     sentinels                      master and replicas
//	this DSN             sentinel_username/_password    user info, username=, password=
//	go-redis options     SentinelUsername/Password      Username/Password
//	go-redis ParseFailoverURL  the URL's user info      username=, password= parameters
//	valkey-go options    Sentinel.Username/Password     ClientOption.Username/Password
//	valkey-go ParseURL   (not settable)                 the URL's user info
//
// So a go-redis failover URL that works puts the sentinel password where
// this DSN expects the data password: move it to sentinel_password. The
// backends' TestCredentialMapping tests check the mapping field by field,
// and the container test TestCredentialsGoWhereDocumented against
// sentinels and data nodes with different passwords.
//
// # Failover
//
// Open asks every sentinel where the master is and checks the node it
// names with ROLE; it fails with an error wrapping backend.ErrUnavailable
// that names the sentinels tried when none answers (ErrNotFound when they
// all answer that they know no such master). After that the client
// library follows failovers (Sentinel's +switch-master messages), and this
// package adds what they miss:
//
//   - every append's MULTI/EXEC starts with ROLE (redislist.AppendOptions),
//     and an append whose node does not answer "master" is not
//     acknowledged (a replica refuses it anyway with READONLY, unless it
//     was made writable);
//   - an append that fails for want of the master (READONLY, MASTERDOWN,
//     NOREPLICAS, a timeout, a dropped connection) and, in any case, every
//     check_interval: the master is re-resolved from all sentinels and
//     confirmed with ROLE, and the client is moved off any other node
//     (go-redis: connections to other data nodes are closed; valkey-go:
//     a client still bound to another node is replaced);
//   - no write is ever resent: a failed append is an error wrapping
//     ErrUnavailable and may or may not have been applied. The Store gave
//     each alert its id before the write, so retrying stores the same id,
//     and List shows it once per page.
//
// # Durability
//
// Sentinel replication is asynchronous: an acknowledged alert is in the
// master's memory, and a failover can promote a replica that had not
// received it yet. With min_replicas=N, each append runs WAIT N on the
// connection of its MULTI/EXEC and fails (ErrUnavailable: "not
// acknowledged by N replicas; the alert may or may not survive a
// failover") unless N replicas confirmed it within replica_timeout.
//
// min_replicas=1 keeps every acknowledged alert through a crash of the
// master, and through a freeze after which the old master comes back
// still believing it is master: its replicas have moved on, so its WAIT
// gets none. It does not through a graceful failover (SENTINEL FAILOVER),
// or an old master back mid-failover: the replica that is not promoted
// first keeps acknowledging the old master's writes, then resynchronises
// from the new master and drops them. Only min_replicas equal to the
// number of replicas refuses those, at the price of no write while any
// replica is down. The fault tests measure each case; docs/guarantees.md
// has the figures. WAIT is not consensus.
package sentinel

import (
	"context"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/registry"
)

// Client is what a client library's backend gives Open: the layout's
// operations (the append with redislist.AppendOptions) on a client that
// follows the master named by the sentinels, and Retarget.
type Client interface {
	redislist.Client
	// Retarget moves the client off every data node but master (the
	// monitor's confirmed master; dataNodes are every data node address
	// the sentinels named). It must not block for long.
	Retarget(master string, dataNodes map[string]bool)
}

// NewClient makes a backend's Client for a parsed DSN. ctx bounds any
// connecting it does.
type NewClient func(ctx context.Context, c Config) (Client, error)

// Open parses dsn (whose shared parameters the registry has consumed into
// cfg), resolves the master, so that a DSN naming no reachable sentinel
// fails now with the sentinels tried, creates the client and starts the
// periodic check. It is bounded by the timeout parameter.
func Open(ctx context.Context, dsn *registry.DSN, cfg backend.Config, newClient NewClient) (backend.Driver, error) {
	c, err := ParseDSN(dsn, cfg)
	if err != nil {
		return nil, err
	}
	if err := dsn.Unknown(); err != nil {
		return nil, err
	}
	return open(ctx, c, cfg, newClient)
}

func open(ctx context.Context, c Config, cfg backend.Config, newClient NewClient) (backend.Driver, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	d := &driver{}
	d.mon = newMonitor(c, func(master string, nodes map[string]bool) { d.client.Retarget(master, nodes) })
	if _, err := d.mon.resolve(ctx); err != nil {
		return nil, err
	}
	var err error
	if d.client, err = newClient(ctx, c); err != nil {
		return nil, err
	}
	d.Driver = redislist.New(d.client, cfg, &redislist.Options{
		CloseClient: true,
		Append: redislist.AppendOptions{
			Role:           true,
			MinReplicas:    c.MinReplicas,
			ReplicaTimeout: c.ReplicaTimeout,
		},
		OnUnavailable: d.mon.kick,
	})
	d.mon.start()
	return d, nil
}

// driver is the shared list driver (appends with ROLE and WAIT, reads,
// Count, Clear, Watch, with its capabilities) and the master check, which
// Close stops first.
type driver struct {
	*redislist.Driver
	client Client
	mon    *monitor
}

var (
	_ backend.Driver  = (*driver)(nil)
	_ backend.Watcher = (*driver)(nil)
)

// Close implements backend.Driver: it stops the check, ends the watches
// and closes the client.
func (d *driver) Close() error {
	d.mon.stop()
	return d.Driver.Close()
}
