package backend

import (
	"context"
	"time"
)

// Driver is what a backend implements. Users never call it: they hold a
// *Store, which validates alerts, gives them ids, applies deadlines, decodes
// and filters what the driver returns, and wraps errors once. Keeping the
// driver this small is what lets a third party write a backend in an
// afternoon and lets us add Store methods without breaking any backend.
//
// Every method may be called concurrently. Every method that takes a ctx
// must return once ctx is done (with an error wrapping ErrUnavailable when
// the storage did not answer in time). After Close, methods return an error
// wrapping ErrClosed.
type Driver interface {
	// Append stores already-validated, encoded alerts at the newest end,
	// in order, then trims the oldest entries beyond the configured
	// MaxAlerts (and any byte bound the backend has). Append and trim
	// are one atomic step for other readers: nobody sees the list over
	// its cap. On error, the caller must assume none were acknowledged;
	// a driver must not retry a write in a way that can store it twice.
	// The slices are the alerts' own bytes, not copies: a driver must
	// not modify them, and may keep them (the Store never writes them
	// again once handed over).
	Append(ctx context.Context, alerts [][]byte) error

	// Scan returns up to limit entries, newest first, whose Pos is
	// strictly less than before (before <= 0 means from the newest).
	// Fewer than limit entries means the oldest end was reached. Entries
	// are returned as stored, including ones that are not valid alerts
	// (written by another tool): the Store skips and counts those. A
	// driver whose storage can hold entries over Config.MaxAlertBytes
	// (written by another tool) should not transfer them: it returns
	// such an entry with Data nil and TooLarge set to its size. The
	// Store asks for at most one page plus a bounded chunk per call (see
	// Store.List), so a driver need not bound limit itself. The Store
	// may keep an entry's Data in the alert it decodes (it does not copy
	// compact entries): a driver must not modify Data once returned.
	Scan(ctx context.Context, before int64, limit int) ([]Entry, error)

	// Count returns how many entries are stored, valid alerts or not
	// (the LLEN the system we replace reported).
	Count(ctx context.Context) (int64, error)

	// Clear removes every entry of this store's namespace, and nothing
	// outside it.
	Clear(ctx context.Context) error

	// Ping checks that the storage answers.
	Ping(ctx context.Context) error

	// Capabilities declares the optional behaviour the driver has. It
	// must not change over the driver's life.
	Capabilities() Capabilities

	// Close releases the driver's resources. Entries stay stored where the
	// backend is persistent or shared.
	Close() error
}

// Entry is one stored entry as a driver returns it.
type Entry struct {
	// Pos orders entries: it grows with every entry appended to the
	// namespace and stays the same for as long as the entry is stored.
	// Cursors are built from it. Positions need not be contiguous.
	Pos int64
	// Data is the stored bytes, normally one JSON alert.
	Data []byte
	// TooLarge, when positive, is the size in bytes of an entry over
	// Config.MaxAlertBytes that the driver left in storage unread; Data
	// is then nil. The Store counts it in Page.Oversized.
	TooLarge int64
}

// Config is what every backend is opened with, whatever its scheme: the
// shared DSN parameters, parsed and checked by the registry.
type Config struct {
	// Prefix namespaces every key a backend writes ("apt_detection:").
	Prefix string
	// MaxAlerts bounds the store: appending beyond it drops the oldest.
	MaxAlerts int
	// MaxAlertBytes caps one encoded alert.
	MaxAlertBytes int
	// Timeout bounds every call that has no earlier deadline.
	Timeout time.Duration
	// MaxAlertsDefault says MaxAlerts was not chosen by whoever opened
	// the store (no max_alerts= in the DSN): a backend that records its
	// namespace's cap (Capabilities.Namespace) then trims to the recorded
	// cap instead. A zero MaxAlerts counts as unset too.
	MaxAlertsDefault bool
	// ClientName names this store in audit records (see
	// NamespaceKeeper). Default: DefaultClientName().
	ClientName string
	// Sign, if not nil, makes the Store sign every alert it writes and
	// verify every alert it reads (see Keyring). Drivers ignore it.
	Sign *Keyring
}

// Defaults of Config, also the DSN parameter defaults.
const (
	DefaultPrefix    = "apt_detection:"
	DefaultMaxAlerts = 1000
	// MaxMaxAlerts is the largest max_alerts accepted: beyond it a typo
	// ("10000000000") would be taken for intent.
	MaxMaxAlerts   = 10_000_000
	DefaultTimeout = 5 * time.Second
)
