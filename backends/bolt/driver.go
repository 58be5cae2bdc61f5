package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/notify"
	"github.com/apt-detection/alertstore/registry"
)

// Open opens (creating if needed) the bolt file at path and returns a
// driver on the namespace cfg.Prefix. Opens of one path in this process
// share the file. ctx bounds the wait for another process's file lock.
func Open(ctx context.Context, path string, cfg backend.Config, opts *Options) (backend.Driver, error) {
	o := opts.withDefaults()
	if cfg.Prefix == "" {
		cfg.Prefix = backend.DefaultPrefix
	}
	if err := registry.CheckPrefix(cfg.Prefix); err != nil {
		return nil, err
	}
	if cfg.MaxAlerts <= 0 {
		cfg.MaxAlerts, cfg.MaxAlertsDefault = backend.DefaultMaxAlerts, true
	}
	if path == "" {
		return nil, fmt.Errorf("%w: bolt: empty path", backend.ErrInvalidConfig)
	}
	f, err := acquire(ctx, path, o)
	if err != nil {
		return nil, err
	}
	d := &driver{
		f: f,
		ns: &namespace{
			prefix:    cfg.Prefix,
			bucket:    []byte(cfg.Prefix),
			maxAlerts: cfg.MaxAlerts,
			maxBytes:  o.MaxBytes,
			cfg:       cfg,
		},
		opts:     o,
		readOnly: o.ReadOnly || f.readOnly,
		mySubs:   map[*notify.Queue]struct{}{},
	}
	if o.Sync == SyncBatch {
		d.window = o.BatchWindow
	}
	return d, nil
}

type driver struct {
	f        *file
	ns       *namespace
	opts     Options
	window   time.Duration
	readOnly bool // writes fail: FileInfo.ReadOnly

	mu     sync.Mutex
	closed bool
	mySubs map[*notify.Queue]struct{}
}

// Namespaces implements backend.Namespacer: the prefix (the bucket) it
// writes to.
func (d *driver) Namespaces() []backend.Namespace {
	return []backend.Namespace{{Prefix: d.ns.prefix}}
}

// As implements backend.Aser: Store.As(&fi), fi a FileInfo, describes
// the file.
func (d *driver) As(i any) bool {
	p, ok := i.(*FileInfo)
	if ok {
		*p = FileInfo{Path: d.f.path, ReadOnly: d.readOnly, Warnings: append([]string(nil), d.f.warnings...)}
	}
	return ok
}

// Path is the absolute path of the file: for the CLI, which prints where
// the data lives.
func (d *driver) Path() string { return d.f.path }

func (d *driver) check(ctx context.Context) error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return backend.ErrClosed
	}
	return ctx.Err()
}

// Append hands the alerts to the file's writer and waits for the commit
// (fsync included). If ctx ends first, Append returns ErrUnavailable
// wrapping the ctx error; the alerts may still be committed, which is why
// the Store gives ids before writing.
func (d *driver) Append(ctx context.Context, alerts [][]byte) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	if d.readOnly {
		return d.errReadOnly()
	}
	if len(alerts) == 0 {
		return nil
	}
	data := make([][]byte, len(alerts))
	for i, a := range alerts {
		data[i] = append([]byte(nil), a...)
	}
	r := &appendReq{ctx: ctx, ns: d.ns, data: data, window: d.window, res: make(chan error, 1)}
	select {
	case d.f.reqs <- r:
	case <-d.f.done:
		return backend.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.res:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: commit to %s did not finish in time (it may still complete): %w", backend.ErrUnavailable, d.f.path, ctx.Err())
	}
}

func (d *driver) view(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	if err := d.f.db.View(fn); err != nil {
		return fmt.Errorf("%w: reading %s: %v", backend.ErrUnavailable, d.f.path, err)
	}
	return ctx.Err()
}

