package valkeygo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
)

// source hands out the valkey-go client: created lazily by this backend
// (lazy), or given by the caller (fixed).
type source interface {
	get(ctx context.Context) (valkey.Client, error)
	close()
}

// fixed is a caller's client, which the caller closes.
type fixed struct{ c valkey.Client }

func (f fixed) get(context.Context) (valkey.Client, error) { return f.c, nil }
func (f fixed) close()                                     {}

// lazy creates the client on first use. valkey.NewClient connects before
// it returns and takes no context, so it runs in a goroutine the caller
// waits for only until its ctx is done; a client that arrives after its
// caller gave up is kept for the next call (or closed, if the driver was
// closed meanwhile). A failed attempt is not cached: the next call tries
// again.
type lazy struct {
	opt valkey.ClientOption

	mu      sync.Mutex
	c       valkey.Client
	err     error         // of the last finished attempt
	dialing chan struct{} // closed when the running attempt ends; nil if none
	closed  bool
}

func newLazy(opt valkey.ClientOption) *lazy { return &lazy{opt: opt} }

func (l *lazy) get(ctx context.Context) (valkey.Client, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, backend.ErrClosed
	}
	if l.c != nil {
		c := l.c
		l.mu.Unlock()
		return c, nil
	}
	if l.dialing == nil {
		done := make(chan struct{})
		l.dialing = done
		go func() {
			c, err := valkey.NewClient(l.opt)
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.closed && c != nil {
				c.Close()
				c = nil
			}
			l.c, l.err, l.dialing = c, err, nil
			close(done)
		}()
	}
	done := l.dialing
	l.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, translate(ctx.Err())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c != nil {
		return l.c, nil
	}
	if l.closed {
		return nil, backend.ErrClosed
	}
	return nil, translate(l.err)
}

func (l *lazy) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.c != nil {
		l.c.Close()
		l.c = nil
	}
}

// client runs the layout's operations on valkey-go. Every error it returns
// has been through translate.
type client struct {
	src      source
	window   *valkey.Lua
	windowRO *valkey.Lua
	repair   *valkey.Lua
	scripts  sync.Map // script source -> *valkey.Lua, for Eval
	// noRO is set once the server has answered that it has no
	// EVALSHA_RO (Redis before 7.0): reads then use EVALSHA.
	noRO atomic.Bool
	// sharded notifies with SPUBLISH and watches with SSUBSCRIBE (a
	// cluster: see redislist.ClusterKeys).
	sharded bool
}

var _ redislist.Client = (*client)(nil)

