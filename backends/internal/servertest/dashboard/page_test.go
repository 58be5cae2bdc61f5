package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/dashboard"
)

// sample is an alert as the detectors write them, MITRE mapping, features
// and model scores included; without an id when id is "" (the store
// gives one).
func sample(id, severity, entity, source string, at time.Time, message string) map[string]any {
	a := map[string]any{
		"timestamp": backend.FormatTimestamp(at), "severity": severity,
		"entity": entity, "entity_type": "host", "event_type": "lateral_movement",
		"source":           map[string]any{"type": source, "topic": "network-events"},
		"message":          message,
		"prediction_score": 0.85,
		"features":         map[string]any{"smb_sessions": 14, "rare_domain": true},
		"models":           map[string]any{"lstm": map[string]any{"score": 0.79}, "iforest": 0.91},
		"mitre_attack":     map[string]any{"techniques": []any{"T1021.002", map[string]any{"id": "T1071", "name": "Application Layer Protocol"}}, "tactics": []any{"Lateral Movement", "Command and Control"}},
	}
	if id != "" {
		a["id"] = id
	}
	return a
}

// TestPageAgainstFakeAPI checks what the real server is not made to do on
// cue: the page asks for a reader token on 401 and sends it (the stream
// included); alert text written to attack the page is shown as text; the
// detail view, the keys and the time zone toggle; the banner of a degraded
// store with its backlog.
func TestPageAgainstFakeAPI(t *testing.T) {
	const token = "reader-token-for-the-test"
	api := newFakeAPI(token)
	now := time.Now().UTC()
	api.add(
		sample("a1", "Low", "host1", "kafka", now.Add(-3*time.Hour), "old low alert"),
		sample("a2", "High", "host2", "suricata", now.Add(-2*time.Hour), `<img src=x onerror="window.pwned=1">`),
		sample("a3", "Critical", "host1", "kafka", now.Add(-time.Hour), "beacon to rare domain"),
	)
	mux := http.NewServeMux()
	api.routes(mux)
	mux.Handle("/", dashboard.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	b := startBrowser(t)
	b.run("open the page", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#auth")))
	b.shot("token-prompt")
	b.run("give the token", chromedp.SendKeys(chromedp.CSS("#token"), token+"\r"))
	b.waitJS("the table", 30*time.Second, `document.querySelectorAll('#alerts tbody tr').length === 3`, `document.querySelectorAll('#alerts tbody tr').length`)
	if got := b.rows(); !slices.Equal(got, []string{"a3", "a2", "a1"}) {
		t.Errorf("rows %v, want a3 a2 a1", got)
	}
	b.waitJS("counts", 30*time.Second, `document.querySelector('.card[data-severity=total] .n').textContent === '3'`, `document.querySelector('#cards').textContent`)
	if got := b.jsString(`document.querySelector('#alerts tbody tr[data-id=a2] td.message').textContent`); got != `<img src=x onerror="window.pwned=1">` {
		t.Errorf("the hostile message shows as %q", got)
	}
	if pwned, err := eval[bool](b, `window.pwned === 1 || document.querySelector('#alerts img') !== null`); err != nil || pwned {
		t.Errorf("alert text became markup (pwned %v, err %v)", pwned, err)
	}
	b.shot("table")

	// Live, through the stream that carries the token.
	b.waitJS("the stream", 30*time.Second, `document.querySelector('#live').dataset.state === 'live'`, `document.querySelector('#live').dataset.state`)
	api.add(sample("a4", "Medium", "host3", "zeek", now, "new live alert"))
	b.waitJS("the live alert", 30*time.Second, `document.querySelector('#alerts tbody tr')?.dataset.id === 'a4'`, `[...document.querySelectorAll('#alerts tbody tr')].map(r => r.dataset.id).join()`)
	b.waitJS("counts after the live alert", 30*time.Second, `document.querySelector('.card[data-severity=total] .n').textContent === '4'`, `document.querySelector('#cards').textContent`)
	b.shot("live")

	// The stream breaks; an alert is stored meanwhile; the page reconnects
	// with the last event id it saw and gets that alert once.
	api.streamsDown()
	b.waitJS("the page to notice", 30*time.Second, `document.querySelector('#live').dataset.state === 'reconnecting'`, `document.querySelector('#live').dataset.state`)
	api.add(sample("a5", "Low", "host3", "zeek", now, "stored while the stream was down"))
	api.streamsUp()
	b.waitJS("the missed alert", 30*time.Second, `document.querySelector('#alerts tbody tr')?.dataset.id === 'a5'`, `[...document.querySelectorAll('#alerts tbody tr')].map(r => r.dataset.id).join()`)
	if got := b.rows(); !slices.Equal(got, []string{"a5", "a4", "a3", "a2", "a1"}) {
		t.Errorf("rows after the reconnect %v, want a5 a4 a3 a2 a1", got)
	}
	if got := api.resumedFrom(); len(got) == 0 || got[len(got)-1] != "4" {
		t.Errorf("the page resumed with Last-Event-ID %q, want the id of a4's event (4) last", got)
	}

	// Keys: j j selects the second row, Enter opens it, Esc goes back.
	b.run("j j Enter", chromedp.Click(chromedp.CSS("#view-title"), chromedp.NodeVisible), key("j"), key("j"), key("\r"))
	b.waitJS("the detail view", 30*time.Second, `!document.querySelector('#detail').hidden && document.querySelector('#techniques').textContent.includes('T1021.002') && document.querySelector('#detail-title').textContent === 'new live alert'`, `document.querySelector('#detail').textContent`)
	if got := b.jsString(`location.hash`); got != "#alert/a4" {
		t.Errorf("j j Enter opened %s, want #alert/a4", got)
	}
	for _, want := range []string{"Lateral Movement", "Command and Control"} {
		if !strings.Contains(b.jsString(`document.querySelector('#tactics').textContent`), want) {
			t.Errorf("tactics lack %q", want)
		}
	}
	if got := b.jsString(`document.querySelector('#techniques').textContent`); !strings.Contains(got, "T1071 Application Layer Protocol") {
		t.Errorf("techniques %q lack the named one", got)
	}
	if got := b.jsString(`document.querySelector('#models').textContent`); !strings.Contains(got, "lstm0.79") || !strings.Contains(got, "iforest0.91") {
		t.Errorf("model scores %q", got)
	}
	if got := b.jsString(`document.querySelector('#features').textContent`); !strings.Contains(got, "smb_sessions14") {
		t.Errorf("features %q", got)
	}
	b.shot("detail")
	b.run("Esc", key("\x1b"))
	b.waitJS("back to the table", 30*time.Second, `!document.querySelector('#overview').hidden && location.hash === ''`, `location.hash`)

	// The time zone toggle, kept in the URL.
	b.run("t", key("t"))
	b.waitJS("local times", 30*time.Second, `document.querySelector('#time-head').textContent.startsWith('Time (local')`, `document.querySelector('#time-head').textContent`)
	if got := b.jsString(`location.search`); !strings.Contains(got, "tz=local") {
		t.Errorf("the time zone is not in the URL: %q", got)
	}

	// The degraded banner.
	api.setDegraded(true, 7)
	b.waitJS("the degraded banner", 30*time.Second, `!document.querySelector('#banner').hidden && document.querySelector('#banner').dataset.kind === 'degraded'`, `document.querySelector('#banner').textContent`)
	if got := b.jsString(`document.querySelector('#banner').textContent`); !strings.Contains(got, "Backlog: 7 alerts") || !strings.Contains(got, "redis://127.0.0.1:6379/0 is down") {
		t.Errorf("banner %q", got)
	}
	b.shot("degraded")
	api.setDegraded(false, 0)
	b.waitJS("the banner gone", 30*time.Second, `document.querySelector('#banner').hidden`, `document.querySelector('#banner').textContent`)
	api.setPlainFailing("backend unavailable: bolt file locked")
	b.waitJS("the banner of a failing plain store", 30*time.Second, `document.querySelector('#banner').textContent === 'The store does not answer: backend unavailable: bolt file locked.'`, `document.querySelector('#banner').textContent`)
	api.setPlainFailing("")
	b.waitJS("the banner gone again", 30*time.Second, `document.querySelector('#banner').hidden`, `document.querySelector('#banner').textContent`)

	// A page left open on a busy store keeps its newest 2000 rows.
	var burst []map[string]any
	for i := range 2000 {
		burst = append(burst, sample(fmt.Sprintf("burst-%04d", i), "Info", "host9", "zeek", now, "burst"))
	}
	api.add(burst...)
	b.waitJS("the burst", time.Minute, `document.querySelector('#alerts tbody tr')?.dataset.id === 'burst-1999'`, `document.querySelector('#alerts tbody tr')?.dataset.id`)
	if got := b.rows(); len(got) != 2000 || got[1999] != "burst-0000" {
		t.Errorf("after the burst: %d rows, the last %q; want 2000, the 5 older ones pushed out", len(got), got[len(got)-1])
	}
	b.waitJS("the note", 30*time.Second, `!document.querySelector('#trimmed').hidden && document.querySelector('#more').hidden`, `document.querySelector('#trimmed').hidden`)

	// A fresh load shows the newest page; "Load more" follows the cursor.
	b.run("reload", chromedp.Reload())
	b.waitJS("the first page", 30*time.Second, `document.querySelectorAll('#alerts tbody tr').length === 100 && !document.querySelector('#more').hidden`, `document.querySelectorAll('#alerts tbody tr').length`)
	b.run("load more", chromedp.Click(chromedp.CSS(`#more`), chromedp.NodeVisible))
	b.waitJS("the second page", 30*time.Second, `document.querySelectorAll('#alerts tbody tr').length === 200`, `document.querySelectorAll('#alerts tbody tr').length`)
	if got := b.rows(); got[0] != "burst-1999" || got[199] != "burst-1800" {
		t.Errorf("after Load more: rows %s..%s, want burst-1999..burst-1800", got[0], got[len(got)-1])
	}

	// The page reads every timestamp spelling alertstore accepts
	// (docs/alerts.md), naive ones as UTC.
	for _, tc := range []struct{ name, in, want string }{
		{"NaiveMicroseconds", `"2025-03-01T12:34:56.789012"`, "2025-03-01T12:34:56.789Z"},
		{"NaiveSpace", `"2025-03-01 12:34:56"`, "2025-03-01T12:34:56.000Z"},
		{"NaiveMinutes", `"2025-03-01T12:34"`, "2025-03-01T12:34:00.000Z"},
		{"Zulu", `"2025-03-01T12:34:56Z"`, "2025-03-01T12:34:56.000Z"},
		{"OffsetColon", `"2025-03-01T12:34:56+01:00"`, "2025-03-01T11:34:56.000Z"},
		{"OffsetNoColon", `"2025-03-01T12:34:56+0130"`, "2025-03-01T11:04:56.000Z"},
		{"OffsetHours", `"2025-03-01T12:34:56-05"`, "2025-03-01T17:34:56.000Z"},
		{"Nanoseconds", `"2025-03-01T12:34:56.123456789Z"`, "2025-03-01T12:34:56.123Z"},
		{"NotATime", `"yesterday"`, ""},
		{"UnixSeconds", `1700000000`, ""},
	} {
		t.Run("ParseTime/"+tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
			defer cancel()
			got, err := chromedp.Run(ctx, chromedp.Evaluate[string](
				`import('/ui/time.js').then(m => m.parseTime(`+tc.in+`)?.toISOString() ?? '')`, chromedp.EvalAwaitPromise))
			if err != nil || got != tc.want {
				t.Errorf("parseTime(%s) = %q (%v), want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestBrowserReportsPageProblems: the tests above pass only while the
// browser recorded no problem in the page; this one shows the record
// catches what it must (a script refused by the Content-Security-Policy,
// an inline style refused, an uncaught exception), so they can fail.
func TestBrowserReportsPageProblems(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", dashboard.ContentSecurityPolicy)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>t</title><link rel="icon" href="data:,">` +
			`<script>window.inline = 1</script><p style="color: red">x</p><script src="/throw.js"></script>`))
	})
	mux.HandleFunc("GET /throw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte(`throw new Error("boom from the page");`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	b := startBrowser(t)
	b.run("open", chromedp.Navigate(srv.URL+"/"))
	want := []string{"Content Security Policy", "boom from the page"}
	var got []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got = append(got, b.take()...)
		all := strings.Join(got, "\n")
		if strings.Contains(all, want[0]) && strings.Contains(all, want[1]) {
			break
		}
	}
	all := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("the browser's record lacks %q; it holds:\n%s", w, all)
		}
	}
	if inline, err := eval[bool](b, `window.inline === 1`); err != nil || inline {
		t.Errorf("the inline script ran under the policy (%v, %v)", inline, err)
	}
}
