package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/notify"
	"github.com/apt-detection/alertstore/registry"
)

// Scheme is the DSN scheme; Alias is its long spelling.
const (
	Scheme = "mem"
	Alias  = "memory"
)

// DefaultMaxBytes bounds a store's total size when max_bytes is not given.
const DefaultMaxBytes = 64 << 20

func init() {
	registry.Register(Scheme, open)
	registry.RegisterAlias(Alias, Scheme)
}

func open(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
	maxBytes, err := dsn.Int("max_bytes", DefaultMaxBytes, 1024, 1<<40)
	if err != nil {
		return nil, err
	}
	if dsn.Path() != "" && dsn.Path() != "/" {
		return nil, dsn.Errorf("unexpected path %q (the name goes in the host part: mem://name)", dsn.Path())
	}
	if dsn.Username() != "" {
		return nil, dsn.Errorf("mem:// takes no user info")
	}
	if err := dsn.Unknown(); err != nil {
		return nil, err
	}
	return Open(dsn.Host(), cfg, &Options{MaxBytes: maxBytes}), nil
}

// Options are the memory backend's own settings.
type Options struct {
	// MaxBytes bounds the total size of stored alerts. Default
	// DefaultMaxBytes.
	MaxBytes int
	// WatchBuffer is how many notifications a watcher may lag before it
	// gets ErrLagged. Default 1024.
	WatchBuffer int
}

var (
	namedMu sync.Mutex
	named   = map[string]*ring{}
)

// Open returns a driver. A non-empty name shares its data with every other
// driver opened with that name and cfg.Prefix in this process.
func Open(name string, cfg backend.Config, opts *Options) backend.Driver {
	if opts == nil {
		opts = &Options{}
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.WatchBuffer <= 0 {
		opts.WatchBuffer = 1024
	}
	if cfg.MaxAlerts <= 0 {
		cfg.MaxAlerts, cfg.MaxAlertsDefault = backend.DefaultMaxAlerts, true
	}
	if cfg.Prefix == "" {
		cfg.Prefix = backend.DefaultPrefix
	}
	if name == "" {
		return &driver{r: newRing(cfg.MaxAlerts, opts.MaxBytes, opts.WatchBuffer), shared: false, cfg: cfg}
	}
	key := name + "\x00" + cfg.Prefix
	namedMu.Lock()
	defer namedMu.Unlock()
	r, ok := named[key]
	if !ok {
		r = newRing(cfg.MaxAlerts, opts.MaxBytes, opts.WatchBuffer)
		named[key] = r
	}
	// Each opener brings its own cap, as each Redis client brings its own
	// LTRIM bound; the namespace's recorded cap decides what it may trim
	// to (see keeper).
	return &keeper{&driver{r: r, shared: true, maxAlerts: cfg.MaxAlerts, maxBytes: opts.MaxBytes, cfg: cfg}}
}

// ring is the shared state: a circular buffer of entries with contiguous
// positions, so that locating a cursor is arithmetic, not a search.
type ring struct {
	mu        sync.Mutex
	buf       []backend.Entry // circular, len == capacity grown on demand
	head      int             // index of the oldest entry
	n         int
	bytes     int
	nextPos   int64
	maxAlerts int
	maxBytes  int
	watchBuf  int
	subs      map[*notify.Queue]struct{}

	// The namespace's record (named stores only, see keeper).
	recordedCap int
	audit       []backend.AuditRecord // oldest first, at most AuditKeep
}

func newRing(maxAlerts, maxBytes, watchBuf int) *ring {
	return &ring{nextPos: 1, maxAlerts: maxAlerts, maxBytes: maxBytes, watchBuf: watchBuf, subs: map[*notify.Queue]struct{}{}}
}

func (r *ring) at(i int) *backend.Entry { return &r.buf[(r.head+i)%len(r.buf)] }

func (r *ring) dropOldest() {
	e := r.at(0)
	r.bytes -= len(e.Data)
	*e = backend.Entry{}
	r.head = (r.head + 1) % len(r.buf)
	r.n--
}

func (r *ring) grow() {
	c := len(r.buf) * 2
	if c == 0 {
		c = 16
	}
	if c > r.maxAlerts {
		c = r.maxAlerts
	}
	nb := make([]backend.Entry, c)
	for i := 0; i < r.n; i++ {
		nb[i] = *r.at(i)
	}
	r.buf, r.head = nb, 0
}

func (r *ring) append(data [][]byte, maxAlerts, maxBytes int) {
	if maxAlerts > 0 {
		r.maxAlerts, r.maxBytes = maxAlerts, maxBytes
	}
	for _, d := range data {
		for r.n > 0 && (r.n >= r.maxAlerts || r.bytes+len(d) > r.maxBytes) {
			r.dropOldest()
		}
		if r.n == len(r.buf) {
			r.grow()
		}
		e := backend.Entry{Pos: r.nextPos, Data: append([]byte(nil), d...)}
		r.nextPos++
		*r.at(r.n) = e
		r.n++
		r.bytes += len(d)
		// Under the ring's lock, so watchers see appends in order;
		// Deliver never blocks.
		for q := range r.subs {
			q.Deliver(e)
		}
	}
}

type driver struct {
	r         *ring
	shared    bool
	cfg       backend.Config
	maxAlerts int
	maxBytes  int
	mu        sync.Mutex
	closed    bool
	mySubs    map[*notify.Queue]struct{}
}

// Namespaces implements backend.Namespacer: the prefix it was opened on.
func (d *driver) Namespaces() []backend.Namespace {
	return []backend.Namespace{{Prefix: d.cfg.Prefix}}
}

func (d *driver) check(ctx context.Context) error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return backend.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return nil
}

