// Package goredis is the Redis backend on go-redis v9: alerts in a Redis
// (or Valkey) list, in the layout of the system we replace, shared by every
// process that opens the same server, database and prefix.
//
// # DSN
//
//	redis://[user[:password]@]host[:port][/db][?params]
//	rediss://...                              (TLS)
//	unix:///path/to/redis.sock[?db=N&params]  (Unix domain socket)
//	redis+sentinel://[user[:password]@]sentinel1[:port]/<master-name>[/db][?params]
//	                                          (a master behind Redis Sentinel; see # Sentinel)
//	redis+cluster://[user[:password]@]node1[:port][?addr=node2:port&...&params]
//	                                          (a Redis or Valkey Cluster; see # Cluster)
//
// The port defaults to 6379 and the database to 0; an IPv6 host is written
// in brackets (redis://[::1]:6379/0). Parameters, besides the shared ones
// (prefix, max_alerts, max_alert_bytes, timeout):
//
//	db                        database number, instead of the /db path
//	username, password        ACL user and password, instead of the user info
//	password_file             file holding the password (one trailing newline dropped)
//	dial_timeout              bound on connecting, default 5s
//	read_timeout              bound on one socket read, default the timeout parameter
//	write_timeout             bound on one socket write, default the timeout parameter
//	pool_size                 most connections, default 10 per CPU
//	tls                       true to use TLS on redis:// (rediss:// always does)
//	tls_ca                    PEM file of the CAs to trust, default the system's
//	tls_cert, tls_key         PEM client certificate and key (mutual TLS)
//	tls_server_name           name to verify, default the host
//	tls_insecure_skip_verify  skip certificate verification (testing only)
//
// Unknown parameters are an error, and no error or log line ever shows a
// password. docs/dsn.md has the full reference with examples.
//
// # Layout
//
// Alerts are JSON strings in the list <prefix>alerts ("apt_detection:alerts"
// by default), oldest first, appended with RPUSH and trimmed with
// LTRIM key -max_alerts -1 in the same MULTI/EXEC, so `redis-cli llen
// apt_detection:alerts` and a Python `LRANGE 0 -1` + json.loads keep
// working both ways. A counter <prefix>alerts:seq gives entries stable
// positions for cursors, and each append is announced on the channel
// <prefix>alerts:events for Watch. Entries pushed by other tools are read
// (and skipped when they are not alerts); docs/operations.md has the one
// caveat they bring to cursors and watches. Clear deletes the list and
// keeps the counter, so that positions never go backwards.
//
// # Timeouts, retries and exactly-once
//
// Every call honours its context deadline (ContextTimeoutEnabled), so a
// server that stops answering yields an error wrapping
// backend.ErrUnavailable when the deadline passes, never a hang.
//
// go-redis retries failed commands, writes included, by default. This
// backend turns that off (MaxRetries -1): a MULTI/EXEC whose reply was lost
// to a timeout or a dropped connection may have been applied, and sending
// it again would store the alerts twice. Such a write fails with
// ErrUnavailable instead, and it is the caller's to retry: the Store gave
// every alert its id before the write, so the retry stores the same id and
// List returns it once. Idempotent reads (the list slice, LLEN, PING, DEL)
// are retried once by the driver when a connection turns out dead.
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
// # Sentinel
//
// redis+sentinel:// stores in the master the sentinels name, through
// go-redis' failover client, in the same layout. Its parameters (addr=
// for more sentinels, sentinel_username, sentinel_password[_file],
// min_replicas, replica_timeout, check_interval, and the data-node ones
// above), the master check and the failover behaviour are shared with
// valkeygo's valkey+sentinel:// and live in backends/internal/sentinel;
// docs/dsn.md has the reference. What this package adds: every
// connection is dialled through a tracker, and when the master check
// finds the master elsewhere the connections to every other data node are
// closed, so that go-redis reconnects to the new master. Each append runs
// ROLE inside its MULTI/EXEC and, with min_replicas, WAIT right after
// EXEC in the same pipeline, so on the same connection and in the same
// round trip (the one transaction of client.go, with options).
//
// # Cluster
//
// redis+cluster:// stores in a Redis or Valkey Cluster through go-redis'
// cluster client, in the cluster layout of backends/internal/redislist
// (ClusterKeys: the list under its old name, every other key tagged with
// it, so all in one slot; SPUBLISH and SSUBSCRIBE for Watch). Its DSN
// (seeds as addr=, min_replicas, replica_timeout, and the data-node
// parameters above) is shared with valkeygo's valkey+cluster:// and
// parsed in backends/internal/cluster; docs/dsn.md has the reference.
// What this package adds: go-redis' cluster client follows MOVED and ASK
// but also resends a transaction after a dropped connection, so the
// append and the scripts that write run on the slot's master through
// that node's own client (which resends nothing), with MOVED and ASK
// followed here (cluster.go); reads go through the cluster client.
// shards=N spreads a namespace over N lists on different masters
// (redislist's ShardedDriver).
//
// # Escape hatch
//
// Store.As(&c), c a redis.UniversalClient, sets c to the store's go-redis
// client, for commands this package does not run. What is done with it
// bypasses the Store: no validation, no namespace, no deadline.
//
// # Durability
//
// An acknowledged alert is in the server's memory (Capabilities().Durable
// is false). It survives a server restart only as the server's persistence
// allows: with appendonly yes and appendfsync always, every acknowledged
// alert; with everysec, all but the last second's; with RDB snapshots only,
// what the last snapshot held. See docs/operations.md.
package goredis
