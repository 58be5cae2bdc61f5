// Package dirstore is an example alertstore backend, written the way a
// third party writes one: in its own module, importing only the public
// packages backend, registry and conformance. It keeps each alert in its
// own file in a local directory, so a store can be inspected with ls and
// cat, and it shows every part of the Driver contract without a server.
// docs/writing-a-backend.md in the alertstore repository walks through it.
//
// A program selects it with a blank import, which registers the scheme:
//
//	import _ "example.com/alertstore-dirstore"
//
// # DSN
//
//	dir:///abs/path/to/dir[?prefix=...&max_alerts=...&fsync=true|false]
//
// The directory is the URL path and must be absolute: the host part stays
// empty, hence the three slashes. A relative path is refused, because
// "dir://data/alerts" reads as a host named data, and a store that moves
// with the working directory is a store nobody finds again. A host, a port
// and user info are refused too. Characters that mean something in a URL
// ('%', '?', '#', spaces) must be percent-encoded in the path;
// (&url.URL{Scheme: "dir", Path: dir}).String() builds a correct DSN.
//
// The directory must already exist and be writable: the backend creates
// one subdirectory per prefix in it (mode 0700, since alerts name hosts and
// users), never the directory itself, so a typo fails at open instead of
// growing a new tree that nobody reads.
//
// Parameters, besides the shared ones (prefix, max_alerts, max_alert_bytes,
// timeout):
//
//	fsync  true (default) or false. true fsyncs every alert file and the
//	       directory before Append returns (Capabilities.Durable). false
//	       leaves flushing to the OS: a crash of the process loses nothing,
//	       a crash of the machine may lose the last appends.
//
// Any other parameter is an error naming it, reported before any I/O.
//
// # Layout
//
// The store of a prefix lives in <dir>/<prefix>/. The prefix allow-list of
// registry.CheckPrefix has no '/' and no NUL, so on Linux every allowed
// prefix is one directory name; "." and "..", which the allow-list admits,
// are refused. In that directory:
//
//	00000000000000000042.json  one alert, named by its position
//	seq                        the position the next alert gets, in decimal
//	.lock                      the file every process flocks
//	.tmp-*                     a write in progress, or one a crash interrupted
//
// Positions are zero-padded to 20 digits so that name order is position
// order. Every file is written to a temp file and renamed into place, so no
// reader ever sees half an alert. Rewriting seq is the commit point of an
// Append: alert files at or beyond seq belong to an Append that did not
// finish, are invisible to Scan and Count, and are removed by the next
// Append, so a crash leaves all of a batch or none of it. Trimming to
// max_alerts follows the commit inside the same lock; a crash between the
// two leaves the oldest entries over the cap until the next Append trims
// them. Clear removes the alert files and keeps seq, so positions, and the
// cursors built from them, never go backwards.
//
// # Sharing, locking and platforms
//
// Every operation holds a lock per directory in this process and an
// flock(2) on <prefix>/.lock, shared for Scan and Count and exclusive for
// Append and Clear, so stores opened on one directory in any number of
// processes on one machine share their alerts (Capabilities.Shared) and
// never see an Append half done. flock exists on Linux and the BSDs
// (macOS included); elsewhere Open fails. It is advisory, and unreliable
// on some network file systems: keep the directory on a local disk. On a
// case-insensitive file system (macOS's default) prefixes that differ
// only in case share a directory.
//
// A wait for a lock ends with the call's ctx, as an error wrapping
// backend.ErrUnavailable: a process stuck while holding the lock makes
// calls fail at their deadline, not hang.
//
// # Cost
//
// Append, Scan and Count each read the names in the prefix directory (not
// the files, and no stat), and Scan reads only the files it returns. That
// suits thousands of alerts; for millions use a backend with an index
// (bolt, redis).
//
// The backend does not implement watch: Store.Watch fails with
// ErrUnsupported.
package dirstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// Scheme is the DSN scheme.
const Scheme = "dir"

func init() {
	registry.Register(Scheme, open)
}

// Options are the dirstore backend's own settings. The zero value (or nil)
// is the defaults.
type Options struct {
	// NoSync skips the fsync of alert files and of the directory before
	// Append and Clear return. Default false: an acknowledged Append is on
	// disk (Capabilities.Durable). The DSN spells it fsync=false.
	NoSync bool
}

