package coretest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// tieCase is a data set full of duplicates or exact ties, with a generator
// of query points that land on ties too.
type tieCase struct {
	name  string
	dim   int
	data  func(rng *rand.Rand) []float64
	query func(rng *rand.Rand) []float64
}

func tieCases() []tieCase {
	return []tieCase{
		{
			// Coordinates in {0..4}: heavy duplication and equal distances.
			name: "grid-sampled/d=1", dim: 1,
			data:  func(rng *rand.Rand) []float64 { return intGrid(rng, 1500, 1, 5) },
			query: func(rng *rand.Rand) []float64 { return halfGrid(rng, 1, 5) },
		},
		{
			name: "grid-sampled/d=2", dim: 2,
			data:  func(rng *rand.Rand) []float64 { return intGrid(rng, 2000, 2, 5) },
			query: func(rng *rand.Rand) []float64 { return halfGrid(rng, 2, 5) },
		},
		{
			name: "grid-sampled/d=3", dim: 3,
			data:  func(rng *rand.Rand) []float64 { return intGrid(rng, 2000, 3, 5) },
			query: func(rng *rand.Rand) []float64 { return halfGrid(rng, 3, 5) },
		},
		{
			name: "grid-sampled/d=8", dim: 8,
			data:  func(rng *rand.Rand) []float64 { return intGrid(rng, 1500, 8, 2) },
			query: func(rng *rand.Rand) []float64 { return halfGrid(rng, 8, 2) },
		},
		{
			// Every point of a 12x12 lattice once: distinct points, and
			// every query sees many equidistant neighbours.
			name: "lattice/d=2", dim: 2,
			data:  func(*rand.Rand) []float64 { return lattice(2, 12) },
			query: func(rng *rand.Rand) []float64 { return halfGrid(rng, 2, 12) },
		},
		{
			name: "lattice/d=3", dim: 3,
			data:  func(*rand.Rand) []float64 { return lattice(3, 7) },
			query: func(rng *rand.Rand) []float64 { return halfGrid(rng, 3, 7) },
		},
		{
			name: "identical/n=1", dim: 3,
			data:  func(*rand.Rand) []float64 { return repeatRow([]float64{1, -2, 3}, 1) },
			query: func(rng *rand.Rand) []float64 { return halfGrid(rng, 3, 4) },
		},
		{
			name: "identical/n=2", dim: 3,
			data:  func(*rand.Rand) []float64 { return repeatRow([]float64{1, -2, 3}, 2) },
			query: func(rng *rand.Rand) []float64 { return halfGrid(rng, 3, 4) },
		},
		{
			name: "identical/n=700", dim: 4,
			data:  func(*rand.Rand) []float64 { return repeatRow([]float64{0.1, 0.2, 0.3, 0.4}, 700) },
			query: func(rng *rand.Rand) []float64 { return uniform[float64](rng, 1, 4, 1) },
		},
		{
			// Two clusters of identical points, interleaved in caller order;
			// the midpoint query is equidistant from all of them.
			name: "two-clusters", dim: 3,
			data: func(*rand.Rand) []float64 {
				var out []float64
				for i := range 600 {
					if i%3 == 0 {
						out = append(out, 0, 0, 0)
					} else {
						out = append(out, 4, 2, -4)
					}
				}
				return out
			},
			query: func(rng *rand.Rand) []float64 {
				switch rng.IntN(3) {
				case 0:
					return []float64{2, 1, -2} // the midpoint
				case 1:
					return []float64{4, 2, -4}
				}
				return uniform[float64](rng, 1, 3, 4)
			},
		},
		{
			// Collinear points at equal spacing along a diagonal, with
			// exactly representable coordinates: every interior point has
			// two equidistant neighbours, every midpoint query two nearest.
			name: "collinear", dim: 3,
			data: func(*rand.Rand) []float64 {
				var out []float64
				for i := range 1000 {
					x := float64(i) * 0.25
					out = append(out, x, -2*x, 0.5*x)
				}
				return out
			},
			query: func(rng *rand.Rand) []float64 {
				x := float64(rng.IntN(2001)) * 0.125 // on points and midpoints
				return []float64{x, -2 * x, 0.5 * x}
			},
		},
		{
			// Collinear at a spacing that is not exactly representable.
			name: "collinear-tenths", dim: 2,
			data: func(*rand.Rand) []float64 {
				var out []float64
				for i := range 800 {
					out = append(out, float64(i)*0.1, 1)
				}
				return out
			},
			query: func(rng *rand.Rand) []float64 { return []float64{float64(rng.IntN(1601)) * 0.05, 1} },
		},
		{
			// Random points, each repeated 1-5 times, in shuffled order.
			name: "random-repeats", dim: 5,
			data: func(rng *rand.Rand) []float64 {
				var rows [][]float64
				for len(rows) < 1500 {
					r := uniform[float64](rng, 1, 5, 1)
					for range 1 + rng.IntN(5) {
						rows = append(rows, r)
					}
				}
				rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
				return slices.Concat(rows...)
			},
			query: func(rng *rand.Rand) []float64 { return uniform[float64](rng, 1, 5, 1) },
		},
	}
}

// intGrid returns n points with integer coordinates in [0, side).
func intGrid(rng *rand.Rand, n, dim, side int) []float64 {
	out := make([]float64, n*dim)
	for i := range out {
		out[i] = float64(rng.IntN(side))
	}
	return out
}

