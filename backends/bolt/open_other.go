//go:build !unix

package bolt

import "os"

// Without O_NOFOLLOW, inspect's Lstat is the only symbolic-link check.
const (
	oNoFollow = 0
	oNonblock = 0
)

// lockedByOther cannot tell here: Backup tries bbolt's read-only open,
// which fails with a timeout on a file another process holds.
func lockedByOther(*os.File) (bool, error) { return false, nil }
