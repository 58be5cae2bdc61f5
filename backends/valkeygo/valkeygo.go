// Package valkeygo is the Valkey backend on valkey-go: alerts in a Valkey (or
// Redis) list, in the layout of the system we replace, shared by every
// process that opens the same server, database and prefix. It stores
// exactly what the goredis backend stores, in the same keys, so the two
// read and write each other's data; choose by the client library you want
// in your binary, or by the server you run.
//
// # DSN
//
//	valkey://[user[:password]@]host[:port][/db][?params]
//	valkeys://...                              (TLS)
//	valkey+sentinel://[user[:password]@]sentinel1[:port]/<master-name>[/db][?params]
//	                                           (a master behind Redis Sentinel; see # Sentinel)
//
// The port defaults to 6379 and the database to 0; an IPv6 host is written
// in brackets (valkey://[::1]:6379/0). Parameters, besides the shared ones
// (prefix, max_alerts, max_alert_bytes, timeout), are spelled as for the
// goredis backend:
//
//	db                        database number, instead of the /db path
//	username, password        ACL user and password, instead of the user info
//	password_file             file holding the password (one trailing newline dropped)
//	dial_timeout              bound on connecting, default 5s
//	read_timeout              bound on waiting for a reply, default the timeout parameter
//	write_timeout             bound on one socket write, default the timeout parameter
//	pool_size                 connections for watches and blocking use, default 1024
//	tls                       true to use TLS on valkey:// (valkeys:// always does)
//	tls_ca                    PEM file of the CAs to trust, default the system's
//	tls_cert, tls_key         PEM client certificate and key (mutual TLS)
//	tls_server_name           name to verify, default the host
//	tls_insecure_skip_verify  skip certificate verification (testing only)
//
// valkey-go has one socket timeout (ConnWriteTimeout, which also paces its
// keep-alive PINGs): it gets the larger of read_timeout and write_timeout.
// Ordinary commands are pipelined over a few shared connections; pool_size
// bounds the dedicated connections each Watch holds. A Unix socket has no
// scheme here: use the goredis backend's unix://.
//
// Unknown parameters are an error, and no error or log line ever shows a
// password. docs/dsn.md has the full reference with examples.
//
// # Layout
//
// As for the goredis backend: JSON alerts in the list <prefix>alerts,
// appended with RPUSH and trimmed with LTRIM in one MULTI/EXEC, a counter
// <prefix>alerts:seq for stable positions, and the channel
// <prefix>alerts:events for Watch.
//
// # Timeouts, retries and exactly-once
//
// Every call honours its context deadline, so a server that stops
// answering yields an error wrapping backend.ErrUnavailable when the
// deadline passes, never a hang.
//
// valkey-go retries only read-only commands, never a MULTI/EXEC with a
// write in it; this backend disables even that (DisableRetry), so that the
// goredis and valkeygo backends fail the same way. A write whose reply was
// lost fails with ErrUnavailable and may or may not have been applied; the
// Store gave every alert its id before the write, so a caller's retry
// stores the same id and List returns it once. Idempotent reads are retried
// once by the driver when a connection turns out dead.
//
// # Connecting
//
// Open does no network I/O: the client is created on the first call, and
// again on a later call if that failed, so that a producer (or a chain of
// backends) can start before the server and recover when it comes up. Use
// Ping (`alertstore ping`) to check a DSN.
//
// # Sentinel
//
// valkey+sentinel:// stores in the master the sentinels name, through
// valkey-go's sentinel client (ClientOption.Sentinel), in the same layout.
// Its parameters, the master check and the failover behaviour are shared
// with goredis' redis+sentinel:// and live in backends/internal/sentinel;
// docs/dsn.md has the reference. What this package adds: the client sits
// behind a swap, and when the master check finds it bound to another node
// than the master (valkey-go missed a +switch-master message) it is
// replaced by a new one, which resolves the master afresh. Each append
// runs ROLE inside its MULTI/EXEC and, with min_replicas, WAIT on a
// dedicated connection (the one transaction of client.go, with options).
//
// # Escape hatch
//
// Store.As(&c), c a valkey.Client (valkey-go's), sets c to the store's
// client, connecting it first if no call has yet; it reports false if the
// server cannot be reached within the store's timeout. What is done with
// it bypasses the Store: no validation, no namespace, no deadline.
//
// # Durability
//
// An acknowledged alert is in the server's memory (Capabilities().Durable
// is false); it survives a restart only as the server's persistence
// (appendonly, appendfsync, RDB snapshots) allows. See docs/operations.md.
package valkeygo

