package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/dashboard"
	"github.com/apt-detection/alertstore/registry"
	"github.com/apt-detection/alertstore/server"
	"github.com/spf13/cobra"
)

// The variables serve reads tokens from when there is no --token-file.
const (
	envReaderToken = "ALERTSTORE_READER_TOKEN"
	envWriterToken = "ALERTSTORE_WRITER_TOKEN"
)

// serveOptions are serve's own flags.
type serveOptions struct {
	listen, tokenFile, tlsCert, tlsKey string
	insecure, anyNS, admin             bool
	maxBody                            int64
	shutdown                           time.Duration
}

func newServeCmd(env *cliEnv) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "serve the store over HTTP: the API, the live dashboard, metrics (the main command; prints the URL)",
		Long: "serve opens the store (--dsn, $" + envDSN + ", else the embedded default) and serves it over HTTP\n" +
			"until SIGINT or SIGTERM: the JSON API, an event stream of new alerts, the live dashboard,\n" +
			"Prometheus metrics, and the protocol of the alertstore+http:// client, so that other\n" +
			"commands share this store. Its first line on stdout is \"dashboard: <URL>\". See docs/serve.md.",
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmdServe(cmd.Context(), env, cmd, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", server.DefaultAddr, "address to listen on; a non-loopback one needs TLS and tokens (or --insecure-listen)")
	f.StringVar(&o.tokenFile, "token-file", "", "bearer tokens, one \"reader <token>\" or \"writer <token>\" per line (default: $"+envReaderToken+" and $"+envWriterToken+"; none: every route is open)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate (PEM): serve HTTPS")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS private key (PEM)")
	f.BoolVar(&o.insecure, "insecure-listen", false, "allow a non-loopback --listen without TLS or tokens")
	f.BoolVar(&o.anyNS, "any-namespace", false, "let alertstore+http clients open other namespaces (prefix=) of the DSN")
	f.BoolVar(&o.admin, "admin", false, "let writer clients drop a namespace and set its cap through the server")
	f.Int64Var(&o.maxBody, "max-body", 32<<20, "largest JSON body in bytes (NDJSON is streamed; each line is bounded by max_alert_bytes)")
	f.DurationVar(&o.shutdown, "shutdown-timeout", 10*time.Second, "how long shutdown waits for requests in flight")
	return cmd
}

// cmdServe runs the HTTP server (package server) on the store until
// SIGINT or SIGTERM, then shuts down gracefully and closes the store the
// way every command does (a chain replays its backlog first).
func cmdServe(ctx context.Context, env *cliEnv, cmd *cobra.Command, o *serveOptions) (err error) {
	if !cmd.Flags().Changed("log-level") {
		env.globals.logLevel = "info" // a server logs its requests unless told otherwise
	}
	tokens, err := serveTokens(o.tokenFile)
	if err != nil {
		return err
	}
	lc := server.ListenConfig{Addr: o.listen, TLSCert: o.tlsCert, TLSKey: o.tlsKey, InsecureListen: o.insecure, ShutdownTimeout: o.shutdown}
	if err := server.CheckListen(lc, tokens); err != nil {
		return usagef("%v", trimConfig(err))
	}
	dsn, err := resolveDSN(env.globals.dsn)
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
		DSN: dsn, Tokens: tokens, Logger: logger, MaxBodyBytes: o.maxBody,
		AnyNamespace: o.anyNS, Admin: o.admin, Metrics: metrics, Dashboard: dashboardHandler(),
	})
	lc.Ready = func(url string) {
		fmt.Fprintf(env.stdout, "dashboard: %s\n", url)
		env.notef("serving %s (%s) on %s; Ctrl-C to stop", s.Backend(), registry.RedactDSN(dsn), url)
	}
	if err := server.Run(ctx, srv, lc); err != nil {
		return err
	}
	env.notef("stopped; closing the store")
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
