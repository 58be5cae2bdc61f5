//go:build !unix

package bolt

// Without O_NOFOLLOW, inspect's Lstat is the only symbolic-link check.
const (
	oNoFollow = 0
	oNonblock = 0
)
