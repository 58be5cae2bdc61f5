package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Bounds of the files a DSN names.
const (
	// MaxSecretFileBytes bounds a password file (password_file=,
	// sentinel_password_file=): far above any real password, far below
	// what a wrong path (a log, a device) would hold.
	MaxSecretFileBytes = 4096
	// MaxPEMFileBytes bounds a PEM file (tls_ca=, tls_cert=, tls_key=): a
	// bundle of every public CA is about 250 KiB.
	MaxPEMFileBytes = 1 << 20
)

// ReadFile reads the file a parameter names, for an opener: it must be a
// regular file (symbolic links followed, as Kubernetes mounts secrets) of
// at most limit bytes. When private (a password, a private key), a file
// that group or others may read is read anyway, with a warning (Warn).
// Errors name the parameter and the path, never the content.
func (d *DSN) ReadFile(param, path string, limit int64, private bool) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, d.Errorf("reading %s %q: %v", param, path, pathErr(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, d.Errorf("%s %q is not a regular file", param, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, d.Errorf("reading %s %q: %v", param, path, pathErr(err))
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, d.Errorf("reading %s %q: %v", param, path, pathErr(err))
	}
	if int64(len(b)) > limit {
		return nil, d.Errorf("%s %q is larger than %d bytes: is it the right file?", param, path, limit)
	}
	if private && fi.Mode().Perm()&0o044 != 0 {
		d.Warn("%s %q may be read by other users (mode %04o): run chmod 600 on it", param, path, fi.Mode().Perm())
	}
	return b, nil
}

// ReadSecretFile reads a password file (ReadFile, private, at most
// MaxSecretFileBytes). One trailing newline ("\n" or "\r\n", as editors
// and `echo` write) is not part of the password; any other CR, LF or NUL
// is an error, and so is an empty password.
func (d *DSN) ReadSecretFile(param, path string) (string, error) {
	b, err := d.ReadFile(param, path, MaxSecretFileBytes, true)
	if err != nil {
		return "", err
	}
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	switch {
	case s == "":
		return "", d.Errorf("%s %q holds no password (an empty password is never sent)", param, path)
	case strings.ContainsAny(s, "\r\n\x00"):
		return "", d.Errorf("%s %q holds a line break or NUL inside the password (only one trailing newline may follow it)", param, path)
	}
	return s, nil
}

// pathErr drops the path an *os.PathError repeats.
func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Warn records a warning about the configuration the DSN gives (a
// password file others may read, say); Open logs each once, after the
// opener returns, to the logger of its context (WithLogger), else
// slog.Default. A warning never contains a secret.
func (d *DSN) Warn(format string, args ...any) {
	d.warnings = append(d.warnings, fmt.Sprintf(format, args...))
}

// Warnings returns the warnings recorded so far: an opener that parses a
// DSN of its own making passes them on to the user's DSN with Warn.
func (d *DSN) Warnings() []string { return append([]string(nil), d.warnings...) }

type loggerKey struct{}

// WithLogger returns a context whose Open (and OpenDriver) log the DSN's
// warnings to l, one record at level Warn each, message = the warning,
// with the attribute "scheme". The command uses it to print each on
// stderr.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// LoggerFrom returns the logger WithLogger put in ctx, else
// slog.Default(): the logger the backends opened with ctx log to (the
// chain's events, the Redis backends' warnings).
func LoggerFrom(ctx context.Context) *slog.Logger { return loggerFrom(ctx) }

func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}

// logWarnings logs d's warnings.
func logWarnings(ctx context.Context, d *DSN) {
	for _, w := range d.warnings {
		loggerFrom(ctx).LogAttrs(ctx, slog.LevelWarn, w, slog.String("scheme", d.Scheme()))
	}
}
