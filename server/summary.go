package server

import (
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// summaryScan bounds how many matching alerts one summary reads; beyond
// it the answer says truncated (and covers the newest ones).
const summaryScan = 100_000

// topEntities is how many entities by_entity keeps.
const topEntities = 50

type bucketCounts struct {
	Start  string         `json:"start"`
	Counts map[string]int `json:"counts"`
}

type summaryAnswer struct {
	Total        int            `json:"total"`
	Scanned      int            `json:"scanned"`
	Truncated    bool           `json:"truncated"`
	BySeverity   map[string]int `json:"by_severity"`
	BySourceType map[string]int `json:"by_source_type"`
	ByEntity     map[string]int `json:"by_entity"`
	Bucket       string         `json:"bucket"`
	Timeline     []bucketCounts `json:"timeline"`
}

// buckets are the timeline's widths, from which the default is the
// smallest that keeps the window within maxBuckets.
var buckets = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

const maxBuckets = 120

func (s *Server) summary(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	now := time.Now()
	q, err := parseFilters(qv, now, "bucket")
	if err != nil {
		writeStoreError(w, err)
		return
	}
	var bucket time.Duration
	if v := qv.Get("bucket"); v != "" {
		bucket, err = time.ParseDuration(v)
		if err != nil || bucket < time.Minute {
			writeStoreError(w, fmt.Errorf("%w: bucket: want a duration of at least 1m, e.g. 1h", backend.ErrInvalidQuery))
			return
		}
	}
	ans := summaryAnswer{BySeverity: map[string]int{}, BySourceType: map[string]int{}, ByEntity: map[string]int{}, Timeline: []bucketCounts{}}
	for _, sev := range backend.Severities() {
		ans.BySeverity[sev.String()] = 0
	}
	entities := map[string]int{}
	var times []time.Time
	var sevs []string
	q.Limit = 1000
	for {
		page, err := s.store.List(r.Context(), q)
		if err != nil {
			writeStoreError(w, err)
			return
		}
		ans.Scanned += page.Examined
		for _, a := range page.Alerts {
			ans.Total++
			sev := a.Severity().String()
			if a.Severity() == backend.SeverityUnknown {
				sev = "Unknown"
			}
			ans.BySeverity[sev]++
			src := a.SourceType()
			if src == "" {
				src = "(none)"
			}
			ans.BySourceType[src]++
			entities[a.Entity()]++
			if t := a.Time(); !t.IsZero() {
				times = append(times, t)
				sevs = append(sevs, sev)
			}
		}
		if page.Next == "" {
			break
		}
		if ans.Total >= summaryScan || ans.Scanned >= s.store.Config().MaxAlerts {
			ans.Truncated = true
			break
		}
		q.Cursor = page.Next
	}
	ans.ByEntity = top(entities, topEntities)
	if len(times) > 0 {
		lo, hi := q.Since, q.Until
		if lo.IsZero() {
			lo = minTime(times)
		}
		if hi.IsZero() {
			hi = maxTime(times)
		}
		if bucket == 0 {
			bucket = buckets[len(buckets)-1]
			for _, b := range buckets {
				if hi.Sub(lo)/b < maxBuckets {
					bucket = b
					break
				}
			}
		}
		ans.Timeline = timeline(times, sevs, lo, hi, bucket)
	}
	if bucket > 0 {
		ans.Bucket = bucket.String()
	}
	writeJSON(w, http.StatusOK, ans)
}

// timeline counts per bucket and severity, buckets aligned to the bucket
// width in UTC, oldest first, the empty ones between included (up to
// a bound, so that a 1m bucket over a year stays small).
func timeline(times []time.Time, sevs []string, lo, hi time.Time, bucket time.Duration) []bucketCounts {
	start := lo.UTC().Truncate(bucket)
	n := int(hi.UTC().Sub(start)/bucket) + 1
	if n > 10*maxBuckets || n < 1 {
		n = 0 // sparse: only the buckets that hold alerts
	}
	byStart := map[int64]map[string]int{}
	for i, t := range times {
		k := t.UTC().Truncate(bucket).Unix()
		if byStart[k] == nil {
			byStart[k] = map[string]int{}
		}
		byStart[k][sevs[i]]++
	}
	var keys []int64
	if n > 0 {
		for i := 0; i < n; i++ {
			keys = append(keys, start.Add(time.Duration(i)*bucket).Unix())
		}
	} else {
		for k := range byStart {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	}
	out := make([]bucketCounts, 0, len(keys))
	for _, k := range keys {
		c := byStart[k]
		if c == nil {
			c = map[string]int{}
		}
		out = append(out, bucketCounts{Start: backend.FormatTimestamp(time.Unix(k, 0).UTC()), Counts: c})
	}
	return out
}

func top(m map[string]int, n int) map[string]int {
	type kv struct {
		k string
		v int
	}
	all := make([]kv, 0, len(m))
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].v != all[j].v {
			return all[i].v > all[j].v
		}
		return all[i].k < all[j].k
	})
	out := map[string]int{}
	for i := 0; i < len(all) && i < n; i++ {
		out[all[i].k] = all[i].v
	}
	return out
}

func minTime(ts []time.Time) time.Time {
	m := ts[0]
	for _, t := range ts[1:] {
		if t.Before(m) {
			m = t
		}
	}
	return m
}

func maxTime(ts []time.Time) time.Time {
	m := ts[0]
	for _, t := range ts[1:] {
		if t.After(m) {
			m = t
		}
	}
	return m
}
