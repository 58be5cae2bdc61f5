package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/registry"
	"golang.org/x/sys/unix"
)

// TestHintLockedBoltFile: a real lock, held by this process on its own
// descriptor (as another process would): exit 3, the holder named, and no
// "is the server running?".
func TestHintLockedBoltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	s, err := registry.Open(context.Background(), "bolt://"+path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "", "count", "--dsn", "bolt://"+path+"?lock_timeout=50ms")
	if code != exitUnavailable || !strings.Contains(errOut, "one process at a time") || strings.Contains(errOut, "server running") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if want := fmt.Sprintf("process %d (", os.Getpid()); !strings.Contains(errOut, want) || !strings.Contains(errOut, "this very process") {
		t.Errorf("the hint does not name this process as the holder (%s):\n%s", want, errOut)
	}
}
