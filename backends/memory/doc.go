// Package memory is the in-process backend: a bounded ring of alerts in this
// process's memory. It is the cheapest conformance target and the store of
// last resort in a chain; it loses everything when the process exits.
//
// # DSN
//
//	mem://[name][?prefix=...&max_alerts=...&max_bytes=...]
//	memory://...            (alias)
//
// With no name, every Open gets a private store. Stores opened with the same
// name (and prefix) in one process share their alerts, like two clients of
// one Redis server, until the process exits; closing them does not free the
// alerts.
//
// Parameters, besides the shared ones (prefix, max_alerts, max_alert_bytes,
// timeout; see docs/dsn.md):
//
//	max_bytes  bound on the total bytes of stored alerts, default 64 MiB;
//	           the oldest go first when either bound is reached.
//
// Append is O(1) amortised per alert, listing the newest N is O(N), and
// watch is supported. It declares neither drop nor drain: there is no
// bookkeeping to drop, and what it holds dies with the process anyway, so a
// chain copies a memory lower tier whole instead of draining it entry by
// entry. Its conformance runs are the "not declared" side of those checks.
// Store.As supports no type.
package memory
