package sentinel

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/internal/resp"
)

// This file holds the few RESP2 round trips of the master check: asking a
// sentinel where the master is, and asking that node its ROLE. They are
// ours (on internal/resp, the reader the container helpers use too), not
// go-redis' or valkey-go's, so that the check is one piece of
// code for both schemes and judges the libraries' routing instead of
// repeating it. Every probe is one short-lived connection: the check runs
// every few seconds, and a connection kept open between runs would only
// add a failure mode (half-open after a pause) to the code that is there
// to detect failures.

// authFailure reports whether err is a server's refusal of our
// credentials or rights, which retrying will not cure.
func authFailure(err error) bool {
	var re resp.Error
	if !errors.As(err, &re) {
		return false
	}
	switch re.Code() {
	case "WRONGPASS", "NOAUTH", "NOPERM":
		return true
	case "ERR":
		// A server without a password answers AUTH with "ERR AUTH <password>
		// called without any password configured".
		return strings.Contains(string(re), "AUTH")
	}
	return false
}

// endpoint is how to reach one kind of node: the sentinels or the data
// nodes, each with its own credentials.
type endpoint struct {
	username, password string
	tls                *tls.Config
	dialTimeout        time.Duration
}

// probeConn is one connection of a probe.
type probeConn struct {
	nc net.Conn
	r  *resp.Reader
}

// dialProbe connects to addr, authenticating if ep has a password. The
// whole exchange is bounded by ctx's deadline.
func dialProbe(ctx context.Context, addr string, ep endpoint) (*probeConn, error) {
	d := net.Dialer{Timeout: ep.dialTimeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	if ep.tls != nil {
		cfg := ep.tls.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("TLS: %w", err)
		}
		nc = tc
	}
	c := &probeConn{nc: nc, r: resp.NewReader(bufio.NewReader(nc), probeLimits)}
	if ep.password != "" {
		args := []string{"AUTH", ep.password}
		if ep.username != "" {
			args = []string{"AUTH", ep.username, ep.password}
		}
		if _, err := c.do(args...); err != nil {
			_ = nc.Close()
			// Never the arguments: they hold the password.
			return nil, fmt.Errorf("AUTH: %w", err)
		}
	}
	return c, nil
}

func (c *probeConn) close() { _ = c.nc.Close() }

// do sends one command and reads its reply: string, int64, []any, nil, or
// a resp.Error as the error.
func (c *probeConn) do(args ...string) (any, error) {
	if err := c.send(args...); err != nil {
		return nil, err
	}
	return c.read()
}

func (c *probeConn) send(args ...string) error { return resp.WriteCommand(c.nc, args...) }

func (c *probeConn) read() (any, error) { return c.r.Read() }

// probeLimits bound a reply: the answers of SENTINEL and ROLE are small
// (SENTINEL REPLICAS is an array of about 40 fields per replica), so
// anything big is not a sentinel.
var probeLimits = resp.Limits{MaxBulk: 1 << 20, MaxArray: 1 << 12, MaxDepth: 3}

// sentinelView is what one sentinel says about the master name.
type sentinelView struct {
	// master is the address it gives for the master, host:port.
	master string
	// replicas are the replicas it knows, host:port, down ones included.
	replicas []string
}

// askSentinel asks the sentinel at addr where the master called name is,
// and which replicas it has, in one round trip.
func askSentinel(ctx context.Context, addr, name string, ep endpoint) (sentinelView, error) {
	var v sentinelView
	c, err := dialProbe(ctx, addr, ep)
	if err != nil {
		return v, err
	}
	defer c.close()
	if err := c.send("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name); err != nil {
		return v, err
	}
	if err := c.send("SENTINEL", "REPLICAS", name); err != nil {
		return v, err
	}
	m, err := c.read()
	if err != nil {
		return v, err
	}
	pair, ok := m.([]any)
	if m == nil {
		return v, errUnknownMaster
	}
	if !ok || len(pair) != 2 {
		return v, fmt.Errorf("unexpected GET-MASTER-ADDR-BY-NAME reply %v", m)
	}
	host, _ := pair[0].(string)
	port, _ := pair[1].(string)
	if host == "" || port == "" {
		return v, fmt.Errorf("unexpected GET-MASTER-ADDR-BY-NAME reply %v", m)
	}
	v.master = net.JoinHostPort(host, port)
	// An old sentinel without REPLICAS (before 5.0) answers an error: the
	// replicas are a help for dropping connections, not a necessity.
	if r, err := c.read(); err == nil {
		v.replicas = parseReplicas(r)
	}
	return v, nil
}

// errUnknownMaster is a sentinel's nil answer: it monitors no master of
// that name.
var errUnknownMaster = errors.New("monitors no master of that name")

// parseReplicas reads the addresses from SENTINEL REPLICAS' reply, an
// array of flat field/value arrays.
func parseReplicas(r any) []string {
	arr, _ := r.([]any)
	var out []string
	for _, e := range arr {
		fields, _ := e.([]any)
		var ip, port string
		for i := 0; i+1 < len(fields); i += 2 {
			k, _ := fields[i].(string)
			val, _ := fields[i+1].(string)
			switch k {
			case "ip":
				ip = val
			case "port":
				port = val
			}
		}
		if ip != "" && port != "" {
			out = append(out, net.JoinHostPort(ip, port))
		}
	}
	return out
}

// askRole returns the first element of ROLE at addr: "master", "slave" (a
// replica) or "sentinel".
func askRole(ctx context.Context, addr string, ep endpoint) (string, error) {
	c, err := dialProbe(ctx, addr, ep)
	if err != nil {
		return "", err
	}
	defer c.close()
	v, err := c.do("ROLE")
	if err != nil {
		return "", err
	}
	arr, _ := v.([]any)
	if len(arr) == 0 {
		return "", fmt.Errorf("unexpected ROLE reply %v", v)
	}
	role, _ := arr[0].(string)
	return role, nil
}
