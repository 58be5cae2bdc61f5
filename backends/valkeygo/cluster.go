package valkeygo

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/cluster"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/registry"
)

// SchemeCluster is a Valkey Cluster (or Redis Cluster), on valkey-go's
// cluster client: valkey+cluster://node1:7000?addr=node2:7001.
const SchemeCluster = "valkey+cluster"

func init() {
	registry.Register(SchemeCluster, openCluster)
}

// openCluster opens valkey+cluster://. It connects lazily, as valkey://
// does; the first connection must find a cluster (a seed that is a
// standalone server is refused, not used as one).
func openCluster(_ context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
	cc, err := cluster.ParseDSN(dsn, cfg)
	if err != nil {
		return nil, err
	}
	c := newClient(&clusterSource{lazy: newLazy(clusterOption(cc, cfg)), seeds: cc.Seeds})
	c.sharded = true
	opts := &redislist.Options{
		CloseClient: true,
		As:          c.asFunc(cfg.Timeout),
		// With min_replicas, ROLE in the transaction: the shared append
		// reads WAIT's reply only after ROLE said master (in a cluster a
		// replica answers MOVED before it could say otherwise).
		Append: redislist.AppendOptions{Role: cc.MinReplicas > 0, MinReplicas: cc.MinReplicas, ReplicaTimeout: cc.ReplicaTimeout},
	}
	if cc.Shards > 1 {
		return redislist.NewSharded(c, cfg, cc.Shards, opts), nil
	}
	return redislist.NewCluster(c, cfg, opts), nil
}

// clusterOption translates our configuration into valkey-go's. As for
// valkey://, the settings the guarantees rest on are not configurable:
// valkey-go follows MOVED and ASK (nothing ran) but, with DisableRetry,
// resends nothing after a dropped connection.
func clusterOption(cc cluster.Config, cfg backend.Config) valkey.ClientOption {
	if cfg.Timeout <= 0 {
		cfg.Timeout = backend.DefaultTimeout
	}
	rc := cc.Data
	rw := max(rc.ReadTimeout, rc.WriteTimeout)
	if rw == 0 {
		rw = cfg.Timeout
	}
	return valkey.ClientOption{
		InitAddress:      cc.Seeds,
		Username:         rc.Username,
		Password:         rc.Password,
		ClientName:       ClientName,
		Dialer:           net.Dialer{Timeout: rc.DialTimeout},
		TLSConfig:        rc.TLS,
		ConnWriteTimeout: rw,
		BlockingPoolSize: rc.PoolSize,
		DisableRetry:     true,
		DisableCache:     true,
		// Reads go to masters (SendToReplicas nil): a replica may lag,
		// and a read after an acknowledged write must see it.
	}
}

// clusterSource is the lazy client of valkey+cluster://, which must be a
// cluster client: valkey-go picks the mode from what the seeds answer,
// and a standalone server behind a cluster DSN is a configuration
// mistake, not a cluster of one.
type clusterSource struct {
	*lazy
	seeds []string

	once sync.Once
	err  error
}

func (s *clusterSource) get(ctx context.Context) (valkey.Client, error) {
	c, err := s.lazy.get(ctx)
	if err != nil {
		return nil, err
	}
	s.once.Do(func() {
		if m := c.Mode(); m != valkey.ClientModeCluster {
			s.err = fmt.Errorf("%w: valkey+cluster: the seeds %v answer as a %s server, not a cluster node (cluster_enabled:0); use valkey:// for one server", backend.ErrInvalidConfig, s.seeds, m)
		}
	})
	if s.err != nil {
		return nil, s.err
	}
	return c, nil
}
