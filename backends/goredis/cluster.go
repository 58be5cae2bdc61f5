package goredis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/cluster"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/registry"
)

// SchemeCluster is a Redis Cluster (or Valkey Cluster), on go-redis'
// cluster client: redis+cluster://node1:7000?addr=node2:7001.
const SchemeCluster = "redis+cluster"

func init() {
	registry.Register(SchemeCluster, openCluster)
}

// openCluster opens redis+cluster://. Like redis://, it connects lazily:
// the first call finds the cluster (CLUSTER SLOTS from a seed).
func openCluster(_ context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
	cc, err := cluster.ParseDSN(dsn, cfg)
	if err != nil {
		return nil, err
	}
	rcc := redis.NewClusterClient(clusterOptions(cc, cfg))
	c := newClusterClient(rcc)
	opts := &redislist.Options{
		CloseClient: true,
		As:          asClusterClient(rcc),
		Append:      redislist.AppendOptions{MinReplicas: cc.MinReplicas, ReplicaTimeout: cc.ReplicaTimeout},
	}
	if cc.Shards > 1 {
		return redislist.NewSharded(c, cfg, cc.Shards, opts), nil
	}
	return redislist.NewCluster(c, cfg, opts), nil
}

// clusterOptions translates our configuration into go-redis'. As for
// redis://, the settings the guarantees rest on are not configurable.
func clusterOptions(cc cluster.Config, cfg backend.Config) *redis.ClusterOptions {
	if cfg.Timeout <= 0 {
		cfg.Timeout = backend.DefaultTimeout
	}
	rc := cc.Data
	rt, wt := rc.ReadTimeout, rc.WriteTimeout
	if rt == 0 {
		rt = cfg.Timeout
	}
	if wt == 0 {
		wt = cfg.Timeout
	}
	return &redis.ClusterOptions{
		Addrs:        cc.Seeds,
		Username:     rc.Username,
		Password:     rc.Password,
		ClientName:   ClientName,
		DialTimeout:  rc.DialTimeout,
		ReadTimeout:  rt,
		WriteTimeout: wt,
		PoolSize:     rc.PoolSize,
		PoolTimeout:  cfg.Timeout,
		TLSConfig:    rc.TLS,

		// The node clients never resend a command. The cluster client's
		// own loop follows MOVED and ASK (nothing ran) and, for reads,
		// retries after a dropped connection; writes do not go through
		// that loop (see clusterClient.Append).
		MaxRetries:    -1,
		DialerRetries: 1,
		// Reads and writes go to masters: a replica may lag, and a read
		// after an acknowledged write must see it.
		ReadOnly:                 false,
		ContextTimeoutEnabled:    true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
}

// clusterClient runs the layout on go-redis' cluster client. Reads go
// through the cluster client, which routes them by key and follows
// redirections. Writes that must not run twice (the append, the
// namespace scripts) go to the slot's master on a connection of its own,
// because the cluster client resends a transaction after a dropped
// connection (txRetryConn in go-redis' osscluster.go), which could store
// an alert twice; MOVED and ASK, which mean that nothing ran, are
// followed here.
type clusterClient struct {
	*client
	cc *redis.ClusterClient
}

var _ redislist.Client = (*clusterClient)(nil)

func newClusterClient(cc *redis.ClusterClient) *clusterClient {
	base := &client{
		rdb:       cc,
		subscribe: cc.SSubscribe,
		window:    redis.NewScript(redislist.WindowScript),
		repair:    redis.NewScript(redislist.RepairScript),
	}
	return &clusterClient{client: base, cc: cc}
}

// maxRedirects bounds the MOVED/ASK hops of one write.
const maxRedirects = 3

// onMaster runs fn on the master of key's slot, following MOVED (the slot
// moved for good: the slot map is reloaded) and ASK (the slot is in
// migration and the key already on the target: fn runs there after
// ASKING). fn's error is returned untranslated.
func (c *clusterClient) onMaster(ctx context.Context, key string, fn func(node *redis.Client, asking bool) error) error {
	node, err := c.cc.MasterForKey(ctx, key)
	if err != nil {
		return err
	}
	asking := false
	for hop := 0; ; hop++ {
		err = fn(node, asking)
		kind, addr, ok := redirectOf(err)
		if !ok || hop == maxRedirects {
			return err
		}
		asking = kind == "ASK"
		if !asking {
			c.cc.ReloadState(ctx)
		}
		next, nerr := c.nodeAt(ctx, addr)
		if nerr != nil {
			return err
		}
		node = next
	}
}

// nodeAt returns the cluster client's client for the master at addr,
// reloading the slot map once if it does not know it yet.
func (c *clusterClient) nodeAt(ctx context.Context, addr string) (*redis.Client, error) {
	for range 2 {
		var mu sync.Mutex
		var found *redis.Client
		_ = c.cc.ForEachMaster(ctx, func(_ context.Context, n *redis.Client) error {
			if n.Options().Addr == addr {
				mu.Lock()
				found = n
				mu.Unlock()
			}
			return nil
		})
		if found != nil {
			return found, nil
		}
		c.cc.ReloadState(ctx)
	}
	return nil, fmt.Errorf("goredis: cluster: no master at %s", addr)
}

// redirectOf finds a MOVED or ASK reply in err.
func redirectOf(err error) (kind, addr string, ok bool) {
	var rerr redis.Error
	if err == nil || !errors.As(err, &rerr) {
		return "", "", false
	}
	return redislist.Redirect(rerr.Error())
}

// Append is the append transaction (see redislist.Client) in a cluster:
// MULTI, RPUSH, INCRBY, LTRIM, MGET, EXEC on the master of the list's
// slot, then WAIT on the same connection when min_replicas asks for it,
// and SPUBLISH through the cluster client. Every key is in one slot
// (redislist.ClusterKeys).
//
// SPUBLISH is not in the transaction: Valkey 8.1 runs a transaction
// holding SPUBLISH on a slot's importing node even when some of its keys
// are still on the source (without it: TRYAGAIN), which forks the
// namespace's keys in two and stops the migration with BUSYKEY. A lost
// wake-up costs a watcher one poll interval, nothing else.
func (c *clusterClient) Append(ctx context.Context, k redislist.Keys, payloads [][]byte, max int, o redislist.AppendOptions) (redislist.AppendResult, error) {
	args := make([]any, len(payloads))
	for i, p := range payloads {
		args[i] = p
	}
	n := int64(len(payloads))
	r := redislist.AppendResult{Acked: -1}
	var push, incr *redis.IntCmd
	var capv *redis.SliceCmd
	var wait *redis.IntCmd
	err := c.onMaster(ctx, k.List, func(node *redis.Client, asking bool) error {
		cn := node.Conn()
		defer func() { _ = cn.Close() }()
		if asking {
			if err := cn.Do(ctx, "ASKING").Err(); err != nil {
				return err
			}
		}
		cmds, err := cn.TxPipelined(ctx, func(p redis.Pipeliner) error {
			push = p.RPush(ctx, k.List, args...)
			incr = p.IncrBy(ctx, k.Seq, n)
			p.LTrim(ctx, k.List, -int64(max), -1)
			capv = p.MGet(ctx, k.Cap)
			return nil
		})
		if err != nil {
			// A redirection shows on the queued commands (EXECABORT
			// on EXEC): report it, so that onMaster follows it.
			for _, cmd := range cmds {
				if _, _, ok := redirectOf(cmd.Err()); ok {
					return cmd.Err()
				}
			}
			return err
		}
		if o.MinReplicas > 0 {
			wait = cn.Wait(ctx, o.MinReplicas, o.ReplicaTimeout)
		}
		return nil
	})
	switch {
	case err == nil:
		r.Pushed, r.Seq = push.Val(), incr.Val()
	case push != nil && push.Err() != nil:
		// RPUSH refused (WRONGTYPE), or a failure set on every command
		// (a redirection we gave up on, the transport): nothing stored.
		return r, translate(push.Err())
	case incr != nil && incr.Err() != nil && errors.Is(err, incr.Err()):
		// Only INCRBY failed: the alerts are stored, the driver repairs.
		r.Pushed, r.Seq = push.Val(), -1
	default:
		return r, translate(err)
	}
	// The wake-up for watchers, to the slot's owner (where SSUBSCRIBE
	// is); its failure is not the append's.
	_ = c.cc.SPublish(ctx, k.Events, strconv.FormatInt(n, 10)).Err()
	r.Cap = capOf(capv.Val())
	if wait != nil {
		if acked, werr := wait.Result(); werr != nil {
			r.WaitErr = translate(werr)
		} else {
			r.Acked = acked
		}
	}
	return r, nil
}

// Eval runs a script of redislist on the master of keys[0]'s slot, never
// resent (ClearScript and SetCapScript each leave an audit record).
func (c *clusterClient) Eval(ctx context.Context, script string, keys, args []string) ([]string, error) {
	s, _ := c.scripts.LoadOrStore(script, redis.NewScript(script))
	var v any
	err := c.onMaster(ctx, keys[0], func(node *redis.Client, asking bool) error {
		if !asking {
			var err error
			v, err = s.(*redis.Script).Run(ctx, node, keys, stringArgs(args)...).Result()
			return err
		}
		cn := node.Conn()
		defer func() { _ = cn.Close() }()
		if err := cn.Do(ctx, "ASKING").Err(); err != nil {
			return err
		}
		var err error
		// EVAL, not EVALSHA: ASKING covers one command, so no NOSCRIPT
		// fallback on this connection.
		v, err = s.(*redis.Script).Eval(ctx, cn, keys, stringArgs(args)...).Result()
		return err
	})
	return stringsReply(v, err)
}

// asClusterClient is the driver's As for redis+cluster://: a
// *redis.UniversalClient gets the cluster client.
func asClusterClient(cc *redis.ClusterClient) func(any) bool {
	return func(i any) bool {
		p, ok := i.(*redis.UniversalClient)
		if ok {
			*p = cc
		}
		return ok
	}
}