// asFunc is the driver's As: a *valkey.Client gets the valkey-go client,
// which the lazy source connects first (within timeout, or the default
// when zero); As reports false if it cannot.
func (c *client) asFunc(timeout time.Duration) func(any) bool {
	if timeout <= 0 {
		timeout = backend.DefaultTimeout
	}
	return func(i any) bool {
		p, ok := i.(*valkey.Client)
		if !ok {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		vc, err := c.src.get(ctx)
		if err != nil {
			return false
		}
		*p = vc
		return true
	}
}

func newClient(src source) *client {
	return &client{
		src:      src,
		window:   valkey.NewLuaScript(redislist.WindowScript),
		windowRO: valkey.NewLuaScriptReadOnly(redislist.WindowScript),
		repair:   valkey.NewLuaScript(redislist.RepairScript),
	}
}

// Append is the append transaction (see redislist.Client), the one place
// it is written for valkey-go: plain for valkey://, with ROLE and WAIT for
// valkey+sentinel://.
func (c *client) Append(ctx context.Context, k redislist.Keys, payloads [][]byte, max int, o redislist.AppendOptions) (redislist.AppendResult, error) {
	r := redislist.AppendResult{Acked: -1}
	cl, err := c.src.get(ctx)
	if err != nil {
		return r, err
	}
	if p, ok := cl.(pinner); ok {
		// B, DoMulti and Dedicated below must reach the same client.
		cl = p.current()
	}
	elems := make([]string, len(payloads))
	for i, p := range payloads {
		elems[i] = valkey.BinaryString(p)
	}
	n := int64(len(payloads))
	b := cl.B()
	cmds := valkey.Commands{b.Multi().Build()}
	if o.Role {
		cmds = append(cmds, b.Role().Build())
	}
	cmds = append(cmds,
		b.Rpush().Key(k.List).Element(elems...).Build(),
		b.Incrby().Key(k.Seq).Increment(n).Build(),
		b.Ltrim().Key(k.List).Start(-int64(max)).Stop(-1).Build(),
	)
	if !c.sharded {
		cmds = append(cmds, b.Publish().Channel(k.Events).Message(strconv.FormatInt(n, 10)).Build())
	}
	cmds = append(cmds, b.Mget().Key(k.Cap).Build(), b.Exec().Build())
	execAt := len(cmds) - 1
	// The EXEC reply: RPUSH, INCRBY, LTRIM, [PUBLISH,] MGET.
	txReplies := 5
	var resps []valkey.ValkeyResult
	if o.MinReplicas > 0 {
		// WAIT counts the writes of its own connection: one of our own.
		cmds = append(cmds, b.Wait().Numreplicas(int64(o.MinReplicas)).Timeout(o.ReplicaTimeout.Milliseconds()).Build())
	}
	if c.sharded {
		// SPUBLISH right after the transaction, not in it: Valkey 8.1
		// runs a transaction holding SPUBLISH on a slot's importing node
		// even when some of its keys are still on the source (without
		// it: TRYAGAIN), which forks the namespace's keys in two and
		// stops the migration with BUSYKEY. A lost wake-up costs a
		// watcher one poll interval, nothing else.
		cmds = append(cmds, b.Spublish().Channel(k.Events).Message(strconv.FormatInt(n, 10)).Build())
		txReplies = 4
	}
	if o.MinReplicas > 0 {
		if resps, err = dedicated(ctx, cl, cmds); err != nil {
			return r, err
		}
	} else {
		resps = cl.DoMulti(ctx, cmds...)
	}
	// A transport failure or a command refused while queueing shows in
	// EXEC's reply: nothing was applied. For a refusal EXEC says only
	// EXECABORT; the queued command's own reply (READONLY, NOPERM, OOM,
	// ...) says why, so that is the error.
	replies, err := resps[execAt].ToArray()
	if err != nil {
		for _, q := range resps[1:execAt] {
			if qerr := q.Error(); qerr != nil {
				return r, translate(qerr)
			}
		}
		return r, translate(err)
	}
	if o.Role {
		if len(replies) > 0 {
			if roleReply, err := replies[0].ToArray(); err == nil && len(roleReply) > 0 {
				r.Role, _ = roleReply[0].ToString()
			}
		}
		replies = replies[min(1, len(replies)):]
	}
	if len(replies) != txReplies {
		return r, fmt.Errorf("valkeygo: unexpected EXEC reply of %d elements", len(replies))
	}
	if capv, err := replies[txReplies-1].ToArray(); err == nil && len(capv) == 1 {
		if s, err := capv[0].ToString(); err == nil {
			r.Cap, _ = strconv.ParseInt(s, 10, 64)
		}
	}
	if r.Pushed, err = replies[0].ToInt64(); err != nil {
		// RPUSH refused (WRONGTYPE: the key is not a list).
		return r, translate(err)
	}
	if r.Seq, err = replies[1].ToInt64(); err != nil {
		// Only INCRBY failed: the driver repairs the counter.
		r.Seq = -1
	}
	if o.MinReplicas > 0 && r.Role == "master" {
		if r.Acked, err = resps[execAt+1].AsInt64(); err != nil {
			r.Acked, r.WaitErr = -1, translate(err)
		}
	}
	return r, nil
}

// pinner is a client that forwards to a current one which may change
// (the Sentinel backend's swapClient).
type pinner interface{ current() valkey.Client }

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
		return nil, translate(ctx.Err())
	}
}

func (c *client) Window(ctx context.Context, k redislist.Keys, args []string) (redislist.Window, error) {
	var w redislist.Window
	cl, err := c.src.get(ctx)
	if err != nil {
		return w, err
	}
	// EVALSHA_RO (EVAL_RO), so that a reader's ACL user needs no right to
	// run scripts that write (docs/security.md); EVALSHA on a server
	// without them (Redis before 7.0).
	keys := []string{k.List, k.Seq}
	var arr []valkey.ValkeyMessage
	if !c.noRO.Load() {
		arr, err = c.windowRO.Exec(ctx, cl, keys, args).ToArray()
		if err != nil && redislist.UnknownCommand(err.Error()) {
			c.noRO.Store(true)
		}
	}
	if c.noRO.Load() {
		arr, err = c.window.Exec(ctx, cl, keys, args).ToArray()
	}
	if err != nil {
		return w, translate(err)
	}
	if len(arr) != 4 {
		return w, fmt.Errorf("valkeygo: unexpected window reply of %d elements", len(arr))
	}
	for i, p := range [3]*int64{&w.Seq, &w.Len, &w.Start} {
		if *p, err = arr[i].ToInt64(); err != nil {
			return w, fmt.Errorf("valkeygo: unexpected window reply element %d: %v", i, err)
		}
	}
	items, err := arr[3].ToArray()
	if err != nil {
		return w, fmt.Errorf("valkeygo: unexpected window items: %v", err)
	}
	w.Items = make([][]byte, len(items))
	for i := range items {
		if items[i].IsInt64() { // the size of an item left on the server
			n, _ := items[i].AsInt64()
			if w.TooLarge == nil {
				w.TooLarge = make([]int64, len(items))
			}
			w.TooLarge[i] = max(n, 1)
			continue
		}
		if w.Items[i], err = items[i].AsBytes(); err != nil {
			return w, fmt.Errorf("valkeygo: unexpected window item: %v", err)
		}
	}
	return w, nil
}

