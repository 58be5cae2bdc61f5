package baseline

import (
	"context"
	"strconv"
	"testing"

	"github.com/apt-detection/alertstore/internal/storebench"
)

// TestSliceKeepsNewest pushes past the amortized trim several times and
// checks that the baseline holds exactly the newest StoreSize, in order.
func TestSliceKeepsNewest(t *testing.T) {
	ctx := context.Background()
	for _, total := range []int{1, storebench.StoreSize, storebench.StoreSize + 1, 2*storebench.StoreSize + 1, 3*storebench.StoreSize + 7} {
		t.Run(strconv.Itoa(total), func(t *testing.T) {
			var r Slice
			for i := range total {
				if err := r.Push(ctx, [][]byte{[]byte(strconv.Itoa(i))}); err != nil {
					t.Fatal(err)
				}
			}
			want := min(total, storebench.StoreSize)
			if n, _ := r.Count(ctx); n != int64(want) {
				t.Fatalf("Count = %d, want %d", n, want)
			}
			all, _ := r.All(ctx)
			if len(all) != want {
				t.Fatalf("All: %d items, want %d", len(all), want)
			}
			for j, v := range all {
				if got, wantv := string(v), strconv.Itoa(total-want+j); got != wantv {
					t.Fatalf("All[%d] = %s, want %s", j, got, wantv)
				}
			}
			newest, _ := r.Newest(ctx, 3)
			if len(newest) != min(3, want) || string(newest[len(newest)-1]) != strconv.Itoa(total-1) {
				t.Fatalf("Newest(3) = %q", newest)
			}
			if len(r.items) > 2*storebench.StoreSize {
				t.Fatalf("holds %d items, more than twice StoreSize", len(r.items))
			}
		})
	}
}
