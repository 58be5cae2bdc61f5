package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/internal/dashboardcompat"
	"github.com/apt-detection/alertstore/registry"
)

// TestOldDashboardShowsEveryWayWeWrite writes alerts every way alertstore
// writes them (put's flags, JSON argument and stdin, the library's setters,
// ParseAlert, the Store's defaults) into memory and bolt stores, reads them
// back as `list --json` prints them, and runs the old Flask dashboard's
// counting, filtering, time comparison and pandas timeline over them in
// Python 3 (internal/dashboardcompat). It fails, not skips, without python3.
func TestOldDashboardShowsEveryWayWeWrite(t *testing.T) {
	py, err := dashboardcompat.Python()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, dsn string }{
		{"memory", "mem://legacy-dashboard?prefix=dash:"},
		{"bolt", "bolt://" + filepath.Join(t.TempDir(), "a.db") + "?prefix=dash:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			ways, err := dashboardcompat.Ways(time.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range ways {
				if w.Alert == nil {
					if code, _, errOut := runCLI(t, w.Stdin, w.CommandLine(c.dsn)...); code != 0 {
						t.Fatalf("%s: exit %d: %s", w.Name, code, errOut)
					}
					continue
				}
				s, err := registry.Open(ctx, c.dsn)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Store(ctx, w.Alert); err != nil {
					t.Fatalf("%s: %v", w.Name, err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errOut := runCLI(t, "", "list", "--dsn", c.dsn, "--json", "--limit", "1000")
			if code != 0 {
				t.Fatalf("list: exit %d: %s", code, errOut)
			}
			r, err := dashboardcompat.Run(ctx, py, t.TempDir(), []byte(out))
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r.Summary())
			if probs := dashboardcompat.Problems(r, dashboardcompat.Wants(ways)); len(probs) > 0 {
				t.Fatalf("the old dashboard does not show what alertstore wrote (%s):\n%s\nstored:\n%s", r.Summary(), strings.Join(probs, "\n"), out)
			}
		})
	}
}
