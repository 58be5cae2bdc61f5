//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// buildBinary builds this command into a temporary directory: the signal
// tests need a process of their own to signal.
func buildBinary(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build the binary with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "alertstore")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// waitUntil polls until cond holds, and fails the test after limit: a
// binary that never acknowledges fails instead of hanging.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool, dump func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s\n%s", what, limit, dump())
		}
		time.Sleep(5 * time.Millisecond) // a poll interval, not an assertion
	}
}

// TestSignalFlushesBuiltBinary (issue 11 §1): the built binary reads
// NDJSON on a pipe with put - into a bolt file; every line it read before
// SIGTERM or SIGINT is stored exactly once when it exits.
//
// Lines 1-10 are stored by full batches (--batch 5) and acknowledged by
// their ids on stdout. Lines 11-13 make a batch that is not full, with
// --flush 1h, so that only the signal's flush can store them; line 14 is
// invalid, and its report on stderr says that the reader has handed lines
// 11-13 to the writer (the hand-over is unbuffered). Then the signal: the
// file must hold lines 1-13, each once, and stdout name each stored id
// once. Without the flush on signal, lines 11-13 are missing.
func TestSignalFlushesBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not in -short")
	}
	bin := buildBinary(t)
	for _, c := range []struct {
		name string
		sig  syscall.Signal
	}{
		{"SIGTERM", syscall.SIGTERM},
		{"SIGINT", syscall.SIGINT},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "alerts.db")
			dsn := "bolt://" + path
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "put", "-", "--batch", "5", "--flush", "1h")
			cmd.Env = append(os.Environ(), envDSN+"="+dsn, "ALERTSTORE_REPLAY_BUDGET=0")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, stderr := &syncBuffer{}, &syncBuffer{}
			cmd.Stdout, cmd.Stderr = stdout, stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			dump := func() string { return "stdout:\n" + stdout.String() + "stderr:\n" + stderr.String() }
			line := func(n int) string {
				return fmt.Sprintf(`{"entity": "line-%d", "severity": "High", "message": "signal test"}`+"\n", n)
			}
			for n := 1; n <= 10; n++ {
				if _, err := io.WriteString(stdin, line(n)); err != nil {
					t.Fatal(err)
				}
			}
			waitUntil(t, time.Minute, "ids of lines 1-10 on stdout", func() bool { return strings.Count(stdout.String(), "\n") == 10 }, dump)
			for n := 11; n <= 13; n++ {
				if _, err := io.WriteString(stdin, line(n)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := io.WriteString(stdin, "not json\n"); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, time.Minute, "report of line 14 on stderr", func() bool { return strings.Contains(stderr.String(), "line 14:") }, dump)
			if got := strings.Count(stdout.String(), "\n"); got != 10 {
				t.Fatalf("%d ids before the signal, want 10 (--flush 1h: lines 11-13 wait)\n%s", got, dump())
			}
			if err := cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			_ = stdin.Close() // after the exit: the pipe stays open while it runs, as a detector's does
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("wait: %v\n%s", err, dump())
			}
			// Exit 4: line 14 was rejected; the stream itself ended well.
			if code != exitInvalid || !strings.Contains(stderr.String(), "interrupted: stored 13 alerts, every valid line read through line 13") {
				t.Fatalf("exit %d, want %d and the interruption reported\n%s", code, exitInvalid, dump())
			}

			ids := strings.Fields(stdout.String())
			s, err := registry.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			page, err := s.List(context.Background(), backend.Query{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			stored := map[string]int{}
			byID := map[string]bool{}
			for _, a := range page.Alerts {
				stored[a.Entity()]++
				byID[a.ID()] = true
			}
			for n := 1; n <= 13; n++ {
				if got := stored[fmt.Sprintf("line-%d", n)]; got != 1 {
					t.Errorf("line %d stored %d times, want once", n, got)
				}
			}
			if len(page.Alerts) != 13 || len(ids) != 13 || page.Duplicates != 0 {
				t.Errorf("%d alerts stored (%d duplicates hidden), %d ids printed; want 13 and 13", len(page.Alerts), page.Duplicates, len(ids))
			}
			for _, id := range ids {
				if !byID[id] {
					t.Errorf("id %s printed but not stored", id)
				}
			}
		})
	}
}
