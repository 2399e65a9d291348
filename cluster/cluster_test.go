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

// bruteDBSCAN is scikit-learn's DBSCAN written out over the full distance
// matrix: neighbourhoods (d <= eps, the point itself included), core
// points, and a depth-first labelling from each unlabelled core point in
// index order (kdBruteDBSCAN with every point weighing 1).
func bruteDBSCAN(n int, dist func(i, j int) float64, eps float64, minSamples int) ([]int, []bool) {
	return kdBruteDBSCAN(n, func(i, j int) bool { return dist(i, j) <= eps }, nil, minSamples)
}

func TestDBSCANAgainstBruteForce(t *testing.T) {
	for _, ds := range datasets {
		for _, mt := range testMetrics {
			for _, eps := range []float64{0.05, 0.2, 0.7} {
				t.Run(fmt.Sprintf("%s/%s/eps%v", ds.name, mt.name, eps), func(t *testing.T) {
					r := rand.New(rand.NewPCG(11, uint64(len(ds.name))))
					dim := dimFor(mt.m, 3)
					x := forMetric(mt.m, ds.gen(r, 300, dim), dim)
					tree, err := core.Build(x, dim, core.Options{Metric: mt.m, Jobs: 2})
					if err != nil {
						t.Fatal(err)
					}
					scale := 1.0
					if ds.name == "blobs" || ds.name == "grid" {
						scale = 3
					}
					e := eps * scale
					if mt.m.Kind == core.Cosine {
						e = eps * eps / 10
					}
					for _, ms := range []int{1, 4, 10} {
						res, err := DBSCAN(tree, e, ms, nil, Options{Jobs: 2})
						if err != nil {
							t.Fatal(err)
						}
						labels, isCore := bruteDBSCAN(300, func(i, j int) float64 { return pointDist(tree, x, dim, i, j) }, e, ms)
						if !slices.Equal(res.Labels, labels) || !slices.Equal(res.Core, isCore) {
							t.Fatalf("min_samples=%d: labels differ from brute force", ms)
						}
					}
				})
			}
		}
	}
}

