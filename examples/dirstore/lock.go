package dirstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// dirLock serialises this process's operations on one prefix directory.
//
// The flock alone would be correct, since every operation opens the lock
// file anew and locks of separate opens exclude each other, but waiting in
// flock(2) blocks an OS thread and cannot be abandoned when ctx ends. So
// goroutines of this process queue here, on a one-slot channel that a
// select can leave, and only the one at the front polls the flock.
type dirLock struct {
	sem  chan struct{}
	refs int // open drivers using it; guarded by locksMu
}

var (
	locksMu sync.Mutex
	locks   = map[string]*dirLock{}
)

// acquireDirLock returns the process-wide lock of dir (a cleaned absolute
// path), creating it for the first driver.
func acquireDirLock(dir string) *dirLock {
	locksMu.Lock()
	defer locksMu.Unlock()
	l, ok := locks[dir]
	if !ok {
		l = &dirLock{sem: make(chan struct{}, 1)}
		locks[dir] = l
	}
	l.refs++
	return l
}

// releaseDirLock drops a driver's reference, forgetting the lock with the
// last one so that a long-lived process opening many prefixes does not
// keep a map entry per prefix forever.
func releaseDirLock(dir string, l *dirLock) {
	locksMu.Lock()
	defer locksMu.Unlock()
	l.refs--
	if l.refs == 0 {
		delete(locks, dir)
	}
}

// Polling bounds for a flock held by another process.
const (
	lockPollMin = time.Millisecond
	lockPollMax = 50 * time.Millisecond
)

// lock takes this process's lock of the directory, then the flock on its
// lock file (exclusive for writers, shared for readers), waiting at most
// until ctx ends. The returned function releases both.
func (d *driver) lock(ctx context.Context, exclusive bool) (func(), error) {
	select {
	case d.lk.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting for this process's other calls on %s: %w", backend.ErrUnavailable, d.dir, ctx.Err())
	}
	path := filepath.Join(d.dir, lockName)
	f, err := os.Open(path) // flock needs no write access
	if err != nil {
		<-d.lk.sem
		return nil, ioError("opening the lock file", err)
	}
	release := func() {
		_ = f.Close() // closing the last descriptor of an open releases its flock
		<-d.lk.sem
	}
	for wait := lockPollMin; ; wait = min(2*wait, lockPollMax) {
		ok, err := tryFlock(f, exclusive)
		if err != nil {
			release()
			return nil, ioError("locking "+path, err)
		}
		if ok {
			return release, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			release()
			return nil, fmt.Errorf("%w: %s is locked by another process: %w", backend.ErrUnavailable, path, ctx.Err())
		}
	}
}
