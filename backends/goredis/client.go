package goredis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apt-detection/alertstore/backends/internal/redislist"
)

// client runs the layout's operations on go-redis. Every error it returns
// has been through translate.
type client struct {
	rdb redis.UniversalClient
	// conn pins one connection (WAIT counts the writes of its own);
	// subscribe is SUBSCRIBE, or SSUBSCRIBE in a cluster.
	conn      func() *redis.Conn
	subscribe func(ctx context.Context, channels ...string) *redis.PubSub
	window    *redis.Script
	repair    *redis.Script
	scripts   sync.Map // script source -> *redis.Script, for Eval
	// noRO is set once the server has answered that it has no
	// EVALSHA_RO (Redis before 7.0): reads then use EVALSHA.
	noRO atomic.Bool
}

var _ redislist.Client = (*client)(nil)

func newClient(rdb *redis.Client) *client {
	return &client{
		rdb:       rdb,
		conn:      rdb.Conn,
		subscribe: rdb.Subscribe,
		window:    redis.NewScript(redislist.WindowScript),
		repair:    redis.NewScript(redislist.RepairScript),
	}
}

// Append is the append transaction (see redislist.Client), the one place
// it is written for go-redis: plain for redis://, with ROLE and WAIT for
// redis+sentinel://.
func (c *client) Append(ctx context.Context, k redislist.Keys, payloads [][]byte, max int, o redislist.AppendOptions) (redislist.AppendResult, error) {
	args := make([]any, len(payloads))
	for i, p := range payloads {
		args[i] = p
	}
	n := int64(len(payloads))
	var role *redis.Cmd
	var push, incr *redis.IntCmd
	var capv *redis.SliceCmd
	queue := func(p redis.Pipeliner) error {
		if o.Role {
			role = p.Do(ctx, "ROLE")
		}
		push = p.RPush(ctx, k.List, args...)
		incr = p.IncrBy(ctx, k.Seq, n)
		p.LTrim(ctx, k.List, -int64(max), -1)
		p.Publish(ctx, k.Events, n)
		capv = p.MGet(ctx, k.Cap)
		return nil
	}
	var err error
	var cn *redis.Conn
	if o.MinReplicas > 0 {
		// WAIT counts the writes of its own connection: pin one.
		cn = c.conn()
		defer func() { _ = cn.Close() }()
		_, err = cn.TxPipelined(ctx, queue)
	} else {
		_, err = c.rdb.TxPipelined(ctx, queue)
	}
	r := redislist.AppendResult{Acked: -1}
	switch {
	case err == nil:
		r.Pushed, r.Seq = push.Val(), incr.Val()
	case role != nil && role.Err() != nil && !errors.Is(role.Err(), redis.Nil) && errors.Is(err, role.Err()):
		// ROLE refused (NOPERM for an ACL user without it): nothing ran.
		return r, translate(role.Err())
	case push != nil && push.Err() != nil:
		// RPUSH refused (WRONGTYPE: the key is not a list), or a
		// transport failure set on the commands: nothing was stored.
		return r, translate(push.Err())
	case incr != nil && incr.Err() != nil && errors.Is(err, incr.Err()):
		// Only INCRBY failed (a counter overwritten by hand): the alerts
		// are stored, the driver repairs the counter.
		r.Pushed, r.Seq = push.Val(), -1
	default:
		// The transaction failed as a whole. go-redis does not always
		// copy such an error onto the commands (a failed AUTH on a new
		// connection leaves them without error and without value; see
		// go-redis issue 2871), so the returned error decides, never the
		// commands alone.
		return r, translate(err)
	}
	r.Cap = capOf(capv.Val())
	if role != nil {
		r.Role = roleOf(role.Val())
	}
	if o.MinReplicas > 0 && r.Role == "master" {
		acked, err := cn.Wait(ctx, o.MinReplicas, o.ReplicaTimeout).Result()
		if err != nil {
			r.WaitErr = translate(err)
		} else {
			r.Acked = acked
		}
	}
	return r, nil
}