import (
	"context"
	"fmt"
	"net"

	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redisconf"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/registry"
)

// The DSN schemes this backend registers.
const (
	// Scheme is plain TCP: valkey://host:6379/0.
	Scheme = "valkey"
	// SchemeTLS is TCP with TLS: valkeys://host:6380/0.
	SchemeTLS = "valkeys"
	// SchemeSentinel is a master with replicas behind Redis Sentinel, on
	// valkey-go's sentinel client: valkey+sentinel://s1:26379/mymaster.
	SchemeSentinel = "valkey+sentinel"
)

// ClientName is the connection name this backend sets (CLIENT SETNAME), on
// sentinels too, so that CLIENT LIST on the server shows which connections
// are alertstore's.
const ClientName = "alertstore"

func init() {
	registry.Register(Scheme, opener(redisconf.TCP))
	registry.Register(SchemeTLS, opener(redisconf.TLS))
	registry.Register(SchemeSentinel, openSentinel)
}

func opener(t redisconf.Transport) registry.Opener {
	return func(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
		rc, err := redisconf.Parse(dsn, t)
		if err != nil {
			return nil, err
		}
		c := newClient(newLazy(clientOption(rc, cfg)))
		return redislist.New(c, cfg, &redislist.Options{CloseClient: true, As: c.asFunc(cfg.Timeout)}), nil
	}
}

// clientOption translates our configuration into valkey-go's. The settings
// that make the guarantees of the package doc are not configurable.
func clientOption(rc redisconf.Config, cfg backend.Config) valkey.ClientOption {
	if cfg.Timeout <= 0 {
		cfg.Timeout = backend.DefaultTimeout
	}
	rw := max(rc.ReadTimeout, rc.WriteTimeout)
	if rw == 0 {
		rw = cfg.Timeout
	}
	return valkey.ClientOption{
		InitAddress:      []string{rc.Addr},
		Username:         rc.Username,
		Password:         rc.Password,
		SelectDB:         rc.DB,
		ClientName:       ClientName,
		Dialer:           net.Dialer{Timeout: rc.DialTimeout},
		TLSConfig:        rc.TLS,
		ConnWriteTimeout: rw,
		BlockingPoolSize: rc.PoolSize,

		// Never resend a command: see the package doc.
		DisableRetry: true,
		// We read nothing through the client-side cache, so do not ask
		// the server to track keys for it.
		DisableCache: true,
		// One server, chosen by the DSN: do not probe for a cluster.
		ForceSingleClient: true,
	}
}

// OpenClient returns a driver on a valkey-go client the caller created and
// keeps: Close of the driver does not close it. valkey-go never retries a
// MULTI/EXEC with a write in it, so the exactly-once argument of the
// package doc holds for any client; set ClientOption.DisableRetry for the
// reads to fail as this backend's own do. Wrap the driver with
// backend.NewStore(drv, Scheme, cfg).
func OpenClient(client valkey.Client, cfg backend.Config) (backend.Driver, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: valkeygo: nil client", backend.ErrInvalidConfig)
	}
	if cfg.Prefix != "" {
		if err := registry.CheckPrefix(cfg.Prefix); err != nil {
			return nil, err
		}
	}
	c := newClient(fixed{client})
	return redislist.New(c, cfg, &redislist.Options{As: c.asFunc(cfg.Timeout)}), nil
}
