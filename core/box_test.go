package core

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAllFinite puts a NaN or an infinity at every position of sets of 1 to
// 13 values (each of the four sums and the tail), beside the largest finite
// values and zeros of both signs.
func TestAllFinite(t *testing.T) {
	t.Run("float64", func(t *testing.T) { testAllFinite[float64](t) })
	t.Run("float32", func(t *testing.T) { testAllFinite[float32](t) })
}

func testAllFinite[T Float](t *testing.T) {
	big := T(math.MaxFloat32)
	if b, ok := any(&big).(*float64); ok {
		*b = math.MaxFloat64
	}
	finite := []T{big, -big, T(math.Copysign(0, -1)), 0, 1, T(math.SmallestNonzeroFloat32)}
	for n := 1; n <= 13; n++ {
		data := make([]T, n)
		for i := range data {
			data[i] = finite[i%len(finite)]
		}
		if !allFinite(data) {
			t.Fatalf("n=%d: finite values reported non-finite: %v", n, data)
		}
		for i := range n {
			for _, bad := range []T{T(math.NaN()), T(math.Inf(1)), T(math.Inf(-1))} {
				d := slices.Clone(data)
				d[i] = bad
				if allFinite(d) {
					t.Fatalf("n=%d: %v at %d not found", n, bad, i)
				}
			}
		}
	}
}

// TestWidenBoxParallel checks that the box of a large set scanned on
// several goroutines is the box scanned on one, and that a tree's box
// widens to new points.
func TestWidenBoxParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, dim := range []int{1, 3, 7} {
		rows := boxParallelMin/dim + 101
		data := make([]float64, rows*dim)
		for i := range data {
			data[i] = rng.NormFloat64() * 100
		}
		tr := newTree[float64](dim, Metric{}, scale{}, 1)
		lo1, hi1, err := tr.widenBox(data, 1)
		if err != nil {
			t.Fatal(err)
		}
		for j := range dim {
			lo, hi := math.Inf(1), math.Inf(-1)
			for r := range rows {
				lo, hi = min(lo, data[r*dim+j]), max(hi, data[r*dim+j])
			}
			if lo1[j] != lo || hi1[j] != hi {
				t.Fatalf("dim=%d column %d: box [%v, %v], want [%v, %v]", dim, j, lo1[j], hi1[j], lo, hi)
			}
		}
		for _, jobs := range []int{2, 4, 16} {
			var lo, hi []float64
			var err error
			withProcsDo(jobs, func() { lo, hi, err = tr.widenBox(data, jobs) })
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(lo, lo1) || !slices.Equal(hi, hi1) {
				t.Fatalf("dim=%d jobs=%d: box %v %v, one goroutine's %v %v", dim, jobs, lo, hi, lo1, hi1)
			}
		}
		tr.lo, tr.hi = lo1, hi1
		far := make([]float64, dim)
		far[dim-1] = 1e6
		lo, hi, err := tr.widenBox(far, 2)
		if err != nil {
			t.Fatal(err)
		}
		if hi[dim-1] != 1e6 || lo[0] != min(lo1[0], 0) {
			t.Fatalf("dim=%d: widened box %v %v", dim, lo, hi)
		}
	}
}
