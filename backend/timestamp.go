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

// parseTimestampRaw reads a timestamp field's JSON string. The form a
// Store writes and the old detectors wrote, naive
// "2006-01-02T15:04:05[.999999999]" (or with a space or a final Z, see
// parseNaiveTimestamp), is read by hand (time.Parse tries
// its layouts one by one, and was a third of the cost of reading an
// alert); any other form goes to ParseTimestamp, which defines the
// result (FuzzTimestampFastPath holds the two to the same instants).
func parseTimestampRaw(raw []byte) (time.Time, error) {
	if len(raw) >= 2 && raw[0] == '"' {
		if t, ok := parseNaiveTimestamp(raw[1 : len(raw)-1]); ok {
			return t, nil
		}
	}
	s, err := unquote(raw)
	if err != nil {
		return time.Time{}, err
	}
	return ParseTimestamp(s)
}

// parseNaiveTimestamp reads exactly "YYYY-MM-DDTHH:MM:SS" with an
// optional fraction of 1 to 9 digits, as UTC; ok is false for anything
// else, valid or not. A space for the T (Python's str(datetime)) and a
// final Z (UTC, as JavaScript's toISOString writes it) are read too,
// as ParseTimestamp reads them: the sample alerts have both forms.
func parseNaiveTimestamp(b []byte) (t time.Time, ok bool) {
	if n := len(b); n > 0 && (b[n-1] == 'Z' || b[n-1] == 'z') {
		b = b[:n-1]
	}
	if len(b) < 19 || len(b) == 20 || len(b) > 29 ||
		b[4] != '-' || b[7] != '-' || b[10] != 'T' && b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	hour, ok4 := num(b[11:13])
	minute, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if len(b) > 19 {
		if b[19] != '.' {
			return time.Time{}, false
		}
		frac, ok := num(b[20:])
		if !ok {
			return time.Time{}, false
		}
		for range 29 - len(b) {
			frac *= 10
		}
		nsec = frac
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
