package goredis

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redisconf"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
)

const secret = "s3cr3t-Pa55"

// options parses dsn as the opener does and returns the go-redis options.
func options(t *testing.T, dsn string) *redis.Options {
	t.Helper()
	d, err := registry.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := d.Common()
	if err != nil {
		t.Fatal(err)
	}
	transport := map[string]redisconf.Transport{Scheme: redisconf.TCP, SchemeTLS: redisconf.TLS, SchemeUnix: redisconf.Unix}[d.Scheme()]
	rc, err := redisconf.Parse(d, transport)
	if err != nil {
		t.Fatal(err)
	}
	return clientOptions(rc, cfg)
}

func TestClientOptions(t *testing.T) {
	tests := []struct {
		dsn  string
		want redis.Options // only the fields compared below
		tls  bool
	}{
		{"redis://localhost", redis.Options{Network: "tcp", Addr: "localhost:6379", DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, PoolTimeout: 5 * time.Second}, false},
		{"redis://alice:" + secret + "@10.1.2.3:7000/4?timeout=2s", redis.Options{Network: "tcp", Addr: "10.1.2.3:7000", Username: "alice", Password: secret, DB: 4, DialTimeout: 5 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, PoolTimeout: 2 * time.Second}, false},
		{"redis://[::1]:6380?db=2&password=" + secret + "&dial_timeout=300ms&read_timeout=1s&write_timeout=700ms&pool_size=3", redis.Options{Network: "tcp", Addr: "[::1]:6380", Password: secret, DB: 2, DialTimeout: 300 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: 700 * time.Millisecond, PoolSize: 3, PoolTimeout: 5 * time.Second}, false},
		{"rediss://cache.example:6380/1", redis.Options{Network: "tcp", Addr: "cache.example:6380", DB: 1, DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, PoolTimeout: 5 * time.Second}, true},
		{"unix:///run/redis.sock?db=3", redis.Options{Network: "unix", Addr: "/run/redis.sock", DB: 3, DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, PoolTimeout: 5 * time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(registry.RedactDSN(tt.dsn), func(t *testing.T) {
			got := options(t, tt.dsn)
			w := tt.want
			for _, c := range []struct {
				field     string
				got, want any
			}{
				{"Network", got.Network, w.Network},
				{"Addr", got.Addr, w.Addr},
				{"Username", got.Username, w.Username},
				{"Password", got.Password == w.Password, true},
				{"DB", got.DB, w.DB},
				{"DialTimeout", got.DialTimeout, w.DialTimeout},
				{"ReadTimeout", got.ReadTimeout, w.ReadTimeout},
				{"WriteTimeout", got.WriteTimeout, w.WriteTimeout},
				{"PoolSize", got.PoolSize, w.PoolSize},
				{"PoolTimeout", got.PoolTimeout, w.PoolTimeout},
				{"TLSConfig set", got.TLSConfig != nil, tt.tls},
				// The guarantees, whatever the DSN.
				{"MaxRetries", got.MaxRetries, -1},
				{"ContextTimeoutEnabled", got.ContextTimeoutEnabled, true},
				{"DialerRetries", got.DialerRetries, 1},
				{"ClientName", got.ClientName, ClientName},
				{"MaintNotifications", got.MaintNotificationsConfig.Mode, maintnotifications.ModeDisabled},
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
	for _, s := range []string{Scheme, SchemeTLS, SchemeUnix, SchemeSentinel, SchemeCluster} {
		if !have[s] {
			t.Errorf("scheme %q not registered", s)
		}
	}
}

// TestOpenRejects: bad DSNs fail at Open with ErrInvalidConfig, naming the
// problem and never the password. The host does not exist: nothing is
// dialled before the DSN is accepted.
func TestOpenRejects(t *testing.T) {
	for _, tt := range []struct{ dsn, want string }{
		{"redis://:" + secret + "@nowhere.invalid/0?dial_timout=1s", `unknown parameter "dial_timout"`},
		{"redis://:" + secret + "@nowhere.invalid/0?max_retries=3", `unknown parameter "max_retries"`},
		{"rediss://:" + secret + "@nowhere.invalid?tls=false", "contradicts"},
		{"redis://nowhere.invalid/99999?password=" + secret, "out of range"},
		{"unix://nowhere.invalid/redis.sock?password=" + secret, "no host"},
		{"redis://:" + secret + "@nowhere.invalid?prefix=a*b", "prefix"},
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

// TestOpenClientRefusesRetries: a caller's client must not resend writes.
func TestOpenClientRefusesRetries(t *testing.T) {
	for _, tt := range []struct {
		opt redis.Options
		ok  bool
	}{
		{redis.Options{Addr: "localhost:1"}, false},                                             // retries by default
		{redis.Options{Addr: "localhost:1", MaxRetries: -1}, false},                             // ignores deadlines
		{redis.Options{Addr: "localhost:1", MaxRetries: -1, ContextTimeoutEnabled: true}, true}, // as required
	} {
		c := redis.NewClient(&tt.opt)
		drv, err := OpenClient(c, backend.Config{})
		if tt.ok != (err == nil) {
			t.Errorf("OpenClient(MaxRetries %d, ContextTimeoutEnabled %v) = %v", tt.opt.MaxRetries, tt.opt.ContextTimeoutEnabled, err)
		}
		if err != nil && !errors.Is(err, backend.ErrInvalidConfig) {
			t.Errorf("error %v does not wrap ErrInvalidConfig", err)
		}
		if drv != nil {
			_ = drv.Close()
			if err := c.Ping(context.Background()).Err(); errors.Is(err, redis.ErrClosed) {
				t.Error("closing the driver closed the caller's client")
			}
		}
		_ = c.Close()
	}
}

func TestTranslate(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want error // nil: neither ErrUnavailable nor ErrClosed
	}{
		{redis.ErrClosed, backend.ErrClosed},
		{redis.ErrPoolTimeout, backend.ErrUnavailable},
		{context.DeadlineExceeded, backend.ErrUnavailable},
		{errors.New("dial tcp: connection refused"), backend.ErrUnavailable},
		{redisError("LOADING Redis is loading the dataset in memory"), backend.ErrUnavailable},
		{redisError("BUSY Redis is busy running a script"), backend.ErrUnavailable},
		{redisError("READONLY You can't write against a read only replica."), backend.ErrUnavailable},
		{redisError("OOM command not allowed when used memory > 'maxmemory'."), backend.ErrUnavailable},
		{redisError("WRONGTYPE Operation against a key holding the wrong kind of value"), nil},
		{redisError("NOAUTH Authentication required."), backend.ErrSecurity},
		{redisError("WRONGPASS invalid username-password pair"), backend.ErrSecurity},
		{redisError("NOPERM User w has no permissions to run the 'del' command"), backend.ErrSecurity},
		{fmt.Errorf("dial: %w", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), backend.ErrSecurity},
	} {
		got := translate(tt.err)
		switch {
		case tt.want != nil && !errors.Is(got, tt.want):
			t.Errorf("translate(%v) = %v, want %v", tt.err, got, tt.want)
		case errors.Is(tt.want, backend.ErrSecurity) && errors.Is(got, backend.ErrUnavailable):
			t.Errorf("translate(%v) = %v, want %v", tt.err, got, tt.want)
		case tt.want == nil && (errors.Is(got, backend.ErrUnavailable) || errors.Is(got, backend.ErrClosed)):
			t.Errorf("translate(%v) = %v, want a plain error", tt.err, got)
		}
	}
	if !errors.Is(translate(context.Canceled), context.Canceled) || errors.Is(translate(context.Canceled), backend.ErrUnavailable) {
		t.Error("a cancelled context must stay context.Canceled")
	}
	if translate(nil) != nil {
		t.Error("translate(nil) != nil")
	}
}

// redisError is a server error reply, as go-redis returns it.
type redisError string

func (e redisError) Error() string { return string(e) }
func (e redisError) RedisError()   {}

// TestDSNChecks: a bad DSN is refused before anything is dialled (the
// checks count connections to {addr}), and no message shows the password.
func TestDSNChecks(t *testing.T) {
	conformance.RunDSNChecks(t, conformance.DSNCase{
		DSN: "redis://alice:" + conformance.DSNSecret + "@{addr}/0?dial_timeout=500ms",
		Rejects: []conformance.DSNReject{
			{Name: "client-library-option", DSN: "redis://:" + conformance.DSNSecret + "@{addr}/0?max_retries=3", Says: `unknown parameter "max_retries"`},
			{Name: "tls-false-on-rediss", DSN: "rediss://:" + conformance.DSNSecret + "@{addr}?tls=false", Says: "contradicts"},
			{Name: "tls_ca-without-tls", DSN: "redis://{addr}?password=" + conformance.DSNSecret + "&tls_ca=/nonexistent/ca.pem", Says: "TLS is off"},
			{Name: "db-twice", DSN: "redis://{addr}/3?db=4&password=" + conformance.DSNSecret, Says: "database given twice"},
		},
	})
}
