package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRowSquares checks the build's block kernel against sqEuclidean bit for
// bit: every dimension from 1 to 19 and 33 (runs of four coordinates with
// 0 to 3 left over), blocks of 1 to 9 rows (the last group of four short),
// both dtypes, coordinates near 1e6 (where a different order of the sums
// changes their last bits), of mixed magnitudes, and in float64 a block of
// 64 rows whose squares overflow or underflow exactSquare's range beside
// ordinary ones; and which rows it leaves open (not settled beyond the
// median square) against settledBeyond. Under Go's SIMD
// experiment on an AVX2 CPU it checks the vector kernel; otherwise the
// scalar loop.
func TestRowSquares(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	dims := []int{33}
	for d := 1; d <= 19; d++ {
		dims = append(dims, d)
	}
	for _, dim := range dims {
		for _, scale := range []string{"1e6", "mixed", "extreme"} {
			rows := 9
			if scale == "extreme" {
				rows = 64 // a whole block
			}
			pts := make([]float64, rows*dim)
			q := make([]float64, dim)
			for i := range pts {
				switch scale {
				case "1e6":
					pts[i] = 1e6 + 1e3*rng.NormFloat64()
				case "mixed":
					pts[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(13)-6))
				default:
					// Rows whose squares overflow exactSquare's range or
					// fall under it, beside ordinary ones.
					pts[i] = rng.NormFloat64() * []float64{1e140, 1e-140, 1}[i/dim%3]
				}
			}
			for j := range q {
				q[j] = pts[j] + rng.NormFloat64()
			}
			t.Run(fmt.Sprintf("float64/d=%d/%s", dim, scale), func(t *testing.T) { checkRowSquares(t, pts, q, dim) })
			if scale == "extreme" {
				continue // beyond float32
			}
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
			// far2 the median square of the block: about half the rows
			// settled beyond it.
			want := make([]float64, hi-lo)
			for k := range want {
				want[k] = sqEuclidean(q, pts[(lo+k)*dim:(lo+k+1)*dim])
			}
			far2 := slices.Clone(want)
			slices.Sort(far2)
			open := rowSquares(pts[lo*dim:hi*dim], dim, q, sq, far2[len(far2)/2])
			for k := range hi - lo {
				if got := sq[k]; math.Float64bits(got) != math.Float64bits(want[k]) {
					t.Fatalf("rows [%d, %d): row %d: %v, sqEuclidean %v", lo, hi, lo+k, got, want[k])
				}
				if got, want := open>>k&1 == 1, !settledBeyond(want[k], far2[len(far2)/2]); got != want {
					t.Fatalf("rows [%d, %d): row %d (square %v, far2 %v): open %v, want %v", lo, hi, lo+k, sq[k], far2[len(far2)/2], got, want)
				}
			}
			if open>>(hi-lo) != 0 {
				t.Fatalf("rows [%d, %d): bits beyond the rows set: %b", lo, hi, open)
			}
		}
	}
}

// BenchmarkRowSquares measures the build's block kernel on blocks of 64
// rows held in the first-level cache, in 10 and 16 dimensions and both
// dtypes, and reports the time a row. Run it with
//
//	GOEXPERIMENT=simd go test ./core -run '^$' -bench RowSquares
func BenchmarkRowSquares(b *testing.B) {
	for _, dim := range []int{10, 16} {
		b.Run(fmt.Sprintf("float64/dim=%d", dim), func(b *testing.B) { benchRowSquares[float64](b, dim) })
		b.Run(fmt.Sprintf("float32/dim=%d", dim), func(b *testing.B) { benchRowSquares[float32](b, dim) })
	}
}

func benchRowSquares[T Float](b *testing.B, dim int) {
	const rows = 64
	rng := rand.New(rand.NewPCG(1, uint64(dim)))
	pts := make([]T, rows*dim)
	for i := range pts {
		pts[i] = T(rng.Float64())
	}
	q := slices.Clone(pts[:dim])
	var sq [rows + 4]float64
	var open uint64
	for b.Loop() {
		open |= rowSquares(pts, dim, q, sq[:], 0.5)
	}
	if open == 0 {
		b.Fatal("every row settled: the bench measures nothing it should")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
}

// TestVecSquares4 checks that measuring four rows at once gives each row
// vecSquare's bits (the projection screen's exact distances are measured
// so): dimensions 1 to 19, 33, 200 and 784, both dtypes, coordinates near
// 1e6 and of mixed magnitudes, and the same row four times.
func TestVecSquares4(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	dims := []int{33, 200, 784}
	for d := 1; d <= 19; d++ {
		dims = append(dims, d)
	}
	for _, dim := range dims {
		for _, scale := range []string{"1e6", "mixed"} {
			pts := make([]float64, 5*dim)
			for i := range pts {
				switch scale {
				case "1e6":
					pts[i] = 1e6 + rng.Float64()
				default:
					pts[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(9)-4))
				}
			}
			checkVecSquares4(t, pts, dim)
			checkVecSquares4(t, toFloat32(pts), dim)
		}
	}
}

func checkVecSquares4[T Float](t *testing.T, pts []T, dim int) {
	t.Helper()
	q := pts[4*dim:]
	for _, same := range []bool{false, true} {
		var rows [4][]T
		for k := range 4 {
			r := k
			if same {
				r = 0
			}
			rows[k] = pts[r*dim : (r+1)*dim]
		}
		var out [4]float64
		vecSquares4(rows, q, &out)
		for k := range 4 {
			if want := vecSquare(rows[k], q); math.Float64bits(out[k]) != math.Float64bits(want) {
				t.Fatalf("%T dim %d row %d: %v four at a time, vecSquare %v", q[0], dim, k, out[k], want)
			}
		}
	}
}
