package redisconf_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redisconf"
	"github.com/apt-detection/alertstore/registry"
)

// secret is the password of every DSN below: it must never appear in an
// error or a String().
const secret = "s3cr3t-Pa55"

func transportOf(scheme string) redisconf.Transport {
	switch scheme {
	case "rediss", "valkeys":
		return redisconf.TLS
	case "unix":
		return redisconf.Unix
	}
	return redisconf.TCP
}

// parse runs what a backend opener runs: the shared parameters, then ours.
func parse(t *testing.T, s string) (redisconf.Config, error) {
	t.Helper()
	d, err := registry.ParseDSN(s)
	if err != nil {
		return redisconf.Config{}, err
	}
	if _, err := d.Common(); err != nil {
		return redisconf.Config{}, err
	}
	return redisconf.Parse(d, transportOf(d.Scheme()))
}

func TestParse(t *testing.T) {
	dir := t.TempDir()
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dsn  string
		want redisconf.Config
		tls  bool
	}{
		{"host only", "redis://localhost",
			redisconf.Config{Network: "tcp", Addr: "localhost:6379", Host: "localhost", DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"host port db", "redis://10.0.0.5:6380/3",
			redisconf.Config{Network: "tcp", Addr: "10.0.0.5:6380", Host: "10.0.0.5", DB: 3, DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"slash only", "redis://h:1/",
			redisconf.Config{Network: "tcp", Addr: "h:1", Host: "h", DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"ipv6", "redis://[::1]:6379/0",
			redisconf.Config{Network: "tcp", Addr: "[::1]:6379", Host: "::1", DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"ipv6 default port", "valkey://[fe80::1]",
			redisconf.Config{Network: "tcp", Addr: "[fe80::1]:6379", Host: "fe80::1", DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"db param", "redis://h?db=15",
			redisconf.Config{Network: "tcp", Addr: "h:6379", Host: "h", DB: 15, DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"db max", "redis://h/10000",
			redisconf.Config{Network: "tcp", Addr: "h:6379", Host: "h", DB: 10000, DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"password only user info", "redis://:" + secret + "@h",
			redisconf.Config{Network: "tcp", Addr: "h:6379", Host: "h", Password: secret, DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"acl user info", "redis://alice:" + secret + "@h:7000/2",
			redisconf.Config{Network: "tcp", Addr: "h:7000", Host: "h", DB: 2, Username: "alice", Password: secret, DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"escaped password", "redis://alice:p%40ss%3Aw%2Fd@h",
			redisconf.Config{Network: "tcp", Addr: "h:6379", Host: "h", Username: "alice", Password: "p@ss:w/d", DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"params credentials", "redis://h?username=bob&password=" + secret,
			redisconf.Config{Network: "tcp", Addr: "h:6379", Host: "h", Username: "bob", Password: secret, DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"password file", "redis://h?password_file=" + passFile,
			redisconf.Config{Network: "tcp", Addr: "h:6379", Host: "h", Password: secret, DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"timeouts and pool", "redis://h?dial_timeout=250ms&read_timeout=2s&write_timeout=1500ms&pool_size=7",
			redisconf.Config{Network: "tcp", Addr: "h:6379", Host: "h", DialTimeout: 250 * time.Millisecond, ReadTimeout: 2 * time.Second, WriteTimeout: 1500 * time.Millisecond, PoolSize: 7}, false},
		{"shared params left to Common", "redis://h?prefix=tenant1:&max_alerts=50&timeout=1s",
			redisconf.Config{Network: "tcp", Addr: "h:6379", Host: "h", DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"unix", "unix:///run/redis/redis.sock",
			redisconf.Config{Network: "unix", Addr: "/run/redis/redis.sock", DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"unix db and password", "unix:///tmp/r.sock?db=4&password=" + secret,
			redisconf.Config{Network: "unix", Addr: "/tmp/r.sock", DB: 4, Password: secret, DialTimeout: redisconf.DefaultDialTimeout}, false},
		{"rediss", "rediss://h:6380",
			redisconf.Config{Network: "tcp", Addr: "h:6380", Host: "h", DialTimeout: redisconf.DefaultDialTimeout}, true},
		{"valkeys tls=true repeated", "valkeys://h?tls=true",
			redisconf.Config{Network: "tcp", Addr: "h:6379", Host: "h", DialTimeout: redisconf.DefaultDialTimeout}, true},
		{"tls on redis://", "redis://h?tls=1&tls_server_name=cache.internal",
			redisconf.Config{Network: "tcp", Addr: "h:6379", Host: "h", DialTimeout: redisconf.DefaultDialTimeout}, true},
		{"tls off explicitly", "redis://h?tls=false",
			redisconf.Config{Network: "tcp", Addr: "h:6379", Host: "h", DialTimeout: redisconf.DefaultDialTimeout}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(t, tt.dsn)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.dsn, err)
			}
			if (got.TLS != nil) != tt.tls {
				t.Fatalf("TLS = %v, want enabled=%v", got.TLS, tt.tls)
			}
			gotTLS := got.TLS
			got.TLS = nil
			if got != tt.want {
				t.Errorf("Parse(%q)\n got %#v\nwant %#v", tt.dsn, got, tt.want)
			}
			if got.Password != tt.want.Password {
				t.Errorf("password differs") // %#v above redacts it
			}
			if gotTLS != nil {
				if gotTLS.MinVersion != tls.VersionTLS12 {
					t.Errorf("MinVersion = %x, want TLS 1.2", gotTLS.MinVersion)
				}
				wantName := got.Host
				if strings.Contains(tt.dsn, "tls_server_name=") {
					wantName = "cache.internal"
				}
				if gotTLS.ServerName != wantName {
					t.Errorf("ServerName = %q, want %q", gotTLS.ServerName, wantName)
				}
			}
		})
	}
}

func TestParseTLSFiles(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestPKI(t, dir)
	dsn := fmt.Sprintf("rediss://cache:6380/1?tls_ca=%s&tls_cert=%s&tls_key=%s&tls_server_name=redis.example&tls_insecure_skip_verify=true", ca, cert, key)
	got, err := parse(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case got.TLS == nil:
		t.Fatal("TLS not enabled")
	case got.TLS.RootCAs == nil:
		t.Error("RootCAs not loaded from tls_ca")
	case len(got.TLS.Certificates) != 1:
		t.Errorf("client certificates = %d, want 1", len(got.TLS.Certificates))
	case got.TLS.ServerName != "redis.example":
		t.Errorf("ServerName = %q", got.TLS.ServerName)
	case !got.TLS.InsecureSkipVerify:
		t.Error("InsecureSkipVerify not set")
	}
	if s := got.String(); !strings.Contains(s, "tls=true") || !strings.Contains(s, "tls_insecure_skip_verify=true") {
		t.Errorf("String() = %q, want it to show TLS and the skipped verification", s)
	}
}

func TestParseRejects(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.pem")
	if err := os.WriteFile(huge, make([]byte, registry.MaxPEMFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dsn  string
		want string // a fragment of the error
	}{
		{"unknown param", "redis://:" + secret + "@h?dial_timout=1s", `"dial_timout"`},
		{"unknown params sorted", "redis://h?zzz=1&db=0&aaa=2&password=" + secret, `"aaa", "zzz"`},
		{"unknown param after a password counted, not named", "redis://h?password=" + secret + "&tail=1", "1 unknown parameter(s) for scheme redis (names not shown"},
		{"client library param", "redis://h?max_retries=3", `"max_retries"`},
		{"no host", "redis://:" + secret + "@/0", "no host"},
		{"bad port", "redis://h:99999", "port"},
		{"db path not a number", "redis://h/zero", "not a database number"},
		{"db path signed", "redis://h/+1", "not a database number"},
		{"db path too deep", "redis://h/1/2", "not a database number"},
		{"db too big", "redis://h/10001", "out of range"},
		{"db param negative", "redis://h?db=-1", "out of range"},
		{"db param not a number", "redis://h?db=one", "not a whole number"},
		{"db twice", "redis://h/1?db=2", "database given twice"},
		{"db param twice", "redis://h?db=1&db=2", "given 2 times"},
		{"password twice", "redis://:" + secret + "@h?password=" + secret, "password given twice"},
		{"password and file", "redis://h?password=" + secret + "&password_file=/x", "not both"},
		{"password file missing", "redis://h?password_file=" + missing, "reading password_file"},
		{"username twice", "redis://alice:" + secret + "@h?username=bob", "username given twice"},
		{"empty username", "redis://h?username=&password=" + secret, "username= is empty"},
		{"dial timeout bare number", "redis://h?dial_timeout=5", "not a duration"},
		{"read timeout negative", "redis://h?read_timeout=-1s", "out of range"},
		{"write timeout huge", "redis://h?write_timeout=1h", "out of range"},
		{"pool size zero", "redis://h?pool_size=0", "out of range"},
		{"pool size not a number", "redis://h?pool_size=ten", "not a whole number"},
		{"tls not a bool", "redis://h?tls=maybe", "not a boolean"},
		{"tls=false on rediss", "rediss://h?tls=false", "contradicts"},
		{"tls param without tls", "redis://h?tls_ca=/ca.pem", "TLS is off"},
		{"skip verify without tls", "redis://h?tls_insecure_skip_verify=true", "TLS is off"},
		{"cert without key", "rediss://h?tls_cert=/c.pem", "go together"},
		{"ca missing", "rediss://:" + secret + "@h?tls_ca=" + missing, "reading tls_ca"},
		{"ca garbage", "rediss://h?tls_ca=" + garbage, "no PEM certificate"},
		{"cert garbage", "rediss://h?tls_cert=" + garbage + "&tls_key=" + garbage, "loading tls_cert"},
		{"unix with host", "unix://host/tmp/r.sock", "no host"},
		{"unix without path", "unix://", "no socket path"},
		{"unix with tls", "unix:///tmp/r.sock?tls=true", "unix socket"},
		{"shared param bad", "redis://:" + secret + "@h?max_alerts=0", "max_alerts"},
		{"user without password", "redis://alice@h", "user name without a password"},
		{"password as user name", "redis://" + secret + "@h", "write :password@"},
		{"username param without password", "valkey://h?username=alice", "user name without a password"},
		{"empty password in user info", "redis://alice:@h", "password in the user info is empty"},
		{"empty password in user info no user", "redis://:@h", "password in the user info is empty"},
		{"at with nothing before it", "redis://@h", "neither user name nor password"},
		{"newline in user info password", "redis://:" + secret + "%0A@h", "line break or NUL"},
		{"empty password param", "redis://alice@h?password=", "password= is empty"},
		{"empty password file", "redis://h?password_file=" + empty, "holds no password"},
		{"password file is a directory", "redis://h?password_file=" + dir, "not a regular file"},
		{"ca too large", "rediss://h?tls_ca=" + huge, "larger than"},
		{"key too large", "rediss://h?tls_cert=" + garbage + "&tls_key=" + huge, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.dsn)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want an error containing %q", tt.dsn, tt.want)
			}
			if !errors.Is(err, backend.ErrInvalidConfig) {
				t.Errorf("error %q does not wrap ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the password: %q", err)
			}
		})
	}
}

// TestSecretNeverShown checks String and %v/%#v of a parsed Config.
func TestSecretNeverShown(t *testing.T) {
	for _, dsn := range []string{
		"redis://alice:" + secret + "@h/1",
		"valkey://h?password=" + secret,
		"unix:///tmp/r.sock?password=" + secret,
	} {
		c, err := parse(t, dsn)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows the password", s)
			}
			if !strings.Contains(s, "password=xxxxx") {
				t.Errorf("%q does not say a password is set", s)
			}
		}
	}
}

// writeTestPKI writes a self-signed CA and a client certificate signed by
// it, and returns the three PEM paths.
func writeTestPKI(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clientTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "alertstore"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, clientTmpl, caTmpl, &clientKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("client.pem", "CERTIFICATE", clientDER), write("client.key", "EC PRIVATE KEY", keyDER)
}

// TestPrivateFileWarnings: a password file or a TLS key that group or
// others may read is used, with one warning each naming the file; a CA or
// a certificate (public) gives none, and neither does mode 0600.
func TestPrivateFileWarnings(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestPKI(t, dir)
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := fmt.Sprintf("rediss://cache:6380/1?tls_ca=%s&tls_cert=%s&tls_key=%s&password_file=%s", ca, cert, key, pass)
	for _, c := range []struct {
		name  string
		modes map[string]os.FileMode
		warn  []string // the parameters warned about
	}{
		{"private", map[string]os.FileMode{pass: 0o600, key: 0o600, ca: 0o644, cert: 0o644}, nil},
		{"password-file-group", map[string]os.FileMode{pass: 0o640, key: 0o600}, []string{"password_file"}},
		{"key-others", map[string]os.FileMode{pass: 0o600, key: 0o604}, []string{"tls_key"}},
		{"both", map[string]os.FileMode{pass: 0o644, key: 0o644}, []string{"tls_key", "password_file"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for f, m := range c.modes {
				if err := os.Chmod(f, m); err != nil {
					t.Fatal(err)
				}
			}
			d, err := registry.ParseDSN(dsn)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Common(); err != nil {
				t.Fatal(err)
			}
			if _, err := redisconf.Parse(d, redisconf.TLS); err != nil {
				t.Fatal(err)
			}
			w := d.Warnings()
			if len(w) != len(c.warn) {
				t.Fatalf("warnings %q, want one for each of %q", w, c.warn)
			}
			for _, p := range c.warn {
				if !strings.Contains(strings.Join(w, "\n"), p+" ") {
					t.Errorf("no warning about %s in %q", p, w)
				}
			}
			if strings.Contains(strings.Join(w, "\n"), secret) {
				t.Errorf("a warning shows the password: %q", w)
			}
		})
	}
}
