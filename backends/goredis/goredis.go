package goredis

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redisconf"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/registry"
)

// The DSN schemes this backend registers.
const (
	// Scheme is plain TCP: redis://host:6379/0.
	Scheme = "redis"
	// SchemeTLS is TCP with TLS: rediss://host:6380/0.
	SchemeTLS = "rediss"
	// SchemeUnix is a Unix domain socket: unix:///run/redis/redis.sock?db=0.
	SchemeUnix = "unix"
	// SchemeSentinel is a master with replicas behind Redis Sentinel, on
	// go-redis' failover client: redis+sentinel://s1:26379/mymaster.
	SchemeSentinel = "redis+sentinel"
)

// ClientName is the connection name this backend sets (CLIENT SETNAME), on
// sentinels too, so that CLIENT LIST on the server shows which connections
// are alertstore's.
const ClientName = "alertstore"

func init() {
	registry.Register(Scheme, opener(redisconf.TCP))
	registry.Register(SchemeTLS, opener(redisconf.TLS))
	registry.Register(SchemeUnix, opener(redisconf.Unix))
	registry.Register(SchemeSentinel, openSentinel)
}

// opener parses the DSN before any I/O. Opening connects lazily: a server
// that is down at start-up fails the first call with ErrUnavailable, not
// Open, so that a producer (or a chain of backends) can start before Redis
// and recover when it comes up. Use Ping (`alertstore ping`) to check.
func opener(t redisconf.Transport) registry.Opener {
	return func(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
		rc, err := redisconf.Parse(dsn, t)
		if err != nil {
			return nil, err
		}
		rdb := redis.NewClient(clientOptions(rc, cfg))
		return redislist.New(newClient(rdb), cfg, &redislist.Options{CloseClient: true, As: asClient(rdb)}), nil
	}
}

// clientOptions translates our configuration into go-redis options. The
// settings that make the guarantees above are not configurable.
func clientOptions(rc redisconf.Config, cfg backend.Config) *redis.Options {
	if cfg.Timeout <= 0 {
		cfg.Timeout = backend.DefaultTimeout
	}
	rt, wt := rc.ReadTimeout, rc.WriteTimeout
	if rt == 0 {
		rt = cfg.Timeout
	}
	if wt == 0 {
		wt = cfg.Timeout
	}
	return &redis.Options{
		Network:      rc.Network,
		Addr:         rc.Addr,
		Username:     rc.Username,
		Password:     rc.Password,
		DB:           rc.DB,
		ClientName:   ClientName,
		DialTimeout:  rc.DialTimeout,
		ReadTimeout:  rt,
		WriteTimeout: wt,
		PoolSize:     rc.PoolSize,
		// Waiting for a free connection counts against the call's
		// deadline like everything else.
		PoolTimeout: cfg.Timeout,
		TLSConfig:   rc.TLS,

		// Never resend a command: see the package doc.
		MaxRetries: -1,
		// One dial attempt per call; the driver's read retry and the
		// caller decide about more.
		DialerRetries: 1,
		// Socket deadlines follow the call's context.
		ContextTimeoutEnabled: true,
		// The hitless-upgrade handshake (CLIENT MAINT_NOTIFICATIONS) is for
		// Redis Enterprise/Cloud; it is an extra round trip per connection
		// everywhere else.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
}

// OpenClient returns a driver on a go-redis client the caller created and
// keeps: Close of the driver does not close it. The client must not retry
// writes (Options.MaxRetries -1) and must honour contexts
// (Options.ContextTimeoutEnabled), or the guarantees of the package doc do
// not hold; OpenClient refuses it otherwise, with an error wrapping
// backend.ErrInvalidConfig. Wrap the driver with backend.NewStore(drv,
// Scheme, cfg).
func OpenClient(client *redis.Client, cfg backend.Config) (backend.Driver, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: goredis: nil client", backend.ErrInvalidConfig)
	}
	opt := client.Options()
	if opt.MaxRetries > 0 {
		return nil, fmt.Errorf("%w: goredis: the client retries commands (MaxRetries %d), which can store a write twice; set MaxRetries: -1", backend.ErrInvalidConfig, opt.MaxRetries)
	}
	if !opt.ContextTimeoutEnabled {
		return nil, fmt.Errorf("%w: goredis: the client ignores context deadlines; set ContextTimeoutEnabled: true", backend.ErrInvalidConfig)
	}
	if cfg.Prefix != "" {
		if err := registry.CheckPrefix(cfg.Prefix); err != nil {
			return nil, err
		}
	}
	return redislist.New(newClient(client), cfg, &redislist.Options{As: asClient(client)}), nil
}

// asClient is the driver's As: a *redis.UniversalClient gets the go-redis
// client (see the package doc's # Escape hatch).
func asClient(rdb *redis.Client) func(any) bool {
	return func(i any) bool {
		p, ok := i.(*redis.UniversalClient)
		if ok {
			*p = rdb
		}
		return ok
	}
}
