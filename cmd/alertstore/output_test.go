package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// TestOutputFormats: every read command prints -o table|json|ndjson|csv in
// the documented shapes; csv quotes what needs it; json keeps an alert's
// stored members and digits.
func TestOutputFormats(t *testing.T) {
	const dsn = "mem://outputs"
	for _, raw := range []string{
		`{"entity": "h1", "severity": "high", "timestamp": "2025-03-01T12:00:00", "prediction_score": 0.850, "message": "a, \"quoted\"\nsecond line"}`,
		`{"entity": "h2", "severity": "Critical", "timestamp": "2025-03-01T13:00:00+01:00", "source": {"type": "kafka"}}`,
	} {
		if code, _, errOut := runCLI(t, "", "put", "--dsn", dsn, raw); code != 0 {
			t.Fatal(errOut)
		}
	}
	type check func(t *testing.T, out string)
	csvRows := func(t *testing.T, out string) [][]string {
		t.Helper()
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("not csv: %v\n%s", err, out)
		}
		return rows
	}
	decode := func(t *testing.T, out string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("not one JSON document: %v\n%s", err, out)
		}
	}
	for _, c := range []struct {
		name  string
		args  []string
		check check
	}{
		{"list-table", []string{"list"}, func(t *testing.T, out string) {
			// UTC display, one case, escaped newline.
			for _, want := range []string{"2025-03-01T12:00:00Z  High", "2025-03-01T12:00:00Z  Critical", `a, "quoted"\nsecond line`} {
				if !strings.Contains(out, want) {
					t.Errorf("table lacks %q:\n%s", want, out)
				}
			}
		}},
		{"list-json", []string{"list", "-o", "json"}, func(t *testing.T, out string) {
			var alerts []map[string]json.RawMessage
			decode(t, out, &alerts)
			if len(alerts) != 2 || string(alerts[1]["prediction_score"]) != "0.850" || string(alerts[1]["severity"]) != `"high"` {
				t.Errorf("json array changed the alerts:\n%s", out)
			}
		}},
		{"list-ndjson", []string{"list", "-o", "ndjson"}, func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 2 || !strings.Contains(lines[1], `"prediction_score":0.850`) || !strings.Contains(lines[0], `"timestamp":"2025-03-01T13:00:00+01:00"`) {
				t.Errorf("ndjson:\n%s", out)
			}
		}},
		{"list-json-alias", []string{"list", "--json"}, func(t *testing.T, out string) {
			if strings.Count(out, "\n") != 2 || !strings.HasPrefix(out, "{") {
				t.Errorf("--json is not ndjson:\n%s", out)
			}
		}},
		{"list-csv", []string{"list", "-o", "csv"}, func(t *testing.T, out string) {
			rows := csvRows(t, out)
			if len(rows) != 3 || strings.Join(rows[0], ",") != strings.Join(alertCSVHeader, ",") {
				t.Fatalf("csv rows %q", rows)
			}
			h1 := rows[2]
			if h1[0] != "2025-03-01T12:00:00Z" || h1[1] != "High" || h1[6] != "0.850" || h1[7] != "a, \"quoted\"\nsecond line" {
				t.Errorf("csv row %q", h1)
			}
			if rows[1][0] != "2025-03-01T12:00:00Z" || rows[1][5] != "kafka" {
				t.Errorf("csv row %q (the +01:00 time in UTC, the source)", rows[1])
			}
		}},
		{"list-local", []string{"list", "--local", "-o", "csv"}, func(t *testing.T, out string) {
			if rows := csvRows(t, out); rows[1][0] != "2025-03-01T21:00:00+09:00" {
				t.Errorf("--local (TZ=Asia/Tokyo) showed %q", rows[1][0])
			}
		}},
		{"count-table", []string{"count"}, func(t *testing.T, out string) {
			if out != "2\n" {
				t.Errorf("count: %q", out)
			}
		}},
		{"count-json", []string{"count", "-o", "json"}, func(t *testing.T, out string) {
			var r countReport
			decode(t, out, &r)
			if r.Count != 2 || r.Backend != "mem" {
				t.Errorf("count json: %s", out)
			}
		}},
		{"count-csv", []string{"count", "-o", "csv"}, func(t *testing.T, out string) {
			if out != "field,value\nbackend,mem\ncount,2\n" {
				t.Errorf("count csv: %q", out)
			}
		}},
		{"ping-json", []string{"ping", "-o", "json"}, func(t *testing.T, out string) {
			var r pingReport
			decode(t, out, &r)
			if !r.OK || r.Backend != "mem" {
				t.Errorf("ping json: %s", out)
			}
		}},
		{"ping-ndjson", []string{"ping", "-o", "ndjson"}, func(t *testing.T, out string) {
			if strings.Count(out, "\n") != 1 || !strings.Contains(out, `"ok":true`) {
				t.Errorf("ping ndjson: %q", out)
			}
		}},
		{"status-json", []string{"status", "-o", "json"}, func(t *testing.T, out string) {
			var r statusReport
			decode(t, out, &r)
			if r.Backend != "mem" || !r.Health.OK || r.Entries == nil || *r.Entries != 2 || r.DSN != dsn || !r.Capabilities["watch"] {
				t.Errorf("status json: %s", out)
			}
		}},
		{"status-csv", []string{"status", "-o", "csv"}, func(t *testing.T, out string) {
			rows := csvRows(t, out)
			got := map[string]string{}
			for _, r := range rows[1:] {
				got[r[0]] = r[1]
			}
			if rows[0][0] != "field" || got["backend"] != "mem" || got["health.ok"] != "true" || got["entries"] != "2" || got["capabilities.watch"] != "true" {
				t.Errorf("status csv: %q", rows)
			}
		}},
		{"backends-json", []string{"backends", "-o", "json"}, func(t *testing.T, out string) {
			var r []map[string]string
			decode(t, out, &r)
			if len(r) < 3 || r[0]["scheme"] == "" {
				t.Errorf("backends json: %s", out)
			}
		}},
		{"backends-csv", []string{"backends", "-o", "csv"}, func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "scheme\n") || !strings.Contains(out, "\nmem\n") {
				t.Errorf("backends csv: %q", out)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("TZ", "Asia/Tokyo")
			defer func(l *time.Location) { time.Local = l }(time.Local)
			loc, err := time.LoadLocation("Asia/Tokyo")
			if err != nil {
				t.Skipf("no zone database: %v", err)
			}
			time.Local = loc
			code, out, errOut := runCLI(t, "", append(c.args, "--dsn", dsn)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			c.check(t, out)
		})
	}
	t.Run("refused", func(t *testing.T) {
		for _, args := range [][]string{
			{"list", "-o", "yaml"},
			{"count", "-o", "json-lines"},
			{"list", "--json", "-o", "csv"},
			{"list", "--utc", "--local"},
			{"list", "--color", "sometimes"},
		} {
			if code, out, errOut := runCLI(t, "", append(args, "--dsn", dsn)...); code != exitUsage || out != "" {
				t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, nothing printed", args, code, out, errOut)
			}
		}
	})
}

