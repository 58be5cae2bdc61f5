package bolt

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// DefaultBackupPatience is how long Backup keeps trying lock-free copies
// of a file that commits during every one before it gives up.
const DefaultBackupPatience = 10 * time.Second

// BackupOptions tune Backup. The zero value (or nil) is the defaults.
type BackupOptions struct {
	// FollowSymlinks lets the source path be a symbolic link, as the DSN
	// parameter of the same name does. Default false.
	FollowSymlinks bool
	// Patience bounds how long Backup keeps trying lock-free copies
	// (see Backup). Default DefaultBackupPatience.
	Patience time.Duration
}

// BackupInfo says what Backup wrote.
type BackupInfo struct {
	// Path is the backup file, absolute.
	Path string
	// Bytes is its size.
	Bytes int64
	// TxID is the bbolt transaction the backup holds: every commit up to
	// it, so every alert acknowledged before Backup began, and none after.
	TxID uint64
	// Live is true when another process held the file and Backup copied
	// it without the lock; false when it used bbolt's own copy
	// (Tx.WriteTo) under a read transaction.
	Live bool
	// Attempts is how many lock-free copies it took (0 when not Live).
	Attempts int
}

// BackupDSN backs up the file a bolt:// DSN names (see Backup); the DSN's
// other parameters are checked as Open checks them and otherwise unused.
func BackupDSN(ctx context.Context, dsn, dst string) (BackupInfo, error) {
	d, err := registry.ParseDSN(dsn)
	if err != nil {
		return BackupInfo{}, err
	}
	if d.Scheme() != Scheme {
		return BackupInfo{}, fmt.Errorf("%w: backup copies a bolt file, and %s:// is not one: for Redis or Valkey use the server's own persistence (BGSAVE and its RDB file, or AOF; see docs/operations.md), or `alertstore export` for the alerts of any backend; a chain's bolt tier is backed up by its own bolt:// DSN", backend.ErrInvalidConfig, d.Scheme())
	}
	if _, err := d.Common(); err != nil {
		return BackupInfo{}, err
	}
	path, o, err := parseDSN(d)
	if err != nil {
		return BackupInfo{}, err
	}
	return Backup(ctx, path, dst, &BackupOptions{FollowSymlinks: o.FollowSymlinks})
}

// Backup writes a consistent copy of the bolt file src to dst, safe while
// a writer has src open, in this process or another.
//
// When this process has src open, the copy is bbolt's own (Tx.WriteTo in
// a read transaction). When no process holds src's lock, Backup opens it
// read-only and does the same; a writer that starts meanwhile waits for
// the copy, up to its lock_timeout. When another process holds the lock
// (bbolt's exclusive flock, for the writer's whole life), Backup copies
// without it, relying on how bbolt commits: a transaction writes its
// pages only into pages that were free when it began, fsyncs them, and
// then writes its meta page into the slot of the meta before last; a page
// reachable from meta N is freed by transaction N+1 at the earliest and
// can be written again only by N+2, which begins after N+1's meta is
// written (go.etcd.io/bbolt: Tx.Commit, freelist.ReleasePendingPages).
// So Backup reads the newest valid meta (N), copies the file up to N's
// high-water mark, and reads the metas again: if N is still the newest,
// no page the copy needs was written meanwhile, and the copy is N with
// both its meta pages set to N (as WriteTo writes them). If a commit came
// in between, it tries again at once (a commit just ended), for up to
// Patience. A writer that commits more often than a copy takes (a read of
// the file up to its high-water mark) can keep every attempt from
// succeeding: Backup then fails with an error wrapping ErrUnavailable and
// dst is untouched.
//
// Either way the copy is written beside dst, checked (the structural
// check Open does, then bbolt's Tx.Check), fsynced and renamed onto dst,
// so dst is never a partial file: it is whole and checked, or untouched.
func Backup(ctx context.Context, src, dst string, o *BackupOptions) (BackupInfo, error) {
	var opt BackupOptions
	if o != nil {
		opt = *o
	}
	if opt.Patience <= 0 {
		opt.Patience = DefaultBackupPatience
	}
	var info BackupInfo
	srcAbs, err := filepath.Abs(src)
	if err != nil {
		return info, fmt.Errorf("%w: bolt path %q: %v", backend.ErrInvalidConfig, src, err)
	}
	dstAbs, err := filepath.Abs(dst)
	if err != nil {
		return info, fmt.Errorf("%w: backup path %q: %v", backend.ErrInvalidConfig, dst, err)
	}
	info.Path = dstAbs
	st, err := inspect(srcAbs, opt.FollowSymlinks)
	if err != nil {
		return info, err
	}
	if !st.exists || st.size == 0 {
		return info, fmt.Errorf("%w: bolt file %s does not exist or is empty: nothing to back up", backend.ErrInvalidConfig, srcAbs)
	}
	if err := checkBackupTarget(srcAbs, dstAbs); err != nil {
		return info, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dstAbs), "."+filepath.Base(dstAbs)+".tmp-*")
	if err != nil {
		return info, configErr(dstAbs, "cannot be written: its temporary file cannot be created", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close() // failed already: the partial copy goes
			_ = os.Remove(tmp.Name())
		}
	}()

	if err := copyDB(ctx, srcAbs, tmp, opt, &info); err != nil {
		return info, err
	}
	if err := tmp.Sync(); err != nil {
		return info, fmt.Errorf("%w: writing the backup: %v", backend.ErrUnavailable, err)
	}
	fi, err := tmp.Stat()
	if err != nil {
		return info, err
	}
	info.Bytes = fi.Size()
	if err := tmp.Close(); err != nil {
		return info, fmt.Errorf("%w: writing the backup: %v", backend.ErrUnavailable, err)
	}
	if err := checkCopy(tmp.Name()); err != nil {
		return info, fmt.Errorf("the backup of %s failed its check, nothing was written to %s: %w", srcAbs, dstAbs, err)
	}
	if err := os.Rename(tmp.Name(), dstAbs); err != nil {
		return info, configErr(dstAbs, "cannot be replaced", err)
	}
	done = true
	if d, err := os.Open(filepath.Dir(dstAbs)); err == nil {
		// The rename itself must survive a crash.
		serr := d.Sync()
		_ = d.Close() // read only
		if serr != nil {
			return info, fmt.Errorf("%w: syncing the backup's directory: %v", backend.ErrUnavailable, serr)
		}
	}
	return info, nil
}

