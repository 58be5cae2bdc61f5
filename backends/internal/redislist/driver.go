package redislist

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// Client is what a backend gives the driver: the few Redis operations of
// the layout, run by its client library. Every method honours ctx's
// deadline and returns errors already translated at the source: connection
// failures, timeouts, LOADING, BUSY, pool exhaustion and the like wrap
// backend.ErrUnavailable; a closed client wraps backend.ErrClosed; the
// library's "nil reply" never escapes. No method may retry a write.
type Client interface {
	// Append runs one MULTI/EXEC of
	//	ROLE                            (if o.Role)
	//	RPUSH k.List payloads...
	//	INCRBY k.Seq len(payloads)
	//	LTRIM k.List -max -1
	//	PUBLISH k.Events len(payloads)
	//	MGET k.Cap
	// then, if o.MinReplicas > 0, WAIT o.MinReplicas o.ReplicaTimeout
	// right after EXEC on the same connection (WAIT counts the writes of
	// its own connection) and in the same round trip; WAIT's reply counts
	// only if ROLE said master. It returns the replies (see AppendResult); err
	// is set only when the transaction did not run or RPUSH was refused,
	// that is when nothing was stored.
	Append(ctx context.Context, k Keys, payloads [][]byte, max int, o AppendOptions) (AppendResult, error)
	// Window runs WindowScript (EVALSHA, EVAL when the server lacks it)
	// on k.List and k.Seq with args.
	Window(ctx context.Context, k Keys, args []string) (Window, error)
	// Repair runs RepairScript on k.List and k.Seq with the replies of an
	// Append.
	Repair(ctx context.Context, k Keys, seq, pushed int64) error
	// LLen is LLEN key.
	LLen(ctx context.Context, key string) (int64, error)
	// Del is DEL key.
	Del(ctx context.Context, key string) error
	// Ping is PING.
	Ping(ctx context.Context) error
	// Eval runs a script of this package (EVALSHA, EVAL when the server
	// lacks it) whose reply is an array of strings, and returns them.
	// It may be retried: every such script is safe to run twice or is
	// run only once by its caller.
	Eval(ctx context.Context, script string, keys, args []string) ([]string, error)
	// EvalRO is Eval for a script that only reads: EVALSHA_RO (EVAL_RO),
	// so that the reader role needs no right to run scripts that write;
	// EVALSHA on a server without them (Redis before 7.0).
	EvalRO(ctx context.Context, script string, keys, args []string) ([]string, error)
	// Subscribe subscribes to channel and returns once the server has
	// confirmed it (or ctx is done). Until stop is called it calls notify
	// for every message and after every re-subscription that follows a
	// reconnect (messages may have been missed). notify never blocks.
	// stop ends the subscription and returns when its goroutines have.
	Subscribe(ctx context.Context, channel string, notify func()) (stop func(), err error)
	// Close releases the client.
	Close() error
}

// AppendOptions are the extras of the append transaction that a
// replicated deployment (Sentinel) asks for; the zero value is the plain
// append of the old system's layout.
type AppendOptions struct {
	// Role runs ROLE first inside the MULTI/EXEC: an append is
	// acknowledged only when the node that ran it answers "master" (a
	// replica made writable would keep the alerts to itself).
	Role bool
	// MinReplicas > 0 runs WAIT MinReplicas ReplicaTimeout after the
	// transaction, on its connection, in the same round trip: the append
	// is acknowledged only when that many replicas confirmed it.
	MinReplicas int
	// ReplicaTimeout is WAIT's timeout.
	ReplicaTimeout time.Duration
}

// AppendResult is what the append transaction's replies say.
type AppendResult struct {
	// Role is ROLE's first element ("master", "slave"), or "" if ROLE was
	// not asked for.
	Role string
	// Pushed is RPUSH's reply: the list length after the push, before
	// the trim.
	Pushed int64
	// Seq is INCRBY's reply, the new counter, or -1 when INCRBY failed
	// inside an otherwise applied transaction (a counter overwritten by
	// hand): the driver then repairs it.
	Seq int64
	// Acked is WAIT's reply, -1 if WAIT did not run or failed.
	Acked int64
	// WaitErr is why WAIT failed, translated like every error.
	WaitErr error
	// Cap is MGET k.Cap's reply: the namespace's recorded cap, 0 when
	// none is recorded (or the reply did not parse).
	Cap int64
}

