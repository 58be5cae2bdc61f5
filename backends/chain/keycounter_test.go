package chain

import (
	"math/rand/v2"
	"testing"
)

// TestKeyCounter checks the replay's "how many are newer" multiset against
// a plain count, through removals, duplicates and absent keys.
func TestKeyCounter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]int64, 500)
	for i := range keys {
		keys[i] = rng.Int64N(200) // many duplicates
	}
	live := append([]int64(nil), keys...)
	kc := newKeyCounter(append([]int64(nil), keys...))
	naive := func(k int64) int {
		n := 0
		for _, x := range live {
			if x > k {
				n++
			}
		}
		return n
	}
	for step := range 400 {
		k := rng.Int64N(210) - 5 // also below, above and between the keys
		if got, want := kc.newer(k), naive(k); got != want {
			t.Fatalf("step %d: newer(%d) = %d, want %d", step, k, got, want)
		}
		if step%2 == 0 && len(live) > 0 {
			i := rng.IntN(len(live))
			kc.remove(live[i])
			live = append(live[:i], live[i+1:]...)
		}
	}
	kc.remove(-100) // absent: no-op
	if got, want := kc.newer(-1000), len(live); got != want {
		t.Fatalf("after removing an absent key, newer(min) = %d, want %d", got, want)
	}
	var nilCounter *keyCounter
	nilCounter.remove(3) // a session that cannot drop has no counter
}
