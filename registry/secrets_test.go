package registry_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/registry"
)

// pw is a password with every character that moves a URL's boundaries.
// Its letters (Q, Z, J, V, K) appear in no message of ours, so any 4-byte
// piece of it found in an output is a leak.
const pw = "QzJ/Kv?W#qj&y%zzVQ@w:ZéJ"

// leak returns a 4-byte piece of secret (one with a letter in it, so that
// "://" does not count) found in out, or "".
func leak(out, secret string) string {
	b := []byte(secret)
	for i := 0; i+4 <= len(b); i++ {
		piece := string(b[i : i+4])
		if strings.IndexFunc(piece, unicode.IsLetter) < 0 && !strings.ContainsFunc(piece, func(r rune) bool { return r == unicode.ReplacementChar }) {
			continue
		}
		if strings.Contains(out, piece) {
			return piece
		}
	}
	return ""
}

// tstRegistry has one scheme, tst, that reads a password the way the
// Redis backends do (user info, password=, password_file=).
func tstRegistry() *registry.Registry {
	r := &registry.Registry{}
	r.Register("tst", func(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
		if _, _, err := dsn.Secret("password"); err != nil {
			return nil, err
		}
		if err := dsn.Unknown(); err != nil {
			return nil, err
		}
		return memory.Open("", cfg, nil), nil
	})
	return r
}

// TestNoSecretInErrors: each way a password used to reach an error. Each
// case shows, on the code before the fix, a piece of the password.
func TestNoSecretInErrors(t *testing.T) {
	esc := strings.NewReplacer("%", "%25", "/", "%2F", "?", "%3F", "#", "%23", "&", "%26", "@", "%40", ":", "%3A", "é", "%C3%A9")
	for _, c := range []struct {
		name, dsn, says string
	}{
		{"misspelled-secret-parameter", "tst://h?passwrd=" + esc.Replace(pw), `unknown parameter "passwrd"`},
		{"misspelled-secret-parameter-raw", "tst://h?pasword=QzJKvWqj", `unknown parameter "pasword"`},
		{"ampersand-in-password-parameter", "tst://h?password=QzJ&KvWqjQZ=1", "%26"},
		{"ampersand-in-password-bare-tail", "tst://h?password=QzJ&KvWqjQZ", "%26"},
		{"slash-in-user-info", "tst://:QzJ/KvWqj@h:6379", "%2F"},
		{"slash-after-digits-in-user-info", "tst://u:9876/QzJKv@h", "%2F"},
		{"question-mark-in-user-info", "tst://u:9876?QzJKv@h", "%3F"},
		{"hash-in-user-info", "tst://u:9876#QzJKv@h", "%23"},
		{"hash-in-user-info-port", "tst://:QzJ#Kv@h", "%23"},
		{"invalid-escape-in-user-info", "tst://:Qz%zzJKv@h", "%25"},
		{"invalid-escape-in-parameter", "tst://h?password=Qz%zzJKv", "%25"},
		{"semicolon-in-parameter", "tst://h?password=Qz;JKv", "%3B"},
		{"hash-in-parameter", "tst://h?password=Qz#JKvW", "%23"},
		{"non-ascii-in-user-info", "tst://:QzJé" + "Kv@h", "percent-encode"},
		{"at-in-unknown-value", "tst://h?pwd=QzJ@KvWq", "%40"},
		{"raw-password-everywhere", "tst://:" + pw + "@h/0?password=" + pw, ""},
		{"raw-secret-in-nested-dsn", "tst://h?tier=tst://:" + pw + "@h", ""},
		{"no-scheme", "QzJKvWqj@h", "no scheme"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := tstRegistry().Open(context.Background(), c.dsn)
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded")
			}
			if !errors.Is(err, backend.ErrInvalidConfig) {
				t.Errorf("%v does not wrap ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("error %q does not say %q", err, c.says)
			}
			for _, secret := range []string{pw, "QzJKvWqj", "KvWqjQZ", "9876", "JKvW", "QzJK"} {
				if strings.Contains(c.dsn, secret) {
					if p := leak(err.Error(), secret); p != "" {
						t.Errorf("error %q shows %q of the password", err, p)
					}
				}
			}
		})
	}
}

