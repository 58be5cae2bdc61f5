package containers

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/internal/resp"
)

// This file holds a minimal RESP2 client on the module's RESP reader
// (internal/resp), which the Sentinel master check of the backends uses
// too.
//
// Why not go-redis or valkey-go: those are the clients whose backends the
// conformance suite tests. The readiness gates here must not depend on the
// code under test (a client bug must not hide as "server never ready"), nor
// pin a client version for every backend importing this package. The
// commands used here (PING, INFO, ROLE, WAIT, SENTINEL, SET) need nothing
// beyond RESP2.

// RedisError is an error reply from the server ("-ERR ...").
type RedisError = resp.Error

// defaultCommandTimeout bounds a command whose context has no deadline, so
// a paused server cannot hang a readiness loop forever.
const defaultCommandTimeout = 5 * time.Second

// Conn is one connection to a server. Most callers want [Server.Do], which
// uses a fresh connection per command; a Conn is for sequences that must
// share one: WAIT counts replica acknowledgements of the writes made on
// its own connection, so SET on one connection and WAIT on another
// returns at once, whatever the replicas have.
//
// A Conn is not safe for concurrent use.
type Conn struct {
	conn net.Conn
	r    *bufio.Reader
}

// dial connects to addr, with TLS if tc is not nil, and authenticates
// with password if it is set.
func dial(ctx context.Context, addr, password string, tc *tls.Config) (*Conn, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultCommandTimeout)
	}
	d := net.Dialer{Deadline: deadline}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		_ = nc.SetDeadline(deadline)
		tlsConn := tls.Client(nc, tc)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("TLS: %w", err)
		}
		nc = tlsConn
	}
	c := &Conn{conn: nc, r: bufio.NewReader(nc)}
	if password != "" {
		if _, err := c.Do(ctx, "AUTH", password); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("AUTH: %w", err)
		}
	}
	return c, nil
}

// Do sends one command and returns its reply: string for simple and bulk
// strings, int64 for integers, []any for arrays, nil for null replies, and
// a [RedisError] as the error for error replies. It gives up at ctx's
// deadline, or after 5s if ctx has none; a timeout error matches
// context.DeadlineExceeded. After a timeout the Conn is unusable.
func (c *Conn) Do(ctx context.Context, args ...string) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("containers: empty command")
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultCommandTimeout)
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	// Unblock a read when ctx is cancelled before its deadline.
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	v, err := roundTrip(c.conn, c.r, args...)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The connection deadline is ctx's deadline (or ours): report it
		// the same way whichever of the two timers fired first.
		err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return v, err
}

// Close closes the connection.
func (c *Conn) Close() error { return c.conn.Close() }

// do sends one command to addr on a fresh connection (TLS if tc is not
// nil); see [Conn.Do].
func do(ctx context.Context, addr, password string, tc *tls.Config, args ...string) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("containers: empty command")
	}
	c, err := dial(ctx, addr, password, tc)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close() }() // one command on a connection of its own
	return c.Do(ctx, args...)
}

func roundTrip(w io.Writer, r *bufio.Reader, args ...string) (any, error) {
	if err := resp.WriteCommand(w, args...); err != nil {
		return nil, err
	}
	return readReply(r)
}

// readReply reads one reply with internal/resp's default limits.
func readReply(r *bufio.Reader) (any, error) { return resp.Read(r) }

// infoField returns the value of field in an INFO reply ("field:value"
// lines), and whether it was present.
func infoField(info, field string) (string, bool) {
	for _, l := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(l, "\r"), ":")
		if ok && k == field {
			return v, true
		}
	}
	return "", false
}

// pairsToMap converts a flat [k1 v1 k2 v2 ...] array, as SENTINEL REPLICAS
// returns for each entry, into a map.
func pairsToMap(v any) (map[string]string, error) {
	arr, ok := v.([]any)
	if !ok || len(arr)%2 != 0 {
		return nil, fmt.Errorf("containers: expected key/value array, got %T (%v)", v, v)
	}
	m := make(map[string]string, len(arr)/2)
	for i := 0; i < len(arr); i += 2 {
		k, _ := arr[i].(string)
		val, _ := arr[i+1].(string)
		m[k] = val
	}
	return m, nil
}
