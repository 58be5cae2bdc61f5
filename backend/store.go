package backend

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Store is what users hold: one bounded, ordered store of alerts behind
// some Driver. It is safe for concurrent use. Open one with registry.Open
// (by DSN) or NewStore (from a driver in code).
//
// Store is where the portable rules live, so that every backend keeps
// them the same way: alerts are validated before any I/O, get an id and a
// timestamp if they lack them, are written whole or not at all, and are
// read back decoded and filtered, with foreign entries skipped and counted
// instead of failing the call. Every call gets a deadline (Config.Timeout)
// unless its ctx already has an earlier one.
type Store struct {
	drv     Driver
	name    string
	cfg     Config
	now     func() time.Time
	closed  atomic.Bool
	closeMu sync.Mutex
	obs     Observer // observer.go
}

// NewStore wraps a driver. name is the backend's scheme (used in errors);
// cfg zero fields take their defaults. The Store owns the driver: Close
// closes it.
func NewStore(drv Driver, name string, cfg Config) *Store {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.MaxAlerts <= 0 {
		cfg.MaxAlerts = DefaultMaxAlerts
	}
	if cfg.MaxAlertBytes <= 0 {
		cfg.MaxAlertBytes = DefaultMaxAlertBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Store{drv: drv, name: name, cfg: cfg, now: time.Now}
}

// Backend is the scheme of the backend behind the store.
func (s *Store) Backend() string { return s.name }

// Config returns the configuration the store was opened with.
func (s *Store) Config() Config { return s.cfg }

// Capabilities reports what the backend supports.
func (s *Store) Capabilities() Capabilities { return s.drv.Capabilities() }

// As is the escape hatch to what the backend is built on, in the way of
// gocloud.dev's As: i is a pointer to a type the backend supports (its
// package doc lists them: a client library's client, a status value), and
// As sets *i and reports true, or reports false and leaves i alone. Code
// that uses As is tied to one backend; calls made on what it returns
// bypass the Store's validation and namespacing.
func (s *Store) As(i any) bool {
	if i == nil {
		return false
	}
	a, ok := s.drv.(Aser)
	return ok && a.As(i)
}

func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var e *Error
	if errors.As(err, &e) && e.Backend == s.name && e.Op == op {
		return err
	}
	return &Error{Op: op, Backend: s.name, Err: err}
}

