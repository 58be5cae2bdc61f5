// Package dashboardcompat runs the reads of the old Flask dashboard (the
// Python system alertstore replaces) over stored alerts, so that tests can
// prove alerts written through alertstore show up there: counted by the
// exact severity strings, filtered, compared with a naive datetime.now(),
// and put into one pandas timeline column. The dashboard's logic is
// dashboard.py, run by a real Python 3; pandas is used when the interpreter
// has it (Debian's python3-pandas), else the column is emulated with
// datetime.fromisoformat over one list.
//
// It is used by the command's test (memory and bolt) and by the container
// test in backends/internal/servertest/legacy (Redis LRANGE).
package dashboardcompat

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed dashboard.py
var script []byte

// ErrNoPython is returned by Python when no Python 3 interpreter is found.
// Tests fail on it rather than skip: CI installs python3 (.ci/run).
var ErrNoPython = errors.New("dashboardcompat: no python3 found (set ALERTSTORE_PYTHON, or apt-get install -y python3 python3-pandas)")

// Python returns the interpreter to run the dashboard with: $ALERTSTORE_PYTHON,
// else Debian's /usr/bin/python3 (where python3-pandas installs), else
// python3 on $PATH.
func Python() (string, error) {
	if p := os.Getenv("ALERTSTORE_PYTHON"); p != "" {
		return exec.LookPath(p)
	}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3", nil
	}
	if p, err := exec.LookPath("python3"); err == nil {
		return p, nil
	}
	return "", ErrNoPython
}

// Report is what dashboard.py prints.
type Report struct {
	Python   string         `json:"python"`
	Total    int            `json:"total"`
	Counts   map[string]int `json:"counts"`
	Alerts   []Row          `json:"alerts"`
	Timeline Timeline       `json:"timeline"`
}

// Row is one alert as the dashboard saw it, named by its entity.
type Row struct {
	Entity    string `json:"entity"`
	CountedAs string `json:"counted_as"` // "" when no severity card counts it
	Recent    bool   `json:"recent"`     // in the last 24 hours
	Error     string `json:"error"`      // the exception the time comparison raised
}

// Timeline is the pandas column (or its emulation).
type Timeline struct {
	Engine string `json:"engine"`
	Recent int    `json:"recent"`
	Error  string `json:"error"`
}

// Run writes ndjson (one stored entry per line) to a file in dir and runs
// the dashboard over it with TZ=UTC: the old system's hosts ran in UTC,
// and a naive timestamp is UTC to alertstore.
func Run(ctx context.Context, python, dir string, ndjson []byte) (*Report, error) {
	sp := filepath.Join(dir, "dashboard.py")
	dp := filepath.Join(dir, "alerts.ndjson")
	if err := os.WriteFile(sp, script, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(dp, ndjson, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, python, sp, dp)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("dashboardcompat: %s: %w\n%s", python, err, errb.String())
	}
	var r Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("dashboardcompat: reading the report: %w\n%s", err, out.String())
	}
	return &r, nil
}

// Want is what the dashboard must show for the alert about Entity.
type Want struct {
	Entity   string
	Severity string // the card that counts it: "Critical", "High", "Medium", "Low", or "" for none
	Recent   bool   // shown among the last 24 hours
}

// Problems compares a report with what each alert must look like there and
// returns one line per difference (none when the dashboard shows every
// alert as wanted). The per-card counts and the timeline's recent count
// must agree with the wants too, and no step may raise.
func Problems(r *Report, wants []Want) []string {
	var out []string
	rows := map[string]Row{}
	for _, row := range r.Alerts {
		rows[row.Entity] = row
	}
	counts := map[string]int{}
	recent := 0
	for _, w := range wants {
		row, ok := rows[w.Entity]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: not among the alerts the dashboard read", w.Entity))
			continue
		case row.Error != "":
			out = append(out, fmt.Sprintf("%s: the dashboard's time comparison raised %s", w.Entity, row.Error))
		case row.Recent != w.Recent:
			out = append(out, fmt.Sprintf("%s: shown in the last 24 hours = %t, want %t", w.Entity, row.Recent, w.Recent))
		}
		if row.CountedAs != w.Severity {
			out = append(out, fmt.Sprintf("%s: counted on the %q card, want %q", w.Entity, row.CountedAs, w.Severity))
		}
		if w.Severity != "" {
			counts[w.Severity]++
		}
		if w.Recent {
			recent++
		}
	}
	if r.Total != len(wants) {
		out = append(out, fmt.Sprintf("the dashboard read %d alerts, want %d", r.Total, len(wants)))
	}
	for _, s := range []string{"Critical", "High", "Medium", "Low"} {
		if r.Counts[s] != counts[s] {
			out = append(out, fmt.Sprintf("the %s card shows %d, want %d", s, r.Counts[s], counts[s]))
		}
	}
	if r.Timeline.Error != "" {
		out = append(out, fmt.Sprintf("the timeline (%s) raised %s", r.Timeline.Engine, r.Timeline.Error))
	} else if r.Timeline.Recent != recent {
		out = append(out, fmt.Sprintf("the timeline (%s) shows %d recent alerts, want %d", r.Timeline.Engine, r.Timeline.Recent, recent))
	}
	sort.Strings(out)
	return out
}

// Summary is a one-line description of a report for test logs.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "python %s, timeline %s, %d alerts, cards", r.Python, r.Timeline.Engine, r.Total)
	for _, s := range []string{"Critical", "High", "Medium", "Low"} {
		fmt.Fprintf(&b, " %s=%d", s, r.Counts[s])
	}
	return b.String()
}
