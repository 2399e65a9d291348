package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGridBuild builds trees by the grid construction on data made to
// strain it - crowded cells for the first guess of the least distance,
// points one ulp apart and repeated ones, one dimension, a spread the
// grid cannot index (which must fall back to the batch
// construction) - checks their invariants, which construction ran, and
// their k-nearest answers against brute force, in both precisions.
func TestGridBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	cases := []struct {
		name string
		dim  int
		data []float64
		want string
	}{
		{"alternating-clusters", 3, alternatingClusters(rng, 3000), "grid"},
		{"near-duplicates", 2, nearNeighbours(rng, 2000, 1e-7), "grid"},
		{"ulps", 2, nearNeighbours(rng, 2000, 0), "batch"},
		{"line", 1, gaussianRows(rng, 2000, 1), "grid"},
		{"grid-ties", 3, gridRows(rng, 2500, 3), "grid"},
		{"one-point-many-times", 2, manyCopies(rng, 3000), "grid"},
		{"copies-signed-zeros", 3, signedZeroCopies(rng, 4000), "grid"},
		// Sets of four samples or more narrow the first grid from a
		// sample (of 256 rows here): a surface (crowded cells for a guess
		// that assumes a filled volume), and a point repeated for half
		// the rows.
		{"sphere-surface", 3, sphereSurface(rng, 3000), "grid"},
		{"many-copies-sampled", 2, halfCopies(rng, 3000), "grid"},
		{"too-wide", 3, tooWide(rng, 1500), "batch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkBuild(t, c.data, c.dim, Options{Seed: 4, Jobs: 2, sample: 256}, c.want, rng)
		})
	}
}

// alternatingClusters returns 3-D rows that alternate between two tight
// clusters far apart: consecutive rows are far apart, so the first grid
// that looks for the least distance is far too coarse.
func alternatingClusters(rng *rand.Rand, n int) []float64 {
	out := make([]float64, 3*n)
	for i := range n {
		for j := range 3 {
			out[3*i+j] = float64(i%2)*1000 + 1e-3*rng.NormFloat64()
		}
	}
	return out
}

// nearNeighbours returns 2-D rows in pairs gap apart (one ulp for 0), some
// repeated.
func nearNeighbours(rng *rand.Rand, n int, gap float64) []float64 {
	out := make([]float64, 0, 2*n)
	for len(out) < 2*n {
		x, y := rng.Float64()*100, rng.Float64()
		x2 := math.Nextafter(x, math.Inf(1))
		if gap > 0 {
			x2 = x + gap
		}
		out = append(out, x, y, x2, y)
		if rng.IntN(4) == 0 {
			out = append(out, x, y)
		}
	}
	return out[:2*n]
}

// manyCopies returns 2-D rows of which a third are one point repeated.
func manyCopies(rng *rand.Rand, n int) []float64 {
	out := gaussianRows(rng, n, 2)
	for i := 0; i < n; i += 3 {
		out[2*i], out[2*i+1] = 0.25, -0.5
	}
	return out
}

// signedZeroCopies returns 3-D rows each repeated nine to twelve times
// (cells of more than eight points, whose duplicates are found by
// hashing), some of whose coordinates are zeros of either sign, copies
// differing only in those signs.
func signedZeroCopies(rng *rand.Rand, n int) []float64 {
	out := make([]float64, 0, 3*n)
	for len(out) < 3*n {
		p := [3]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		zero := rng.IntN(3)
		p[zero] = 0
		for range 9 + rng.IntN(4) {
			q := p
			if rng.IntN(2) == 0 {
				q[zero] = math.Copysign(0, -1)
			}
			out = append(out, q[:]...)
		}
	}
	return out[:3*n]
}

// sphereSurface returns 3-D rows on the unit sphere.
func sphereSurface(rng *rand.Rand, n int) []float64 {
	out := make([]float64, 0, 3*n)
	for range n {
		x, y, z := rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
		r := math.Sqrt(x*x + y*y + z*z)
		out = append(out, x/r, y/r, z/r)
	}
	return out
}

// halfCopies returns 2-D rows of which every other one is the same point.
func halfCopies(rng *rand.Rand, n int) []float64 {
	out := gaussianRows(rng, n, 2)
	for i := 0; i < n; i += 2 {
		out[2*i], out[2*i+1] = 0.5, 0.25
	}
	return out
}

