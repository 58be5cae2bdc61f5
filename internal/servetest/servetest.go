// Package servetest starts real `alertstore serve` processes for tests:
// the client backend's conformance run, the load test and the kill test
// (and the dashboard's browser test) talk to the binary users run, not to
// a handler in the test's own process. It builds the command once per
// test binary; call Main from TestMain so the build is removed after.
package servetest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// Main runs the tests and removes the binary Binary built.
func Main(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// Binary builds cmd/alertstore once, plain (as users get it: the race
// checks of the server run in package server's own tests), and returns
// its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("building cmd/alertstore needs the go command on PATH: %w", err)
			return
		}
		buildDir, buildErr = os.MkdirTemp("", "alertstore-servetest-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "alertstore")
		cmd := exec.Command(goCmd, "build", "-o", buildBin, "github.com/apt-detection/alertstore/cmd/alertstore")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/alertstore: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// Proc is a running `alertstore serve`.
type Proc struct {
	// URL is the server's base URL ("http://127.0.0.1:PORT/").
	URL string
	// Addr is its host:port.
	Addr string

	cmd    *exec.Cmd
	stderr *lockedBuffer
	waited chan error
	t      testing.TB
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start runs `alertstore serve --dsn dsn --listen 127.0.0.1:0 args...` in
// dir's data directory and waits until it prints its URL. The process is
// stopped (SIGTERM) when the test ends, if it still runs.
func Start(t testing.TB, dsn string, args ...string) *Proc {
	t.Helper()
	bin := Binary(t)
	all := append([]string{"serve", "--dsn", dsn, "--listen", "127.0.0.1:0", "--log-level", "warn"}, args...)
	cmd := exec.Command(bin, all...)
	data := t.TempDir()
	cmd.Env = append(os.Environ(), "ALERTSTORE_DATA_DIR="+data, "HOME="+data, "ALERTSTORE_DSN=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{cmd: cmd, stderr: &lockedBuffer{}, waited: make(chan error, 1), t: t}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "dashboard: "); ok {
				select {
				case lines <- u:
				default:
				}
			}
		}
	}()
	go func() { p.waited <- cmd.Wait() }()
	select {
	case u := <-lines:
		p.URL = u
		p.Addr = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://"), "/")
	case err := <-p.waited:
		t.Fatalf("alertstore serve exited before listening: %v\n%s", err, p.stderr.String())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("alertstore serve did not print its URL in 60s\n%s", p.stderr.String())
	}
	t.Cleanup(func() { _ = p.Stop(20 * time.Second) })
	return p
}

// Stop sends SIGTERM and waits for the exit; it returns the process's
// exit error (nil: exit 0). Stopping a stopped process returns nil.
func (p *Proc) Stop(timeout time.Duration) error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.waited:
		p.waited <- err
		return err
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		err := <-p.waited
		p.waited <- err
		return errors.Join(fmt.Errorf("alertstore serve did not stop within %s of SIGTERM", timeout), err)
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	err := <-p.waited
	p.waited <- err
}

// Stderr is what the process wrote on stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }
