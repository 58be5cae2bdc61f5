// Package server is `alertstore serve`: one process owns a store, and
// detectors, dashboards, other hosts and other alertstore commands reach
// it over HTTP. A Server is an http.Handler over a *backend.Store that
// answers the versioned JSON API (docs/http-api.md, served as OpenAPI 3 at
// /openapi.json), a live stream of new alerts (Server-Sent Events) that
// resumes without gap or repeat, health and readiness that report a
// degraded chain, Prometheus metrics, and the driver protocol the client
// backend (backends/remote) speaks, so that every command and Go program
// can share this one store. Run listens, with TLS and bearer tokens, and
// shuts down gracefully.
//
// Why a server at all: the embedded default store (a bolt file) is open in
// one process at a time; with the server, that process is the only one
// that opens it and everybody else goes through it.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/internal/wire"
)

// Options configure a Server. The zero value serves the store open to
// every caller (fine on loopback; Run refuses other addresses without TLS
// and tokens unless told), with the limits below.
type Options struct {
	// DSN is the store's DSN. The driver protocol opens it again with the
	// client's namespace parameters (prefix, max_alerts, ...); "" turns
	// the driver protocol off (answered 501). It is never printed
	// unredacted.
	DSN string
	// Tokens, if not nil and not empty, require a bearer token on every
	// route but the health checks, the OpenAPI document and the dashboard's
	// static files.
	Tokens *Tokens
	// Logger gets one record per request and the server's own events.
	// Default: slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds a JSON body (one alert or an array). Default
	// 32 MiB. An NDJSON body is streamed and has no total bound: each
	// line is bounded by the store's max_alert_bytes.
	MaxBodyBytes int64
	// BatchSize and FlushInterval: an NDJSON body is stored every
	// BatchSize lines or FlushInterval after the first unstored line,
	// whichever comes first. Defaults 100 and 200ms, as `put -`.
	BatchSize     int
	FlushInterval time.Duration
	// Keepalive is the interval of the stream's ": keepalive" comments.
	// Default 15s.
	Keepalive time.Duration
	// AnyNamespace lets driver-protocol clients open namespaces (prefix=)
	// other than the store's own: for a server that hosts several
	// namespaces, and for the conformance suite.
	AnyNamespace bool
	// Admin lets writers drop a namespace and set its cap through the
	// driver protocol. Off, those answer 403 and the client declares
	// neither drop nor namespace. (A writer may always clear, as the
	// Redis writer role keeps DEL of its own keys: docs/security.md.)
	Admin bool
	// Dashboard, if not nil, answers GET / and /ui/.
	Dashboard http.Handler
	// Metrics, if not nil, answers /metrics and counts the requests. Make
	// it with NewMetrics and give it to the store as its observer.
	Metrics *Metrics
}

// Server is the HTTP face of one store. Make it with New; it is an
// http.Handler. Close it after the http.Server has shut down.
type Server struct {
	store *backend.Store
	opts  Options
	log   *slog.Logger
	mux   *http.ServeMux
	pool  *pool

	// stopping is closed by Stop: streams end, NDJSON bodies store what
	// they read and answer.
	stopping chan struct{}
	stopOnce sync.Once
}

// New returns a Server over store. The Server does not own the store: the
// caller closes it after Close.
func New(store *backend.Store, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 32 << 20
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 200 * time.Millisecond
	}
	if opts.Keepalive <= 0 {
		opts.Keepalive = 15 * time.Second
	}
	s := &Server{store: store, opts: opts, log: opts.Logger, stopping: make(chan struct{})}
	s.pool = newPool(s)
	s.routes()
	return s
}

// route is one endpoint: the table the mux, the auth check, the OpenAPI
// test and the 405 answers share.
type route struct {
	method, path string
	role         Role
	h            http.HandlerFunc
}

func (s *Server) table() []route {
	r := []route{
		{"POST", "/v1/alerts", RoleWriter, s.postAlerts},
		{"PUT", "/v1/alerts", RoleWriter, s.postAlerts}, // curl -T - sends PUT
		{"GET", "/v1/alerts", RoleReader, s.listAlerts},
		{"GET", "/v1/alerts/{id}", RoleReader, s.getAlert},
		{"GET", "/v1/count", RoleReader, s.count},
		{"GET", "/v1/summary", RoleReader, s.summary},
		{"GET", "/v1/status", RoleReader, s.status},
		{"GET", "/v1/stream", RoleReader, s.stream},
		{"GET", "/healthz", RoleNone, s.healthz},
		{"GET", "/readyz", RoleNone, s.readyz},
		{"GET", "/openapi.json", RoleNone, s.openapi},
		{"GET", "/metrics", RoleReader, s.metrics},
	}
	return append(r, s.driverRoutes()...)
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	known := map[string][]string{}
	for _, rt := range s.table() {
		s.mux.Handle(rt.method+" "+rt.path, s.authorize(rt.role, rt.h))
		known[rt.path] = append(known[rt.path], rt.method)
	}
	dash := s.opts.Dashboard
	if dash == nil {
		dash = http.HandlerFunc(placeholderPage)
	}
	s.mux.Handle("GET /{$}", dash)
	s.mux.Handle("GET /ui/", dash)
	// Everything else: a JSON 404, or a JSON 405 naming the methods.
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		pattern := r.URL.Path
		if strings.HasPrefix(pattern, "/v1/alerts/") && strings.Count(pattern, "/") == 3 {
			pattern = "/v1/alerts/{id}"
		}
		if ms, ok := known[pattern]; ok {
			w.Header().Set("Allow", strings.Join(ms, ", "))
			writeError(w, http.StatusMethodNotAllowed, wire.CodeMethod, r.Method+" is not allowed on "+pattern+"; use "+strings.Join(ms, " or "))
			return
		}
		writeError(w, http.StatusNotFound, wire.CodeNotFound, "no such route: "+r.URL.Path+" (the API is listed at /openapi.json)")
	})
}

// ServeHTTP answers one request, logged and counted.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	took := time.Since(start)
	_, pattern := s.mux.Handler(r)
	if s.opts.Metrics != nil {
		s.opts.Metrics.request(pattern, rec.status, took)
	}
	// The path, never the query's values nor any header: a token travels
	// in Authorization only, and is never logged.
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method), slog.String("route", pattern), slog.String("path", r.URL.Path),
		slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes), slog.Duration("took", took),
		slog.String("remote", r.RemoteAddr), slog.String("role", rec.role.String()))
}

// Stop ends the streams and makes NDJSON uploads store what they read and
// answer: call it when shutdown begins, before http.Server.Shutdown waits
// for the requests in flight.
func (s *Server) Stop() {
	s.stopOnce.Do(func() { close(s.stopping) })
}

// Close stops the server and closes the drivers the driver protocol
// opened. It does not close the store.
func (s *Server) Close() error {
	s.Stop()
	return s.pool.close()
}

// recorder remembers the status and size of a response for the log and
// the metrics, and passes Flush through for the streams.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
	role        Role
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// placeholderPage answers / until a dashboard is mounted.
func placeholderPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	_, _ = w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>alertstore</title>
<h1>alertstore serve</h1><p>The API is described at <a href="/openapi.json">/openapi.json</a>; alerts at <a href="/v1/alerts">/v1/alerts</a>.</p>`))
}

// ctxStopping is done when ctx is, or when the server stops.
func (s *Server) ctxStopping(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-s.stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

var errStopping = errors.New("the server is shutting down")
