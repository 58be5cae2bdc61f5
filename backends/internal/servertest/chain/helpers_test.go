package chain_test

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond until it holds, failing t after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// reexec runs test in a child copy of this test binary with env added,
// feeds line every line the child prints, and SIGKILLs the child the first
// time line returns true. A child line starting with "ERR" fails t; a
// child that ends before it was killed fails t.
func reexec(t *testing.T, test string, env []string, line func(string) (kill bool)) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	guard := time.AfterFunc(120*time.Second, func() { _ = cmd.Process.Kill() })
	defer guard.Stop()
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "ERR") {
			t.Errorf("child %s: %s", test, sc.Text())
		}
		if kill := line(sc.Text()); kill && !killed {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child %s ended before it was killed", test)
	}
}