// capOf reads the recorded cap from MGET's reply (0: none).
func capOf(v []any) int64 {
	if len(v) != 1 {
		return 0
	}
	s, _ := v[0].(string)
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
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

// Window runs the read script with EVALSHA_RO (EVAL_RO when the server
// lacks it), so that a reader's ACL user needs no right to run scripts
// that write (docs/security.md); on a server without the _RO commands
// (Redis before 7.0) it uses EVALSHA.
func (c *client) Window(ctx context.Context, k redislist.Keys, args []string) (redislist.Window, error) {
	keys := []string{k.List, k.Seq}
	var v any
	var err error
	if !c.noRO.Load() {
		v, err = c.window.RunRO(ctx, c.rdb, keys, stringArgs(args)...).Result()
		if err != nil && redislist.UnknownCommand(err.Error()) {
			c.noRO.Store(true)
		}
	}
	if c.noRO.Load() {
		v, err = c.window.Run(ctx, c.rdb, keys, stringArgs(args)...).Result()
	}
	if err != nil {
		return redislist.Window{}, translate(err)
	}
	return parseWindow(v)
}

// parseWindow reads the {seq, len, start, {items}} reply.
func parseWindow(v any) (redislist.Window, error) {
	var w redislist.Window
	arr, ok := v.([]any)
	if !ok || len(arr) != 4 {
		return w, fmt.Errorf("goredis: unexpected window reply %T", v)
	}
	nums := [3]*int64{&w.Seq, &w.Len, &w.Start}
	for i, p := range nums {
		n, ok := arr[i].(int64)
		if !ok {
			return w, fmt.Errorf("goredis: unexpected window reply element %d: %T", i, arr[i])
		}
		*p = n
	}
	items, ok := arr[3].([]any)
	if !ok {
		return w, fmt.Errorf("goredis: unexpected window items %T", arr[3])
	}
	w.Items = make([][]byte, len(items))
	for i, it := range items {
		switch it := it.(type) {
		case string:
			w.Items[i] = []byte(it)
		case int64: // the size of an item left on the server
			if w.TooLarge == nil {
				w.TooLarge = make([]int64, len(items))
			}
			w.TooLarge[i] = max(it, 1)
		default:
			return w, fmt.Errorf("goredis: unexpected window item %T", it)
		}
	}
	return w, nil
}

func stringArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (c *client) Repair(ctx context.Context, k redislist.Keys, seq, pushed int64) error {
	return translate(c.repair.Run(ctx, c.rdb, []string{k.List, k.Seq}, seq, pushed).Err())
}

func (c *client) LLen(ctx context.Context, key string) (int64, error) {
	n, err := c.rdb.LLen(ctx, key).Result()
	return n, translate(err)
}

func (c *client) Del(ctx context.Context, key string) error {
	return translate(c.rdb.Del(ctx, key).Err())
}

// Eval runs one of redislist's scripts, each held as a redis.Script
// (EVALSHA, EVAL when the server does not have it yet).
func (c *client) Eval(ctx context.Context, script string, keys, args []string) ([]string, error) {
	s, _ := c.scripts.LoadOrStore(script, redis.NewScript(script))
	return stringsReply(s.(*redis.Script).Run(ctx, c.rdb, keys, stringArgs(args)...).Result())
}

// EvalRO runs a reading script with EVALSHA_RO, falling back as Window
// does.
func (c *client) EvalRO(ctx context.Context, script string, keys, args []string) ([]string, error) {
	s, _ := c.scripts.LoadOrStore(script, redis.NewScript(script))
	var v any
	var err error
	if !c.noRO.Load() {
		v, err = s.(*redis.Script).RunRO(ctx, c.rdb, keys, stringArgs(args)...).Result()
		if err != nil && redislist.UnknownCommand(err.Error()) {
			c.noRO.Store(true)
		}
	}
	if c.noRO.Load() {
		v, err = s.(*redis.Script).Run(ctx, c.rdb, keys, stringArgs(args)...).Result()
	}
	return stringsReply(v, err)
}

// stringsReply reads a script's array-of-strings reply.
func stringsReply(v any, err error) ([]string, error) {
	if err != nil {
		return nil, translate(err)
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("goredis: unexpected script reply %T", v)
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		if out[i], ok = e.(string); !ok {
			return nil, fmt.Errorf("goredis: unexpected script reply element %T", e)
		}
	}
	return out, nil
}

func (c *client) Ping(ctx context.Context) error {
	return translate(c.rdb.Ping(ctx).Err())
}

func (c *client) Close() error {
	if err := c.rdb.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return translate(err)
	}
	return nil
}

// Subscription health: a receive that waits this long sends a PING; a
// second one with the PING unanswered replaces the connection (a peer that
// vanished without a FIN sends nothing, and TCP would notice only after
// minutes).
const (
	subHealthInterval = 15 * time.Second
	subRetryPause     = 250 * time.Millisecond
)

func (c *client) Subscribe(ctx context.Context, channel string, notify func()) (func(), error) {
	ps := c.subscribe(ctx, channel)
	if err := confirm(ctx, ps); err != nil {
		_ = ps.Close()
		return nil, err
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	s := &subLoop{subscribe: c.subscribe, channel: channel, ps: ps, notify: notify, exited: make(chan struct{})}
	go s.run(loopCtx)
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			s.mu.Lock()
			_ = s.ps.Close() // unblocks a pending receive
			s.mu.Unlock()
			<-s.exited
		})
	}, nil
}

// confirm waits for the subscription's confirmation.
func confirm(ctx context.Context, ps *redis.PubSub) error {
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			return translate(err)
		}
		switch msg.(type) {
		case *redis.Subscription:
			return nil
		case *redis.Message:
			// Possible only after the confirmation; harmless either way.
			return nil
		}
	}
}

// subLoop receives a subscription's messages until its context ends.
type subLoop struct {
	subscribe func(ctx context.Context, channels ...string) *redis.PubSub
	channel   string
	notify    func()
	exited    chan struct{}

	mu sync.Mutex // guards ps, replaced on a dead connection
	ps *redis.PubSub
}

func (s *subLoop) run(ctx context.Context) {
	defer close(s.exited)
	pinged := false
	for {
		s.mu.Lock()
		ps := s.ps
		s.mu.Unlock()
		msg, err := ps.ReceiveTimeout(ctx, subHealthInterval)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			pinged = false
			switch msg.(type) {
			case *redis.Message, *redis.Subscription:
				// A subscription message after the first follows a
				// reconnect: messages may have been missed, so wake
				// the watcher to read anyway.
				s.notify()
			}
			continue
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			if !pinged {
				pctx, cancel := context.WithTimeout(ctx, subHealthInterval)
				_ = ps.Ping(pctx)
				cancel()
				pinged = true
				continue
			}
			// The PING went unanswered: start over on a new connection.
			_ = ps.Close()
			fresh := s.subscribe(ctx, s.channel)
			s.mu.Lock()
			s.ps = fresh
			s.mu.Unlock()
			if ctx.Err() != nil { // stopped meanwhile: stop closed the old one
				_ = fresh.Close()
				return
			}
			pinged = false
			s.notify()
			continue
		}
		// A dropped connection: go-redis reconnects and re-subscribes on
		// the next receive. Pause so that a server that is down does not
		// make this a busy loop.
		s.notify()
		select {
		case <-ctx.Done():
			return
		case <-time.After(subRetryPause):
		}
	}
}
