package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/internal/wire"
	"github.com/apt-detection/alertstore/registry"
)

// The driver protocol (/v1/driver/...) is backend.Driver over HTTP, for
// the client backend (backends/remote): the client's Store validates and
// decodes, the server's driver stores, exactly as with a driver in
// process, so the client passes the same conformance suite. Each request
// names its namespace with the shared DSN parameters (wire.NamespaceParams);
// the server opens its own DSN with them (registry.WithParams), keeps the
// driver while it is used, and closes it when idle. Only the store's own
// prefix is served unless Options.AnyNamespace; clear, drop and cap need
// Options.Admin.

// Bounds of the driver pool.
const (
	maxPoolDrivers = 512
	poolIdle       = 2 * time.Minute
	maxScanLimit   = 100_000
	maxAppendBody  = 256 << 20
)

// errNoDriverAPI answers when the server has no DSN to open.
var errNoDriverAPI = fmt.Errorf("%w: this server does not serve the driver protocol (it was given a store, not a DSN)", backend.ErrUnsupported)

type pooled struct {
	drv      backend.Driver
	refs     int
	lastUsed time.Time
	prefix   string
	cfg      backend.Config
}

type pool struct {
	s       *Server
	mu      sync.Mutex
	drivers map[string]*pooled
	closed  bool
	stop    chan struct{}
	done    chan struct{}
}

func newPool(s *Server) *pool {
	p := &pool{s: s, drivers: map[string]*pooled{}, stop: make(chan struct{}), done: make(chan struct{})}
	go p.janitor()
	return p
}

// janitor closes drivers nobody used for poolIdle.
func (p *pool) janitor() {
	defer close(p.done)
	t := time.NewTicker(poolIdle / 4)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.mu.Lock()
			for k, d := range p.drivers {
				if d.refs == 0 && now.Sub(d.lastUsed) > poolIdle {
					delete(p.drivers, k)
					_ = d.drv.Close()
				}
			}
			p.mu.Unlock()
		}
	}
}

func (p *pool) close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.stop)
	var errs []error
	for k, d := range p.drivers {
		delete(p.drivers, k)
		if err := d.drv.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	p.mu.Unlock()
	<-p.done
	return errors.Join(errs...)
}

// namespaceParams reads the namespace parameters of a request, refusing
// unknown ones and a prefix the server does not serve.
func (p *pool) namespaceParams(q url.Values, extra ...string) (url.Values, error) {
	allowed := map[string]bool{}
	for _, k := range append(append([]string{}, wire.NamespaceParams...), extra...) {
		allowed[k] = true
	}
	ns := url.Values{}
	for k, v := range q {
		if !allowed[k] {
			return nil, fmt.Errorf("%w: unknown parameter %q", backend.ErrInvalidConfig, k)
		}
		if len(v) != 1 {
			return nil, fmt.Errorf("%w: parameter %q given %d times", backend.ErrInvalidConfig, k, len(v))
		}
		isNS := false
		for _, n := range wire.NamespaceParams {
			isNS = isNS || n == k
		}
		if isNS {
			ns[k] = v
		}
	}
	own := p.s.store.Config().Prefix
	if pre := ns.Get("prefix"); pre != "" && pre != own && !p.s.opts.AnyNamespace {
		return nil, &denied{msg: fmt.Sprintf("this server serves the namespace %q only (prefix=%q asked; start it with --any-namespace to serve others)", own, pre)}
	}
	if ns.Get("prefix") == "" {
		ns.Set("prefix", own)
	}
	if !p.s.opts.AnyNamespace {
		// The server's own namespace: a client may ask for less than the
		// server keeps, never more (a writer must not grow the server's
		// disk or memory beyond what its operator chose).
		cfg := p.s.store.Config()
		for _, b := range []struct {
			name string
			max  int
		}{{"max_alerts", cfg.MaxAlerts}, {"max_alert_bytes", cfg.MaxAlertBytes}} {
			if v := ns.Get(b.name); v != "" {
				if n, err := strconv.Atoi(v); err != nil || n > b.max {
					return nil, &denied{msg: fmt.Sprintf("%s=%s is over this server's %d (start it with --any-namespace to let clients choose)", b.name, v, b.max)}
				}
			}
		}
	}
	return ns, nil
}

