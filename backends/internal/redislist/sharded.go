package redislist

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/internal/hashslot"
)

// # Sharded cluster layout (shards=N)
//
// A namespace's alerts spread over N lists whose hash slots lie in N
// different N-ths of the slot space, so that a cluster whose masters split
// the slots evenly (as `redis-cli --cluster create` does) holds them
// evenly: one shard per master when N is the number of masters, N/M each
// when N is a multiple of M. Shard 0 is the unsharded layout itself
// (ClusterKeys: the list keeps its old name, and the namespace's record,
// cap, base and audit, stays there); shard i > 0 is a list named
// P + "alerts:shard<i>.<k>", k the first number that puts it in the middle
// of its N-th, with its keys tagged by that name. Each shard has, besides the
// list and its counter, a stamps list "{<list>}:stamps" aligned with the
// list: the time (microseconds, from a process-wide clock that never
// repeats a value) at which the driver appended each entry.
//
// Writes: each batch is split over the shards round-robin (from a random
// shard per store); each shard's part is one script (ShardAppendScript),
// atomic on its own; a batch over several shards is not atomic as a whole
// (an error means, as always, "maybe stored": retry the same alerts, same
// ids).
//
// Order: an entry's position is its stamp * 16 + its shard, so reads merge
// the shards newest first by the time the driver stored each entry (for
// the writers of one process, exactly their order; across processes, as
// well as their clocks agree), and a cursor (a position) means the same
// entries whatever is appended later.
//
// The cap: each shard keeps ceil(cap/N) entries, so the namespace holds at
// most cap+N-1; reads show the newest cap of them (the oldest few over
// the cap are hidden, found from each shard's oldest stamps). When the
// writes are spread evenly over the shards (one writer's round-robin, or
// many writers) the shown entries are exactly the newest cap alerts; when
// one shard takes more than its share of the newest cap, it trims some of
// them early, and the namespace shows older entries of the other shards
// in their place: never more than cap, never an entry out of order.
//
// What a sharded namespace gives up: the old tools see shard 0 only (a
// quarter of the alerts with 4 shards); a Clear is one script per shard,
// not one atomic step; and min_replicas is not offered (a WAIT covers one
// connection, one shard).

// MaxShards bounds shards=N: a position holds the shard in 4 bits.
const MaxShards = 16

// ShardKeys names the keys of the n shards of prefix (see the sharded
// layout above); shard 0's are ClusterKeys(prefix). The slot space is cut
// in n equal parts; shard 0 is in the part its old name hashes to, and
// each other shard takes one of the other parts, in order, with a name
// whose slot lies in that part's middle half, away from the boundaries a
// cluster's masters may not split exactly at.
func ShardKeys(prefix string, n int) []Keys {
	keys := []Keys{ClusterKeys(prefix)}
	part := func(slot int) int { return slot * n / hashslot.Slots }
	first := part(hashslot.Of(keys[0].List))
	for i := 1; i < n; i++ {
		q := (first + i) % n
		lo, hi := q*hashslot.Slots/n, (q+1)*hashslot.Slots/n
		quarter := (hi - lo) / 4
		for k := 0; ; k++ {
			name := prefix + "alerts:shard" + strconv.Itoa(i) + "." + strconv.Itoa(k)
			if slot := hashslot.Of(name); slot >= lo+quarter && slot < hi-quarter {
				keys = append(keys, clusterKeysOf(name))
				break
			}
		}
	}
	return keys
}

// clusterKeysOf is ClusterKeys for a list named list.
func clusterKeysOf(list string) Keys {
	tag := "{" + list + "}"
	return Keys{List: list, Seq: tag + ":seq", Events: tag + ":events", Cap: tag + ":cap", Base: tag + ":base", Audit: tag + ":audit"}
}

// stampsKey is the stamps list of a shard.
func stampsKey(k Keys) string { return "{" + k.List + "}:stamps" }

// clock hands out stamps: microseconds since the epoch, never the same
// twice in this process, growing.
var clock atomic.Int64

// stamps reserves n consecutive stamps and returns the first.
func stamps(n int) int64 {
	for {
		last := clock.Load()
		s := max(time.Now().UnixMicro(), last+1)
		if clock.CompareAndSwap(last, s+int64(n)-1) {
			return s
		}
	}
}

