package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/chain"
)

// Metrics is the Prometheus face of a server and its store. It is the
// store's backend.Observer (give it with Store.SetObserver), so the
// library's own hook feeds it: alerts stored, rejected, skipped and
// listed, and the latency of each backend operation. A chain's state,
// backlog and replay counters are read from the store at each scrape; the
// server adds its requests and stream subscribers. Each Metrics has its
// own registry, so that several servers in one process (tests) do not
// collide.
type Metrics struct {
	reg *prometheus.Registry

	stored, rejected, skipped, listed prometheus.Counter
	opSeconds                         *prometheus.HistogramVec
	opErrors                          *prometheus.CounterVec
	requests                          *prometheus.CounterVec
	requestSeconds                    *prometheus.HistogramVec
	subscribers                       prometheus.Gauge
	driverAppended                    prometheus.Counter
}

// NewMetrics makes the metrics of a server over store.
func NewMetrics(store *backend.Store) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "alertstore", Name: name, Help: help})
		m.reg.MustRegister(c)
		return c
	}
	m.stored = f("alerts_stored_total", "Alerts stored (acknowledged) by the store.")
	m.rejected = f("alerts_rejected_total", "Alerts refused as invalid (a refused batch counts all its alerts; none of them was stored).")
	m.skipped = f("entries_skipped_total", "Stored entries a read skipped as not alerts or over max_alert_bytes.")
	m.listed = f("alerts_listed_total", "Alerts returned by reads (list, summary, stream catch-up).")
	m.driverAppended = f("driver_entries_appended_total", "Entries appended through the driver protocol (alertstore+http clients).")
	m.opSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "alertstore", Name: "backend_op_duration_seconds",
		Help: "Latency of the store's backend operations.", Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}},
		[]string{"op", "result"})
	m.opErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "alertstore", Name: "backend_op_errors_total",
		Help: "Failed backend operations, by kind (unavailable, invalid, security, other)."}, []string{"op", "kind"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "alertstore", Name: "http_requests_total",
		Help: "HTTP requests answered, by route and status code."}, []string{"route", "code"})
	m.requestSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "alertstore", Name: "http_request_duration_seconds",
		Help: "HTTP request latency by route (streams count their whole life).", Buckets: prometheus.DefBuckets}, []string{"route"})
	m.subscribers = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "alertstore", Name: "stream_subscribers", Help: "Open event streams (/v1/stream and driver watches)."})
	m.reg.MustRegister(m.opSeconds, m.opErrors, m.requests, m.requestSeconds, m.subscribers,
		chainCollector{store: store}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// OnOp implements backend.Observer.
func (m *Metrics) OnOp(e backend.OpEvent) {
	result := "ok"
	if e.Err != nil {
		result = "error"
		kind := "other"
		switch {
		case errors.Is(e.Err, backend.ErrInvalidAlert), errors.Is(e.Err, backend.ErrInvalidQuery), errors.Is(e.Err, backend.ErrInvalidConfig):
			kind = "invalid"
		case errors.Is(e.Err, backend.ErrSecurity):
			kind = "security"
		case errors.Is(e.Err, backend.ErrUnavailable):
			kind = "unavailable"
		}
		m.opErrors.WithLabelValues(e.Op, kind).Inc()
	}
	m.opSeconds.WithLabelValues(e.Op, result).Observe(e.Took.Seconds())
	switch {
	case e.Op == "store" && e.Err == nil:
		m.stored.Add(float64(e.N))
	case e.Op == "store" && errors.Is(e.Err, backend.ErrInvalidAlert):
		m.rejected.Add(float64(e.N))
	case e.Op == "list" && e.Err == nil:
		m.listed.Add(float64(e.N))
	}
	m.skipped.Add(float64(e.Skipped))
}

// RejectedLines counts NDJSON lines refused before they reached the store.
func (m *Metrics) rejectedLines(n int) { m.rejected.Add(float64(n)) }

func (m *Metrics) request(route string, code int, took time.Duration) {
	if route == "" {
		route = "other"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.requestSeconds.WithLabelValues(route).Observe(took.Seconds())
}

// Handler is the /metrics handler (Prometheus text format).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.opts.Metrics == nil {
		writeError(w, http.StatusNotImplemented, "unsupported", "this server has no metrics")
		return
	}
	s.opts.Metrics.Handler().ServeHTTP(w, r)
}

// chainCollector reads a chain's status at each scrape; for other
// backends it reports nothing.
type chainCollector struct{ store *backend.Store }

var (
	chainDegraded   = prometheus.NewDesc("alertstore_chain_degraded", "1 while the chain's first tier does not take the writes.", nil, nil)
	chainBacklog    = prometheus.NewDesc("alertstore_chain_backlog_entries", "Entries waiting in lower tiers to be replayed.", nil, nil)
	chainReplaying  = prometheus.NewDesc("alertstore_chain_replaying", "1 while a replay moves entries up.", nil, nil)
	chainReplayed   = prometheus.NewDesc("alertstore_chain_replayed_total", "Entries replayed into a higher tier.", nil, nil)
	chainFallbacks  = prometheus.NewDesc("alertstore_chain_fallbacks_total", "Times a tier went down and calls fell back.", nil, nil)
	chainDedup      = prometheus.NewDesc("alertstore_chain_deduplicated_total", "Backlog entries not replayed because the higher tier held their id.", nil, nil)
	chainDropped    = prometheus.NewDesc("alertstore_chain_dropped_for_cap_total", "Backlog entries dropped at replay because newer alerts filled the cap.", nil, nil)
	chainTierHealth = prometheus.NewDesc("alertstore_chain_tier_healthy", "1 while the tier answers.", []string{"tier", "name"}, nil)
)

func (c chainCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{chainDegraded, chainBacklog, chainReplaying, chainReplayed, chainFallbacks, chainDedup, chainDropped, chainTierHealth} {
		ch <- d
	}
}

func (c chainCollector) Collect(ch chan<- prometheus.Metric) {
	st, ok := chain.StatusOf(c.store)
	if !ok {
		return
	}
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	degraded := len(st.Tiers) > 0 && st.Active != st.Tiers[0].Name
	ch <- prometheus.MustNewConstMetric(chainDegraded, prometheus.GaugeValue, b(degraded))
	ch <- prometheus.MustNewConstMetric(chainBacklog, prometheus.GaugeValue, float64(st.Backlog))
	ch <- prometheus.MustNewConstMetric(chainReplaying, prometheus.GaugeValue, b(st.Replaying))
	ch <- prometheus.MustNewConstMetric(chainReplayed, prometheus.CounterValue, float64(st.Replayed))
	ch <- prometheus.MustNewConstMetric(chainFallbacks, prometheus.CounterValue, float64(st.Fallbacks))
	ch <- prometheus.MustNewConstMetric(chainDedup, prometheus.CounterValue, float64(st.Deduplicated))
	ch <- prometheus.MustNewConstMetric(chainDropped, prometheus.CounterValue, float64(st.DroppedForCap))
	for i, t := range st.Tiers {
		ch <- prometheus.MustNewConstMetric(chainTierHealth, prometheus.GaugeValue, b(t.Healthy && t.Opened), strconv.Itoa(i+1), t.Name)
	}
}
