//go:build unix

package bolt

import (
	"errors"
	"os"
	"syscall"
)

// oNoFollow makes an open fail on a symbolic link; oNonblock keeps an open
// of a FIFO swapped in for the file from blocking.
const (
	oNoFollow = syscall.O_NOFOLLOW
	oNonblock = syscall.O_NONBLOCK
)

// lockedByOther reports whether another open file description holds an
// exclusive lock on f's file (bbolt's writer lock), by taking a shared
// lock without waiting and giving it back at once.
func lockedByOther(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return false, syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
