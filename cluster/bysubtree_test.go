package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// TestBoruvkaBySubtree checks that the rounds searched by subtrees give
// the spanning forest that searches from every node give, edge for edge
// (the key order makes the minimum spanning tree unique), and that its
// weight is Prim's on the full matrix, for plain distances and mutual
// reachability, on data with duplicates and ties and on far-apart
// clusters, where subtrees must be cleared.
func TestBoruvkaBySubtree(t *testing.T) {
	sets := append(slices.Clone(datasets), farClusters)
	for _, ds := range sets {
		for _, ms := range []int{0, 1, 4} {
			for _, jobs := range []int{1, 3} {
				name := fmt.Sprintf("%s/ms%d/jobs%d", ds.name, ms, jobs)
				t.Run(name+"/float64", func(t *testing.T) { testBySubtree[float64](t, ds, ms, jobs) })
				t.Run(name+"/float32", func(t *testing.T) { testBySubtree[float32](t, ds, ms, jobs) })
			}
		}
	}
}

// farClusters are five Gaussian clusters 100 apart, some points of each
// repeated.
var farClusters = dataset{"far", func(r *rand.Rand, n, dim int) []float64 {
	x := make([]float64, n*dim)
	for i := range n {
		c := float64(r.IntN(5)) * 100
		dup := i > 0 && r.IntN(8) == 0
		for j := range dim {
			if dup {
				x[i*dim+j] = x[(i-1)*dim+j]
			} else {
				x[i*dim+j] = c + r.NormFloat64()
			}
		}
	}
	return x
}}

func testBySubtree[T core.Float](t *testing.T, ds dataset, ms, jobs int) {
	r := rand.New(rand.NewPCG(5, uint64(ms)))
	const n, dim = 400, 3
	x := convert[T](ds.gen(r, n, dim))
	tree, f := flatTestTree(t, x, dim)
	o := Options{Jobs: jobs}
	var coreDist []float64
	var near []int32
	var reach []float64
	var err error
	if ms > 0 {
		coreDist, near, reach, err = f.coreDistances(ms, o)
	} else {
		keep := min(listLen, len(f.live)-1)
		_, near, reach, err = f.nearest(keep, 0, keep, nil, o)
	}
	if err != nil {
		t.Fatal(err)
	}
	// share: 0 never searches by subtrees, n+1 in every round that searches.
	forest := func(share int) ([]nodeEdge, int64) {
		b := newBoruvka(f, o, nil, math.Inf(1))
		b.bySubtree = share
		if ms > 0 {
			b.withCore(coreDist, 1)
		}
		b.seed(near, reach)
		ne, err := b.run()
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(ne, func(a, b nodeEdge) int {
			return cmpPair(min(a.a, a.b), max(a.a, a.b), min(b.a, b.b), max(b.a, b.b))
		})
		return ne, b.cleared.Load()
	}
	plain, _ := forest(0)
	bySub, cleared := forest(n + 1)
	if len(plain) != f.n-1 || !slices.Equal(plain, bySub) {
		t.Fatalf("by subtree: %d edges differ from the %d of per-node searches", countDiff(plain, bySub), len(plain))
	}
	if ds.name == "far" && cleared == 0 {
		t.Error("no subtree was cleared on far-apart clusters")
	}
	want := bruteReachabilityPrim(n, func(i, j int) float64 { return pointDist(tree, x, dim, i, j) }, ms)
	self := func(k int32) float64 { return 0 }
	if ms > 0 {
		self = func(k int32) float64 { return coreDist[k] }
	}
	var got []float64
	for _, e := range f.pointEdges(bySub, self, func(d float64) float64 { return d }) {
		got = append(got, e.Dist)
	}
	slices.Sort(got)
	closeWeights(t, got, want, 1e-12)
}

// flatTestTree builds a Euclidean tree over x and flattens it.
func flatTestTree[T core.Float](t *testing.T, x []T, dim int) (*core.Tree[T], *flatTree[T]) {
	t.Helper()
	tree, err := core.Build(x, dim, core.Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	f, err := flatten(tree)
	if err != nil {
		t.Fatal(err)
	}
	return tree, f
}

// reachabilityForest runs HDBSCAN's Boruvka search (alpha 1) and returns
// it, its forest and what seeded it.
func reachabilityForest[T core.Float](t *testing.T, f *flatTree[T], ms int, o Options) (*boruvka[T], []nodeEdge, []float64, []int32, []float64) {
	t.Helper()
	coreDist, near, reach, err := f.coreDistances(ms, o)
	if err != nil {
		t.Fatal(err)
	}
	b := newBoruvka(f, o, nil, math.Inf(1))
	b.withCore(coreDist, 1)
	b.seed(near, reach)
	forest, err := b.run()
	if err != nil {
		t.Fatal(err)
	}
	return b, forest, coreDist, near, reach
}

func cmpPair(a0, a1, b0, b1 int32) int {
	if a0 != b0 {
		return int(a0 - b0)
	}
	return int(a1 - b1)
}

func countDiff(a, b []nodeEdge) int {
	m := 0
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			m++
		}
	}
	return m
}