// tooWide returns 3-D rows whose least distance is too small for the
// grid's keys against their extent.
func tooWide(rng *rand.Rand, n int) []float64 {
	out := gaussianRows(rng, n, 3)
	for i := range out {
		out[i] *= 1e-9
	}
	out[0], out[1], out[2] = 1e9, -1e9, 1e9
	return out
}

// nearQueries returns nq query points drawn from the rows of data, every
// other one nudged off its row by about 1e-3.
func nearQueries[T Float](data []T, dim, nq int, rng *rand.Rand) []T {
	n := len(data) / dim
	qs := make([]T, 0, nq*dim)
	for q := range nq {
		r := rng.IntN(n)
		for j := range dim {
			x := data[r*dim+j]
			if q%2 == 1 {
				x += T(1e-3 * rng.NormFloat64())
			}
			qs = append(qs, x)
		}
	}
	return qs
}

// againstBrute compares the tree's k nearest neighbours of points on and
// off the data with a linear scan, distances and indices (ties by index).
func againstBrute[T Float](t *testing.T, tr *Tree[T], data []T, dim int, rng *rand.Rand) {
	t.Helper()
	n := len(data) / dim
	const nq = 30
	k := min(6, n)
	qs := nearQueries(data, dim, nq, rng)
	dist, idx := make([]T, nq*k), make([]int64, nq*k)
	if err := tr.KNearestBatch(Batch[T]{Points: qs, Jobs: 2}, k, dist, idx); err != nil {
		t.Fatal(err)
	}
	// The k nearest by distance as measured (float64), ties by index, then
	// ordered by the distance returned (rounded to T), ties by index.
	type cand struct {
		d  float64
		id int64
	}
	byDist := func(a, b cand) int {
		switch {
		case a.d < b.d:
			return -1
		case a.d > b.d:
			return 1
		}
		return int(a.id - b.id)
	}
	all := make([]cand, n)
	for q := range nq {
		for r := range n {
			all[r] = cand{tr.Dist(qs[q*dim:(q+1)*dim], data[r*dim:(r+1)*dim]), int64(r)}
		}
		slices.SortFunc(all, byDist)
		want := slices.Clone(all[:k])
		for j := range want {
			want[j].d = float64(T(want[j].d))
		}
		slices.SortFunc(want, byDist)
		for j := range k {
			if got := (cand{float64(dist[q*k+j]), idx[q*k+j]}); got != want[j] {
				t.Fatalf("query %d rank %d: tree (%v, %d), brute force (%v, %d)", q, j, got.d, got.id, want[j].d, want[j].id)
			}
		}
	}
}

// TestGridBuildDeterministic checks that the grid construction gives the
// same tree for every number of goroutines, with sets large enough for
// its loops to run in parallel, and another tree for another seed.
func TestGridBuildDeterministic(t *testing.T) {
	n := 20000
	if raceEnabled {
		n = 9000
	}
	for _, dim := range []int{2, 3} {
		rng := rand.New(rand.NewPCG(uint64(dim), 5))
		data := clusterRows(rng, n, dim)
		var ref [][3]float64
		for _, jobs := range []int{1, 2, 4} {
			var built string
			tr, err := Build(data, dim, Options{Seed: 7, Jobs: jobs, built: &built})
			if err != nil {
				t.Fatal(err)
			}
			if built != "grid" {
				t.Fatalf("d=%d: built by %q", dim, built)
			}
			s := shape(tr)
			if ref == nil {
				ref = s
				continue
			}
			if !slices.Equal(s, ref) {
				t.Fatalf("d=%d: jobs=%d gave another tree than jobs=1", dim, jobs)
			}
		}
		other, err := Build(data, dim, Options{Seed: 8, Jobs: 2})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(shape(other), ref) {
			t.Fatalf("d=%d: another seed gave the same tree", dim)
		}
	}
}

// BenchmarkGridBuild compares the two constructions on the sets where
// the grid one applies.
func BenchmarkGridBuild(b *testing.B) {
	for _, dim := range []int{2, 3} {
		data := clusterRows(rand.New(rand.NewPCG(1, 1)), 100000, dim)
		for _, net := range []bool{false, true} {
			b.Run(fmt.Sprintf("d=%d/levels=%v", dim, net), func(b *testing.B) {
				for b.Loop() {
					if _, err := Build(data, dim, Options{Jobs: 2, netOnly: net}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
