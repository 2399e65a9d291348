package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// layoutTrees returns trees for the search-layout tests: uniform and
// clustered points in a few dimensions, integer grids full of duplicates,
// and a tree that insertions and deletions have left out of its build
// layout.
func layoutTrees(t *testing.T, rng *rand.Rand) map[string]*Tree[float64] {
	t.Helper()
	trees := map[string]*Tree[float64]{}
	n := 3000
	if raceEnabled || testing.Short() {
		n = 600
	}
	add := func(name string, data []float64, dim int) *Tree[float64] {
		tr, err := Build(data, dim, Options{Seed: 3, Jobs: 2})
		if err != nil {
			t.Fatal(err)
		}
		trees[name] = tr
		return tr
	}
	for _, dim := range []int{1, 2, 3, 8} {
		add(fmt.Sprintf("uniform/d=%d", dim), genRows[float64](n, dim, rng.Float64), dim)
	}
	add("clustered/d=3", genRows[float64](n, 3, func() float64 { return float64(rng.IntN(5)) + 0.01*rng.NormFloat64() }), 3)
	add("grid/d=2", genRows[float64](n, 2, func() float64 { return float64(rng.IntN(12)) }), 2)
	tr := add("updated/d=3", genRows[float64](n, 3, rng.Float64), 3)
	trees["updated/d=3"] = insertDelete(t, tr, genRows[float64](n/3, 3, rng.Float64), n/5, rng)
	return trees
}

