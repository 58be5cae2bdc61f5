package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/notify"
)

// metaBucket holds the per-prefix counters. '#' is outside the prefix
// allow-list, so no prefix's bucket can collide with it.
var metaBucket = []byte("#meta")

// The meta keys of a prefix are prefix + one of these.
const (
	metaNext  = "\x00next"  // next position to give, uint64
	metaCount = "\x00count" // entries stored, uint64
	metaBytes = "\x00bytes" // sum of their lengths, uint64
)

// maxGroup bounds how many appends one commit carries, so that one
// transaction (and the memory it dirties) stays small.
const maxGroup = 256

// file is one open bolt database, shared by every driver of its path in
// this process (bolt cannot open a file twice: the second open would wait
// for the first's lock). Appends go through one writer goroutine, which
// groups them into commits and tells watchers in commit order.
type file struct {
	path     string
	db       *bbolt.DB
	refs     int // guarded by files.mu
	readOnly bool
	warnings []string // found at open: FileInfo.Warnings

	reqs chan *appendReq // unbuffered: a queued request is a blocked sender
	quit chan struct{}
	done chan struct{}

	subsMu sync.Mutex
	subs   map[string]map[*notify.Queue]struct{} // by prefix
}

var files = struct {
	mu sync.Mutex
	m  map[string]*file
}{m: map[string]*file{}}

// acquire returns the shared file for path, opening it if this process has
// not yet. The caller must release it.
func acquire(ctx context.Context, path string, o Options) (*file, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%w: bolt path %q: %v", backend.ErrInvalidConfig, path, err)
	}
	files.mu.Lock()
	defer files.mu.Unlock()
	if f, ok := files.m[abs]; ok {
		f.refs++
		return f, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st, err := inspect(abs, o.FollowSymlinks)
	if err != nil {
		return nil, err
	}
	readOnly := o.ReadOnly || (st.exists && !st.writable)
	switch {
	case !st.exists && o.ReadOnly:
		return nil, fmt.Errorf("%w: bolt file %s does not exist (read_only=true opens an existing file only)", backend.ErrInvalidConfig, abs)
	case !st.exists:
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			return nil, configErr(abs, "cannot be created: its directory cannot be made", err)
		}
	case st.size > 0:
		// bbolt panics, out of any caller's reach, on a damaged file.
		if err := verifyFile(abs); err != nil {
			// A file another process is writing can be read between
			// two of its writes; only the lock's holder sees it whole.
			// That is a busy file, not a damaged one.
			if lockedElsewhere(abs, o.FollowSymlinks) {
				return nil, lockedErr(abs, 0)
			}
			if errors.Is(err, errDamaged) {
				return nil, fmt.Errorf("%w: %s is not a bolt database this version can read (%v); nothing was changed: move it aside to start a new store, or restore it from a backup", backend.ErrInvalidConfig, abs, err)
			}
			return nil, configErr(abs, "cannot be read", err)
		}
	}
	wait := o.LockTimeout
	if wait < 0 {
		wait = time.Nanosecond // bolt: 0 would mean wait forever
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		wait = max(time.Until(dl), time.Nanosecond)
	}
	db, err := openBolt(abs, &bbolt.Options{
		Timeout:  wait,
		ReadOnly: readOnly,
		OpenFile: openFile(o.FollowSymlinks),
		// The free list is rebuilt on open instead of written on every
		// commit: fewer pages per fsync, same durability of the data.
		NoFreelistSync: true,
		FreelistType:   bbolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, lockedErr(abs, wait)
		}
		if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrVersionMismatch) || errors.Is(err, bolterrors.ErrChecksum) || errors.Is(err, errDamaged) {
			return nil, fmt.Errorf("%w: %s is not a bolt database this version can read: %v", backend.ErrInvalidConfig, abs, err)
		}
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EISDIR) {
			return nil, configErr(abs, "cannot be opened", err)
		}
		return nil, fmt.Errorf("%w: opening bolt file %s: %v", backend.ErrUnavailable, abs, pathErr(err))
	}
	if !readOnly {
		if err := db.Update(func(tx *bbolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists(metaBucket)
			return err
		}); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("%w: initialising %s: %v", backend.ErrUnavailable, abs, err)
		}
	}
	warn(st.warnings)
	f := &file{
		path: abs, db: db, refs: 1, readOnly: readOnly, warnings: st.warnings,
		reqs: make(chan *appendReq),
		quit: make(chan struct{}),
		done: make(chan struct{}),
		subs: map[string]map[*notify.Queue]struct{}{},
	}
	go f.writer()
	files.m[abs] = f
	return f, nil
}

