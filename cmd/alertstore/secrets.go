package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"

	"github.com/apt-detection/alertstore/registry"
)

// warningHandler prints each warning a DSN gives when it is opened (a
// password file others may read, say) as one stderr line, once per run
// however often the command opens the store (selftest opens it many
// times). Only what the registry logs through the command's context
// reaches it: the chain's own log stays discarded (logging.go).
type warningHandler struct {
	env  *cliEnv
	seen *sync.Map
}

func (h warningHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h warningHandler) Handle(ctx context.Context, r slog.Record) error {
	security := false
	r.Attrs(func(a slog.Attr) bool { security = security || a.Key == securityAttr; return !security })
	if security {
		// A backend's security warning, now logged to the ctx's logger:
		// printed and kept for status as before (security.go).
		return cmdLog.Handle(ctx, r)
	}
	if _, dup := h.seen.LoadOrStore(r.Message, true); dup {
		return nil
	}
	h.env.warnf("%s", strings.ReplaceAll(r.Message, "alertstore: ", ""))
	return nil
}

// WithAttrs and WithGroup: a logger derived from the command's (a
// backend's own, such as the chain's, tagged backend=chain) is not a DSN
// warning: those records stay quiet unless --log-level asks for them
// (logflags.go).
func (h warningHandler) WithAttrs([]slog.Attr) slog.Handler { return discardHandler{} }
func (h warningHandler) WithGroup(string) slog.Handler      { return discardHandler{} }

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }

// withWarnings makes the stores a command opens print their warnings on
// stderr.
func withWarnings(ctx context.Context, env *cliEnv) context.Context {
	return registry.WithLogger(ctx, slog.New(warningHandler{env: env, seen: &sync.Map{}}))
}

// dsnToken is anything that looks like a URL with an authority.
var dsnToken = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]*://[^\s"'<>]*`)

// looksLikeDSN reports whether a command-line argument may be a DSN.
func looksLikeDSN(s string) bool {
	return dsnToken.MatchString(s) || strings.Contains(s, "@")
}

// scrubWriter redacts every DSN-looking token of what it writes: the flag
// package quotes a bad flag value ("invalid value \"redis://:pw@h\" for
// flag -limit") and we do not control its words.
type scrubWriter struct{ w io.Writer }

func (s scrubWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, scrub(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// quoted is a Go-quoted string (%q), as the flag package quotes values.
var quoted = regexp.MustCompile(`"(?:[^"\\\n]|\\.)*"`)

// scrub hides, in a message we did not write (the flag package's), every
// quoted value that holds "://" or '@' (a DSN, credentials: where its
// secret ends is anyone's guess once it holds a space), and redacts the
// DSNs left.
func scrub(s string) string {
	s = quoted.ReplaceAllStringFunc(s, func(q string) string {
		if strings.Contains(q, "://") || strings.Contains(q, "@") {
			return "(value not shown)"
		}
		return q
	})
	return dsnToken.ReplaceAllStringFunc(s, registry.RedactDSN)
}

// commandName is how an unknown command is echoed: as written if it can be
// a command's name, else not at all (it may be a DSN).
func commandName(s string) string {
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '-' {
			return "(not shown)"
		}
	}
	if len(s) > 20 {
		return "(not shown)"
	}
	return fmt.Sprintf("%q", s)
}