func TestDBSCANWeightsAndUpdates(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	const dim = 2
	x := datasets[2].gen(r, 400, dim)
	tree, err := core.Build(x, dim, core.Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, 400)
	for i := range w {
		w[i] = float64(r.IntN(4)) - 0.5
	}
	res, err := DBSCAN(tree, 0.4, 3, w, Options{Jobs: 3})
	if err != nil {
		t.Fatal(err)
	}
	d := func(i, j int) float64 { return core.Distance(tree.Metric(), x[i*dim:(i+1)*dim], x[j*dim:(j+1)*dim]) }
	// Weighted counts: the brute force with neighbourhood weights.
	wantCore := make([]bool, 400)
	for i := range 400 {
		s := 0.0
		for j := range 400 {
			if d(i, j) <= 0.4 {
				s += w[j]
			}
		}
		wantCore[i] = s >= 3
	}
	if !slices.Equal(res.Core, wantCore) {
		t.Fatal("weighted core points differ from brute force")
	}
	// After deleting half the points, positions follow the live ids.
	var gone []int64
	for i := 0; i < 400; i += 2 {
		gone = append(gone, int64(i))
	}
	del, err := tree.Delete(gone, core.UpdateOptions{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	res, err = DBSCAN(del, 0.4, 4, nil, Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	live := del.LiveIDs(nil)
	labels, isCore := bruteDBSCAN(len(live), func(i, j int) float64 { return d(int(live[i]), int(live[j])) }, 0.4, 4)
	if !slices.Equal(res.Labels, labels) || !slices.Equal(res.Core, isCore) {
		t.Fatal("labels after deletions differ from brute force on the live points")
	}
	for _, bad := range []struct {
		eps float64
		ms  int
		w   []float64
	}{{0, 5, nil}, {-1, 5, nil}, {math.NaN(), 5, nil}, {math.Inf(1), 5, nil}, {1, 0, nil}, {1, 5, w[:3]}, {1, 5, append(slices.Clone(w[:399]), math.NaN())}} {
		if _, err := DBSCAN(tree, bad.eps, bad.ms, bad.w, Options{}); err == nil {
			t.Fatalf("DBSCAN accepted eps=%v min_samples=%d with %d weights", bad.eps, bad.ms, len(bad.w))
		}
	}
}

// TestDBSCANTies runs DBSCAN on integer grids full of duplicates with eps
// exactly at grid distances (points at distance eps are neighbours), with
// and without non-negative weights, against brute force: the counts that
// add whole subtrees and stop at min_samples must decide every tie as the
// distance does.
func TestDBSCANTies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n, dim   int
		side     int
		eps      float64
		ms       int
		weighted bool
	}{
		{"2d-eps1", 1500, 2, 20, 1, 5, false},
		{"2d-sqrt2", 1500, 2, 20, math.Sqrt2, 8, false},
		{"2d-eps2-weighted", 1500, 2, 20, 2, 12, true},
		{"3d-eps1", 2000, 3, 8, 1, 10, false},
		{"3d-sqrt3-weighted", 2000, 3, 8, math.Sqrt(3), 20, true},
		{"4d-eps2", 1200, 4, 5, 2, 30, false},
		{"dups-only", 600, 2, 3, 1, 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, uint64(tc.n)))
			x := make([]float64, tc.n*tc.dim)
			for i := range x {
				x[i] = float64(r.IntN(tc.side))
			}
			var w []float64
			if tc.weighted {
				w = make([]float64, tc.n)
				for i := range w {
					w[i] = float64(r.IntN(3)) * 0.5
				}
			}
			tree, err := core.Build(x, tc.dim, core.Options{Jobs: 2})
			if err != nil {
				t.Fatal(err)
			}
			// DBSCAN decides a pair as scikit-learn does (on the grid, in
			// up to 3 dimensions: the sum of squares against eps*eps), the
			// tree's counts by Tree.Dist against eps; both against brute
			// force with their own test.
			dist := func(i, j int) float64 {
				return core.Distance(tree.Metric(), x[i*tc.dim:(i+1)*tc.dim], x[j*tc.dim:(j+1)*tc.dim])
			}
			sklearn := dist
			if tc.dim <= 3 {
				sklearn, _ = gridPairs(x, tc.dim, tc.eps)
			}
			for _, route := range []struct {
				name string
				run  func(*core.Tree[float64], float64, int, []float64, Options) (DBSCANResult, error)
				d    func(i, j int) float64
			}{
				{"DBSCAN", DBSCAN[float64], sklearn},
				{"tree counts", dbscanTree[float64], dist},
			} {
				res, err := route.run(tree, tc.eps, tc.ms, w, Options{Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				d := route.d
				if w == nil {
					labels, isCore := bruteDBSCAN(tc.n, d, tc.eps, tc.ms)
					if !slices.Equal(res.Core, isCore) || !slices.Equal(res.Labels, labels) {
						t.Fatalf("%s: labels differ from brute force", route.name)
					}
					continue
				}
				nCore := 0
				for i := range tc.n {
					s := 0.0
					for j := range tc.n {
						if d(i, j) <= tc.eps {
							s += w[j]
						}
					}
					if res.Core[i] != (s >= float64(tc.ms)) {
						t.Fatalf("%s: point %d: core %v, its neighbours weigh %v", route.name, i, res.Core[i], s)
					}
					if res.Core[i] {
						nCore++
					}
				}
				if nCore == 0 || nCore == tc.n {
					t.Fatalf("%s: %d core points of %d: the case tests nothing", route.name, nCore, tc.n)
				}
			}
		})
	}
}

