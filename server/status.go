package server

import (
	"context"
	"net/http"
	"time"

	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/registry"
)

type tierAnswer struct {
	Name    string `json:"name"`
	DSN     string `json:"dsn"`
	Healthy bool   `json:"healthy"`
	Backlog int64  `json:"backlog"`
}

type chainAnswer struct {
	Tiers         []tierAnswer `json:"tiers"`
	Active        string       `json:"active"`
	Backlog       int64        `json:"backlog"`
	Replaying     bool         `json:"replaying"`
	DegradedSince string       `json:"degraded_since,omitempty"`
	Replayed      uint64       `json:"replayed"`
	Fallbacks     uint64       `json:"fallbacks"`
	DroppedForCap uint64       `json:"dropped_for_cap"`
}

type statusAnswer struct {
	Backend      string       `json:"backend"`
	Healthy      bool         `json:"healthy"`
	Error        string       `json:"error,omitempty"`
	Degraded     bool         `json:"degraded"`
	Count        int64        `json:"count"`
	MaxAlerts    int          `json:"max_alerts"`
	Prefix       string       `json:"prefix"`
	Capabilities any          `json:"capabilities"`
	Chain        *chainAnswer `json:"chain"`
}

// chainState is the chain's state when the store is a chain: degraded
// when its first tier does not take the writes.
func (s *Server) chainState() (*chainAnswer, bool) {
	st, ok := chain.StatusOf(s.store)
	if !ok {
		return nil, false
	}
	c := &chainAnswer{Active: st.Active, Backlog: st.Backlog, Replaying: st.Replaying, Replayed: st.Replayed, Fallbacks: st.Fallbacks, DroppedForCap: st.DroppedForCap, Tiers: []tierAnswer{}}
	if !st.DegradedSince.IsZero() {
		c.DegradedSince = st.DegradedSince.UTC().Format(time.RFC3339)
	}
	for _, t := range st.Tiers {
		c.Tiers = append(c.Tiers, tierAnswer{Name: t.Name, DSN: registry.RedactDSN(t.DSN), Healthy: t.Healthy && t.Opened, Backlog: t.Backlog})
	}
	degraded := len(st.Tiers) > 0 && st.Active != st.Tiers[0].Name
	return c, degraded
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	ans := statusAnswer{Backend: s.store.Backend(), MaxAlerts: s.store.Config().MaxAlerts, Prefix: s.store.Config().Prefix, Capabilities: capsJSON(s.store.Capabilities())}
	n, err := s.store.Count(r.Context())
	if err == nil {
		ans.Healthy, ans.Count = true, n
	} else {
		ans.Error = errMessage(err)
	}
	ans.Chain, ans.Degraded = s.chainState()
	writeJSON(w, http.StatusOK, ans)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// readyz: 200 when the store answers a ping, 503 otherwise; a degraded
// chain answers (its lower tier takes the writes), so it is ready, and
// says it is degraded.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	err := s.store.Ping(ctx)
	c, degraded := s.chainState()
	var backlog int64
	if c != nil {
		backlog = c.Backlog
	}
	body := map[string]any{"ready": err == nil, "degraded": degraded, "backlog": backlog}
	select {
	case <-s.stopping:
		body["ready"] = false
		err = errStopping
	default:
	}
	if err != nil {
		body["error"] = errMessage(err)
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}
