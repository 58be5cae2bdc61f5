// Package backend is the core of alertstore: the portable Store that users
// hold, the Driver interface that backends implement, the Alert type, and
// the errors both sides share.
//
// # Who calls what
//
// Users hold a *Store. They open one by DSN with registry.Open (after
// importing the backend packages they want, each of which registers its
// scheme), or from a driver in code with NewStore. Store is where the
// portable rules live: alerts are validated before any I/O, get an id (a
// UUIDv7) and a timestamp if they lack them, are written whole or not at
// all, and come back from List decoded, filtered and paged, with entries
// that are not alerts skipped and counted instead of failing the call.
// Every call gets a deadline (Config.Timeout) unless its ctx has an
// earlier one.
//
// Backends implement Driver, a deliberately small interface of encoded
// entries: Append, Scan, Count, Clear, Ping, Capabilities, Close. Users
// never call a driver; methods can be added to Store without breaking any
// backend. Optional behaviour is declared as data in Capabilities (Watch,
// Shared, Persistent, Durable, Drop), and the Store method of an optional
// feature a driver does not declare fails with ErrUnsupported. The
// contract is written both ways in driver.go: what the Store guarantees a
// driver, and what a driver must do. The conformance package checks it.
//
// This is the split of database/sql and database/sql/driver, and of
// gocloud.dev's docstore and docstore/driver, in one package: the docs of
// each type say which side it is for.
//
// # Errors
//
// Every error a Store returns wraps at most one sentinel, so callers branch
// with errors.Is, never on message text:
//
//	ErrInvalidAlert    an alert failed validation; the precise kinds
//	                   (ErrBadSeverity, ErrBadTimestamp, ErrTooLarge, ...)
//	                   wrap it, and *AlertError says which alert of a batch
//	ErrInvalidConfig   a bad DSN, option or parameter, at open time
//	ErrInvalidQuery    a bad List query, before any I/O
//	ErrUnavailable     the storage did not answer in time; a failed write
//	                   was not acknowledged
//	ErrClosed          a call after Close
//	ErrNotFound        a named thing (scheme, namespace, master) does not exist
//	ErrLagged          a Watch consumer fell behind and notifications were
//	                   dropped; nothing was lost from the store
//	ErrUnsupported     an optional capability the backend does not declare
//	                   (it is errors.ErrUnsupported)
//
// Errors are wrapped once, at the Store, in an *Error carrying the
// operation and the backend's scheme. No error ever contains a secret.
//
// # Alerts
//
// An alert is a JSON object in the format of the system alertstore
// replaces: entity, timestamp (naive ISO 8601 is read as UTC; the string
// is kept as written), severity (any case, kept as written), message,
// prediction_score, source.type, features, models, mitre_attack, and any
// key nobody has heard of, all kept. Duplicate keys, invalid UTF-8,
// unknown severities and unparsable timestamps are rejected. Stored
// alerts are kept newest last and listed newest first, up to
// Config.MaxAlerts per namespace (Config.Prefix); the oldest go first.
//
// # More
//
// docs/alerts.md describes the alert format, docs/writing-a-backend.md the
// driver contract and the conformance suite, docs/guarantees.md what an
// acknowledged alert survives, and docs/design.md how the packages fit
// together.
package backend