// TestPingJSONDown: a failed ping still prints its report, then exits as
// its error says (3: unavailable).
func TestPingJSONDown(t *testing.T) {
	code, out, errOut := runCLI(t, "", "ping", "-o", "json", "--dsn", "redis://127.0.0.1:1/0?dial_timeout=200ms&timeout=500ms")
	var r pingReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.OK || r.Error == "" || code != exitUnavailable {
		t.Fatalf("exit %d, stdout %q (%v), stderr %s", code, out, err, errOut)
	}
}

// TestNextHintKeepsFlags: list's next: line repeats every flag given, with
// a relative --since made absolute, and never a DSN's secret; run as
// printed, it lists the next page.
func TestNextHintKeepsFlags(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const dsn = "mem://nexthint?prefix=nh:"
	for i := range 5 {
		if code, _, errOut := runCLI(t, "", "put", "--dsn", dsn, "--entity", fmt.Sprintf("h%d", i), "--severity", []string{"low", "high"}[i%2]); code != 0 {
			t.Fatal(errOut)
		}
	}
	for _, c := range []struct {
		name   string
		args   []string
		want   []string // in the hint
		absent []string
	}{
		{"filters-and-output", []string{"--dsn", dsn, "list", "--limit", "1", "--min-severity", "high", "-o", "ndjson", "--local"}, []string{"--dsn 'mem://nexthint?prefix=nh:'", "--limit 1", "--min-severity high", "--output ndjson", "--local"}, nil},
		{"relative-since-made-absolute", []string{"list", "--dsn", dsn, "--limit", "2", "--since", "1h", "--json"}, []string{"--json", "--since 20"}, []string{"--since 1h"}},
		{"offset-dropped", []string{"list", "--dsn", dsn, "--limit", "2", "--offset", "1"}, []string{"--limit 2"}, []string{"--offset"}},
		{"secret-dsn-placeholder", []string{"list", "--dsn", "chain://?tier=" + url.QueryEscape("redis://:QZJVKW@127.0.0.1:1/0?prefix=nh:") + "&tier=" + url.QueryEscape("mem://nexthint?prefix=nh:") + "&tier_timeout=300ms", "--limit", "2"}, []string{`--dsn "$ALERTSTORE_DSN"`, "holds a secret"}, []string{"QZJV"}},
		{"quoted", []string{"list", "--dsn", dsn, "--limit", "1", "--source", "it's odd"}, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", c.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			m := regexp.MustCompile(`(?m)^next: (.*)$`).FindStringSubmatch(errOut)
			if c.name == "quoted" {
				if m != nil {
					t.Fatalf("a page with no match has a next: %s", errOut)
				}
				return
			}
			if m == nil {
				t.Fatalf("no next: line\n%s", errOut)
			}
			hint := m[1]
			for _, w := range c.want {
				if !strings.Contains(hint, w) {
					t.Errorf("hint lacks %q: %s", w, hint)
				}
			}
			for _, w := range c.absent {
				if strings.Contains(out+errOut, w) {
					t.Errorf("output holds %q: %s", w, hint)
				}
			}
			if strings.Contains(hint, "$ALERTSTORE_DSN") {
				return
			}
			// Run it as printed: the next page follows this one.
			args := shellWords(t, strings.TrimPrefix(hint, "alertstore "))
			code, out2, errOut2 := runCLI(t, "", args...)
			if code != 0 || out2 == "" || out2 == out {
				t.Fatalf("next page %q: exit %d\n%s%s", args, code, out2, errOut2)
			}
		})
	}
	for _, v := range []string{"it's", "a b", "$HOME", "x?y*", "", "plain"} {
		if got := shellWords(t, shellQuote(v)); len(got) != 1 || got[0] != v {
			t.Errorf("shellQuote(%q) = %s, read back as %q", v, shellQuote(v), got)
		}
	}
}