// ShardedDriver is the driver of a sharded namespace on a cluster Client.
// Shard 0 is an unsharded cluster Driver, which also keeps the
// namespace's record and the driver's life (Ping, Close, As).
type ShardedDriver struct {
	*Driver
	shards []Keys
	rr     atomic.Uint64

	smu  sync.Mutex
	subs map[*shardedSub]struct{}
}

var (
	_ backend.Driver          = (*ShardedDriver)(nil)
	_ backend.Watcher         = (*ShardedDriver)(nil)
	_ backend.NamespaceKeeper = (*ShardedDriver)(nil)
	_ backend.Dropper         = (*ShardedDriver)(nil)
)

// NewSharded returns a driver for the namespace cfg.Prefix spread over n
// shards (2 to MaxShards) on c, a cluster Client.
func NewSharded(c Client, cfg backend.Config, n int, opts *Options) *ShardedDriver {
	d := NewCluster(c, cfg, opts)
	s := &ShardedDriver{Driver: d, shards: ShardKeys(d.cfg.Prefix, n), subs: map[*shardedSub]struct{}{}}
	// Each store starts its round-robin at a random shard: processes
	// that store one alert and exit (alertstore put) would otherwise all
	// write to shard 0.
	s.rr.Store(rand.Uint64N(uint64(n)))
	return s
}

// Shards returns the keys of every shard.
func (s *ShardedDriver) Shards() []Keys { return slices.Clone(s.shards) }

func (s *ShardedDriver) perShard(capN int) int {
	n := len(s.shards)
	return (capN + n - 1) / n
}

// Append implements backend.Driver: the batch split over the shards
// round-robin, each part one script.
func (s *ShardedDriver) Append(ctx context.Context, alerts [][]byte) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if len(alerts) == 0 {
		return nil
	}
	capN, err := s.trimCap(ctx)
	if err != nil {
		return err
	}
	n := len(s.shards)
	first := stamps(len(alerts))
	start := int(s.rr.Add(uint64(len(alerts))) - uint64(len(alerts)))
	parts := make([][]int, n)
	for j := range alerts {
		i := (start + j) % n
		parts[i] = append(parts[i], j)
	}
	trim := strconv.Itoa(s.perShard(capN))
	for i, idx := range parts {
		if len(idx) == 0 {
			continue
		}
		k := s.shards[i]
		args := make([]string, 0, 3+2*len(idx))
		args = append(args, trim, k.Events, strconv.Itoa(len(idx)))
		for _, j := range idx {
			args = append(args, strconv.FormatInt(first+int64(j), 10))
		}
		for _, j := range idx {
			args = append(args, string(alerts[j]))
		}
		if _, err := s.c.Eval(ctx, ShardAppendScript, []string{k.List, k.Seq, stampsKey(k)}, args); err != nil {
			return err
		}
	}
	return nil
}

// shardEntry is an entry read from a shard.
type shardEntry struct {
	pos   int64 // within the shard
	stamp int64
	e     backend.Entry // Pos: stamp*16 + shard
}

// shardRead is one shard's reply to ShardReadScript.
type shardRead struct {
	n, seq  int64
	tail    []int64
	entries []shardEntry
}

func (s *ShardedDriver) readShard(ctx context.Context, i int, mode string, bound int64, limit, tail int) (shardRead, error) {
	k := s.shards[i]
	var v []string
	err := s.read(ctx, func() (err error) {
		v, err = s.c.EvalRO(ctx, ShardReadScript, []string{k.List, k.Seq, stampsKey(k)},
			[]string{mode, strconv.FormatInt(bound, 10), strconv.Itoa(limit), strconv.Itoa(s.maxBytes), strconv.Itoa(tail)})
		return err
	})
	if err != nil {
		return shardRead{}, err
	}
	var r shardRead
	bad := func() (shardRead, error) { return r, fmt.Errorf("redislist: shard read reply of %d elements", len(v)) }
	if len(v) < 3 {
		return bad()
	}
	r.n, _ = strconv.ParseInt(v[0], 10, 64)
	r.seq, _ = strconv.ParseInt(v[1], 10, 64)
	nt, _ := strconv.Atoi(v[2])
	if len(v) < 3+nt || (len(v)-3-nt)%4 != 0 {
		return bad()
	}
	for _, t := range v[3 : 3+nt] {
		st, _ := strconv.ParseInt(t, 10, 64)
		r.tail = append(r.tail, st)
	}
	for p := 3 + nt; p < len(v); p += 4 {
		pos, _ := strconv.ParseInt(v[p], 10, 64)
		st, _ := strconv.ParseInt(v[p+1], 10, 64)
		size, _ := strconv.ParseInt(v[p+2], 10, 64)
		e := backend.Entry{Pos: st*MaxShards + int64(i), Data: []byte(v[p+3])}
		if size > 0 {
			e.Data, e.TooLarge = nil, size
		}
		r.entries = append(r.entries, shardEntry{pos: pos, stamp: st, e: e})
	}
	return r, nil
}

