package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/registry"
)

// noWatch is a test backend ("test-nowatch") without the watch capability.
type noWatch struct{ backend.Driver }

func (noWatch) Capabilities() backend.Capabilities { return backend.Capabilities{} }

func init() {
	registry.Register("test-nowatch", func(_ context.Context, d *registry.DSN, cfg backend.Config) (backend.Driver, error) {
		if err := d.Unknown(); err != nil {
			return nil, err
		}
		return noWatch{memory.Open(d.Host(), cfg, nil)}, nil
	})
}

func putIDs(t *testing.T, dsn string, entities ...string) []string {
	t.Helper()
	var ids []string
	for _, e := range entities {
		code, out, errOut := runCLI(t, "", "put", "--dsn", dsn, "--entity", e, "--severity", severityOf(e))
		if code != 0 {
			t.Fatalf("put: exit %d: %s", code, errOut)
		}
		ids = append(ids, strings.TrimSpace(out))
	}
	return ids
}

// severityOf: entities named low* are Low, the others High.
func severityOf(entity string) string {
	if strings.HasPrefix(entity, "low") {
		return "low"
	}
	return "high"
}

// waitFor polls buf until it holds want; the test's deadline bounds it.
func waitFor(buf *syncBuffer, want string) {
	for !strings.Contains(buf.String(), want) {
		time.Sleep(time.Millisecond) // a poll interval, not an assertion
	}
}

// TestWatch runs watch in-process: it prints what arrives after it
// started (and, with --since-id, what was stored after that id, oldest
// first, with no repeat at the overlap), filtered, until cancelled, then
// prints the resume point.
func TestWatch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		before  []string // stored before watch starts
		sinceAt int      // --since-id: the id of before[sinceAt]; -1: none
		after   []string // stored while it watches
		flags   []string
		want    []string // entities printed, in order
		json    bool
	}{
		{"new-only", []string{"old1", "old2"}, -1, []string{"n1", "low1", "n2"}, nil, []string{"n1", "low1", "n2"}, false},
		{"filtered", nil, -1, []string{"n1", "low1", "n2"}, []string{"--min-severity", "high"}, []string{"n1", "n2"}, false},
		{"json", nil, -1, []string{"n1"}, []string{"--json"}, []string{"n1"}, true},
		{"json-lines", nil, -1, []string{"n1", "n2"}, []string{"-o", "json-lines"}, []string{"n1", "n2"}, true},
		{"csv", nil, -1, []string{"n1", "n2"}, []string{"-o", "csv"}, []string{"n1", "n2"}, false},
		{"resume", []string{"a", "b", "c", "d"}, 1, []string{"e"}, nil, []string{"c", "d", "e"}, false},
		{"resume-filtered", []string{"a", "low-b", "c", "low-d"}, 0, []string{"low-e", "f"}, []string{"--severity", "low"}, []string{"low-b", "low-d", "low-e"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := "mem://watch-" + tc.name
			ids := putIDs(t, dsn, tc.before...)
			args := append([]string{"watch", "--dsn", dsn}, tc.flags...)
			if tc.sinceAt >= 0 {
				args = append(args, "--since-id", ids[tc.sinceAt])
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stdout, stderr := &syncBuffer{}, &syncBuffer{}
			code := make(chan int, 1)
			go func() { code <- run(ctx, args, strings.NewReader(""), stdout, stderr) }()
			waitFor(stderr, "following")
			newIDs := putIDs(t, dsn, tc.after...)
			waitFor(stdout, tc.want[len(tc.want)-1])
			cancel()
			if c := <-code; c != exitOK {
				t.Fatalf("exit %d\nstderr: %s", c, stderr)
			}
			var got []string
			if slices.Contains(tc.flags, "csv") {
				rows, err := csv.NewReader(strings.NewReader(stdout.String())).ReadAll()
				if err != nil || len(rows) == 0 || rows[0][2] != "entity" {
					t.Fatalf("not csv with a header: %v\n%s", err, stdout)
				}
				for _, r := range rows[1:] {
					got = append(got, r[2])
				}
			}
			for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
				if slices.Contains(tc.flags, "csv") {
					break
				}
				if strings.HasPrefix(line, "TIMESTAMP") {
					continue
				}
				if tc.json {
					a, err := backend.ParseAlert([]byte(line))
					if err != nil {
						t.Fatalf("not NDJSON: %q", line)
					}
					got = append(got, a.Entity())
					continue
				}
				got = append(got, strings.Fields(line)[2])
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("printed %v, want %v\nstdout:\n%s", got, tc.want, stdout)
			}
			// The resume point is the last alert printed.
			idOf := map[string]string{}
			for i, e := range tc.before {
				idOf[e] = ids[i]
			}
			for i, e := range tc.after {
				idOf[e] = newIDs[i]
			}
			lastID := idOf[tc.want[len(tc.want)-1]]
			if !strings.Contains(stderr.String(), "resume with --since-id "+lastID) {
				t.Fatalf("stderr lacks the resume point %s:\n%s", lastID, stderr)
			}
		})
	}
}

// TestWatchRefusals: what watch cannot do is a usage error (exit 2),
// printed before anything else.
func TestWatchRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"no-watch-capability", []string{"--dsn", "test-nowatch://x"}, "does not declare watch"},
		{"unknown-since-id", []string{"--dsn", "mem://watch-refuse", "--since-id", "0190-nope"}, "no stored alert has this id"},
		{"bad-severity", []string{"--dsn", "mem://watch-refuse", "--severity", "urgent"}, "--severity"},
		{"stray-argument", []string{"--dsn", "mem://watch-refuse", "extra"}, "takes no arguments"},
		{"bad-output", []string{"--dsn", "mem://watch-refuse", "-o", "yaml"}, `-o "yaml": want table, ndjson, json-lines, csv`},
		{"json-and-csv", []string{"--dsn", "mem://watch-refuse", "-o", "csv", "--json"}, "--json is -o ndjson"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", append([]string{"watch"}, tc.args...)...)
			if code != exitUsage || !strings.Contains(errOut, tc.err) || out != "" {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
		})
	}
}

// TestRowPrinterEscapes: watch's rows escape like list's table.
func TestRowPrinterEscapes(t *testing.T) {
	a, err := backend.ParseAlert([]byte(`{"entity": "h\u001b[2Jx", "timestamp": "2025-03-01T12:00:00", "message": "a\nb"}`))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rowPrinter(&b, display{loc: time.UTC})(a); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(b.String()[:len(b.String())-1], "\x1b\r") || strings.Count(b.String(), "\n") != 2 || !strings.Contains(b.String(), `h\x1b[2Jx`) {
		t.Fatalf("row not escaped: %q", b.String())
	}
}
