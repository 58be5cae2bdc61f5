package goredis

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/sentinel"
	"github.com/apt-detection/alertstore/registry"
)

// openSentinel opens redis+sentinel://: the library-neutral part (DSN,
// master check, ROLE and WAIT on appends) is backends/internal/sentinel,
// the client is go-redis' failover client.
func openSentinel(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
	return sentinel.Open(ctx, dsn, cfg, func(_ context.Context, c sentinel.Config) (sentinel.Client, error) {
		return newFailoverClient(c), nil
	})
}

// failoverClient is go-redis' failover client (redis.NewFailoverClient),
// whose every connection is dialled through a tracker so that the monitor
// can drop the ones to a node that is no longer the master.
type failoverClient struct {
	*client
	tracker *connTracker
}

var _ sentinel.Client = (*failoverClient)(nil)

func newFailoverClient(c sentinel.Config) *failoverClient {
	tracker := &connTracker{tls: c.Data.TLS, dialTimeout: c.Data.DialTimeout, conns: map[*trackedConn]struct{}{}}
	return &failoverClient{
		client:  newClient(redis.NewFailoverClient(failoverOptions(c, tracker))),
		tracker: tracker,
	}
}

// Retarget closes the connections to every data node other than master;
// go-redis replaces them on next use, asking its sentinel where the
// master is.
func (f *failoverClient) Retarget(master string, dataNodes map[string]bool) {
	f.tracker.closeExcept(master, dataNodes)
}

// failoverOptions translates our configuration into go-redis'. The
// settings the guarantees rest on are not configurable, as for redis://:
// no command is ever resent, every call honours its context.
func failoverOptions(c sentinel.Config, tracker *connTracker) *redis.FailoverOptions {
	rt, wt := c.Data.ReadTimeout, c.Data.WriteTimeout
	if rt == 0 {
		rt = c.Timeout
	}
	if wt == 0 {
		wt = c.Timeout
	}
	return &redis.FailoverOptions{
		MasterName:    c.MasterName,
		SentinelAddrs: c.Sentinels,
		ClientName:    ClientName,

		// go-redis' naming: Sentinel* authenticate to the sentinels,
		// Username/Password to the master and replicas.
		SentinelUsername: c.SentinelUsername,
		SentinelPassword: c.SentinelPassword,
		Username:         c.Data.Username,
		Password:         c.Data.Password,
		DB:               c.Data.DB,

		// The tracker dials, with TLS when configured: go-redis uses the
		// same Dialer (and TLS settings) for sentinels and data nodes.
		Dialer:       tracker.dial,
		DialTimeout:  c.Data.DialTimeout,
		ReadTimeout:  rt,
		WriteTimeout: wt,
		PoolSize:     c.Data.PoolSize,
		PoolTimeout:  c.Timeout,

		MaxRetries:            -1,
		DialerRetries:         1,
		ContextTimeoutEnabled: true,
	}
}

// connTracker dials go-redis' connections, to sentinels and data nodes
// alike (go-redis has one Dialer for both), and remembers each with the
// address it was dialled for.
type connTracker struct {
	tls         *tls.Config
	dialTimeout time.Duration

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func (t *connTracker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: t.dialTimeout, KeepAlive: 5 * time.Minute}
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if t.tls != nil {
		cfg := t.tls.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, err
		}
		nc = tc
	}
	c := &trackedConn{Conn: nc, addr: addr, t: t}
	t.mu.Lock()
	t.conns[c] = struct{}{}
	t.mu.Unlock()
	if _, ok := nc.(syscall.Conn); ok {
		return &trackedSysConn{c}, nil
	}
	return c, nil
}

// closeExcept closes every connection to a data node other than master.
// Connections to sentinels are not data nodes and stay.
func (t *connTracker) closeExcept(master string, dataNodes map[string]bool) int {
	t.mu.Lock()
	var doomed []*trackedConn
	for c := range t.conns {
		if c.addr != master && dataNodes[c.addr] {
			doomed = append(doomed, c)
		}
	}
	t.mu.Unlock()
	for _, c := range doomed {
		_ = c.Close()
	}
	return len(doomed)
}

// addrs lists the addresses of the open connections, for tests.
func (t *connTracker) addrs() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]int{}
	for c := range t.conns {
		out[c.addr]++
	}
	return out
}

type trackedConn struct {
	net.Conn
	addr string
	t    *connTracker
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		delete(c.t.conns, c)
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}

// trackedSysConn is a trackedConn on a plain TCP socket. Its SyscallConn
// lets go-redis' pool health check see the socket, so that a connection
// closed by closeExcept while idle is discarded when it is next taken from
// the pool instead of failing the command sent on it. (A TLS connection
// has no such method: go-redis then skips the check.)
type trackedSysConn struct{ *trackedConn }

func (c *trackedSysConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}
