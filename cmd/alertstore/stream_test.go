package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/registry"
)

// syncBuffer is a bytes.Buffer safe to read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// streamRun starts put - in-process on a pipe and returns the pipe's
// writer and a channel with the exit code.
func streamRun(ctx context.Context, args ...string) (w *io.PipeWriter, code <-chan int, stdout, stderr *syncBuffer) {
	r, w := io.Pipe()
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	c := make(chan int, 1)
	go func() {
		c <- run(ctx, append([]string{"put"}, args...), r, stdout, stderr)
		r.Close()
	}()
	return w, c, stdout, stderr
}

// countOf opens dsn (a named, shared mem:// store) and counts.
func countOf(t *testing.T, dsn string) int64 {
	t.Helper()
	s, err := registry.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitCount polls until dsn holds want entries; the test's own deadline
// bounds it, so it asserts an order of events, not a speed.
func waitCount(t *testing.T, dsn string, want int64) {
	t.Helper()
	for countOf(t, dsn) < want {
		time.Sleep(time.Millisecond) // a poll interval, not an assertion
	}
}

// TestPutStreamStoresBeforeEOF is the old `(echo a; sleep 3; echo b) |
// alertstore put -`: the first alert is stored while the writer still
// holds the second line, for either trigger (a full batch, or the flush
// timer with a batch that cannot fill).
func TestPutStreamStoresBeforeEOF(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"batch-of-one", []string{"--batch", "1", "--flush", "1h"}},
		{"flush-timer", []string{"--batch", "1000", "--flush", "1ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := "mem://stream-early-" + tc.name
			w, code, _, stderr := streamRun(context.Background(), append([]string{"--dsn", dsn}, append(tc.flags, "-")...)...)
			fmt.Fprintln(w, `{"entity": "a"}`)
			waitCount(t, dsn, 1) // hangs (test timeout) if put waits for EOF
			fmt.Fprintln(w, `{"entity": "b"}`)
			w.Close()
			if c := <-code; c != exitOK || countOf(t, dsn) != 2 {
				t.Fatalf("exit %d, count %d\nstderr: %s", c, countOf(t, dsn), stderr)
			}
		})
	}
}

// TestPutStreamAtomicWaitsForEOF: the check above can fail: --atomic
// stores nothing before the input ends.
func TestPutStreamAtomicWaitsForEOF(t *testing.T) {
	const dsn = "mem://stream-atomic"
	w, code, _, _ := streamRun(context.Background(), "--dsn", dsn, "--atomic", "-")
	for i := range 50 {
		fmt.Fprintf(w, `{"entity": "a%d"}`+"\n", i) // each write returns once put has read it
	}
	if n := countOf(t, dsn); n != 0 {
		t.Fatalf("--atomic stored %d alerts before EOF", n)
	}
	w.Close()
	if c := <-code; c != exitOK || countOf(t, dsn) != 50 {
		t.Fatalf("exit %d, count %d", c, countOf(t, dsn))
	}
}

// TestPutStreamRejects: invalid lines are named by line number on
// stderr, written to the reject file as read, and do not stop the
// stream; the exit code says that lines were rejected.
func TestPutStreamRejects(t *testing.T) {
	big := `{"entity": "big", "message": "` + strings.Repeat("x", 3000) + `"}`
	huge := `{"entity": "huge", "message": "` + strings.Repeat("y", 20000) + `"}`
	for _, tc := range []struct {
		name        string
		input       string
		code        int
		stored      int64
		errLines    []string // substrings of stderr
		rejectFile  string   // want exact content
		withRejects bool
	}{
		{"all-valid", "{\"entity\": \"a\"}\n\n{\"entity\": \"b\"}\n", exitOK, 2, nil, "", true},
		{"bad-lines-named", "{\"entity\": \"a\"}\nnot json\n\n{\"severity\": \"urgent\"}\n{\"entity\": \"b\"}\n[1]", exitInvalid, 2,
			[]string{"line 2:", "line 4:", "line 6:", "rejected 3 invalid lines", "stored 2 alerts"}, "not json\n{\"severity\": \"urgent\"}\n[1]\n", true},
		{"over-cap", "{\"entity\": \"a\"}\n" + big + "\n{\"entity\": \"b\"}\n", exitInvalid, 2, []string{"line 2:", "over the store's cap"}, big + "\n", true},
		{"over-line-limit", huge + "\n{\"entity\": \"b\"}\n" + huge, exitInvalid, 1, []string{"line 1:", "line 3:", "over the"}, huge + "\n" + huge + "\n", true},
		{"no-reject-file", "not json\n{\"entity\": \"b\"}\n", exitInvalid, 1, []string{"line 1:"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := "mem://stream-rej-" + tc.name + "?max_alert_bytes=2048"
			rej := filepath.Join(t.TempDir(), "rejects.ndjson")
			args := []string{"put", "--dsn", dsn, "--batch", "2"}
			if tc.withRejects {
				args = append(args, "--reject-file", rej)
			}
			code, out, errOut := runCLI(t, tc.input, append(args, "-")...)
			if code != tc.code || countOf(t, dsn) != tc.stored || int64(strings.Count(out, "\n")) != tc.stored {
				t.Fatalf("exit %d (want %d), stored %d (want %d), ids printed %d\nstderr: %s", code, tc.code, countOf(t, dsn), tc.stored, strings.Count(out, "\n"), errOut)
			}
			for _, want := range tc.errLines {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if strings.Contains(errOut, "nothing was stored") {
				t.Errorf("stderr says nothing was stored:\n%s", errOut)
			}
			if !tc.withRejects {
				return
			}
			got, err := os.ReadFile(rej)
			if err != nil && tc.rejectFile != "" {
				t.Fatal(err)
			}
			if string(got) != tc.rejectFile {
				t.Errorf("reject file = %.200q, want %.200q", got, tc.rejectFile)
			}
		})
	}
}

// TestPutStreamFlags: bad streaming flags are usage errors that store
// nothing.
func TestPutStreamFlags(t *testing.T) {
	const dsn = "--dsn=mem://stream-flags"
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"batch-zero", []string{"--batch", "0", "-"}, "--batch 0"},
		{"batch-huge", []string{"--batch", "100001", "-"}, "--batch 100001"},
		{"flush-zero", []string{"--flush", "0s", "-"}, "--flush 0s"},
		{"batch-without-stdin", []string{"--batch", "5", "--entity", "x"}, "applies to put -"},
		{"atomic-with-reject-file", []string{"--atomic", "--reject-file", "/tmp/x", "-"}, "--atomic"},
		{"reject-file-unwritable", []string{"--reject-file", "/nonexistent/dir/r", "-"}, "--reject-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "{\"entity\": \"a\"}\n", append([]string{"put", dsn}, tc.args...)...)
			if code != exitUsage || !strings.Contains(errOut, tc.err) {
				t.Fatalf("exit %d, stderr: %s", code, errOut)
			}
		})
	}
	if n := countOf(t, "mem://stream-flags"); n != 0 {
		t.Fatalf("refused flags stored %d alerts", n)
	}
}

