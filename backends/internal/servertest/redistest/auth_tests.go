package redistest

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/registry"
)

// testPasswordForms: the password works from the user info (escaped), the
// password parameter and a password file.
func testPasswordForms(t *testing.T, e env) {
	file := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(file, []byte(serverPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := backend.Config{Prefix: Prefix(t)}
	for _, dsn := range []string{
		e.dsn(e.srv.Addr(), cfg, ""),
		DSN(e.scheme, e.srv.Addr(), cfg, "password="+url.QueryEscape(serverPassword)),
		DSN(e.scheme, e.srv.Addr(), cfg, "password_file="+url.QueryEscape(file)),
	} {
		s := Open(t, dsn)
		if err := s.Store(testCtx(t), newAlert(t, "auth")); err != nil {
			t.Errorf("%s: %v", registry.RedactDSN(dsn), err)
		}
	}
	if n := count(t, e.open(t, cfg)); n != 3 {
		t.Errorf("Count = %d, want 3", n)
	}
}

// testWrongCredentials: a wrong or missing password fails every call with
// the server's refusal, as ErrSecurity (not ErrUnavailable, which would
// invite retrying, or a chain's fallback),
// stores nothing, and never shows a password.
func testWrongCredentials(t *testing.T, e env) {
	cfg := backend.Config{Prefix: Prefix(t)}
	const wrong = "not-the-Pa55word"
	for _, tt := range []struct {
		name, dsn, reply string
	}{
		{"wrong", strings.Replace(DSN(e.scheme, e.srv.Addr(), cfg, ""), "://", "://:"+wrong+"@", 1), "WRONGPASS"},
		{"missing", DSN(e.scheme, e.srv.Addr(), cfg, ""), "NOAUTH"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := Open(t, tt.dsn)
			ctx := testCtx(t)
			errs := map[string]error{"store": s.Store(ctx, newAlert(t, "rejected")), "ping": s.Ping(ctx)}
			_, errs["list"] = s.List(ctx, backend.Query{})
			_, errs["count"] = s.Count(ctx)
			_, errs["watch"] = s.Watch(ctx)
			for op, err := range errs {
				switch {
				case err == nil:
					t.Errorf("%s with a %s password succeeded", op, tt.name)
				case errors.Is(err, backend.ErrUnavailable):
					t.Errorf("%s: %v, want the refusal, not ErrUnavailable", op, err)
				case !errors.Is(err, backend.ErrSecurity):
					t.Errorf("%s: %v, want ErrSecurity", op, err)
				case !strings.Contains(err.Error(), tt.reply) && !strings.Contains(err.Error(), "WRONGPASS"):
					t.Errorf("%s: %v, want %s", op, err, tt.reply)
				case strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), serverPassword):
					t.Errorf("%s: error shows a password: %v", op, err)
				}
			}
			if n := e.do(t, "LLEN", redislist.NewKeys(cfg.Prefix).List); n != int64(0) {
				t.Errorf("LLEN = %v, want 0", n)
			}
		})
	}
}
