package sentinel

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/backends/internal/valkeyconv"
	valkeybackend "github.com/apt-detection/alertstore/backends/valkey"
)

// valkeyClient is the valkey+sentinel client: valkey-go's sentinel client
// (ClientOption.Sentinel), behind a swap so that the monitor can replace a
// client that stayed bound to a node which is no longer the master.
// valkey-go has no exported way to make its sentinel client look again:
// it follows +switch-master messages, and a missed one binds it to the old
// master (its own documentation says so); a new client resolves afresh
// and checks ROLE before using the node.
type valkeyClient struct {
	swap   *swapClient
	repair *valkey.Lua
}

// valkeyOption translates our configuration into valkey-go's. The
// settings the guarantees rest on are not configurable, as in the valkey
// backend: no retries, no client-side cache.
func valkeyOption(c config) valkey.ClientOption {
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

func newValkeyClient(ctx context.Context, c config) (*valkeyClient, error) {
	opt := valkeyOption(c)
	first, err := dialValkey(ctx, opt)
	if err != nil {
		return nil, err
	}
	return &valkeyClient{swap: newSwapClient(opt, first), repair: valkey.NewLuaScript(redislist.RepairScript)}, nil
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
			return nil, translateValkey(r.err)
		}
		return r.c, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, translateValkey(ctx.Err())
	}
}

func (v *valkeyClient) driver(cfg backend.Config) (backend.Driver, error) {
	return valkeybackend.OpenClient(v.swap, cfg)
}

func (v *valkeyClient) append(ctx context.Context, k redislist.Keys, payloads [][]byte, max int, w waitFor) (txResult, error) {
	var r txResult
	cl := v.swap.current()
	elems := make([]string, len(payloads))
	for i, p := range payloads {
		elems[i] = valkey.BinaryString(p)
	}
	n := int64(len(payloads))
	b := cl.B()
	cmds := valkey.Commands{
		b.Multi().Build(),
		b.Role().Build(),
		b.Rpush().Key(k.List).Element(elems...).Build(),
		b.Incrby().Key(k.Seq).Increment(n).Build(),
		b.Ltrim().Key(k.List).Start(-int64(max)).Stop(-1).Build(),
		b.Publish().Channel(k.Events).Message(strconv.FormatInt(n, 10)).Build(),
		b.Exec().Build(),
	}
	const execAt = 6
	var resps []valkey.ValkeyResult
	if w.replicas > 0 {
		cmds = append(cmds, b.Wait().Numreplicas(int64(w.replicas)).Timeout(w.timeout.Milliseconds()).Build())
		var err error
		if resps, err = dedicated(ctx, cl, cmds); err != nil {
			return r, err
		}
	} else {
		resps = cl.DoMulti(ctx, cmds...)
	}
	replies, err := resps[execAt].ToArray()
	if err != nil {
		// Refused while queueing (READONLY on a replica, NOPERM, OOM):
		// EXEC says only EXECABORT, the queued command's reply says why.
		for _, q := range resps[1:execAt] {
			if qerr := q.Error(); qerr != nil {
				return r, translateValkey(qerr)
			}
		}
		return r, translateValkey(err)
	}
	if len(replies) != 5 {
		return r, fmt.Errorf("valkey: unexpected EXEC reply of %d elements", len(replies))
	}
	if roleReply, err := replies[0].ToArray(); err == nil && len(roleReply) > 0 {
		r.role, _ = roleReply[0].ToString()
	}
	if r.pushed, err = replies[1].ToInt64(); err != nil {
		// RPUSH refused (WRONGTYPE: the key is not a list).
		return r, translateValkey(err)
	}
	if r.seq, err = replies[2].ToInt64(); err != nil {
		r.seq = -1
	}
	r.acked = -1
	if w.replicas > 0 && r.role == "master" {
		if r.acked, err = resps[execAt+1].AsInt64(); err != nil {
			r.acked, r.waitErr = -1, translateValkey(err)
		}
	}
	return r, nil
}

// dedicated runs cmds on one connection of its own, so that WAIT counts
// the transaction before it. valkey-go acquires that connection without a
// context; the wait for it is bounded by ctx here, and a connection that
// arrives after ctx is done is released unused.
func dedicated(ctx context.Context, cl valkey.Client, cmds valkey.Commands) ([]valkey.ValkeyResult, error) {
	ch := make(chan []valkey.ValkeyResult, 1)
	go func() {
		_ = cl.Dedicated(func(dc valkey.DedicatedClient) error {
			if ctx.Err() == nil {
				ch <- dc.DoMulti(ctx, cmds...)
			}
			return nil
		})
	}()
	select {
	case resps := <-ch:
		return resps, nil
	case <-ctx.Done():
		return nil, translateValkey(ctx.Err())
	}
}

func (v *valkeyClient) repairSeq(ctx context.Context, k redislist.Keys, seq, pushed int64) error {
	args := []string{strconv.FormatInt(seq, 10), strconv.FormatInt(pushed, 10)}
	return translateValkey(v.repair.Exec(ctx, v.swap, []string{k.List, k.Seq}, args).Error())
}

func (v *valkeyClient) retarget(master string, _ map[string]bool) {
	v.swap.ensure(master)
}

func (v *valkeyClient) close() error {
	v.swap.Close()
	return nil
}

// translateValkey maps the client's errors as its backend does.
var translateValkey = valkeyconv.Error

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
