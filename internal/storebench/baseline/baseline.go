// Package baseline holds the raw-client baselines of the benchmark suite
// (internal/storebench): what a caller writes by hand with go-redis,
// valkey-go or bbolt, or a mutex-guarded slice, doing the same work as
// the store. The backends' benchmarks and `alertstore bench` share them,
// so that a figure in docs/performance.md and one printed for a user's
// deployment compare against the same code.
package baseline

import (
	"context"
	"os"
	"path/filepath"

	"github.com/redis/go-redis/v9"
	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/internal/storebench"
)

var (
	_ storebench.RawWatcher = (*GoRedis)(nil)
	_ storebench.RawWatcher = (*Valkey)(nil)
	_ storebench.Raw        = (*Bolt)(nil)
	_ storebench.Raw        = (*Slice)(nil)
)

// Kind says which baseline For chose.
type Kind string

// The baselines For chooses from.
const (
	KindNone    Kind = ""
	KindGoRedis Kind = "go-redis pipelined RPUSH + LTRIM, LRANGE, LLEN"
	KindValkey  Kind = "valkey-go DoMulti RPUSH + LTRIM, LRANGE, LLEN"
	KindBolt    Kind = "bbolt Update with a put per alert, in a temporary file"
	KindSlice   Kind = "a mutex-guarded slice append"
)

// For returns the baseline that applies to the store s opened from a DSN
// of scheme: for a Redis or Valkey store, the same commands on the
// store's own client (reached with Store.As), on the list key, waiting
// for wait replicas like min_replicas; for bolt a bbolt file in a
// temporary directory; for memory a slice. A store with no baseline (a
// chain, a third-party backend) gets nil and KindNone. cleanup deletes
// what the baseline wrote; it never closes the store's client.
func For(ctx context.Context, s *backend.Store, scheme, key string, wait int) (raw storebench.Raw, kind Kind, cleanup func(), err error) {
	var rc redis.UniversalClient
	var vc valkey.Client
	switch {
	case s.As(&rc):
		r := NewGoRedis(rc, key, wait)
		return r, KindGoRedis, func() { _ = r.Drop(context.WithoutCancel(ctx)) }, nil
	case s.As(&vc):
		r := NewValkey(vc, key)
		return r, KindValkey, func() { _ = r.Drop(context.WithoutCancel(ctx)) }, nil
	case scheme == "bolt":
		dir, err := os.MkdirTemp("", "alertstore-bench-")
		if err != nil {
			return nil, KindNone, nil, err
		}
		r, err := OpenBolt(filepath.Join(dir, "raw.db"))
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, KindNone, nil, err
		}
		return r, KindBolt, func() { _ = r.Close(); _ = os.RemoveAll(dir) }, nil
	case scheme == "mem" || scheme == "memory":
		return &Slice{}, KindSlice, func() {}, nil
	}
	return nil, KindNone, func() {}, nil
}

// Store is another Store used as the baseline: for a wrapper's overhead
// over what it wraps (a chain over its first tier alone). Push parses and
// stores the alerts in one call, as the store's side of the rows does.
type Store struct{ S *backend.Store }

var _ storebench.Raw = Store{}

// Push implements storebench.Raw.
func (r Store) Push(ctx context.Context, vals [][]byte) error {
	alerts := make([]*backend.Alert, len(vals))
	for i, v := range vals {
		a, err := backend.ParseAlert(v)
		if err != nil {
			return err
		}
		alerts[i] = a
	}
	if len(alerts) == 1 {
		return r.S.Store(ctx, alerts[0])
	}
	return r.S.StoreBatch(ctx, alerts)
}

// Newest implements storebench.Raw: the newest n, re-encoded.
func (r Store) Newest(ctx context.Context, n int) ([][]byte, error) {
	p, err := r.S.List(ctx, backend.Query{Limit: n})
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(p.Alerts))
	for i, a := range p.Alerts {
		b, err := a.MarshalJSON()
		if err != nil {
			return nil, err
		}
		out[len(out)-1-i] = b
	}
	return out, nil
}

// All implements storebench.Raw.
func (r Store) All(ctx context.Context) ([][]byte, error) {
	return r.Newest(ctx, storebench.StoreSize)
}

// Count implements storebench.Raw.
func (r Store) Count(ctx context.Context) (int64, error) { return r.S.Count(ctx) }
