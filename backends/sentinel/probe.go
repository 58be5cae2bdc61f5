package sentinel

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// This file holds the few RESP2 round trips of the master check: asking a
// sentinel where the master is, and asking that node its ROLE. They are
// ours, not go-redis' or valkey-go's, so that the check is one piece of
// code for both schemes and judges the libraries' routing instead of
// repeating it. Every probe is one short-lived connection: the check runs
// every few seconds, and a connection kept open between runs would only
// add a failure mode (half-open after a pause) to the code that is there
// to detect failures.

// replyError is an error reply ("-READONLY ...").
type replyError string

func (e replyError) Error() string { return string(e) }

// code is the reply's first word ("WRONGPASS").
func (e replyError) code() string { c, _, _ := strings.Cut(string(e), " "); return c }

// authFailure reports whether err is a server's refusal of our
// credentials or rights, which retrying will not cure.
func authFailure(err error) bool {
	var re replyError
	if !errors.As(err, &re) {
		return false
	}
	switch re.code() {
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
	r  *bufio.Reader
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
	c := &probeConn{nc: nc, r: bufio.NewReader(nc)}
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
// a replyError as the error.
func (c *probeConn) do(args ...string) (any, error) {
	if err := c.send(args...); err != nil {
		return nil, err
	}
	return c.read()
}

func (c *probeConn) send(args ...string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	_, err := io.WriteString(c.nc, b.String())
	return err
}

// maxProbeReply bounds a bulk string or an array of a reply: the answers
// of SENTINEL and ROLE are small, so anything big is not a sentinel.
const maxProbeReply = 1 << 20

func (c *probeConn) read() (any, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return nil, fmt.Errorf("malformed reply %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, replyError(body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n > maxProbeReply {
			return nil, fmt.Errorf("malformed bulk length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n > maxProbeReply {
			return nil, fmt.Errorf("malformed array length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		out := make([]any, n)
		for i := range out {
			v, err := c.read()
			var re replyError
			if err != nil && !errors.As(err, &re) {
				return nil, err
			}
			if err != nil {
				v = re
			}
			out[i] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected reply type %q", line[0])
}

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