// lockedErr is the error of a file another process holds locked.
func lockedErr(abs string, waited time.Duration) error {
	return fmt.Errorf("%w: bolt file %s: file locked by another process (waited %s; is another alertstore running on it?)", backend.ErrUnavailable, abs, waited.Round(time.Millisecond))
}

// lockedElsewhere reports whether another open of path holds bbolt's
// writer lock; false when that cannot be told.
func lockedElsewhere(path string, followSymlinks bool) bool {
	flags := os.O_RDONLY | oNonblock
	if !followSymlinks {
		flags |= oNoFollow
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }() // read only
	locked, err := lockedByOther(f)
	return err == nil && locked
}

// openBolt is bbolt.Open, with a panic in this goroutine (what verifyFile
// did not foresee) turned into an error. bbolt keeps the file's lock and
// descriptor then, until the process exits.
func openBolt(path string, opts *bbolt.Options) (db *bbolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: bbolt failed on it: %v", errDamaged, r)
		}
	}()
	return bbolt.Open(path, 0o600, opts)
}

// release drops one reference; the last one stops the writer (after it
// committed what was queued) and closes the database.
func (f *file) release() error {
	files.mu.Lock()
	defer files.mu.Unlock()
	f.refs--
	if f.refs > 0 {
		return nil
	}
	delete(files.m, f.path)
	close(f.quit)
	<-f.done
	return f.db.Close()
}

func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// appendReq is one Append waiting for its commit.
type appendReq struct {
	ctx     context.Context
	ns      *namespace
	data    [][]byte
	window  time.Duration // 0: commit as soon as possible
	entries []backend.Entry
	res     chan error // buffered 1
}

// namespace is what a driver writes with: its prefix and its bounds.
type namespace struct {
	prefix    string
	bucket    []byte
	maxAlerts int
	maxBytes  int64
	cfg       backend.Config // for the recorded cap's rule and audit records
}

func (f *file) writer() {
	defer close(f.done)
	for {
		select {
		case r := <-f.reqs:
			group := []*appendReq{r}
			if r.window > 0 {
				group = f.collect(group, time.After(r.window))
			} else {
				group = f.collect(group, nil)
			}
			f.commit(group)
		case <-f.quit:
			// Commit whatever is still queued, then stop: Close does not
			// fail appends already handed over.
			for {
				group := f.collect(nil, nil)
				if len(group) == 0 {
					return
				}
				f.commit(group)
			}
		}
	}
}

// collect adds queued requests to group: until timeout fires when it is
// not nil, otherwise only those already waiting.
func (f *file) collect(group []*appendReq, timeout <-chan time.Time) []*appendReq {
	for len(group) < maxGroup {
		if timeout == nil {
			select {
			case r := <-f.reqs:
				group = append(group, r)
			default:
				return group
			}
			continue
		}
		select {
		case r := <-f.reqs:
			group = append(group, r)
		case <-timeout:
			return group
		}
	}
	return group
}

