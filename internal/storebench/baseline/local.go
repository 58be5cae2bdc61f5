package baseline

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"slices"
	"sync"

	"go.etcd.io/bbolt"

	"github.com/apt-detection/alertstore/internal/storebench"
)

// Slice is the memory backend's baseline: a mutex-guarded slice append
// of a copy of the bytes, keeping the newest storebench.StoreSize.
//
// The trim is amortized: the slice grows to twice StoreSize and then
// drops its older half in one copy, so a push costs O(1) on average. A
// trim of one entry per push, once full, moved StoreSize pointers on
// every push (13 us at 10,000) and made the memory rows compare the
// store with a baseline slower than a slice append is.
type Slice struct {
	mu    sync.Mutex
	items [][]byte
}

// Push implements storebench.Raw.
func (r *Slice) Push(_ context.Context, vals [][]byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range vals {
		r.items = append(r.items, bytes.Clone(v))
	}
	if over := len(r.items) - storebench.StoreSize; over > storebench.StoreSize {
		n := copy(r.items, r.items[over:])
		clear(r.items[n:])
		r.items = r.items[:n]
	}
	return nil
}

// kept is the newest StoreSize items. r.mu is held.
func (r *Slice) kept() [][]byte {
	return r.items[max(0, len(r.items)-storebench.StoreSize):]
}

// Newest implements storebench.Raw.
func (r *Slice) Newest(_ context.Context, n int) ([][]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.kept()
	return slices.Clone(k[max(0, len(k)-n):]), nil
}

// All implements storebench.Raw.
func (r *Slice) All(ctx context.Context) ([][]byte, error) { return r.Newest(ctx, math.MaxInt) }

// Count implements storebench.Raw.
func (r *Slice) Count(context.Context) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return int64(len(r.kept())), nil
}

// Bolt is the bolt backend's baseline: a bbolt Update with a put per
// alert (keys from NextSequence), deleting the oldest beyond
// storebench.StoreSize, in a file of its own.
type Bolt struct {
	DB *bbolt.DB
	n  int // entries in the bucket; changed only inside Update
}

var boltBucket = []byte("alerts")

// OpenBolt creates the baseline's file at path; Close closes it.
func OpenBolt(path string) (*Bolt, error) {
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		return nil, err
	}
	if err := db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucketIfNotExists(boltBucket); return err }); err != nil {
		_ = db.Close()
		return nil, err
	}
	return &Bolt{DB: db}, nil
}

// Close closes the file.
func (r *Bolt) Close() error { return r.DB.Close() }

// Push implements storebench.Raw.
func (r *Bolt) Push(_ context.Context, vals [][]byte) error {
	return r.DB.Update(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(boltBucket)
		for _, v := range vals {
			seq, err := bk.NextSequence()
			if err != nil {
				return err
			}
			if err := bk.Put(binary.BigEndian.AppendUint64(nil, seq), v); err != nil {
				return err
			}
		}
		r.n += len(vals)
		c := bk.Cursor()
		for k, _ := c.First(); k != nil && r.n > storebench.StoreSize; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
			r.n--
		}
		return nil
	})
}

// Newest implements storebench.Raw.
func (r *Bolt) Newest(_ context.Context, n int) ([][]byte, error) {
	var out [][]byte
	err := r.DB.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(boltBucket).Cursor()
		for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
			out = append(out, bytes.Clone(v))
		}
		return nil
	})
	slices.Reverse(out)
	return out, err
}

// All implements storebench.Raw.
func (r *Bolt) All(ctx context.Context) ([][]byte, error) { return r.Newest(ctx, math.MaxInt) }

// Count implements storebench.Raw.
func (r *Bolt) Count(context.Context) (int64, error) {
	var n int64
	err := r.DB.View(func(tx *bbolt.Tx) error {
		n = int64(tx.Bucket(boltBucket).Stats().KeyN)
		return nil
	})
	return n, err
}