type denied struct{ msg string }

func (d *denied) Error() string { return d.msg }

// acquire returns the driver of the namespace ns, opening it if needed;
// release it with p.release.
func (p *pool) acquire(ctx context.Context, ns url.Values) (*pooled, string, error) {
	if p.s.opts.DSN == "" {
		return nil, "", errNoDriverAPI
	}
	key := ns.Encode()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, "", fmt.Errorf("%w: %w", backend.ErrClosed, errStopping)
	}
	if d, ok := p.drivers[key]; ok {
		d.refs++
		d.lastUsed = time.Now()
		p.mu.Unlock()
		return d, key, nil
	}
	if len(p.drivers) >= maxPoolDrivers {
		p.mu.Unlock()
		return nil, "", fmt.Errorf("%w: the server has %d namespaces open; try again when some are idle", backend.ErrUnavailable, maxPoolDrivers)
	}
	p.mu.Unlock()
	dsn, err := registry.WithParams(p.s.opts.DSN, ns)
	if err != nil {
		return nil, "", err
	}
	ctx = registry.WithLogger(ctx, p.s.log)
	drv, err := registry.OpenDriver(ctx, dsn)
	if err != nil {
		return nil, "", err
	}
	d := &pooled{drv: drv, refs: 1, lastUsed: time.Now(), prefix: ns.Get("prefix")}
	if dd, err := registry.ParseDSN(dsn); err == nil {
		if cfg, err := dd.Common(); err == nil {
			d.cfg = cfg
		}
	}
	if ec, ok := drv.(interface {
		EffectiveConfig(backend.Config) backend.Config
	}); ok {
		d.cfg = ec.EffectiveConfig(d.cfg)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = drv.Close()
		return nil, "", fmt.Errorf("%w: %w", backend.ErrClosed, errStopping)
	}
	if other, ok := p.drivers[key]; ok { // opened meanwhile by another request
		_ = drv.Close()
		other.refs++
		return other, key, nil
	}
	p.drivers[key] = d
	return d, key, nil
}

func (p *pool) release(d *pooled) {
	p.mu.Lock()
	d.refs--
	d.lastUsed = time.Now()
	p.mu.Unlock()
}

// driverRoutes are the driver protocol's routes.
func (s *Server) driverRoutes() []route {
	either := RoleReader | RoleWriter
	return []route{
		{"GET", "/v1/driver/info", either, s.driverCall(false, s.dInfo)},
		{"GET", "/v1/driver/ping", either, s.driverCall(false, s.dPing)},
		{"POST", "/v1/driver/append", RoleWriter, s.driverCall(false, s.dAppend)},
		{"GET", "/v1/driver/scan", RoleReader, s.driverCall(false, s.dScan, "before", "limit")},
		{"GET", "/v1/driver/count", RoleReader, s.driverCall(false, s.dCount)},
		{"GET", "/v1/driver/watch", RoleReader, s.driverCall(false, s.dWatch)},
		{"GET", "/v1/driver/namespace", RoleReader, s.driverCall(false, s.dNamespaceInfo)},
		{"POST", "/v1/driver/clear", RoleWriter, s.driverCall(false, s.dClear)},
		{"POST", "/v1/driver/drop", RoleWriter, s.driverCall(true, s.dDrop)},
		{"POST", "/v1/driver/cap", RoleWriter, s.driverCall(true, s.dSetCap)},
	}
}

type driverHandler func(w http.ResponseWriter, r *http.Request, ctx context.Context, d *pooled)

