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
	// subscribe is SUBSCRIBE, or SSUBSCRIBE in a cluster.
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
		subscribe: rdb.Subscribe,
		window:    redis.NewScript(redislist.WindowScript),
		repair:    redis.NewScript(redislist.RepairScript),
	}
}

// Append is the append transaction (see redislist.Client), the one place
// it is written for go-redis: plain for redis://, with ROLE and WAIT for
// redis+sentinel://.
//
// It is one pipeline, MULTI ... EXEC [WAIT], written out command by
// command rather than with TxPipelined: go-redis closes a TxPipeline
// with EXEC, and WAIT must follow EXEC on the same connection (it counts
// the writes of its own connection), so min_replicas would otherwise
// cost a second round trip. A pipeline runs on one connection, so WAIT
// counts this transaction. The EXEC reply alone says what was applied:
// every queued command answers QUEUED or is refused (then EXEC aborts
// and nothing ran), and WAIT's reply is read only when EXEC's says the
// alerts are stored on a master.
func (c *client) Append(ctx context.Context, k redislist.Keys, payloads [][]byte, max int, o redislist.AppendOptions) (redislist.AppendResult, error) {
	push := make([]any, 2, 2+len(payloads))
	push[0], push[1] = "rpush", k.List
	for _, p := range payloads {
		push = append(push, p)
	}
	n := int64(len(payloads))
	var exec, wait *redis.Cmd
	queued, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, "multi")
		if o.Role {
			p.Do(ctx, "role")
		}
		p.Do(ctx, push...)
		p.Do(ctx, "incrby", k.Seq, n)
		p.Do(ctx, "ltrim", k.List, -int64(max), -1)
		p.Do(ctx, "publish", k.Events, n)
		p.Do(ctx, "mget", k.Cap)
		exec = p.Do(ctx, "exec")
		if o.MinReplicas > 0 {
			wait = p.Do(ctx, "wait", o.MinReplicas, o.ReplicaTimeout.Milliseconds())
		}
		return nil
	})
	r := redislist.AppendResult{Acked: -1}
	replies, xerr := exec.Slice()
	if xerr != nil {
		// EXECABORT (a command refused while queueing: ROLE or RPUSH
		// without the right, READONLY, OOM, ...) or a transport failure:
		// nothing was applied. The refused command's own reply says why.
		for _, cmd := range queued {
			if cmd == exec {
				break
			}
			if qerr := cmd.Err(); qerr != nil {
				return r, translate(qerr)
			}
		}
		if exec.Err() == nil && err != nil {
			// No reply and no error on EXEC: the pipeline failed
			// before it was sent (go-redis does not always copy such
			// an error onto the commands, see go-redis issue 2871).
			xerr = err
		}
		return r, translate(xerr)
	}
	want := 5
	if o.Role {
		want++
	}
	if len(replies) != want {
		return r, fmt.Errorf("goredis: unexpected EXEC reply of %d elements, want %d", len(replies), want)
	}
	if o.Role {
		r.Role = roleOf(replies[0])
		replies = replies[1:]
	}
	var ok bool
	if r.Pushed, ok = replies[0].(int64); !ok {
		// RPUSH refused (WRONGTYPE: the key is not a list): nothing was
		// stored.
		return r, translate(replyErr(replies[0], "RPUSH"))
	}
	if r.Seq, ok = replies[1].(int64); !ok {
		// Only INCRBY failed (a counter overwritten by hand): the alerts
		// are stored, the driver repairs the counter.
		r.Seq = -1
	}
	capv, _ := replies[4].([]any)
	r.Cap = capOf(capv)
	if wait != nil && r.Role == "master" {
		if acked, err := wait.Int64(); err != nil {
			r.WaitErr = translate(err)
		} else {
			r.Acked = acked
		}
	}
	return r, nil
}

// replyErr is the error in a transaction's reply element that should have
// been a value of the command cmd.
func replyErr(v any, cmd string) error {
	if err, ok := v.(error); ok {
		return err
	}
	return fmt.Errorf("goredis: unexpected %s reply %T in EXEC's", cmd, v)
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