// TestParseWhen: the forms --since and --until take.
func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)
	tokyo := time.FixedZone("JST", 9*3600)
	for _, c := range []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		{"30m", time.UTC, now.Add(-30 * time.Minute)},
		{"36h", time.UTC, now.Add(-36 * time.Hour)},
		{"7d", time.UTC, now.Add(-7 * 24 * time.Hour)},
		{"2w", time.UTC, now.Add(-14 * 24 * time.Hour)},
		{"1d12h", time.UTC, now.Add(-36 * time.Hour)},
		{"1.5h", time.UTC, now.Add(-90 * time.Minute)},
		{"2026-11-01", time.UTC, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01", tokyo, time.Date(2026, 10, 31, 15, 0, 0, 0, time.UTC)},
		{"2026-11-01T12:00:00", time.UTC, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)},
		{"2026-11-01T12:00:00", tokyo, time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)},
		{"2026-11-01 12:00:00.5", time.UTC, time.Date(2026, 11, 1, 12, 0, 0, 5e8, time.UTC)},
		{"2026-11-01T12:00:00Z", tokyo, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)},
		{"2026-11-01T12:00:00+01:00", tokyo, time.Date(2026, 11, 1, 11, 0, 0, 0, time.UTC)},
		{"", time.UTC, time.Time{}},
	} {
		got, err := parseWhen(c.in, c.loc, now)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseWhen(%q, %s) = %v, %v; want %v", c.in, c.loc, got, err, c.want)
		}
	}
	for _, bad := range []string{"-2h", "tomorrow", "7x", "2026-13-01", "d", "1000000w", "redis://:QZJVKW@h"} {
		_, err := parseWhen(bad, time.UTC, now)
		if err == nil || strings.Contains(err.Error(), "QZJV") {
			t.Errorf("parseWhen(%q) = %v; want an error that does not echo a secret", bad, err)
		}
	}
}

