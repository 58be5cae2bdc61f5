package valkeygo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redisconf"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
)

const secret = "s3cr3t-Pa55"

// option parses dsn as the opener does and returns the valkey-go options.
func option(t *testing.T, dsn string) valkey.ClientOption {
	t.Helper()
	d, err := registry.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := d.Common()
	if err != nil {
		t.Fatal(err)
	}
	transport := redisconf.TCP
	if d.Scheme() == SchemeTLS {
		transport = redisconf.TLS
	}
	rc, err := redisconf.Parse(d, transport)
	if err != nil {
		t.Fatal(err)
	}
	return clientOption(rc, cfg)
}

func TestClientOption(t *testing.T) {
	type want struct {
		addr, user, pass string
		db               int
		dial, rw         time.Duration
		pool             int
		tls              bool
	}
	for _, tt := range []struct {
		dsn  string
		want want
	}{
		{"valkey://localhost", want{addr: "localhost:6379", dial: 5 * time.Second, rw: 5 * time.Second}},
		{"valkey://bob:" + secret + "@10.1.2.3:7000/4?timeout=2s", want{addr: "10.1.2.3:7000", user: "bob", pass: secret, db: 4, dial: 5 * time.Second, rw: 2 * time.Second}},
		{"valkey://[::1]:6380?db=2&password=" + secret + "&dial_timeout=300ms&read_timeout=1s&write_timeout=3s&pool_size=3", want{addr: "[::1]:6380", pass: secret, db: 2, dial: 300 * time.Millisecond, rw: 3 * time.Second, pool: 3}},
		{"valkey://h?read_timeout=4s", want{addr: "h:6379", dial: 5 * time.Second, rw: 4 * time.Second}},
		{"valkeys://cache.example:6380/1", want{addr: "cache.example:6380", db: 1, dial: 5 * time.Second, rw: 5 * time.Second, tls: true}},
	} {
		t.Run(registry.RedactDSN(tt.dsn), func(t *testing.T) {
			got := option(t, tt.dsn)
			w := tt.want
			for _, c := range []struct {
				field     string
				got, want any
			}{
				{"InitAddress", strings.Join(got.InitAddress, ","), w.addr},
				{"Username", got.Username, w.user},
				{"Password", got.Password == w.pass, true},
				{"SelectDB", got.SelectDB, w.db},
				{"Dialer.Timeout", got.Dialer.Timeout, w.dial},
				{"ConnWriteTimeout", got.ConnWriteTimeout, w.rw},
				{"BlockingPoolSize", got.BlockingPoolSize, w.pool},
				{"TLSConfig set", got.TLSConfig != nil, w.tls},
				// The guarantees, whatever the DSN.
				{"DisableRetry", got.DisableRetry, true},
				{"DisableCache", got.DisableCache, true},
				{"ForceSingleClient", got.ForceSingleClient, true},
				{"ClientName", got.ClientName, ClientName},
			} {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
				}
			}
		})
	}
}

func TestSchemesRegistered(t *testing.T) {
	have := map[string]bool{}
	for _, s := range registry.Schemes() {
		have[s] = true
	}
	for _, s := range []string{Scheme, SchemeTLS, SchemeSentinel, SchemeCluster} {
		if !have[s] {
			t.Errorf("scheme %q not registered", s)
		}
	}
}

// TestOpenRejects: bad DSNs fail at Open with ErrInvalidConfig, naming the
// problem and never the password, before any I/O (the host does not
// exist).
func TestOpenRejects(t *testing.T) {
	for _, tt := range []struct{ dsn, want string }{
		{"valkey://:" + secret + "@nowhere.invalid/0?dial_timout=1s", `unknown parameter "dial_timout"`},
		{"valkey://:" + secret + "@nowhere.invalid/0?select_db=1", `unknown parameter "select_db"`},
		{"valkeys://:" + secret + "@nowhere.invalid?tls=false", "contradicts"},
		{"valkey://nowhere.invalid/1?db=2&password=" + secret, "database given twice"},
		{"valkey://:" + secret + "@nowhere.invalid?pool_size=-1", "out of range"},
	} {
		start := time.Now()
		_, err := registry.Open(context.Background(), tt.dsn)
		if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%s) = %v, want ErrInvalidConfig with %q", registry.RedactDSN(tt.dsn), err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks the password: %v", err)
		}
		if time.Since(start) > 100*time.Millisecond {
			t.Errorf("Open(%s) took %v: it must fail before any I/O", registry.RedactDSN(tt.dsn), time.Since(start))
		}
	}
}

func TestTranslate(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want error // nil: neither ErrUnavailable nor ErrClosed
	}{
		{backend.ErrClosed, backend.ErrClosed},
		{valkey.ErrClosing, backend.ErrUnavailable},
		{context.DeadlineExceeded, backend.ErrUnavailable},
		{errors.New("dial tcp: connection refused"), backend.ErrUnavailable},
		{fmt.Errorf("dial: %w", &tls.CertificateVerificationError{Err: x509.HostnameError{}}), backend.ErrSecurity},
	} {
		got := translate(tt.err)
		if !errors.Is(got, tt.want) {
			t.Errorf("translate(%v) = %v, want %v", tt.err, got, tt.want)
		}
		if errors.Is(tt.want, backend.ErrSecurity) && errors.Is(got, backend.ErrUnavailable) {
			t.Errorf("translate(%v) = %v: a security failure must not wrap ErrUnavailable", tt.err, got)
		}
	}
	if !errors.Is(translate(context.Canceled), context.Canceled) || errors.Is(translate(context.Canceled), backend.ErrUnavailable) {
		t.Error("a cancelled context must stay context.Canceled")
	}
	if translate(nil) != nil {
		t.Error("translate(nil) != nil")
	}
}

// TestDSNChecks: a bad DSN is refused before anything is dialled (the
// checks count connections to {addr}), and no message shows the password.
func TestDSNChecks(t *testing.T) {
	conformance.RunDSNChecks(t, conformance.DSNCase{
		DSN: "valkey://alice:" + conformance.DSNSecret + "@{addr}/0?dial_timeout=500ms",
		Rejects: []conformance.DSNReject{
			{Name: "client-library-option", DSN: "valkey://:" + conformance.DSNSecret + "@{addr}/0?select_db=1", Says: `unknown parameter "select_db"`},
			{Name: "tls-false-on-valkeys", DSN: "valkeys://:" + conformance.DSNSecret + "@{addr}?tls=false", Says: "contradicts"},
			{Name: "db-twice", DSN: "valkey://{addr}/1?db=2&password=" + conformance.DSNSecret, Says: "database given twice"},
			{Name: "pool_size-negative", DSN: "valkey://:" + conformance.DSNSecret + "@{addr}?pool_size=-1", Says: "out of range"},
		},
	})
}
