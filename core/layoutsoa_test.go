package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQuadSquares checks the four-lane squared distances against
// sqEuclidean, bit for bit, in dimensions around the multiples of four,
// for runs of positions that start and end anywhere in a quad, in both
// dtypes, with coordinates far from the origin (the sums' rounding then
// shows any change of order).
func TestQuadSquares(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, dim := range []int{4, 5, 7, 8, 10, 13, 16, 33} {
		pts := make([]float64, 23*dim)
		for i := range pts {
			pts[i] = 1e6 + 1e3*rng.NormFloat64()
		}
		q := make([]float64, dim)
		for j := range q {
			q[j] = 1e6 + 1e3*rng.NormFloat64()
		}
		t.Run(fmt.Sprintf("float64/d=%d", dim), func(t *testing.T) { checkQuadSquares(t, pts, q, dim) })
		t.Run(fmt.Sprintf("float32/d=%d", dim), func(t *testing.T) {
			checkQuadSquares(t, convertTo[float32](pts), convertTo[float32](q), dim)
		})
	}
}

func checkQuadSquares[T Float](t *testing.T, pts, q []T, dim int) {
	f := &flatTree[T]{dim: dim, pts: pts, lanes: interleaved(pts, dim)}
	n := int32(len(pts) / dim)
	s := &scratch{}
	for lo := range n {
		for hi := lo; hi <= n; hi++ {
			sq := f.squaresAt(s, q, lo, hi)
			for i := lo; i < hi; i++ {
				if got, want := sq[i-lo], sqEuclidean(q, f.row(i)); math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("[%d, %d): position %d: %v, sqEuclidean %v", lo, hi, i, got, want)
				}
			}
		}
	}
}

func convertTo[T Float](x []float64) []T {
	out := make([]T, len(x))
	for i, v := range x {
		out[i] = T(v)
	}
	return out
}

// TestFlatTreeLanes checks the search of layouts with four-lane
// coordinates (forced on, so that a build without the vector kernel runs
// its scalar loop, and in 4-D, where the layout has boxes instead) against
// brute force: Euclidean and cosine, 4 to 16
// dimensions, float64 and float32, data full of duplicates and ties,
// fitted points and query points, k from 1 to 40.
func TestFlatTreeLanes(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	n := 1500
	if raceEnabled || testing.Short() {
		n = 400
	}
	for _, dim := range []int{4, 6, 10, 16} {
		for _, m := range []Metric{{Kind: Euclidean}, {Kind: Cosine}} {
			uniform := make([]float64, n*dim)
			for i := range uniform {
				uniform[i] = rng.Float64()
			}
			grid := make([]float64, n*dim)
			for i := range grid {
				grid[i] = float64(rng.IntN(3))
			}
			grid[0] = 1 // no zero row for cosine
			for name, data := range map[string][]float64{"uniform": uniform, "grid": grid} {
				id := fmt.Sprintf("%s/%v/d=%d", name, m.Kind, dim)
				t.Run(id+"/float64", func(t *testing.T) { checkLanes(t, data, dim, m, rng) })
				t.Run(id+"/float32", func(t *testing.T) { checkLanes(t, convertTo[float32](data), dim, m, rng) })
			}
		}
	}
}

func checkLanes[T Float](t *testing.T, data []T, dim int, m Metric, rng *rand.Rand) {
	if m.Kind == Cosine {
		for i := 0; i < len(data); i += dim {
			if !slices.ContainsFunc(data[i:i+dim], func(v T) bool { return v != 0 }) {
				data[i] = 1
			}
		}
	}
	tr, err := Build(data, dim, Options{Seed: 5, Jobs: 2, Metric: m})
	if err != nil {
		t.Fatal(err)
	}
	f := tr.flatten(2)
	if !f.euclid {
		t.Fatalf("a %v layout without Euclidean kernels", m.Kind)
	}
	if want := lanesPay() && dim > boxDims; f.lanes != nil != want {
		t.Fatalf("four-lane coordinates made: %v, want %v", f.lanes != nil, want)
	}
	f.lanes = interleaved(f.pts, dim)
	ids := tr.LiveIDs(nil)
	for trial := range 120 {
		k := []int{1, 2, 10, 40}[trial%4]
		var q []T
		ex, home := int32(-1), int32(-1)
		if trial%2 == 0 {
			id := ids[rng.IntN(len(ids))]
			q, ex = tr.Point(int(id)), int32(id)
			home = f.pos[tr.s.nodeOf(ex)]
		} else {
			q = make([]T, dim)
			for j := range q {
				q[j] = T(2.4*rng.Float64() - 0.1)
			}
			if q, err = prepare(m, q, dim); err != nil {
				t.Fatal(err)
			}
		}
		got := &scratch{exclude: ex}
		f.knn(got, q, k, home, int32(k+1), nil, 1, math.Inf(1))
		var want []entry
		for _, p := range bruteSorted(tr, q) {
			if int32(p.i) != ex && len(want) < k {
				want = append(want, entry{d: p.d, id: int32(p.i)})
			}
		}
		if g := drained(&got.heap); !slices.Equal(g, want) {
			t.Fatalf("trial %d (k=%d, home %d): %v, brute force %v", trial, k, home, g, want)
		}
	}
}
