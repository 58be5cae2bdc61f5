package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/registry"
)

// defaultStoreWithOne points the embedded default store at a fresh data
// directory holding one alert, and returns a function counting its
// alerts.
func defaultStoreWithOne(t *testing.T) func() string {
	t.Helper()
	t.Setenv(envDataDir, t.TempDir())
	t.Setenv(envDSN, "")
	if code, _, errOut := runCLI(t, "", "put", "--entity", "real", "--severity", "high"); code != 0 {
		t.Fatal(errOut)
	}
	return func() string {
		_, out, _ := runCLI(t, "", "count")
		return strings.TrimSpace(out)
	}
}

// TestStrayArgumentsRefused: a positional argument a command does not
// take is refused before anything is opened, so `clear --yes redis://...`
// no longer clears the default store; one that looks like a DSN gets the
// --dsn hint, redacted.
func TestStrayArgumentsRefused(t *testing.T) {
	count := defaultStoreWithOne(t)
	const dsnArg = "redis://:hunter2@prod.example:6379/0"
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"clear-dsn-after-yes", []string{"clear", "--yes", dsnArg}, "use --dsn"},
		{"clear-dsn-before-yes", []string{"clear", dsnArg, "--yes"}, "use --dsn"},
		{"clear-word", []string{"clear", "--yes", "now"}, "takes no arguments"},
		{"count", []string{"count", dsnArg}, "use --dsn"},
		{"ping", []string{"ping", dsnArg}, "use --dsn"},
		{"status", []string{"status", dsnArg}, "use --dsn"},
		{"list", []string{"list", dsnArg}, "use --dsn"},
		{"list-word-before-flag", []string{"list", "x", "--limit", "1"}, "takes no arguments"},
		{"demo", []string{"demo", dsnArg}, "use --dsn"},
		{"selftest", []string{"selftest", dsnArg}, "use --dsn"},
		{"backends", []string{"backends", "extra"}, "takes no arguments"},
		{"put-dsn", []string{"put", dsnArg}, "use --dsn"},
		{"put-two", []string{"put", `{"entity":"a"}`, `{"entity":"b"}`, "--dsn", "mem://"}, "takes at most 1 argument"},
		{"put-after-double-dash", []string{"put", "--", "--dsn", "mem://"}, "takes at most 1 argument"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", c.args...)
			if code != exitUsage || !strings.Contains(errOut, c.want) {
				t.Fatalf("alertstore %q = exit %d\nstdout: %s\nstderr: %s\nwant exit 2 and %q", c.args, code, out, errOut, c.want)
			}
			if strings.Contains(out+errOut, "hunter2") {
				t.Fatalf("password echoed: %s%s", out, errOut)
			}
			if n := count(); n != "1" {
				t.Fatalf("the default store holds %s alerts after the refused command, want 1", n)
			}
		})
	}
}

// TestTableEscapesControls: whatever an entity or message holds, the
// table shows it as escapes: no byte a terminal acts on reaches stdout.
func TestTableEscapesControls(t *testing.T) {
	const dsn = "--dsn=mem://tableesc"
	for _, c := range []struct {
		name, raw, shown string
	}{
		{"c0-escape-sequence", `\u001b[2J\u001b[H`, `\x1b[2J\x1b[H`},
		{"c0-bell-backspace", `\u0007\u0008`, `\x07\x08`},
		{"newline-tab-cr", `a\nb\tc\rd`, `a\nb\tc\rd`},
		{"del", "\u007f", `\x7f`},
		{"c1-csi-nel", "\u009b2J\u0085", `\x9b2J\x85`},
		{"bidi-override", "\u202etxt.exe", `\u202etxt.exe`},
		{"bidi-embedding-isolate", "\u202a\u2066\u2069\u202c", `\u202a\u2066\u2069\u202c`},
		{"bidi-marks", "\u200e\u200f\u061c", `\u200e\u200f\u061c`},
		{"invisible-format", "ad\u200bmin\ufeff\u2060", `ad\u200bmin\ufeff\u2060`},
		{"line-separators", "a\u2028b\u2029", `a\u2028b\u2029`},
		{"plain-unicode-kept", "hôte-東京", "hôte-東京"},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := fmt.Sprintf(`{"entity": "%s-%s", "message": "m%s", "severity": "high"}`, c.name, c.raw, c.raw)
			if code, _, errOut := runCLI(t, "", "put", dsn, raw); code != 0 {
				t.Fatal(errOut)
			}
			_, out, _ := runCLI(t, "", "list", dsn, "--limit", "1")
			if !strings.Contains(out, c.name+"-"+c.shown) {
				t.Fatalf("table lacks %q:\n%s", c.name+"-"+c.shown, out)
			}
			for _, r := range out {
				if (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) || unsafeRune(r) {
					t.Fatalf("table printed the raw character %U:\n%q", r, out)
				}
			}
		})
	}
}

