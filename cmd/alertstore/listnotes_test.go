package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
)

func TestReportPage(t *testing.T) {
	many := make([]string, 12)
	for i := range many {
		many[i] = fmt.Sprintf("id%02d", i)
	}
	for _, c := range []struct {
		name string
		page backend.Page
		want []string // lines, in order
	}{
		{"nothing", backend.Page{}, nil},
		{"skipped", backend.Page{Skipped: 3}, []string{"alertstore list: skipped 3 stored entries that are not valid alerts"}},
		{"oversized", backend.Page{Skipped: 3, Oversized: 2}, []string{"alertstore list: skipped 3 stored entries that are not valid alerts (2 of them over max_alert_bytes, left unread in storage)"}},
		{"duplicates", backend.Page{Duplicates: 1}, []string{"alertstore list: hid 1 identical copies of alerts (same id, same content)"}},
		{"conflict", backend.Page{Conflicts: []string{"X"}}, []string{"alertstore list: warning: CONFLICT: 1 alert ids are stored more than once with different content (a forged or corrupted entry?); every copy is listed: X"}},
		{"many-conflicts", backend.Page{Conflicts: many}, []string{"alertstore list: warning: CONFLICT: 12 alert ids are stored more than once with different content (a forged or corrupted entry?); every copy is listed: " + strings.Join(many[:10], ", ") + " and 2 more"}},
		{"stopped", backend.Page{Stopped: true, Examined: 1000, Next: "p1"}, []string{
			"alertstore list: warning: stopped after examining 1000 entries (the scan budget, max_alerts): the list holds more entries than its cap, written by some other tool",
			"next: alertstore list --cursor p1",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			reportPage(&b, "alertstore list: ", &c.page, nextHint(newListCmd(&cliEnv{}), c.page.Next, backend.Query{}))
			var got []string
			if b.Len() > 0 {
				got = strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("stderr\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// TestListShowsSameIDConflict: a second alert put with the id of the first
// and other content does not hide the first from list --min-severity high,
// and stderr names the conflict.
func TestListShowsSameIDConflict(t *testing.T) {
	const dsn = "--dsn=mem://cliconflict"
	const id = "0190f0f0-0000-7000-8000-000000000001"
	for _, put := range []string{
		`{"id": "` + id + `", "entity": "victim", "severity": "High", "message": "beacon to rare domain"}`,
		`{"id": "` + id + `", "entity": "victim", "severity": "Low", "message": "all clear"}`,
	} {
		if code, _, errOut := runCLI(t, "", "put", dsn, put); code != 0 {
			t.Fatalf("put: exit %d: %s", code, errOut)
		}
	}
	code, out, errOut := runCLI(t, "", "list", dsn, "--min-severity", "high", "--json")
	if code != 0 || !strings.Contains(out, "beacon to rare domain") || strings.Contains(out, "all clear") {
		t.Fatalf("list --min-severity high: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "CONFLICT: 1 alert ids") || !strings.Contains(errOut, id) {
		t.Errorf("stderr does not show the conflict:\n%s", errOut)
	}
}
