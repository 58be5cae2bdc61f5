package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/apt-detection/alertstore/backend"
)

// TestHints: each kind of failure gets its exit code, one line with the
// command's prefix (never "alertstore: " twice), and a hint that fits it:
// a locked bolt file is not "is the server running?". The errors are
// worded as the backends word them.
func TestHints(t *testing.T) {
	unavailable := func(format string, args ...any) error {
		return &backend.Error{Op: "open", Backend: "goredis", Err: fmt.Errorf("%w: "+format, append([]any{backend.ErrUnavailable}, args...)...)}
	}
	for _, c := range []struct {
		name string
		err  error
		code int
		hint string // in the hint line
		not  string // not in the output
	}{
		{"bolt-locked", fmt.Errorf("%w: bolt file /nonexistent/a.db: file locked by another process (waited 1s; is another alertstore running on it?)", backend.ErrUnavailable), exitUnavailable, "one process at a time", "server running"},
		{"bolt-permission", fmt.Errorf("%w: bolt file /srv/a.db cannot be opened: permission denied for this user (check the owner and mode of the file and its directory)", backend.ErrInvalidConfig), exitUsage, "ls -ld", "server running"},
		{"bolt-read-only", fmt.Errorf("%w: /srv/a.db is open read-only (read_only=true, or the file is not writable by this user): list and count work, writes do not", backend.ErrInvalidConfig), exitUsage, "opened read-only", ""},
		{"bolt-missing", fmt.Errorf("%w: bolt file /srv/a.db does not exist (read_only=true opens an existing file only)", backend.ErrInvalidConfig), exitUsage, "without read_only", ""},
		{"bolt-damaged", fmt.Errorf("%w: /srv/a.db is not a bolt database this version can read: invalid database", backend.ErrInvalidConfig), exitUsage, "restore the store from a backup", ""},
		{"bolt-directory", fmt.Errorf("%w: bolt path /srv is a directory; name a file in it, e.g. /srv/alerts.db", backend.ErrInvalidConfig), exitUsage, "the database file itself", ""},
		{"bolt-path", fmt.Errorf("%w: bolt file /tmp/f/a.db cannot be examined: not a directory", backend.ErrInvalidConfig), exitUsage, "each directory on the path", "docs/dsn.md"},
		{"bolt-disk", fmt.Errorf("%w: committing to /srv/a.db: write /srv/a.db: no space left on device", backend.ErrUnavailable), exitUnavailable, "free space", "server running"},
		{"refused", unavailable("dial tcp 127.0.0.1:6379: connect: connection refused"), exitUnavailable, "nothing listens", ""},
		{"refused-errno", fmt.Errorf("%w: %w", backend.ErrUnavailable, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), exitUnavailable, "nothing listens", ""},
		{"dns", unavailable("dial tcp: lookup redis.invalid on 127.0.0.53:53: no such host"), exitUnavailable, "does not resolve", "nothing listens"},
		{"dns-typed", fmt.Errorf("%w: %w", backend.ErrUnavailable, &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}), exitUnavailable, "does not resolve", ""},
		{"timeout", unavailable("dial tcp 10.0.0.9:6379: i/o timeout"), exitUnavailable, "did not answer in time", ""},
		{"not-tls", unavailable("tls: first record does not look like a TLS handshake"), exitUnavailable, "does not speak TLS", ""},
		{"unix-socket", unavailable("dial unix /run/redis/redis.sock: connect: no such file or directory"), exitUnavailable, "unixsocket", ""},
		{"server-loading", unavailable("server replied LOADING Redis is loading the dataset in memory"), exitUnavailable, "cannot take the call now", ""},
		{"unavailable-other", unavailable("EOF"), exitUnavailable, "is the server running", ""},
		{"tls-unknown-ca", fmt.Errorf("%w: TLS: tls: failed to verify certificate: x509: certificate signed by unknown authority", backend.ErrSecurity), exitSecurity, "tls_ca=", ""},
		{"wrongpass", &backend.Error{Op: "ping", Backend: "goredis", Err: fmt.Errorf("%w: server replied: WRONGPASS invalid username-password pair or user is disabled.", backend.ErrSecurity)}, exitSecurity, "refused the credentials", ""},
		{"noperm", &backend.Error{Op: "list", Backend: "goredis", Err: fmt.Errorf("%w: server replied: NOPERM User alerts has no permissions to run the 'lrange' command", backend.ErrSecurity)}, exitSecurity, "lacks a right", ""},
		{"config", fmt.Errorf("%w: DSN redis://h/0?bogus=1: unknown parameter bogus", backend.ErrInvalidConfig), exitUsage, "docs/dsn.md", ""},
		{"invalid-alert", fmt.Errorf("%w: not a JSON object", backend.ErrInvalidAlert), exitInvalid, "nothing was stored", ""},
		{"degraded", errDegraded, exitDegraded, "alertstore replay", ""},
		{"usage", usagef("--limit: bad"), exitUsage, "", "hint:"},
		{"plain", errors.New("boom"), exitFailed, "", "hint:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			env := &cliEnv{stderr: &buf, name: "count"}
			code := report(env, c.err)
			out := buf.String()
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if code != c.code || !strings.HasPrefix(lines[0], "alertstore count: ") || strings.Contains(out, "alertstore: ") {
				t.Fatalf("exit %d, want %d; output:\n%s", code, c.code, out)
			}
			if c.hint != "" && (len(lines) != 2 || !strings.HasPrefix(lines[1], "hint: ") || !strings.Contains(lines[1], c.hint)) {
				t.Errorf("want a hint with %q; output:\n%s", c.hint, out)
			}
			if c.not != "" && strings.Contains(out, c.not) {
				t.Errorf("output holds %q:\n%s", c.not, out)
			}
		})
	}
}
