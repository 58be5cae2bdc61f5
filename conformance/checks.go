package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/apt-detection/alertstore/backend"
)

// Checks lists the suite's rules in the order they run. Their names are
// stable; see docs/writing-a-backend.md for the list with explanations.
func Checks() []Check {
	return []Check{
		{"RoundTripLegacyFormat", "alerts in the old system's JSON format are stored and listed back with every field semantically identical, severity spelling and timestamp string included", checkRoundTripLegacy},
		{"AssignsIDAndTimestamp", "an alert stored without id or timestamp gets a unique id and a timestamp, set on the caller's alert and stored", checkAssignsIdentity},
		{"KeepsGivenID", "an alert's own id is kept as given", checkKeepsID},
		{"NewestFirst", "List returns alerts newest first, in the order they were stored", checkNewestFirst},
		{"BatchOrder", "a batch is stored in its order, as if stored one by one", checkBatchOrder},
		{"CapDropsOldest", "with max_alerts N the store keeps exactly the newest N alerts", checkCap},
		{"CapBatchLargerThanCap", "a batch larger than max_alerts leaves its newest max_alerts alerts", checkCapBatch},
		{"FilterSeverities", "a severity-set filter returns exactly the alerts of those severities, whatever their spelling", checkFilterSeverities},
		{"FilterMinSeverity", "a minimum-severity filter returns exactly the alerts at or above it", checkFilterMinSeverity},
		{"FilterEntity", "an entity filter returns exactly that entity's alerts", checkFilterEntity},
		{"FilterSourceType", "a source-type filter matches source.type exactly", checkFilterSource},
		{"FilterTimeWindow", "a time window keeps since <= timestamp < until, naive timestamps read as UTC", checkFilterTime},
		{"FiltersCombine", "filters combine with AND", checkFiltersCombine},
		{"PagingOffset", "offset paging skips exactly that many matching alerts", checkPagingOffset},
		{"PagingCursor", "cursor paging visits every alert once, newest first, and ends", checkPagingCursor},
		{"PagingCursorStableUnderWrites", "a cursor continues after its page even when newer alerts arrive in between", checkCursorUnderWrites},
		{"InvalidQuery", "a malformed query fails with ErrInvalidQuery before any I/O", checkInvalidQuery},
		{"Count", "Count reports the number of stored entries", checkCount},
		{"Clear", "Clear empties the namespace and the store keeps working", checkClear},
		{"ConcurrentWriters", "concurrent writers' alerts are all present, none duplicated", checkConcurrentWriters},
		{"DeadlineAndCancel", "a call whose ctx is done fails with the ctx's error (or ErrUnavailable) and stores nothing", checkDeadline},
		{"UseAfterClose", "every call after Close fails with ErrClosed, through the Store and on the driver, and a second Close does not panic", checkUseAfterClose},
		{"InvalidAlertsRejected", "invalid alerts are rejected with ErrInvalidAlert and its precise kind, and a batch with one stores none", checkInvalidRejected},
		{"ForeignEntriesSkipped", "entries that are not alerts are skipped and counted by List, never an error", checkForeignSkipped},
		{"DuplicateIDsListedOnce", "an alert stored twice with one id is listed once per page", checkDuplicateIDs},
		{"PreservesNumbersAndUnicode", "numbers keep their exact digits and text its characters", checkPreserves},
		{"AlertNearSizeCap", "an alert just under max_alert_bytes is stored; just over is rejected with ErrTooLarge", checkSizeCap},
		{"Ping", "Ping succeeds on an open store", checkPing},
		{"Watch", "with the watch capability, every alert stored after Watch is delivered in order, from this and other stores on the namespace; without it, Watch fails with ErrUnsupported", checkWatch},
		{"SharedNamespace", "with the shared capability, two stores on one namespace see each other's writes; without it they do not", checkShared},
		{"NamespacesIsolated", "two prefixes never see each other's alerts", checkIsolated},
		{"Drop", "with the drop capability, Store.Drop removes the namespace and the store keeps working on it, starting empty; without it, the driver does not implement Dropper and Store.Drop fails with ErrUnsupported", checkDrop},
		{"PersistentReopen", "with the persistent capability, alerts survive Close and reopen; without it, a reopened store is empty", checkPersistent},
		{"CapabilitiesMatchInterfaces", "every capability that names an interface (watch, drop, drain, namespace) is declared exactly when the driver implements it, durable implies persistent, capabilities never change, and As refuses what it does not support", checkCapabilitiesMatch},
		{"Drain", "with the drain capability, Oldest returns entries oldest first after a position and Remove deletes exactly those up to a position, again without error, with later positions greater; without it, the driver does not implement Drainer", checkDrain},
		{"NamespaceCap", "with the namespace capability, the first append records the writer's cap; a writer without max_alerts trims to the recorded cap; a writer whose explicit cap is lower is refused with ErrInvalidConfig naming both values and stores nothing; SetCap changes the cap deliberately and leaves an audit record; without it, NamespaceInfo and SetCap fail with ErrUnsupported", checkNamespaceCap},
		{"ClearAudited", "with the namespace capability, every Clear leaves an audit record (time, client name, entries before), newest first; without it, NamespaceInfo fails with ErrUnsupported", checkClearAudited},
		{"Durable", "with the durable capability, the backend is also persistent and an acknowledged alert is found by another open while the writer is still open (no Close ran); a process crash itself is checked by CrashTest, outside the suite", checkDurable},
		{"SameIDConflictShown", "a later entry with an alert's id and other content does not hide it: List returns both copies, flagged (Page.Conflicts, Alert.IDConflict), also under a filter only the first matches", checkSameIDConflict},
	}
}

