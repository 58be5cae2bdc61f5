package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/apt-detection/alertstore/registry"
)

// logLevels are --log-level's values; "off" (the default) keeps the
// command quiet: it reports what matters itself (logging.go).
var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

// logHandler is the handler --log-format and --log-level ask for, nil
// when logging is off. A bad value is a usage error.
func (env *cliEnv) logHandler() (slog.Handler, error) {
	lvl := strings.ToLower(env.globals.logLevel)
	if lvl == "" || lvl == "off" {
		if env.globals.logFormat != "" && env.globals.logFormat != "text" {
			// A format without a level would silently log nothing.
			return nil, usagef("--log-format %s needs --log-level debug|info|warn|error", env.globals.logFormat)
		}
		return nil, nil
	}
	level, ok := logLevels[lvl]
	if !ok {
		return nil, usagef("--log-level %q: want off, debug, info, warn or error", env.globals.logLevel)
	}
	w := scrubWriter{env.stderr} // a record never shows a DSN's secret
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(env.globals.logFormat) {
	case "", "text":
		return slog.NewTextHandler(w, opts), nil
	case "json":
		return slog.NewJSONHandler(w, opts), nil
	}
	return nil, usagef("--log-format %q: want text or json", env.globals.logFormat)
}

// withLogging returns ctx whose stores log to the handler the flags ask
// for, besides the DSN warnings the command prints anyway; the handler
// also gets the records of slog.Default (the Redis backends' security
// warnings).
func (env *cliEnv) withLogging(ctx context.Context) (context.Context, error) {
	h, err := env.logHandler()
	if err != nil || h == nil {
		return ctx, err
	}
	cmdLog.setUser(h)
	return registry.WithLogger(ctx, slog.New(fanout{registry.LoggerFrom(ctx).Handler(), h})), nil
}

// fanout sends each record to both handlers.
type fanout [2]slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	return f[0].Enabled(ctx, l) || f[1].Enabled(ctx, l)
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var first error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	return fanout{f[0].WithAttrs(as), f[1].WithAttrs(as)}
}

func (f fanout) WithGroup(name string) slog.Handler {
	return fanout{f[0].WithGroup(name), f[1].WithGroup(name)}
}