// visibleCap is the cap reads apply: the recorded one, else the store's.
func (s *ShardedDriver) visibleCap(ctx context.Context) (int64, error) {
	if rec := s.recorded.Load(); rec > 0 {
		return rec, nil
	}
	var v []string
	err := s.read(ctx, func() (err error) {
		v, err = s.c.EvalRO(ctx, CapReadScript, []string{s.k.Cap}, nil)
		return err
	})
	if err != nil {
		return 0, err
	}
	if c, err := strconv.ParseInt(first(v), 10, 64); err == nil && c > 0 {
		return c, nil
	}
	return int64(s.max), nil
}

// Scan implements backend.Driver: each shard's newest entries below
// before, merged newest first; the entries beyond the namespace's cap
// (the oldest of what the shards hold) are not shown.
func (s *ShardedDriver) Scan(ctx context.Context, before int64, limit int) ([]backend.Entry, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("%w: scan limit %d", backend.ErrInvalidQuery, limit)
	}
	capN, err := s.visibleCap(ctx)
	if err != nil {
		return nil, err
	}
	n := len(s.shards)
	for tail := n; ; {
		reads := make([]shardRead, n)
		var total int64
		for i := range s.shards {
			bound := int64(-1)
			if before > 0 {
				bound = (before - 1 - int64(i)) / MaxShards
				if before-1-int64(i) < 0 {
					bound = -2 // nothing of this shard is below before
				}
			}
			lim := limit
			if bound == -2 {
				lim, bound = 0, -1
			}
			if reads[i], err = s.readShard(ctx, i, ModeBefore, bound, lim, tail); err != nil {
				return nil, err
			}
			total += reads[i].n
		}
		excess := total - capN
		if excess > int64(tail) {
			tail = int(excess)
			continue // rare: lists over their part of the cap (a lowered cap, another tool)
		}
		hide := int64(-1) // entries at or below this position are over the cap
		if excess > 0 {
			var olds []int64
			for i, r := range reads {
				for _, st := range r.tail {
					olds = append(olds, st*MaxShards+int64(i))
				}
			}
			slices.Sort(olds)
			hide = olds[excess-1]
		}
		var out []backend.Entry
		for _, r := range reads {
			for _, se := range r.entries {
				if se.e.Pos > hide && (before <= 0 || se.e.Pos < before) {
					out = append(out, se.e)
				}
			}
		}
		slices.SortFunc(out, func(a, b backend.Entry) int {
			switch {
			case a.Pos > b.Pos:
				return -1
			case a.Pos < b.Pos:
				return 1
			}
			return 0
		})
		if len(out) > limit {
			out = out[:limit]
		}
		return out, nil
	}
}

