package main

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// securityAttr is the attribute key the backends put on their security
// warnings (redisconf.SecurityAttr; the command imports no backend
// internals, so the key is repeated here and checked by a test).
const securityAttr = "security"

// securityLog is the command's slog handler: it drops every record (the
// command reports errors once, itself; see logging.go) except the
// backends' security warnings, such as tls_insecure_skip_verify, which
// it prints on the running command's stderr at every open and keeps for
// `status` to list.
type securityLog struct {
	mu     sync.Mutex
	user   slog.Handler // --log-level's handler, nil when off (logflags.go)
	env    *cliEnv      // the running command's, nil between commands
	seen   []string
	attrs  []slog.Attr
	parent *securityLog
}

var cmdLog = &securityLog{}

// root is the handler that holds the state; WithAttrs copies share it.
func (h *securityLog) root() *securityLog {
	if h.parent != nil {
		return h.parent
	}
	return h
}

// start points the handler at a command's stderr and forgets what an
// earlier command saw; the returned function detaches it again.
func (h *securityLog) start(env *cliEnv) func() {
	r := h.root()
	r.mu.Lock()
	r.env, r.seen, r.user = env, nil, nil
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.env, r.user = nil, nil
		r.mu.Unlock()
	}
}

// warnings returns the security warnings seen since start.
func (h *securityLog) warnings() []string {
	r := h.root()
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// setUser makes the handler also pass every record to u (--log-level).
func (h *securityLog) setUser(u slog.Handler) {
	r := h.root()
	r.mu.Lock()
	r.user = u
	r.mu.Unlock()
}

func (h *securityLog) userHandler() slog.Handler {
	r := h.root()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.user
}

func (h *securityLog) Enabled(ctx context.Context, l slog.Level) bool {
	if u := h.userHandler(); u != nil && u.Enabled(ctx, l) {
		return true
	}
	return l >= slog.LevelWarn
}

func (h *securityLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &securityLog{parent: h.root(), attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *securityLog) WithGroup(string) slog.Handler { return h }

func (h *securityLog) Handle(ctx context.Context, r slog.Record) error {
	if u := h.userHandler(); u != nil && u.Enabled(ctx, r.Level) {
		_ = u.WithAttrs(h.attrs).Handle(ctx, r.Clone())
	}
	if r.Level < slog.LevelWarn {
		return nil
	}
	finding := ""
	detail := ""
	visit := func(a slog.Attr) bool {
		if a.Key == securityAttr {
			finding = a.Value.String()
		} else {
			detail += " " + a.Key + "=" + a.Value.String()
		}
		return true
	}
	for _, a := range h.attrs {
		visit(a)
	}
	r.Attrs(visit)
	if finding == "" {
		return nil
	}
	line := strings.ReplaceAll(r.Message, "alertstore: ", "") + " (" + finding + ";" + detail + ")"
	root := h.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	root.seen = append(root.seen, line)
	if root.env != nil {
		root.env.warnf("%s", line)
	}
	return nil
}
