package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	_ "github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/registry"
)

var storeSeq atomic.Int64

// newTest starts a Server over a fresh named mem:// store.
func newTest(t *testing.T, opts Options) (*Server, *backend.Store, *httptest.Server) {
	t.Helper()
	dsn := fmt.Sprintf("mem://servertest%d?max_alerts=50000", storeSeq.Add(1))
	st, err := registry.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	opts.DSN = dsn
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(st)
		st.SetObserver(opts.Metrics)
	}
	s := New(st, opts)
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		s.Stop()
		hs.Close()
		_ = s.Close()
		_ = st.Close()
	})
	return s, st, hs
}

type answer struct {
	status int
	body   []byte
	header http.Header
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", a.status, err, a.body)
	}
	return m
}

func (a answer) code() string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(a.body, &e)
	return e.Error.Code
}

func do(t *testing.T, method, u, ctype, token string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, b, resp.Header}
}

func alertJSON(entity, sev, src, ts string) string {
	m := map[string]any{"entity": entity, "severity": sev, "message": "m " + entity}
	if src != "" {
		m["source"] = map[string]any{"type": src}
	}
	if ts != "" {
		m["timestamp"] = ts
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func count(t *testing.T, st *backend.Store) int64 {
	t.Helper()
	n, err := st.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPostAlerts(t *testing.T) {
	big := `{"entity":"x","message":"` + strings.Repeat("a", backend.DefaultMaxAlertBytes) + `"}`
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		code              string
		stored            int
		rejectedLines     []int // NDJSON: the lines named
		rejectedIndexes   []int
	}{
		{name: "OneObject", ctype: "application/json", body: alertJSON("h1", "High", "kafka", ""), status: 200, stored: 1},
		{name: "Array", ctype: "application/json", body: "[" + alertJSON("h1", "High", "", "") + "," + alertJSON("h2", "low", "", "") + "]", status: 200, stored: 2},
		{name: "EmptyArray", ctype: "application/json; charset=utf-8", body: "[]", status: 200, stored: 0},
		{name: "ArrayWithInvalidStoresNone", ctype: "application/json", body: "[" + alertJSON("h1", "High", "", "") + `,{"severity":"urgent"},` + alertJSON("h3", "Low", "", "") + "]", status: 400, code: "invalid_alert", stored: 0, rejectedIndexes: []int{1}},
		{name: "NotJSON", ctype: "application/json", body: "hello", status: 400, code: "invalid_alert", stored: 0, rejectedIndexes: []int{0}},
		{name: "DuplicateKey", ctype: "application/json", body: `{"entity":"a","entity":"b"}`, status: 400, code: "invalid_alert", rejectedIndexes: []int{0}},
		{name: "AlertOverCap", ctype: "application/json", body: big, status: 413, code: "too_large", rejectedIndexes: []int{0}},
		{name: "UnsupportedType", ctype: "text/csv", body: "a,b", status: 415, code: "unsupported_media_type"},
		{name: "NDJSON", ctype: "application/x-ndjson", body: alertJSON("h1", "High", "", "") + "\n\n" + alertJSON("h2", "Low", "", "") + "\n", status: 200, stored: 2},
		{name: "NDJSONNoContentType", body: alertJSON("h1", "High", "", "") + "\n" + alertJSON("h2", "Low", "", ""), status: 200, stored: 2},
		{name: "NDJSONRejectsByLine", ctype: "application/x-ndjson", body: alertJSON("h1", "High", "", "") + "\nnot json\n" + alertJSON("h3", "Low", "", "") + "\n{\"timestamp\":12}\n", status: 400, code: "invalid_alert", stored: 2, rejectedLines: []int{2, 4}, rejectedIndexes: []int{1, 3}},
		{name: "NDJSONLongLine", ctype: "application/x-ndjson", body: big + "\n" + alertJSON("h2", "Low", "", "") + "\n", status: 400, code: "invalid_alert", stored: 1, rejectedLines: []int{1}, rejectedIndexes: []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, st, hs := newTest(t, Options{})
			a := do(t, "POST", hs.URL+"/v1/alerts", tc.ctype, "", []byte(tc.body))
			if a.status != tc.status || a.code() != tc.code {
				t.Fatalf("status %d code %q, want %d %q\n%s", a.status, a.code(), tc.status, tc.code, a.body)
			}
			if tc.status == 415 {
				return
			}
			var got struct {
				Stored   int
				IDs      []string
				Rejected []rejected
			}
			if err := json.Unmarshal(a.body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Stored != tc.stored || len(got.IDs) != tc.stored {
				t.Fatalf("stored %d ids %d, want %d\n%s", got.Stored, len(got.IDs), tc.stored, a.body)
			}
			if n := count(t, st); n != int64(tc.stored) {
				t.Fatalf("the store holds %d, the answer says %d stored", n, tc.stored)
			}
			var lines, idx []int
			for _, r := range got.Rejected {
				if r.Line != 0 {
					lines = append(lines, r.Line)
				}
				idx = append(idx, r.Index)
				if r.Message == "" {
					t.Errorf("rejected item %d has no message", r.Index)
				}
			}
			if fmt.Sprint(lines) != fmt.Sprint(tc.rejectedLines) && (len(lines) > 0 || len(tc.rejectedLines) > 0) {
				t.Errorf("rejected lines %v, want %v", lines, tc.rejectedLines)
			}
			if fmt.Sprint(idx) != fmt.Sprint(tc.rejectedIndexes) && (len(idx) > 0 || len(tc.rejectedIndexes) > 0) {
				t.Errorf("rejected indexes %v, want %v", idx, tc.rejectedIndexes)
			}
			// The ids answered are the ids stored, in order.
			page, err := st.List(context.Background(), backend.Query{})
			if err != nil {
				t.Fatal(err)
			}
			for i, id := range got.IDs {
				if page.Alerts[len(page.Alerts)-1-i].ID() != id {
					t.Fatalf("answered id %d %s is not the stored one", i, id)
				}
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	_, st, hs := newTest(t, Options{MaxBodyBytes: 1024})
	var items []string
	for i := 0; i < 40; i++ {
		items = append(items, alertJSON(fmt.Sprintf("h%d", i), "High", "", ""))
	}
	a := do(t, "POST", hs.URL+"/v1/alerts", "application/json", "", []byte("["+strings.Join(items, ",")+"]"))
	if a.status != 413 || a.code() != "body_too_large" {
		t.Fatalf("status %d %s, want 413 body_too_large", a.status, a.code())
	}
	if n := count(t, st); n != 0 {
		t.Fatalf("stored %d from a refused body", n)
	}
}

// TestNDJSONStoredAsItArrives: lines are stored before the body ends (the
// flush interval), as for `tail -F | curl -T -`.
func TestNDJSONStoredAsItArrives(t *testing.T) {
	_, st, hs := newTest(t, Options{FlushInterval: 20 * time.Millisecond})
	pr, pw := io.Pipe()
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", hs.URL+"/v1/alerts", pr)
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- answer{status: resp.StatusCode, body: b}
	}()
	fmt.Fprintln(pw, alertJSON("early", "High", "", ""))
	deadline := time.Now().Add(20 * time.Second)
	for count(t, st) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the first line was not stored while the body was still open")
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Fprintln(pw, alertJSON("late", "High", "", ""))
	pw.Close()
	a := <-done
	if a.status != 200 || count(t, st) != 2 {
		t.Fatalf("status %d, count %d\n%s", a.status, count(t, st), a.body)
	}
}

func seed(t *testing.T, hs *httptest.Server, alerts ...string) []string {
	t.Helper()
	a := do(t, "POST", hs.URL+"/v1/alerts", "application/json", "", []byte("["+strings.Join(alerts, ",")+"]"))
	if a.status != 200 {
		t.Fatalf("seeding: %d %s", a.status, a.body)
	}
	var got stored
	_ = json.Unmarshal(a.body, &got)
	return got.IDs
}

func entitiesOf(t *testing.T, a answer) []string {
	t.Helper()
	var page struct {
		Alerts []map[string]any
		Next   string
	}
	if err := json.Unmarshal(a.body, &page); err != nil {
		t.Fatalf("%v: %s", err, a.body)
	}
	out := []string{}
	for _, al := range page.Alerts {
		out = append(out, fmt.Sprint(al["entity"]))
	}
	return out
}

func TestListFilters(t *testing.T) {
	_, _, hs := newTest(t, Options{})
	now := time.Now().UTC()
	old := now.Add(-48 * time.Hour).Format("2006-01-02T15:04:05")
	recent := now.Add(-time.Hour).Format("2006-01-02T15:04:05")
	seed(t, hs,
		alertJSON("a", "Critical", "kafka", old),
		alertJSON("b", "high", "suricata", recent),
		alertJSON("c", "Low", "kafka", recent),
		alertJSON("a", "Medium", "zeek", recent),
	)
	for _, tc := range []struct {
		name, query string
		want        []string
		code        string
	}{
		{"All", "", []string{"a", "c", "b", "a"}, ""},
		{"Severity", "severity=high&severity=critical", []string{"b", "a"}, ""},
		{"SeverityCommaList", "severity=low,medium", []string{"a", "c"}, ""},
		{"MinSeverity", "min_severity=medium", []string{"a", "b", "a"}, ""},
		{"Entity", "entity=a", []string{"a", "a"}, ""},
		{"SourceType", "source_type=kafka", []string{"c", "a"}, ""},
		{"SinceRelative", "since=24h", []string{"a", "c", "b"}, ""},
		{"SinceDays", "since=3d&until=1d", []string{"a"}, ""},
		{"UntilNaive", "until=" + url.QueryEscape(now.Add(-24*time.Hour).Format("2006-01-02T15:04:05")), []string{"a"}, ""},
		{"Combined", "min_severity=low&source_type=kafka&since=24h", []string{"c"}, ""},
		{"Limit", "limit=2", []string{"a", "c"}, ""},
		{"UnknownParameter", "severty=high", nil, "invalid_query"},
		{"BadSeverity", "severity=urgent", nil, "invalid_query"},
		{"BadSince", "since=yesterday", nil, "invalid_query"},
		{"BadLimit", "limit=0", nil, "invalid_query"},
		{"BadCursor", "cursor=xyz", nil, "invalid_query"},
		{"VerifiedWithoutKeys", "verified=true", nil, "invalid_query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, "GET", hs.URL+"/v1/alerts?"+tc.query, "", "", nil)
			if tc.code != "" {
				if a.status != 400 || a.code() != tc.code {
					t.Fatalf("status %d code %q, want 400 %q: %s", a.status, a.code(), tc.code, a.body)
				}
				return
			}
			if a.status != 200 {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			if got := entitiesOf(t, a); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestListCursorPaging(t *testing.T) {
	_, _, hs := newTest(t, Options{})
	var in []string
	for i := 0; i < 25; i++ {
		in = append(in, alertJSON(fmt.Sprintf("e%02d", i), "High", "", ""))
	}
	seed(t, hs, in...)
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		a := do(t, "GET", hs.URL+"/v1/alerts?limit=10&cursor="+cursor, "", "", nil)
		got = append(got, entitiesOf(t, a)...)
		cursor = a.json(t)["next"].(string)
		if cursor == "" {
			break
		}
	}
	if len(got) != 25 || got[0] != "e24" || got[24] != "e00" {
		t.Fatalf("paged %d alerts: %v", len(got), got)
	}
}

func TestGetAlertAndCount(t *testing.T) {
	_, _, hs := newTest(t, Options{})
	ids := seed(t, hs, alertJSON("a", "High", "", ""), alertJSON("b", "Low", "", ""))
	a := do(t, "GET", hs.URL+"/v1/alerts/"+ids[0], "", "", nil)
	if a.status != 200 || a.json(t)["entity"] != "a" {
		t.Fatalf("get: %d %s", a.status, a.body)
	}
	if a := do(t, "GET", hs.URL+"/v1/alerts/nope", "", "", nil); a.status != 404 || a.code() != "not_found" {
		t.Fatalf("get unknown: %d %s", a.status, a.body)
	}
	if a := do(t, "GET", hs.URL+"/v1/count", "", "", nil); a.status != 200 || a.json(t)["count"] != 2.0 {
		t.Fatalf("count: %d %s", a.status, a.body)
	}
}

func TestSummary(t *testing.T) {
	_, _, hs := newTest(t, Options{})
	seed(t, hs,
		alertJSON("a", "Critical", "kafka", "2025-03-01T10:05:00"),
		alertJSON("b", "high", "suricata", "2025-03-01T10:50:00"),
		alertJSON("a", "High", "kafka", "2025-03-01T12:10:00"),
	)
	a := do(t, "GET", hs.URL+"/v1/summary?bucket=1h", "", "", nil)
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var got summaryAnswer
	if err := json.Unmarshal(a.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Total != 3 || got.BySeverity["High"] != 2 || got.BySeverity["Critical"] != 1 || got.BySourceType["kafka"] != 2 || got.ByEntity["a"] != 2 {
		t.Fatalf("summary %+v", got)
	}
	if len(got.Timeline) != 3 || got.Timeline[0].Start != "2025-03-01T10:00:00" || got.Timeline[0].Counts["High"] != 1 || len(got.Timeline[1].Counts) != 0 {
		t.Fatalf("timeline %+v", got.Timeline)
	}
	if a := do(t, "GET", hs.URL+"/v1/summary?bucket=1s", "", "", nil); a.status != 400 {
		t.Fatalf("a 1s bucket: %d", a.status)
	}
}

func TestRoutesAnswerJSONErrors(t *testing.T) {
	_, _, hs := newTest(t, Options{})
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"DELETE", "/v1/alerts", 405, "method_not_allowed"},
		{"POST", "/v1/count", 405, "method_not_allowed"},
		{"DELETE", "/v1/alerts/abc", 405, "method_not_allowed"},
		{"GET", "/v2/alerts", 404, "not_found"},
		{"GET", "/v1/count?x=1", 400, "invalid_query"},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			a := do(t, tc.method, hs.URL+tc.path, "", "", nil)
			if a.status != tc.status || a.code() != tc.code || a.header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %q %s, want %d %q", a.status, a.code(), a.header.Get("Content-Type"), tc.status, tc.code)
			}
		})
	}
}

func TestHealthAndStatus(t *testing.T) {
	_, st, hs := newTest(t, Options{})
	seed(t, hs, alertJSON("a", "High", "", ""))
	if a := do(t, "GET", hs.URL+"/healthz", "", "", nil); a.status != 200 || a.json(t)["ok"] != true {
		t.Fatalf("healthz %d %s", a.status, a.body)
	}
	if a := do(t, "GET", hs.URL+"/readyz", "", "", nil); a.status != 200 || a.json(t)["ready"] != true || a.json(t)["degraded"] != false {
		t.Fatalf("readyz %d %s", a.status, a.body)
	}
	a := do(t, "GET", hs.URL+"/v1/status", "", "", nil)
	m := a.json(t)
	if m["backend"] != "mem" || m["healthy"] != true || m["count"] != 1.0 || m["max_alerts"] != 50000.0 || m["chain"] != nil {
		t.Fatalf("status %s", a.body)
	}
	_ = st.Close()
	if a := do(t, "GET", hs.URL+"/readyz", "", "", nil); a.status != 503 || a.json(t)["ready"] != false {
		t.Fatalf("readyz of a closed store %d %s", a.status, a.body)
	}
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	s, _, hs := newTest(t, Options{})
	a := do(t, "GET", hs.URL+"/openapi.json", "", "", nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(a.body, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %v", err)
	}
	n := 0
	for _, rt := range s.table() {
		op, ok := doc.Paths[rt.path][strings.ToLower(rt.method)]
		if !ok {
			t.Errorf("route %s %s is not in openapi.json", rt.method, rt.path)
			continue
		}
		var o struct {
			Role string `json:"x-role"`
		}
		_ = json.Unmarshal(op, &o)
		want := map[Role]string{RoleNone: "none", RoleReader: "reader", RoleWriter: "writer", RoleReader | RoleWriter: "reader or writer"}[rt.role]
		if o.Role != want {
			t.Errorf("%s %s: x-role %q, the route needs %q", rt.method, rt.path, o.Role, want)
		}
		n++
	}
	total := 0
	for _, ms := range doc.Paths {
		total += len(ms)
	}
	if total != n {
		t.Errorf("openapi.json has %d operations, the server %d routes", total, n)
	}
}

// readEvents reads SSE events (name, id, data) from r until n alert
// events or the deadline.
type event struct{ name, id, data string }

func readEvents(t *testing.T, body io.Reader, n int, timeout time.Duration) []event {
	t.Helper()
	ch := make(chan event)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var e event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.name != "" {
					ch <- e
				}
				e = event{}
			case strings.HasPrefix(line, "event: "):
				e.name = line[7:]
			case strings.HasPrefix(line, "id: "):
				e.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				e.data = line[6:]
			}
		}
	}()
	var out []event
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for len(out) < n {
		select {
		case e, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, e)
		case <-timer.C:
			t.Fatalf("got %d events of %d in %s: %+v", len(out), n, timeout, out)
		}
	}
	return out
}

func openStream(t *testing.T, u, lastID string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestStreamResumesWithoutGapOrRepeat(t *testing.T) {
	_, _, hs := newTest(t, Options{})
	first := openStream(t, hs.URL+"/v1/stream?min_severity=high", "")
	time.Sleep(50 * time.Millisecond) // the subscription is taken before the headers are sent; this is only for the reader goroutine
	seed(t, hs, alertJSON("s1", "High", "", ""), alertJSON("low", "Low", "", ""), alertJSON("s2", "Critical", "", ""))
	evs := readEvents(t, first.Body, 2, 20*time.Second)
	if evs[0].name != "alert" || !strings.Contains(evs[0].data, `"s1"`) || !strings.Contains(evs[1].data, `"s2"`) {
		t.Fatalf("events %+v", evs)
	}
	first.Body.Close()
	// Stored while nobody listened: s3, s4 (and a low one, filtered).
	seed(t, hs, alertJSON("s3", "High", "", ""), alertJSON("low2", "Low", "", ""), alertJSON("s4", "High", "", ""))
	// Resume after s1: s2 again? No: after s1 comes s2, s3, s4, then live s5.
	again := openStream(t, hs.URL+"/v1/stream?min_severity=high", evs[0].id)
	seed(t, hs, alertJSON("s5", "High", "", ""))
	evs2 := readEvents(t, again.Body, 4, 20*time.Second)
	var got []string
	for _, e := range evs2 {
		var m map[string]any
		_ = json.Unmarshal([]byte(e.data), &m)
		got = append(got, fmt.Sprint(m["entity"]))
	}
	if fmt.Sprint(got) != "[s2 s3 s4 s5]" {
		t.Fatalf("resumed after s1: %v, want [s2 s3 s4 s5]", got)
	}
	for _, q := range []string{"last_event_id=***", "verified=true", "severity=urgent", "nope=1"} {
		if a := do(t, "GET", hs.URL+"/v1/stream?"+q, "", "", nil); a.status != 400 || a.code() != "invalid_query" {
			t.Fatalf("stream?%s: %d %s", q, a.status, a.body)
		}
	}
}

func TestStreamKeepaliveAndStop(t *testing.T) {
	s, _, hs := newTest(t, Options{Keepalive: 20 * time.Millisecond})
	resp := openStream(t, hs.URL+"/v1/stream", "")
	br := bufio.NewReader(resp.Body)
	deadline := time.Now().Add(20 * time.Second)
	for {
		line, err := br.ReadString('\n')
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("no keepalive: %v", err)
		}
		if line == ": keepalive\n" {
			break
		}
	}
	s.Stop()
	done := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, br); done <- err }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Stop did not end the stream")
	}
}

