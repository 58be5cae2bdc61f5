package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// runCLI runs the command in-process. A named mem:// store is shared by
// every run in this process, which stands in for a server here.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCommands(t *testing.T) {
	const dsn = "--dsn=mem://clitest?prefix=cli:"
	steps := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		out, err string // substrings
	}{
		{"count-empty", "", []string{"count", dsn}, 0, "0\n", ""},
		{"put-flags", "", []string{"put", dsn, "--entity", "host1", "--severity", "high", "--message", "beacon", "--source", "kafka", "--score", "0.9", "--field", `features={"n":3}`}, 0, "-", ""},
		{"put-json", "", []string{"put", dsn, `{"entity": "host2", "severity": "Critical", "timestamp": "2025-03-01T12:34:56.789012"}`}, 0, "-", ""},
		{"put-stdin", "{\"entity\": \"h3\", \"severity\": \"Low\"}\n\n{\"entity\": \"h4\", \"severity\": \"Medium\"}\n", []string{"put", dsn, "-"}, 0, "-", ""},
		{"put-stdin-invalid-stores-none", "{\"entity\": \"h5\"}\nnot json\n{\"severity\": \"urgent\"}\n", []string{"put", dsn, "--atomic", "-"}, 4, "", "line 2"},
		{"count-4", "", []string{"count", dsn}, 0, "4\n", ""},
		{"put-stdin-skip-invalid", "{\"entity\": \"h6\"}\nnot json\n", []string{"put", dsn, "--atomic", "--skip-invalid", "-"}, 4, "-", "skipped 1 invalid"},
		{"list-table", "", []string{"list", dsn}, 0, "host1", ""},
		{"list-min-severity", "", []string{"list", dsn, "--min-severity", "high", "--json"}, 0, `"entity":"host2"`, ""},
		{"list-bad-severity", "", []string{"list", dsn, "--severity", "urgent"}, 2, "", "unknown severity"},
		{"list-bad-since", "", []string{"list", dsn, "--since", "tomorrowish"}, 2, "", "--since"},
		{"list-paged", "", []string{"list", dsn, "--limit", "2"}, 0, "", "next: alertstore list --cursor p"},
		{"clear-needs-yes", "", []string{"clear", dsn}, 2, "", "--yes"},
		{"clear", "", []string{"clear", dsn, "--yes"}, 0, "cleared", ""},
		{"count-after-clear", "", []string{"count", dsn}, 0, "0\n", ""},
		{"ping", "", []string{"ping", dsn}, 0, "ok: mem", ""},
		{"status", "", []string{"status", dsn}, 0, "entries:", ""},
		{"status-chain", "", []string{"status", "--dsn", "chain://?tier=mem%3A%2F%2Fclitier1&tier=mem%3A%2F%2Fclitier2"}, 0, "tier 2:       mem", ""},
		{"backends", "", []string{"backends"}, 0, "mem\nmemory\n", ""},
		{"bad-dsn", "", []string{"count", "--dsn", "nosuch://x"}, 2, "", "forgotten import?"},
		{"secret-not-echoed", "", []string{"count", "--dsn", "mem://u:hunter2@x?bogus=1"}, 2, "", "xxxxx"},
		{"unknown-command", "", []string{"frobnicate"}, 2, "", "unknown command"},
		{"put-nothing", "", []string{"put", dsn}, 2, "", "nothing to store"},
		{"put-bad-json", "", []string{"put", dsn, "[1]"}, 4, "", "not a JSON object"},
		{"selftest", "", []string{"selftest", "--dsn", "mem://selftest"}, 0, "0 failed", ""},
		{"help", "", []string{"help"}, 0, "selftest", ""},
	}
	for _, s := range steps {
		code, out, errOut := runCLI(t, s.stdin, s.args...)
		if code != s.code || !strings.Contains(out, s.out) || !strings.Contains(errOut, s.err) {
			t.Fatalf("%s: alertstore %q = exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout containing %q, stderr containing %q",
				s.name, s.args, code, out, errOut, s.code, s.out, s.err)
		}
		if strings.Contains(out+errOut, "hunter2") {
			t.Fatalf("%s: password echoed", s.name)
		}
	}
}

func TestDemoPrintsStoredAlerts(t *testing.T) {
	t.Setenv(envDataDir, t.TempDir())
	code, out, errOut := runCLI(t, "", "demo")
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Creating 6 test alerts", "holds 6 alerts", "Retrieved 6 alerts", "host1", "Kerberoasting", `"mitre_attack"`} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	// Running it again replaces, never accumulates.
	code, out, _ = runCLI(t, "", "demo")
	if code != 0 || !strings.Contains(out, "holds 6 alerts") {
		t.Fatalf("second demo: exit %d\n%s", code, out)
	}
}

func TestListJSONIsPlainJSON(t *testing.T) {
	const dsn = "--dsn=mem://jsontest"
	raw := `{"entity": "host1", "severity": "High", "timestamp": "2025-03-01T12:34:56.789012", "features": {"big": 12345678901234567890}}`
	if code, _, errOut := runCLI(t, "", "put", dsn, raw); code != 0 {
		t.Fatal(errOut)
	}
	_, out, _ := runCLI(t, "", "list", dsn, "--json")
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &m); err != nil {
		t.Fatalf("list --json printed %q: %v", out, err)
	}
	if m["severity"] != "High" || m["timestamp"] != "2025-03-01T12:34:56.789012" || !strings.Contains(out, "12345678901234567890") {
		t.Fatalf("list --json changed the alert: %s", out)
	}
}