// TestBoruvkaAnyEdgeBySubtree checks DBSCAN's use of the search, a
// spanning forest of the edges within a limit (any edge per component)
// between active nodes, with and without the rounds by subtrees: its
// components must be those of the graph of all pairs of active nodes
// within the limit.
func TestBoruvkaAnyEdgeBySubtree(t *testing.T) {
	sets := append(slices.Clone(datasets), farClusters)
	for _, ds := range sets {
		for _, limit := range []float64{0.5, 1, 3} {
			for _, jobs := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/limit%g/jobs%d", ds.name, limit, jobs), func(t *testing.T) {
					r := rand.New(rand.NewPCG(8, uint64(limit*10)))
					const n, dim = 500, 3
					x := ds.gen(r, n, dim)
					tree, f := flatTestTree(t, x, dim)
					// A third of the nodes take no part, as DBSCAN's points
					// that are not core points.
					active := make([]bool, f.n)
					for i := range active {
						active[i] = r.IntN(3) > 0
					}
					// Brute force: components of the pairs of active nodes
					// within the limit (a node's duplicates are one point).
					want := newDisjointSets(f.n)
					for a := range int32(f.n) {
						for b := a + 1; b < int32(f.n); b++ {
							if active[a] && active[b] && tree.Dist(f.point(a), f.point(b)) <= limit {
								if ra, rb := want.find(a), want.find(b); ra != rb {
									want.link(ra, rb)
								}
							}
						}
					}
					for _, share := range []int{0, n + 1} {
						b := newBoruvka(f, Options{Jobs: jobs}, slices.Clone(active), limit)
						b.anyEdge = true
						b.bySubtree = share
						if _, err := b.run(); err != nil {
							t.Fatal(err)
						}
						for k := range int32(f.n) {
							for _, j := range []int32{0, k / 2, k - 1} {
								if j < 0 || !active[k] || !active[j] {
									continue
								}
								if (b.find(k) == b.find(j)) != (want.find(k) == want.find(j)) {
									t.Fatalf("share %d: nodes %d and %d: together %v, brute force %v", share, k, j, b.find(k) == b.find(j), want.find(k) == want.find(j))
								}
							}
						}
						if share > 0 && ds.name == "far" && limit == 3 && b.cleared.Load() == 0 {
							t.Error("no subtree was cleared on far-apart clusters")
						}
					}
				})
			}
		}
	}
}

// TestCandidatesFromLists checks that Prim's candidate edges taken from
// the core distances' nearest-node lists, where they reach beyond the core
// distance, are those the search of every node finds.
func TestCandidatesFromLists(t *testing.T) {
	for _, ds := range append(slices.Clone(datasets), farClusters) {
		for _, ms := range []int{1, 4, 12} {
			t.Run(fmt.Sprintf("%s/ms%d", ds.name, ms), func(t *testing.T) {
				r := rand.New(rand.NewPCG(3, uint64(ms)))
				const n, dim = 400, 3
				x := ds.gen(r, n, dim)
				_, f := flatTestTree(t, x, dim)
				o := Options{Jobs: 3}
				b, tr, coreDist, near, reach := reachabilityForest(t, f, ms, o)
				fromLists := &reachability[float64]{f: f, core: coreDist, alpha: 1}
				searched := &reachability[float64]{f: f, core: coreDist, alpha: 1}
				if err := fromLists.candidates(tr, b.minCore, near, reach, o); err != nil {
					t.Fatal(err)
				}
				if err := searched.candidates(tr, b.minCore, nil, nil, o); err != nil {
					t.Fatal(err)
				}
				pairs := 0
				for k := range fromLists.adjOf {
					if !slices.Equal(fromLists.adjOf[k], searched.adjOf[k]) {
						t.Fatalf("node %d: candidates %v from the lists, %v searched", k, fromLists.adjOf[k], searched.adjOf[k])
					}
					pairs += len(searched.adjOf[k])
				}
				if pairs < f.n-1 {
					t.Fatalf("%d candidate pairs for %d nodes", pairs, f.n)
				}
			})
		}
	}
}
