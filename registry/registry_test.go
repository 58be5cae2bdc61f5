package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	_ "github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/registry"
)

const secret = "s3cr3t-P@ss"

func TestOpenRejectsBadDSNs(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, dsn string
		want      []string // substrings of the error
	}{
		{"empty", " ", []string{"empty DSN", "ALERTSTORE_DSN"}},
		{"no-scheme", "localhost:6379", []string{"scheme"}},
		{"unknown-scheme", "postgres://u:" + secret + "@db/x", []string{`unknown scheme "postgres"`, "mem", "memory", "forgotten import?"}},
		{"unknown-param", "mem://?prefx=a:", []string{`unknown parameter "prefx"`}},
		{"unknown-params-sorted", "mem://?zz=1&prefix=a:&aa=2", []string{`"aa", "zz"`}},
		{"unknown-after-unknown-counted", "mem://?zz=1&aa=2", []string{`"zz"`, "and 1 more", "%26"}},
		{"max-alerts-zero", "mem://?max_alerts=0", []string{"max_alerts=0", "out of range"}},
		{"max-alerts-negative", "mem://?max_alerts=-5", []string{"max_alerts=-5"}},
		{"max-alerts-absurd", "mem://?max_alerts=100000000000", []string{"max_alerts"}},
		{"max-alerts-not-number", "mem://?max_alerts=lots", []string{`max_alerts="lots"`, "whole number"}},
		{"max-alerts-twice", "mem://?max_alerts=1&max_alerts=2", []string{"given 2 times"}},
		{"timeout-bare-number", "mem://?timeout=5", []string{"not a duration"}},
		{"timeout-zero", "mem://?timeout=0s", []string{"out of range"}},
		{"prefix-glob", "mem://?prefix=apt*", []string{"prefix", "apt*"}},
		{"prefix-space", "mem://?prefix=a%20b", []string{"prefix"}},
		{"prefix-newline", "mem://?prefix=a%0Ab", []string{"prefix"}},
		{"prefix-empty", "mem://?prefix=", []string{"prefix"}},
		{"prefix-too-long", "mem://?prefix=" + strings.Repeat("a", 129), []string{"prefix"}},
		{"max-alert-bytes-small", "mem://?max_alert_bytes=10", []string{"max_alert_bytes"}},
		{"client-name-space", "mem://?client_name=a%20b", []string{"client_name"}},
		{"client-name-escape", "mem://?client_name=a%1B%5B2J", []string{"client_name"}},
		{"client-name-empty", "mem://?client_name=", []string{"client_name"}},
		{"mem-path", "mem://name/path", []string{"unexpected path"}},
		{"mem-max-bytes", "mem://?max_bytes=1", []string{"max_bytes"}},
		{"password-in-userinfo", "mem://user:" + secret + "@name?bogus=1", []string{"xxxxx"}},
		{"password-param", "mem://?password=" + secret, []string{`unknown parameter "password"`}},
		{"malformed-url", "mem://user:" + secret + "@host:port:bad/%zz", []string{"malformed DSN"}},
		{"opaque", "mem:" + secret, []string{"two slashes"}},
		{"fragment", "mem://u:" + secret + "@h#frag", []string{"fragment"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := registry.Open(ctx, c.dsn)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", c.dsn)
			}
			if !errors.Is(err, backend.ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, "s3cr3t") {
				t.Errorf("error leaks the password: %q", msg)
			}
		})
	}
}

func TestOpenDefaults(t *testing.T) {
	s, err := registry.Open(context.Background(), "memory://")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := backend.Config{Prefix: "apt_detection:", MaxAlerts: 1000, MaxAlertBytes: 256 << 10, Timeout: 5 * time.Second, MaxAlertsDefault: true}
	if s.Config() != want || s.Backend() != "mem" {
		t.Fatalf("Config = %+v backend %q; want %+v mem", s.Config(), s.Backend(), want)
	}
	s2, err := registry.Open(context.Background(), "mem://x?prefix=tenant_a:{x}&max_alerts=1_000_000&max_alert_bytes=4096&timeout=750ms")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	want = backend.Config{Prefix: "tenant_a:{x}", MaxAlerts: 1000000, MaxAlertBytes: 4096, Timeout: 750 * time.Millisecond}
	if s2.Config() != want {
		t.Fatalf("Config = %+v; want %+v", s2.Config(), want)
	}
}

func TestOpenUsesEnvDSN(t *testing.T) {
	t.Setenv(registry.EnvDSN, "mem://?max_alerts=7")
	s, err := registry.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Config().MaxAlerts != 7 {
		t.Fatalf("MaxAlerts = %d, want 7 from $%s", s.Config().MaxAlerts, registry.EnvDSN)
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"redis://user:" + secret + "@h:6379/0":                    "redis://user:xxxxx@h:6379/0",
		"redis://h/0?password=" + secret + "&db=1":                "redis://h/0?db=1&password=xxxxx",
		"redis://h?password_file=/run/secret":                     "redis://h?password_file=%2Frun%2Fsecret",
		"redis+sentinel://h/m?sentinel_password=" + secret:        "redis+sentinel://h/m?sentinel_password=xxxxx",
		"chain://?tier=" + "redis%3A%2F%2Fu%3A" + secret + "%40h": "chain://?tier=redis%3A%2F%2Fu%3Axxxxx%40h",
		"mem://": "mem://",
		"redis://u:" + secret + "@h:bad:port/%zz": "redis://(not shown)",
	} {
		if got := registry.RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRegisterPanics(t *testing.T) {
	var r registry.Registry
	open := func(context.Context, *registry.DSN, backend.Config) (backend.Driver, error) { return nil, nil }
	r.Register("x", open)
	for name, f := range map[string]func(){
		"duplicate":  func() { r.Register("x", open) },
		"empty":      func() { r.Register("", open) },
		"upper":      func() { r.Register("X", open) },
		"nil":        func() { r.Register("y", nil) },
		"alias-miss": func() { r.RegisterAlias("z", "nope") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("did not panic")
				}
			}()
			f()
		})
	}
	if got := r.Schemes(); len(got) != 1 || got[0] != "x" {
		t.Fatalf("Schemes = %v", got)
	}
}

