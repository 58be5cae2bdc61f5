package backend

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by a Store wraps at most one of
// these, so callers branch with errors.Is and never on message text.
var (
	// ErrNotFound reports that a named thing (a backend scheme, a
	// namespace, a cursor position) does not exist.
	ErrNotFound = errors.New("alertstore: not found")

	// ErrClosed reports a call on a Store (or Watch) after Close.
	ErrClosed = errors.New("alertstore: store is closed")

	// ErrUnavailable reports that the storage behind a Store could not be
	// reached or did not answer within the call's deadline. The alert(s)
	// of a failed write were not acknowledged; retrying is the caller's
	// decision (a chain backend makes it for you).
	ErrUnavailable = errors.New("alertstore: backend unavailable")

	// ErrInvalidAlert reports an alert that fails validation. The more
	// precise kinds below wrap it.
	ErrInvalidAlert = errors.New("alertstore: invalid alert")

	// ErrInvalidConfig reports a bad DSN, option or parameter, at open
	// time, before any I/O.
	ErrInvalidConfig = errors.New("alertstore: invalid config")

	// ErrInvalidQuery reports a bad List query (a malformed cursor, a
	// negative limit, both an offset and a cursor).
	ErrInvalidQuery = errors.New("alertstore: invalid query")

	// ErrLagged reports that a Watch consumer fell so far behind that the
	// backend had to drop notifications for it. Nothing was lost from the
	// store; List from the last alert seen to catch up.
	ErrLagged = errors.New("alertstore: watch fell behind, notifications were dropped")

	// ErrSecurity reports that the storage could not be trusted or would
	// not trust us: a TLS certificate that fails verification (unknown
	// authority, a name it was not issued for, expired), a TLS handshake
	// the peer refused (a client certificate missing or rejected), or the
	// server refusing our credentials or rights (WRONGPASS, NOAUTH,
	// NOPERM). It never wraps ErrUnavailable: retrying, or falling back to
	// another backend, does not cure it; an operator has to look. A chain
	// fails the call on it instead of falling back (backends/chain).
	ErrSecurity = errors.New("alertstore: security check failed")

	// ErrUnsupported is errors.ErrUnsupported: an optional capability the
	// backend does not declare.
	ErrUnsupported = errors.ErrUnsupported
)

// The precise validation failures. Each wraps ErrInvalidAlert, so
// errors.Is(err, ErrInvalidAlert) holds for all of them.
var (
	ErrNotObject     = fmt.Errorf("%w: not a JSON object", ErrInvalidAlert)
	ErrInvalidUTF8   = fmt.Errorf("%w: not valid UTF-8", ErrInvalidAlert)
	ErrTooLarge      = fmt.Errorf("%w: larger than the size cap", ErrInvalidAlert)
	ErrBadSeverity   = fmt.Errorf("%w: unknown severity", ErrInvalidAlert)
	ErrBadTimestamp  = fmt.Errorf("%w: unparsable timestamp", ErrInvalidAlert)
	ErrDuplicateKey  = fmt.Errorf("%w: duplicate key", ErrInvalidAlert)
	ErrBadFieldType  = fmt.Errorf("%w: field has the wrong JSON type", ErrInvalidAlert)
	ErrMalformedJSON = fmt.Errorf("%w: malformed JSON", ErrInvalidAlert)
	// ErrMissingTimestamp is reported only for stored entries: see
	// Store.List.
	ErrMissingTimestamp = fmt.Errorf("%w: stored entry has no timestamp", ErrInvalidAlert)
)

// Error is the one structured error a Store returns: which operation on
// which backend failed, and why. It is added once, at the portable layer,
// so drivers return plain (sentinel-wrapping) errors.
type Error struct {
	Op      string // "store", "list", "count", "clear", "ping", "watch", "close", "open"
	Backend string // the scheme, e.g. "goredis"
	Err     error
}

func (e *Error) Error() string {
	return "alertstore: " + e.Backend + ": " + e.Op + ": " + trimPrefix(e.Err.Error())
}

func (e *Error) Unwrap() error { return e.Err }

// AlertError locates a validation failure: which alert of a batch (Index,
// -1 for a single alert) and which field, if one is to blame.
type AlertError struct {
	Index int
	Field string
	Err   error // wraps ErrInvalidAlert
}

func (e *AlertError) Error() string {
	msg := trimPrefix(e.Err.Error())
	if e.Field != "" {
		msg = "field " + fmt.Sprintf("%q", e.Field) + ": " + msg
	}
	if e.Index >= 0 {
		msg = fmt.Sprintf("alert %d: %s", e.Index, msg)
	}
	return msg
}

func (e *AlertError) Unwrap() error { return e.Err }

// trimPrefix drops a leading "alertstore: " so that wrapped messages do not
// repeat it.
func trimPrefix(s string) string {
	const p = "alertstore: "
	for len(s) >= len(p) && s[:len(p)] == p {
		s = s[len(p):]
	}
	return s
}
