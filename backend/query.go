package backend

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Query selects alerts for List. The zero Query lists the newest
// DefaultLimit alerts.
type Query struct {
	// Limit is the most alerts to return: 0 means DefaultLimit; at most
	// MaxLimit.
	Limit int
	// Offset skips that many matching alerts first. It cannot be combined
	// with Cursor. Offsets move when alerts are added; use Cursor to page
	// through a store that is being written to.
	Offset int
	// Cursor continues after the last alert of a previous page (its
	// Page.Next). Empty starts at the newest alert.
	Cursor string

	// Severities keeps only alerts whose severity is one of these.
	Severities []Severity
	// MinSeverity keeps only alerts at or above it.
	MinSeverity Severity
	// Entity keeps only alerts about this entity (exact match).
	Entity string
	// SourceType keeps only alerts whose source.type is this.
	SourceType string
	// Since and Until keep alerts with Since <= timestamp < Until. A zero
	// bound is open. Alerts without a timestamp never match a bounded
	// window.
	Since, Until time.Time
	// Verified keeps only alerts whose signature verifies (see Keyring);
	// it needs a Store opened with signing keys (sign_key_file=).
	Verified bool
}

// Limits of Query.Limit.
const (
	DefaultLimit = 100
	MaxLimit     = 100_000
)

// Page is one page of List results.
type Page struct {
	// Alerts, newest first.
	Alerts []*Alert
	// Next continues after the last alert of this page; empty when the
	// oldest entry was reached. A non-empty Next may lead to an empty page.
	Next string
	// Skipped counts stored entries that were examined but are not valid
	// alerts (written by another tool, truncated, over the size cap).
	Skipped int
	// Duplicates counts entries whose id was already returned in this
	// page (an alert stored twice, e.g. replayed after an ambiguous write).
	// Only identical copies are counted here and left out; a copy whose
	// content differs is a conflict (see Conflicts).
	Duplicates int
	// Oversized counts the skipped entries (included in Skipped) that are
	// over max_alert_bytes. The Redis and Valkey backends leave them on
	// the server: their bytes are never transferred.
	Oversized int
	// Conflicts lists the ids, in the order found, of which this List
	// examined copies with different content: a later entry reusing an
	// alert's id (a forgery, or a broken writer). Every copy is listed
	// where it matches the query, never one chosen over another, and
	// each listed copy reports IDConflict.
	Conflicts []string
	// Examined counts the stored entries this List read.
	Examined int
	// Stopped is set when List stopped at its scan budget (ScanBudget)
	// before filling the page or reaching the oldest entry: the storage
	// holds more entries than the store's cap (another tool appended
	// without trimming). Next continues after the last entry examined.
	Stopped bool
	// Unsigned and Invalid count the alerts examined (filters aside) that
	// carry no signature, or one that does not verify, when the Store has
	// signing keys; both 0 otherwise. See Alert.Verification.
	Unsigned, Invalid int
}

func (q *Query) check() (limit int, before int64, err error) {
	limit = q.Limit
	switch {
	case limit < 0:
		return 0, 0, fmt.Errorf("%w: limit %d is negative", ErrInvalidQuery, limit)
	case limit == 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		return 0, 0, fmt.Errorf("%w: limit %d is over %d", ErrInvalidQuery, limit, MaxLimit)
	}
	if q.Offset < 0 {
		return 0, 0, fmt.Errorf("%w: offset %d is negative", ErrInvalidQuery, q.Offset)
	}
	if q.Offset > 0 && q.Cursor != "" {
		return 0, 0, fmt.Errorf("%w: use offset or cursor, not both", ErrInvalidQuery)
	}
	if q.Cursor != "" {
		before, err = parseCursor(q.Cursor)
		if err != nil {
			return 0, 0, err
		}
	}
	for _, s := range q.Severities {
		if s <= SeverityUnknown || s > SeverityCritical {
			return 0, 0, fmt.Errorf("%w: severity %v", ErrInvalidQuery, s)
		}
	}
	if q.MinSeverity < SeverityUnknown || q.MinSeverity > SeverityCritical {
		return 0, 0, fmt.Errorf("%w: min severity %v", ErrInvalidQuery, q.MinSeverity)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return 0, 0, fmt.Errorf("%w: since %s is not before until %s", ErrInvalidQuery, q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	return limit, before, nil
}

// Match reports whether a passes q's filters (severities, entity, source
// type, time window), as List applies them; paging fields and Verified are
// not filters of a single alert and are ignored. A follower of Store.Watch
// uses it to show what a List with the same Query would show.
func (q *Query) Match(a *Alert) bool { return q.match(a) }

func (q *Query) match(a *Alert) bool {
	if len(q.Severities) > 0 {
		ok := false
		for _, s := range q.Severities {
			if a.Severity() == s {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if q.MinSeverity > SeverityUnknown && a.Severity() < q.MinSeverity {
		return false
	}
	if q.Entity != "" && !a.is(fEntity, q.Entity) {
		return false
	}
	if q.SourceType != "" && !a.is(fSourceType, q.SourceType) {
		return false
	}
	if !q.Since.IsZero() || !q.Until.IsZero() {
		t := a.Time()
		if t.IsZero() {
			return false
		}
		if !q.Since.IsZero() && t.Before(q.Since) {
			return false
		}
		if !q.Until.IsZero() && !t.Before(q.Until) {
			return false
		}
	}
	return true
}

// Cursors are "p" and a position in base 36: opaque to users, cheap to
// check, and never mistaken for an offset.
func formatCursor(pos int64) string { return "p" + strconv.FormatInt(pos, 36) }

func parseCursor(c string) (int64, error) {
	if !strings.HasPrefix(c, "p") {
		return 0, fmt.Errorf("%w: malformed cursor %q", ErrInvalidQuery, c)
	}
	pos, err := strconv.ParseInt(c[1:], 36, 64)
	if err != nil || pos <= 0 {
		return 0, fmt.Errorf("%w: malformed cursor %q", ErrInvalidQuery, c)
	}
	return pos, nil
}