// TestDisplay: severity in one case whatever the writer stored, colour only
// when asked for or on a terminal without NO_COLOR, aligned columns.
func TestDisplay(t *testing.T) {
	const dsn = "mem://display"
	for _, raw := range []string{
		`{"entity": "lower", "severity": "high", "timestamp": "2025-03-01T12:00:00"}`,
		`{"entity": "upper", "severity": "CRITICAL", "timestamp": "2025-03-01T12:00:01"}`,
		`{"entity": "low", "severity": "Low", "timestamp": "2025-03-01T12:00:02"}`,
	} {
		if code, _, errOut := runCLI(t, "", "put", "--dsn", dsn, raw); code != 0 {
			t.Fatal(errOut)
		}
	}
	for _, c := range []struct {
		name    string
		env     string // NO_COLOR
		args    []string
		colored bool
	}{
		{"auto-not-a-terminal", "", nil, false},
		{"always", "", []string{"--color", "always"}, true},
		{"always-beats-no-color", "1", []string{"--color=always"}, true},
		{"never", "", []string{"--color", "never"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", c.env)
			code, out, errOut := runCLI(t, "", append([]string{"list", "--dsn", dsn}, c.args...)...)
			if code != 0 {
				t.Fatal(errOut)
			}
			if strings.Contains(out, "\x1b[") != c.colored {
				t.Fatalf("coloured = %t, want %t:\n%q", !c.colored, c.colored, out)
			}
			plain := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(out, "")
			for _, want := range []string{" High ", " Critical ", " Low "} {
				if !strings.Contains(plain, want) {
					t.Errorf("severity %q not shown in one case:\n%s", want, plain)
				}
			}
			// Columns aligned once the colour codes are gone.
			entityAt := regexp.MustCompile(`ENTITY|lower|upper|low `)
			col := -1
			for _, line := range strings.Split(strings.TrimSuffix(plain, "\n"), "\n") {
				i := entityAt.FindStringIndex(line)
				if i == nil || (col >= 0 && i[0] != col) {
					t.Fatalf("columns not aligned:\n%s", plain)
				}
				col = i[0]
			}
		})
	}
	t.Run("csv-and-json-never-coloured", func(t *testing.T) {
		for _, f := range []string{"csv", "json", "ndjson"} {
			_, out, _ := runCLI(t, "", "list", "--dsn", dsn, "--color", "always", "-o", f)
			if strings.Contains(out, "\x1b") {
				t.Errorf("-o %s coloured: %q", f, out)
			}
		}
	})
	if a, err := backend.ParseAlert([]byte(`{"severity": "hIgH"}`)); err != nil || (display{}).severity(a) != "High" {
		t.Errorf("severity shown as %q (%v)", (display{}).severity(a), err)
	}
}

// shellWords splits a command line as a POSIX shell does for the quoting
// shellQuote uses: single quotes, and \' between them.
func shellWords(t *testing.T, s string) []string {
	var words []string
	var w strings.Builder
	in, started := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case in && c == '\'':
			in = false
		case in:
			w.WriteByte(c)
		case c == '\'':
			in, started = true, true
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			started = true
		case c == ' ':
			if started {
				words = append(words, w.String())
				w.Reset()
				started = false
			}
		default:
			w.WriteByte(c)
			started = true
		}
	}
	if in {
		t.Fatalf("unbalanced quotes in %s", s)
	}
	if started {
		words = append(words, w.String())
	}
	return words
}
