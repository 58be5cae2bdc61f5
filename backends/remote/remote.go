package remote

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/internal/wire"
	"github.com/apt-detection/alertstore/registry"
)

// Schemes.
const (
	SchemeHTTP  = "alertstore+http"
	SchemeHTTPS = "alertstore+https"
)

// EnvToken is the variable the token is read from when the DSN has no
// token_file (token_env names another).
const EnvToken = "ALERTSTORE_TOKEN"

func init() {
	registry.Register(SchemeHTTP, open)
	registry.Register(SchemeHTTPS, open)
}

// maxAnswer bounds an answer the client reads (a scan of big entries).
const maxAnswer = 1 << 30

func open(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
	if dsn.Username() != "" {
		return nil, dsn.Errorf("%s takes no user info: give the token in token_file= or $%s", dsn.Scheme(), EnvToken)
	}
	if p := dsn.Path(); p != "" && p != "/" {
		return nil, dsn.Errorf("unexpected path %q: the DSN names the server only (%s://host:port)", p, dsn.Scheme())
	}
	host := dsn.Host()
	if host == "" {
		return nil, dsn.Errorf("no host: want %s://host:port", dsn.Scheme())
	}
	if _, port, err := net.SplitHostPort(host); err != nil || port == "" {
		return nil, dsn.Errorf("host %q: want host:port", host)
	}
	tokenFile, err := dsn.Param("token_file", "")
	if err != nil {
		return nil, err
	}
	tokenEnv, err := dsn.Param("token_env", EnvToken)
	if err != nil {
		return nil, err
	}
	caFile, err := dsn.Param("tls_ca", "")
	if err != nil {
		return nil, err
	}
	serverName, err := dsn.Param("tls_server_name", "")
	if err != nil {
		return nil, err
	}
	connectTimeout, err := dsn.Duration("connect_timeout", 5*time.Second, time.Millisecond, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	https := dsn.Scheme() == SchemeHTTPS
	if !https && (caFile != "" || serverName != "") {
		return nil, dsn.Errorf("tls_ca and tls_server_name need %s://", SchemeHTTPS)
	}
	// The namespace: the shared parameters the user gave, so that the
	// server fills in the others from its own DSN (its prefix, its cap).
	ns := url.Values{}
	for _, p := range wire.NamespaceParams {
		if dsn.Has(p) {
			ns.Set(p, registry.ConfigParams(cfg).Get(p))
		}
	}
	if dsn.Has("max_alerts") {
		ns.Set("max_alerts", strconv.Itoa(cfg.MaxAlerts))
	}
	if err := dsn.Unknown(); err != nil {
		return nil, err
	}
	// Files are read after every parameter is known good: a rejected DSN
	// touches nothing.
	token := ""
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, dsn.Errorf("token_file: %v", err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return nil, dsn.Errorf("token_file %s is empty", tokenFile)
		}
	} else if v := os.Getenv(tokenEnv); v != "" {
		token = strings.TrimSpace(v)
	}
	var tlsConf *tls.Config
	if https {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return nil, dsn.Errorf("tls_ca: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, dsn.Errorf("tls_ca %s holds no PEM certificate", caFile)
			}
			tlsConf.RootCAs = pool
		}
	}
	scheme := "http"
	if https {
		scheme = "https"
	}
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: connectTimeout,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   https,
	}
	d := &driver{
		base:  &url.URL{Scheme: scheme, Host: host},
		hc:    &http.Client{Transport: tr, CheckRedirect: noRedirect},
		tr:    tr,
		token: token,
		ns:    ns,
		name:  dsn.String(),
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	ictx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var info wire.Info
	if err := d.call(ictx, "GET", "/v1/driver/info", nil, nil, &info); err != nil {
		d.closeTransport()
		return nil, fmt.Errorf("%s: %w", d.name, err)
	}
	d.info = info
	return d.withCaps(info.Capabilities.Backend()), nil
}

// noRedirect: a redirect would carry the token elsewhere.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// driver is the client's backend.Driver. The optional interfaces are
// added by withCaps, so that the type implements exactly what it
// declares.
type driver struct {
	base   *url.URL
	hc     *http.Client
	tr     *http.Transport
	token  string
	ns     url.Values
	name   string // the DSN, redacted
	info   wire.Info
	closed atomic.Bool

	// ctx ends every watch at Close.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// String is the DSN, redacted.
func (d *driver) String() string { return d.name }

func (d *driver) closeTransport() { d.tr.CloseIdleConnections() }

// call sends one request of the driver protocol and decodes the answer
// into out (nil: discard).
func (d *driver) call(ctx context.Context, method, path string, extra url.Values, body any, out any) error {
	if d.closed.Load() {
		return backend.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	resp, err := d.do(ctx, method, path, extra, body)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }() // a read-only body: nothing to report
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(out); err != nil {
		return fmt.Errorf("%w: reading the server's answer to %s: %w", backend.ErrUnavailable, path, err)
	}
	return nil
}

// do sends a request and returns a 2xx response, or the error an error
// answer or a transport failure means.
func (d *driver) do(ctx context.Context, method, path string, extra url.Values, body any) (*http.Response, error) {
	q := url.Values{}
	for k, v := range d.ns {
		q[k] = v
	}
	for k, v := range extra {
		q[k] = v
	}
	u := *d.base
	u.Path = path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", backend.ErrInvalidConfig, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer func() { _ = resp.Body.Close() }() // a read-only body: nothing to report
	var eb wire.ErrorBody
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
		eb.Error = wire.ErrorInfo{Code: "http_" + strconv.Itoa(resp.StatusCode), Message: http.StatusText(resp.StatusCode) + " (not an alertstore server?)"}
	}
	return nil, wire.Err(resp.StatusCode, eb.Error)
}