func (c *client) Repair(ctx context.Context, k redislist.Keys, seq, pushed int64) error {
	cl, err := c.src.get(ctx)
	if err != nil {
		return err
	}
	args := []string{strconv.FormatInt(seq, 10), strconv.FormatInt(pushed, 10)}
	return translate(c.repair.Exec(ctx, cl, []string{k.List, k.Seq}, args).Error())
}

func (c *client) LLen(ctx context.Context, key string) (int64, error) {
	cl, err := c.src.get(ctx)
	if err != nil {
		return 0, err
	}
	n, err := cl.Do(ctx, cl.B().Llen().Key(key).Build()).AsInt64()
	return n, translate(err)
}

func (c *client) Del(ctx context.Context, key string) error {
	cl, err := c.src.get(ctx)
	if err != nil {
		return err
	}
	return translate(cl.Do(ctx, cl.B().Del().Key(key).Build()).Error())
}

// Eval runs one of redislist's scripts, each held as a valkey.Lua
// (EVALSHA, EVAL when the server does not have it yet).
func (c *client) Eval(ctx context.Context, script string, keys, args []string) ([]string, error) {
	cl, err := c.src.get(ctx)
	if err != nil {
		return nil, err
	}
	s, _ := c.scripts.LoadOrStore(script, valkey.NewLuaScript(script))
	return stringsReply(s.(*valkey.Lua).Exec(ctx, cl, keys, args).ToArray())
}

// EvalRO runs a reading script with EVALSHA_RO, falling back as Window
// does.
func (c *client) EvalRO(ctx context.Context, script string, keys, args []string) ([]string, error) {
	cl, err := c.src.get(ctx)
	if err != nil {
		return nil, err
	}
	var arr []valkey.ValkeyMessage
	if !c.noRO.Load() {
		ro, _ := c.scripts.LoadOrStore("ro\x00"+script, valkey.NewLuaScriptReadOnly(script))
		arr, err = ro.(*valkey.Lua).Exec(ctx, cl, keys, args).ToArray()
		if err != nil && redislist.UnknownCommand(err.Error()) {
			c.noRO.Store(true)
		}
	}
	if c.noRO.Load() {
		s, _ := c.scripts.LoadOrStore(script, valkey.NewLuaScript(script))
		arr, err = s.(*valkey.Lua).Exec(ctx, cl, keys, args).ToArray()
	}
	return stringsReply(arr, err)
}

// stringsReply reads a script's array-of-strings reply.
func stringsReply(arr []valkey.ValkeyMessage, err error) ([]string, error) {
	if err != nil {
		return nil, translate(err)
	}
	out := make([]string, len(arr))
	for i := range arr {
		if out[i], err = arr[i].ToString(); err != nil {
			return nil, fmt.Errorf("valkeygo: unexpected script reply element: %v", err)
		}
	}
	return out, nil
}

func (c *client) Ping(ctx context.Context) error {
	cl, err := c.src.get(ctx)
	if err != nil {
		return err
	}
	return translate(cl.Do(ctx, cl.B().Ping().Build()).Error())
}

func (c *client) Close() error {
	c.src.close()
	return nil
}

// subRetryPause spaces re-subscription attempts while the server is down.
const subRetryPause = 250 * time.Millisecond

// Subscribe runs Receive on a dedicated connection, so that each watch's
// subscription is its own: returning that connection to the pool
// unsubscribes it, and no other watch's messages are affected.
func (c *client) Subscribe(ctx context.Context, channel string, notify func()) (func(), error) {
	cl, err := c.src.get(ctx)
	if err != nil {
		return nil, err
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	confirmed := make(chan struct{})
	var confirmOnce sync.Once
	failed := make(chan error, 1)
	// The hook runs on valkey-go's pipeline goroutine: it must not block.
	hookCtx := valkey.WithOnSubscriptionHook(loopCtx, func(s valkey.PubSubSubscription) {
		if s.Kind == "subscribe" || s.Kind == "ssubscribe" {
			confirmOnce.Do(func() { close(confirmed) })
			notify() // after a reconnect, messages may have been missed
		}
	})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			err := cl.Dedicated(func(dc valkey.DedicatedClient) error {
				sub := dc.B().Subscribe().Channel(channel).Build()
				if c.sharded {
					sub = dc.B().Ssubscribe().Channel(channel).Build()
				}
				return dc.Receive(hookCtx, sub, func(valkey.PubSubMessage) { notify() })
			})
			if loopCtx.Err() != nil {
				return
			}
			if err == nil { // the server unsubscribed us
				err = errors.New("valkeygo: subscription ended by the server")
			}
			select {
			case failed <- err:
			default:
			}
			notify()
			select {
			case <-loopCtx.Done():
				return
			case <-time.After(subRetryPause):
			}
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-exited
		})
	}
	select {
	case <-confirmed:
		return stop, nil
	case err := <-failed:
		go stop()
		return nil, translate(err)
	case <-ctx.Done():
		go stop()
		return nil, translate(ctx.Err())
	}
}
