package core

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCurveOrder checks curveOrder's interleaving of two and three
// coordinates (by spreading bits) against interleaving them one bit at a
// time, and that every order is a permutation sorted by key and then
// index: points spread out, on a small integer grid (equal keys), and
// all equal.
func TestCurveOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	for _, dim := range []int{1, 2, 3, 4, 7} {
		for _, kind := range []string{"spread", "grid", "equal"} {
			n := 500
			pts := make([]float64, n*dim)
			for i := range pts {
				switch kind {
				case "spread":
					pts[i] = rng.NormFloat64() * 100
				case "grid":
					pts[i] = float64(rng.IntN(4))
				}
			}
			pt := func(k int) []float64 { return pts[k*dim : (k+1)*dim] }
			got := curveOrder(n, dim, pt)
			want := curveOrderByBits(n, dim, pt)
			if !slices.Equal(got, want) {
				t.Fatalf("dim %d, %s points: the order differs from interleaving bit by bit", dim, kind)
			}
		}
	}
	for _, x := range []uint64{0, 1, 2, 0x155555, 0x1fffff, 0x7fffffff, 1<<40 | 5} {
		if got, want := spread2(x), spreadByBits(x&(1<<31-1), 2); got != want {
			t.Errorf("spread2(%#x) = %#x, want %#x", x, got, want)
		}
		if got, want := spread3(x), spreadByBits(x&(1<<21-1), 3); got != want {
			t.Errorf("spread3(%#x) = %#x, want %#x", x, got, want)
		}
	}
}

// spreadByBits moves bit i of x to bit step*i.
func spreadByBits(x uint64, step int) uint64 {
	var out uint64
	for i := 0; i < 64 && step*i < 64; i++ {
		out |= (x >> i & 1) << (step * i)
	}
	return out
}

// curveOrderByBits is curveOrder with the keys made one bit at a time and
// the indices sorted by key, then index.
func curveOrderByBits(n, dim int, pt func(k int) []float64) []int32 {
	axes := min(dim, 21)
	bits := 63 / axes
	lo, hi := make([]float64, axes), make([]float64, axes)
	for a := range axes {
		lo[a], hi[a] = math.Inf(1), math.Inf(-1)
	}
	for k := range n {
		for a := range axes {
			lo[a], hi[a] = min(lo[a], pt(k)[a]), max(hi[a], pt(k)[a])
		}
	}
	top := float64(uint64(1)<<bits - 1)
	keys := make([]uint64, n)
	for k := range n {
		for b := bits - 1; b >= 0; b-- {
			for a := range axes {
				var c float64
				if w := hi[a] - lo[a]; w > 0 {
					c = (pt(k)[a] - lo[a]) * (top / w)
				}
				keys[k] = keys[k]<<1 | (uint64(min(max(c, 0), top))>>b)&1
			}
		}
	}
	return stableByKey(keys)
}

// stableByKey returns the positions 0..len(keys)-1 sorted by key, equal
// keys in position order: a comparison sort, the reference for the radix
// sorts.
func stableByKey(keys []uint64) []int32 {
	order := make([]int32, len(keys))
	for k := range order {
		order[k] = int32(k)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(keys[a], keys[b]) })
	return order
}
