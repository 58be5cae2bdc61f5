package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backends/bolt"
)

// TestBackupCommand: backup copies a bolt store that lists the same; a
// DSN of another backend is refused with what to use instead.
func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	src := "--dsn=" + bolt.DSNFor(filepath.Join(dir, "alerts.db"))
	out := filepath.Join(dir, "alerts.bak")
	if code, _, errOut := runCLI(t, "", "put", src, "--entity", "h1", "--severity", "low"); code != 0 {
		t.Fatalf("put: %d %s", code, errOut)
	}
	_, want, _ := runCLI(t, "", "list", src, "--json")
	for _, s := range []struct {
		name     string
		args     []string
		code     int
		out, err string // substrings
	}{
		{"backup", []string{"backup", src, out}, 0, "backed up to " + out, ""},
		{"backup-again-replaces", []string{"backup", src, out}, 0, "checked", ""},
		{"backup-lists-the-same", []string{"list", "--dsn", bolt.DSNFor(out) + "?read_only=true", "--json"}, 0, want, ""},
		{"no-out", []string{"backup", src}, 2, "", "backup takes the backup file"},
		{"not-bolt", []string{"backup", "--dsn", "mem://x", out}, 2, "", "alertstore export"},
		{"into-itself", []string{"backup", src, filepath.Join(dir, "alerts.db")}, 2, "", "the bolt file itself"},
	} {
		code, stdout, stderr := runCLI(t, "", s.args...)
		if code != s.code || !strings.Contains(stdout, s.out) || !strings.Contains(stderr, s.err) {
			t.Fatalf("%s: alertstore %q = exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout containing %q, stderr containing %q",
				s.name, s.args, code, stdout, stderr, s.code, s.out, s.err)
		}
	}
}
