package sentinel

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/backends/internal/goredisconv"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
)

// goredisClient is the redis+sentinel client: go-redis' failover client
// (redis.NewFailoverClient), whose every connection is dialled through a
// tracker so that the monitor can drop the ones to a node that is no
// longer the master.
type goredisClient struct {
	rdb     *redis.Client
	tracker *connTracker
	repair  *redis.Script
}

// failoverOptions translates our configuration into go-redis'. The
// settings the guarantees rest on are not configurable, as in the goredis
// backend: no command is ever resent, every call honours its context.
func failoverOptions(c config, tracker *connTracker) *redis.FailoverOptions {
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

func newGoredisClient(c config) *goredisClient {
	tracker := &connTracker{tls: c.Data.TLS, dialTimeout: c.Data.DialTimeout, conns: map[*trackedConn]struct{}{}}
	return &goredisClient{
		rdb:     redis.NewFailoverClient(failoverOptions(c, tracker)),
		tracker: tracker,
		repair:  redis.NewScript(redislist.RepairScript),
	}
}

func (g *goredisClient) driver(cfg backend.Config) (backend.Driver, error) {
	return goredis.OpenClient(g.rdb, cfg)
}

func (g *goredisClient) append(ctx context.Context, k redislist.Keys, payloads [][]byte, max int, w waitFor) (txResult, error) {
	args := make([]any, len(payloads))
	for i, p := range payloads {
		args[i] = p
	}
	n := int64(len(payloads))
	var role *redis.Cmd
	var push, incr *redis.IntCmd
	queue := func(p redis.Pipeliner) error {
		role = p.Do(ctx, "ROLE")
		push = p.RPush(ctx, k.List, args...)
		incr = p.IncrBy(ctx, k.Seq, n)
		p.LTrim(ctx, k.List, -int64(max), -1)
		p.Publish(ctx, k.Events, n)
		return nil
	}
	var err error
	var cn *redis.Conn
	if w.replicas > 0 {
		// WAIT counts the writes of its own connection: pin one.
		cn = g.rdb.Conn()
		defer cn.Close()
		_, err = cn.TxPipelined(ctx, queue)
	} else {
		_, err = g.rdb.TxPipelined(ctx, queue)
	}
	var r txResult
	switch {
	case err == nil:
	case role != nil && role.Err() != nil && !errors.Is(role.Err(), redis.Nil) && err == role.Err():
		return r, translateGoredis(role.Err())
	case push != nil && push.Err() != nil:
		return r, translateGoredis(push.Err())
	case incr != nil && incr.Err() != nil && err == incr.Err():
		// Only INCRBY failed: the alerts are stored, the counter is
		// repaired (see redislist.Client).
		r.role, r.pushed, r.seq = roleOf(role.Val()), push.Val(), -1
	default:
		// Decide on the returned error, never on the commands alone
		// (go-redis #2871: a failed AUTH leaves them without error).
		return r, translateGoredis(err)
	}
	if err == nil {
		r.role, r.pushed, r.seq = roleOf(role.Val()), push.Val(), incr.Val()
	}
	r.acked = -1
	if w.replicas > 0 && r.role == "master" {
		acked, err := cn.Wait(ctx, w.replicas, w.timeout).Result()
		if err != nil {
			r.waitErr = translateGoredis(err)
		} else {
			r.acked = acked
		}
	}
	return r, nil
}

// roleOf reads the role from ROLE's reply.
func roleOf(v any) string {
	arr, _ := v.([]any)
	if len(arr) == 0 {
		return ""
	}
	s, _ := arr[0].(string)
	return s
}

func (g *goredisClient) repairSeq(ctx context.Context, k redislist.Keys, seq, pushed int64) error {
	return translateGoredis(g.repair.Run(ctx, g.rdb, []string{k.List, k.Seq}, seq, pushed).Err())
}

// retarget closes the connections to every data node other than master;
// go-redis replaces them on next use, asking its sentinel where the
// master is.
func (g *goredisClient) retarget(master string, dataNodes map[string]bool) {
	g.tracker.closeExcept(master, dataNodes)
}

func (g *goredisClient) close() error {
	if err := g.rdb.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return translateGoredis(err)
	}
	return nil
}

// translateGoredis maps the client's errors as its backend does.
var translateGoredis = goredisconv.Error

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