// states reads every shard's length and counter.
func (s *ShardedDriver) states(ctx context.Context) (lens, seqs []int64, err error) {
	for _, k := range s.shards {
		var v []string
		err := s.read(ctx, func() (err error) {
			v, err = s.c.EvalRO(ctx, ShardStateScript, []string{k.List, k.Seq}, nil)
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		l, err1 := atoi(v, 0)
		q, err2 := atoi(v, 1)
		if err1 != nil || err2 != nil {
			return nil, nil, fmt.Errorf("redislist: shard state reply %q", v)
		}
		lens, seqs = append(lens, l), append(seqs, q)
	}
	return lens, seqs, nil
}

// Count implements backend.Driver: what the shards hold, up to the cap.
func (s *ShardedDriver) Count(ctx context.Context) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	capN, err := s.visibleCap(ctx)
	if err != nil {
		return 0, err
	}
	lens, _, err := s.states(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, l := range lens {
		total += l
	}
	return min(total, capN), nil
}

// Clear implements backend.Driver: every shard emptied (the first last,
// with the audit record of the whole namespace); counters kept.
func (s *ShardedDriver) Clear(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	head, err := auditHead(backend.AuditRecord{Op: backend.AuditClear, Client: backend.ClientNameOf(s.cfg)})
	if err != nil {
		return err
	}
	var entries, seqs int64
	for _, k := range s.shards[1:] {
		v, err := s.c.Eval(ctx, ShardClearScript, []string{k.List, k.Seq, stampsKey(k)}, nil)
		if err != nil {
			return err
		}
		e, _ := atoi(v, 0)
		q, _ := atoi(v, 1)
		entries, seqs = entries+e, seqs+q
	}
	k := s.shards[0]
	_, err = s.c.Eval(ctx, ShardClearFirstScript, []string{k.List, k.Seq, stampsKey(k), k.Base, k.Audit},
		[]string{head, strconv.Itoa(backend.AuditKeep), strconv.FormatInt(entries, 10), strconv.FormatInt(seqs, 10)})
	return err
}

// NamespaceInfo implements backend.NamespaceKeeper over every shard: the
// record is shard 0's; Len is what reads show, Appended what went through
// every shard's counter since the last Clear (whose base is their sum).
func (s *ShardedDriver) NamespaceInfo(ctx context.Context) (backend.NamespaceInfo, error) {
	var info backend.NamespaceInfo
	if err := s.check(ctx); err != nil {
		return info, err
	}
	k := s.shards[0]
	var v []string
	err := s.read(ctx, func() (err error) {
		v, err = s.c.EvalRO(ctx, InfoScript, []string{k.List, k.Seq, k.Cap, k.Base, k.Audit}, []string{strconv.Itoa(backend.AuditKeep)})
		return err
	})
	if err != nil {
		return info, err
	}
	if len(v) < 4 {
		return info, fmt.Errorf("redislist: namespace info reply of %d elements", len(v))
	}
	c, _ := strconv.ParseInt(v[2], 10, 64)
	base, _ := strconv.ParseInt(v[3], 10, 64)
	info.Cap = int(c)
	for _, raw := range v[4:] {
		var r backend.AuditRecord
		if json.Unmarshal([]byte(raw), &r) == nil {
			info.Audit = append(info.Audit, r)
		}
	}
	capN, err := s.visibleCap(ctx)
	if err != nil {
		return info, err
	}
	lens, seqs, err := s.states(ctx)
	if err != nil {
		return info, err
	}
	var total, seq int64
	for i := range lens {
		total, seq = total+lens[i], seq+seqs[i]
	}
	info.Len = min(total, capN)
	info.Appended = max(seq-base, 0)
	return info, nil
}

// SetCap implements backend.NamespaceKeeper: recorded in shard 0, applied
// by every shard at its next append, audited with the namespace's
// entries.
func (s *ShardedDriver) SetCap(ctx context.Context, n int) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := backend.CheckCapValue(n); err != nil {
		return err
	}
	entries, err := s.Count(ctx)
	if err != nil {
		return err
	}
	head, err := auditHead(backend.AuditRecord{Op: backend.AuditSetCap, Client: backend.ClientNameOf(s.cfg), Cap: n})
	if err != nil {
		return err
	}
	k := s.shards[0]
	_, err = s.c.Eval(ctx, ShardSetCapScript, []string{k.Cap, k.Audit},
		[]string{strconv.Itoa(n), head, strconv.Itoa(backend.AuditKeep), strconv.FormatInt(entries, 10)})
	if err == nil {
		s.recorded.Store(int64(n))
	}
	return err
}

// Drop implements backend.Dropper: every key of every shard.
func (s *ShardedDriver) Drop(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	for _, k := range s.shards {
		for _, key := range []string{k.List, k.Seq, stampsKey(k), k.Cap, k.Base, k.Audit} {
			if err := s.read(ctx, func() error { return s.c.Del(ctx, key) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close implements backend.Driver: the watches end, then shard 0's
// driver closes (and the client, if it owns it).
func (s *ShardedDriver) Close() error {
	s.smu.Lock()
	subs := s.subs
	s.subs = nil
	s.smu.Unlock()
	for sub := range subs {
		_ = sub.Close()
	}
	return s.Driver.Close()
}
