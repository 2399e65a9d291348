package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestRowSquares checks the build's block kernel against sqEuclidean bit for
// bit: every dimension from 1 to 19 and 33 (runs of four coordinates with
// 0 to 3 left over), blocks of 1 to 9 rows (the last group of four short),
// both dtypes, coordinates near 1e6 (where a different order of the sums
// changes their last bits) and of mixed magnitudes. Under Go's SIMD
// experiment on an AVX2 CPU it checks the vector kernel; otherwise the
// scalar loop.
func TestRowSquares(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	dims := []int{33}
	for d := 1; d <= 19; d++ {
		dims = append(dims, d)
	}
	for _, dim := range dims {
		for _, scale := range []string{"1e6", "mixed"} {
			pts := make([]float64, 9*dim)
			q := make([]float64, dim)
			for i := range pts {
				pts[i] = 1e6 + 1e3*rng.NormFloat64()
				if scale == "mixed" {
					pts[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(13)-6))
				}
			}
			for j := range q {
				q[j] = pts[j] + rng.NormFloat64()
			}
			t.Run(fmt.Sprintf("float64/d=%d/%s", dim, scale), func(t *testing.T) { checkRowSquares(t, pts, q, dim) })
			t.Run(fmt.Sprintf("float32/d=%d/%s", dim, scale), func(t *testing.T) {
				checkRowSquares(t, convertTo[float32](pts), convertTo[float32](q), dim)
			})
		}
	}
}

func checkRowSquares[T Float](t *testing.T, pts, q []T, dim int) {
	n := len(pts) / dim
	for lo := range n {
		for hi := lo + 1; hi <= n; hi++ {
			sq := make([]float64, hi-lo+3)
			for i := range sq {
				sq[i] = -1
			}
			rowSquares(pts[lo*dim:hi*dim], dim, q, sq)
			for k := range hi - lo {
				row := pts[(lo+k)*dim : (lo+k+1)*dim]
				if got, want := sq[k], sqEuclidean(q, row); math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("rows [%d, %d): row %d: %v, sqEuclidean %v", lo, hi, lo+k, got, want)
				}
			}
		}
	}
}
