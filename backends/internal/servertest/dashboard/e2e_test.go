package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/conformance/containers"
	"github.com/apt-detection/alertstore/internal/servetest"
)

// TestMain removes the alertstore binary servetest built. (No
// containers.Main: the test starts its own Redis, which t.Cleanup removes.)
func TestMain(m *testing.M) { servetest.Main(m) }

// serve starts `alertstore serve` on dsn (internal/servetest: the real
// binary, a free loopback port) with the reader and writer tokens, and
// returns its URL. At the end of the test it must stop cleanly on SIGTERM;
// its log is shown when the test failed.
func serve(t *testing.T, dsn string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tokens")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("reader "+readerToken+"\nwriter "+writerToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := servetest.Start(t, dsn, "--token-file", tokens)
	t.Cleanup(func() {
		if err := p.Stop(20 * time.Second); err != nil {
			t.Errorf("alertstore serve did not stop cleanly: %v", err)
		}
		if t.Failed() {
			t.Logf("alertstore serve's log:\n%s", p.Stderr())
		}
	})
	return p.URL
}

// The tokens the end-to-end server requires: the page reads with the
// reader's, the test stores with the writer's.
const (
	readerToken = "reader-0123456789abcdef"
	writerToken = "writer-0123456789abcdef"
)