func open(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
	dir, opts, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return Open(ctx, dir, cfg, opts)
}

// parseDSN reads the directory and the dirstore parameters and rejects
// everything else. It does no I/O, so a bad DSN never touches the disk.
func parseDSN(dsn *registry.DSN) (string, *Options, error) {
	fsync, err := dsn.Bool("fsync", true)
	if err != nil {
		return "", nil, err
	}
	if err := dsn.Unknown(); err != nil {
		return "", nil, err
	}
	u := dsn.URL()
	const want = "write the absolute path after three slashes, e.g. dir:///var/lib/alertstore"
	switch {
	case u.User != nil:
		return "", nil, dsn.Errorf("dir:// takes no user info")
	case u.Host != "":
		// dir://./data, dir://data/alerts and dir://~/alerts all land
		// here: say that it is a relative path, not a bad host.
		return "", nil, dsn.Errorf("%q is not an absolute path: a relative path would depend on the working directory; %s", u.Host+u.Path, want)
	case u.OmitHost:
		return "", nil, dsn.Errorf("missing \"//\" after dir:; %s", want)
	case u.Path == "":
		return "", nil, dsn.Errorf("no directory; %s", want)
	}
	return filepath.Clean(u.Path), &Options{NoSync: !fsync}, nil
}

// Open opens the store of cfg.Prefix in dir, an existing directory given by
// its absolute path; cfg's zero fields take their defaults. Drivers opened
// on the same dir and prefix, in this process or another on the machine,
// share their alerts. Open creates the prefix's subdirectory if needed; ctx
// bounds the wait for another process's lock.
func Open(ctx context.Context, dir string, cfg backend.Config, opts *Options) (backend.Driver, error) {
	if opts == nil {
		opts = &Options{}
	}
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("%w: directory %q is not an absolute path", backend.ErrInvalidConfig, dir)
	}
	dir = filepath.Clean(dir)
	if cfg.Prefix == "" {
		cfg.Prefix = backend.DefaultPrefix
	}
	if err := registry.CheckPrefix(cfg.Prefix); err != nil {
		return nil, err
	}
	if cfg.Prefix == "." || cfg.Prefix == ".." {
		return nil, fmt.Errorf("%w: prefix %q: dirstore keeps a prefix in a directory of that name, so \".\" and \"..\" cannot be prefixes", backend.ErrInvalidConfig, cfg.Prefix)
	}
	if cfg.MaxAlerts <= 0 {
		cfg.MaxAlerts = backend.DefaultMaxAlerts
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := flockSupported(); err != nil {
		return nil, err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, openError(dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", backend.ErrInvalidConfig, dir)
	}
	pdir := filepath.Join(dir, cfg.Prefix)
	if err := os.Mkdir(pdir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, openError(dir, err)
	}
	lf, err := os.OpenFile(filepath.Join(pdir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, openError(pdir, err)
	}
	if err := lf.Close(); err != nil {
		return nil, openError(pdir, err)
	}
	d := &driver{dir: pdir, prefix: cfg.Prefix, maxAlerts: cfg.MaxAlerts, sync: !opts.NoSync, lk: acquireDirLock(pdir)}
	if err := d.adopt(ctx); err != nil {
		releaseDirLock(pdir, d.lk)
		return nil, err
	}
	return d, nil
}

// openError says why a directory cannot hold a store. A missing path, a
// file where a directory should be, or a directory this process may not
// write are the configuration's fault (ErrInvalidConfig: retrying cannot
// help, the message says what to fix). Anything else, such as EIO or a
// stale NFS handle, may pass, so it is ErrUnavailable.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: directory %s does not exist; create it first (dirstore creates only the per-prefix subdirectories in it)", backend.ErrInvalidConfig, path)
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%w: %s: a path component is a file, not a directory", backend.ErrInvalidConfig, path)
	case errors.Is(err, fs.ErrPermission), isReadOnlyFS(err):
		return fmt.Errorf("%w: directory %s is not writable by this process (uid %d): %w", backend.ErrInvalidConfig, path, os.Getuid(), err)
	}
	return fmt.Errorf("%w: opening %s: %w", backend.ErrUnavailable, path, err)
}