func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"mem://", "redis://u:p@h:1/2?db=3", "chain://?tier=mem%3A%2F%2F", "unix:///tmp/r.sock?db=1", "redis://[::1]:6379"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := registry.ParseDSN(s)
		if err != nil {
			if !errors.Is(err, backend.ErrInvalidConfig) {
				t.Fatalf("error %v does not wrap ErrInvalidConfig", err)
			}
			return
		}
		// A password that also reads as part of the visible rest of the
		// DSN (user, host, path, query) cannot be told apart there.
		visible := d.Scheme() + "://" + d.Username() + ":xxxxx@" + d.Host() + d.Path() + "?" + d.URL().RawQuery
		if pw, ok := d.Password(); ok && len(pw) >= 4 && strings.Contains(d.String(), pw) && !strings.Contains(strings.ToLower(visible), strings.ToLower(pw)) {
			t.Fatalf("String() %q leaks the password %q", d.String(), pw)
		}
		_ = d.Unknown()
		_, _ = d.Common()
	})
}

func TestRedactDSNFragment(t *testing.T) {
	// An unescaped '#' puts the rest of the DSN, secrets included, in the
	// fragment: it must not be printed.
	got := registry.RedactDSN("redis+sentinel://h/m#x?sentinel_password=" + secret)
	if strings.Contains(got, secret) || !strings.Contains(got, "not shown") {
		t.Fatalf("RedactDSN = %q", got)
	}
}

// TestConfigParamsRoundTrip: a Config turned into parameters and parsed
// back by Common is the same Config, and zero fields fall back to the
// defaults, so harnesses and wrappers can open a driver by DSN with
// exactly the configuration they were given.
func TestConfigParamsRoundTrip(t *testing.T) {
	defaults := backend.Config{Prefix: backend.DefaultPrefix, MaxAlerts: backend.DefaultMaxAlerts, MaxAlertBytes: backend.DefaultMaxAlertBytes, Timeout: backend.DefaultTimeout, MaxAlertsDefault: true}
	for _, c := range []struct {
		name string
		cfg  backend.Config
		want backend.Config
	}{
		{"all-set", backend.Config{Prefix: "t:{x}.y-", MaxAlerts: 7, MaxAlertBytes: 4096, Timeout: 1500 * time.Millisecond}, backend.Config{Prefix: "t:{x}.y-", MaxAlerts: 7, MaxAlertBytes: 4096, Timeout: 1500 * time.Millisecond}},
		{"zero-is-defaults", backend.Config{}, defaults},
		{"prefix-only", backend.Config{Prefix: "p:"}, backend.Config{Prefix: "p:", MaxAlerts: backend.DefaultMaxAlerts, MaxAlertBytes: backend.DefaultMaxAlertBytes, Timeout: backend.DefaultTimeout, MaxAlertsDefault: true}},
		{"client-name", backend.Config{ClientName: "detector-1@ids-01/42"}, backend.Config{Prefix: backend.DefaultPrefix, MaxAlerts: backend.DefaultMaxAlerts, MaxAlertBytes: backend.DefaultMaxAlertBytes, Timeout: backend.DefaultTimeout, MaxAlertsDefault: true, ClientName: "detector-1@ids-01/42"}},
		{"default-cap-stays-default", backend.Config{MaxAlerts: 5000, MaxAlertsDefault: true}, defaults},
	} {
		t.Run(c.name, func(t *testing.T) {
			dsn, err := registry.WithParams("mem://", registry.ConfigParams(c.cfg))
			if err != nil {
				t.Fatal(err)
			}
			d, err := registry.ParseDSN(dsn)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Common()
			if err != nil {
				t.Fatalf("Common(%s): %v", dsn, err)
			}
			if got != c.want {
				t.Errorf("Common(%s) = %+v, want %+v", dsn, got, c.want)
			}
			if err := d.Unknown(); err != nil {
				t.Errorf("ConfigParams wrote a parameter Common does not read: %v", err)
			}
		})
	}
}

// TestWithParamsReplaces: WithParams replaces every value a parameter had
// and keeps the rest of the DSN as written.
func TestWithParamsReplaces(t *testing.T) {
	got, err := registry.WithParams("mem://x?prefix=a:&prefix=b:&max_bytes=4096", registry.ConfigParams(backend.Config{Prefix: "c:"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := "mem://x?max_bytes=4096&prefix=c%3A"; got != want {
		t.Errorf("WithParams = %q, want %q", got, want)
	}
}

// TestOpenDriver: OpenDriver opens the driver alone, with the same strict
// parsing as Open.
func TestOpenDriver(t *testing.T) {
	ctx := context.Background()
	drv, err := registry.OpenDriver(ctx, "mem://?max_alerts=3")
	if err != nil {
		t.Fatal(err)
	}
	if err := drv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := registry.OpenDriver(ctx, "mem://?max_alert=3"); !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), `"max_alert"`) {
		t.Fatalf("OpenDriver with an unknown parameter = %v, want ErrInvalidConfig naming it", err)
	}
}