// insertDelete returns a version of tr with the points add inserted, then
// del caller indices chosen at random deleted.
func insertDelete[T Float](t *testing.T, tr *Tree[T], add []T, del int, rng *rand.Rand) *Tree[T] {
	t.Helper()
	tr, _, err := tr.Insert(add, UpdateOptions{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, i := range rng.Perm(tr.IDs())[:del] {
		ids = append(ids, int64(i))
	}
	if tr, err = tr.Delete(ids, UpdateOptions{Jobs: 2}); err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestFlatTreeLayout checks the layout a flatTree gives a tree: every node
// once, each node's children one block by reach descending, its
// descendants one run of positions nested in its parent's, and each node's
// point, bounds and caller indices.
func TestFlatTreeLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for name, tr := range layoutTrees(t, rng) {
		t.Run(name, func(t *testing.T) {
			f := tr.flatten(2)
			n := int32(tr.nodes)
			if len(f.info) != int(n)+1 || f.info[0].kids != 1 || f.info[0].desc != n || f.info[0].parent != -1 {
				t.Fatalf("%d positions, root's descendants [%d, %d), parent %d; want %d nodes", len(f.info)-1, f.info[0].kids, f.info[0].desc, f.info[0].parent, n)
			}
			seen := map[int32]bool{}
			for _, u := range tr.preorder() {
				i := f.pos[u]
				if seen[i] {
					t.Fatalf("position %d given twice", i)
				}
				seen[i] = true
				nd := tr.node(u)
				if !slices.Equal(f.row(i), tr.point(u)) {
					t.Fatalf("position %d holds another point", i)
				}
				if !slices.Equal(f.ids[f.info[i].ids:f.info[i+1].ids], nd.idList()) {
					t.Fatalf("position %d holds other caller indices", i)
				}
				if f.reach[i] != nd.reach || f.info[i].rad != nd.rad {
					t.Fatalf("position %d has other bounds", i)
				}
				fi := f.info[i]
				if int(fi.kidEnd-fi.kids) != len(nd.children()) {
					t.Fatalf("position %d has %d children, the node %d", i, fi.kidEnd-fi.kids, len(nd.children()))
				}
				weight := int32(len(nd.idList()))
				for c := fi.kids; c < fi.kidEnd; c++ {
					if f.info[c].parent != i || !slices.Contains(nd.children(), slot(f, c)) {
						t.Fatalf("position %d in the child block of %d is not its child", c, i)
					}
					if c > fi.kids && f.reach[c] > f.reach[c-1] {
						t.Fatalf("node at %d: children not by reach descending", i)
					}
					// Each child's descendants follow the previous child's.
					from := fi.kidEnd
					if c > fi.kids {
						from = f.info[c-1].desc
					}
					if cd := f.info[c]; cd.kids != cd.desc && (cd.kids != from || cd.desc > fi.desc) {
						t.Fatalf("node at %d: child %d's descendants [%d, %d), want from %d within %d", i, c, cd.kids, cd.desc, from, fi.desc)
					}
					weight += f.weight(c)
				}
				if fi.kids != fi.desc && f.info[fi.kidEnd-1].desc != fi.desc && f.info[fi.kidEnd-1].kids != f.info[fi.kidEnd-1].desc {
					t.Fatalf("node at %d: descendants end at %d, its last child's at %d", i, fi.desc, f.info[fi.kidEnd-1].desc)
				}
				if w := f.weight(i); w != weight || int64(w) != nd.weight {
					t.Fatalf("node at %d: weight %d, its children's and its own %d, the node's %d", i, w, weight, nd.weight)
				}
				// A box where the search tests the node on its own (a
				// child of a node outside the buckets) and it has
				// descendants: the bounding box of its subtree.
				wantBox := fi.desc > fi.kids && !f.inBucket(i) && f.euclid && f.dim <= boxDims
				if (fi.box >= 0) != wantBox {
					t.Fatalf("node at %d: box %d, want one: %v", i, fi.box, wantBox)
				}
				if fi.box >= 0 {
					o := int(fi.box) * 2 * f.dim
					lo, hi := slices.Clone(f.row(i)), slices.Clone(f.row(i))
					for c := fi.kids; c < fi.desc; c++ {
						extendBoxT(lo, hi, f.row(c), f.row(c))
					}
					if !slices.Equal(f.box[o:o+f.dim], lo) || !slices.Equal(f.box[o+f.dim:o+2*f.dim], hi) {
						t.Fatalf("node at %d: box %v, want %v %v", i, f.box[o:o+2*f.dim], lo, hi)
					}
				}
			}
		})
	}
}

// slot returns the storage slot of the node at position i.
func slot[T Float](f *flatTree[T], i int32) int32 {
	return int32(slices.Index(f.pos, i))
}

// TestFlatTreeSearch checks that the flatTree search gives the node-walk
// depth-first search's answers exactly, for query points and fitted
// points, from home positions and from neighbours of the previous query,
// whatever those are (a stale or unrelated start only costs time).
func TestFlatTreeSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for name, tr := range layoutTrees(t, rng) {
		t.Run(name, func(t *testing.T) {
			f := tr.flatten(2)
			dim := tr.Dim()
			ids := tr.LiveIDs(nil)
			var near []int32
			trials := 400
			if raceEnabled || testing.Short() {
				trials = 60
			}
			for trial := range trials {
				k := []int{1, 3, 10, 40}[trial%4]
				var q []float64
				ex := int32(-1)
				home := int32(-1)
				if trial%2 == 0 {
					id := ids[rng.IntN(len(ids))]
					q, ex = tr.Point(int(id)), int32(id)
					home = f.pos[tr.s.nodeOf(ex)]
				} else {
					q = make([]float64, dim)
					for j := range q {
						q[j] = 1.2*rng.Float64() - 0.1
					}
				}
				if k > tr.Len()-1 {
					continue
				}
				want := &scratch{exclude: ex}
				tr.knnDepthFirst(want, q, k, 1)
				got := &scratch{exclude: ex}
				f.knn(got, q, k, home, int32(k+1), near, 1, math.Inf(1))
				if a, b := drained(&want.heap), drained(&got.heap); !slices.Equal(a, b) {
					t.Fatalf("trial %d (k=%d, home %d, %d near): flat search %v, node walk %v", trial, k, home, len(near), b, a)
				}
				near = f.positions(tr, got.heap.e, near[:0])
				if trial%7 == 0 {
					// An unrelated start.
					near = append(near[:0], int32(rng.IntN(tr.nodes)))
				}
			}
		})
	}
}

func drained(h *topK) []entry {
	e := slices.Clone(h.e)
	slices.SortFunc(e, func(a, b entry) int {
		if less(a.d, a.id, b.d, b.id) {
			return -1
		}
		return 1
	})
	return e
}

// TestSortedBy checks the radix sort of plan against a stable sort, on
// keys with many ties, keys differing only in their high bytes, and a few
// keys.
func TestSortedBy(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct {
		name string
		n    int
		key  func() uint64
	}{
		{"empty", 0, rng.Uint64},
		{"one", 1, rng.Uint64},
		{"random", 5000, rng.Uint64},
		{"ties", 5000, func() uint64 { return uint64(rng.IntN(7)) }},
		{"high bytes", 3000, func() uint64 { return uint64(rng.IntN(5)) << 56 }},
		{"positions", 4000, func() uint64 { return uint64(rng.IntN(100000)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys := make([]uint64, tc.n)
			for i := range keys {
				keys[i] = tc.key()
			}
			if got, want := sortedBy(keys), stableByKey(keys); !slices.Equal(got, want) {
				t.Fatalf("sortedBy differs from a stable sort")
			}
		})
	}
}

// TestSpread checks the shift-and-mask bit spreading of the Z-order keys
// against moving one bit at a time.
func TestSpread(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for dim := 1; dim <= 4; dim++ {
		bits := 64 / dim
		for range 1000 {
			c := rng.Uint64() >> (64 - bits)
			var want uint64
			for bit := range bits {
				want |= (c >> bit & 1) << (bit * dim)
			}
			if got := spread(c, dim); got != want {
				t.Fatalf("dim %d: spread(%#x) = %#x, want %#x", dim, c, got, want)
			}
		}
	}
}

// TestMortonKeys checks the Z-order keys, spread by table above three
// dimensions, against keys whose bits are moved one at a time, in every
// dimension the curve takes, with coordinates inside the box, on its
// sides and outside it, and a side of zero width.
func TestMortonKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for dim := 1; dim <= mortonDims; dim++ {
		lo, hi := make([]float64, dim), make([]float64, dim)
		for j := range dim {
			lo[j], hi[j] = rng.NormFloat64(), rng.NormFloat64()+3
		}
		hi[dim-1] = lo[dim-1] // a side of zero width
		pts := make([]float64, 500*dim)
		for i := range pts {
			j := i % dim
			switch rng.IntN(10) {
			case 0:
				pts[i] = lo[j]
			case 1:
				pts[i] = hi[j]
			case 2:
				pts[i] = hi[j] + rng.Float64()
			case 3:
				pts[i] = lo[j] - rng.Float64()
			default:
				pts[i] = lo[j] + rng.Float64()*(hi[j]-lo[j])
			}
		}
		got := mortonKeysIn(pts, dim, lo, hi)
		bits := 64 / dim
		top := float64(uint64(1)<<bits - 1)
		for i, g := range got {
			var want uint64
			for j := range dim {
				u := (pts[i*dim+j] - lo[j]) / (hi[j] - lo[j])
				if !(u >= 0) {
					u = 0
				}
				c := uint64(min(u, 1) * top)
				for bit := range bits {
					want |= (c >> bit & 1) << (bit*dim + j)
				}
			}
			if g != want {
				t.Fatalf("dim %d, point %d: key %#x, want %#x", dim, i, g, want)
			}
		}
	}
}

// TestFlatTreeAgainstBrute checks k-nearest batches answered on a flatTree
// (the batches are large enough for one) against brute force over the
// tree's own kernel, exactly: distances and caller indices, ties by index.
// It covers float32 and float64, the metrics whose searches take the
// written-out kernels, the bucket scans and the boxes (Euclidean, cosine)
// and those that call the tree's kernel (Manhattan, Chebyshev, a custom Go
// metric, which is measured without buckets), data full of duplicates and
// ties, k below and above sortedK, fitted points left out of their own
// answers, and a version made by insertions and deletions next to the old
// version it came from, each answering for its own points.
func TestFlatTreeAgainstBrute(t *testing.T) {
	testFlatTreeAgainstBrute[float64](t)
	testFlatTreeAgainstBrute[float32](t)
}

func testFlatTreeAgainstBrute[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	n, nq := 1000, 60
	if raceEnabled || testing.Short() {
		n, nq = 400, 30
	}
	data := []struct {
		name string
		dim  int
		f    func() float64
	}{
		{"uniform/d=2", 2, func() float64 { return 1 + rng.Float64() }},
		{"uniform/d=3", 3, func() float64 { return 1 + rng.Float64() }},
		{"grid/d=2", 2, func() float64 { return float64(1 + rng.IntN(9)) }},
		{"clustered/d=3", 3, func() float64 { return float64(1+rng.IntN(4)) + 0.01*rng.NormFloat64() }},
		{"grid/d=5", 5, func() float64 { return float64(1 + rng.IntN(3)) }},
	}
	manhattan := NewCustom[T]("l1", DistancerFunc[T](func(a, b []T) float64 {
		s := 0.0
		for i := range a {
			s += math.Abs(float64(a[i]) - float64(b[i]))
		}
		return s
	}))
	metrics := []Metric{{}, {Kind: Cosine}, {Kind: Manhattan}, {Kind: Chebyshev}, manhattan}
	for di, ds := range data {
		for mi, m := range metrics {
			if mi >= 2 && di%2 == 0 {
				continue // the other metrics on grid/d=2, clustered/d=3
			}
			t.Run(fmt.Sprintf("%T/%s/%v", T(0), ds.name, m), func(t *testing.T) {
				pts := genRows[T](n, ds.dim, ds.f)
				old, err := Build(pts, ds.dim, Options{Metric: m, Seed: 5, Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				tr := insertDelete(t, old, genRows[T](n/4, ds.dim, ds.f), n/5, rng)
				queries := genRows[T](nq, ds.dim, ds.f)
				for _, v := range []struct {
					name string
					tr   *Tree[T]
				}{{"updated", tr}, {"old", old}} {
					ids := v.tr.LiveIDs(nil)
					sel := make([]int64, nq)
					for i := range sel {
						sel[i] = ids[rng.IntN(len(ids))]
					}
					var fitted []T
					for _, id := range sel {
						fitted = append(fitted, v.tr.Point(int(id))...)
					}
					if m.Kind == Cosine {
						fitted = nil // stored normalised: not the caller's rows
						for range nq {
							fitted = append(fitted, v.tr.Point(int(ids[rng.IntN(len(ids))]))...)
						}
					}
					for _, b := range []struct {
						name  string
						batch Batch[T]
					}{
						{"X=None", Batch[T]{IDs: sel, Jobs: 2}},
						{"X=fitted rows", Batch[T]{Points: fitted, Jobs: 2}},
						{"X=new rows", Batch[T]{Points: queries, Jobs: 2}},
					} {
						if nq*flatBatchRatio < v.tr.Nodes() {
							t.Fatalf("%d queries on %d nodes: no flatTree", nq, v.tr.Nodes())
						}
						sorted := flatTruth(v.tr, b.batch, sortedK+8)
						for _, k := range []int{1, 10, sortedK + 8} {
							dist := make([]T, nq*k)
							idx := make([]int64, nq*k)
							if err := v.tr.KNearestBatch(b.batch, k, dist, idx); err != nil {
								t.Fatal(err)
							}
							wd, wi := truthRows(v.tr, sorted, k)
							for i := range dist {
								if dist[i] != wd[i] || idx[i] != wi[i] {
									q := i / k
									t.Fatalf("%s, %s, k=%d, query %d: got %v %v, want %v %v", v.name, b.name, k, q,
										dist[q*k:q*k+k], idx[q*k:q*k+k], wd[q*k:q*k+k], wi[q*k:q*k+k])
								}
							}
						}
					}
				}
			})
		}
	}
}

// flatTruth returns, for each query of a batch, the kmax nearest
// (distance, caller index) pairs in the tree's search distance, by
// measuring every point of the tree with its kernel.
func flatTruth[T Float](tr *Tree[T], b Batch[T], kmax int) [][]entry {
	b, err := b.prepared(tr.metric, tr.Dim())
	if err != nil {
		panic(err)
	}
	nq := batchLen(tr, b)
	ids := tr.LiveIDs(nil)
	out := make([][]entry, nq)
	all := make([]entry, 0, len(ids))
	for i := range nq {
		q, ex := b.query(tr, i)
		all = all[:0]
		for _, id := range ids {
			if int32(id) != ex {
				all = append(all, entry{d: tr.dist(q, tr.Point(int(id))), id: int32(id)})
			}
		}
		slices.SortFunc(all, func(a, b entry) int {
			if less(a.d, a.id, b.d, b.id) {
				return -1
			}
			return 1
		})
		out[i] = slices.Clone(all[:kmax])
	}
	return out
}

// batchLen returns the number of queries in b.
func batchLen[T Float](tr *Tree[T], b Batch[T]) int {
	switch {
	case b.Points != nil:
		return len(b.Points) / tr.Dim()
	case b.IDs != nil:
		return len(b.IDs)
	}
	return b.Count
}

// truthRows returns the k nearest of each query from flatTruth as
// KNearestBatch reports them: in the metric's distance, as T, ties of the
// rounded distances by index.
func truthRows[T Float](tr *Tree[T], sorted [][]entry, k int) ([]T, []int64) {
	var dist []T
	var idx []int64
	for _, row := range sorted {
		o := len(dist)
		for _, e := range row[:k] {
			dist = append(dist, T(tr.outDist(e.d)))
			idx = append(idx, int64(e.id))
		}
		orderRounded(dist[o:], idx[o:])
	}
	return dist, idx
}

// positions appends to dst the distinct positions of the nodes holding
// the caller indices of the heap entries e: a query's answer, as the
// starting points of the next.
func (f *flatTree[T]) positions(t *Tree[T], e []entry, dst []int32) []int32 {
	for _, x := range e {
		p := f.pos[t.s.nodeOf(x.id)]
		if !slices.Contains(dst, p) {
			dst = append(dst, p)
		}
	}
	return dst
}

// genRows returns n rows of dim coordinates drawn from f.
func genRows[T Float](n, dim int, f func() float64) []T {
	out := make([]T, n*dim)
	for i := range out {
		out[i] = T(f())
	}
	return out
}
