package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFlatTreeWithin checks the radius searches on the search layout
// (listing and counting) against brute force and the node walk: the
// layout tests' trees (uniform, clustered, integer grids full of
// duplicates, an updated tree), the built-in metrics each with its own
// bucket size and boxes, float64 and float32, four-lane coordinates forced
// on, fitted points (left out of their own answers) and query points, radii
// from 0 (the duplicates alone) to one holding everything; in two and three
// Euclidean dimensions the k-d split's search (kdWithin) too.
func TestFlatTreeWithin(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for name, tr := range layoutTrees(t, rng) {
		t.Run(name, func(t *testing.T) { checkWithin(t, tr, rng) })
	}
	n := 1200
	if raceEnabled || testing.Short() {
		n = 300
	}
	for _, c := range []struct {
		m   Metric
		dim int
	}{
		{Metric{Kind: Euclidean}, 2},
		{Metric{Kind: Euclidean}, 3},
		{Metric{Kind: Euclidean}, 6},
		{Metric{Kind: Euclidean}, 10},
		{Metric{Kind: Cosine}, 5},
		{Metric{Kind: Manhattan}, 3},
		{Metric{Kind: Chebyshev}, 4},
		{Metric{Kind: Minkowski, P: 3}, 2},
		{Metric{Kind: Haversine}, 2},
	} {
		data := make([]float64, n*c.dim)
		for i := range data {
			data[i] = float64(rng.IntN(4)) + 0.3*rng.Float64()
			if c.m.Kind == Haversine { // radians: latitudes within [-pi/2, pi/2]
				data[i] = 0.35*data[i] - 0.6
			}
		}
		for name, tr := range map[string]pointTree{
			"float64": buildFor[float64](t, data, c.dim, c.m),
			"float32": buildFor[float32](t, data, c.dim, c.m),
		} {
			t.Run(fmt.Sprintf("%v/d=%d/%s", c.m.Kind, c.dim, name), func(t *testing.T) { tr.checkWithin(t, rng) })
		}
	}
}

// pointTree is a tree of either dtype, for a table of cases.
type pointTree interface {
	checkWithin(t *testing.T, rng *rand.Rand)
}

func buildFor[T Float](t *testing.T, data []float64, dim int, m Metric) *Tree[T] {
	tr, err := Build(convertTo[T](data), dim, Options{Seed: 7, Jobs: 2, Metric: m})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (tr *Tree[T]) checkWithin(t *testing.T, rng *rand.Rand) { checkWithin(t, tr, rng) }

func checkWithin[T Float](t *testing.T, tr *Tree[T], rng *rand.Rand) {
	dim := tr.Dim()
	for _, lanes := range []bool{false, true} {
		f := tr.flatten(2)
		if lanes {
			if !f.euclid || dim <= 3 {
				continue
			}
			f.lanes = interleaved(f.pts, dim)
		}
		ids := tr.LiveIDs(nil)
		for trial := range 60 {
			var q []T
			ex := int32(-1)
			if trial%2 == 0 {
				id := ids[rng.IntN(len(ids))]
				q, ex = tr.Point(int(id)), int32(id)
			} else {
				q = make([]T, dim)
				for j := range q {
					q[j] = T(4*rng.Float64() - 0.2)
				}
				if tr.metric.Kind == Haversine {
					q[0], q[1] = T(rng.Float64()-0.5), T(2*rng.Float64()-1)
				}
				var err error
				if q, err = prepare(tr.metric, q, dim); err != nil {
					t.Fatal(err)
				}
			}
			all := bruteSorted(tr, q)
			// A radius at a point's distance (that point and its ties
			// inside), 0, and beyond everything.
			radii := []float64{0, all[len(all)-1].d * 1.01, math.Inf(1)}
			for range 3 {
				radii = append(radii, all[rng.IntN(len(all))].d)
			}
			for _, r := range radii {
				var want []brutePair
				for _, p := range all {
					if p.d <= r && int32(p.i) != ex {
						want = append(want, p)
					}
				}
				// The layout's walk, and in two and three Euclidean
				// dimensions its k-d split's.
				searches := map[string]func(*scratch){"within": func(s *scratch) { f.within(s, q, r) }}
				if f.kdNodes != nil {
					searches["kdWithin"] = func(s *scratch) { f.kdWithin(s, q, r) }
				}
				for name, search := range searches {
					s := &scratch{exclude: ex}
					search(s)
					got := make([]brutePair, len(s.rd))
					for j := range got {
						got[j] = brutePair{i: int64(s.rid[j]), d: s.rd[j]}
					}
					slices.SortFunc(got, func(a, b brutePair) int {
						if less(a.d, int32(a.i), b.d, int32(b.i)) {
							return -1
						}
						return 1
					})
					if !slices.Equal(got, want) {
						t.Fatalf("%s, lanes %v, trial %d, r=%v: %d answers, brute force %d\ngot  %v\nwant %v", name, lanes, trial, r, len(got), len(want), got, want)
					}
				}
				walk := &scratch{exclude: ex}
				tr.radius(walk, q, r)
				if len(walk.rd) != len(want) {
					t.Fatalf("lanes %v, trial %d, r=%v: the node walk finds %d answers, brute force %d", lanes, trial, r, len(walk.rd), len(want))
				}
				if c := f.countWithin(&scratch{exclude: ex}, q, r); c != int64(len(want)) {
					t.Fatalf("lanes %v, trial %d, r=%v: counted %d, brute force %d", lanes, trial, r, c, len(want))
				}
			}
		}
	}
}
