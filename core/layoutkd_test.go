package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// kdData returns the point sets of the k-d split tests, in two and three
// dimensions: uniform, a small integer grid (every point many times over),
// all points equal, and points on a line (a side of zero width).
func kdData[T Float](rng *rand.Rand, n int) []struct {
	name string
	dim  int
	pts  []T
} {
	line := genRows[T](n, 3, rng.Float64)
	for i := 0; i < len(line); i += 3 {
		line[i+1], line[i+2] = 0.5, 2*line[i]
	}
	return []struct {
		name string
		dim  int
		pts  []T
	}{
		{"uniform/d=2", 2, genRows[T](n, 2, rng.Float64)},
		{"uniform/d=3", 3, genRows[T](n, 3, rng.Float64)},
		{"grid/d=2", 2, genRows[T](n, 2, func() float64 { return float64(rng.IntN(6)) })},
		{"grid/d=3", 3, genRows[T](n, 3, func() float64 { return float64(rng.IntN(4)) })},
		{"equal/d=3", 3, genRows[T](n, 3, func() float64 { return 0.25 })},
		{"line/d=3", 3, line},
	}
}

// TestKDSplit checks the k-d split of a layout: every position in one
// slot; the root holding every slot and each node's halves splitting its
// slots, the lower half's along some side no higher than the upper's;
// leaves of at most kdLeaf points; each box the tight box of its points;
// and each slot's coordinates the position's, exactly.
func TestKDSplit(t *testing.T) {
	testKDSplit[float64](t)
	testKDSplit[float32](t)
}