// Options tune a Driver; the zero value is the defaults.
type Options struct {
	// CloseClient makes Driver.Close close the Client too. A backend
	// that created the client sets it; one given a client by its caller
	// leaves it to the caller.
	CloseClient bool
	// WatchBatch is how many entries a watcher fetches per round trip.
	// Default 256.
	WatchBatch int
	// PollInterval is how often an idle watcher checks for entries
	// without a notification: the backstop for messages lost while its
	// subscription reconnected. Default 5s.
	PollInterval time.Duration
	// As is the driver's backend.Aser: the backend's route from Store.As
	// to its client library's client. Nil: As reports false.
	As func(i any) bool
	// Append selects the extras of every append (ROLE, WAIT); the zero
	// value is the plain append.
	Append AppendOptions
	// MaxCoalesce bounds the alerts of one coalesced append transaction
	// (coalesce.go). Default DefaultMaxCoalesce.
	MaxCoalesce int
	// MaxCoalesceBytes bounds the bytes of one coalesced append
	// transaction. Default DefaultMaxCoalesceBytes.
	MaxCoalesceBytes int
	// MaxInFlight is how many append transactions of one Driver may be
	// in flight at once; calls beyond them queue and are coalesced.
	// Default DefaultMaxInFlight.
	MaxInFlight int
	// OnUnavailable, if set, is called after an append that failed in a
	// way that may mean the master moved: an error wrapping
	// ErrUnavailable, a node that is not master (Append.Role), too few
	// replicas (Append.MinReplicas). It must not block; the Sentinel
	// backends re-resolve the master from it.
	OnUnavailable func()
}

// Driver implements backend.Driver and backend.Watcher on a Client.
type Driver struct {
	c        Client
	k        Keys
	cfg      backend.Config
	max      int
	maxBytes int // entries over it stay on the server (see WindowScript)
	timeout  time.Duration
	opts     Options

	closed atomic.Bool
	mu     sync.Mutex
	subs   map[*subscription]struct{}

	// recorded is the namespace's cap as last read, 0 when unknown.
	recorded atomic.Int64

	co *coalescer // concurrent appends, combined
}

var (
	_ backend.Driver     = (*Driver)(nil)
	_ backend.Watcher    = (*Driver)(nil)
	_ backend.Namespacer = (*Driver)(nil)
)

// New returns a driver for the namespace cfg.Prefix on c. cfg's zero fields
// take the backend defaults.
func New(c Client, cfg backend.Config, opts *Options) *Driver {
	if cfg.Prefix == "" {
		cfg.Prefix = backend.DefaultPrefix
	}
	if cfg.MaxAlerts <= 0 {
		cfg.MaxAlerts, cfg.MaxAlertsDefault = backend.DefaultMaxAlerts, true
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = backend.DefaultTimeout
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.WatchBatch <= 0 {
		o.WatchBatch = 256
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if cfg.MaxAlertBytes <= 0 {
		cfg.MaxAlertBytes = backend.DefaultMaxAlertBytes
	}
	d := &Driver{c: c, k: NewKeys(cfg.Prefix), cfg: cfg, max: cfg.MaxAlerts, maxBytes: cfg.MaxAlertBytes, timeout: cfg.Timeout, opts: o, subs: map[*subscription]struct{}{}}
	d.co = newCoalescer(d.send, o)
	return d
}

// Keys returns the driver's key names.
func (d *Driver) Keys() Keys { return d.k }

func (d *Driver) check(ctx context.Context) error {
	if d.closed.Load() {
		return backend.ErrClosed
	}
	return ctx.Err()
}

// Append implements backend.Driver: the append transaction with the
// extras of Options.Append, acknowledged only if ROLE said master and
// enough replicas confirmed it when those were asked for. It is never
// retried here, and the clients are configured not to retry it either: a
// write whose reply was lost may have been applied, and sending it again
// would store it twice.
// The caller learns of the ambiguity as an error wrapping ErrUnavailable;
// the Store gave each alert its id before the write, so a caller that
// retries stores the same id and readers list it once.
//
// Concurrent calls are coalesced into one transaction per round trip
// (coalesce.go); each is acknowledged or fails with its transaction.
func (d *Driver) Append(ctx context.Context, alerts [][]byte) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	if len(alerts) == 0 {
		return nil
	}
	return d.co.append(ctx, alerts)
}

// send runs one append transaction of alerts (one call's, or several
// coalesced) and says whether it was acknowledged.
func (d *Driver) send(ctx context.Context, alerts [][]byte) error {
	o := d.opts.Append
	trim, err := d.trimCap(ctx)
	if err != nil {
		if errors.Is(err, backend.ErrUnavailable) {
			d.unavailable()
		}
		return err
	}
	r, err := d.c.Append(ctx, d.k, alerts, trim, o)
	if err != nil {
		if errors.Is(err, backend.ErrUnavailable) {
			d.unavailable()
		}
		return err
	}
	// The cap as of this append, for the next one: a deliberate change
	// (SetCap, by anybody) applies from the next append on; 0 (the key
	// is gone) records it again.
	d.recorded.Store(r.Cap)
	if o.Role && r.Role != "master" {
		d.unavailable()
		return fmt.Errorf("%w: the node that ran the append answers ROLE %q, not master: not acknowledged (a writable replica keeps such writes to itself)", backend.ErrUnavailable, r.Role)
	}
	if r.Seq < r.Pushed {
		// Entries pushed by another writer (or a counter overwritten by
		// hand) left the counter behind. The append itself is done; if
		// the repair fails, the next append repairs.
		_ = d.c.Repair(ctx, d.k, r.Seq, r.Pushed)
	}
	if o.MinReplicas > 0 {
		switch {
		case r.WaitErr != nil:
			d.unavailable()
			return fmt.Errorf("%w: stored on the master, but WAIT for %d replicas failed, so it is not acknowledged; the alert may or may not survive a failover: %w",
				backend.ErrUnavailable, o.MinReplicas, r.WaitErr)
		case r.Acked < int64(o.MinReplicas):
			d.unavailable()
			return fmt.Errorf("%w: not acknowledged by %d replicas (%d within %s); the alert may or may not survive a failover",
				backend.ErrUnavailable, o.MinReplicas, r.Acked, o.ReplicaTimeout)
		}
	}
	return nil
}

func (d *Driver) unavailable() {
	if d.opts.OnUnavailable != nil {
		d.opts.OnUnavailable()
	}
}

// Scan implements backend.Driver. Entries over the store's
// max_alert_bytes are not transferred: they come back with TooLarge set.
func (d *Driver) Scan(ctx context.Context, before int64, limit int) ([]backend.Entry, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("%w: scan limit %d", backend.ErrInvalidQuery, limit)
	}
	if before < 0 {
		before = 0
	}
	var w Window
	err := d.read(ctx, func() (err error) {
		w, err = d.c.Window(ctx, d.k, WindowArgs(ModeBefore, before, limit, d.maxBytes))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]backend.Entry, len(w.Items))
	for j := range w.Items {
		out[len(out)-1-j] = w.Entry(j)
	}
	return out, nil
}

