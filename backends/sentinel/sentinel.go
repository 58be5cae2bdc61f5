// Package sentinel is the Redis/Valkey backend for a master with replicas
// behind Redis Sentinel: the alerts live in the current master, in the same
// list layout as the goredis and valkey backends (which read and write the
// same keys), and the store follows the master through failovers.
//
// Two schemes, one parser and one failover logic, on the two client
// libraries:
//
//	redis+sentinel://   go-redis' failover client (redis.NewFailoverClient)
//	valkey+sentinel://  valkey-go's sentinel client (valkey.ClientOption.Sentinel)
//
// Both work with Redis and Valkey servers and sentinels alike; pick by the
// library you want in your binary.
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
// and those of the goredis and valkey backends that concern the data
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
// package test TestCredentialsGoWhereDocumented checks the mapping against
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
//   - every append's MULTI/EXEC starts with ROLE, and an append whose node
//     does not answer "master" is not acknowledged (a replica refuses it
//     anyway with READONLY, unless it was made writable);
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
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/registry"
)

// The DSN schemes this package registers.
const (
	// SchemeRedis is Sentinel on go-redis: redis+sentinel://s1:26379/mymaster.
	SchemeRedis = "redis+sentinel"
	// SchemeValkey is Sentinel on valkey-go: valkey+sentinel://s1:26379/mymaster.
	SchemeValkey = "valkey+sentinel"
)

// ClientName is the connection name this package sets on the sentinels and
// the data nodes (CLIENT SETNAME), as the goredis and valkey backends do.
const ClientName = "alertstore"

func init() {
	registry.Register(SchemeRedis, opener(func(ctx context.Context, c config) (client, error) {
		return newGoredisClient(c), nil
	}))
	registry.Register(SchemeValkey, opener(func(ctx context.Context, c config) (client, error) {
		return newValkeyClient(ctx, c)
	}))
}

// client is what differs between the schemes: the library that runs the
// commands.
type client interface {
	// driver returns the goredis or valkey backend's driver on this
	// client, for everything but appends.
	driver(cfg backend.Config) (backend.Driver, error)
	// append runs, in one MULTI/EXEC, ROLE then the layout's append
	// (redislist.Client.Append), and WAIT after it on the same connection
	// if w asks for replicas and ROLE said master.
	append(ctx context.Context, k redislist.Keys, payloads [][]byte, max int, w waitFor) (txResult, error)
	// repairSeq runs redislist.RepairScript.
	repairSeq(ctx context.Context, k redislist.Keys, seq, pushed int64) error
	// retarget moves the client off every data node but master.
	retarget(master string, dataNodes map[string]bool)
	close() error
}

// waitFor is the durability option: WAIT replicas timeout.
type waitFor struct {
	replicas int
	timeout  time.Duration
}

// txResult is an append's outcome when the transaction ran.
type txResult struct {
	role        string // ROLE's first element on the node that ran it
	pushed, seq int64  // RPUSH's and INCRBY's replies; seq -1 if INCRBY failed
	acked       int64  // WAIT's reply, -1 if WAIT did not run or failed
	waitErr     error  // why WAIT failed
}

func opener(newClient func(context.Context, config) (client, error)) registry.Opener {
	return func(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
		c, err := parseDSN(dsn, cfg)
		if err != nil {
			return nil, err
		}
		return open(ctx, c, cfg, newClient)
	}
}

// open resolves the master (so that a DSN naming no reachable sentinel
// fails now, with the sentinels tried), creates the client and starts the
// periodic check. It is bounded by the timeout parameter.
func open(ctx context.Context, c config, cfg backend.Config, newClient func(context.Context, config) (client, error)) (backend.Driver, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	d := &driver{
		max:  cfg.MaxAlerts,
		wait: waitFor{replicas: c.MinReplicas, timeout: c.ReplicaTimeout},
	}
	if d.max <= 0 {
		d.max = backend.DefaultMaxAlerts
	}
	d.mon = newMonitor(c, func(master string, nodes map[string]bool) { d.c.retarget(master, nodes) })
	if _, err := d.mon.resolve(ctx); err != nil {
		return nil, err
	}
	var err error
	if d.c, err = newClient(ctx, c); err != nil {
		return nil, err
	}
	inner, err := d.c.driver(cfg)
	if err != nil {
		_ = d.c.close()
		return nil, err
	}
	rd, ok := inner.(*redislist.Driver)
	if !ok {
		_ = inner.Close()
		_ = d.c.close()
		return nil, fmt.Errorf("sentinel: the Redis backend returned a %T, not the shared list driver", inner)
	}
	d.Driver = rd
	d.mon.start()
	return d, nil
}

// driver is the shared list driver of the goredis and valkey backends
// (reads, Count, Clear, Watch, and whatever optional interfaces it has,
// with its capabilities) with this package's Append and Close.
type driver struct {
	*redislist.Driver
	c      client
	mon    *monitor
	max    int
	wait   waitFor
	closed atomic.Bool
}

var (
	_ backend.Driver  = (*driver)(nil)
	_ backend.Watcher = (*driver)(nil)
)

// Append implements backend.Driver: ROLE and the layout's append in one
// MULTI/EXEC, then WAIT with min_replicas. It is never retried, here or by
// the client.
func (d *driver) Append(ctx context.Context, alerts [][]byte) error {
	if d.closed.Load() {
		return backend.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(alerts) == 0 {
		return nil
	}
	k := d.Keys()
	r, err := d.c.append(ctx, k, alerts, d.max, d.wait)
	if err != nil {
		if errors.Is(err, backend.ErrUnavailable) {
			d.mon.kick()
		}
		return err
	}
	if r.role != "master" {
		d.mon.kick()
		return fmt.Errorf("%w: the node that ran the append answers ROLE %q, not master: not acknowledged (a writable replica keeps such writes to itself)", backend.ErrUnavailable, r.role)
	}
	if r.seq < r.pushed {
		// As in redislist: the append is done; a failed repair is redone by
		// the next append.
		_ = d.c.repairSeq(ctx, k, r.seq, r.pushed)
	}
	if d.wait.replicas > 0 {
		switch {
		case r.waitErr != nil:
			d.mon.kick()
			return fmt.Errorf("%w: stored on the master, but WAIT for %d replicas failed, so it is not acknowledged; the alert may or may not survive a failover: %v",
				backend.ErrUnavailable, d.wait.replicas, r.waitErr)
		case r.acked < int64(d.wait.replicas):
			d.mon.kick()
			return fmt.Errorf("%w: not acknowledged by %d replicas (%d within %s); the alert may or may not survive a failover",
				backend.ErrUnavailable, d.wait.replicas, r.acked, d.wait.timeout)
		}
	}
	return nil
}

// Close implements backend.Driver: it stops the check, ends the watches
// and closes the client.
func (d *driver) Close() error {
	if d.closed.Swap(true) {
		return backend.ErrClosed
	}
	d.mon.stop()
	err := d.Driver.Close()
	if cerr := d.c.close(); err == nil {
		err = cerr
	}
	return err
}