// driverCall wraps a driver route: namespace parameters, the admin check,
// the pooled driver, and the call's deadline (the namespace's timeout).
func (s *Server) driverCall(admin bool, h driverHandler, extra ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if admin && !s.opts.Admin {
			writeError(w, http.StatusForbidden, wire.CodeForbidden, "drop and cap through the server are off; start it with --admin, or run the command on the server's host")
			return
		}
		ns, err := s.pool.namespaceParams(r.URL.Query(), extra...)
		if err != nil {
			var dn *denied
			if errors.As(err, &dn) {
				writeError(w, http.StatusForbidden, wire.CodeNamespaceDenied, dn.msg)
				return
			}
			writeStoreError(w, err)
			return
		}
		d, _, err := s.pool.acquire(r.Context(), ns)
		if err != nil {
			writeStoreError(w, err)
			return
		}
		defer s.pool.release(d)
		ctx := r.Context()
		if r.URL.Path != "/v1/driver/watch" {
			timeout := d.cfg.Timeout
			if timeout <= 0 {
				timeout = backend.DefaultTimeout
			}
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		h(w, r, ctx, d)
	}
}

// exposed is what the client may declare: the served driver's
// capabilities less drain (not served), and drop and namespace only with
// Admin (their writes are admin routes).
func (s *Server) exposed(c backend.Capabilities) backend.Capabilities {
	c.Drain = false
	if !s.opts.Admin {
		c.Drop, c.Namespace = false, false
	}
	return c
}

func capsJSON(c backend.Capabilities) wire.Capabilities { return wire.CapsOf(c) }

func (s *Server) dInfo(w http.ResponseWriter, r *http.Request, ctx context.Context, d *pooled) {
	caps := d.drv.Capabilities()
	if !caps.Shared {
		// The client's driver would not reach the store the server
		// serves (an unnamed mem://): refuse rather than serve a private
		// copy.
		writeError(w, http.StatusNotImplemented, wire.CodeUnsupported, "the served backend is not shared (an unnamed mem:// store?): a client would not see the server's alerts; give the store a name (mem://name)")
		return
	}
	writeJSON(w, http.StatusOK, wire.Info{Backend: s.store.Backend(), Capabilities: wire.CapsOf(s.exposed(caps)),
		Prefix: d.prefix, MaxAlerts: d.cfg.MaxAlerts, MaxAlertBytes: d.cfg.MaxAlertBytes, Namespaces: backend.NamespacesOf(d.drv, d.prefix)})
}

func (s *Server) dPing(w http.ResponseWriter, r *http.Request, ctx context.Context, d *pooled) {
	if err := d.drv.Ping(ctx); err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) dAppend(w http.ResponseWriter, r *http.Request, ctx context.Context, d *pooled) {
	var body wire.Entries
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAppendBody))
	if err := dec.Decode(&body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, wire.CodeBodyTooLarge, "append body over the limit; send smaller batches")
			return
		}
		writeError(w, http.StatusBadRequest, wire.CodeBadRequest, "append body: "+err.Error())
		return
	}
	entries := make([][]byte, len(body.Entries))
	for i, e := range body.Entries {
		entries[i] = e.Data
	}
	if len(entries) == 0 {
		writeJSON(w, http.StatusOK, map[string]int{"appended": 0})
		return
	}
	if err := d.drv.Append(ctx, entries); err != nil {
		writeStoreError(w, err)
		return
	}
	if m := s.opts.Metrics; m != nil {
		m.driverAppended.Add(float64(len(entries)))
	}
	writeJSON(w, http.StatusOK, map[string]int{"appended": len(entries)})
}

func (s *Server) dScan(w http.ResponseWriter, r *http.Request, ctx context.Context, d *pooled) {
	q := r.URL.Query()
	before, err := strconv.ParseInt(q.Get("before"), 10, 64)
	if q.Get("before") == "" {
		before, err = 0, nil
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, wire.CodeInvalidQuery, "before: want an integer position")
		return
	}
	limit, err := intParam(q, "limit", 100, 1, maxScanLimit)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	entries, err := d.drv.Scan(ctx, before, limit)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	out := wire.Entries{Entries: make([]wire.Entry, len(entries))}
	for i, e := range entries {
		out.Entries[i] = wire.Entry{Pos: e.Pos, Data: e.Data, TooLarge: e.TooLarge}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) dCount(w http.ResponseWriter, r *http.Request, ctx context.Context, d *pooled) {
	n, err := d.drv.Count(ctx)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.Count{Count: n})
}

