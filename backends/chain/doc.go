// Package chain is a backend made of ordered tiers, e.g. Redis, then a bolt
// file, then process memory: alerts go to the first tier that takes them,
// and what a lower tier took in while a higher one was down is moved back
// up (replayed) once the higher tier answers again.
//
// The system we replace fell back to an in-process list when Redis was
// down: those alerts were lost on restart, never reached Redis, and the
// dashboard reading Redis never saw them. A chain of redis -> bolt keeps
// them on local disk instead and replays them, in order and exactly once,
// when Redis is back.
//
// # DSN
//
//	chain://?tier=<DSN>&tier=<DSN>[&tier=<DSN>...][&params]
//
// Each tier= is one tier's own DSN, highest first. A tier DSN that has
// parameters of its own must be URL-escaped (at least its '?' as %3F, '&'
// as %26, '+' as %2B, '%' as %25), because the chain's query would
// otherwise split it: a tier= holding a raw '?' is refused. Escaping the
// whole nested DSN always works, and FormatDSN does it; or, with no tier=
// in the chain's DSN, the tiers come unescaped from $ALERTSTORE_TIER_1,
// $ALERTSTORE_TIER_2, ... (EnvTierPrefix):
//
//	chain://?tier=redis://cache:6379/0&tier=bolt:///var/lib/alertstore/alerts.db
//	chain://?tier=redis%3A%2F%2F%3Apw%40cache%3A6379%2F0%3Ftimeout%3D1s&tier=bolt:///var/lib/alertstore/alerts.db&tier_timeout=1s
//
// Parameters, besides the shared ones (prefix, max_alerts, max_alert_bytes,
// timeout; see "Shared parameters" below and docs/dsn.md):
//
//	tier_timeout    deadline of each call to one tier, default 2s; a tier
//	                that does not answer within it (stopped, or frozen
//	                like a paused container) is marked down and the next
//	                tier is tried. The last tier a call can try gets the
//	                rest of the call's deadline instead: with nowhere to
//	                fall back to, a slow fsync beats a failure. Also each
//	                tier's own timeout, unless its DSN sets one. Must be
//	                below timeout.
//	probe_interval  first wait before probing a down tier, default 1s.
//	probe_max       cap of the probe backoff, default 30s.
//	replay_batch    entries moved up per step of a replay, 1..10000,
//	                default 100.
//	replay_check    how many of the higher tier's newest entries a replay
//	                reads first to skip alerts it already holds, 0..1000000,
//	                default 10000; see "Replay".
//
// # Shared parameters
//
// prefix, max_alerts and max_alert_bytes exist on the chain and on each
// tier, and one rule combines them, so that no combination can lose
// acknowledged alerts silently:
//
//   - set on the chain and not on a tier: the tier inherits it;
//   - set on a tier and not on the chain: the chain's effective value
//     follows from the tiers: prefix and max_alerts are the first tier's,
//     max_alert_bytes is the smallest any tier sets (so that whatever the
//     chain accepts fits every tier); tiers that set nothing inherit that;
//   - set on neither: the defaults, everywhere;
//   - set on both with different values: New refuses the chain with an
//     error wrapping backend.ErrInvalidConfig that names the parameter,
//     both values and the tier (by number and scheme, never its DSN);
//   - a lower tier's max_alerts below the first tier's is refused too: it
//     would trim an outage's backlog before it could be replayed.
//
// The effective values are the chain's Store configuration (registry.Open
// applies Chain.EffectiveConfig): the Store refuses an alert larger than
// the effective max_alert_bytes before any I/O, and merged reads stop at
// the effective max_alerts.
//
// timeout is not one of them: the chain's bounds a whole call across
// tiers (it is the Store's deadline) and is never inherited. A tier's
// timeout, the deadline its own driver applies where it has one (the Redis
// drivers' read and write timeouts), defaults to tier_timeout. A call to a tier that
// is not the last one a call can try ends at the earliest of tier_timeout,
// the tier's own timeout and what is left of the chain's timeout; the last
// tier gets what is left, and its driver's own timeout applies within it.
//
// Nested DSNs keep their secrets: the chain's String and every error show
// each tier DSN redacted (registry.RedactDSN recurses into them).
// docs/dsn.md is the full reference.
//
// # Writes and health
//
// Append goes to the first healthy tier, with its own deadline
// (tier_timeout, or less if the caller's ctx ends sooner; the last tier
// gets whatever the caller's ctx leaves). A tier that fails is marked down
// and Append tries the next one in the same call; a caller's ctx that ends
// stops the call, and counts as the tier's failure only if the tier was
// given its full tier_timeout. When
// every tier fails, the error aggregates each tier's failure
// (go-multierror) and wraps backend.ErrUnavailable. An error that retrying
// elsewhere cannot fix (an invalid alert) is returned at once.
//
// A down tier is probed in the background with Ping, waiting probe_interval
// and doubling up to probe_max, with full jitter, so a fleet of processes
// does not reconnect in step; a tier that fails again soon after recovering
// goes on from its previous backoff instead of starting over (a flapping
// server gets fewer probes, not more). A tier whose DSN could not even be
// opened (its server was down at start) is opened by its prober.
//
// # Replay
//
// Whatever sits in a tier below the active one is backlog. When a higher
// tier is healthy, a background replay moves the backlog of each lower
// tier into the active tier, oldest first, replay_batch entries at a time:
// append to the higher tier, then remove from the lower one, so a crash in
// between leaves a copy in both tiers and never none. Before appending, a
// replay reads the ids in the higher tier's newest replay_check entries and
// skips those (counted in Status.Deduplicated): the copies a crash left, and
// writes that timed out on the higher tier but were applied there anyway.
// That is what makes an alert land in the higher tier exactly once, provided
// fewer than replay_check entries were written to it between the ambiguous
// write (or the interrupted replay) and the replay that follows; readers
// de-duplicate by id as a second line (Store.List).
//
// A lower tier that declares the drain capability (backend.Drainer; bolt
// and the example dirstore do) is replayed entry by entry and survives the
// process being killed mid-replay. Any other lower
// tier (memory) is copied whole and cleared once copied, if nothing new
// arrived meanwhile; it must not be shared with writers outside the chain,
// and it is lossy: what it holds dies with the process (Status labels it).
//
// Replay never pushes newer alerts out of a cap: a backlog entry is dropped
// instead of moved only when the tier it is replayed into would trim it at
// once, that is when that tier's own max_alerts of newer alerts are already
// there or follow it in the backlog (all of which the replay moves). An
// alert is counted once however many copies of it the two tiers hold (an
// ambiguous write or an interrupted replay leaves one in each). Never by
// any other cap. Every drop is counted (Status.DroppedForCap) and logged
// (a Warn record with message DropMessage and the alert's id, through
// Options.Logger); `alertstore` says on stderr how many a command's replay
// dropped.
//
// # Reads
//
// When only the active tier holds entries (healthy, backlog empty), Scan,
// Count and cursors are the active tier's own. While lower tiers hold
// entries, reads merge every readable tier newest-first by the time in the
// alert's id (ids are UUIDv7, time-ordered; an alert with another id is
// placed by its timestamp), de-duplicated by id, within max_alerts. Merged
// reads read every tier up to the cap on each call: O(max_alerts) per page,
// fine for the minutes of an outage, not a way to serve a dashboard.
//
// A position in a merged read is the alert's time key, and a listing that
// started merged goes on in time-key order to its end, even once the
// backlog is replayed and the active tier alone would do: so paging across
// a recovery neither repeats nor skips (after a replay a tier's own order
// is not time order, so a time cursor cannot be applied to it). A cursor of
// a single tier that meets a merged read is translated to the time key of
// its entry: exact when that tier's order is time order (alerts written
// live, not replayed), and from the newest if its tier cannot be read. Two
// alerts with one time key (ids from the same 256ns in two processes) may
// be split by a page boundary and one skipped.
//
// # Watch
//
// Watch subscribes to every tier and de-duplicates by id, so it keeps
// delivering across a fallback (the lower tier's writes) and a recovery.
// The chain's own acknowledged writes are delivered by the chain itself,
// at once, because a tier's subscription can lose the notifications in
// flight when its connection drops; the tiers' subscriptions bring the
// other writers' alerts, and their copies of ours are dropped as
// duplicates. A replayed alert, which the higher tier announces again, is
// never delivered as new. A tier's broken subscription is renewed when its
// prober finds it healthy, before writes go back to it. Alerts that other
// processes write to a tier in the seconds between its recovery and our
// probe are in List but may be missed by Watch; order is kept within one
// writer, not across tiers.
//
// # Capabilities
//
// Computed from the tiers, never hidden: Watch, Shared, Persistent and Drop
// only if every tier has them (an alert can be in any tier); Durable only if
// every tier that can take a write is durable, so redis -> bolt -> memory is
// not Durable: an alert acknowledged by the memory tier dies with the
// process. A tier that could not be opened at start counts as having
// nothing, for the chain's whole life (capabilities never change).
package chain