func (d *driver) Append(ctx context.Context, alerts [][]byte) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	d.r.mu.Lock()
	defer d.r.mu.Unlock()
	maxAlerts := d.maxAlerts
	if d.shared {
		if d.r.recordedCap == 0 {
			d.r.recordedCap = d.cfg.MaxAlerts
		}
		var err error
		if maxAlerts, err = backend.CheckCap(d.cfg, d.r.recordedCap); err != nil {
			return err
		}
	}
	d.r.append(alerts, maxAlerts, d.maxBytes)
	return nil
}

// AppendWithin implements backend.BoundedAppender. An append to memory
// waits on nothing but the ring's mutex, held by other calls only for
// their copies, so a deadline could never cut it short: the context with
// the Store's Timeout that Append would get is a timer and nothing else,
// 15% of the CPU of storing one alert (issue 10).
func (d *driver) AppendWithin(ctx context.Context, alerts [][]byte, _ time.Duration) error {
	return d.Append(ctx, alerts)
}

var _ backend.BoundedAppender = (*driver)(nil)

func (d *driver) Scan(ctx context.Context, before int64, limit int) ([]backend.Entry, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("%w: scan limit %d", backend.ErrInvalidQuery, limit)
	}
	r := d.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return nil, nil
	}
	oldest := r.at(0).Pos
	// end is the index just past the newest entry to return.
	end := r.n
	if before > 0 {
		e := int(before - oldest)
		if e < 0 {
			return nil, nil
		}
		if e < end {
			end = e
		}
	}
	out := make([]backend.Entry, 0, min(limit, end))
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, *r.at(i))
	}
	return out, nil
}

func (d *driver) Count(ctx context.Context) (int64, error) {
	if err := d.check(ctx); err != nil {
		return 0, err
	}
	d.r.mu.Lock()
	defer d.r.mu.Unlock()
	return int64(d.r.n), nil
}

func (d *driver) Clear(ctx context.Context) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	r := d.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if d.shared {
		r.record(backend.AuditRecord{Op: backend.AuditClear, Client: backend.ClientNameOf(d.cfg), Entries: int64(r.n)})
	}
	r.buf, r.head, r.n, r.bytes = nil, 0, 0, 0
	return nil
}

func (d *driver) Ping(ctx context.Context) error { return d.check(ctx) }

func (d *driver) Capabilities() backend.Capabilities {
	return backend.Capabilities{Watch: true, Shared: d.shared, Namespace: d.shared}
}

// keeper is a named store's driver: several openers share its namespace,
// so it keeps the namespace's record (backend.NamespaceKeeper). A private
// store has one writer, and nothing to protect from another.
type keeper struct{ *driver }

var _ backend.NamespaceKeeper = keeper{}

// record appends an audit record; r.mu is held.
func (r *ring) record(a backend.AuditRecord) {
	a.Time = time.Now().UTC()
	r.audit = append(r.audit, a)
	if len(r.audit) > backend.AuditKeep {
		r.audit = append([]backend.AuditRecord(nil), r.audit[len(r.audit)-backend.AuditKeep:]...)
	}
}

func (k keeper) NamespaceInfo(ctx context.Context) (backend.NamespaceInfo, error) {
	if err := k.check(ctx); err != nil {
		return backend.NamespaceInfo{}, err
	}
	r := k.r
	r.mu.Lock()
	defer r.mu.Unlock()
	info := backend.NamespaceInfo{Cap: r.recordedCap, Len: int64(r.n), Appended: -1}
	for i := len(r.audit) - 1; i >= 0; i-- {
		info.Audit = append(info.Audit, r.audit[i])
	}
	return info, nil
}

func (k keeper) SetCap(ctx context.Context, n int) error {
	if err := k.check(ctx); err != nil {
		return err
	}
	if err := backend.CheckCapValue(n); err != nil {
		return err
	}
	r := k.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record(backend.AuditRecord{Op: backend.AuditSetCap, Client: backend.ClientNameOf(k.cfg), Entries: int64(r.n), Cap: n, OldCap: r.recordedCap})
	r.recordedCap = n
	return nil
}

func (d *driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return backend.ErrClosed
	}
	d.closed = true
	subs := d.mySubs
	d.mySubs = nil
	d.mu.Unlock()
	for s := range subs {
		_ = s.Close() // ends the subscription; it has nothing to flush
	}
	return nil
}

func (d *driver) Watch(ctx context.Context) (backend.Subscription, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	var q *notify.Queue
	q = notify.NewQueue(d.r.watchBuf, func() {
		d.r.mu.Lock()
		delete(d.r.subs, q)
		d.r.mu.Unlock()
		d.mu.Lock()
		delete(d.mySubs, q)
		d.mu.Unlock()
	})
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, backend.ErrClosed
	}
	if d.mySubs == nil {
		d.mySubs = map[*notify.Queue]struct{}{}
	}
	d.mySubs[q] = struct{}{}
	d.mu.Unlock()
	d.r.mu.Lock()
	d.r.subs[q] = struct{}{}
	d.r.mu.Unlock()
	q.CloseWhenDone(ctx)
	return q, nil
}