// checkBackupTarget refuses a destination that is the source itself or a
// directory.
func checkBackupTarget(srcAbs, dstAbs string) error {
	fi, err := os.Stat(dstAbs)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return configErr(dstAbs, "cannot be examined", err)
	}
	if fi.IsDir() {
		return fmt.Errorf("%w: backup path %s is a directory; name the backup file, e.g. %s", backend.ErrInvalidConfig, dstAbs, filepath.Join(dstAbs, filepath.Base(srcAbs)))
	}
	if si, err := os.Stat(srcAbs); err == nil && os.SameFile(si, fi) {
		return fmt.Errorf("%w: the backup path %s is the bolt file itself", backend.ErrInvalidConfig, dstAbs)
	}
	return nil
}

// copyDB writes the copy into tmp by the first way that applies (see
// Backup).
func copyDB(ctx context.Context, srcAbs string, tmp *os.File, opt BackupOptions, info *BackupInfo) error {
	w := &ctxWriter{ctx: ctx, w: tmp}
	// This process has it open: a read transaction of the open file.
	files.mu.Lock()
	f, ok := files.m[srcAbs]
	if ok {
		f.refs++
	}
	files.mu.Unlock()
	if ok {
		defer func() { _ = f.release() }() // a reference only: the owner closes
		return f.db.View(func(tx *bbolt.Tx) error {
			info.TxID = uint64(tx.ID())
			_, err := tx.WriteTo(w)
			return err
		})
	}
	// Another process holds the lock: its commits may rewrite pages as
	// they are read, so the file is not verified here (the copy is).
	flags := os.O_RDONLY
	if !opt.FollowSymlinks {
		flags |= oNoFollow
	}
	src, err := os.OpenFile(srcAbs, flags, 0)
	if err != nil {
		return configErr(srcAbs, "cannot be opened for reading", err)
	}
	defer func() { _ = src.Close() }() // read only
	locked, err := lockedByOther(src)
	if err != nil {
		return fmt.Errorf("%w: bolt file %s: %v", backend.ErrUnavailable, srcAbs, err)
	}
	if locked {
		info.Live = true
		return liveCopy(ctx, src, tmp, opt, info)
	}
	// Nobody holds the lock: open read-only, without waiting.
	if err := verifyFile(srcAbs); err != nil {
		return fmt.Errorf("%w: %s is not a bolt database this version can read (%v)", backend.ErrInvalidConfig, srcAbs, err)
	}
	db, err := openBolt(srcAbs, &bbolt.Options{Timeout: time.Nanosecond, ReadOnly: true, OpenFile: openFile(opt.FollowSymlinks)})
	if err == nil {
		defer func() { _ = db.Close() }() // read only
		return db.View(func(tx *bbolt.Tx) error {
			info.TxID = uint64(tx.ID())
			_, err := tx.WriteTo(w)
			return err
		})
	}
	if !errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("%w: opening bolt file %s: %v", backend.ErrUnavailable, srcAbs, pathErr(err))
	}
	// A writer took the lock since: copy without it.
	info.Live = true
	return liveCopy(ctx, src, tmp, opt, info)
}