func (s *Server) dClear(w http.ResponseWriter, r *http.Request, ctx context.Context, d *pooled) {
	if err := d.drv.Clear(ctx); err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) dDrop(w http.ResponseWriter, r *http.Request, ctx context.Context, d *pooled) {
	dr, ok := backend.DropperOf(d.drv)
	if !ok {
		writeStoreError(w, fmt.Errorf("%w: the served backend does not declare drop", backend.ErrUnsupported))
		return
	}
	if err := dr.Drop(ctx); err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) dNamespaceInfo(w http.ResponseWriter, r *http.Request, ctx context.Context, d *pooled) {
	k, ok := backend.NamespaceKeeperOf(d.drv)
	if !ok || !s.opts.Admin {
		writeStoreError(w, fmt.Errorf("%w: the served backend does not declare namespace, or the server is not --admin", backend.ErrUnsupported))
		return
	}
	info, err := k.NamespaceInfo(ctx)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	audit := info.Audit
	if audit == nil {
		audit = []backend.AuditRecord{}
	}
	writeJSON(w, http.StatusOK, wire.NamespaceInfo{Cap: info.Cap, Len: info.Len, Appended: info.Appended, Audit: audit})
}

func (s *Server) dSetCap(w http.ResponseWriter, r *http.Request, ctx context.Context, d *pooled) {
	k, ok := backend.NamespaceKeeperOf(d.drv)
	if !ok {
		writeStoreError(w, fmt.Errorf("%w: the served backend does not declare namespace", backend.ErrUnsupported))
		return
	}
	var body wire.SetCap
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, wire.CodeBadRequest, "cap body: "+err.Error())
		return
	}
	if err := k.SetCap(ctx, body.Cap); err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// dWatch streams the namespace's appended entries: "ready" once
// subscribed, then "entry" events, "lagged" when the subscription fell
// behind (the stream goes on), "error" before it ends on an error.
func (s *Server) dWatch(w http.ResponseWriter, r *http.Request, ctx context.Context, d *pooled) {
	wa, ok := backend.WatcherOf(d.drv)
	if !ok {
		writeStoreError(w, fmt.Errorf("%w: the served backend does not declare watch", backend.ErrUnsupported))
		return
	}
	ctx, cancel := s.ctxStopping(ctx)
	defer cancel()
	sub, err := wa.Watch(ctx)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	defer func() { _ = sub.Close() }()
	out, err := startSSE(w)
	if err != nil {
		return
	}
	if m := s.opts.Metrics; m != nil {
		m.subscribers.Inc()
		defer m.subscribers.Dec()
	}
	_ = out.event(wire.EventReady, "", []byte("{}"))
	if out.flush() != nil {
		return
	}
	type next struct {
		e   backend.Entry
		err error
	}
	ch := make(chan next, 256)
	go func() {
		defer close(ch)
		for {
			e, err := sub.Next(ctx)
			select {
			case ch <- next{e, err}:
			case <-ctx.Done():
				return
			}
			if err != nil && !errors.Is(err, backend.ErrLagged) {
				return
			}
		}
	}()
	keep := time.NewTicker(s.opts.Keepalive)
	defer keep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-keep.C:
			out.comment("keepalive")
		case n, ok := <-ch:
			if !ok {
				return
			}
			switch {
			case errors.Is(n.err, backend.ErrLagged):
				_ = out.event(wire.EventLagged, "", []byte("{}"))
			case n.err != nil:
				if ctx.Err() == nil {
					s.endStream(out, n.err)
				}
				return
			default:
				b, _ := json.Marshal(wire.Entry{Pos: n.e.Pos, Data: n.e.Data})
				_ = out.event(wire.EventEntry, strconv.FormatInt(n.e.Pos, 10), b)
			}
			if len(ch) > 0 {
				continue // flush once the backlog is sent
			}
		}
		if out.flush() != nil {
			return
		}
	}
}