// TestRedactDSNSecrets: what RedactDSN prints of DSNs with secrets in
// awkward places.
func TestRedactDSNSecrets(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{"double-escaped-tier", "chain://?tier=redis%253A%252F%252F%253AQzJKv%2540h", "chain://?tier=redis%3A%2F%2F%3Axxxxx%40h"},
		{"triple-escaped-tier", "chain://?tier=redis%25253A%25252F%25252F%25253AQzJKv%252540h", "chain://?tier=redis%3A%2F%2F%3Axxxxx%40h"},
		{"tier-with-slash-in-password", "chain://?tier=redis://:QzJ/Kv@h", "chain://?tier=redis%3A%2F%2F%28not+shown%29"},
		{"fragment-keeps-host", "redis://cache:6379/0?password=QzJ#Kv", "redis://cache:6379 (rest not shown)"},
		{"fragment-after-at-hides-host", "redis://u:9876#QzJ@h", "redis://(not shown)"},
		{"path-at-hides-all", "redis://u:9876/QzJ@h", "redis://(not shown)"},
		{"no-scheme", "redis%3A%2F%2F%3AQzJKv%40h", "(DSN not shown)"},
		{"opaque", "redis:QzJKv@h", "redis://(not shown)"},
		{"odd-name-hidden", "redis://h?password=QzJ&Kv%20Wq=1", "redis://h?password=xxxxx&xxxxx=xxxxx"},
		{"clean", "redis://u:QzJKv@h:1/0?db=0&password=QzJKv&prefix=a%3A", "redis://u:xxxxx@h:1/0?db=0&password=xxxxx&prefix=a%3A"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := registry.RedactDSN(c.in)
			if got != c.want {
				t.Errorf("RedactDSN(%q) = %q, want %q", c.in, got, c.want)
			}
			if p := leak(got, "QzJKv"); p != "" {
				t.Errorf("RedactDSN shows %q", p)
			}
		})
	}
}

// TestStringHidesUnreadValues: DSN.String shows a parameter's value only
// once a getter other than Secret has read it.
func TestStringHidesUnreadValues(t *testing.T) {
	d, err := registry.ParseDSN("tst://h?prefix=a:&passwd_typo=QzJKv&password=QzJKv&db=1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.String(), "tst://h?prefix=xxxxx&xxxxx=xxxxx&xxxxx=xxxxx&xxxxx=xxxxx"; got != want {
		t.Errorf("String before any getter = %q, want %q", got, want)
	}
	if _, err := d.Common(); err != nil {
		t.Fatal(err)
	}
	_, _ = d.Param("db", "")
	_, _, _ = d.Secret("password")
	if got, want := d.String(), "tst://h?db=1&passwd_typo=xxxxx&password=xxxxx&prefix=a%3A"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name    string
		content string
		mode    os.FileMode
		want    string // the password, or a substring of the error
		wantErr bool
		warns   bool
	}{
		{"newline-stripped", "QzJKv\n", 0o600, "QzJKv", false, false},
		{"crlf-stripped", "QzJKv\r\n", 0o600, "QzJKv", false, false},
		{"no-newline", "Qz J:Kv/é", 0o600, "Qz J:Kv/é", false, false},
		{"readable-by-group-warns", "QzJKv", 0o640, "QzJKv", false, true},
		{"readable-by-others-warns", "QzJKv", 0o604, "QzJKv", false, true},
		{"empty", "", 0o600, "holds no password", true, false},
		{"only-newline", "\n", 0o600, "holds no password", true, false},
		{"two-newlines", "QzJKv\n\n", 0o600, "line break or NUL", true, false},
		{"inner-newline", "QzJ\nKv", 0o600, "line break or NUL", true, false},
		{"inner-cr", "QzJ\rKv", 0o600, "line break or NUL", true, false},
		{"nul", "QzJ\x00Kv", 0o600, "line break or NUL", true, false},
		{"too-large", strings.Repeat("Q", registry.MaxSecretFileBytes+1), 0o600, "larger than 4096 bytes", true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, c.mode); err != nil {
				t.Fatal(err)
			}
			d, err := registry.ParseDSN("tst://h?password_file=" + path)
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := d.Secret("password")
			switch {
			case c.wantErr && err == nil:
				t.Fatalf("Secret = %q, want an error saying %q", got, c.want)
			case c.wantErr && (!errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("Secret error %v, want ErrInvalidConfig saying %q", err, c.want)
			case c.wantErr && leak(err.Error(), "QzJKv") != "":
				t.Fatalf("error %v shows the password", err)
			case !c.wantErr && (err != nil || !ok || got != c.want):
				t.Fatalf("Secret = %q, %t, %v; want %q", got, ok, err, c.want)
			}
			warned := len(d.Warnings()) > 0
			if warned != c.warns {
				t.Errorf("warnings %q, want a warning: %t", d.Warnings(), c.warns)
			}
			if warned && (!strings.Contains(d.Warnings()[0], "chmod 600") || leak(d.Warnings()[0], "QzJKv") != "") {
				t.Errorf("warning %q", d.Warnings()[0])
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		d, _ := registry.ParseDSN("tst://h?password_file=" + dir)
		if _, _, err := d.Secret("password"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("Secret of a directory: %v", err)
		}
	})
}