// ready is what every call checks before its I/O: the Store is open and
// ctx has not ended.
func (s *Store) ready(ctx context.Context, op string) error {
	if s.closed.Load() {
		return s.wrap(op, ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return s.wrap(op, err)
	}
	return nil
}

func (s *Store) begin(ctx context.Context, op string) (context.Context, context.CancelFunc, error) {
	if err := s.ready(ctx, op); err != nil {
		return nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= s.cfg.Timeout {
		// Bounded already, and sooner than Timeout would: a context of
		// our own would cost a timer and change nothing.
		return ctx, func() {}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	return ctx, cancel, nil
}

// Store validates and stores one alert. An alert without an id gets a
// fresh time-ordered one (UUIDv7), and one without a timestamp gets the
// current time; both are set on a itself before the write, so the caller
// learns the id, and retrying a failed Store with the same a stores the
// same id (List returns it once).
func (s *Store) Store(ctx context.Context, a *Alert) error {
	if a == nil {
		err := s.wrap("store", &AlertError{Index: -1, Err: fmt.Errorf("%w: nil alert", ErrInvalidAlert)})
		s.observe("store", 1, 0, err, s.started())
		return err
	}
	start := s.started()
	err := s.storeBatch(ctx, "store", []*Alert{a}, -1)
	s.observe("store", 1, 0, err, start)
	return err
}

// StoreBatch stores alerts in order. Every alert is validated first: if one
// is invalid, none is stored and the error (an *AlertError) names its
// index. A nil or empty batch is a no-op.
func (s *Store) StoreBatch(ctx context.Context, alerts []*Alert) error {
	start := s.started()
	err := s.storeBatch(ctx, "store", alerts, 0)
	if len(alerts) > 0 {
		s.observe("store", len(alerts), 0, err, start)
	}
	return err
}

func (s *Store) storeBatch(ctx context.Context, op string, alerts []*Alert, index0 int) error {
	if len(alerts) == 0 {
		if s.closed.Load() {
			return s.wrap(op, ErrClosed)
		}
		return nil
	}
	encoded, err := s.encode(alerts, index0)
	if err != nil {
		return s.wrap(op, err)
	}
	if ba, ok := s.drv.(BoundedAppender); ok {
		// The driver sets a deadline of its own anyway (the chain): it
		// takes the Store's Timeout instead of a second context.
		if err := s.ready(ctx, op); err != nil {
			return err
		}
		return s.wrap(op, ba.AppendWithin(ctx, encoded, s.cfg.Timeout))
	}
	ctx, cancel, err := s.begin(ctx, op)
	if err != nil {
		return err
	}
	defer cancel()
	return s.wrap(op, s.drv.Append(ctx, encoded))
}

// encode is the portable write path: it validates every alert (unless
// it was validated since its last change, as a decoded alert is), gives
// each an id and a timestamp if it lacks them, signs it when the store
// has keys, and returns the bytes to append, the alerts' own.
func (s *Store) encode(alerts []*Alert, index0 int) ([][]byte, error) {
	var now time.Time // read once, and only if an alert has no timestamp
	needIDs := 0
	for i, a := range alerts {
		idx := i
		if index0 < 0 {
			idx = -1
		}
		if a == nil {
			return nil, &AlertError{Index: idx, Err: fmt.Errorf("%w: nil alert", ErrInvalidAlert)}
		}
		if err := a.validate(); err != nil {
			return nil, reindex(err, idx)
		}
		if !a.idx[fID].ok() {
			needIDs++
		}
	}
	// The ids the batch needs, drawn at once, in the batch's order.
	var idBuf [1]uuid.UUID
	ids := idBuf[:]
	if needIDs > len(idBuf) {
		ids = make([]uuid.UUID, needIDs)
	}
	ids = ids[:needIDs]
	newIDs(ids)
	encoded := make([][]byte, len(alerts))
	for i, a := range alerts {
		idx := i
		if index0 < 0 {
			idx = -1
		}
		// Identity is given before the write, on the caller's alert: if
		// the write fails ambiguously (a timeout after the server applied
		// it), retrying the same *Alert stores the same id, and readers
		// de-duplicate by id. That is how a retry stays exactly-once for
		// the reader.
		if now.IsZero() && !a.idx[fTimestamp].ok() {
			now = s.now()
		}
		if !a.idx[fID].ok() {
			a.ensureIdentity(now, ids[0])
			ids = ids[1:]
		} else {
			a.ensureIdentity(now, uuid.UUID{})
		}
		if s.cfg.Sign != nil {
			s.cfg.Sign.Sign(a)
		}
		// The alert's own bytes, not a copy: the driver may keep them,
		// so the alert never writes them in place again (shared).
		b := a.encoded()
		a.shared = true
		if len(b) > s.cfg.MaxAlertBytes {
			return nil, &AlertError{Index: idx, Err: fmt.Errorf("%w (%d bytes, cap %d; raise max_alert_bytes or trim features)", ErrTooLarge, len(b), s.cfg.MaxAlertBytes)}
		}
		encoded[i] = b
	}
	return encoded, nil
}

func reindex(err error, idx int) error {
	var ae *AlertError
	if errors.As(err, &ae) {
		c := *ae
		c.Index = idx
		return &c
	}
	return &AlertError{Index: idx, Err: err}
}

// List returns alerts newest first, filtered and paged by q. Entries that
// are not valid alerts are skipped and counted in Page.Skipped, never an
// error. Within one page an id is returned once per distinct content:
// identical copies are counted in Page.Duplicates, copies that differ are
// all listed and flagged (Page.Conflicts, Alert.IDConflict).
//
// A List is bounded whatever the storage holds, so that nobody who can
// append to it can stall a reader:
//   - it examines at most Config.MaxAlerts entries (its scan budget: a
//     store within its cap never needs more), and sets Page.Stopped when
//     it stopped there before filling the page or reaching the oldest
//     entry; Page.Next then continues from there;
//   - entries over Config.MaxAlertBytes are skipped and counted in
//     Page.Oversized; drivers that can leave them in storage unread;
//   - decoding is linear in an entry's size, and ctx is checked between
//     entries: when the deadline passes, List fails with an error wrapping
//     ErrUnavailable, never a page decoded past its deadline;
//   - it holds the page (limit alerts) and one chunk of entries, at most
//     16 MiB, 16 entries or limit entries, whichever is more, and keeps
//     at most 16 MiB of earlier entries to compare later copies of their
//     ids with.
func (s *Store) List(ctx context.Context, q Query) (*Page, error) {
	start := s.started()
	p, err := s.list(ctx, q)
	n, skipped := 0, 0
	if p != nil {
		n, skipped = len(p.Alerts), p.Skipped+p.Oversized
	}
	s.observe("list", n, skipped, err, start)
	return p, err
}

func (s *Store) list(ctx context.Context, q Query) (*Page, error) {
	limit, before, after, err := q.check()
	if err == nil && q.Verified && s.cfg.Sign == nil {
		err = fmt.Errorf("%w: verified alerts asked for, but the store has no signing keys (sign_key_file=)", ErrInvalidQuery)
	}
	if err != nil {
		return nil, s.wrap("list", err)
	}
	ctx, cancel, err := s.begin(ctx, "list")
	if err != nil {
		return nil, err
	}
	defer cancel()

	page := &Page{Alerts: make([]*Alert, 0, min(limit, 1024))}
	r := newPageReader(page, s.cfg.MaxAlertBytes)
	budget := s.cfg.MaxAlerts
	// A chunk is at most a page or 16 MiB of entries, whichever is more:
	// the page is held anyway, and a page fetched in two halves would
	// cost a second round trip for nothing.
	chunkMax := max(listChunkMax(s.cfg.MaxAlertBytes), limit)
	toSkip := q.Offset
	// Fetch in chunks sized to the request, doubling when filters reject
	// much, so that "the newest 100" costs one round trip and a sparse
	// filter a few.
	chunk := min(max(limit+toSkip, 16), chunkMax)
	for {
		chunk = min(chunk, budget-page.Examined)
		entries, err := s.drv.Scan(ctx, before, chunk)
		if err != nil {
			return nil, s.wrap("list", err)
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return nil, s.wrap("list", err)
			}
			if after > 0 && e.Pos <= after {
				page.AfterReached = true
				return page, nil
			}
			before = e.Pos
			a := r.admit(e)
			if a == nil || !s.verify(a, page, q.Verified) || !q.match(a) {
				continue
			}
			a.pos = e.Pos
			if toSkip > 0 {
				toSkip--
				continue
			}
			page.Alerts = append(page.Alerts, a)
			r.listed(a)
			if len(page.Alerts) == limit {
				page.Next = formatCursor(e.Pos)
				return page, nil
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, s.wrap("list", err)
		}
		if len(entries) < chunk {
			return page, nil
		}
		if page.Examined >= budget {
			// Stopped only if there is more: a store of exactly its cap
			// ends here.
			more, err := s.drv.Scan(ctx, before, 1)
			if err != nil {
				return nil, s.wrap("list", err)
			}
			if len(more) > 0 && after > 0 && more[0].Pos <= after {
				page.AfterReached = true
			} else if len(more) > 0 {
				page.Stopped = true
				page.Next = formatCursor(before)
			}
			return page, nil
		}
		chunk = min(chunk*2, chunkMax)
	}
}

// Count returns how many entries the store holds, including foreign
// entries that List would skip (it is the LLEN of the Redis layout).
func (s *Store) Count(ctx context.Context) (n int64, err error) {
	defer func(start time.Time) { s.observe("count", int(n), 0, err, start) }(s.started())
	ctx, cancel, err := s.begin(ctx, "count")
	if err != nil {
		return 0, err
	}
	defer cancel()
	n, err = s.drv.Count(ctx)
	return n, s.wrap("count", err)
}

// Clear removes every alert of this store's namespace.
func (s *Store) Clear(ctx context.Context) (err error) {
	defer func(start time.Time) { s.observe("clear", 0, 0, err, start) }(s.started())
	ctx, cancel, err := s.begin(ctx, "clear")
	if err != nil {
		return err
	}
	defer cancel()
	return s.wrap("clear", s.drv.Clear(ctx))
}

// Ping checks that the backend answers within the deadline.
func (s *Store) Ping(ctx context.Context) (err error) {
	defer func(start time.Time) { s.observe("ping", 0, 0, err, start) }(s.started())
	ctx, cancel, err := s.begin(ctx, "ping")
	if err != nil {
		return err
	}
	defer cancel()
	return s.wrap("ping", s.drv.Ping(ctx))
}

// Close releases the store. Calls after Close, and a second Close, return
// an error wrapping ErrClosed. Close does not wait for calls in flight; they
// finish or fail on their own deadlines.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed.Swap(true) {
		return s.wrap("close", ErrClosed)
	}
	return s.wrap("close", s.drv.Close())
}

// Watch delivers alerts stored after it returns, in order, from every
// writer sharing the namespace. It returns an error wrapping ErrUnsupported
// when Capabilities().Watch is false.
func (s *Store) Watch(ctx context.Context) (*Watch, error) {
	if s.closed.Load() {
		return nil, s.wrap("watch", ErrClosed)
	}
	w, ok := WatcherOf(s.drv)
	if !ok {
		return nil, s.wrap("watch", fmt.Errorf("%w: backend %s does not declare watch", ErrUnsupported, s.name))
	}
	sub, err := w.Watch(ctx)
	if err != nil {
		return nil, s.wrap("watch", err)
	}
	return &Watch{sub: sub, s: s}, nil
}

// Drop removes the store's namespace entirely, bookkeeping included (see
// Dropper): for tools that clean up scratch namespaces. It returns an
// error wrapping ErrUnsupported when Capabilities().Drop is false; Clear
// is then the way to empty the namespace.
func (s *Store) Drop(ctx context.Context) error {
	dr, ok := DropperOf(s.drv)
	if !ok {
		if s.closed.Load() {
			return s.wrap("drop", ErrClosed)
		}
		return s.wrap("drop", fmt.Errorf("%w: backend %s does not declare drop", ErrUnsupported, s.name))
	}
	ctx, cancel, err := s.begin(ctx, "drop")
	if err != nil {
		return err
	}
	defer cancel()
	return s.wrap("drop", dr.Drop(ctx))
}

// Watch is a live subscription to newly stored alerts.
type Watch struct {
	sub     Subscription
	s       *Store
	skipped atomic.Int64
}

// Next blocks until the next alert arrives or ctx is done. A consumer that
// fell behind gets an error wrapping ErrLagged once; the stream then goes
// on. Entries that are not valid alerts are skipped (see Skipped).
func (w *Watch) Next(ctx context.Context) (*Alert, error) {
	for {
		e, err := w.sub.Next(ctx)
		if err != nil {
			return nil, w.s.wrap("watch", err)
		}
		a, err := decodeStored(e.Data, w.s.cfg.MaxAlertBytes)
		if err != nil {
			w.skipped.Add(1)
			continue
		}
		a.pos = e.Pos
		w.s.verify(a, nil, false)
		return a, nil
	}
}

// Skipped counts delivered entries that were not valid alerts.
func (w *Watch) Skipped() int64 { return w.skipped.Load() }

// Close ends the subscription.
func (w *Watch) Close() error { return w.sub.Close() }

// decodeStored decodes an entry read from storage. Besides DecodeAlert's
// rules, a stored alert must have a timestamp: every Store adds one and the
// system we replace always wrote one, so an entry without it ({} or
// {"x":1}) was put there by some other tool and is skipped, not shown as an
// empty alert.
//
// The alert keeps data when it is compact already (the Driver contract:
// an entry's Data is not modified once returned), so that reading the
// entries a Store wrote copies nothing.
func decodeStored(data []byte, maxBytes int) (*Alert, error) {
	a, err := decodeAlert(data, maxBytes, true)
	if err != nil {
		return nil, err
	}
	if _, ok := a.Get(FieldTimestamp); !ok {
		return nil, &AlertError{Index: -1, Field: FieldTimestamp, Err: ErrMissingTimestamp}
	}
	return a, nil
}
