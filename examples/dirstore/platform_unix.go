//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

// What dirstore needs from the platform: flock(2), and telling a read-only
// file system from other errors. Linux and the BSDs (macOS included) have
// both; platform_other.go refuses to open elsewhere.

package dirstore

import (
	"errors"
	"os"
	"syscall"
)

// flockSupported reports whether this platform has flock(2).
func flockSupported() error { return nil }

// tryFlock takes a shared or exclusive flock on f without blocking, and
// reports false when another open of the file holds a conflicting one.
func tryFlock(f *os.File, exclusive bool) (bool, error) {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		}
		return false, err
	}
}

// isReadOnlyFS reports an error of writing to a read-only file system.
func isReadOnlyFS(err error) bool { return errors.Is(err, syscall.EROFS) }