// brutePrimHierarchy builds scikit-learn's single-linkage hierarchy of the
// mutual reachability distance by its own route: Prim's algorithm over
// the full graph from point 0, ties to the lower point and to the earliest
// source, then a stable sort.
func brutePrimHierarchy(n int, w func(i, j int) float64) []Merge {
	in := make([]bool, n)
	key := make([]float64, n)
	src := make([]int, n)
	for i := range key {
		key[i] = math.Inf(1)
	}
	var order []Edge
	cur := 0
	for range n - 1 {
		in[cur] = true
		next := -1
		for j := range n {
			if in[j] {
				continue
			}
			if d := w(cur, j); d < key[j] {
				key[j], src[j] = d, cur
			}
			if next < 0 || key[j] < key[next] {
				next = j
			}
		}
		order = append(order, Edge{src[next], next, key[next]})
		cur = next
	}
	sortByDist(order)
	u := newLabelled(n)
	out := make([]Merge, len(order))
	for j, e := range order {
		out[j] = Merge{A: u.label(e.I), B: u.label(e.J), Dist: e.Dist, Size: u.join(e.I, e.J, n+j)}
	}
	return out
}

func TestHDBSCANHierarchyAgainstPrim(t *testing.T) {
	for _, ds := range datasets {
		for _, mt := range testMetrics {
			t.Run(ds.name+"/"+mt.name, func(t *testing.T) {
				r := rand.New(rand.NewPCG(4, 4))
				dim := dimFor(mt.m, 3)
				x := forMetric(mt.m, ds.gen(r, 300, dim), dim)
				tree, err := core.Build(x, dim, core.Options{Metric: mt.m, Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				for _, ms := range []int{1, 5} {
					for _, alpha := range []float64{1, 0.7} {
						o := HDBSCANOptions{MinClusterSize: 5, MinSamples: ms, Alpha: alpha, Options: Options{Jobs: 2}}
						res, err := HDBSCAN(tree, o)
						if err != nil {
							t.Fatal(err)
						}
						d := func(i, j int) float64 { return pointDist(tree, x, dim, i, j) }
						coreD := make([]float64, 300)
						for i := range 300 {
							all := make([]float64, 300)
							for j := range 300 {
								all[j] = d(i, j)
							}
							slices.Sort(all)
							coreD[i] = all[ms-1]
						}
						want := brutePrimHierarchy(300, func(i, j int) float64 { return max(coreD[i], coreD[j], d(i, j)/alpha) })
						if len(res.Hierarchy) != len(want) {
							t.Fatalf("%d merges, want %d", len(res.Hierarchy), len(want))
						}
						for j := range want {
							if g, w := res.Hierarchy[j].Dist, want[j].Dist; math.Abs(g-w) > 1e-12*(1+w) {
								t.Fatalf("min_samples=%d alpha=%v: merge %d at %v, want %v", ms, alpha, j, g, w)
							}
						}
						for j := range want {
							g, w := res.Hierarchy[j], want[j]
							if g.A != w.A || g.B != w.B || g.Size != w.Size || math.Abs(g.Dist-w.Dist) > 1e-12*(1+w.Dist) {
								t.Fatalf("min_samples=%d alpha=%v: merge %d is %+v, want %+v", ms, alpha, j, g, w)
							}
						}
						labels, probs := labelHierarchy(want, o)
						if !slices.Equal(labels, res.Labels) || !slices.Equal(probs, res.Probabilities) {
							t.Fatal("labels differ from those of the brute-force hierarchy")
						}
					}
				}
			})
		}
	}
}

// TestHDBSCANTiesAgainstPrim compares the whole hierarchy, labels and
// probabilities with scikit-learn's Prim's algorithm on integer grids,
// where equal distances and equal core distances make many spanning trees
// minimal and the hierarchy depends on which one Prim's rules take.
func TestHDBSCANTiesAgainstPrim(t *testing.T) {
	for _, tc := range []struct {
		n, dim, side, minSamples int
		alpha                    float64
	}{
		{1200, 2, 25, 5, 1},
		{1200, 3, 8, 3, 1},
		{1000, 4, 5, 5, 1},
		{800, 5, 4, 2, 1},
		{1000, 3, 10, 4, 0.5},
		{800, 3, 6, 1, 1},     // core distances 0: no subtree pruned by them
		{800, 2, 20, 40, 0.8}, // core distances above most edges
	} {
		t.Run(fmt.Sprintf("n%d-d%d-side%d-ms%d-alpha%v", tc.n, tc.dim, tc.side, tc.minSamples, tc.alpha), func(t *testing.T) {
			r := rand.New(rand.NewPCG(8, uint64(tc.n*tc.dim)))
			x := make([]float64, tc.n*tc.dim)
			for i := range x {
				x[i] = float64(r.IntN(tc.side))
			}
			tree, err := core.Build(x, tc.dim, core.Options{Jobs: 2})
			if err != nil {
				t.Fatal(err)
			}
			o := HDBSCANOptions{MinClusterSize: 5, MinSamples: tc.minSamples, Alpha: tc.alpha, Options: Options{Jobs: 2}}
			res, err := HDBSCAN(tree, o)
			if err != nil {
				t.Fatal(err)
			}
			d := func(i, j int) float64 { return pointDist(tree, x, tc.dim, i, j) }
			coreD := make([]float64, tc.n)
			all := make([]float64, tc.n)
			for i := range tc.n {
				for j := range tc.n {
					all[j] = d(i, j)
				}
				slices.Sort(all)
				coreD[i] = all[tc.minSamples-1]
			}
			want := brutePrimHierarchy(tc.n, func(i, j int) float64 { return max(coreD[i], coreD[j], d(i, j)/tc.alpha) })
			if !slices.Equal(res.Hierarchy, want) {
				for j := range want {
					if res.Hierarchy[j] != want[j] {
						t.Fatalf("merge %d is %+v, want %+v", j, res.Hierarchy[j], want[j])
					}
				}
			}
			labels, probs := labelHierarchy(want, o)
			if !slices.Equal(labels, res.Labels) || !slices.Equal(probs, res.Probabilities) {
				t.Fatal("labels differ from those of the brute-force hierarchy")
			}
			if slices.Max(labels) < 1 {
				t.Fatal("fewer than two clusters: the case tests little")
			}
		})
	}
}

// TestReachabilityBoruvkaMinimal checks the spanning tree of the mutual
// reachability distance that Boruvka's search finds, before Prim's replay
// (which would hide a heavier tree: it chooses among more edges): its
// weights are those of a minimum spanning tree, on continuous data, grids
// and duplicates, for several min_samples (its first round starts from
// the nearest nodes, whose edges tie at a core distance).
func TestReachabilityBoruvkaMinimal(t *testing.T) {
	for _, ds := range datasets {
		for _, ms := range []int{1, 3, 12} {
			for _, jobs := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/ms%d/jobs%d", ds.name, ms, jobs), func(t *testing.T) {
					r := rand.New(rand.NewPCG(21, uint64(ms)))
					const n, dim = 400, 3
					x := ds.gen(r, n, dim)
					tree, f := flatTestTree(t, x, dim)
					_, ne, coreDist, _, _ := reachabilityForest(t, f, ms, Options{Jobs: jobs})
					edges := f.pointEdges(ne, func(k int32) float64 { return coreDist[k] }, func(d float64) float64 { return d })
					var got []float64
					for _, e := range edges {
						got = append(got, e.Dist)
					}
					slices.Sort(got)
					d := func(i, j int) float64 { return pointDist(tree, x, dim, i, j) }
					closeWeights(t, got, bruteReachabilityPrim(n, d, ms), 1e-12)
				})
			}
		}
	}
}