func testKDSplit[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for _, ds := range kdData[T](rng, 2000) {
		t.Run(fmt.Sprintf("%T/%s", T(0), ds.name), func(t *testing.T) {
			tr, err := Build(ds.pts, ds.dim, Options{Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			f := tr.flatten()
			n := len(f.info) - 1
			if len(f.kdPos) != n {
				t.Fatalf("%d slots for %d positions", len(f.kdPos), n)
			}
			seen := make([]bool, n)
			for _, p := range f.kdPos {
				if seen[p] {
					t.Fatalf("position %d in two slots", p)
				}
				seen[p] = true
			}
			if r := f.kdNodes[0]; r.lo != 0 || int(r.hi) != n {
				t.Fatalf("the root holds slots [%d, %d) of %d", r.lo, r.hi, n)
			}
			for i, nd := range f.kdNodes {
				if nd.left < 0 {
					if nd.hi-nd.lo > kdLeaf {
						t.Fatalf("leaf %d holds %d points", i, nd.hi-nd.lo)
					}
				} else {
					l, r := f.kdNodes[nd.left], f.kdNodes[nd.left+1]
					if l.lo != nd.lo || l.hi != r.lo || r.hi != nd.hi || l.lo == l.hi || r.lo == r.hi {
						t.Fatalf("node %d [%d, %d): halves [%d, %d) and [%d, %d)", i, nd.lo, nd.hi, l.lo, l.hi, r.lo, r.hi)
					}
					split := false
					for j := range ds.dim {
						split = split || l.box[3+j] <= r.box[j]
					}
					if !split {
						t.Fatalf("node %d: halves %v and %v overlap on every side", i, l.box, r.box)
					}
				}
				want := [6]float64{}
				for j := range ds.dim {
					want[j], want[3+j] = math.Inf(1), math.Inf(-1)
				}
				for s := nd.lo; s < nd.hi; s++ {
					for j, x := range f.row(f.kdPos[s]) {
						want[j] = min(want[j], float64(x))
						want[3+j] = max(want[3+j], float64(x))
					}
				}
				if nd.box != want {
					t.Fatalf("node %d: box %v, its points' %v", i, nd.box, want)
				}
			}
			for s, p := range f.kdPos {
				for j, x := range f.row(p) {
					if f.kdPts[3*s+j] != float64(x) {
						t.Fatalf("slot %d holds %v, position %d %v", s, f.kdPts[3*s:3*s+3], p, f.row(p))
					}
				}
				for j := ds.dim; j < 3; j++ {
					if f.kdPts[3*s+j] != 0 {
						t.Fatalf("slot %d: coordinate %d is %v, want 0", s, j, f.kdPts[3*s+j])
					}
				}
			}
		})
	}
}

// TestSelectNth checks the quickselect of the k-d split against a sort, on
// coordinates with many ties (ordered by position) and runs of a few.
func TestSelectNth(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	for _, n := range []int{1, 2, 3, 4, 5, 17, 200, 1001} {
		for _, vals := range []int{1, 3, 1000} {
			for axis := range 3 {
				want := make([]kdItem, n)
				for i := range want {
					want[i].pos = int32(i)
					for j := range want[i].p {
						want[i].p[j] = float64(rng.IntN(vals))
					}
				}
				slices.SortFunc(want, func(a, b kdItem) int {
					if kdBefore(&a, &b, axis) {
						return -1
					}
					return 1
				})
				m := rng.IntN(n)
				got := slices.Clone(want)
				rng.Shuffle(n, func(i, j int) { got[i], got[j] = got[j], got[i] })
				selectNth(got, m, axis)
				if got[m] != want[m] {
					t.Fatalf("n=%d, %d values, axis %d: slot %d holds %v, want %v", n, vals, axis, m, got[m], want[m])
				}
				for i := range got {
					if (i < m && !kdBefore(&got[i], &got[m], axis)) || (i > m && !kdBefore(&got[m], &got[i], axis)) {
						t.Fatalf("n=%d, %d values, axis %d: slot %d (%v) on the wrong side of %d", n, vals, axis, i, got[i], m)
					}
				}
				slices.SortFunc(got, func(a, b kdItem) int { return int(a.pos - b.pos) })
				for i, it := range got {
					if it.pos != int32(i) || it.p != want[slices.IndexFunc(want, func(w kdItem) bool { return w.pos == it.pos })].p {
						t.Fatalf("n=%d: the items are no longer the same", n)
					}
				}
			}
		}
	}
}

// TestKDSearchAgainstBrute checks the layout's k-nearest answers in two
// and three dimensions, which the k-d split gives, against every point
// measured, on the split tests' data (duplicates, equal points, a line),
// in both dtypes, Euclidean and cosine, for new rows and fitted points
// left out of their own answers, with k below and above sortedK; and the
// approximate search (eps > 0) within its promise (on the chord, under
// cosine).
func TestKDSearchAgainstBrute(t *testing.T) {
	testKDSearchAgainstBrute[float64](t)
	testKDSearchAgainstBrute[float32](t)
}

func testKDSearchAgainstBrute[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(55, 56))
	n, nq := 3000, 80
	if raceEnabled || testing.Short() {
		n, nq = 800, 30
	}
	for _, ds := range kdData[T](rng, n) {
		for _, m := range []Metric{{}, {Kind: Cosine}} {
			t.Run(fmt.Sprintf("%T/%s/%v", T(0), ds.name, m), func(t *testing.T) {
				pts := slices.Clone(ds.pts)
				if m.Kind == Cosine {
					for i := range pts {
						pts[i] += 1 // no zero rows
					}
				}
				tr, err := Build(pts, ds.dim, Options{Metric: m, Seed: 11, Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				if f := tr.layout(tr.Nodes()); f == nil || f.kdNodes == nil {
					t.Fatal("no k-d split")
				}
				queries := slices.Clone(pts[:nq*ds.dim])
				for i := range queries {
					queries[i] += T(0.01 * float64(rng.IntN(3)))
				}
				sel := make([]int64, nq)
				for i := range sel {
					sel[i] = int64(rng.IntN(n))
				}
				for _, b := range []struct {
					name  string
					batch Batch[T]
				}{
					{"X=None", Batch[T]{IDs: sel, Jobs: 2}},
					{"X=new rows", Batch[T]{Points: queries, Jobs: 2}},
				} {
					sorted := flatTruth(tr, b.batch, sortedK+8)
					for _, k := range []int{1, 10, sortedK + 8} {
						dist, idx := make([]T, nq*k), make([]int64, nq*k)
						if err := tr.KNearestBatch(b.batch, k, dist, idx); err != nil {
							t.Fatal(err)
						}
						wd, wi := truthRows(tr, sorted, k)
						for i := range dist {
							if dist[i] != wd[i] || idx[i] != wi[i] {
								q := i / k
								t.Fatalf("%s, k=%d, query %d: got %v %v, want %v %v", b.name, k, q,
									dist[q*k:q*k+k], idx[q*k:q*k+k], wd[q*k:q*k+k], wi[q*k:q*k+k])
							}
						}
						const eps = 0.5
						approx := b.batch
						approx.Eps = eps
						if err := tr.KNearestBatch(approx, k, dist, idx); err != nil {
							t.Fatal(err)
						}
						promise := (1 + eps) * (1 + 1e-6)
						if m.Kind == Cosine {
							promise *= promise // on the chord; the cosine distance is its square over 2
						}
						for i := range dist {
							if float64(dist[i]) > promise*float64(wd[i]) {
								t.Fatalf("%s, eps=%v, k=%d, query %d: neighbour %d at %v, the true one at %v", b.name, eps, k, i/k, i%k, dist[i], wd[i])
							}
						}
					}
				}
			})
		}
	}
}
