package dirstore

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
)

// parsed is everything a dir DSN sets, shared parameters included.
type parsed struct {
	Dir           string
	Prefix        string
	MaxAlerts     int
	MaxAlertBytes int
	Timeout       time.Duration
	NoSync        bool
}

// parse does what registry.OpenDriver does before calling the opener, then
// the opener's parsing, and stops before any I/O.
func parse(s string) (parsed, error) {
	d, err := registry.ParseDSN(s)
	if err != nil {
		return parsed{}, err
	}
	cfg, err := d.Common()
	if err != nil {
		return parsed{}, err
	}
	dir, opts, err := parseDSN(d)
	if err != nil {
		return parsed{}, err
	}
	return parsed{dir, cfg.Prefix, cfg.MaxAlerts, cfg.MaxAlertBytes, cfg.Timeout, opts.NoSync}, nil
}

func TestParseDSN(t *testing.T) {
	def := parsed{
		Prefix:        backend.DefaultPrefix,
		MaxAlerts:     backend.DefaultMaxAlerts,
		MaxAlertBytes: backend.DefaultMaxAlertBytes,
		Timeout:       backend.DefaultTimeout,
	}
	with := func(f func(*parsed)) parsed { p := def; f(&p); return p }
	for _, c := range []struct {
		dsn  string
		want parsed
	}{
		{"dir:///var/lib/alertstore", with(func(p *parsed) { p.Dir = "/var/lib/alertstore" })},
		{"dir:///var/lib/alertstore/", with(func(p *parsed) { p.Dir = "/var/lib/alertstore" })},
		{"dir:///srv/../var//alerts", with(func(p *parsed) { p.Dir = "/var/alerts" })},
		{"dir:///srv/my%20alerts", with(func(p *parsed) { p.Dir = "/srv/my alerts" })},
		// What (&url.URL{Scheme: "dir", Path: "/srv/a b?c#d%e"}).String() builds.
		{"dir:///srv/a%20b%3Fc%23d%25e", with(func(p *parsed) { p.Dir = "/srv/a b?c#d%e" })},
		{"dir:///", with(func(p *parsed) { p.Dir = "/" })},
		{"dir:///d?fsync=false", with(func(p *parsed) { p.Dir = "/d"; p.NoSync = true })},
		{"dir:///d?fsync=true", with(func(p *parsed) { p.Dir = "/d" })},
		{"dir:///d?fsync=0", with(func(p *parsed) { p.Dir = "/d"; p.NoSync = true })},
		{"dir:///d?prefix=team1:&max_alerts=50", with(func(p *parsed) { p.Dir = "/d"; p.Prefix = "team1:"; p.MaxAlerts = 50 })},
		{"dir:///d?max_alert_bytes=4096&timeout=250ms&fsync=no", with(func(p *parsed) {
			p.Dir = "/d"
			p.MaxAlertBytes = 4096
			p.Timeout = 250 * time.Millisecond
			p.NoSync = true
		})},
	} {
		t.Run(c.dsn, func(t *testing.T) {
			got, err := parse(c.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestParseDSNRejects(t *testing.T) {
	for _, c := range []struct {
		dsn  string
		want string // in the error
	}{
		{"dir:///d?bogus=1", `unknown parameter "bogus"`},
		{"dir:///d?sync=false", `unknown parameter "sync"`},
		{"dir:///d?fsync=maybe", `fsync="maybe" is not a boolean`},
		{"dir:///d?fsync=true&fsync=false", `"fsync" given 2 times`},
		{"dir:///d?max_alerts=0", "max_alerts=0 is out of range"},
		{"dir:///d?prefix=a/b", `prefix "a/b"`},
		{"dir://data/alerts", `"data/alerts" is not an absolute path`},
		{"dir://./data", `"./data" is not an absolute path`},
		{"dir://~/alerts", `"~/alerts" is not an absolute path`},
		{"dir://localhost/var/alerts", `"localhost/var/alerts" is not an absolute path`},
		{"dir:/var/alerts", `missing "//"`},
		{"dir://", "no directory"},
		{"dir:var/alerts", "two slashes"},
		{"dir://alice:hunter2@/var/alerts", "no user info"},
	} {
		t.Run(c.dsn, func(t *testing.T) {
			_, err := parse(c.dsn)
			if !errors.Is(err, backend.ErrInvalidConfig) {
				t.Fatalf("error %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error %q shows the password", err)
			}
		})
	}
}

// TestRelativePathHint is the mistake most people make first: the error
// must say what to write instead.
func TestRelativePathHint(t *testing.T) {
	_, err := registry.Open(context.Background(), "dir://alerts")
	if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), "write the absolute path after three slashes, e.g. dir:///") {
		t.Fatalf("relative path: %v, want ErrInvalidConfig with a hint", err)
	}
}

// TestUnknownParamBeforeIO opens a directory that does not exist with a
// misspelt parameter: the error must be about the parameter, proving the
// DSN was checked before the disk was touched.
func TestUnknownParamBeforeIO(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := registry.Open(context.Background(), "dir://"+missing+"?fsynk=false")
	if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), `unknown parameter "fsynk"`) {
		t.Fatalf("got %v, want the unknown parameter named", err)
	}
	_, err = registry.Open(context.Background(), "dir://"+missing)
	if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("got %v, want ErrInvalidConfig saying the directory does not exist", err)
	}
}

