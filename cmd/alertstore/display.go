package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/mattn/go-isatty"
	"github.com/spf13/pflag"
)

// displayFlags are the shared flags that say how alerts are shown:
// --utc (the default) or --local for times, and --color.
type displayFlags struct {
	utc, local bool
	color      string
}

func (d *displayFlags) add(fs *pflag.FlagSet) {
	fs.BoolVar(&d.utc, "utc", true, "show times in UTC, and read dates and naive times given to --since/--until as UTC (the default)")
	fs.BoolVar(&d.local, "local", false, "show times in the local zone ($TZ), and read dates and naive times given to --since/--until in it")
	fs.StringVar(&d.color, "color", "auto", "colour severities in tables: auto (on a terminal, unless $NO_COLOR is set), always, never")
}

// display is how one run shows alerts: resolved from displayFlags, the
// environment and stdout.
type display struct {
	loc   *time.Location
	color bool
}

// resolve checks the display flags and decides the zone and the colour.
func (d *displayFlags) resolve(fs *pflag.FlagSet, stdout io.Writer) (display, error) {
	out := display{loc: time.UTC}
	if d.local {
		if fs.Changed("utc") && d.utc {
			return out, usagef("--utc and --local: give one")
		}
		out.loc = time.Local
	}
	switch strings.ToLower(d.color) {
	case "always":
		out.color = true
	case "never":
	case "auto":
		out.color = colorAuto(stdout)
	default:
		return out, usagef("--color %s: want auto, always or never", shownValue(d.color))
	}
	return out, nil
}

// colorAuto is --color auto: colour only on a terminal, and never when
// $NO_COLOR is set to anything but "" (no-color.org) or $TERM is "dumb".
func colorAuto(stdout io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := stdout.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// timeLayout is how tables and csv show an alert's time: RFC 3339 in the
// display zone, to the second in a table.
const (
	tableTimeLayout = "2006-01-02T15:04:05Z07:00"
	csvTimeLayout   = time.RFC3339Nano
)

// timestamp shows an alert's time in the display zone; a timestamp that
// does not parse is shown as stored (escaped).
func (d display) timestamp(a *backend.Alert, layout string) string {
	if t := a.Time(); !t.IsZero() {
		return t.In(d.loc).Format(layout)
	}
	return a.TimestampString()
}

// severity shows an alert's severity in one case, "Critical", "High",
// "Medium", "Low" or "Info", however its writer spelt it; an unknown word
// as stored.
func (d display) severity(a *backend.Alert) string {
	if s := a.Severity(); s != backend.SeverityUnknown {
		return s.String()
	}
	return a.SeverityString()
}

// The colours of the severities. Every code is 7 bytes long and is reset
// by a 4-byte one, so that text/tabwriter, which counts bytes, pads every
// cell of the column by the same amount and the columns stay aligned.
var severityColors = map[backend.Severity]string{
	backend.SeverityCritical: "\x1b[1;31m", // bold red
	backend.SeverityHigh:     "\x1b[0;31m", // red
	backend.SeverityMedium:   "\x1b[0;33m", // yellow
	backend.SeverityLow:      "\x1b[0;36m", // cyan
	backend.SeverityInfo:     "\x1b[0;39m", // default
}

const (
	colorPlain = "\x1b[0;39m"
	colorReset = "\x1b[0m"
)

// paint colours cell (already escaped and padded) for severity s, when
// colour is on.
func (d display) paint(cell string, s backend.Severity) string {
	if !d.color {
		return cell
	}
	c, ok := severityColors[s]
	if !ok {
		c = colorPlain
	}
	return c + cell + colorReset
}

// agoUnit is one number and unit of a relative time: 7d, 36h, 1w2d, 1.5h.
var agoPattern = regexp.MustCompile(`^(?:[0-9]+(?:\.[0-9]+)?(?:w|d|h|m|s|ms|us|µs|ns))+$`)
var agoUnit = regexp.MustCompile(`([0-9]+(?:\.[0-9]+)?)(w|d|h|ms|m|s|us|µs|ns)`)

// parseWhen reads a --since or --until value: a time ago (30m, 36h, 7d,
// 2w, 1d12h: Go durations plus d and w units), a date (2026-11-01:
// midnight of that day in the display zone), a naive ISO 8601 time (in
// the display zone) or one with a zone (RFC 3339).
func parseWhen(s string, loc *time.Location, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if strings.HasPrefix(s, "-") && agoPattern.MatchString(s[1:]) {
		return time.Time{}, fmt.Errorf("%s is negative; give how long ago, e.g. 2h or 7d", s)
	}
	if agoPattern.MatchString(s) {
		d, err := parseAgo(s)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(-d), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, nil
	}
	t, err := backend.ParseTimestamp(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is neither a time ago (30m, 36h, 7d, 2w), a date (2026-11-01) nor a time (2026-11-01T12:00:00, 2026-11-01T12:00:00Z)", shownValue(s))
	}
	if !hasZone(s) {
		// Naive: a wall-clock time in the display zone (UTC unless
		// --local), as the dates are.
		t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
	}
	return t, nil
}

// parseAgo reads a duration with d (24h) and w (7d) units besides Go's.
func parseAgo(s string) (time.Duration, error) {
	var total time.Duration
	for _, m := range agoUnit.FindAllStringSubmatch(s, -1) {
		n, unit := m[1], m[2]
		hours := map[string]float64{"w": 168, "d": 24}[unit]
		if hours == 0 {
			d, err := time.ParseDuration(n + unit)
			if err != nil {
				return 0, err
			}
			total += d
			continue
		}
		v, err := strconv.ParseFloat(n, 64)
		if err != nil || v*hours > 24*365*100 {
			return 0, fmt.Errorf("%s: too long ago", s)
		}
		total += time.Duration(v * hours * float64(time.Hour))
	}
	return total, nil
}

// hasZone reports whether an ISO 8601 time names its zone (Z or an
// offset after the time of day).
func hasZone(s string) bool {
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") {
		return true
	}
	return len(s) > 16 && strings.ContainsAny(s[16:], "+-")
}