// TestPutStreamInterrupt: the command's ctx cancelled mid-stream (what
// SIGINT/SIGTERM do in main) with a batch half full and a flush timer
// that will not fire: every line put had read is stored, and it exits.
func TestPutStreamInterrupt(t *testing.T) {
	const dsn = "mem://stream-interrupt"
	ctx, cancel := context.WithCancel(context.Background())
	w, code, stdout, stderr := streamRun(ctx, "--dsn", dsn, "--batch", "100", "--flush", "1h", "-")
	for i := range 250 { // two full batches and 50 lines waiting
		fmt.Fprintf(w, `{"entity": "h%d"}`+"\n", i)
	}
	waitCount(t, dsn, 200)
	// put reads the pipe again only after it handed line 250 on: once
	// this blank line is written, line 250 sits in put's batch.
	fmt.Fprintln(w)
	cancel()
	c := <-code
	if c != exitOK || countOf(t, dsn) != 250 || strings.Count(stdout.String(), "\n") != 250 ||
		!strings.Contains(stderr.String(), "interrupted: stored 250 alerts") {
		t.Fatalf("exit %d, count %d\nstderr: %s", c, countOf(t, dsn), stderr)
	}
	w.Close()
}

// TestPutStreamMemoryFlat feeds a long stream through a pipe and samples
// the heap in use as it goes: streaming holds one batch, so the heap
// stays within a bound far below the input's size. The same measurement
// with --atomic, which holds the whole input, exceeds the bound: the
// check can fail.
func TestPutStreamMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("a long stream")
	}
	const (
		lines = 40_000
		bound = 12 << 20 // the input is about 40 MB of alerts decoded
	)
	msg := strings.Repeat("m", 600)
	for _, tc := range []struct {
		name      string
		args      []string
		wantUnder bool
	}{
		{"streaming", []string{"--batch", "200"}, true},
		{"atomic-holds-all", []string{"--atomic"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A small ring: the store itself must not grow either.
			dsn := "mem://stream-mem-" + tc.name + "?max_alerts=1000"
			w, code, _, stderr := streamRun(context.Background(), append(append([]string{"--dsn", dsn}, tc.args...), "-")...)
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base, peak := ms.HeapInuse, uint64(0)
			for i := range lines {
				fmt.Fprintf(w, `{"entity": "host%d", "severity": "High", "message": "%s"}`+"\n", i, msg)
				if i%2000 == 1999 {
					runtime.GC()
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
				}
			}
			w.Close()
			if c := <-code; c != exitOK {
				t.Fatalf("exit %d\nstderr: %.500s", c, stderr)
			}
			grew := int64(peak) - int64(base)
			if under := grew < bound; under != tc.wantUnder {
				t.Fatalf("heap in use grew by %d MiB over %d lines (bound %d MiB); want under the bound: %v", grew>>20, lines, bound>>20, tc.wantUnder)
			}
			t.Logf("heap in use grew by %.1f MiB over %d lines", float64(grew)/(1<<20), lines)
		})
	}
}

// TestPutStreamFailureSaysWhatWasStored: a store that fails after its
// first write: put names the lines stored and the line from which
// nothing was, and exits with the failure's code.
func TestPutStreamFailureSaysWhatWasStored(t *testing.T) {
	var in strings.Builder
	in.WriteString("\nnot json\n") // the first alert is on line 3
	for i := range 300 {
		fmt.Fprintf(&in, `{"entity": "h%d"}`+"\n", i)
	}
	code, out, errOut := runCLI(t, in.String(), "put", "--dsn", "test-fail-after://stream-partial", "--batch", "100", "-")
	if code != exitUnavailable || strings.Count(out, "\n") != 100 ||
		!strings.Contains(errOut, "100 alerts before line 103 were stored") || !strings.Contains(errOut, "from line 103 on, nothing was stored") {
		t.Fatalf("exit %d, %d ids printed\nstderr: %s", code, strings.Count(out, "\n"), errOut)
	}
}
