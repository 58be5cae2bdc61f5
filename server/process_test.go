package server

// Tests against a real `alertstore serve` process (internal/servetest):
// the load test and the kill test. They build the command once.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	_ "github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/internal/servetest"
	"github.com/apt-detection/alertstore/registry"
)

func TestMain(m *testing.M) { servetest.Main(m) }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// subscriber reads /v1/stream and counts each alert id it receives.
type subscriber struct {
	mu   sync.Mutex
	seen map[string]int
	n    atomic.Int64
	gaps atomic.Int64
	err  error
}

func (s *subscriber) run(ctx context.Context, url string, ready chan<- struct{}) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.err = err
		close(ready)
		return
	}
	defer resp.Body.Close()
	close(ready) // the server subscribed before it sent the headers
	br := bufio.NewReaderSize(resp.Body, 1<<20)
	event := ""
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if ctx.Err() == nil {
				s.err = err
			}
			return
		}
		switch {
		case bytes.HasPrefix(line, []byte("event: ")):
			event = string(bytes.TrimSpace(line[7:]))
		case bytes.HasPrefix(line, []byte("data: ")) && event == "alert":
			// The id, without a JSON decoder: ten subscribers read a
			// million events, under -race in CI.
			id := idOf(line[6:])
			if id == "" {
				s.err = fmt.Errorf("an alert event without an id: %s", line)
				return
			}
			s.mu.Lock()
			s.seen[id]++
			s.mu.Unlock()
			s.n.Add(1)
		case bytes.HasPrefix(line, []byte("data: ")) && event == "gap":
			s.gaps.Add(1)
		case bytes.HasPrefix(line, []byte("data: ")) && event == "error":
			s.err = fmt.Errorf("the stream ended with an error event: %s", bytes.TrimSpace(line[6:]))
			return
		}
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// TestLoad posts 100,000 alerts over 32 connections (JSON arrays of
// ALERTSTORE_LOAD_BATCH, default 50) while 10 subscribers follow the
// stream: every alert acknowledged is stored once, and every subscriber
// receives every alert once. It logs the figures (alerts/s, request
// p50/p99, the time the last subscriber needed to catch up); it asserts
// no time.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the load test starts a real alertstore serve and posts 100,000 alerts")
	}
	total := envInt("ALERTSTORE_LOAD_ALERTS", 100_000)
	conns := envInt("ALERTSTORE_LOAD_CONNS", 32)
	batch := envInt("ALERTSTORE_LOAD_BATCH", 50)
	subs := envInt("ALERTSTORE_LOAD_SUBSCRIBERS", 10)
	p := servetest.Start(t, fmt.Sprintf("mem://load?max_alerts=%d&max_bytes=%d", total*2, 1<<30))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	subscribers := make([]*subscriber, subs)
	for i := range subscribers {
		subscribers[i] = &subscriber{seen: map[string]int{}}
		ready := make(chan struct{})
		go subscribers[i].run(ctx, p.URL+"v1/stream", ready)
		<-ready
	}
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	var (
		next    atomic.Int64
		mu      sync.Mutex
		acked   = make(map[string]bool, total)
		lat     []time.Duration
		failed  atomic.Int64
		wg      sync.WaitGroup
		payload = strings.Repeat("x", 120)
	)
	start := time.Now()
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for ctx.Err() == nil {
				first := int(next.Add(int64(batch))) - batch
				if first >= total {
					return
				}
				n := min(batch, total-first)
				buf.Reset()
				buf.WriteByte('[')
				for i := 0; i < n; i++ {
					if i > 0 {
						buf.WriteByte(',')
					}
					fmt.Fprintf(&buf, `{"entity":"host%d","severity":"High","event_type":"load","source":{"type":"loadtest"},"message":"alert %d %s"}`, (first+i)%500, first+i, payload)
				}
				buf.WriteByte(']')
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, "POST", p.URL+"v1/alerts", bytes.NewReader(buf.Bytes()))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				var st stored
				err = json.NewDecoder(resp.Body).Decode(&st)
				resp.Body.Close()
				took := time.Since(t0)
				if err != nil || resp.StatusCode != 200 || len(st.IDs) != n {
					failed.Add(1)
					continue
				}
				mu.Lock()
				lat = append(lat, took)
				for _, id := range st.IDs {
					acked[id] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	posted := time.Since(start)
	if failed.Load() > 0 || len(acked) != total {
		t.Fatalf("%d requests failed; %d of %d alerts acknowledged", failed.Load(), len(acked), total)
	}
	// Every subscriber gets every alert, once.
	for {
		done := 0
		for _, s := range subscribers {
			if s.err != nil {
				t.Fatalf("a subscriber's stream failed: %v", s.err)
			}
			if s.n.Load() >= int64(total) {
				done++
			}
		}
		if done == len(subscribers) {
			break
		}
		if ctx.Err() != nil {
			for i, s := range subscribers {
				t.Logf("subscriber %d: %d of %d", i, s.n.Load(), total)
			}
			t.Fatal("the subscribers did not receive every alert in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
	caughtUp := time.Since(start)
	for i, s := range subscribers {
		s.mu.Lock()
		if len(s.seen) != total {
			t.Errorf("subscriber %d received %d distinct alerts, want %d", i, len(s.seen), total)
		}
		for id, n := range s.seen {
			if n != 1 || !acked[id] {
				t.Errorf("subscriber %d received %s %d times (acknowledged: %t)", i, id, n, acked[id])
				break
			}
		}
		s.mu.Unlock()
	}
	// Stored once each.
	resp, err := http.Get(p.URL + "v1/count")
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Count int }
	_ = json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	if c.Count != total {
		t.Fatalf("the store holds %d, want %d", c.Count, total)
	}
	var gaps int64
	for _, s := range subscribers {
		gaps += s.gaps.Load()
	}
	t.Logf("FIGURES: load: %d alerts in %d requests of %d over %d connections, %d subscribers: posted in %s (%.0f alerts/s), request p50 %s p99 %s; every subscriber had every alert after %s; gap events %d",
		total, len(lat), batch, conns, subs, posted.Round(time.Millisecond), float64(total)/posted.Seconds(),
		percentile(lat, 0.50).Round(time.Microsecond), percentile(lat, 0.99).Round(time.Microsecond), caughtUp.Round(time.Millisecond), gaps)
	cancel()
}

// TestKill SIGKILLs the server (bolt store) during a stream of posts:
// every alert that got a success answer is in the file after, once.
func TestKill(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the kill test starts and SIGKILLs a real alertstore serve")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	dsn := "bolt://" + dir + "/alerts.db?max_alerts=100000"
	p := servetest.Start(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				body := fmt.Sprintf(`[{"entity":"w%d","severity":"High","message":"%d"},{"entity":"w%d","severity":"Low","message":"%d"}]`, w, i, w, i)
				resp, err := client.Post(p.URL+"v1/alerts", "application/json", strings.NewReader(body))
				if err != nil {
					continue // the server died: not acknowledged
				}
				var st stored
				err = json.NewDecoder(resp.Body).Decode(&st)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode == 200 {
					mu.Lock()
					acked = append(acked, st.IDs...)
					mu.Unlock()
				}
			}
		}()
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 400 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.Kill()
	cancel()
	wg.Wait()
	st, err := registry.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("reopening the file after SIGKILL: %v", err)
	}
	defer st.Close()
	page, err := st.List(context.Background(), backend.Query{Limit: backend.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]int{}
	for _, a := range page.Alerts {
		have[a.ID()]++
	}
	lost := 0
	for _, id := range acked {
		if have[id] != 1 {
			lost++
		}
	}
	t.Logf("FIGURES: kill: %d alerts acknowledged before SIGKILL, %d in the file after (%d stored but not answered), %d acknowledged missing or doubled", len(acked), len(page.Alerts), len(page.Alerts)-len(acked), lost)
	if lost > 0 {
		t.Fatalf("%d acknowledged alerts are missing or doubled after SIGKILL", lost)
	}
}

// idOf finds the "id" member of an alert as the server writes it
// (compact JSON, ids without escapes).
func idOf(data []byte) string {
	i := bytes.Index(data, []byte(`"id":"`))
	if i < 0 {
		return ""
	}
	rest := data[i+6:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