func TestAuth(t *testing.T) {
	const reader, writer, both = "reader-token-0123456789", "writer-token-0123456789", "both-token-0123456789ab"
	tokens := &Tokens{}
	for _, a := range []struct {
		r Role
		t string
	}{{RoleReader, reader}, {RoleWriter, writer}, {RoleReader, both}, {RoleWriter, both}} {
		if err := tokens.Add(a.r, a.t); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	_, _, hs := newTest(t, Options{Tokens: tokens, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	body := []byte(alertJSON("a", "High", "", ""))
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
	}{
		{"StoreNoToken", "POST", "/v1/alerts", "", 401},
		{"StoreUnknownToken", "POST", "/v1/alerts", "nobody-knows-this-token", 401},
		{"StoreReader", "POST", "/v1/alerts", reader, 403},
		{"StoreWriter", "POST", "/v1/alerts", writer, 200},
		{"StoreBoth", "POST", "/v1/alerts", both, 200},
		{"ListNoToken", "GET", "/v1/alerts", "", 401},
		{"ListWriter", "GET", "/v1/alerts", writer, 403},
		{"ListReader", "GET", "/v1/alerts", reader, 200},
		{"CountReader", "GET", "/v1/count", reader, 200},
		{"SummaryWriter", "GET", "/v1/summary", writer, 403},
		{"StatusReader", "GET", "/v1/status", reader, 200},
		{"MetricsNoToken", "GET", "/metrics", "", 401},
		{"MetricsReader", "GET", "/metrics", reader, 200},
		{"StreamWriter", "GET", "/v1/stream", writer, 403},
		{"HealthzOpen", "GET", "/healthz", "", 200},
		{"ReadyzOpen", "GET", "/readyz", "", 200},
		{"OpenAPIOpen", "GET", "/openapi.json", "", 200},
		{"PageOpen", "GET", "/", "", 200},
		{"DriverAppendReader", "POST", "/v1/driver/append", reader, 403},
		{"DriverScanWriter", "GET", "/v1/driver/scan", writer, 403},
		{"DriverInfoWriter", "GET", "/v1/driver/info", writer, 200},
		{"DriverInfoReader", "GET", "/v1/driver/info", reader, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctype := ""
			var b []byte
			if tc.method == "POST" {
				ctype, b = "application/json", body
			}
			if tc.path == "/v1/driver/append" {
				b = []byte(`{"entries":[]}`)
			}
			a := do(t, tc.method, hs.URL+tc.path, ctype, tc.token, b)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			if tc.status == 401 && a.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	for _, tok := range []string{reader, writer, both, "nobody-knows-this-token"} {
		if strings.Contains(logs.String(), tok) {
			t.Fatalf("a token is in the request log")
		}
	}
	if !strings.Contains(logs.String(), `"role":"reader"`) {
		t.Fatalf("the request log does not name the role")
	}
}

func TestNoCORS(t *testing.T) {
	_, _, hs := newTest(t, Options{})
	req, _ := http.NewRequest("GET", hs.URL+"/v1/alerts", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for k := range resp.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Fatalf("CORS header %s sent", k)
		}
	}
	req, _ = http.NewRequest("OPTIONS", hs.URL+"/v1/alerts", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight answered %d %v", resp.StatusCode, resp.Header)
	}
}

func TestParseTokens(t *testing.T) {
	for _, tc := range []struct {
		name, file, says string
	}{
		{"Good", "# tokens\nreader aaaaaaaaaaaaaaaaaaaa\n\nwriter bbbbbbbbbbbbbbbbbbbb\n", ""},
		{"UnknownRole", "admin aaaaaaaaaaaaaaaaaaaa\n", "line 1: unknown role"},
		{"Short", "reader tiny7\n", "line 1"},
		{"Fields", "reader a b\n", "line 1"},
		{"Empty", "# nothing\n", "no token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk, err := ParseTokens([]byte(tc.file))
			if tc.says == "" {
				if err != nil || !tk.Has(RoleReader) || !tk.Has(RoleWriter) {
					t.Fatalf("%v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %v, want %q", err, tc.says)
			}
			if strings.Contains(err.Error(), "aaaaaaaaaaaaaaaaaaaa") || strings.Contains(err.Error(), "tiny7") {
				t.Fatalf("the error shows the token: %v", err)
			}
		})
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "tokens")
	if err := os.WriteFile(p, []byte("reader aaaaaaaaaaaaaaaaaaaa\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTokens(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable token file: %v", err)
	}
}

func TestCheckListen(t *testing.T) {
	tokens := &Tokens{}
	_ = tokens.Add(RoleReader, "aaaaaaaaaaaaaaaaaaaa")
	for _, tc := range []struct {
		name string
		lc   ListenConfig
		tk   *Tokens
		says string
	}{
		{"Default", ListenConfig{}, nil, ""},
		{"Loopback6", ListenConfig{Addr: "[::1]:8080"}, nil, ""},
		{"Localhost", ListenConfig{Addr: "localhost:0"}, nil, ""},
		{"AllInterfacesNoTLS", ListenConfig{Addr: ":8080"}, tokens, "not a loopback address and there is no TLS"},
		{"PublicNoTLS", ListenConfig{Addr: "192.0.2.1:8080"}, tokens, "no TLS"},
		{"PublicTLSNoTokens", ListenConfig{Addr: "192.0.2.1:8080", TLSCert: "c", TLSKey: "k"}, nil, "no token"},
		{"PublicTLSTokens", ListenConfig{Addr: "192.0.2.1:8080", TLSCert: "c", TLSKey: "k"}, tokens, ""},
		{"PublicInsecure", ListenConfig{Addr: "0.0.0.0:8080", InsecureListen: true}, nil, ""},
		{"CertWithoutKey", ListenConfig{TLSCert: "c"}, nil, "both"},
		{"NoPort", ListenConfig{Addr: "127.0.0.1"}, nil, "host:port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckListen(tc.lc, tc.tk)
			if tc.says == "" && err != nil || tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says)) {
				t.Fatalf("error %v, want %q", err, tc.says)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	_, _, hs := newTest(t, Options{})
	seed(t, hs, alertJSON("a", "High", "", ""), alertJSON("b", "High", "", ""))
	do(t, "POST", hs.URL+"/v1/alerts", "application/json", "", []byte(`{"severity":"urgent"}`))
	do(t, "GET", hs.URL+"/v1/alerts", "", "", nil)
	a := do(t, "GET", hs.URL+"/metrics", "", "", nil)
	for _, want := range []string{
		"alertstore_alerts_stored_total 2",
		"alertstore_alerts_rejected_total 1",
		"alertstore_alerts_listed_total 2",
		`alertstore_backend_op_duration_seconds_count{op="store",result="ok"} 1`,
		`alertstore_http_requests_total{code="200",route="POST /v1/alerts"} 1`,
		`alertstore_http_requests_total{code="400",route="POST /v1/alerts"} 1`,
		"alertstore_stream_subscribers 0",
	} {
		if !strings.Contains(string(a.body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestDriverNamespaceBounds: without AnyNamespace, the driver protocol
// serves the store's own prefix only, with at most its cap and size
// bound; unknown parameters are refused.
func TestDriverNamespaceBounds(t *testing.T) {
	_, st, hs := newTest(t, Options{})
	cfg := st.Config()
	for _, tc := range []struct {
		name, query string
		status      int
		code        string
	}{
		{"Own", "", 200, ""},
		{"OwnPrefixExplicit", "prefix=" + url.QueryEscape(cfg.Prefix), 200, ""},
		{"LowerCap", "max_alerts=10", 200, ""},
		{"OtherPrefix", "prefix=other:", 403, "namespace_denied"},
		{"HigherCap", fmt.Sprintf("max_alerts=%d", cfg.MaxAlerts+1), 403, "namespace_denied"},
		{"BiggerAlerts", fmt.Sprintf("max_alert_bytes=%d", cfg.MaxAlertBytes+1), 403, "namespace_denied"},
		{"UnknownParameter", "nope=1", 400, "invalid_config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, "GET", hs.URL+"/v1/driver/info?"+tc.query, "", "", nil)
			if a.status != tc.status || a.code() != tc.code {
				t.Fatalf("%d %q, want %d %q: %s", a.status, a.code(), tc.status, tc.code, a.body)
			}
		})
	}
	// Admin routes are off by default; clear is a writer's.
	if a := do(t, "POST", hs.URL+"/v1/driver/drop", "application/json", "", []byte("{}")); a.status != 403 || a.code() != "forbidden" {
		t.Fatalf("drop without --admin: %d %s", a.status, a.body)
	}
	if a := do(t, "POST", hs.URL+"/v1/driver/clear", "application/json", "", []byte("{}")); a.status != 200 {
		t.Fatalf("clear: %d %s", a.status, a.body)
	}
}
