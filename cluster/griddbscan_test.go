package cluster

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// gridDBSCANSets are the grid path's test data: continuous points, an
// integer grid whose distances tie at eps, and blobs with duplicates.
func gridDBSCANSets() []dataset {
	return append(slices.Clone(datasets), dataset{"ties", func(r *rand.Rand, n, dim int) []float64 {
		x := make([]float64, n*dim)
		for i := range x {
			x[i] = float64(r.IntN(12))
		}
		return x
	}})
}

// gridPairs returns, for points x, scikit-learn's test of a pair (the sum
// of squared differences at most eps*eps) as a distance for bruteDBSCAN
// (0 within, +Inf beyond), and whether the tree's test (the square root of
// that sum at most eps) decides every pair the same.
func gridPairs(x []float64, dim int, eps float64) (func(i, j int) float64, bool) {
	n := len(x) / dim
	same := true
	for i := range n {
		for j := range n {
			a, b := x[i*dim:(i+1)*dim], x[j*dim:(j+1)*dim]
			same = same && (sqDist(a, b) <= eps*eps) == (core.Distance(core.Metric{}, a, b) <= eps)
		}
	}
	return func(i, j int) float64 {
		if sqDist(x[i*dim:(i+1)*dim], x[j*dim:(j+1)*dim]) <= eps*eps {
			return 0
		}
		return math.Inf(1)
	}, same
}

// TestDBSCANPointsGrid checks the grid path in one to three dimensions
// against brute force with scikit-learn's test of a pair, and against
// DBSCAN on a tree where the tree's test decides every pair the same;
// eps at exact grid distances included (sqrt(3) is a tie the two tests
// decide otherwise).
func TestDBSCANPointsGrid(t *testing.T) {
	differ := 0
	for _, ds := range gridDBSCANSets() {
		for dim := 1; dim <= 3; dim++ {
			for _, eps := range []float64{0.05, 0.3, 1, math.Sqrt2, 2, math.Sqrt(3)} {
				t.Run(fmt.Sprintf("%s/%dd/eps%.3g", ds.name, dim, eps), func(t *testing.T) {
					r := rand.New(rand.NewPCG(17, uint64(dim)))
					n := 500
					x := ds.gen(r, n, dim)
					if g := newDBSCANGrid(x, dim, eps); g == nil {
						t.Fatal("the grid refused the data")
					}
					d, same := gridPairs(x, dim, eps)
					if !same {
						differ++
					}
					tree, err := core.Build(x, dim, core.Options{Jobs: 2})
					if err != nil {
						t.Fatal(err)
					}
					for _, ms := range []int{1, 3, 8, 25} {
						got, err := DBSCANPoints(x, dim, core.Metric{}, eps, ms, nil, Options{Jobs: 2})
						if err != nil {
							t.Fatal(err)
						}
						labels, isCore := bruteDBSCAN(n, d, eps, ms)
						if !slices.Equal(got.Core, isCore) || !slices.Equal(got.Labels, labels) {
							t.Fatalf("min_samples=%d: labels differ from brute force", ms)
						}
						if !same {
							continue
						}
						onTree, err := DBSCAN(tree, eps, ms, nil, Options{Jobs: 1})
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(got.Labels, onTree.Labels) || !slices.Equal(got.Core, onTree.Core) {
							t.Fatalf("min_samples=%d: labels differ from the tree's", ms)
						}
					}
				})
			}
		}
	}
	if differ == 0 {
		t.Error("no case has a pair the two tests decide otherwise")
	}
}

