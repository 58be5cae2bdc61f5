package conformance_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
)

// dsnBackend is a small backend with a server address and a file, like
// the real ones: tst://[:password@]host:port?path=/abs/file. Its flags
// break one rule each, to prove the DSN checks notice.
type dsnBackend struct {
	ioBeforeUnknown    bool // dials the server before rejecting unknown parameters
	mkdirBeforeUnknown bool // creates the file's directory before rejecting them
	rawURLInError      bool // formats dsn.URL() (secrets and all) into its error
	plainError         bool // its error does not wrap ErrInvalidConfig
	acceptsRelative    bool // takes a relative path
	rawURLInString     bool // the driver's String() is the raw URL
}

type stringDriver struct {
	backend.Driver
	s string
}

func (d stringDriver) String() string { return d.s }

func (b dsnBackend) open(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
	path, err := dsn.Param("path", "")
	if err != nil {
		return nil, err
	}
	if b.ioBeforeUnknown {
		if c, err := net.Dial("tcp", dsn.Host()); err == nil {
			_ = c.Close()
		}
	}
	if b.mkdirBeforeUnknown {
		_ = os.MkdirAll(filepath.Dir(path), 0o700)
	}
	if err := dsn.Unknown(); err != nil {
		switch {
		case b.rawURLInError:
			return nil, dsn.Errorf("in %s: unknown parameter", dsn.URL())
		case b.plainError:
			return nil, errors.New(strings.TrimPrefix(err.Error(), backend.ErrInvalidConfig.Error()))
		}
		return nil, err
	}
	if !filepath.IsAbs(path) && !b.acceptsRelative {
		return nil, dsn.Errorf("path %q is not absolute", path)
	}
	// The I/O, after every check.
	if c, err := net.Dial("tcp", dsn.Host()); err == nil {
		_ = c.Close()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	s := dsn.String()
	if b.rawURLInString {
		s = dsn.URL().String()
	}
	return stringDriver{Driver: memory.Open("", cfg, nil), s: s}, nil
}

func dsnCase(b dsnBackend) conformance.DSNCase {
	reg := &registry.Registry{}
	reg.Register("tst", b.open)
	return conformance.DSNCase{
		DSN:      "tst://:" + conformance.DSNSecret + "@{addr}?path={path}",
		Rejects:  []conformance.DSNReject{{Name: "relative-path", DSN: "tst://:" + conformance.DSNSecret + "@{addr}?path=alerts.db", Says: "not absolute"}},
		Registry: reg,
	}
}

// TestDSNChecksCatchBrokenOpeners: every DSN check fails against an
// opener that breaks its rule, and all pass against one that keeps them.
func TestDSNChecksCatchBrokenOpeners(t *testing.T) {
	for _, c := range []struct {
		name     string
		b        dsnBackend
		mustFail []string
	}{
		{"correct", dsnBackend{}, nil},
		{"io-before-unknown", dsnBackend{ioBeforeUnknown: true}, []string{conformance.DSNUnknownParameter, conformance.DSNUnknownSecretParameter, conformance.DSNMisspelledSecretParameter, conformance.DSNSplitSecret, conformance.DSNRejects + "/relative-path"}},
		{"mkdir-before-unknown", dsnBackend{mkdirBeforeUnknown: true}, []string{conformance.DSNUnknownParameter, conformance.DSNUnknownSecretParameter, conformance.DSNMisspelledSecretParameter, conformance.DSNSplitSecret}},
		{"raw-url-in-error", dsnBackend{rawURLInError: true}, []string{conformance.DSNUnknownParameter, conformance.DSNUnknownSecretParameter, conformance.DSNMisspelledSecretParameter, conformance.DSNSplitSecret}},
		{"plain-error", dsnBackend{plainError: true}, []string{conformance.DSNUnknownParameter, conformance.DSNUnknownSecretParameter, conformance.DSNMisspelledSecretParameter, conformance.DSNSplitSecret}},
		{"accepts-relative", dsnBackend{acceptsRelative: true}, []string{conformance.DSNRejects + "/relative-path"}},
		{"raw-url-in-string", dsnBackend{rawURLInString: true}, []string{conformance.DSNRedacted}},
	} {
		t.Run(c.name, func(t *testing.T) {
			results := conformance.RunDSN(context.Background(), dsnCase(c.b))
			must := map[string]bool{}
			for _, n := range c.mustFail {
				must[n] = true
			}
			for _, r := range results {
				switch {
				case must[r.Name] && r.Err == nil:
					t.Errorf("check %s passed against an opener that breaks its rule", r.Name)
				case !must[r.Name] && r.Err != nil:
					t.Errorf("check %s failed: %v", r.Name, r.Err)
				}
				if r.Err != nil && strings.Contains(r.Err.Error(), conformance.DSNSecret) {
					t.Errorf("the failure message of %s shows the secret: %v", r.Name, r.Err)
				}
				delete(must, r.Name)
			}
			for n := range must {
				t.Errorf("no result named %s", n)
			}
		})
	}
}

// TestDSNCheckNames: the subtest names are a public contract.
func TestDSNCheckNames(t *testing.T) {
	var got []string
	for _, r := range conformance.RunDSN(context.Background(), dsnCase(dsnBackend{})) {
		got = append(got, r.Name)
	}
	want := []string{
		"UnknownParameter",
		"UnknownSecretParameter",
		"MisspelledSecretParameter",
		"SplitSecret",
		"SharedParameters/max_alerts-zero",
		"SharedParameters/max_alerts-twice",
		"SharedParameters/max_alert_bytes-small",
		"SharedParameters/timeout-bare-number",
		"SharedParameters/prefix-glob",
		"Rejects/relative-path",
		"Redacted",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("DSN check names:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
