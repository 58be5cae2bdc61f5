package main

import (
	"strings"
	"testing"
)

// TestCommandLine: the habits the command line follows (issue 11 §6):
// shared flags anywhere, help in every form, suggestions for typos,
// version, completion scripts and the values they complete.
func TestCommandLine(t *testing.T) {
	const dsn = "mem://cmdline"
	if code, _, errOut := runCLI(t, "", "put", "--dsn", dsn, "--entity", "h1", "--severity", "high"); code != 0 {
		t.Fatal(errOut)
	}
	for _, c := range []struct {
		name     string
		args     []string
		code     int
		out, err string // substrings; out "=" + text: equal
		notOut   string
	}{
		{"dsn-before-command", []string{"--dsn", dsn, "count"}, 0, "=1\n", "", ""},
		{"dsn-after-command", []string{"count", "--dsn", dsn}, 0, "=1\n", "", ""},
		{"dsn-equals-before-command", []string{"--dsn=" + dsn, "count"}, 0, "=1\n", "", ""},
		{"flag-after-argument", []string{"put", `{"entity":"h2"}`, "--dsn", dsn}, 0, "-", "", ""},
		{"global-flags-between", []string{"--log-level", "warn", "list", "--dsn", dsn, "--replay-budget", "0", "--entity", "h2", "--json"}, 0, `"entity":"h2"`, "", "h1"},
		{"help-command", []string{"help", "list"}, 0, "--min-severity", "", ""},
		{"help-flag", []string{"list", "--help"}, 0, "--min-severity", "", ""},
		{"help-short-flag", []string{"count", "-h"}, 0, "Global Flags:", "", ""},
		{"help-shows-global-flags", []string{"help", "put"}, 0, "--replay-budget", "", ""},
		{"help-root", []string{"--help"}, 0, "Exit codes:", "", ""},
		{"no-command", nil, exitUsage, "Available Commands:", "", ""},
		{"help-unknown", []string{"help", "lst"}, exitUsage, "", "did you mean list", ""},
		{"typo", []string{"lst"}, exitUsage, "", `unknown command "lst"; did you mean list`, ""},
		{"typo-status", []string{"stauts", "--dsn", dsn}, exitUsage, "", "did you mean status", ""},
		{"unknown-flag", []string{"count", "--dns", dsn}, exitUsage, "", "alertstore count: unknown flag --dns", ""},
		{"bad-int", []string{"list", "--limit", "ten"}, exitUsage, "", `--limit "ten": want a whole number`, ""},
		{"flag-needs-value", []string{"list", "--limit"}, exitUsage, "", "flag --limit needs a value", ""},
		{"version-command", []string{"version"}, 0, "backends:  ", "", ""},
		{"version-flag", []string{"--version"}, 0, "go:        go1.", "", ""},
		{"version-lists-bolt", []string{"version"}, 0, " bolt ", "", ""},
		{"completion-bash", []string{"completion", "bash"}, 0, "__start_alertstore", "", ""},
		{"completion-zsh", []string{"completion", "zsh"}, 0, "#compdef alertstore", "", ""},
		{"completion-fish", []string{"completion", "fish"}, 0, "complete -c alertstore", "", ""},
		{"complete-commands", []string{"__complete", "li"}, 0, "list", "", "count"},
		{"complete-severity", []string{"__complete", "list", "--severity", ""}, 0, "critical", "", ""},
		{"complete-severity-list", []string{"__complete", "list", "--severity", "high,"}, 0, "high,critical", "", ""},
		{"complete-min-severity-watch", []string{"__complete", "watch", "--min-severity", ""}, 0, "medium", "", ""},
		{"complete-log-level", []string{"__complete", "count", "--log-level", ""}, 0, "debug", "", ""},
		{"complete-help-topic", []string{"__complete", "help", ""}, 0, "selftest", "", ""},
		{"complete-cap", []string{"__complete", "cap", ""}, 0, "set", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", c.args...)
			okOut := strings.Contains(out, c.out)
			if want, ok := strings.CutPrefix(c.out, "="); ok {
				okOut = out == want
			}
			if code != c.code || !okOut || !strings.Contains(errOut, c.err) || (c.notOut != "" && strings.Contains(out, c.notOut)) {
				t.Fatalf("alertstore %q = exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout %q (not %q), stderr containing %q",
					c.args, code, out, errOut, c.code, c.out, c.notOut, c.err)
			}
		})
	}
}

// TestFlagErrorsNeverEchoSecrets: whatever the flag parser refuses, a
// value that may be a DSN or credentials is not shown.
func TestFlagErrorsNeverEchoSecrets(t *testing.T) {
	for _, args := range [][]string{
		{"list", "--limit", "redis://:QZJVKW@h"},
		{"list", "--limit=:QZJVKW@h"},
		{"list", "--json=redis://:QZJVKW@h"},
		{"count", "-redis://:QZJVKW@h"},
		{"count", "-QZJVKW@h"},
		{"count", "--redis://:QZJVKW@h"},
		{"count", "---QZJVKW@h"},
		{"count", "--replay-budget", "redis://:QZJVKW@h"},
		{"put", "--batch", "QZJVKW@h", "-"},
		{"watch", "--dsn"},
		{"help", "redis://:QZJVKW@h"},
		{"completion", "redis://:QZJVKW@h"},
		{"QZJVKW@h"},
	} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			code, out, errOut := runCLI(t, "", args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d\n%s%s", code, exitUsage, out, errOut)
			}
			if strings.Contains(out+errOut, "QZJV") {
				t.Errorf("the output shows the value:\n%s%s", out, errOut)
			}
		})
	}
}
