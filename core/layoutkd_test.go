package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// kdData returns the point sets of the k-d split tests, in two to ten
// dimensions: uniform, small integer grids (every point many times over),
// clusters, all points equal, and points on a line (a side of zero width).
func kdData[T Float](rng *rand.Rand, n int) []struct {
	name string
	dim  int
	pts  []T
} {
	line := genRows[T](n, 3, rng.Float64)
	for i := 0; i < len(line); i += 3 {
		line[i+1], line[i+2] = 0.5, 2*line[i]
	}
	// A tight cluster and one point very far from it: the cluster's points
	// share a cell of the Z-order curve's finest grid (see outlierRows).
	far2, far3 := outlierRows[T](rng, n, 2), outlierRows[T](rng, n, 3)
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
		{"outlier/d=2", 2, far2},
		{"outlier/d=3", 3, far3},
		{"grid/d=4", 4, genRows[T](n, 4, func() float64 { return float64(rng.IntN(3)) })},
		{"uniform/d=7", 7, genRows[T](n, 7, rng.Float64)},
		{"clustered/d=10", 10, genRows[T](n, 10, func() float64 { return float64(rng.IntN(3)) + 0.01*rng.NormFloat64() })},
		{"equal/d=10", 10, genRows[T](n, 10, func() float64 { return 0.5 })},
	}
}

// outlierRows returns n distinct points in dim dimensions: n-1 of them
// within 1e-4 of the origin and one at 1e9 on every side, so that the
// cluster lies in one cell of the finest grid of a Z-order curve over
// their box (a cell's side is 1e9 / 2^(64/dim)).
func outlierRows[T Float](rng *rand.Rand, n, dim int) []T {
	pts := genRows[T](n, dim, func() float64 { return 1e-4 * rng.Float64() })
	for j := range dim {
		pts[j] = 1e9
	}
	return pts
}

