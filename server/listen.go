package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// DefaultAddr is where `alertstore serve` listens unless told: loopback
// only, so that a fresh install is not on the network.
const DefaultAddr = "127.0.0.1:8080"

// ListenConfig says where and how Run listens.
type ListenConfig struct {
	// Addr is host:port. Default DefaultAddr. Port 0 picks a free port
	// (Ready is told which).
	Addr string
	// TLSCert and TLSKey, both or neither, are PEM files: HTTPS.
	TLSCert, TLSKey string
	// InsecureListen allows a non-loopback address without TLS or without
	// tokens. Without it Run refuses: tokens would cross the network in
	// clear text, or anybody on it could read and write.
	InsecureListen bool
	// ShutdownTimeout bounds how long shutdown waits for requests in
	// flight. Default 10s.
	ShutdownTimeout time.Duration
	// Ready, if not nil, is called with the base URL once the listener is
	// open.
	Ready func(url string)
}

// IsLoopback reports whether the host of addr is a loopback address or
// "localhost"; an empty host (every interface) is not.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckListen refuses what Run would refuse, before anything is opened.
func CheckListen(lc ListenConfig, tokens *Tokens) error {
	if (lc.TLSCert == "") != (lc.TLSKey == "") {
		return fmt.Errorf("%w: give both --tls-cert and --tls-key, or neither", backend.ErrInvalidConfig)
	}
	addr := lc.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%w: --listen %q: want host:port, e.g. %s", backend.ErrInvalidConfig, addr, DefaultAddr)
	}
	if IsLoopback(addr) || lc.InsecureListen {
		return nil
	}
	if lc.TLSCert == "" {
		return fmt.Errorf("%w: --listen %s is not a loopback address and there is no TLS (--tls-cert, --tls-key): tokens and alerts would cross the network in clear text; add TLS, or --insecure-listen if something else encrypts the traffic", backend.ErrInvalidConfig, addr)
	}
	if tokens.Empty() {
		return fmt.Errorf("%w: --listen %s is not a loopback address and no token is configured (--token-file): anybody who reaches it could read and write; add tokens, or --insecure-listen", backend.ErrInvalidConfig, addr)
	}
	return nil
}

// Run serves h on lc.Addr until ctx is done, then shuts down gracefully:
// it stops accepting, ends the streams, lets uploads store what they read
// and answer, waits for requests in flight (up to ShutdownTimeout), and
// closes h. The store is the caller's to close after Run returns.
func Run(ctx context.Context, h *Server, lc ListenConfig) error {
	if err := CheckListen(lc, h.opts.Tokens); err != nil {
		return err
	}
	if lc.Addr == "" {
		lc.Addr = DefaultAddr
	}
	if lc.ShutdownTimeout <= 0 {
		lc.ShutdownTimeout = 10 * time.Second
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	scheme := "http"
	if lc.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(lc.TLSCert, lc.TLSKey)
		if err != nil {
			return fmt.Errorf("%w: loading the TLS certificate and key: %w", backend.ErrInvalidConfig, err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		scheme = "https"
	}
	ln, err := net.Listen("tcp", lc.Addr)
	if err != nil {
		return fmt.Errorf("%w: listening on %s: %w", backend.ErrUnavailable, lc.Addr, err)
	}
	if srv.TLSConfig != nil {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	h.log.Info("listening", "addr", ln.Addr().String(), "tls", srv.TLSConfig != nil, "tokens", !h.opts.Tokens.Empty())
	if lc.Ready != nil {
		lc.Ready(scheme + "://" + ln.Addr().String() + "/")
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		_ = h.Close()
		return fmt.Errorf("%w: serving: %w", backend.ErrUnavailable, err)
	case <-ctx.Done():
	}
	h.log.Info("shutting down", "timeout", lc.ShutdownTimeout)
	h.Stop()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lc.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if err != nil {
		// Requests still in flight after the timeout: cut them; what they
		// stored was stored, what they had not is not acknowledged.
		_ = srv.Close()
	}
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, h.Close())
}