// liveCopy copies the file while another process commits to it (see
// Backup for why a copy whose meta did not change is consistent).
func liveCopy(ctx context.Context, f, tmp *os.File, opt BackupOptions, info *BackupInfo) error {
	srcAbs := f.Name()
	deadline := time.Now().Add(opt.Patience)
	for attempt := 1; attempt == 1 || time.Now().Before(deadline); attempt++ {
		info.Attempts = attempt
		m, slot, err := newestMeta(f)
		if errors.Is(err, errDamaged) {
			return fmt.Errorf("%w: %s is not a bolt database this version can read (%v)", backend.ErrInvalidConfig, srcAbs, err)
		}
		if err != nil {
			return err
		}
		if slot < 0 {
			continue
		}
		if err := tmp.Truncate(0); err != nil {
			return err
		}
		size := int64(m.hwm * m.pageSize)
		same, err := copyWhileSame(ctx, f, tmp, size, m.txid, attempt)
		if err != nil {
			return fmt.Errorf("copying %s: %w", srcAbs, err)
		}
		if !same {
			// A commit came in between: its successor may have written
			// pages this copy needs. Again at once: a commit just ended,
			// which is when the next one is furthest away.
			continue
		}
		info.TxID = m.txid
		return writeMetas(tmp, slot, m)
	}
	return fmt.Errorf("%w: bolt file %s committed during each of %d copies in %s; back up when writes are quieter, or stop the writer for the copy", backend.ErrUnavailable, srcAbs, info.Attempts, opt.Patience)
}

// liveChunk is how much liveCopy copies between two looks at the meta: a
// commit seen early ends the attempt early.
const liveChunk = 256 << 10

// liveCopyPaused, when set (by tests, export_test.go), runs after the
// first chunk of each lock-free attempt: a test makes commits happen
// there, and so checks that the attempt is then discarded.
var liveCopyPaused func(attempt int)

// copyWhileSame copies the first size bytes of f to tmp and reports
// whether the newest meta was still txid after the last byte was read. It
// stops at the first look that finds a newer one.
func copyWhileSame(ctx context.Context, f, tmp *os.File, size int64, txid uint64, attempt int) (bool, error) {
	for off := int64(0); off < size; off += liveChunk {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		n := min(liveChunk, size-off)
		// File to file, so that the kernel copies (copy_file_range)
		// where it can.
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return false, err
		}
		if _, err := tmp.Seek(off, io.SeekStart); err != nil {
			return false, err
		}
		if m, err := tmp.ReadFrom(&io.LimitedReader{R: f, N: n}); err != nil || m != n {
			return false, fmt.Errorf("copied %d of %d bytes at offset %d: %v", m, n, off, err)
		}
		if off == 0 && liveCopyPaused != nil {
			liveCopyPaused(attempt)
		}
		m, slot, err := newestMeta(f)
		if err != nil {
			return false, err
		}
		if slot < 0 || m.txid != txid {
			return false, nil
		}
	}
	return true, nil
}

// newestMeta reads the meta bbolt would use now and its slot (page 0 or
// 1); slot -1 when a commit replaced it while it was being read.
func newestMeta(f *os.File) (meta, int, error) {
	fi, err := f.Stat()
	if err != nil {
		return meta{}, 0, err
	}
	v := &verifier{r: f, size: uint64(fi.Size())}
	m, err := v.chooseMeta()
	if err != nil {
		return meta{}, 0, err
	}
	if m.hwm < 3 || m.hwm > v.size/v.ps {
		return meta{}, 0, v.damaged("high-water mark %d pages does not fit the file (%d pages of %d bytes)", m.hwm, v.size/v.ps, v.ps)
	}
	// chooseMeta picked the newer valid slot; find which one it is.
	for slot := range 2 {
		b := make([]byte, pageHeaderSize+metaSize)
		if _, err := f.ReadAt(b, int64(slot)*int64(v.ps)); err != nil {
			return meta{}, 0, err
		}
		if c, ok := parseMeta(b); ok && c.txid == m.txid {
			return m, slot, nil
		}
	}
	return meta{}, -1, nil // a commit rewrote it while it was read
}

// writeMetas makes both meta pages of the copy meta N, as bbolt's WriteTo
// does: page 0 with N's transaction id, page 1 with one less, each with its
// page id and checksum.
func writeMetas(tmp *os.File, slot int, m meta) error {
	ps := int64(m.pageSize)
	src := make([]byte, ps)
	if _, err := tmp.ReadAt(src, int64(slot)*ps); err != nil {
		return err
	}
	for id := range 2 {
		page := make([]byte, ps)
		ne.PutUint64(page[0:], uint64(id))
		ne.PutUint16(page[8:], metaPageFlag)
		mb := page[pageHeaderSize : pageHeaderSize+metaSize]
		copy(mb, src[pageHeaderSize:pageHeaderSize+metaSize])
		ne.PutUint64(mb[48:], m.txid-uint64(id))
		h := fnv.New64a()
		_, _ = h.Write(mb[:metaChecksumAt])
		ne.PutUint64(mb[metaChecksumAt:], h.Sum64())
		if _, err := tmp.WriteAt(page, int64(id)*ps); err != nil {
			return err
		}
	}
	return nil
}

// checkCopy checks a finished copy as Open would read it, then with
// bbolt's own consistency check (every page reachable once, none both
// free and in use, keys in order).
func checkCopy(path string) error {
	if err := verifyFile(path); err != nil {
		return err
	}
	db, err := openBolt(path, &bbolt.Options{Timeout: time.Nanosecond, ReadOnly: true, OpenFile: openFile(false)})
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }() // read only
	return db.View(func(tx *bbolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// ctxWriter stops a copy when ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
