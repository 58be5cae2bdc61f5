package backend

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// manyKeys is an object of n distinct keys, the shape that made the old
// duplicate-key check quadratic, with a duplicate of the first key at the
// end when dup is set (found only after every other key was recorded).
func manyKeys(n int, dup bool) []byte {
	var b strings.Builder
	b.WriteString(`{"timestamp":"2025-03-01T00:00:00"`)
	for i := range n {
		fmt.Fprintf(&b, `,"k%d":0`, i)
	}
	if dup {
		b.WriteString(`,"k0":1`)
	}
	b.WriteString("}")
	return []byte(b.String())
}

// growth returns probes(n*factor) / probes(n) for a probe-counting
// function: about factor when it is linear, factor squared when quadratic.
func growth(probes func(n int) int, n, factor int) float64 {
	return float64(probes(n*factor)) / float64(probes(n))
}

// linearEnough is the check: eight times the keys may cost at most ten
// times the probes (a quadratic check costs 64 times).
func linearEnough(probes func(n int) int) (float64, bool) {
	g := growth(probes, 2000, 8)
	return g, g <= 10
}

func TestDuplicateKeyCheckIsLinear(t *testing.T) {
	for _, c := range []struct {
		name string
		dup  bool
	}{
		{"distinct-keys", false},
		{"duplicate-last", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			probes := func(n int) int {
				var ks keySet
				_, err := scanObject(manyKeys(n, c.dup), &ks)
				if c.dup != errors.Is(err, ErrDuplicateKey) {
					t.Fatalf("scanObject of %d keys (dup %v): %v", n, c.dup, err)
				}
				return ks.probes
			}
			if g, ok := linearEnough(probes); !ok {
				t.Errorf("8x the keys cost %.1fx the probes; want linear (<= 10x)", g)
			}
		})
	}
}

// TestLinearEnoughCanFail feeds the check the probe count of the
// comparison loop it replaced, n(n-1)/2, and a linear one.
func TestLinearEnoughCanFail(t *testing.T) {
	if g, ok := linearEnough(func(n int) int { return n * (n - 1) / 2 }); ok {
		t.Errorf("a quadratic probe count (%.1fx for 8x the keys) passed the check", g)
	}
	if g, ok := linearEnough(func(n int) int { return 3*n + 16 }); !ok {
		t.Errorf("a linear probe count (%.1fx) failed the check", g)
	}
}

// TestKeySetFindsEveryDuplicate checks both sides of the switch to a map:
// a repeat of any earlier key is found, in small and large objects.
func TestKeySetFindsEveryDuplicate(t *testing.T) {
	for _, n := range []int{1, 2, smallObject - 1, smallObject, smallObject + 1, 100} {
		for _, at := range []int{0, n / 2, n - 1} {
			t.Run(fmt.Sprintf("keys-%d/repeat-%d", n, at), func(t *testing.T) {
				var b strings.Builder
				b.WriteString("{")
				for i := range n {
					fmt.Fprintf(&b, `"k%d":%d,`, i, i)
				}
				fmt.Fprintf(&b, `"k%d":"again"}`, at)
				if _, err := splitObject([]byte(b.String())); !errors.Is(err, ErrDuplicateKey) {
					t.Errorf("repeat of key %d of %d: %v, want ErrDuplicateKey", at, n, err)
				}
				distinct := strings.Replace(b.String(), fmt.Sprintf(`"k%d":"again"`, at), `"other":"x"`, 1)
				if m, err := splitObject([]byte(distinct)); err != nil || len(m) != n+1 {
					t.Errorf("%d distinct keys: %d members, %v", n+1, len(m), err)
				}
			})
		}
	}
}

// BenchmarkDecodeManyKeys decodes the crafted entry of issue 9: as many
// distinct keys as fit in DefaultMaxAlertBytes.
func BenchmarkDecodeManyKeys(b *testing.B) {
	n := 0
	for len(manyKeys(n+1000, false)) < DefaultMaxAlertBytes {
		n += 1000
	}
	data := manyKeys(n, false)
	b.SetBytes(int64(len(data)))
	b.ReportMetric(float64(n), "keys")
	for b.Loop() {
		if _, err := DecodeAlert(data, DefaultMaxAlertBytes); err != nil {
			b.Fatal(err)
		}
	}
}
