package dashboardcompat_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/internal/dashboardcompat"
)

// TestDashboardCatchesWhatItCannotShow proves the dashboard check can fail:
// each alert spelled the way the dashboard cannot read (an offset on the
// timestamp, a severity in another case) is reported, and the spellings
// alertstore writes are not.
func TestDashboardCatchesWhatItCannotShow(t *testing.T) {
	py, err := dashboardcompat.Python()
	if err != nil {
		t.Fatal(err)
	}
	now := backend.FormatTimestamp(time.Now())
	line := func(entity, sev, ts string) string {
		return fmt.Sprintf(`{"entity":%q,"severity":%q,"timestamp":%q}`, entity, sev, ts)
	}
	ok := dashboardcompat.Want{Entity: "ok", Severity: "High", Recent: true}
	for _, c := range []struct {
		name    string
		bad     string // one more NDJSON line next to a good one
		want    dashboardcompat.Want
		problem string // "" when the dashboard must show it as wanted
	}{
		{"naive-micro-is-shown", line("x", "Critical", now), dashboardcompat.Want{Entity: "x", Severity: "Critical", Recent: true}, ""},
		{"naive-seconds-old-is-shown", line("x", "Low", "2025-03-01T12:00:00"), dashboardcompat.Want{Entity: "x", Severity: "Low"}, ""},
		{"offset-utc-raises", line("x", "High", now+"+00:00"), dashboardcompat.Want{Entity: "x", Severity: "High", Recent: true}, "raised TypeError"},
		{"zulu-raises", line("x", "High", now+"Z"), dashboardcompat.Want{Entity: "x", Severity: "High", Recent: true}, "raised"},
		{"lowercase-severity-not-counted", line("x", "high", now), dashboardcompat.Want{Entity: "x", Severity: "High", Recent: true}, `counted on the "" card, want "High"`},
		{"uppercase-severity-not-counted", line("x", "CRITICAL", now), dashboardcompat.Want{Entity: "x", Severity: "Critical", Recent: true}, "card shows 0, want 1"},
		{"old-alert-wanted-recent", line("x", "Low", "2025-03-01T12:00:00"), dashboardcompat.Want{Entity: "x", Severity: "Low", Recent: true}, "last 24 hours = false"},
	} {
		t.Run(c.name, func(t *testing.T) {
			nd := line("ok", "High", now) + "\n" + c.bad + "\n"
			r, err := dashboardcompat.Run(context.Background(), py, t.TempDir(), []byte(nd))
			if err != nil {
				t.Fatal(err)
			}
			probs := strings.Join(dashboardcompat.Problems(r, []dashboardcompat.Want{ok, c.want}), "\n")
			switch {
			case c.problem == "" && probs != "":
				t.Fatalf("%s\nthe dashboard does not show %s as wanted:\n%s", r.Summary(), c.bad, probs)
			case c.problem != "" && !strings.Contains(probs, c.problem):
				t.Fatalf("%s\nthe check let %s pass; want a problem saying %q, got:\n%s", r.Summary(), c.bad, c.problem, probs)
			}
		})
	}
}