// Count implements backend.Driver: LLEN, foreign entries included.
func (d *Driver) Count(ctx context.Context) (int64, error) {
	if err := d.check(ctx); err != nil {
		return 0, err
	}
	var n int64
	err := d.read(ctx, func() (err error) {
		n, err = d.c.LLen(ctx, d.k.List)
		return err
	})
	return n, err
}

// Drop implements backend.Dropper: it deletes the list and the position
// counter, leaving no key of the namespace behind (the conformance suite
// and `alertstore selftest` drop their scratch namespaces this way).
func (d *Driver) Drop(ctx context.Context) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	for _, key := range []string{d.k.List, d.k.Seq, d.k.Cap, d.k.Base, d.k.Audit} {
		if err := d.read(ctx, func() error { return d.c.Del(ctx, key) }); err != nil {
			return err
		}
	}
	return nil
}

// Ping implements backend.Driver.
func (d *Driver) Ping(ctx context.Context) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	return d.read(ctx, func() error { return d.c.Ping(ctx) })
}

// Capabilities implements backend.Driver. Durable is false: an
// acknowledged append is in the server's memory, and on its disk only as
// the server's persistence settings (appendfsync) say.
func (d *Driver) Capabilities() backend.Capabilities {
	return backend.Capabilities{Watch: true, Shared: true, Persistent: true, Drop: true, Namespace: true}
}

// Namespaces implements backend.Namespacer: the prefix of its keys.
func (d *Driver) Namespaces() []backend.Namespace {
	return []backend.Namespace{{Prefix: d.cfg.Prefix}}
}

// As implements backend.Aser with Options.As; a closed driver supports
// nothing.
func (d *Driver) As(i any) bool {
	return d.opts.As != nil && !d.closed.Load() && d.opts.As(i)
}

// Close implements backend.Driver: it ends the driver's watches and, if it
// owns it, closes the client.
func (d *Driver) Close() error {
	if d.closed.Swap(true) {
		return backend.ErrClosed
	}
	d.mu.Lock()
	subs := d.subs
	d.subs = nil
	d.mu.Unlock()
	for s := range subs {
		_ = s.Close() // ends the subscription; its own errors are the subscriber's
	}
	if d.opts.CloseClient {
		return d.c.Close()
	}
	return nil
}

// retryPause is the wait before the one retry of an idempotent call.
const retryPause = 50 * time.Millisecond

// read runs an idempotent call, and once more if it failed for want of the
// server and ctx leaves time: a pooled connection the server closed while
// it restarted fails once and is replaced. The clients retry nothing
// themselves, so this is the only retry, and it never runs for Append.
func (d *Driver) read(ctx context.Context, call func() error) error {
	err := call()
	if err == nil || !errors.Is(err, backend.ErrUnavailable) || ctx.Err() != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 2*retryPause {
		return err
	}
	select {
	case <-ctx.Done():
		return err
	case <-time.After(retryPause):
	}
	if err2 := call(); err2 == nil || ctx.Err() == nil {
		return err2
	}
	return err
}