func TestHDBSCANBadOptions(t *testing.T) {
	tree, err := core.Build([]float64{0, 1, 2, 3, 4, 5}, 1, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []HDBSCANOptions{
		{MinClusterSize: 1},
		{MinClusterSize: 2, MinSamples: -1},
		{MinClusterSize: 2, MinSamples: 7},
		{MinClusterSize: 2, ClusterSelectionEpsilon: -1},
		{MinClusterSize: 2, ClusterSelectionEpsilon: math.NaN()},
		{MinClusterSize: 2, Alpha: -1},
		{MinClusterSize: 2, MaxClusterSize: -1},
		{MinClusterSize: 2, Method: 7},
	} {
		if _, err := HDBSCAN(tree, o); err == nil || errors.Is(err, ErrInternal) {
			t.Fatalf("HDBSCAN(%+v) returned %v, want an argument error", o, err)
		}
	}
	one, _ := core.Build([]float64{1}, 1, core.Options{})
	if _, err := HDBSCAN(one, HDBSCANOptions{MinClusterSize: 2, MinSamples: 1}); err == nil {
		t.Fatal("HDBSCAN accepted a single point")
	}
}

func TestLinkage(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	x := datasets[1].gen(r, 200, 2) // a grid: ties and duplicates
	tree, err := core.Build(x, 2, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	z, err := SingleLinkage(tree, Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := bruteMST(tree, x, 2)
	for j, m := range z {
		if m.A >= m.B || m.B >= 200+j || m.Dist != want[j] {
			t.Fatalf("merge %d = %+v (want distance %v)", j, m, want[j])
		}
	}
	if z[len(z)-1].Size != 200 {
		t.Fatal("the last merge does not hold every point")
	}
	for _, bad := range [][]Edge{{{0, 1, 1}}, {{0, 1, 1}, {1, 0, 2}}, {{0, 5, 1}, {1, 2, 1}}} {
		if _, err := Linkage(3, bad); err == nil {
			t.Fatalf("Linkage accepted %v", bad)
		}
	}
}

// TestMutualReachabilitySpan checks the distance beyond which the spanning
// tree's search prunes a subtree under mutual reachability: every distance
// above it (even by one ulp) converts to a weight above u, for every
// metric (Cosine's conversion squares, and underflows near 0), several
// alphas and weights from 0 and subnormals to grid distances and +Inf;
// and it is no looser than a relative 1e-6 (or, near 0, than 1e-150),
// and +Inf only where no distance weighs more than u.
func TestMutualReachabilitySpan(t *testing.T) {
	us := []float64{0, 5e-324, 1e-300, 1e-170, 1e-20, 0.5, 1, math.Sqrt2, 2, 3, 1e10, math.Inf(1)}
	for _, mt := range testMetrics {
		dim := dimFor(mt.m, 3)
		x := forMetric(mt.m, []float64{1, 2, 3, 2, 1, 3, 3, 1, 2, 1, 1, 2}[:4*dim], dim)
		tree, err := core.Build(x, dim, core.Options{Metric: mt.m})
		if err != nil {
			t.Fatal(err)
		}
		f, err := flatten(tree)
		if err != nil {
			t.Fatal(err)
		}
		for _, alpha := range []float64{1, 0.7, 1.3} {
			b := &boruvka[float64]{f: f, alpha: alpha}
			for _, u := range us {
				s := b.span(u)
				if math.IsInf(s, 1) {
					// No pruning by distance: right only where no
					// distance weighs more than u.
					if w := tree.MetricDistance(math.MaxFloat64) / alpha; w > u {
						t.Fatalf("%s alpha=%v u=%v: span +Inf, but the largest distance weighs %v", mt.name, alpha, u, w)
					}
					continue
				}
				above := math.Nextafter(s, math.Inf(1))
				if w := tree.MetricDistance(above) / alpha; !(w > u) {
					t.Fatalf("%s alpha=%v u=%v: span %v, but distance %v weighs %v", mt.name, alpha, u, s, above, w)
				}
				if exact := tree.SearchDistance(u * alpha); s > exact*(1+1e-6) && s > 1e-150 {
					t.Fatalf("%s alpha=%v u=%v: span %v, the inverse %v", mt.name, alpha, u, s, exact)
				}
			}
		}
	}
}
