package bolt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// Scheme is the DSN scheme.
const Scheme = "bolt"

// Defaults of Options, also the DSN parameter defaults.
const (
	DefaultMaxBytes    = 1 << 30
	DefaultBatchWindow = 2 * time.Millisecond
	DefaultLockTimeout = time.Second
	// DefaultWatchBuffer is how many notifications a watcher may lag
	// before it gets ErrLagged.
	DefaultWatchBuffer = 1024
)

func init() {
	registry.Register(Scheme, open)
}

// SyncMode chooses when a commit starts. Every mode fsyncs before Append
// returns; none acknowledges an alert that is not on disk.
type SyncMode int

const (
	// SyncAlways commits as soon as the writer is free, grouping the
	// appends that queued during the previous commit.
	SyncAlways SyncMode = iota
	// SyncBatch waits up to Options.BatchWindow after the first queued
	// append before committing, to group more appends per fsync.
	SyncBatch
)

func (m SyncMode) String() string {
	switch m {
	case SyncAlways:
		return "always"
	case SyncBatch:
		return "batch"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// Options are the bolt backend's own settings. The zero value (or nil) is
// the defaults.
type Options struct {
	// MaxBytes bounds the total bytes of a prefix's stored alerts.
	// Default DefaultMaxBytes.
	MaxBytes int64
	// Sync is the commit policy. Default SyncAlways.
	Sync SyncMode
	// BatchWindow is how long SyncBatch waits for more appends. Default
	// DefaultBatchWindow; ignored by SyncAlways.
	BatchWindow time.Duration
	// LockTimeout is how long Open waits for another process's file
	// lock. Default DefaultLockTimeout; a negative value means do not
	// wait at all. It applies to the first Open of a path in this process
	// (later ones share the open file).
	LockTimeout time.Duration
	// WatchBuffer is how many notifications a watcher may lag before it
	// gets ErrLagged. Default DefaultWatchBuffer.
	WatchBuffer int
	// ReadOnly opens an existing file for reading only (a shared lock,
	// so several readers and no writer); writes fail with
	// ErrInvalidConfig. Default false; a file this process cannot write
	// is opened read-only anyway. It applies to the first Open of a path
	// in this process.
	ReadOnly bool
	// FollowSymlinks lets the path be a symbolic link. Default false:
	// a link is refused (ErrInvalidConfig), so that whoever can change
	// the link cannot choose where alerts go.
	FollowSymlinks bool
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.BatchWindow <= 0 {
		c.BatchWindow = DefaultBatchWindow
	}
	if c.LockTimeout == 0 {
		c.LockTimeout = DefaultLockTimeout
	}
	if c.WatchBuffer <= 0 {
		c.WatchBuffer = DefaultWatchBuffer
	}
	return c
}

func open(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
	path, opts, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return Open(ctx, path, cfg, opts)
}

// parseDSN reads the file path and the bolt parameters, and rejects the
// rest. It does no I/O.
func parseDSN(dsn *registry.DSN) (string, *Options, error) {
	var o Options
	maxBytes, err := dsn.Int("max_bytes", DefaultMaxBytes, 1024, 1<<40)
	if err != nil {
		return "", nil, err
	}
	o.MaxBytes = int64(maxBytes)
	mode, err := dsn.Param("sync", "always")
	if err != nil {
		return "", nil, err
	}
	switch mode {
	case "always":
		o.Sync = SyncAlways
	case "batch":
		o.Sync = SyncBatch
	default:
		return "", nil, dsn.Errorf("parameter sync=%q: want always or batch", mode)
	}
	if o.BatchWindow, err = dsn.Duration("batch_window", DefaultBatchWindow, 100*time.Microsecond, time.Second); err != nil {
		return "", nil, err
	}
	if dsn.Has("batch_window") && o.Sync != SyncBatch {
		return "", nil, dsn.Errorf("parameter batch_window needs sync=batch")
	}
	if o.LockTimeout, err = dsn.Duration("lock_timeout", DefaultLockTimeout, 0, time.Minute); err != nil {
		return "", nil, err
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = -1 // "0s" in a DSN means do not wait
	}
	if o.ReadOnly, err = dsn.Bool("read_only", false); err != nil {
		return "", nil, err
	}
	if o.FollowSymlinks, err = dsn.Bool("follow_symlinks", false); err != nil {
		return "", nil, err
	}
	if err := dsn.Unknown(); err != nil {
		return "", nil, err
	}
	if dsn.Username() != "" {
		return "", nil, dsn.Errorf("bolt:// takes no user info")
	}
	path, err := dsnPath(dsn.Host(), dsn.Path())
	if err != nil {
		return "", nil, dsn.Errorf("%v", err)
	}
	return path, &o, nil
}

// dsnPath turns host and path into a file path, see the package doc.
func dsnPath(host, path string) (string, error) {
	switch host {
	case "", ".", "..", "~":
	default:
		return "", fmt.Errorf("host %q: a bolt DSN names a local file; write bolt:///abs/path.db, bolt://./rel/path.db or bolt://~/path.db", host)
	}
	if path == "" || path == "/" || strings.HasSuffix(path, "/") {
		return "", fmt.Errorf("no file name (want e.g. bolt:///var/lib/alertstore/alerts.db or bolt://./alerts.db)")
	}
	switch host {
	case ".", "..":
		return filepath.Clean(host + path), nil
	case "~":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("bolt://~/...: no home directory: %v", err)
		}
		return filepath.Join(home, path), nil
	}
	return filepath.Clean(path), nil
}