func TestSecretInline(t *testing.T) {
	for _, c := range []struct{ name, dsn, says string }{
		{"empty", "tst://h?password=", "is empty"},
		{"newline", "tst://h?password=QzJ%0AKv", "line break or NUL"},
		{"nul", "tst://h?password=QzJ%00Kv", "line break or NUL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := registry.ParseDSN(c.dsn)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = d.Secret("password")
			if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), c.says) || leak(err.Error(), "QzJKv") != "" {
				t.Fatalf("Secret = %v, want ErrInvalidConfig saying %q, no password", err, c.says)
			}
		})
	}
}

// TestOpenLogsWarnings: Open logs a DSN's warnings once each, to the
// context's logger.
func TestOpenLogsWarnings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(path, []byte("QzJKv\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	ctx := registry.WithLogger(context.Background(), slog.New(slog.NewTextHandler(&buf, nil)))
	s, err := tstRegistry().Open(ctx, "tst://h?password_file="+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := buf.String()
	if strings.Count(out, "level=WARN") != 1 || !strings.Contains(out, "chmod 600") || !strings.Contains(out, "scheme=tst") || strings.Contains(out, "QzJKv") {
		t.Fatalf("log = %q, want one warning naming the file, no password", out)
	}
}

// TestDSNOrigin: what is printed about a DSN that has not opened holds no
// parameter value, no user info and no path, whatever the parameter's
// name.
func TestDSNOrigin(t *testing.T) {
	const secret = "hunter2secret"
	for _, c := range []struct{ name, dsn, want string }{
		{"misspelled-secret", "redis://cache:6379/0?passwrod=" + secret, "redis://cache:6379"},
		{"user-info", "redis://u:" + secret + "@cache:6379/0", "redis://cache:6379"},
		{"bolt-path", "bolt:///var/lib/" + secret + "/a.db?x=" + secret, "bolt://"},
		{"nested-tier", "chain://?tier=redis%3A%2F%2F%3A" + secret + "%40h%2F0", "chain://"},
		{"unclean", "redis://:a/" + secret + "@h/0", "redis://(not shown)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := registry.DSNOrigin(c.dsn)
			if got != c.want || strings.Contains(got, secret[:4]) {
				t.Fatalf("DSNOrigin(%q) = %q, want %q", c.dsn, got, c.want)
			}
		})
	}
}