// post stores alerts through the API with the writer token and returns
// their ids.
func post(t *testing.T, base string, alerts ...map[string]any) []string {
	t.Helper()
	body, err := json.Marshal(alerts)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, base+"v1/alerts", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+writerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		Stored int      `json:"stored"`
		IDs    []string `json:"ids"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &ans) != nil || ans.Stored != len(alerts) || len(ans.IDs) != len(alerts) {
		t.Fatalf("POST /v1/alerts: %s %s", resp.Status, raw)
	}
	return ans.IDs
}

// counts is what the page shows for a set of alerts.
type counts struct {
	total                        int
	bySeverity, bySource, byEnts map[string]int
}

func countOf(alerts []map[string]any) counts {
	c := counts{bySeverity: map[string]int{}, bySource: map[string]int{}, byEnts: map[string]int{}}
	for _, a := range alerts {
		c.total++
		c.bySeverity[a["severity"].(string)]++
		c.bySource[a["source"].(map[string]any)["type"].(string)]++
		c.byEnts[a["entity"].(string)]++
	}
	return c
}

// shown reads the page's counts: the cards and the two lists.
func (b *browser) shown() counts {
	b.t.Helper()
	var raw struct {
		Cards, Sources, Entities map[string]int
	}
	js, err := eval[[]byte](b, `(() => {
		const list = (sel) => Object.fromEntries([...document.querySelectorAll(sel + ' li')]
			.filter(li => li.querySelector('a')).map(li => [li.querySelector('a').dataset.key, Number(li.querySelector('.n').textContent)]));
		return {
			Cards: Object.fromEntries([...document.querySelectorAll('#cards .card')].map(c => [c.dataset.severity, Number(c.querySelector('.n').textContent)])),
			Sources: list('#by-source'), Entities: list('#by-entity'),
		};
	})()`)
	if err == nil {
		err = json.Unmarshal(js, &raw)
	}
	if err != nil {
		b.t.Fatalf("reading the counts: %v", err)
	}
	c := counts{total: raw.Cards["total"], bySeverity: map[string]int{}, bySource: raw.Sources, byEnts: raw.Entities}
	for k, n := range raw.Cards {
		if k != "total" && n > 0 {
			c.bySeverity[k] = n
		}
	}
	return c
}

func (c counts) String() string {
	return fmt.Sprintf("total %d, severity %v, source %v, entity %v", c.total, c.bySeverity, c.bySource, c.byEnts)
}

func (c counts) equal(d counts) bool {
	return c.total == d.total && maps.Equal(c.bySeverity, d.bySeverity) && maps.Equal(c.bySource, d.bySource) && maps.Equal(c.byEnts, d.byEnts)
}

// rowsAre waits until the table shows exactly the alerts of want (ids),
// in any order.
func (b *browser) rowsAre(what string, want []string) {
	b.t.Helper()
	w, _ := json.Marshal(slices.Sorted(slices.Values(want)))
	b.waitJS(what, 30*time.Second,
		`JSON.stringify([...document.querySelectorAll('#alerts tbody tr')].map(r => r.dataset.id).sort()) === `+"`"+string(w)+"`",
		`[...document.querySelectorAll('#alerts tbody tr')].map(r => r.dataset.id).join(' ')`)
}

// TestDashboardEndToEnd runs the real binary, `alertstore serve` on a chain
// of Redis (a container) then bolt, posts alerts over HTTP, and checks the
// dashboard in headless Chromium as a user sees it: it asks for a reader
// token (a writer's is refused: it does not read), then the table fills, the
// counts match, a new alert appears live, the filters (severity, entity,
// time window) and the entity view show what they should, the detail view
// shows the MITRE techniques, and the degraded banner shows while Redis is
// stopped and goes when it is back. Every step leaves a screenshot.
func TestDashboardEndToEnd(t *testing.T) {
	containers.SkipShort(t)
	chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	redis := containers.StartServer(ctx, t, containers.Matrix()[0], containers.WithAOF()) // AOF: its alerts survive the stop
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	dsn := chain.FormatDSN("redis://"+redis.Addr()+"/0?prefix=dashboard-e2e:", "bolt://"+filepath.Join(dir, "alerts.db")) +
		"&tier_timeout=500ms&probe_interval=100ms&probe_max=500ms"
	base := serve(t, dsn)

	now := time.Now().UTC()
	alerts := []map[string]any{
		sample("", "Critical", "host-a", "kafka", now.Add(-70*time.Hour), "old critical on host-a"),
		sample("", "Low", "host-b", "zeek", now.Add(-50*time.Hour), "old low on host-b"),
		sample("", "High", "host-c", "suricata", now.Add(-30*time.Hour), "old high on host-c"),
		sample("", "Medium", "host-a", "kafka", now.Add(-20*time.Hour), "medium on host-a"),
		sample("", "High", "host-b", "kafka", now.Add(-12*time.Hour), "high on host-b"),
		sample("", "Info", "host-c", "zeek", now.Add(-8*time.Hour), "info on host-c"),
		sample("", "High", "host-a", "suricata", now.Add(-5*time.Hour), "high on host-a"),
		sample("", "Low", "host-b", "zeek", now.Add(-3*time.Hour), "low on host-b"),
		sample("", "Critical", "host-b", "kafka", now.Add(-2*time.Hour), "critical on host-b"),
		sample("", "Medium", "host-c", "suricata", now.Add(-90*time.Minute), "medium on host-c"),
		sample("", "High", "host-a", "zeek", now.Add(-40*time.Minute), "high on host-a, recent"),
		sample("", "Critical", "host-a", "kafka", now.Add(-10*time.Minute), "beacon to rare domain"),
	}
	ids := post(t, base, alerts...)
	idOf := map[string]string{} // message -> id
	for i, a := range alerts {
		a["id"] = ids[i]
		idOf[a["message"].(string)] = ids[i]
	}
	where := func(keep func(map[string]any) bool) []string {
		var out []string
		for _, a := range alerts {
			if keep(a) {
				out = append(out, a["id"].(string))
			}
		}
		return out
	}

	b := startBrowser(t)
	b.run("open the dashboard", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#auth")))
	b.shot("token")
	b.run("a writer token", chromedp.SendKeys(chromedp.CSS("#token"), writerToken+"\r"))
	b.waitJS("the token refused", 30*time.Second, `!document.querySelector('#auth').hidden && document.querySelector('#auth-message').textContent.includes('refused')`, `document.querySelector('#auth-message').textContent`)
	b.run("the reader token", chromedp.SendKeys(chromedp.CSS("#token"), readerToken+"\r"))
	b.rowsAre("the table to fill", ids)
	if got := b.rows(); got[0] != idOf["beacon to rare domain"] {
		t.Errorf("first row %s, want the newest alert", got[0])
	}
	b.waitJS("the counts", 30*time.Second, `document.querySelector('.card[data-severity=total] .n')?.textContent === '12'`, `document.querySelector('#cards').textContent`)
	if got, want := b.shown(), countOf(alerts); !got.equal(want) {
		t.Errorf("the page counts\n%v\nposted\n%v", got, want)
	}
	b.shot("table")

	// A new alert appears without a reload.
	b.waitJS("the live stream", 30*time.Second, `document.querySelector('#live').dataset.state === 'live'`, `document.querySelector('#live').dataset.state`)
	b.run("mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	fresh := sample("", "Critical", "host-new", "kafka", time.Now().UTC(), "new alert, live")
	fresh["id"] = post(t, base, fresh)[0]
	alerts = append(alerts, fresh)
	b.waitJS("the live alert on top", 30*time.Second, `document.querySelector('#alerts tbody tr')?.dataset.id === '`+fresh["id"].(string)+`'`, `document.querySelector('#alerts tbody tr')?.dataset.id`)
	b.waitJS("the counts after it", 30*time.Second, `document.querySelector('.card[data-severity=total] .n').textContent === '13'`, `document.querySelector('#cards').textContent`)
	if got, want := b.shown(), countOf(alerts); !got.equal(want) {
		t.Errorf("after the live alert the page counts\n%v\nposted\n%v", got, want)
	}
	if ok, err := eval[bool](b, `window.notReloaded === true`); err != nil || !ok {
		t.Error("the page reloaded to show the new alert")
	}
	b.shot("live")

	// Filters: severity (a click), source type (from its count), entity
	// (typed), time window (the menu); each kept in the URL.
	b.run("severity High", chromedp.Click(chromedp.CSS(`#f-severity input[value=High]`), chromedp.NodeVisible))
	b.rowsAre("only High", where(func(a map[string]any) bool { return a["severity"] == "High" }))
	if u := b.jsString(`location.search`); u != "?severity=High" {
		t.Errorf("URL %q after the severity filter", u)
	}
	b.shot("filter-severity")
	b.run("clear", chromedp.Click(chromedp.CSS(`#f-clear`), chromedp.NodeVisible))
	b.rowsAre("all again", where(func(map[string]any) bool { return true }))
	b.run("source type suricata", chromedp.Click(chromedp.CSS(`#by-source a[data-key="suricata"]`), chromedp.NodeVisible))
	b.rowsAre("only suricata", where(func(a map[string]any) bool { return a["source"].(map[string]any)["type"] == "suricata" }))
	if u := b.jsString(`location.search`); u != "?source_type=suricata" {
		t.Errorf("URL %q after the source type filter", u)
	}
	b.run("clear", chromedp.Click(chromedp.CSS(`#f-clear`), chromedp.NodeVisible))
	b.rowsAre("all again", where(func(map[string]any) bool { return true }))
	b.run("/", key("/"))
	if got := b.jsString(`document.activeElement.id`); got != "f-entity" {
		t.Errorf("/ focused %q, want the entity filter", got)
	}
	// A synthesized key press types its character even when the page
	// cancels the keydown (a real one does not): clear what "/" left.
	b.run("entity host-b", chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-entity').value = ''`), chromedp.SendKeys(chromedp.CSS(`#f-entity`), "host-b\r"))
	b.rowsAre("only host-b", where(func(a map[string]any) bool { return a["entity"] == "host-b" }))
	b.waitJS("host-b's counts", 30*time.Second, `document.querySelector('.card[data-severity=total] .n').textContent === '4'`, `document.querySelector('#cards').textContent`)
	b.shot("filter-entity")
	b.run("clear", chromedp.Click(chromedp.CSS(`#f-clear`), chromedp.NodeVisible))
	b.run("window 24h", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('#f-since'); s.value = '24h'; s.dispatchEvent(new Event('change')); })()`))
	b.rowsAre("the last 24 hours", where(func(a map[string]any) bool {
		return !strings.HasPrefix(a["message"].(string), "old ")
	}))
	if u := b.jsString(`location.search`); u != "?since=24h" {
		t.Errorf("URL %q after the window filter", u)
	}
	b.shot("filter-window")

	// The entity view, from the list of entities.
	b.run("entity view", chromedp.Click(chromedp.CSS(`#by-entity a[data-key="host-a"]`), chromedp.NodeVisible))
	b.waitJS("the entity view", 30*time.Second, `document.querySelector('#view-title').textContent === 'Entity host-a (host)'`, `document.querySelector('#view-title').textContent`)
	b.rowsAre("host-a's alerts in the window", where(func(a map[string]any) bool {
		return a["entity"] == "host-a" && !strings.HasPrefix(a["message"].(string), "old ")
	}))
	b.shot("entity")

	// The detail view of one alert, from its row.
	beacon := idOf["beacon to rare domain"]
	b.run("open the alert", chromedp.Click(chromedp.CSS(`#alerts tbody tr[data-id="`+beacon+`"] td.message a`), chromedp.NodeVisible))
	b.waitJS("the detail view", 30*time.Second, `!document.querySelector('#detail').hidden && document.querySelector('#techniques').textContent.includes('T1021.002')`, `document.querySelector('#detail').textContent`)
	for _, want := range []string{"T1071 Application Layer Protocol", "Lateral Movement", "Command and Control", "lstm", "smb_sessions", beacon} {
		if !strings.Contains(b.jsString(`document.querySelector('#detail').textContent`), want) {
			t.Errorf("the detail view lacks %q", want)
		}
	}
	b.shot("detail")
	b.run("Esc", key("\x1b"))
	b.waitJS("back in the entity view", 30*time.Second, `!document.querySelector('#overview').hidden && location.hash === '#entity/host-a'`, `location.hash`)
	b.run("home", chromedp.Click(chromedp.CSS(`#home`), chromedp.NodeVisible))
	b.rowsAre("everything", where(func(map[string]any) bool { return true }))

	// Redis stopped: writes fall back to bolt and the banner says so; Redis
	// back: the backlog is replayed and the banner goes.
	if err := redis.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	during := sample("", "High", "host-d", "kafka", time.Now().UTC(), "stored while Redis is down")
	during["id"] = post(t, base, during)[0]
	alerts = append(alerts, during)
	b.waitJS("the degraded banner", 30*time.Second, `!document.querySelector('#banner').hidden && document.querySelector('#banner').dataset.kind === 'degraded'`, `document.querySelector('#banner').textContent`)
	t.Logf("banner: %s", b.jsString(`document.querySelector('#banner').textContent`))
	b.shot("degraded")
	if err := redis.Start(ctx); err != nil {
		t.Fatal(err)
	}
	b.waitJS("the banner gone", 90*time.Second, `document.querySelector('#banner').hidden`, `document.querySelector('#banner').textContent`)
	b.rowsAre("every alert, the one stored while degraded included", where(func(map[string]any) bool { return true }))
	b.waitJS("the counts after recovery", 30*time.Second, `document.querySelector('.card[data-severity=total] .n').textContent === '14'`, `document.querySelector('#cards').textContent`)
	if got, want := b.shown(), countOf(alerts); !got.equal(want) {
		t.Errorf("after recovery the page counts\n%v\nposted\n%v", got, want)
	}
	b.shot("recovered")
}
