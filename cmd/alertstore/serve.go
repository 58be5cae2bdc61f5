package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/dashboard"
	"github.com/apt-detection/alertstore/registry"
	"github.com/apt-detection/alertstore/server"
)

// The variables serve reads tokens from when there is no --token-file.
const (
	envReaderToken = "ALERTSTORE_READER_TOKEN"
	envWriterToken = "ALERTSTORE_WRITER_TOKEN"
)

// cmdServe runs the HTTP server (package server) on the store until
// SIGINT or SIGTERM, then shuts down gracefully and closes the store the
// way every command does (a chain replays its backlog first).
func cmdServe(ctx context.Context, env *cliEnv, args []string) (err error) {
	fs, dsnFlag := newFlags(env, "serve", "[--dsn DSN] [--listen HOST:PORT] [--token-file F] [--tls-cert F --tls-key F]")
	listen := fs.String("listen", server.DefaultAddr, "address to listen on; a non-loopback one needs TLS and tokens (or --insecure-listen)")
	tokenFile := fs.String("token-file", "", "bearer tokens, one \"reader <token>\" or \"writer <token>\" per line (default: $"+envReaderToken+" and $"+envWriterToken+"; none: every route is open)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate (PEM): serve HTTPS")
	tlsKey := fs.String("tls-key", "", "TLS private key (PEM)")
	insecure := fs.Bool("insecure-listen", false, "allow a non-loopback --listen without TLS or tokens")
	anyNS := fs.Bool("any-namespace", false, "let alertstore+http clients open other namespaces (prefix=) of the DSN")
	admin := fs.Bool("admin", false, "let writer clients drop a namespace and set its cap through the server")
	maxBody := fs.Int64("max-body", 32<<20, "largest JSON body in bytes (NDJSON is streamed; each line is bounded by max_alert_bytes)")
	shutdown := fs.Duration("shutdown-timeout", 10*time.Second, "how long shutdown waits for requests in flight")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logLevelSet := false
	fs.Visit(func(f *flag.Flag) { logLevelSet = logLevelSet || f.Name == "log-level" })
	if !logLevelSet {
		env.logLevel = "info" // a server logs its requests unless told otherwise
	}
	tokens, err := serveTokens(*tokenFile)
	if err != nil {
		return err
	}
	lc := server.ListenConfig{Addr: *listen, TLSCert: *tlsCert, TLSKey: *tlsKey, InsecureListen: *insecure, ShutdownTimeout: *shutdown}
	if err := server.CheckListen(lc, tokens); err != nil {
		return usagef("%v", trimConfig(err))
	}
	dsn, err := resolveDSN(*dsnFlag)
	if err != nil {
		return err
	}
	h, err := env.logHandler()
	if err != nil {
		return err
	}
	logger := slog.New(discardHandler{})
	if h != nil {
		logger = slog.New(h)
	}
	s, err := env.openStore(ctx, dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	metrics := server.NewMetrics(s)
	s.SetObserver(observers{&chainNotices{env: env, s: s}, metrics})
	srv := server.New(s, server.Options{
		DSN: dsn, Tokens: tokens, Logger: logger, MaxBodyBytes: *maxBody,
		AnyNamespace: *anyNS, Admin: *admin, Metrics: metrics, Dashboard: dashboardHandler(),
	})
	lc.Ready = func(url string) {
		fmt.Fprintf(env.stdout, "dashboard: %s\n", url)
		fmt.Fprintf(env.stderr, "alertstore serve: serving %s (%s) on %s; Ctrl-C to stop\n", s.Backend(), registry.RedactDSN(dsn), url)
	}
	if err := server.Run(ctx, srv, lc); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "alertstore serve: stopped; closing the store\n")
	return nil
}

// serveTokens reads --token-file, else the two variables; none is fine
// (CheckListen refuses it off loopback).
func serveTokens(file string) (*server.Tokens, error) {
	if file != "" {
		t, err := server.LoadTokens(file)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		return t, nil
	}
	t := &server.Tokens{}
	for _, v := range []struct {
		env  string
		role server.Role
	}{{envReaderToken, server.RoleReader}, {envWriterToken, server.RoleWriter}} {
		if tok := os.Getenv(v.env); tok != "" {
			if err := t.Add(v.role, tok); err != nil {
				return nil, fmt.Errorf("$%s: %w", v.env, err)
			}
		}
	}
	return t, nil
}

// trimConfig drops the sentinel's words from a configuration error shown
// as a usage error.
func trimConfig(err error) string {
	msg := err.Error()
	p := backend.ErrInvalidConfig.Error() + ": "
	if len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p):]
	}
	return msg
}

// observers tells each of its observers.
type observers []backend.Observer

func (o observers) OnOp(e backend.OpEvent) {
	for _, x := range o {
		x.OnOp(e)
	}
}

// dashboardHandler is the embedded dashboard, mounted at / and /ui/.
func dashboardHandler() http.Handler { return dashboard.Handler() }