// TestKDSplitEqualKeys checks the k-d splits where more than a leaf of
// points share one Z-order key of the cube the split is made from (split's
// splitEqual, and splitN's rule for them): those points' keys are equal
// (else the case does not test it), and the split passes checkKDSplit.
func TestKDSplitEqualKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(57, 58))
	for _, dim := range []int{2, 3, 4, 10} {
		pts := outlierRows[float64](rng, 500, dim)
		tr, err := Build(pts, dim, Options{Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		f := tr.flatten(2)
		keys := make([]uint64, len(f.pts)/dim)
		mortonKeysInto(keys, f.pts, dim, f.zlo, cubeOver(f.zlo, f.zhi))
		slices.Sort(keys)
		// Every key but the far point's (the largest) is the cluster's.
		if k := keys; k[0] != k[len(k)-2] || k[0] == k[len(k)-1] {
			t.Fatalf("%d dimensions: the cluster's keys differ (%x .. %x)", dim, k[0], k[len(k)-2])
		}
		checkKDSplit(t, pts, dim)
	}
}

// kdView is a layout's k-d split, in two and three dimensions (split) or
// more (splitN), as the split tests read it.
type kdView struct {
	nodes []kdnNode
	box   func(i int) (lo, hi []float64) // node i's box
	row   func(s int) []float64          // the coordinates in slot s (three in two dimensions)
	pos   []int32
	leaf  int32
}

func viewKD[T Float](f *flatTree[T]) kdView {
	if f.kdNodes != nil {
		nodes := make([]kdnNode, len(f.kdNodes))
		for i, nd := range f.kdNodes {
			nodes[i] = kdnNode{nd.lo, nd.hi, nd.left}
		}
		return kdView{nodes: nodes, pos: f.kdPos, leaf: kdLeaf,
			box: func(i int) ([]float64, []float64) { return f.kdNodes[i].box[:f.dim], f.kdNodes[i].box[3 : 3+f.dim] },
			row: func(s int) []float64 { return f.kdPts[3*s : 3*s+3] }}
	}
	dim := f.dim
	return kdView{nodes: f.kdnNodes, pos: f.kdnPos, leaf: kdnLeaf,
		box: func(i int) ([]float64, []float64) {
			return f.kdnBox[2*dim*i : 2*dim*i+dim], f.kdnBox[2*dim*i+dim : 2*dim*(i+1)]
		},
		row: func(s int) []float64 {
			out := make([]float64, dim)
			for j, x := range f.kdnRows[s*dim : (s+1)*dim] {
				out[j] = float64(x)
			}
			if f.kdnLanes != nil {
				// The four-lane copy holds the same coordinates.
				g, l := s/quadSize, s%quadSize
				for j := range dim {
					if x := float64(f.kdnLanes[g*quadSize*dim+j*quadSize+l]); x != out[j] {
						out[j] = math.NaN()
					}
				}
			}
			return out
		}}
}

// TestKDSplit checks the k-d split of a layout, in two and three
// dimensions and in more: every position in one slot; the root holding every slot and each node's halves splitting its
// slots, the lower half's along some side no higher than the upper's;
// leaves of at most kdLeaf points; each box the tight box of its points;
// and each slot's coordinates the position's, exactly (in the four-lane
// copy too, where there is one).
func TestKDSplit(t *testing.T) {
	testKDSplit[float64](t)
	testKDSplit[float32](t)
}

func testKDSplit[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	// 20,000 points in up to three dimensions: the leaves' boxes and the
	// slots' coordinates fill on several goroutines.
	for _, size := range []int{2000, 20000} {
		for _, ds := range kdData[T](rng, size) {
			if size > 2000 && ds.dim > 3 {
				continue
			}
			t.Run(fmt.Sprintf("%T/%d/%s", T(0), size, ds.name), func(t *testing.T) {
				checkKDSplit(t, ds.pts, ds.dim)
			})
		}
	}
}

// checkKDSplit checks the split of the layout of the tree of pts (see
// TestKDSplit), made on four goroutines, and that one makes the same.
func checkKDSplit[T Float](t *testing.T, pts []T, dim int) {
	tr, err := Build(pts, dim, Options{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	f := tr.flatten(4)
	if one := tr.flatten(1); !sameLayout(one, f) {
		t.Fatal("the layout made on four goroutines differs from the one made on one")
	}
	if (f.kdNodes != nil) != (dim <= 3) || (f.kdnNodes != nil) != (dim > 3) {
		t.Fatalf("%d dimensions: a 3-D split %v, a wider one %v", dim, f.kdNodes != nil, f.kdnNodes != nil)
	}
	v := viewKD(f)
	n := len(f.info) - 1
	if len(v.pos) != n {
		t.Fatalf("%d slots for %d positions", len(v.pos), n)
	}
	seen := make([]bool, n)
	for _, p := range v.pos {
		if seen[p] {
			t.Fatalf("position %d in two slots", p)
		}
		seen[p] = true
	}
	if r := v.nodes[0]; r.lo != 0 || int(r.hi) != n {
		t.Fatalf("the root holds slots [%d, %d) of %d", r.lo, r.hi, n)
	}
	halfOf := make([]int, len(v.nodes)) // how many nodes have each as a half
	for _, nd := range v.nodes {
		if nd.left >= 0 {
			halfOf[nd.left]++
			halfOf[nd.left+1]++
		}
	}
	for i, c := range halfOf {
		if c != min(i, 1) {
			t.Fatalf("node %d is a half of %d nodes", i, c)
		}
	}
	for i, nd := range v.nodes {
		if nd.left < 0 {
			if nd.hi-nd.lo > v.leaf {
				t.Fatalf("leaf %d holds %d points", i, nd.hi-nd.lo)
			}
		} else {
			l, r := v.nodes[nd.left], v.nodes[nd.left+1]
			if l.lo != nd.lo || l.hi != r.lo || r.hi != nd.hi || l.lo == l.hi || r.lo == r.hi {
				t.Fatalf("node %d [%d, %d): halves [%d, %d) and [%d, %d)", i, nd.lo, nd.hi, l.lo, l.hi, r.lo, r.hi)
			}
			_, lhi := v.box(int(nd.left))
			rlo, _ := v.box(int(nd.left + 1))
			split := false
			for j := range dim {
				split = split || lhi[j] <= rlo[j]
			}
			if !split {
				t.Fatalf("node %d: halves overlap on every side", i)
			}
		}
		lo, hi := v.box(i)
		for j := range dim {
			want := [2]float64{math.Inf(1), math.Inf(-1)}
			for s := nd.lo; s < nd.hi; s++ {
				x := float64(f.row(v.pos[s])[j])
				want = [2]float64{min(want[0], x), max(want[1], x)}
			}
			if lo[j] != want[0] || hi[j] != want[1] {
				t.Fatalf("node %d, side %d: box [%v, %v], its points' %v", i, j, lo[j], hi[j], want)
			}
		}
	}
	for s, p := range v.pos {
		got := v.row(s)
		for j := range got {
			want := 0.0
			if j < dim {
				want = float64(f.row(p)[j])
			}
			if got[j] != want {
				t.Fatalf("slot %d holds %v, position %d %v", s, got, p, f.row(p))
			}
		}
	}
}

// sameLayout reports whether two layouts of a tree hold the same arrays.
func sameLayout[T Float](a, b *flatTree[T]) bool {
	return slices.Equal(a.pts, b.pts) && slices.Equal(a.reach, b.reach) && slices.Equal(a.info, b.info) &&
		slices.Equal(a.ids, b.ids) && slices.Equal(a.pos, b.pos) && slices.Equal(a.box, b.box) &&
		slices.Equal(a.zlo, b.zlo) && slices.Equal(a.zhi, b.zhi) && slices.Equal(a.zkey, b.zkey) &&
		slices.Equal(a.zpos, b.zpos) && slices.Equal(a.lanes, b.lanes) &&
		slices.Equal(a.kdNodes, b.kdNodes) && slices.Equal(a.kdPos, b.kdPos) &&
		slices.Equal(a.kdID, b.kdID) && slices.Equal(a.kdPts, b.kdPts) &&
		slices.Equal(a.kdnNodes, b.kdnNodes) && slices.Equal(a.kdnBox, b.kdnBox) &&
		slices.Equal(a.kdnPos, b.kdnPos) && slices.Equal(a.kdnID, b.kdnID) &&
		slices.Equal(a.kdnRows, b.kdnRows) && slices.Equal(a.kdnLanes, b.kdnLanes)
}

// TestKdSelect checks the quickselect of the k-d splits against a sort, on
// coordinates with many ties (ordered by position) and runs of a few.
func TestKdSelect(t *testing.T) {
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
				kdSelect(got, m, axis)
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
// to ten dimensions, which the k-d split gives, against every point
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
				if f := tr.layout(tr.Nodes(), 2); f == nil || (f.kdNodes == nil && f.kdnNodes == nil) {
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