// transportError classifies a request that got no answer: a certificate
// that does not verify is ErrSecurity, the rest ErrUnavailable (or the
// ctx's error when it ended the call).
func transportError(ctx context.Context, err error) error {
	var (
		unknownCA *x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		alert     tls.AlertError
	)
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verify), errors.As(err, &alert):
		return fmt.Errorf("%w: %w", backend.ErrSecurity, err)
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %w", backend.ErrUnavailable, ctx.Err())
	}
	return fmt.Errorf("%w: %w", backend.ErrUnavailable, err)
}

func (d *driver) Append(ctx context.Context, alerts [][]byte) error {
	body := wire.Entries{Entries: make([]wire.Entry, len(alerts))}
	for i, a := range alerts {
		body.Entries[i] = wire.Entry{Data: a}
	}
	return d.call(ctx, "POST", "/v1/driver/append", nil, body, nil)
}

func (d *driver) Scan(ctx context.Context, before int64, limit int) ([]backend.Entry, error) {
	var out wire.Entries
	q := url.Values{"before": {strconv.FormatInt(before, 10)}, "limit": {strconv.Itoa(limit)}}
	if err := d.call(ctx, "GET", "/v1/driver/scan", q, nil, &out); err != nil {
		return nil, err
	}
	entries := make([]backend.Entry, len(out.Entries))
	for i, e := range out.Entries {
		entries[i] = backend.Entry{Pos: e.Pos, Data: e.Data, TooLarge: e.TooLarge}
	}
	return entries, nil
}

func (d *driver) Count(ctx context.Context) (int64, error) {
	var out wire.Count
	err := d.call(ctx, "GET", "/v1/driver/count", nil, nil, &out)
	return out.Count, err
}

func (d *driver) Clear(ctx context.Context) error {
	return d.call(ctx, "POST", "/v1/driver/clear", nil, struct{}{}, nil)
}

func (d *driver) Ping(ctx context.Context) error {
	return d.call(ctx, "GET", "/v1/driver/ping", nil, nil, nil)
}

func (d *driver) Capabilities() backend.Capabilities { return d.info.Capabilities.Backend() }

// Namespaces implements backend.Namespacer: where the server's driver
// really writes.
func (d *driver) Namespaces() []backend.Namespace { return d.info.Namespaces }

// EffectiveConfig gives the Store the namespace the server opened: its
// prefix, cap and size bound when the DSN left them to the server.
func (d *driver) EffectiveConfig(cfg backend.Config) backend.Config {
	if d.info.Prefix != "" {
		cfg.Prefix = d.info.Prefix
	}
	if d.info.MaxAlerts > 0 {
		cfg.MaxAlerts = d.info.MaxAlerts
	}
	if d.info.MaxAlertBytes > 0 {
		cfg.MaxAlertBytes = d.info.MaxAlertBytes
	}
	return cfg
}

// Close ends the watches and releases the connections. A second Close
// reports ErrClosed.
func (d *driver) Close() error {
	if d.closed.Swap(true) {
		return backend.ErrClosed
	}
	d.cancel()
	d.wg.Wait()
	d.closeTransport()
	return nil
}

// The optional interfaces, each a field type that holds the driver (not
// embedding it, so that it promotes only its own methods).
type watchM struct{ d *driver }

func (m watchM) Watch(ctx context.Context) (backend.Subscription, error) { return m.d.watch(ctx) }

type dropM struct{ d *driver }

func (m dropM) Drop(ctx context.Context) error {
	return m.d.call(ctx, "POST", "/v1/driver/drop", nil, struct{}{}, nil)
}

type keeperM struct{ d *driver }

func (m keeperM) NamespaceInfo(ctx context.Context) (backend.NamespaceInfo, error) {
	var out wire.NamespaceInfo
	if err := m.d.call(ctx, "GET", "/v1/driver/namespace", nil, nil, &out); err != nil {
		return backend.NamespaceInfo{}, err
	}
	return backend.NamespaceInfo{Cap: out.Cap, Len: out.Len, Appended: out.Appended, Audit: out.Audit}, nil
}

func (m keeperM) SetCap(ctx context.Context, n int) error {
	return m.d.call(ctx, "POST", "/v1/driver/cap", nil, wire.SetCap{Cap: n}, nil)
}

// withCaps returns d as a type that implements exactly the optional
// interfaces c declares (backend.CheckCapabilities).
func (d *driver) withCaps(c backend.Capabilities) backend.Driver {
	w, dr, k := watchM{d}, dropM{d}, keeperM{d}
	switch {
	case c.Watch && c.Drop && c.Namespace:
		return &struct {
			*driver
			watchM
			dropM
			keeperM
		}{d, w, dr, k}
	case c.Watch && c.Drop:
		return &struct {
			*driver
			watchM
			dropM
		}{d, w, dr}
	case c.Watch && c.Namespace:
		return &struct {
			*driver
			watchM
			keeperM
		}{d, w, k}
	case c.Drop && c.Namespace:
		return &struct {
			*driver
			dropM
			keeperM
		}{d, dr, k}
	case c.Watch:
		return &struct {
			*driver
			watchM
		}{d, w}
	case c.Drop:
		return &struct {
			*driver
			dropM
		}{d, dr}
	case c.Namespace:
		return &struct {
			*driver
			keeperM
		}{d, k}
	}
	return d
}
