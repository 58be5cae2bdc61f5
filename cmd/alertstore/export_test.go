package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backends/bolt"
)

// TestExportImport: export writes oldest first with ids, import stores the
// file in that order, a second import stores nothing, and bad input is
// named by line with exit 4.
func TestExportImport(t *testing.T) {
	dir := t.TempDir()
	src := "--dsn=" + bolt.DSNFor(filepath.Join(dir, "src.db"))
	dst := "--dsn=mem://exportimport"
	file := filepath.Join(dir, "out.ndjson")
	for _, e := range []string{"h1", "h2", "h3"} {
		if code, _, errOut := runCLI(t, "", "put", src, "--entity", e, "--severity", "high"); code != 0 {
			t.Fatalf("put: %d %s", code, errOut)
		}
	}
	_, newestFirst, _ := runCLI(t, "", "list", src, "--json")
	want := reverseLines(newestFirst)

	steps := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		out, err string // substrings
	}{
		{"export-file", "", []string{"export", src, file}, 0, "", "exported 3 alerts, oldest first, to " + file},
		{"export-stdout", "", []string{"export", src}, 0, want, "to stdout"},
		{"import", "", []string{"import", dst, file}, 0, "", "3 alerts stored, 0 already stored"},
		{"import-again", "", []string{"import", dst, file}, 0, "", "0 alerts stored, 3 already stored"},
		{"import-stdin-bad-line", "{\"id\":\"x1\",\"timestamp\":\"2025-03-01T12:00:00\"}\nnot json\n", []string{"import", dst, "-"}, 4, "", "line 2: "},
		{"import-conflict", "{\"id\":\"x1\",\"timestamp\":\"2025-03-01T12:00:01\"}\n", []string{"import", dst}, 4, "", "conflict"},
		{"import-missing-file", "", []string{"import", dst, filepath.Join(dir, "nope")}, 2, "", "cannot read"},
		{"import-bad-batch", "", []string{"import", dst, "--batch", "0", file}, 2, "", "--batch"},
		{"import-over-cap", "", []string{"import", "--dsn", "mem://exportimport-small?max_alerts=2", file}, 0, "", "dropped the oldest 1 entries"},
		{"export-into-directory", "", []string{"export", src, dir}, 2, "", "is a directory"},
		{"export-two-args", "", []string{"export", src, "a", "b"}, 2, "", "at most 1"},
	}
	for _, s := range steps {
		code, out, errOut := runCLI(t, s.stdin, s.args...)
		if code != s.code || !strings.Contains(out, s.out) || !strings.Contains(errOut, s.err) {
			t.Fatalf("%s: alertstore %q = exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout containing %q, stderr containing %q",
				s.name, s.args, code, out, errOut, s.code, s.out, s.err)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("export file:\n%s\nwant the stored alerts oldest first:\n%s", got, want)
	}
	_, imported, _ := runCLI(t, "", "list", dst, "--json", "--limit", "3", "--cursor", cursorBelowNewest(t, dst))
	if imported != newestFirst {
		t.Errorf("imported store lists:\n%s\nwant, as the source:\n%s", imported, newestFirst)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".out.ndjson.tmp-*")); len(left) > 0 {
		t.Errorf("temporary export files left: %v", left)
	}
}

// cursorBelowNewest returns the cursor after the newest alert of the
// store (the one the conflict step stored, x1).
func cursorBelowNewest(t *testing.T, dsn string) string {
	t.Helper()
	_, _, errOut := runCLI(t, "", "list", dsn, "--limit", "1")
	i := strings.Index(errOut, "--cursor ")
	if i < 0 {
		t.Fatalf("no next cursor in %q", errOut)
	}
	return strings.Fields(errOut[i+len("--cursor "):])[0]
}

func reverseLines(s string) string {
	l := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, j := 0, len(l)-1; i < j; i, j = i+1, j-1 {
		l[i], l[j] = l[j], l[i]
	}
	return strings.Join(l, "\n") + "\n"
}
