package baseline

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/internal/storebench"
)

// GoRedis is what a caller writes by hand with go-redis: a
// pipelined RPUSH + LTRIM (+ WAIT when the store under comparison waits
// for replicas), LRANGE, LLEN; PUBLISH and SUBSCRIBE for watch.
type GoRedis struct {
	c    redis.UniversalClient
	key  string
	wait int
}

// ReplicaTimeout bounds the baseline's WAIT, as min_replicas' default
// replica_timeout bounds the store's.
const ReplicaTimeout = time.Second

// NewGoRedis is the baseline on c, writing to the list key (and the
// channel key+":events"); wait > 0 adds WAIT wait to every push.
func NewGoRedis(c redis.UniversalClient, key string, wait int) *GoRedis {
	return &GoRedis{c: c, key: key, wait: wait}
}

// Drop deletes the baseline's list.
func (r *GoRedis) Drop(ctx context.Context) error { return r.c.Del(ctx, r.key).Err() }

func (r *GoRedis) push(ctx context.Context, vals [][]byte, publish bool) error {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	pipe := r.c.Pipeline()
	pipe.RPush(ctx, r.key, args...)
	pipe.LTrim(ctx, r.key, -storebench.StoreSize, -1)
	if publish {
		pipe.Publish(ctx, r.key+":events", len(vals))
	}
	var wait *redis.Cmd
	if r.wait > 0 {
		wait = pipe.Do(ctx, "WAIT", r.wait, ReplicaTimeout.Milliseconds())
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	if wait != nil {
		if n, err := wait.Int64(); err != nil || n < int64(r.wait) {
			return fmt.Errorf("WAIT: %d replicas, want %d (%v)", n, r.wait, err)
		}
	}
	return nil
}

func (r *GoRedis) Push(ctx context.Context, vals [][]byte) error {
	return r.push(ctx, vals, false)
}

func (r *GoRedis) PushNotify(ctx context.Context, val []byte) error {
	return r.push(ctx, [][]byte{val}, true)
}

func (r *GoRedis) Subscribe(ctx context.Context) (func(context.Context) error, func(), error) {
	sub := r.c.Subscribe(ctx, r.key+":events")
	if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
		_ = sub.Close()
		return nil, nil, err
	}
	next := func(ctx context.Context) error {
		_, err := sub.ReceiveMessage(ctx)
		return err
	}
	return next, func() { _ = sub.Close() }, nil
}

func (r *GoRedis) lrange(ctx context.Context, start int64) ([][]byte, error) {
	vals, err := r.c.LRange(ctx, r.key, start, -1).Result()
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out, err
}

func (r *GoRedis) Newest(ctx context.Context, n int) ([][]byte, error) {
	return r.lrange(ctx, -int64(n))
}

func (r *GoRedis) All(ctx context.Context) ([][]byte, error) { return r.lrange(ctx, 0) }

func (r *GoRedis) Count(ctx context.Context) (int64, error) {
	return r.c.LLen(ctx, r.key).Result()
}

// Valkey is the same with valkey-go: DoMulti pipelines.
type Valkey struct {
	c   valkey.Client
	key string
}

// NewValkey is the baseline on c, writing to the list key (and the
// channel key+":events").
func NewValkey(c valkey.Client, key string) *Valkey { return &Valkey{c: c, key: key} }

// Drop deletes the baseline's list.
func (r *Valkey) Drop(ctx context.Context) error {
	return r.c.Do(ctx, r.c.B().Del().Key(r.key).Build()).Error()
}

func (r *Valkey) push(ctx context.Context, vals [][]byte, publish bool) error {
	elems := make([]string, len(vals))
	for i, v := range vals {
		elems[i] = valkey.BinaryString(v)
	}
	cmds := valkey.Commands{
		r.c.B().Rpush().Key(r.key).Element(elems...).Build(),
		r.c.B().Ltrim().Key(r.key).Start(-storebench.StoreSize).Stop(-1).Build(),
	}
	if publish {
		cmds = append(cmds, r.c.B().Publish().Channel(r.key+":events").Message(fmt.Sprint(len(vals))).Build())
	}
	for _, res := range r.c.DoMulti(ctx, cmds...) {
		if err := res.Error(); err != nil {
			return err
		}
	}
	return nil
}

func (r *Valkey) Push(ctx context.Context, vals [][]byte) error {
	return r.push(ctx, vals, false)
}

func (r *Valkey) PushNotify(ctx context.Context, val []byte) error {
	return r.push(ctx, [][]byte{val}, true)
}

func (r *Valkey) Subscribe(ctx context.Context) (func(context.Context) error, func(), error) {
	msgs := make(chan struct{}, 1024)
	subCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := r.c.Receive(subCtx, r.c.B().Subscribe().Channel(r.key+":events").Build(), func(valkey.PubSubMessage) {
			msgs <- struct{}{}
		})
		ready <- err
	}()
	// Receive has no confirmation callback: wait until the server counts
	// the subscriber.
	for {
		n, err := r.c.Do(ctx, r.c.B().PubsubNumsub().Channel(r.key+":events").Build()).AsIntMap()
		if err != nil {
			cancel()
			return nil, nil, err
		}
		if n[r.key+":events"] > 0 {
			break
		}
		select {
		case err := <-ready:
			cancel()
			return nil, nil, fmt.Errorf("subscribe: %w", err)
		default:
		}
	}
	next := func(ctx context.Context) error {
		select {
		case <-msgs:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return next, func() { cancel(); <-done }, nil
}

func (r *Valkey) lrange(ctx context.Context, start int64) ([][]byte, error) {
	vals, err := r.c.Do(ctx, r.c.B().Lrange().Key(r.key).Start(start).Stop(-1).Build()).AsStrSlice()
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out, err
}

func (r *Valkey) Newest(ctx context.Context, n int) ([][]byte, error) {
	return r.lrange(ctx, -int64(n))
}

func (r *Valkey) All(ctx context.Context) ([][]byte, error) { return r.lrange(ctx, 0) }

func (r *Valkey) Count(ctx context.Context) (int64, error) {
	return r.c.Do(ctx, r.c.B().Llen().Key(r.key).Build()).AsInt64()
}