// TestDBSCANPointsGridWeights checks the grid path with weights, some
// zero and some negative (no cell is then taken as core by its weight),
// against DBSCAN on a tree, and the core points against brute force.
func TestDBSCANPointsGridWeights(t *testing.T) {
	for _, negative := range []bool{false, true} {
		for dim := 1; dim <= 3; dim++ {
			t.Run(fmt.Sprintf("%dd/negative=%v", dim, negative), func(t *testing.T) {
				r := rand.New(rand.NewPCG(23, uint64(dim)))
				n := 600
				side := []int{300, 20, 8}[dim-1] // about 1.5, 1.5 and 1.2 points per unit cell
				x := make([]float64, n*dim)
				for i := range x {
					x[i] = float64(r.IntN(side))
				}
				w := make([]float64, n)
				for i := range w {
					w[i] = float64(r.IntN(3)) * 0.5
					if negative && r.IntN(4) == 0 {
						w[i] = -1
					}
				}
				eps, ms := 1.0, 4
				got, err := DBSCANPoints(x, dim, core.Metric{}, eps, ms, w, Options{Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				tree, err := core.Build(x, dim, core.Options{})
				if err != nil {
					t.Fatal(err)
				}
				want, err := DBSCAN(tree, eps, ms, w, Options{})
				if err != nil {
					t.Fatal(err)
				}
				nCore := 0
				for i := range n {
					s := 0.0
					for j := range n {
						if sqDist(x[i*dim:(i+1)*dim], x[j*dim:(j+1)*dim]) <= eps*eps {
							s += w[j]
						}
					}
					if got.Core[i] != (s >= float64(ms)) {
						t.Fatalf("point %d: core %v, its neighbours weigh %v", i, got.Core[i], s)
					}
					if got.Core[i] {
						nCore++
					}
				}
				if nCore == 0 || nCore == n {
					t.Fatalf("%d core points of %d: the case tests nothing", nCore, n)
				}
				if !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Core, want.Core) {
					t.Fatal("labels differ from the tree's")
				}
			})
		}
	}
}

// TestDBSCANPointsFallback checks the cases the grid does not take (more
// than three dimensions and coordinates too spread for its cells, which
// go to the k-d tree; other metrics, to a cover tree) and float32
// points: on data with no pair at exactly eps the answer is the tree's.
func TestDBSCANPointsFallback(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 1))
	spread := make([]float64, 400*2)
	for i := range spread {
		spread[i] = r.Float64()
	}
	spread[0] = 1e9 // 1e9 / 0.05 cells along an axis
	for _, tc := range []struct {
		name string
		x    []float64
		dim  int
		m    core.Metric
		eps  float64
		grid bool
	}{
		{"4d", datasets[2].gen(r, 400, 4), 4, core.Metric{}, 0.7, false},
		{"manhattan", datasets[2].gen(r, 400, 2), 2, core.Metric{Kind: core.Manhattan}, 0.5, false},
		{"minkowski2", datasets[2].gen(r, 400, 2), 2, core.Metric{Kind: core.Minkowski, P: 2}, 0.5, true},
		{"spread", spread, 2, core.Metric{}, 0.05, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			grid := tc.m.Canonical().Kind == core.Euclidean && tc.dim <= 3 && newDBSCANGrid(tc.x, tc.dim, tc.eps) != nil
			if grid != tc.grid {
				t.Fatalf("grid path taken: %v, want %v", grid, tc.grid)
			}
			tree, err := core.Build(tc.x, tc.dim, core.Options{Metric: tc.m})
			if err != nil {
				t.Fatal(err)
			}
			for _, ms := range []int{2, 6} {
				want, err := DBSCAN(tree, tc.eps, ms, nil, Options{})
				if err != nil {
					t.Fatal(err)
				}
				got, err := DBSCANPoints(tc.x, tc.dim, tc.m, tc.eps, ms, nil, Options{Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Core, want.Core) {
					t.Fatalf("min_samples=%d: labels differ from the tree's", ms)
				}
				if slices.Max(want.Labels) < 1 {
					t.Fatalf("min_samples=%d: %d clusters, the case tests little", ms, slices.Max(want.Labels)+1)
				}
			}
		})
	}
	x32 := convert[float32](datasets[2].gen(r, 500, 3))
	tree, err := core.Build(x32, 3, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := DBSCAN(tree, 0.4, 5, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := DBSCANPoints(x32, 3, core.Metric{}, 0.4, 5, nil, Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Core, want.Core) {
		t.Fatal("float32: labels differ from the tree's")
	}
	if _, err := DBSCANPoints(x32, 3, core.Metric{}, 0, 5, nil, Options{}); err == nil {
		t.Fatal("eps 0 accepted")
	}
	if _, err := DBSCANPoints(x32[:7], 3, core.Metric{}, 1, 5, nil, Options{}); err == nil {
		t.Fatal("a ragged row accepted")
	}
}

// TestDBSCANPointsStops checks that a stop request ends the grid's call
// and the tree's with core.ErrStopped, and that an unset one does not.
func TestDBSCANPointsStops(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 1))
	for _, dim := range []int{2, 5} {
		x := datasets[2].gen(r, 3000, dim)
		for _, stop := range []int64{0, 1} {
			var done int64
			m := &core.Monitor{Stop: &stop, Done: &done}
			_, err := DBSCANPoints(x, dim, core.Metric{}, 0.5, 5, nil, Options{Jobs: 2, Monitor: m})
			if stopped := errors.Is(err, core.ErrStopped); stopped != (stop != 0) || (stop == 0 && err != nil) {
				t.Fatalf("%d dimensions, stop word %d: error %v", dim, stop, err)
			}
		}
	}
}
