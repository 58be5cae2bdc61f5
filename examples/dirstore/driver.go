package dirstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"

	"github.com/apt-detection/alertstore/backend"
)

// driver is one open store: a prefix directory and the settings it was
// opened with. Its state is on disk, so any number of drivers, in any
// number of processes, can share one directory.
type driver struct {
	dir       string // <root>/<prefix>, cleaned and absolute
	prefix    string
	maxAlerts int
	sync      bool
	lk        *dirLock
	closed    atomic.Bool
}

// Namespaces implements backend.Namespacer: the prefix whose directory
// it writes to.
func (d *driver) Namespaces() []backend.Namespace {
	return []backend.Namespace{{Prefix: d.prefix}}
}

// check is the preamble of every call: closed drivers fail with ErrClosed,
// and a done ctx fails before any I/O.
func (d *driver) check(ctx context.Context) error {
	if d.closed.Load() {
		return backend.ErrClosed
	}
	return ctx.Err()
}

// adopt gives a directory that has no seq file one, so that the first
// Append has a commit point: without it, a crash during that Append would
// leave a partial batch that readers take as committed.
func (d *driver) adopt(ctx context.Context) error {
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := readState(ctx, d.dir)
	if err != nil || st.hasSeq {
		return err
	}
	return writeSeq(d.dir, st.next, d.sync)
}

// Append implements backend.Driver. It writes each alert to its own file,
// then commits them all at once by advancing seq, then trims, all under the
// exclusive lock, so no reader sees a part of the batch or the store over
// its cap. ctx is checked between files until the commit; after it, the
// alerts are stored and the trim runs to the end whatever ctx says.
func (d *driver) Append(ctx context.Context, alerts [][]byte) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	if len(alerts) == 0 {
		return nil
	}
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := readState(ctx, d.dir)
	if err != nil {
		return err
	}
	if err := removeFiles(d.dir, st.leftovers); err != nil {
		return err
	}
	written := make([]string, 0, len(alerts))
	abandon := func(err error) error {
		_ = removeFiles(d.dir, written) // invisible anyway: beyond seq
		return err
	}
	for i, data := range alerts {
		if err := ctx.Err(); err != nil {
			return abandon(err)
		}
		name := entryName(st.next + int64(i))
		if err := writeFileAtomic(d.dir, name, data, d.sync); err != nil {
			return abandon(err)
		}
		written = append(written, name)
	}
	if d.sync {
		// The alert files' renames must be on disk before the seq that
		// makes them visible.
		if err := syncDir(d.dir); err != nil {
			return abandon(err)
		}
	}
	if err := ctx.Err(); err != nil {
		return abandon(err)
	}
	next := st.next + int64(len(alerts))
	if err := writeSeq(d.dir, next, d.sync); err != nil {
		return abandon(err)
	}
	// Committed. A failed removal below leaves the oldest entries over the
	// cap until the next Append (which trims from the listing, so it
	// catches up); it does not undo the write, so it is not reported as
	// one: the caller would retry and store the batch twice.
	stored := len(st.committed) + len(alerts)
	if over := stored - d.maxAlerts; over > 0 {
		var old []string
		for _, pos := range st.committed[:min(over, len(st.committed))] {
			old = append(old, entryName(pos))
		}
		// A batch larger than the cap also loses its own oldest alerts.
		for pos, end := st.next, st.next+int64(over-len(old)); pos < end; pos++ {
			old = append(old, entryName(pos))
		}
		_ = removeFiles(d.dir, old)
	}
	return nil
}

// readLocked is the start of every read: a driver that is open, a
// positive limit (op names the call in the error), the directory's shared
// lock, and its committed state. The caller releases the lock.
func (d *driver) readLocked(ctx context.Context, op string, limit int) (state, func(), error) {
	if err := d.check(ctx); err != nil {
		return state{}, nil, err
	}
	if limit <= 0 {
		return state{}, nil, fmt.Errorf("%w: %s limit %d", backend.ErrInvalidQuery, op, limit)
	}
	unlock, err := d.lock(ctx, false)
	if err != nil {
		return state{}, nil, err
	}
	st, err := readState(ctx, d.dir)
	if err != nil {
		unlock()
		return state{}, nil, err
	}
	return st, unlock, nil
}

// Scan implements backend.Driver, reading only the files it returns.
func (d *driver) Scan(ctx context.Context, before int64, limit int) ([]backend.Entry, error) {
	st, unlock, err := d.readLocked(ctx, "scan", limit)
	if err != nil {
		return nil, err
	}
	defer unlock()
	end := len(st.committed)
	if before > 0 {
		end, _ = slices.BinarySearch(st.committed, before)
	}
	out := make([]backend.Entry, 0, min(limit, end))
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pos := st.committed[i]
		data, err := os.ReadFile(filepath.Join(d.dir, entryName(pos)))
		if err != nil {
			// Even a file deleted behind the lock's back is an error,
			// not a skip: returning fewer than limit entries would tell
			// the caller the oldest end was reached.
			return nil, ioError("reading alert "+entryName(pos), err)
		}
		out = append(out, backend.Entry{Pos: pos, Data: data})
	}
	return out, nil
}

// Count implements backend.Driver: the committed entry files.
func (d *driver) Count(ctx context.Context) (int64, error) {
	if err := d.check(ctx); err != nil {
		return 0, err
	}
	unlock, err := d.lock(ctx, false)
	if err != nil {
		return 0, err
	}
	defer unlock()
	st, err := readState(ctx, d.dir)
	if err != nil {
		return 0, err
	}
	return int64(len(st.committed)), nil
}

// Clear implements backend.Driver. It keeps seq, writing it first if it
// was missing, so that positions keep growing after a Clear: a cursor
// taken before it must not land on an alert stored after it.
func (d *driver) Clear(ctx context.Context) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := readState(ctx, d.dir)
	if err != nil {
		return err
	}
	if !st.hasSeq {
		if err := writeSeq(d.dir, st.next, d.sync); err != nil {
			return err
		}
	}
	if err := removeFiles(d.dir, st.leftovers); err != nil {
		return err
	}
	for _, pos := range st.committed {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := removeFiles(d.dir, []string{entryName(pos)}); err != nil {
			return err
		}
	}
	if d.sync {
		return syncDir(d.dir)
	}
	return nil
}

// Ping implements backend.Driver: the directory is there and its lock can
// be had within ctx, so the next call will not hang behind a stuck process.
func (d *driver) Ping(ctx context.Context) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	unlock, err := d.lock(ctx, false)
	if err != nil {
		return err
	}
	unlock()
	return nil
}

// Capabilities implements backend.Driver. The store is on disk (Persistent)
// and shared by every open of the directory (Shared); Durable is the fsync
// setting. There is no Watch: files give no notification this driver could
// rely on across processes, so it declares none and Store.Watch fails with
// ErrUnsupported. It drains (drain.go), so it can be a chain's lower tier.
func (d *driver) Capabilities() backend.Capabilities {
	return backend.Capabilities{Shared: true, Persistent: true, Durable: d.sync, Drain: true}
}

// Close implements backend.Driver. The alerts stay in the directory.
func (d *driver) Close() error {
	if d.closed.Swap(true) {
		return backend.ErrClosed
	}
	releaseDirLock(d.dir, d.lk)
	return nil
}