// TestDefaultPathEscaped: a data directory with '%', '?' and '#' in its
// name holds the store itself; nothing is made elsewhere.
func TestDefaultPathEscaped(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "a%41b?c#d e&f=g")
	t.Setenv(envDataDir, dir)
	t.Setenv(envDSN, "")
	if code, _, errOut := runCLI(t, "", "put", "--entity", "h", "--severity", "low"); code != 0 {
		t.Fatal(errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "alerts.db")); err != nil {
		t.Fatalf("the store is not in the data directory: %v", err)
	}
	entries, _ := os.ReadDir(base)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("made %v in %s, want only %q", names, base, filepath.Base(dir))
	}
}

// TestHelpWritesNothing: help (and the usage text) computes where the
// default store is without creating it.
func TestHelpWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet")
	t.Setenv(envDataDir, dir)
	for _, args := range [][]string{{"help"}, {}, {"--help"}, {"help", "list"}, {"list", "--help"}, {"put", "-h"}, {"version"}, {"--version"},
		{"completion", "bash"}, {"__complete", "list", "--severity", ""}, {"lst"}} {
		runCLI(t, "", args...)
		if _, err := os.Stat(filepath.Join(dir, "..")); !os.IsNotExist(err) {
			t.Fatalf("alertstore %q created %s", args, filepath.Dir(dir))
		}
	}
}

// failAfter is a test backend ("test-fail-after") whose appends fail
// (unavailable) after the first one: a server lost in the middle of put -.
type failAfter struct {
	backend.Driver
	n atomic.Int32
}

func (f *failAfter) Append(ctx context.Context, alerts [][]byte) error {
	if f.n.Add(1) > 1 {
		return fmt.Errorf("%w: connection lost", backend.ErrUnavailable)
	}
	return f.Driver.Append(ctx, alerts)
}

func init() {
	registry.Register("test-fail-after", func(_ context.Context, d *registry.DSN, cfg backend.Config) (backend.Driver, error) {
		if err := d.Unknown(); err != nil {
			return nil, err
		}
		return &failAfter{Driver: memory.Open(d.Host(), cfg, nil)}, nil
	})
}

// TestPutStdinSizeCapFirst: put - checks every alert against the store's
// size cap before the first write: one oversized alert on line 552 of 600
// stores nothing and is named by its line.
func TestPutStdinSizeCapFirst(t *testing.T) {
	const dsn = "--dsn=mem://putcap?max_alert_bytes=512"
	var in strings.Builder
	in.WriteString("\n") // line numbers, not indexes: the first alert is on line 2
	for i := 2; i <= 601; i++ {
		msg := "ok"
		if i == 552 {
			msg = strings.Repeat("x", 600)
		}
		fmt.Fprintf(&in, `{"entity": "h%d", "message": "%s"}`+"\n", i, msg)
	}
	code, out, errOut := runCLI(t, in.String(), "put", dsn, "--atomic", "-")
	if code != exitInvalid || !strings.Contains(errOut, "line 552:") || out != "" || strings.Contains(errOut, "alert 51") {
		t.Fatalf("put - = exit %d\nstdout: %.200s\nstderr: %s\nwant exit 4 naming line 552 and nothing stored", code, out, errOut)
	}
	if _, n, _ := runCLI(t, "", "count", dsn); strings.TrimSpace(n) != "0" {
		t.Fatalf("count after the refused put = %s, want 0", n)
	}
}