// --- helpers ---------------------------------------------------------------

func mustParse(raw []byte) *backend.Alert {
	a, err := backend.ParseAlert(raw)
	if err != nil {
		panic(fmt.Sprintf("fixture does not parse: %v", err))
	}
	return a
}

// mk builds a small alert: entity, severity word, source type, timestamp.
func mk(entity, sev, src, ts string) *backend.Alert {
	m := map[string]any{"entity": entity, "entity_type": "host", "event_type": "test", "message": "conformance " + entity}
	if sev != "" {
		m["severity"] = sev
	}
	if src != "" {
		m["source"] = map[string]any{"type": src}
	}
	if ts != "" {
		m["timestamp"] = ts
	}
	b, _ := json.Marshal(m)
	return mustParse(b)
}

func seq(prefix string, n int) []*backend.Alert {
	out := make([]*backend.Alert, n)
	for i := range out {
		out[i] = mk(fmt.Sprintf("%s%03d", prefix, i), "Medium", "test", "")
	}
	return out
}

func listAll(ctx context.Context, s *backend.Store, q backend.Query) ([]*backend.Alert, *backend.Page, error) {
	if q.Limit == 0 {
		q.Limit = backend.MaxLimit
	}
	p, err := s.List(ctx, q)
	if err != nil {
		return nil, nil, fmt.Errorf("List(%+v): %w", q, err)
	}
	return p.Alerts, p, nil
}

func entities(as []*backend.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Entity()
	}
	return out
}

func reversed(as []*backend.Alert) []string {
	e := entities(as)
	for i, j := 0, len(e)-1; i < j; i, j = i+1, j-1 {
		e[i], e[j] = e[j], e[i]
	}
	return e
}

func ids(as []*backend.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID()
	}
	return out
}

func equalStrings(got, want []string) error {
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("got %d alerts %v, want %d %v", len(got), abbreviate(got), len(want), abbreviate(want))
	}
	return nil
}

func abbreviate(s []string) []string {
	if len(s) <= 12 {
		return s
	}
	return append(append(append([]string{}, s[:6]...), "..."), s[len(s)-5:]...)
}

func semantic(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func openDefault(ctx context.Context, e *Env) (*backend.Store, error) { return e.Open(ctx, nil) }
