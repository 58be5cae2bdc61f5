package registry_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

func TestSignKeyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	secret := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("s", 32)))
	good := filepath.Join(dir, "keys")
	if err := os.WriteFile(good, []byte("# keys\nk2 "+secret+"\nk1 "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("k1 c2hvcnQtc2VjcmV0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var r registry.Registry
	r.Register("fake", func(_ context.Context, d *registry.DSN, _ backend.Config) (backend.Driver, error) {
		if err := d.Unknown(); err != nil {
			return nil, err
		}
		return nopDriver{}, nil
	})
	s, err := r.Open(ctx, "fake://?sign_key_file="+good)
	if err != nil {
		t.Fatal(err)
	}
	if k := s.Config().Sign; k == nil || k.SigningKey() != "k2" {
		t.Fatalf("Config().Sign = %v, want the keyring signing with k2", k)
	}
	for _, c := range []struct{ name, dsn, want string }{
		{"missing-file", "fake://?sign_key_file=" + filepath.Join(dir, "nope"), "no such file"},
		{"short-secret", "fake://?sign_key_file=" + short, "at least 32"},
		{"empty", "fake://?sign_key_file=", "empty"},
		{"twice", "fake://?sign_key_file=" + good + "&sign_key_file=" + good, "given 2 times"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := r.Open(ctx, c.dsn)
			if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrInvalidConfig with %q", err, c.want)
			}
			if strings.Contains(err.Error(), "c2hvcnQtc2VjcmV0") {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
	t.Run("refused-on-a-bare-driver", func(t *testing.T) {
		_, err := r.OpenDriver(ctx, "fake://?sign_key_file="+good)
		if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), "outermost DSN") {
			t.Fatalf("err = %v, want the parameter refused on a driver", err)
		}
	})
}

type nopDriver struct{}

func (nopDriver) Append(context.Context, [][]byte) error                    { return nil }
func (nopDriver) Scan(context.Context, int64, int) ([]backend.Entry, error) { return nil, nil }
func (nopDriver) Count(context.Context) (int64, error)                      { return 0, nil }
func (nopDriver) Clear(context.Context) error                               { return nil }
func (nopDriver) Ping(context.Context) error                                { return nil }
func (nopDriver) Capabilities() backend.Capabilities                        { return backend.Capabilities{} }
func (nopDriver) Close() error                                              { return nil }

// TestSignKeyFileModeWarns: a sign_key_file that group or others may
// read opens (it is the operator's file), but every open logs a security
// warning naming the file and its mode, never a secret; a file only its
// owner can read logs nothing.
func TestSignKeyFileModeWarns(t *testing.T) {
	dir := t.TempDir()
	secret := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("w", 32)))
	var r registry.Registry
	r.Register("fake", func(_ context.Context, d *registry.DSN, _ backend.Config) (backend.Driver, error) {
		return nopDriver{}, d.Unknown()
	})
	for _, c := range []struct {
		name string
		mode os.FileMode
		warn bool
	}{
		{"owner-only", 0o600, false},
		{"owner-read-only", 0o400, false},
		{"group-readable", 0o640, true},
		{"world-readable", 0o644, true},
		{"group-writable", 0o620, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if err := os.WriteFile(path, []byte("k1 "+secret+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, c.mode); err != nil {
				t.Fatal(err)
			}
			var buf strings.Builder
			old := slog.Default()
			slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
			defer slog.SetDefault(old)
			s, err := r.Open(context.Background(), "fake://?sign_key_file="+path)
			if err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
			got := buf.String()
			if !c.warn {
				if got != "" {
					t.Errorf("mode %04o logged %q", c.mode, got)
				}
				return
			}
			want := fmt.Sprintf("%04o", c.mode)
			for _, w := range []string{"security=key_file_mode", "sign_key_file", path, want, "level=WARN"} {
				if !strings.Contains(got, w) {
					t.Errorf("log %q lacks %q", got, w)
				}
			}
			if strings.Contains(got, secret[:8]) {
				t.Errorf("log shows the secret: %q", got)
			}
		})
	}
}