// TestPutStdinPartialByLine: when the store fails after a first chunk,
// put says by input line what was stored and what was not, and exits
// with the failure's code.
func TestPutStdinPartialByLine(t *testing.T) {
	var in strings.Builder
	in.WriteString("\n\n") // the first alert is on line 3
	for i := range 600 {
		fmt.Fprintf(&in, `{"entity": "h%d"}`+"\n", i)
	}
	code, out, errOut := runCLI(t, in.String(), "put", "--dsn", "test-fail-after://partial", "--atomic", "-")
	if code != exitUnavailable || strings.Count(out, "\n") != 500 ||
		!strings.Contains(errOut, "the 500 alerts of lines 3 to 502 were stored") || !strings.Contains(errOut, "from line 503 on, nothing was stored") {
		t.Fatalf("put - = exit %d, %d ids printed\nstderr: %s", code, strings.Count(out, "\n"), errOut)
	}
}

// TestSkipInvalidSaysWhatWasStored: with --skip-invalid the exit is 4 but
// the message says what was stored, never "nothing was stored".
func TestSkipInvalidSaysWhatWasStored(t *testing.T) {
	code, _, errOut := runCLI(t, "{\"entity\": \"a\"}\nnot json\n", "put", "--dsn", "mem://skipinv", "--skip-invalid", "-")
	if code != exitInvalid || !strings.Contains(errOut, "stored 1 alerts") || strings.Contains(errOut, "nothing was stored") {
		t.Fatalf("exit %d\nstderr: %s", code, errOut)
	}
}

// TestBoltFileProblemsAreConfigErrors: the default store's file damaged,
// a directory, or too open: exit 2 with what is wrong (never "is the
// server running?"), or a warning line for a permissive mode.
func TestBoltFileProblemsAreConfigErrors(t *testing.T) {
	t.Run("damaged", func(t *testing.T) {
		defaultStoreWithOne(t)
		path := filepath.Join(os.Getenv(envDataDir), "alerts.db")
		if err := os.WriteFile(path, []byte(strings.Repeat("garbage!", 1000)), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCLI(t, "", "count")
		if code != exitUsage || !strings.Contains(errOut, "not a bolt database") || strings.Contains(errOut, "server running") {
			t.Fatalf("count on a damaged file = exit %d\n%s", code, errOut)
		}
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		code, _, errOut := runCLI(t, "", "count", "--dsn", "bolt://"+dir)
		if code != exitUsage || !strings.Contains(errOut, "is a directory") {
			t.Fatalf("count on a directory = exit %d\n%s", code, errOut)
		}
	})
	t.Run("permissive-mode-warned", func(t *testing.T) {
		defaultStoreWithOne(t)
		path := filepath.Join(os.Getenv(envDataDir), "alerts.db")
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCLI(t, "", "count")
		if code != 0 || strings.TrimSpace(out) != "1" || strings.Count(errOut, "warning:") != 1 || !strings.Contains(errOut, "mode 0644") {
			t.Fatalf("count = exit %d, %q\nstderr: %s\nwant 1 and one warning about mode 0644", code, out, errOut)
		}
	})
}

func TestEscapeCell(t *testing.T) {
	for in, want := range map[string]string{
		"plain":              "plain",
		"\x1b[31mred":        `\x1b[31mred`,
		"a\u202eb":           `a\u202eb`,
		"bad\xffutf8":        `bad\xffutf8`,
		"\u00adsoft-hyphen":  `\u00adsoft-hyphen`,
		"zero\u200dwidthjnr": `zero\u200dwidthjnr`,
	} {
		if got := escapeCell(in); got != want {
			t.Errorf("escapeCell(%q) = %q, want %q", in, got, want)
		}
	}
}