// Scan walks the prefix's bucket backwards from before with a cursor.
func (d *driver) Scan(ctx context.Context, before int64, limit int) ([]backend.Entry, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: scan limit %d", backend.ErrInvalidQuery, limit)
	}
	var out []backend.Entry
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(d.ns.bucket)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var k, v []byte
		if before <= 0 {
			k, v = c.Last()
		} else if k, _ = c.Seek(key(uint64(before))); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && len(out) < limit; k, v = c.Prev() {
			if len(k) != 8 || v == nil {
				continue // not an entry of ours: damaged, or written by another tool
			}
			out = append(out, backend.Entry{Pos: int64(binary.BigEndian.Uint64(k)), Data: append([]byte(nil), v...)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Oldest returns up to limit entries whose Pos is greater than after,
// oldest first: how a chain's replay reads this tier in original order.
func (d *driver) Oldest(ctx context.Context, after int64, limit int) ([]backend.Entry, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: scan limit %d", backend.ErrInvalidQuery, limit)
	}
	var out []backend.Entry
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(d.ns.bucket)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(key(uint64(max(after, 0)) + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			if len(k) != 8 || v == nil {
				continue // not an entry of ours
			}
			out = append(out, backend.Entry{Pos: int64(binary.BigEndian.Uint64(k)), Data: append([]byte(nil), v...)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Remove deletes every entry whose Pos is at most upTo, in one committed
// (fsync'd) transaction: how a chain's replay deletes what the higher tier
// confirmed. Positions keep growing.
func (d *driver) Remove(ctx context.Context, upTo int64) error {
	return d.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(d.ns.bucket)
		if b == nil || upTo <= 0 {
			return nil
		}
		m := tx.Bucket(metaBucket)
		next, count, total := readMeta(m, d.ns.prefix)
		count, total, err := trim(b, count, total, ^uint64(0), ^uint64(0), uint64(upTo))
		if err != nil {
			return err
		}
		writeMeta(m, d.ns.prefix, next, count, total)
		return nil
	})
}

// update runs fn in its own write transaction, bounded by ctx.
func (d *driver) update(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	if d.readOnly {
		return d.errReadOnly()
	}
	res := make(chan error, 1)
	go func() { res <- d.f.db.Update(fn) }()
	select {
	case err := <-res:
		if err != nil {
			return fmt.Errorf("%w: writing %s: %v", backend.ErrUnavailable, d.f.path, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: write to %s did not finish in time (it may still complete): %w", backend.ErrUnavailable, d.f.path, ctx.Err())
	}
}

// Count reads the counter kept in the meta bucket: O(1).
func (d *driver) Count(ctx context.Context) (int64, error) {
	var n uint64
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		_, n, _ = readMeta(tx.Bucket(metaBucket), d.ns.prefix)
		return nil
	})
	return int64(n), err
}

// Clear deletes the prefix's entries and keeps its position counter, so
// that positions, and cursors built from them, never go backwards.
func (d *driver) Clear(ctx context.Context) error {
	return d.update(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(d.ns.bucket) != nil {
			if err := tx.DeleteBucket(d.ns.bucket); err != nil {
				return err
			}
		}
		m := tx.Bucket(metaBucket)
		next, count, _ := readMeta(m, d.ns.prefix)
		writeMeta(m, d.ns.prefix, next, 0, 0)
		return addAudit(m, d.ns.prefix, backend.AuditRecord{Op: backend.AuditClear, Client: backend.ClientNameOf(d.ns.cfg), Entries: int64(count)})
	})
}

// Drop deletes the prefix's entries and its counters: the namespace is
// gone from the file, and positions restart at 1 (see backend.Dropper).
func (d *driver) Drop(ctx context.Context) error {
	return d.update(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(d.ns.bucket) != nil {
			if err := tx.DeleteBucket(d.ns.bucket); err != nil {
				return err
			}
		}
		m := tx.Bucket(metaBucket)
		for _, k := range []string{metaNext, metaCount, metaBytes, metaCap, metaAudit} {
			if err := m.Delete([]byte(d.ns.prefix + k)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Ping checks that the file is open and readable.
func (d *driver) Ping(ctx context.Context) error {
	return d.view(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(metaBucket) == nil {
			return fmt.Errorf("meta bucket missing")
		}
		return nil
	})
}

// Capabilities: on disk and fsync'd (Persistent, Durable), shared by the
// drivers of one path in this process, watched within this process, and
// droppable (a prefix keeps counters beside its entries), drainable
// (a chain can replay it entry by entry), and keeps its namespace's
// record (namespace.go).
func (d *driver) Capabilities() backend.Capabilities {
	return backend.Capabilities{Watch: true, Shared: true, Persistent: true, Durable: true, Drop: true, Drain: true, Namespace: true}
}

// Close ends this driver's watches and releases the file; the last driver
// of a path closes it, after committing what was already queued.
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
	if err := d.f.release(); err != nil {
		return fmt.Errorf("%w: closing %s: %v", backend.ErrUnavailable, d.f.path, err)
	}
	return nil
}