// commit writes a group in one transaction, falling back to one
// transaction per request if the group fails, so one request's failure is
// not another's. Watchers are told after the commit, in order; then the
// callers.
func (f *file) commit(group []*appendReq) {
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.res <- err // never written
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	err := f.db.Update(func(tx *bbolt.Tx) error {
		for _, r := range live {
			if err := r.apply(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(live) > 1 {
		for _, r := range live {
			r.entries = nil
			err := f.db.Update(r.apply)
			f.finish(r, err)
		}
		return
	}
	for _, r := range live {
		f.finish(r, err)
	}
}

func (f *file) finish(r *appendReq, err error) {
	if backend.IsCapError(err) {
		r.res <- err // the writer's configuration, not the file
		return
	}
	if err != nil {
		r.res <- fmt.Errorf("%w: committing to %s: %v", backend.ErrUnavailable, f.path, err)
		return
	}
	f.notify(r.ns.prefix, r.entries)
	r.res <- nil
}

// apply appends r's alerts to its namespace and trims, inside tx.
func (r *appendReq) apply(tx *bbolt.Tx) error {
	ns := r.ns
	b, err := tx.CreateBucketIfNotExists(ns.bucket)
	if err != nil {
		return err
	}
	m := tx.Bucket(metaBucket)
	next, count, total := readMeta(m, ns.prefix)
	if next == 0 {
		next = 1
	}
	maxAlerts, err := capFor(m, ns)
	if err != nil {
		return err
	}
	// Alerts that the cap would drop at once are not written, but they
	// take their positions (and watchers see them), as if appended and
	// trimmed.
	skip := max(len(r.data)-maxAlerts, 0)
	r.entries = r.entries[:0]
	for i, d := range r.data {
		pos := next + uint64(i)
		r.entries = append(r.entries, backend.Entry{Pos: int64(pos), Data: d})
		if i < skip {
			continue
		}
		if err := b.Put(key(pos), d); err != nil {
			return err
		}
		count++
		total += uint64(len(d))
	}
	next += uint64(len(r.data))
	count, total, err = trim(b, count, total, uint64(maxAlerts), uint64(ns.maxBytes), 0)
	if err != nil {
		return err
	}
	writeMeta(m, ns.prefix, next, count, total)
	return nil
}

// trim deletes the oldest entries while the namespace is over a bound
// (keeping at least one, so that one alert larger than max_bytes is still
// stored alone), and every entry at or below upTo.
func trim(b *bbolt.Bucket, count, total, maxAlerts, maxBytes, upTo uint64) (uint64, uint64, error) {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.First() {
		over := count > maxAlerts || (total > maxBytes && count > 1)
		// A key that is not a position (damaged, or another tool's) counts
		// as the oldest: trimmed first, never a panic.
		var pos uint64
		if len(k) == 8 {
			pos = binary.BigEndian.Uint64(k)
		}
		if !over && pos > upTo {
			break
		}
		n := uint64(len(v))
		// Deleting under a cursor and then calling Next can skip a key
		// in bolt; First again is always right.
		if err := c.Delete(); err != nil {
			return count, total, err
		}
		total -= n
		count--
	}
	return count, total, nil
}

func key(pos uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], pos)
	return k[:]
}

func readMeta(m *bbolt.Bucket, prefix string) (next, count, total uint64) {
	if m == nil {
		return 0, 0, 0 // a file opened read-only before anyone wrote to it
	}
	get := func(s string) uint64 {
		v := m.Get([]byte(prefix + s))
		if len(v) != 8 {
			return 0
		}
		return binary.BigEndian.Uint64(v)
	}
	return get(metaNext), get(metaCount), get(metaBytes)
}

func writeMeta(m *bbolt.Bucket, prefix string, next, count, total uint64) {
	// Put on a bucket of a writable tx fails only for empty or huge keys.
	_ = m.Put([]byte(prefix+metaNext), key(next))
	_ = m.Put([]byte(prefix+metaCount), key(count))
	_ = m.Put([]byte(prefix+metaBytes), key(total))
}

func (f *file) notify(prefix string, entries []backend.Entry) {
	f.subsMu.Lock()
	defer f.subsMu.Unlock()
	// In the writer goroutine, in commit order; Deliver never blocks it.
	for q := range f.subs[prefix] {
		for _, e := range entries {
			q.Deliver(e)
		}
	}
}
