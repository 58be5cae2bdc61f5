package backend

import (
	"fmt"
	"strings"
	"time"
)

// TimestampLayout is how a Store writes the timestamp it adds to an alert
// that has none, and how SetTime writes one: UTC, naive (no offset), with
// microseconds. That is what Python's datetime.isoformat() prints for the
// naive datetime.now() / datetime.utcnow() values the system we replace
// wrote, so the old dashboard can compare it with its own naive
// datetime.now(). Like isoformat(), FormatTimestamp leaves the fraction out
// when the microseconds are 0 (TimestampSecondsLayout); use
// FormatTimestamp rather than this layout.
const TimestampLayout = "2006-01-02T15:04:05.000000"

// TimestampSecondsLayout is what FormatTimestamp writes for a time whose
// microseconds are 0, as isoformat() does: "2025-03-01T12:34:56".
const TimestampSecondsLayout = "2006-01-02T15:04:05"

// naiveLayouts and zonedLayouts accept what Python's isoformat() and
// str(datetime) print (with "T" or a space between date and time, zero to
// nine fractional digits), and RFC 3339.
var (
	naiveLayouts = []string{
		"2006-01-02T15:04:05.999999999",
		"2006-01-02T15:04",
	}
	zonedLayouts = []string{
		"2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999Z07",
		"2006-01-02T15:04Z07:00",
	}
)

// ParseTimestamp reads an alert timestamp.
//
// A timestamp with no zone ("2025-03-01T12:34:56.789012", which is what the
// system we replace wrote with datetime.now().isoformat()) is read as UTC:
// the detectors of that system ran with TZ=UTC, and guessing the reader's
// local zone would move alerts between time windows depending on where a
// dashboard runs. The alert keeps its original string; only filters use the
// parsed instant.
func ParseTimestamp(s string) (time.Time, error) {
	v := strings.TrimSpace(s)
	if len(v) > 10 && v[10] == ' ' {
		v = v[:10] + "T" + v[11:]
	}
	if len(v) >= 16 {
		zoned := strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z") ||
			strings.ContainsAny(v[16:], "+-")
		if strings.HasSuffix(v, "z") {
			v = v[:len(v)-1] + "Z"
		}
		layouts := naiveLayouts
		if zoned {
			layouts = zonedLayouts
		}
		for _, l := range layouts {
			var t time.Time
			var err error
			if zoned {
				t, err = time.Parse(l, v)
			} else {
				t, err = time.ParseInLocation(l, v, time.UTC)
			}
			if err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("%w %q (want ISO 8601, e.g. 2025-03-01T12:34:56.789012 or 2025-03-01T12:34:56Z)", ErrBadTimestamp, s)
}

// FormatTimestamp writes t exactly as Python's datetime.isoformat() writes
// the naive UTC datetime of the same instant: converted to UTC, truncated
// to microseconds, no offset, and no fraction when the microseconds are 0
// ("2025-03-01T12:34:56.789012", "2025-03-01T12:34:56"). ParseTimestamp
// reads a naive time as UTC, so the instant round-trips.
func FormatTimestamp(t time.Time) string {
	u := t.UTC().Truncate(time.Microsecond)
	if u.Nanosecond() == 0 {
		return u.Format(TimestampSecondsLayout)
	}
	return u.Format(TimestampLayout)
}
