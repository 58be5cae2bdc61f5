package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestBench: bench prints a row per measure of the suite, with the
// baseline's ratio where one applies (memory: a slice), and progress on
// stderr; a bad --benchtime is a usage error.
func TestBench(t *testing.T) {
	code, out, errOut := runCLI(t, "", "bench", "--dsn", "mem://", "--benchtime", "1x")
	if code != 0 {
		t.Fatalf("bench = exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, row := range []string{"Write/callers=1", "Write/callers=64", "Batch/callers=16", "List/newest/callers=16", "List/newest-lrange/callers=16", "List/critical/callers=16", "Count", "Watch"} {
		if !strings.Contains(out, "\n"+row+" ") {
			t.Errorf("no row %s in\n%s", row, out)
		}
		if !strings.Contains(errOut, "bench: "+row+" (") {
			t.Errorf("no progress line for %s on stderr:\n%s", row, errOut)
		}
	}
	// The columns line up: the store column ends at the same place on
	// every row, the longest row name included.
	ends := map[int][]string{}
	cell := regexp.MustCompile(`^(\S+) +(\S+(?: us)?)`) // a row's name and store cell
	for _, line := range strings.Split(out, "\n") {
		for _, row := range []string{"row", "Write/", "Batch/", "List/", "Count", "Watch"} {
			if m := cell.FindStringSubmatchIndex(line); strings.HasPrefix(line, row) && m != nil {
				ends[m[5]] = append(ends[m[5]], line[:m[3]])
				break
			}
		}
	}
	if len(ends) != 1 {
		t.Errorf("the store column ends at different places: %v\n%s", ends, out)
	}
	if !strings.Contains(out, "raw baseline: a mutex-guarded slice append") || !strings.Contains(out, "x ") {
		t.Errorf("no baseline or ratio in\n%s", out)
	}
	if code, _, errOut := runCLI(t, "", "bench", "--dsn", "mem://", "--benchtime", "soon"); code != exitUsage {
		t.Errorf("bench --benchtime soon = exit %d, want %d\n%s", code, exitUsage, errOut)
	}
}
