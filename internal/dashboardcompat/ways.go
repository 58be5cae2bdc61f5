package dashboardcompat

import (
	"fmt"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// A Way is one way alertstore writes an alert, with what the dashboard must
// show for it. Exactly one of Alert (the library: store it with
// Store.Store) and Args (the command: CommandLine(dsn), with Stdin on its
// standard input) is set.
type Way struct {
	Name  string
	Alert *backend.Alert
	Args  []string
	Stdin string
	Want  Want
}

// Ways lists every way alertstore writes alerts: put's flags (severity in
// any case, --timestamp with an offset, --field), put with a JSON argument
// and on stdin, the library's setters, ParseAlert of JSON written the
// dashboard's way, and the Store's defaults (id and timestamp added). Each
// alert's entity is the way's name.
func Ways(now time.Time) ([]Way, error) {
	var ways []Way
	cli := func(name, stdin string, want Want, args ...string) {
		want.Entity = name
		ways = append(ways, Way{Name: name, Args: args, Stdin: stdin, Want: want})
	}
	cli("cli-flags-lowercase", "", Want{Severity: "High", Recent: true},
		"put", "--entity", "cli-flags-lowercase", "--severity", "high", "--message", "beacon")
	cli("cli-flags-upper-offset-timestamp", "", Want{Severity: "Critical"},
		"put", "--entity", "cli-flags-upper-offset-timestamp", "--severity", "CRITICAL", "--timestamp", "2025-03-01T13:00:00+01:00")
	cli("cli-flags-zulu-now", "", Want{Severity: "Low", Recent: true},
		"put", "--entity", "cli-flags-zulu-now", "--severity", "low", "--timestamp", now.UTC().Format(time.RFC3339Nano))
	cli("cli-flags-field", "", Want{Severity: "Medium", Recent: true},
		"put", "--entity", "cli-flags-field", "--field", "severity=medium")
	cli("cli-flags-info", "", Want{Recent: true},
		"put", "--entity", "cli-flags-info", "--severity", "informational")
	cli("cli-json", "", Want{Severity: "Critical", Recent: true},
		"put", `{"entity": "cli-json", "severity": "Critical", "source": {"type": "kafka"}}`)
	cli("cli-stdin", `{"entity": "cli-stdin", "severity": "Medium"}`+"\n", Want{Severity: "Medium", Recent: true},
		"put", "-")

	lib := func(name string, want Want, build func(a *backend.Alert) error) error {
		a := backend.NewAlert()
		if err := a.SetEntity(name); err != nil {
			return err
		}
		if err := build(a); err != nil {
			return fmt.Errorf("way %s: %w", name, err)
		}
		want.Entity = name
		ways = append(ways, Way{Name: name, Alert: a, Want: want})
		return nil
	}
	for _, step := range []error{
		lib("lib-setters", Want{Severity: "High", Recent: true}, func(a *backend.Alert) error {
			if err := a.SetSeverity(backend.SeverityHigh); err != nil {
				return err
			}
			return a.SetTime(now)
		}),
		lib("lib-setters-whole-second", Want{Severity: "Low", Recent: true}, func(a *backend.Alert) error {
			if err := a.SetSeverity(backend.SeverityLow); err != nil {
				return err
			}
			return a.SetTime(now.Truncate(time.Second))
		}),
		lib("lib-setters-info", Want{Recent: true}, func(a *backend.Alert) error {
			return a.SetSeverity(backend.SeverityInfo)
		}),
		lib("lib-defaults", Want{Recent: true}, func(*backend.Alert) error { return nil }),
	} {
		if step != nil {
			return nil, step
		}
	}
	given, err := backend.ParseAlert(fmt.Appendf(nil,
		`{"entity": "lib-parsed", "severity": "Critical", "timestamp": %q, "features": {"n": 1}}`,
		now.Add(-time.Hour).UTC().Format("2006-01-02T15:04:05.000000")))
	if err != nil {
		return nil, err
	}
	ways = append(ways, Way{Name: "lib-parsed", Alert: given, Want: Want{Entity: "lib-parsed", Severity: "Critical", Recent: true}})
	return ways, nil
}

// CommandLine is the way's command line after "alertstore", the --dsn flag
// given right after the command name (any position works; this one reads
// best in a failure message).
func (w Way) CommandLine(dsn string) []string {
	return append([]string{w.Args[0], "--dsn", dsn}, w.Args[1:]...)
}

// Wants returns the wants of ways, in order.
func Wants(ways []Way) []Want {
	out := make([]Want, len(ways))
	for i, w := range ways {
		out[i] = w.Want
	}
	return out
}
