package server

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// filterParams are the query parameters of the list filters, shared by
// list, summary and stream.
var filterParams = []string{"severity", "min_severity", "entity", "source_type", "since", "until", "verified"}

// parseFilters reads the list filters from q into a Query; allowed names
// the other parameters the route takes. An unknown parameter is an error
// naming it: a misspelled filter must not silently list everything.
func parseFilters(q url.Values, now time.Time, allowed ...string) (backend.Query, error) {
	var out backend.Query
	ok := map[string]bool{}
	for _, p := range append(append([]string{}, filterParams...), allowed...) {
		ok[p] = true
	}
	for k := range q {
		if !ok[k] {
			return out, fmt.Errorf("%w: unknown query parameter %q (this route takes %s)", backend.ErrInvalidQuery, k, strings.Join(append(append([]string{}, filterParams...), allowed...), ", "))
		}
	}
	for _, v := range q["severity"] {
		for _, w := range strings.Split(v, ",") {
			s, err := backend.ParseSeverity(w)
			if err != nil {
				return out, fmt.Errorf("%w: severity: %v", backend.ErrInvalidQuery, err)
			}
			out.Severities = append(out.Severities, s)
		}
	}
	if v := q.Get("min_severity"); v != "" {
		s, err := backend.ParseSeverity(v)
		if err != nil {
			return out, fmt.Errorf("%w: min_severity: %v", backend.ErrInvalidQuery, err)
		}
		out.MinSeverity = s
	}
	out.Entity = q.Get("entity")
	out.SourceType = q.Get("source_type")
	var err error
	if out.Since, err = parseWhen(q.Get("since"), now); err != nil {
		return out, fmt.Errorf("%w: since: %v", backend.ErrInvalidQuery, err)
	}
	if out.Until, err = parseWhen(q.Get("until"), now); err != nil {
		return out, fmt.Errorf("%w: until: %v", backend.ErrInvalidQuery, err)
	}
	if v := q.Get("verified"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return out, fmt.Errorf("%w: verified: want true or false", backend.ErrInvalidQuery)
		}
		out.Verified = b
	}
	if !out.Since.IsZero() && !out.Until.IsZero() && !out.Since.Before(out.Until) {
		return out, fmt.Errorf("%w: since is not before until", backend.ErrInvalidQuery)
	}
	return out, nil
}

// parseWhen reads RFC 3339, a naive ISO time (UTC), or a time ago: a Go
// duration ("90m", "24h") or a number of days ("7d").
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil {
			if n < 0 {
				return time.Time{}, fmt.Errorf("%q is negative; give how long ago, e.g. 7d", s)
			}
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q is negative; give how long ago, e.g. 24h", s)
		}
		return now.Add(-d), nil
	}
	t, err := backend.ParseTimestamp(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a time (2025-03-01T12:00:00, RFC 3339) nor a time ago (24h, 7d)", s)
	}
	return t, nil
}

// intParam reads an integer parameter in [lo, hi]; "" gives def.
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%w: %s: want an integer from %d to %d", backend.ErrInvalidQuery, name, lo, hi)
	}
	return n, nil
}
