package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// kdMSTSets are the generated sets of the k-d tree's spanning tree: those
// of the grid's DBSCAN (continuous, a small integer grid and blobs with
// duplicates, integers tied at many distances), and points spread over
// many binades, whose tiny and huge distances core measures by a scaled
// norm.
func kdMSTSets() []dataset {
	return append(gridDBSCANSets(), dataset{"spread", func(r *rand.Rand, n, dim int) []float64 {
		x := make([]float64, n*dim)
		for i := range x {
			x[i] = math.Ldexp(r.Float64()-0.5, 4*r.IntN(250)-500)
		}
		return x
	}})
}

// kdMSTCoverTree returns the spanning tree of the rows by a cover tree.
func kdMSTCoverTree[T core.Float](t *testing.T, x []T, dim int) []Edge {
	t.Helper()
	tree, err := core.Build(x, dim, core.Options{Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	want, err := MinimumSpanningTree(tree, Options{Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// TestKDDist checks the k-d tree's spanning tree distance against
// core.Distance bit for bit, in the scaled norm's range too.
func TestKDDist(t *testing.T) {
	for _, ds := range kdMSTSets() {
		for dim := 1; dim <= 3; dim++ {
			r := rand.New(rand.NewPCG(71, uint64(dim)))
			x := ds.gen(r, 300, dim)
			for i := range 299 {
				a, b := x[i*dim:(i+1)*dim], x[(i+1)*dim:(i+2)*dim]
				if got, want := kdDist(a, b), core.Distance(core.Metric{}, a, b); math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("%s/%dd: kdDist = %v, core.Distance %v", ds.name, dim, got, want)
				}
			}
		}
	}
}

// TestMinimumSpanningTreePointsKD checks the k-d tree's spanning tree
// (one to three features) edge for edge against the cover tree's, whose
// ties it breaks the same way, and its total against Prim's algorithm
// on the full distance matrix, in float64 and float32, with one job and
// several.
func TestMinimumSpanningTreePointsKD(t *testing.T) {
	for _, ds := range kdMSTSets() {
		for dim := 1; dim <= 3; dim++ {
			for _, n := range []int{1, 2, 7, 700} {
				t.Run(fmt.Sprintf("%s/%dd/n%d", ds.name, dim, n), func(t *testing.T) {
					r := rand.New(rand.NewPCG(73, uint64(dim*1000+n)))
					x := ds.gen(r, n, dim)
					// float32 holds no spread point.
					x32 := convert[float32](x)
					if ds.name == "spread" {
						x32 = convert[float32](gridDBSCANSets()[0].gen(r, n, dim))
					}
					prim := brutePrim(n, func(i, j int) float64 {
						return core.Distance(core.Metric{}, x[i*dim:(i+1)*dim], x[j*dim:(j+1)*dim])
					})
					want := kdMSTCoverTree(t, x, dim)
					want32 := kdMSTCoverTree(t, x32, dim)
					for _, jobs := range []int{1, 3} {
						got, err := MinimumSpanningTreePoints(x, dim, core.Metric{}, Options{Jobs: jobs})
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(got, want) {
							t.Fatalf("%d jobs: the k-d tree's edges differ from the cover tree's", jobs)
						}
						var total, ptotal float64
						for i, e := range got {
							total += e.Dist
							ptotal += prim[i]
						}
						if math.Abs(total-ptotal) > 1e-9*math.Max(1, ptotal) {
							t.Fatalf("%d jobs: total %v, Prim's %v", jobs, total, ptotal)
						}
						got32, err := MinimumSpanningTreePoints(x32, dim, core.Metric{}, Options{Jobs: jobs})
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(got32, want32) {
							t.Fatalf("float32, %d jobs: the k-d tree's edges differ from the cover tree's", jobs)
						}
					}
				})
			}
		}
	}
}

// TestMinimumSpanningTreePointsReal checks the k-d tree's spanning tree
// against the cover tree's, edge for edge, on the real sets of two and
// three features (the zip codes hold duplicates).
func TestMinimumSpanningTreePointsReal(t *testing.T) {
	if testing.Short() {
		t.Skip("real data sets")
	}
	for _, s := range realSets {
		if s.name != "bunny" && s.name != "zipcodes" {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			x, dim := s.load(t)
			want := kdMSTCoverTree(t, x, dim)
			got, err := MinimumSpanningTreePoints(x, dim, core.Metric{}, Options{Jobs: 2})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatal("the k-d tree's edges differ from the cover tree's")
			}
		})
	}
}

// TestMinimumSpanningTreePointsArgs checks the rows' checks and the cover
// tree's route for other metrics and dimensions.
func TestMinimumSpanningTreePointsArgs(t *testing.T) {
	for _, c := range []struct {
		name   string
		x      []float64
		dim    int
		m      core.Metric
		errors bool
	}{
		{"empty", nil, 2, core.Metric{}, true},
		{"ragged", []float64{1, 2, 3}, 2, core.Metric{}, true},
		{"nan", []float64{1, 2, math.NaN(), 4}, 2, core.Metric{}, true},
		{"inf", []float64{1, 2, math.Inf(1), 4}, 2, core.Metric{}, true},
		{"manhattan", []float64{0, 0, 1, 1, 3, 0}, 2, core.Metric{Kind: core.Manhattan}, false},
		{"4d", []float64{0, 0, 0, 0, 1, 1, 1, 1, 3, 0, 0, 0}, 4, core.Metric{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := MinimumSpanningTreePoints(c.x, c.dim, c.m, Options{Jobs: 1})
			if c.errors {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tree, err := core.Build(c.x, c.dim, core.Options{Metric: c.m})
			if err != nil {
				t.Fatal(err)
			}
			want, err := MinimumSpanningTree(tree, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("edges %v, the tree's %v", got, want)
			}
		})
	}
}
