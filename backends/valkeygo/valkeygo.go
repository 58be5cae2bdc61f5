package valkeygo

import (
	"context"
	"fmt"
	"net"

	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redisconf"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/registry"
)

// The DSN schemes this backend registers.
const (
	// Scheme is plain TCP: valkey://host:6379/0.
	Scheme = "valkey"
	// SchemeTLS is TCP with TLS: valkeys://host:6380/0.
	SchemeTLS = "valkeys"
	// SchemeSentinel is a master with replicas behind Redis Sentinel, on
	// valkey-go's sentinel client: valkey+sentinel://s1:26379/mymaster.
	SchemeSentinel = "valkey+sentinel"
)

// ClientName is the connection name this backend sets (CLIENT SETNAME), on
// sentinels too, so that CLIENT LIST on the server shows which connections
// are alertstore's.
const ClientName = "alertstore"

func init() {
	registry.Register(Scheme, opener(redisconf.TCP))
	registry.Register(SchemeTLS, opener(redisconf.TLS))
	registry.Register(SchemeSentinel, openSentinel)
}

func opener(t redisconf.Transport) registry.Opener {
	return func(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
		rc, err := redisconf.Parse(dsn, t)
		if err != nil {
			return nil, err
		}
		c := newClient(newLazy(clientOption(rc, cfg)))
		return redislist.New(c, cfg, &redislist.Options{CloseClient: true, As: c.asFunc(cfg.Timeout)}), nil
	}
}

// clientOption translates our configuration into valkey-go's. The settings
// that make the guarantees of the package doc are not configurable.
func clientOption(rc redisconf.Config, cfg backend.Config) valkey.ClientOption {
	if cfg.Timeout <= 0 {
		cfg.Timeout = backend.DefaultTimeout
	}
	rw := max(rc.ReadTimeout, rc.WriteTimeout)
	if rw == 0 {
		rw = cfg.Timeout
	}
	return valkey.ClientOption{
		InitAddress:      []string{rc.Addr},
		Username:         rc.Username,
		Password:         rc.Password,
		SelectDB:         rc.DB,
		ClientName:       ClientName,
		Dialer:           net.Dialer{Timeout: rc.DialTimeout},
		TLSConfig:        rc.TLS,
		ConnWriteTimeout: rw,
		BlockingPoolSize: rc.PoolSize,

		// Never resend a command: see the package doc.
		DisableRetry: true,
		// We read nothing through the client-side cache, so do not ask
		// the server to track keys for it.
		DisableCache: true,
		// One server, chosen by the DSN: do not probe for a cluster.
		ForceSingleClient: true,
	}
}

// OpenClient returns a driver on a valkey-go client the caller created and
// keeps: Close of the driver does not close it. valkey-go never retries a
// MULTI/EXEC with a write in it, so the exactly-once argument of the
// package doc holds for any client; set ClientOption.DisableRetry for the
// reads to fail as this backend's own do. Wrap the driver with
// backend.NewStore(drv, Scheme, cfg).
func OpenClient(client valkey.Client, cfg backend.Config) (backend.Driver, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: valkeygo: nil client", backend.ErrInvalidConfig)
	}
	if cfg.Prefix != "" {
		if err := registry.CheckPrefix(cfg.Prefix); err != nil {
			return nil, err
		}
	}
	c := newClient(fixed{client})
	return redislist.New(c, cfg, &redislist.Options{As: c.asFunc(cfg.Timeout)}), nil
}
