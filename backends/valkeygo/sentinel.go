package valkeygo

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/sentinel"
	"github.com/apt-detection/alertstore/registry"
)

// openSentinel opens valkey+sentinel://: the library-neutral part (DSN,
// master check, ROLE and WAIT on appends) is backends/internal/sentinel,
// the client is valkey-go's sentinel client.
func openSentinel(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
	return sentinel.Open(ctx, dsn, cfg, func(ctx context.Context, c sentinel.Config) (sentinel.Client, error) {
		opt := sentinelOption(c)
		first, err := dialValkey(ctx, opt)
		if err != nil {
			return nil, err
		}
		swap := newSwapClient(opt, first)
		return &sentinelClient{client: newClient(swapSource{swap}), swap: swap}, nil
	})
}

// sentinelClient is valkey-go's sentinel client (ClientOption.Sentinel),
// behind a swap so that the monitor can replace a client that stayed
// bound to a node which is no longer the master. valkey-go has no
// exported way to make its sentinel client look again: it follows
// +switch-master messages, and a missed one binds it to the old master
// (its own documentation says so); a new client resolves afresh and checks
// ROLE before using the node.
type sentinelClient struct {
	*client
	swap *swapClient
}

var _ sentinel.Client = (*sentinelClient)(nil)

// Retarget replaces the client if it is bound to another node than master.
func (s *sentinelClient) Retarget(master string, _ map[string]bool) { s.swap.ensure(master) }

// swapSource hands out the swap, which forwards each call to the current
// client (Append pins one for its transaction), and closes it.
type swapSource struct{ s *swapClient }

func (w swapSource) get(context.Context) (valkey.Client, error) { return w.s, nil }
func (w swapSource) close()                                     { w.s.Close() }

// sentinelOption translates our configuration into valkey-go's. The
// settings the guarantees rest on are not configurable, as for valkey://:
// no retries, no client-side cache.
func sentinelOption(c sentinel.Config) valkey.ClientOption {
	rw := max(c.Data.ReadTimeout, c.Data.WriteTimeout)
	if rw == 0 {
		rw = c.Timeout
	}
	dialer := net.Dialer{Timeout: c.Data.DialTimeout}
	return valkey.ClientOption{
		// With Sentinel.MasterSet set, InitAddress are the sentinels.
		InitAddress: c.Sentinels,
		Sentinel: valkey.SentinelOption{
			MasterSet: c.MasterName,
			// valkey-go's naming: Sentinel.Username/Password authenticate
			// to the sentinels, ClientOption.Username/Password to the
			// master and replicas.
			Username:   c.SentinelUsername,
			Password:   c.SentinelPassword,
			ClientName: ClientName,
			Dialer:     dialer,
			// One tls setting for sentinels and data nodes, as go-redis
			// has it.
			TLSConfig: c.Data.TLS,
		},
		Username:         c.Data.Username,
		Password:         c.Data.Password,
		SelectDB:         c.Data.DB,
		ClientName:       ClientName,
		Dialer:           dialer,
		TLSConfig:        c.Data.TLS,
		ConnWriteTimeout: rw,
		BlockingPoolSize: c.Data.PoolSize,

		DisableRetry: true,
		DisableCache: true,
	}
}

// dialValkey runs valkey.NewClient, which connects to the sentinels and the
// master before it returns and takes no context, bounded by ctx. A client
// that arrives after ctx is done is closed.
func dialValkey(ctx context.Context, opt valkey.ClientOption) (valkey.Client, error) {
	type result struct {
		c   valkey.Client
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := valkey.NewClient(opt)
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, translate(r.err)
		}
		return r.c, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, translate(ctx.Err())
	}
}

// swapClient is a valkey.Client that forwards every call to the current
// valkey-go sentinel client, and can replace it (ensure). Calls that
// started on a replaced client fail (valkey.ErrClosing, which callers see
// as ErrUnavailable); later calls go to the new one. A Watch's dedicated
// subscription on the old client ends, and the watch re-subscribes on the
// new one (it re-reads what it may have missed).
type swapClient struct {
	opt valkey.ClientOption

	cur      atomic.Pointer[clientBox]
	mu       sync.Mutex // serialises ensure and Close
	closed   bool
	swaps    atomic.Int64 // replacements made, for tests and figures
	lastFail time.Time
}

type clientBox struct{ c valkey.Client }

var _ valkey.Client = (*swapClient)(nil)

func newSwapClient(opt valkey.ClientOption, first valkey.Client) *swapClient {
	s := &swapClient{opt: opt}
	s.cur.Store(&clientBox{first})
	return s
}

func (s *swapClient) current() valkey.Client { return s.cur.Load().c }

// master is the address the current client sends to.
func (s *swapClient) master() string {
	for addr := range s.current().Nodes() {
		return addr
	}
	return ""
}

// swapRetryPause spaces failed replacements.
const swapRetryPause = time.Second

// ensure replaces the current client if it is bound to another node than
// master. The new client resolves the master itself (and checks ROLE);
// it replaces the old one whatever it found, since it is at least as
// current.
func (s *swapClient) ensure(master string) {
	if s.master() == master {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.master() == master || time.Since(s.lastFail) < swapRetryPause {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opt.ConnWriteTimeout+s.opt.Dialer.Timeout)
	defer cancel()
	fresh, err := dialValkey(ctx, s.opt)
	if err != nil {
		s.lastFail = time.Now()
		return
	}
	old := s.cur.Swap(&clientBox{fresh})
	s.swaps.Add(1)
	// Not waited for: closing a client whose node is frozen can take as
	// long as the freeze, and the monitor (and Close) must not.
	go old.c.Close()
}

// Close closes the current client; the swap is unusable afterwards.
func (s *swapClient) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.current().Close()
	}
}

// The valkey.Client methods, forwarded.

func (s *swapClient) B() valkey.Builder { return s.current().B() }
func (s *swapClient) Do(ctx context.Context, cmd valkey.Completed) valkey.ValkeyResult {
	return s.current().Do(ctx, cmd)
}
func (s *swapClient) DoMulti(ctx context.Context, multi ...valkey.Completed) []valkey.ValkeyResult {
	return s.current().DoMulti(ctx, multi...)
}
func (s *swapClient) Receive(ctx context.Context, sub valkey.Completed, fn func(valkey.PubSubMessage)) error {
	return s.current().Receive(ctx, sub, fn)
}
func (s *swapClient) DoCache(ctx context.Context, cmd valkey.Cacheable, ttl time.Duration) valkey.ValkeyResult {
	return s.current().DoCache(ctx, cmd, ttl)
}
func (s *swapClient) DoMultiCache(ctx context.Context, multi ...valkey.CacheableTTL) []valkey.ValkeyResult {
	return s.current().DoMultiCache(ctx, multi...)
}
func (s *swapClient) DoStream(ctx context.Context, cmd valkey.Completed) valkey.ValkeyResultStream {
	return s.current().DoStream(ctx, cmd)
}
func (s *swapClient) DoMultiStream(ctx context.Context, multi ...valkey.Completed) valkey.MultiValkeyResultStream {
	return s.current().DoMultiStream(ctx, multi...)
}
func (s *swapClient) Dedicated(fn func(valkey.DedicatedClient) error) error {
	return s.current().Dedicated(fn)
}
func (s *swapClient) Dedicate() (valkey.DedicatedClient, func()) { return s.current().Dedicate() }
func (s *swapClient) Nodes() map[string]valkey.Client            { return s.current().Nodes() }
func (s *swapClient) Mode() valkey.ClientMode                    { return s.current().Mode() }