func TestOpenByDSN(t *testing.T) {
	dir := t.TempDir()
	s, err := registry.Open(context.Background(), "dir://"+dir+"?prefix=t:&max_alerts=7&fsync=false")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Backend() != Scheme {
		t.Errorf("Backend() = %q, want %q", s.Backend(), Scheme)
	}
	if got, want := s.Capabilities(), (backend.Capabilities{Shared: true, Persistent: true, Drain: true}); got != want {
		t.Errorf("Capabilities() = %+v, want %+v", got, want)
	}
	if s.Config().MaxAlerts != 7 || s.Config().Prefix != "t:" {
		t.Errorf("Config() = %+v", s.Config())
	}
	if err := s.Store(context.Background(), backend.NewAlert()); err != nil {
		t.Fatal(err)
	}
	if names, err := filepath.Glob(filepath.Join(dir, "t:", "*"+entryExt)); err != nil || len(names) != 1 {
		t.Errorf("entry files under the prefix directory: %v, %v; want 1", names, err)
	}
	if _, err := registry.Open(context.Background(), "dir://"+dir+"?prefix=.."); !errors.Is(err, backend.ErrInvalidConfig) {
		t.Errorf("prefix \"..\": %v, want ErrInvalidConfig", err)
	}
}

// FuzzParseDSN: whatever the input, parsing does not panic, and an
// accepted directory is absolute and clean.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{
		"dir:///var/lib/alertstore", "dir:///d?fsync=false&prefix=a:", "dir://data", "dir:/x",
		"dir://u:p@/x", "dir:///a/../../b", "dir:///%2e%2e/x", "dir://[::1]/x", "dir:///x?fsync=1&fsync=0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parse(s)
		if err != nil {
			return
		}
		if !filepath.IsAbs(p.Dir) || filepath.Clean(p.Dir) != p.Dir {
			t.Fatalf("%q: accepted directory %q is not absolute and clean", s, p.Dir)
		}
	})
}

// TestDSNChecks runs the conformance DSN checks a third-party backend
// shares with ours: a bad DSN is refused, by name, before anything is
// written to the directory, and no message shows a secret.
func TestDSNChecks(t *testing.T) {
	conformance.RunDSNChecks(t, conformance.DSNCase{
		DSN: "dir://{dir}?fsync=false",
		Rejects: []conformance.DSNReject{
			{Name: "relative-path", DSN: "dir://data/alerts", Says: "is not an absolute path"},
			{Name: "user-info", DSN: "dir://alice:" + conformance.DSNSecret + "@{dir}", Says: "no user info"},
			{Name: "fsync-not-boolean", DSN: "dir://{dir}?fsync=maybe", Says: "is not a boolean"},
		},
	})
}
