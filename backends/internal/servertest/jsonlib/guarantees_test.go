package jsonlib

import (
	"strings"
	"testing"
)

// The guarantees of docs/alerts.md that a reader must keep, each as an
// input and what keeping it means.
var guarantees = []struct {
	name string
	in   string
	// kept reports whether the job's outcome keeps the guarantee.
	kept func(f fields, err error) bool
}{
	{"refuses-duplicate-key", `{"severity":"Low","severity":"Critical"}`, refused},
	{"refuses-duplicate-in-source", `{"source":{"type":"kafka","type":"file"}}`, refused},
	{"refuses-invalid-utf8", "{\"entity\":\"h\xff\"}", refused},
	{"refuses-malformed", `{"prediction_score":01}`, refused},
	{"refuses-trailing-data", `{"entity":"h"} {}`, refused},
	{"keeps-big-integer", `{"prediction_score":12345678901234567890}`, score("12345678901234567890")},
	{"keeps-decimal-digits", `{"prediction_score":0.850}`, score("0.850")},
}

func refused(_ fields, err error) bool { return err != nil }

func score(want string) func(fields, error) bool {
	return func(f fields, err error) bool { return err == nil && f[fScore] == want }
}

// wantKept is what each library keeps, as measured with the versions in
// go.mod: a change of a library's behaviour fails the test, and the
// choice in backend/alertscan.go is to be looked at again.
var wantKept = map[string]string{
	"alertstore":           "refuses-duplicate-key refuses-duplicate-in-source refuses-invalid-utf8 refuses-malformed refuses-trailing-data keeps-big-integer keeps-decimal-digits",
	"encoding-json-map":    "refuses-malformed refuses-trailing-data keeps-big-integer keeps-decimal-digits",
	"encoding-json-tokens": "refuses-duplicate-key refuses-duplicate-in-source refuses-invalid-utf8 refuses-malformed refuses-trailing-data keeps-big-integer keeps-decimal-digits",
	"encoding-json-v2":     "refuses-duplicate-key refuses-duplicate-in-source refuses-invalid-utf8 refuses-malformed refuses-trailing-data keeps-big-integer keeps-decimal-digits",
	"goccy-go-json":        "refuses-malformed refuses-trailing-data keeps-big-integer keeps-decimal-digits",
	"sonic":                "refuses-malformed refuses-trailing-data keeps-big-integer keeps-decimal-digits",
	"fastjson":             "refuses-duplicate-key refuses-duplicate-in-source refuses-trailing-data keeps-big-integer keeps-decimal-digits",
	"gjson":                "refuses-duplicate-key refuses-duplicate-in-source refuses-malformed refuses-trailing-data keeps-big-integer keeps-decimal-digits",
}

// TestGuarantees runs every guarantee against every library and logs the
// table; each library must keep exactly what wantKept says.
func TestGuarantees(t *testing.T) {
	for _, j := range jobs {
		t.Run(j.name, func(t *testing.T) {
			var kept []string
			for _, g := range guarantees {
				f, err := j.read([]byte(g.in))
				if g.kept(f, err) {
					kept = append(kept, g.name)
				}
			}
			got := strings.Join(kept, " ")
			t.Logf("%-22s keeps %d of %d: %s", j.name, len(kept), len(guarantees), got)
			if got != wantKept[j.name] {
				t.Errorf("%s keeps %q; want %q", j.name, got, wantKept[j.name])
			}
		})
	}
}

// TestJobsReadTheSamples: every job reads the sample alerts to the same
// fields, so the benchmark compares the same work.
func TestJobsReadTheSamples(t *testing.T) {
	for i, s := range samples {
		want, err := readAlertstore(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			got, err := j.read(s)
			if err != nil || got != want {
				t.Errorf("sample %d, %s: %q, %v; want %q", i, j.name, got, err, want)
			}
		}
	}
}
