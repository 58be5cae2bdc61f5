package redislist

import (
	"strings"
	"sync"
	"testing"

	"github.com/apt-detection/alertstore/internal/hashslot"
)

// TestShardKeys: shard 0 is the unsharded layout; every shard's keys share
// its list's slot; the shards lie in different N-ths of the slot space,
// each other than shard 0's in the middle half of its part.
func TestShardKeys(t *testing.T) {
	for _, prefix := range []string{"apt_detection:", "site-7:", "x:"} {
		for n := 2; n <= MaxShards; n++ {
			keys := ShardKeys(prefix, n)
			if len(keys) != n {
				t.Fatalf("%s n=%d: %d shards", prefix, n, len(keys))
			}
			if keys[0] != ClusterKeys(prefix) {
				t.Errorf("%s n=%d: shard 0 = %+v, want the unsharded layout", prefix, n, keys[0])
			}
			parts := map[int]bool{}
			for i, k := range keys {
				slot := hashslot.Of(k.List)
				for _, key := range []string{k.Seq, k.Events, k.Cap, k.Base, k.Audit, stampsKey(k)} {
					if hashslot.Of(key) != slot {
						t.Errorf("%s n=%d shard %d: %s in slot %d, its list in %d", prefix, n, i, key, hashslot.Of(key), slot)
					}
				}
				if !strings.HasPrefix(k.List, prefix+"alerts") {
					t.Errorf("shard %d list %q outside the namespace", i, k.List)
				}
				q := slot * n / hashslot.Slots
				if parts[q] {
					t.Errorf("%s n=%d: two shards in part %d", prefix, n, q)
				}
				parts[q] = true
				if i > 0 {
					lo, hi := q*hashslot.Slots/n, (q+1)*hashslot.Slots/n
					if slot < lo+(hi-lo)/4 || slot >= hi-(hi-lo)/4 {
						t.Errorf("%s n=%d shard %d: slot %d not in the middle half of [%d, %d)", prefix, n, i, slot, lo, hi)
					}
				}
			}
		}
	}
}

// TestStamps: the clock never hands out a stamp twice, from any number of
// goroutines, and a batch's stamps are consecutive.
func TestStamps(t *testing.T) {
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				s := stamps(3)
				mu.Lock()
				for j := range int64(3) {
					if seen[s+j] {
						t.Errorf("stamp %d handed out twice", s+j)
					}
					seen[s+j] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if a, b := stamps(1), stamps(1); b <= a {
		t.Errorf("stamps went from %d to %d", a, b)
	}
}
