//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

// The platforms without flock(2): see platform_unix.go.

package dirstore

import (
	"fmt"
	"os"
	"runtime"

	"github.com/apt-detection/alertstore/backend"
)

// flockSupported fails: the cross-process locking dirstore relies on is
// flock(2), which this platform lacks, and a store that two processes
// could corrupt is worse than none.
func flockSupported() error {
	return fmt.Errorf("%w: dirstore needs flock(2), which %s lacks (it runs on Linux and the BSDs, macOS included)", backend.ErrInvalidConfig, runtime.GOOS)
}

func tryFlock(*os.File, bool) (bool, error) { return false, flockSupported() }

func isReadOnlyFS(error) bool { return false }
