package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startServe runs `alertstore serve args...` in-process and returns its
// host:port, a stop function (the SIGTERM of main: the ctx ends) that
// returns the exit code and stderr.
func startServe(t *testing.T, args ...string) (addr string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var errb lockedBuf
	done := make(chan int, 1)
	go func() {
		code := run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), strings.NewReader(""), pw, &errb)
		pw.Close()
		done <- code
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "dashboard: "); ok {
				urls <- u
			}
		}
	}()
	select {
	case u := <-urls:
		addr = strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/")
	case code := <-done:
		cancel()
		t.Fatalf("serve exited %d before listening:\n%s", code, errb.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("serve did not print its URL:\n%s", errb.String())
	}
	stopped := false
	stop = func() (int, string) {
		if stopped {
			return 0, errb.String()
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code, errb.String()
		case <-time.After(30 * time.Second):
			t.Fatalf("serve did not stop:\n%s", errb.String())
			return 0, ""
		}
	}
	t.Cleanup(func() { stop() })
	return addr, stop
}

// TestServeSharesTheEmbeddedStore is the README's main command: serve on
// the embedded default store, and the other commands reach it through
// alertstore+http while it holds the file; after it stops, the file has
// every alert.
func TestServeSharesTheEmbeddedStore(t *testing.T) {
	t.Setenv(envDataDir, t.TempDir())
	t.Setenv(envDSN, "")
	addr, stop := startServe(t)
	remote := "--dsn=alertstore+http://" + addr
	if code, out, errs := runCLI(t, "", "put", remote, "--entity", "host1", "--severity", "high", "--message", "beacon"); code != 0 {
		t.Fatalf("put through the server: %d %s %s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "{\"entity\":\"h2\",\"severity\":\"Low\"}\nnot json\n", "put", remote, "-"); code != exitInvalid || !strings.Contains(errs, "line 2") {
		t.Fatalf("put - through the server: %d %s", code, errs)
	}
	code, out, errs := runCLI(t, "", "list", remote, "--json")
	if code != 0 || !strings.Contains(out, `"entity":"host1"`) || !strings.Contains(out, `"entity":"h2"`) {
		t.Fatalf("list through the server: %d\n%s\n%s", code, out, errs)
	}
	if code, out, _ := runCLI(t, "", "status", remote); code != 0 || !strings.Contains(out, "alertstore+http") {
		t.Fatalf("status through the server: %d\n%s", code, out)
	}
	code, errs = stop()
	if code != 0 || !strings.Contains(errs, "stopped") {
		t.Fatalf("serve exited %d:\n%s", code, errs)
	}
	if code, out, errs := runCLI(t, "", "count"); code != 0 || out != "2\n" {
		t.Fatalf("count of the embedded store after serve stopped: %d %q %s", code, out, errs)
	}
}

func TestServeRefuses(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "tokens-open")
	if err := os.WriteFile(open, []byte("reader aaaaaaaaaaaaaaaaaaaaaaaa\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"NonLoopbackWithoutTLS", []string{"serve", "--dsn", "mem://", "--listen", "0.0.0.0:0"}, exitUsage, "not a loopback address"},
		{"CertWithoutKey", []string{"serve", "--dsn", "mem://", "--tls-cert", "c.pem"}, exitUsage, "--tls-key"},
		{"WorldReadableTokens", []string{"serve", "--dsn", "mem://", "--token-file", open}, exitSecurity, "chmod 600"},
		{"Positional", []string{"serve", "mem://"}, exitUsage, ""},
		{"BadDSN", []string{"serve", "--dsn", "mem://?nope=1"}, exitUsage, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, "", tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.says) {
				t.Fatalf("exit %d, want %d saying %q:\n%s", code, tc.code, tc.says, errs)
			}
		})
	}
}

// TestServeShutdownAnswersUploads: SIGTERM during an NDJSON upload ends
// it with an answer naming every alert stored, and serve exits 0.
func TestServeShutdownAnswersUploads(t *testing.T) {
	addr, stop := startServe(t, "--dsn", "mem://shutdown-upload?max_alerts=100")
	pr, pw := io.Pipe()
	answered := make(chan map[string]any, 1)
	go func() {
		resp, err := http.Post("http://"+addr+"/v1/alerts", "application/x-ndjson", pr)
		if err != nil {
			answered <- map[string]any{"transport": err.Error()}
			return
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		m["status"] = resp.StatusCode
		answered <- m
	}()
	for i := 0; i < 3; i++ {
		fmt.Fprintf(pw, "{\"entity\":\"u%d\",\"severity\":\"High\"}\n", i)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v1/count")
		if err == nil {
			var c struct{ Count int }
			_ = json.NewDecoder(resp.Body).Decode(&c)
			resp.Body.Close()
			if c.Count == 3 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the upload's lines were not stored while it was open")
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, errs := stop()
	// The client's writer goroutine reads the pipe until it is closed; a
	// round trip that failed waits for it, so close it before waiting.
	pw.Close()
	var m map[string]any
	select {
	case m = <-answered:
	case <-time.After(30 * time.Second):
		t.Fatal("the upload got no answer 30s after serve stopped")
	}
	if code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, errs)
	}
	ids, _ := m["ids"].([]any)
	if m["status"] != 503 || m["stored"] != 3.0 || len(ids) != 3 {
		t.Fatalf("the upload's answer at shutdown: %v", m)
	}
}

// lockedBuf is a bytes.Buffer safe for the server's goroutines and the
// test's.
type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeTokensFromEnvironment: without --token-file, serve takes the
// reader and writer tokens from the environment, and requires them.
func TestServeTokensFromEnvironment(t *testing.T) {
	const reader, writer = "env-reader-token-0123456789", "env-writer-token-0123456789"
	t.Setenv(envReaderToken, reader)
	t.Setenv(envWriterToken, writer)
	addr, stop := startServe(t, "--dsn", "mem://serve-env-tokens")
	for _, tc := range []struct {
		method, token string
		status        int
	}{{"GET", "", 401}, {"GET", writer, 403}, {"GET", reader, 200}, {"POST", reader, 403}, {"POST", writer, 200}} {
		var body io.Reader
		if tc.method == "POST" {
			body = strings.NewReader(`{"entity":"e","severity":"High"}`)
		}
		path := "/v1/count"
		if tc.method == "POST" {
			path = "/v1/alerts"
		}
		req, _ := http.NewRequest(tc.method, "http://"+addr+path, body)
		req.Header.Set("Content-Type", "application/json")
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s with a token %t: %d, want %d", tc.method, path, tc.token != "", resp.StatusCode, tc.status)
		}
	}
	if _, errs := stop(); strings.Contains(errs, reader) || strings.Contains(errs, writer) {
		t.Fatal("serve's stderr (its request log) shows a token")
	}
}
