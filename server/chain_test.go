package server

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	_ "github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/registry"
)

// TestDegradedChain: a chain whose first tier (a Redis nobody listens to)
// is down still takes writes in its lower tier; readyz is 200 and says
// degraded with the backlog, status shows the tiers (DSNs redacted), and
// the metrics show the chain's state.
func TestDegradedChain(t *testing.T) {
	upper := "redis://:chain-test-secret@127.0.0.1:1/0?dial_timeout=100ms"
	dsn := "chain://?tier_timeout=200ms&tier=" + url.QueryEscape(upper) + "&tier=" + url.QueryEscape("mem://degraded")
	goredis.DiscardClientLog()
	ctx := registry.WithLogger(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	st, err := registry.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := NewMetrics(st)
	st.SetObserver(m)
	s := New(st, Options{DSN: dsn, Metrics: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer s.Close()
	hs := httptest.NewServer(s)
	defer hs.Close()
	seed(t, hs, alertJSON("a", "High", "", ""), alertJSON("b", "Low", "", ""))

	a := do(t, "GET", hs.URL+"/readyz", "", "", nil)
	r := a.json(t)
	if a.status != 200 || r["ready"] != true || r["degraded"] != true || r["backlog"] != 2.0 {
		t.Fatalf("readyz of a degraded chain: %d %s", a.status, a.body)
	}
	a = do(t, "GET", hs.URL+"/v1/status", "", "", nil)
	if strings.Contains(string(a.body), "chain-test-secret") {
		t.Fatal("status shows the tier's password")
	}
	stat := a.json(t)
	c, _ := stat["chain"].(map[string]any)
	tiers, _ := c["tiers"].([]any)
	if stat["degraded"] != true || c == nil || len(tiers) != 2 || c["backlog"] != 2.0 || tiers[0].(map[string]any)["healthy"] != false {
		t.Fatalf("status of a degraded chain: %s", a.body)
	}
	a = do(t, "GET", hs.URL+"/metrics", "", "", nil)
	for _, want := range []string{"alertstore_chain_degraded 1", "alertstore_chain_backlog_entries 2", `alertstore_chain_tier_healthy{name="redis",tier="1"} 0`} {
		if !strings.Contains(string(a.body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
