package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// The chain in a short-lived process: each case runs commands against a
// chain given by $ALERTSTORE_TIER_N, a bolt second tier, and a first tier
// that is either a bolt file or a Redis address nothing listens on.
func TestChainCommands(t *testing.T) {
	const downTier = "redis://:hunter2pw@127.0.0.1:1/0?prefix=c:"
	type step struct {
		args      []string
		code      int
		err, nerr string // stderr must contain err and must not contain nerr
		out       string // stdout must contain it; when it ends in a newline, equal it
	}
	for _, c := range []struct {
		name    string
		down    bool // first tier is down
		backlog int  // alerts put into the second tier first
		steps   []step
	}{
		{"write that falls back says so", true, 0, []step{
			{[]string{"put", "--entity", "h1"}, 0, "stored in bolt; backlog now 1 entries", "hunter2pw", ""},
			{[]string{"count"}, 0, "read a degraded chain", "", "1\n"},
			{[]string{"list"}, 0, "read a degraded chain", "", "h1"},
		}},
		{"status exits 6 when degraded", true, 1, []step{
			{[]string{"status"}, exitDegraded, "the chain is degraded", "hunter2pw", "max_alerts 1000, backlog 1"},
		}},
		{"status exits 0 when whole", false, 0, []step{
			{[]string{"status"}, 0, "", "degraded", "degraded:     no"},
		}},
		{"replay exits 7 and keeps the backlog when the first tier is down", true, 2, []step{
			{[]string{"replay", "--timeout", "5s"}, exitBacklogLeft, "backlog left", "hunter2pw", ""},
			{[]string{"count", "--replay-budget", "0"}, 0, "", "", "2\n"},
		}},
		// The chain's own background replay may move some of the backlog
		// first (it starts at open): what the command guarantees is the
		// end state, the lower tier empty when it exits.
		{"replay drains with progress", false, 250, []step{
			{[]string{"replay"}, 0, "done, backlog empty", "", ""},
			{[]string{"count", "--dsn", "LOWER"}, 0, "", "", "0\n"},
			{[]string{"count", "--dsn", "UPPER"}, 0, "", "", "250\n"},
		}},
		{"any command replays before it exits", false, 300, []step{
			{[]string{"count"}, 0, "", "backlog holds", "300\n"},
			{[]string{"count", "--dsn", "LOWER"}, 0, "", "", "0\n"},
			{[]string{"count", "--dsn", "UPPER"}, 0, "", "", "300\n"},
		}},
		{"replay budget 0 does not replay at exit", false, 3, []step{
			{[]string{"count", "--replay-budget", "0"}, 0, "", "replayed 3", "3\n"},
			{[]string{"replay"}, 0, "done, backlog empty", "", ""},
		}},
		{"quiet by default", true, 0, []step{
			{[]string{"count"}, 0, "", "tier is down", ""},
		}},
		{"json log on request", true, 0, []step{
			{[]string{"count", "--log-level", "warn", "--log-format", "json"}, 0, `"msg":"chain: tier is down, writes go to the next tier","backend":"chain","tier":"redis"`, "hunter2pw", ""},
		}},
		{"text log on request", true, 0, []step{
			{[]string{"count", "--log-level", "info"}, 0, `msg="chain: tier is down, writes go to the next tier" backend=chain tier=redis`, "hunter2pw", ""},
		}},
		{"bad log level", false, 0, []step{
			{[]string{"count", "--log-level", "loud"}, exitUsage, "--log-level", "", ""},
			{[]string{"count", "--log-format", "xml", "--log-level", "info"}, exitUsage, "--log-format", "", ""},
		}},
		{"replay needs a chain", false, 0, []step{
			{[]string{"replay", "--dsn", "mem://"}, exitUsage, "needs a chain", "", ""},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			lower := "bolt://" + filepath.ToSlash(filepath.Join(dir, "b.db")) + "?prefix=c:"
			upper := "bolt://" + filepath.ToSlash(filepath.Join(dir, "a.db")) + "?prefix=c:"
			if c.down {
				upper = downTier
			}
			for i := 0; i < c.backlog; i++ {
				if code, _, e := runCLI(t, "", "put", "--dsn", lower, "--entity", "b"); code != 0 {
					t.Fatalf("filling the backlog: %d %s", code, e)
				}
			}
			t.Setenv("ALERTSTORE_TIER_1", upper)
			t.Setenv("ALERTSTORE_TIER_2", lower)
			t.Setenv(envDSN, "chain://?tier_timeout=300ms")
			t.Setenv(envReplayBudget, "")
			for _, s := range c.steps {
				args := append([]string(nil), s.args...)
				for i, a := range args {
					args[i] = strings.NewReplacer("LOWER", lower, "UPPER", upper).Replace(a)
				}
				code, out, errOut := runCLI(t, "", args...)
				if code != s.code || !strings.Contains(errOut, s.err) || (s.nerr != "" && strings.Contains(errOut, s.nerr)) || !strings.Contains(out, s.out) || (strings.HasSuffix(s.out, "\n") && out != s.out) {
					t.Fatalf("%v: exit %d, want %d\nstderr (want %q, not %q):\n%s\nstdout (want %q):\n%s", s.args, code, s.code, s.err, s.nerr, errOut, s.out, out)
				}
			}
		})
	}
}

// Exit codes 6 and 7 are in the usage text, and a tier= with an unescaped
// '?' is refused without showing its password.
func TestChainUsageAndEscaping(t *testing.T) {
	_, out, _ := runCLI(t, "", "help")
	for _, want := range []string{"6 a chain is degraded", "7 a chain's", "replay "} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	code, _, errOut := runCLI(t, "", "count", "--dsn", "chain://?tier=redis://:hunter2pw@h/0?prefix=x:&max_alerts=5")
	if code != exitUsage || !strings.Contains(errOut, "unescaped '?'") || strings.Contains(errOut, "hunter2pw") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 2, the unescaped '?' named, no password", code, errOut)
	}
}
