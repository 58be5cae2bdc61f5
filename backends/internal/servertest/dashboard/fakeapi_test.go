package dashboard_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// fakeAPI is a small, in-memory stand-in for the API of `alertstore serve`
// (the list, one alert, summary, status and stream of the agreed API), for
// what the real server cannot easily be made to do on cue: require a token,
// and hold alerts written to attack the page. Its filters are the ones the
// dashboard sends (severity, entity, source_type, relative since).
type fakeAPI struct {
	token string // a reader token the API requires, or none

	mu       sync.Mutex
	alerts   []map[string]any // oldest first
	degraded bool
	backlog  int
	plain    string        // not "": the status of a plain (non-chain) store that fails with this error
	changed  chan struct{} // closed and replaced on every add

	// down refuses streams (503) and ends those open; resumes records
	// the Last-Event-ID of every stream request that sent one.
	down    bool
	cut     chan struct{} // closed to end the open streams
	resumes []string
}

func newFakeAPI(token string) *fakeAPI {
	return &fakeAPI{token: token, changed: make(chan struct{}), cut: make(chan struct{})}
}

// streamsDown ends every open stream and refuses new ones until
// streamsUp, as a server restarting would.
func (f *fakeAPI) streamsDown() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	close(f.cut)
	f.cut = make(chan struct{})
}

func (f *fakeAPI) streamsUp() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = false
}

func (f *fakeAPI) resumedFrom() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.resumes)
}

func (f *fakeAPI) add(alerts ...map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alerts = append(f.alerts, alerts...)
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeAPI) setDegraded(d bool, backlog int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.degraded, f.backlog = d, backlog
}

func (f *fakeAPI) setPlainFailing(err string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plain = err
}

func (f *fakeAPI) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/alerts", f.auth(f.list))
	mux.HandleFunc("GET /v1/alerts/{id}", f.auth(f.one))
	mux.HandleFunc("GET /v1/summary", f.auth(f.summary))
	mux.HandleFunc("GET /v1/status", f.auth(f.status))
	mux.HandleFunc("GET /v1/stream", f.auth(f.stream))
}

func (f *fakeAPI) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"code": "unauthorized", "message": "a reader token is required"}})
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// match reports whether a passes the query's filters.
func match(q map[string][]string, a map[string]any, now time.Time) bool {
	if sev := q["severity"]; len(sev) > 0 && !slices.Contains(sev, fmt.Sprint(a["severity"])) {
		return false
	}
	if e := first(q, "entity"); e != "" && a["entity"] != e {
		return false
	}
	if st := first(q, "source_type"); st != "" {
		src, _ := a["source"].(map[string]any)
		if src == nil || src["type"] != st {
			return false
		}
	}
	if s := first(q, "since"); s != "" {
		d, err := relative(s)
		if err != nil {
			return false
		}
		ts, _ := a["timestamp"].(string)
		t, err := backend.ParseTimestamp(ts)
		if err != nil || t.Before(now.Add(-d)) {
			return false
		}
	}
	return true
}

func first(q map[string][]string, k string) string {
	if v := q[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func relative(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		return time.Duration(days) * 24 * time.Hour, err
	}
	return time.ParseDuration(s)
}

// matching returns the alerts passing the filters, newest first.
func (f *fakeAPI) matching(r *http.Request) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	var out []map[string]any
	for i := len(f.alerts) - 1; i >= 0; i-- {
		if match(q, f.alerts[i], time.Now()) {
			out = append(out, f.alerts[i])
		}
	}
	return out
}

func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request) {
	all := f.matching(r)
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	off, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	if limit <= 0 {
		limit = 100
	}
	off = min(off, len(all))
	end := min(off+limit, len(all))
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": all[off:end], "next": next})
}

func (f *fakeAPI) one(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.alerts {
		if a["id"] == r.PathValue("id") {
			writeJSON(w, http.StatusOK, a)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "not_found", "message": "no such alert"}})
}

func (f *fakeAPI) summary(w http.ResponseWriter, r *http.Request) {
	all := f.matching(r)
	bySev, bySrc, byEnt := map[string]int{}, map[string]int{}, map[string]int{}
	buckets := map[time.Time]map[string]int{}
	for _, a := range all {
		sev := fmt.Sprint(a["severity"])
		bySev[sev]++
		if src, ok := a["source"].(map[string]any); ok {
			bySrc[fmt.Sprint(src["type"])]++
		}
		byEnt[fmt.Sprint(a["entity"])]++
		ts, _ := a["timestamp"].(string)
		if t, err := backend.ParseTimestamp(ts); err == nil {
			start := t.UTC().Truncate(time.Hour)
			if buckets[start] == nil {
				buckets[start] = map[string]int{}
			}
			buckets[start][sev]++
		}
	}
	var starts []time.Time
	for s := range buckets {
		starts = append(starts, s)
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	timeline := []map[string]any{}
	for _, s := range starts {
		timeline = append(timeline, map[string]any{"start": backend.FormatTimestamp(s), "counts": buckets[s]})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"total": len(all), "scanned": len(all), "truncated": false, "bucket": "1h0m0s",
		"by_severity": bySev, "by_source_type": bySrc, "by_entity": byEnt, "timeline": timeline,
	})
}

func (f *fakeAPI) status(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.plain != "" {
		writeJSON(w, http.StatusOK, map[string]any{"backend": "bolt", "healthy": false, "error": f.plain, "degraded": false, "count": 0, "max_alerts": 1000, "chain": nil})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"backend": "chain", "healthy": !f.degraded, "degraded": f.degraded, "count": len(f.alerts), "max_alerts": 1000,
		"chain": map[string]any{
			"tiers":   []map[string]any{{"dsn": "redis://127.0.0.1:6379/0", "healthy": !f.degraded}, {"dsn": "bolt:///tmp/a.db", "healthy": true}},
			"backlog": f.backlog, "replaying": false,
		},
	})
}

// stream sends the alerts added after the request (or after the event id
// given in Last-Event-ID, the alert's position), each once.
func (f *fakeAPI) stream(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	pos, down, cut := len(f.alerts), f.down, f.cut
	id := r.Header.Get("Last-Event-ID")
	if id != "" {
		f.resumes = append(f.resumes, id)
	}
	f.mu.Unlock()
	if down {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": map[string]string{"code": "unavailable", "message": "restarting"}})
		return
	}
	if id != "" {
		pos, _ = strconv.Atoi(id)
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	fmt.Fprint(w, ": hello\n\n")
	fl.Flush()
	q := r.URL.Query()
	for {
		f.mu.Lock()
		news := f.alerts[pos:]
		changed := f.changed
		f.mu.Unlock()
		for _, a := range news {
			pos++
			if !match(q, a, time.Now()) {
				continue
			}
			b, _ := json.Marshal(a)
			nl := "\n"
			if id != "" {
				nl = "\r\n" // a resumed stream ends its lines with CRLF: the page must read both
			}
			fmt.Fprintf(w, "id: %d%sevent: alert%sdata: %s%s%s", pos, nl, nl, b, nl, nl)
		}
		fl.Flush()
		select {
		case <-changed:
		case <-cut:
			return
		case <-r.Context().Done():
			return
		}
	}
}
