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
//	valkey+cluster://[user[:password]@]node1[:port][?addr=node2:port&...&params]
//	                                           (a Valkey or Redis Cluster; see # Cluster)
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
// # Write coalescing
//
// Concurrent stores on one Store share append transactions: a call that
// finds the pipe idle goes at once; calls that arrive while a transaction
// is in flight go together as the next one (one RPUSH of all their
// alerts, one INCRBY, LTRIM, PUBLISH, and one WAIT with min_replicas), at
// most 1024 alerts and 4 MiB per transaction. Each call is acknowledged
// only when its transaction is, and fails with exactly that
// transaction's error. A call whose context ends while it is queued
// leaves the queue with the context's error, having sent nothing; once
// its transaction is sent it waits for the outcome, which comes within
// its own deadline: a transaction is sent with the earliest deadline of
// its calls (redislist/coalesce.go).
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
// # Cluster
//
// valkey+cluster:// stores in a Valkey or Redis Cluster through valkey-go's
// cluster client, in the cluster layout of backends/internal/redislist
// (ClusterKeys: every key in the list's slot; SPUBLISH and SSUBSCRIBE for
// Watch). Its DSN is shared with goredis' redis+cluster:// and parsed in
// backends/internal/cluster; docs/dsn.md has the reference. valkey-go
// follows MOVED and ASK itself and, with DisableRetry, resends nothing
// else; the client must come up in cluster mode (a seed that is a
// standalone server is a configuration error). With min_replicas the
// append runs on a dedicated connection to the slot's master, with ROLE
// and WAIT, as for Sentinel; a MOVED there (the slot moved meanwhile) is
// ErrUnavailable, and the next append finds the new master. shards=N
// spreads a namespace over N lists on different masters (redislist's
// ShardedDriver).
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
