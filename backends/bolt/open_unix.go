//go:build unix

package bolt

import "syscall"

// oNoFollow makes an open fail on a symbolic link; oNonblock keeps an open
// of a FIFO swapped in for the file from blocking.
const (
	oNoFollow = syscall.O_NOFOLLOW
	oNonblock = syscall.O_NONBLOCK
)
