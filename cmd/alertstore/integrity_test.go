package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntegrityCommands: the recorded cap refuses a lower writer until
// `cap set`, status shows the cap and the audit records, and list
// --verified shows only alerts signed with a key of the reader's file.
func TestIntegrityCommands(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	secret := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 32)))
	if err := os.WriteFile(keys, []byte("k2025 "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := "bolt://" + filepath.Join(dir, "a.db")
	capped := "--dsn=" + db + "?max_alerts=5"
	low := "--dsn=" + db + "?max_alerts=2&client_name=careless-writer"
	plain := "--dsn=" + db
	signing := "--dsn=" + db + "?sign_key_file=" + keys
	steps := []struct {
		name     string
		args     []string
		code     int
		out, err string // substrings
	}{
		{"cap-none-yet", []string{"cap", plain}, 0, "no cap recorded", ""},
		{"first-writer-records-5", []string{"put", capped, "--entity", "h1"}, 0, "", ""},
		{"cap-show", []string{"cap", "show", plain}, 0, "5\n", ""},
		{"lower-writer-refused", []string{"put", low, "--entity", "h2"}, 2, "", "max_alerts=2 is below the cap 5"},
		{"nothing-lost", []string{"count", plain}, 0, "1\n", ""},
		{"cap-set-needs-yes", []string{"cap", "set", "2", plain}, 2, "", "--yes"},
		{"cap-set-bad-number", []string{"cap", "set", "zero", plain, "--yes"}, 2, "", "not a whole number"},
		{"cap-set", []string{"cap", "set", "2", "--yes", plain}, 0, "5 -> 2 (audited)", ""},
		{"lower-writer-now-allowed", []string{"put", low, "--entity", "h2"}, 0, "", ""},
		{"clear", []string{"clear", "--yes", low}, 0, "cleared", ""},
		{"status-shows-record", []string{"status", plain}, 0, "recorded cap: 2", ""},
		{"status-shows-clear", []string{"status", plain}, 0, "careless-writer", ""},
		{"status-shows-cap-change", []string{"status", plain}, 0, "cap 5 -> 2 (1 entries)", ""},
		{"status-signing-off", []string{"status", plain}, 0, "signing:      off", ""},
		{"status-signing-on", []string{"status", signing}, 0, "signs with key k2025", ""},
		{"put-signed", []string{"put", signing, "--entity", "signed-host"}, 0, "", ""},
		{"put-unsigned", []string{"put", plain, "--entity", "unsigned-host"}, 0, "", ""},
		{"list-flags-unsigned", []string{"list", signing}, 0, "unsigned-host", "listed 1 unsigned and 0"},
		{"list-verified-only", []string{"list", signing, "--verified", "--json"}, 0, `"entity":"signed-host"`, "hid 1 unsigned"},
		{"list-verified-without-keys", []string{"list", plain, "--verified"}, 2, "", "no signing keys"},
		{"sign-key-file-missing", []string{"list", "--dsn=" + db + "?sign_key_file=" + filepath.Join(dir, "nope")}, 2, "", "no such file"},
	}
	for _, s := range steps {
		code, out, errOut := runCLI(t, "", s.args...)
		if code != s.code || !strings.Contains(out, s.out) || !strings.Contains(errOut, s.err) {
			t.Fatalf("%s: alertstore %q = exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout containing %q, stderr containing %q",
				s.name, s.args, code, out, errOut, s.code, s.out, s.err)
		}
		if s.name == "list-verified-only" && strings.Contains(out, "unsigned-host") {
			t.Fatalf("--verified listed the unsigned alert:\n%s", out)
		}
		if strings.Contains(out+errOut, secret) {
			t.Fatalf("%s: the signing secret was printed", s.name)
		}
	}
}
