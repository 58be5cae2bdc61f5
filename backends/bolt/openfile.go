package bolt

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/apt-detection/alertstore/backend"
)

// FileInfo describes the bolt file behind a store: Store.As(&fi), fi a
// FileInfo, sets it. The command prints its warnings.
type FileInfo struct {
	// Path is the file's absolute path.
	Path string
	// ReadOnly is true when the file was opened read-only: read_only=true
	// in the DSN, or a file this process may read but not write. Writes
	// then fail with ErrInvalidConfig.
	ReadOnly bool
	// Warnings are what was found unsafe at open, one sentence each: a
	// file or directory that group or others can read.
	Warnings []string
}

// errReadOnly is returned by every write on a read-only store.
func (d *driver) errReadOnly() error {
	return fmt.Errorf("%w: %s is open read-only (read_only=true, or the file is not writable by this user): list and count work, writes do not", backend.ErrInvalidConfig, d.f.path)
}

// fileState is what inspect found about the path before opening it.
type fileState struct {
	exists   bool
	size     int64
	writable bool
	warnings []string
}

// inspect checks the path before bbolt touches it: a symbolic link is
// refused unless followSymlinks; a directory or any other non-regular file
// is refused; an existing file that cannot be opened for reading is a
// configuration error, one that cannot be opened for writing is opened
// read-only; modes that let group or others read the file or its
// directory are warned about. Every refusal wraps ErrInvalidConfig and
// names the path: it is the operator's to fix, not a server to wait for.
func inspect(abs string, followSymlinks bool) (fileState, error) {
	var st fileState
	dir := filepath.Dir(abs)
	fi, err := os.Lstat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if di, derr := os.Stat(dir); derr == nil {
			st.warnings = modeWarnings(abs, nil, di)
		}
		return st, nil
	case err != nil:
		return st, configErr(abs, "cannot be examined", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if !followSymlinks {
			return st, fmt.Errorf("%w: bolt file %s is a symbolic link; it is not followed (someone able to change the link would choose where alerts are written): give the real path, or add follow_symlinks=true to the DSN", backend.ErrInvalidConfig, abs)
		}
		if fi, err = os.Stat(abs); err != nil {
			return st, configErr(abs, "is a symbolic link that cannot be followed", err)
		}
	}
	switch {
	case fi.IsDir():
		return st, fmt.Errorf("%w: bolt path %s is a directory; name a file in it, e.g. %s", backend.ErrInvalidConfig, abs, filepath.Join(abs, "alerts.db"))
	case !fi.Mode().IsRegular():
		return st, fmt.Errorf("%w: bolt path %s is not a regular file (%s)", backend.ErrInvalidConfig, abs, fi.Mode().Type())
	}
	st.exists, st.size = true, fi.Size()
	di, _ := os.Stat(dir)
	st.warnings = modeWarnings(abs, fi, di)
	flags := oNonblock
	if !followSymlinks {
		flags |= oNoFollow
	}
	f, err := os.OpenFile(abs, os.O_RDWR|flags, 0)
	if err == nil {
		st.writable = true
		return st, f.Close()
	}
	if !errors.Is(err, fs.ErrPermission) && !errors.Is(err, syscall.EROFS) {
		return st, configErr(abs, "cannot be opened", err)
	}
	f, err = os.OpenFile(abs, os.O_RDONLY|flags, 0)
	if err != nil {
		return st, configErr(abs, "cannot be opened for reading", err)
	}
	return st, f.Close()
}

// modeWarnings returns a warning for a file (fi, nil if it does not
// exist yet) or directory (di) whose mode lets group or others in.
func modeWarnings(abs string, fi, di fs.FileInfo) []string {
	var out []string
	if fi != nil && fi.Mode().Perm()&0o077 != 0 {
		out = append(out, fmt.Sprintf("bolt file %s has mode %04o: group or others can read the alerts (they name hosts and users); chmod 600 it", abs, fi.Mode().Perm()))
	}
	if di != nil && di.Mode().Perm()&0o077 != 0 {
		out = append(out, fmt.Sprintf("the directory of bolt file %s has mode %04o: group or others can list or replace files in it; chmod 700 it", abs, di.Mode().Perm()))
	}
	return out
}

// warn logs each warning once, when the file is opened in this process.
func warn(warnings []string) {
	for _, w := range warnings {
		slog.Warn("bolt: " + w)
	}
}

// configErr is an error about the file the operator must fix.
func configErr(abs, what string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w: bolt file %s %s: permission denied for this user (check the owner and mode of the file and its directory)", backend.ErrInvalidConfig, abs, what)
	}
	return fmt.Errorf("%w: bolt file %s %s: %v", backend.ErrInvalidConfig, abs, what, pathErr(err))
}

// openFile is bbolt's Options.OpenFile: it refuses, at the open itself, a
// symbolic link swapped in after inspect looked (O_NOFOLLOW).
func openFile(followSymlinks bool) func(string, int, os.FileMode) (*os.File, error) {
	return func(name string, flag int, perm os.FileMode) (*os.File, error) {
		if !followSymlinks {
			flag |= oNoFollow
		}
		return os.OpenFile(name, flag, perm)
	}
}