// halfGrid returns a query with coordinates in {-0.5, 0, 0.5, ..., side}.
func halfGrid(rng *rand.Rand, dim, side int) []float64 {
	out := make([]float64, dim)
	for i := range out {
		out[i] = float64(rng.IntN(2*side+2)-1) / 2
	}
	return out
}

// lattice returns every point of {0..side-1}^dim once.
func lattice(dim, side int) []float64 {
	n := 1
	for range dim {
		n *= side
	}
	out := make([]float64, 0, n*dim)
	for i := range n {
		c := i
		for range dim {
			out = append(out, float64(c%side))
			c /= side
		}
	}
	return out
}

func repeatRow(r []float64, n int) []float64 {
	var out []float64
	for range n {
		out = append(out, r...)
	}
	return out
}

// convert returns xs in another coordinate type.
func convert[T, S core.Float](xs []S) []T {
	out := make([]T, len(xs))
	for i, x := range xs {
		out[i] = T(x)
	}
	return out
}

// TestTiesAndDuplicates compares answers with brute force on data with many
// duplicates and exact ties, for every metric and both types (float32 trees
// with level base 1.5), including
// self-queries (each leaves out only its own index: its duplicates still
// answer at distance 0) with k up to n-1.
func TestTiesAndDuplicates(t *testing.T) {
	t.Parallel()
	for ci, tc := range tieCases() {
		for mi, mc := range metrics {
			t.Run(fmt.Sprintf("%s/%s/float64", tc.name, mc.name), func(t *testing.T) {
				runTies[float64](t, tc, core.Options{Metric: mc.m, Seed: seedFor(ci, mi)})
			})
			t.Run(fmt.Sprintf("%s/%s/float32/base=1.5", tc.name, mc.name), func(t *testing.T) {
				runTies[float32](t, tc, core.Options{Metric: mc.m, Seed: seedFor(ci, mi, 32), Base: 1.5})
			})
		}
	}
}

func runTies[T core.Float](t *testing.T, tc tieCase, opts core.Options) {
	rng := rand.New(rand.NewPCG(opts.Seed, 3))
	data := convert[T](tc.data(rng))
	tr := buildOpts(t, data, tc.dim, opts)
	checkShape(t, tr, data, tc.dim)
	plan := queryPlan{external: 16, hits: 8, self: 60, ks: []int{1, 2, 3, 4, 5, 9, 10, 33, 100}, full: 3}
	if testing.Short() {
		plan = queryPlan{external: 4, hits: 4, self: 10, ks: []int{1, 3, 10, 100}, full: 1}
	}
	verify(t, tr, data, tc.dim, opts.Metric, plan, rng, func() []T { return convert[T](tc.query(rng)) })
}

// TestSelfQueryDuplicates pins down the self-query rule on a small
// example: a point leaves out its own index only, so its duplicates answer
// first at distance zero, smallest index first.
func TestSelfQueryDuplicates(t *testing.T) {
	t.Parallel()
	// Rows 0, 2, 3 are the same point; rows 1 and 4 another.
	data := []float64{0, 0, 5, 0, 0, 0, 0, 0, 5, 0}
	tr := build(t, data, 2, core.Metric{}, 1)
	if tr.Nodes() != 2 {
		t.Fatalf("Nodes() = %d, want 2", tr.Nodes())
	}
	dist := make([]float64, 5*4)
	idx := make([]int64, 5*4)
	if err := tr.KNearestBatch(core.Batch[float64]{First: 0, Count: 5}, 4, dist, idx); err != nil {
		t.Fatal(err)
	}
	want := [][]int64{{2, 3, 1, 4}, {4, 0, 2, 3}, {0, 3, 1, 4}, {0, 2, 1, 4}, {1, 0, 2, 3}}
	wantD := [][]float64{{0, 0, 5, 5}, {0, 5, 5, 5}, {0, 0, 5, 5}, {0, 0, 5, 5}, {0, 5, 5, 5}}
	for i := range 5 {
		if !slices.Equal(idx[i*4:i*4+4], want[i]) || !slices.Equal(dist[i*4:i*4+4], wantD[i]) {
			t.Errorf("self-query %d: got %v at %v, want %v at %v", i, idx[i*4:i*4+4], dist[i*4:i*4+4], want[i], wantD[i])
		}
	}
	res, err := tr.WithinBatch(core.Batch[float64]{First: 0, Count: 5}, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Counts(); !slices.Equal(got, []int64{2, 1, 2, 2, 1}) {
		t.Errorf("self radius-0 counts = %v, want [2 1 2 2 1]", got)
	}
}

// TestFarQueriesAndInfiniteRadius checks queries far outside the data, k = n
// from there, and radius +Inf (every point).
func TestFarQueriesAndInfiniteRadius(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 61))
	const n, dim = 1500, 3
	data := clustered[float64](rng, n, dim)
	for mi, mc := range metrics {
		tr := build(t, data, dim, mc.m, uint64(mi))
		for _, q := range [][]float64{{1e6, -1e6, 3}, {-1e12, 0, 0}, {0, 0, 0}} {
			got, err := tr.KNearest(q, n)
			if err != nil {
				t.Fatal(err)
			}
			all := bruteSorted(mc.m, data, dim, q, -1)
			if d := diffNeighbors(got, expect[float64](all)); d != "" {
				t.Fatalf("%s: k=n from %v: %s", mc.name, q, d)
			}
			in, err := tr.Within(q, math.Inf(1))
			if err != nil {
				t.Fatal(err)
			}
			if d := diffNeighbors(in, expect[float64](all)); d != "" {
				t.Fatalf("%s: radius +Inf from %v: %s", mc.name, q, d)
			}
		}
	}
}
