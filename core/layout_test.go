package core

import (
	"fmt"
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
	gen := func(n, dim int, f func() float64) []float64 {
		out := make([]float64, n*dim)
		for i := range out {
			out[i] = f()
		}
		return out
	}
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
		add(fmt.Sprintf("uniform/d=%d", dim), gen(n, dim, rng.Float64), dim)
	}
	add("clustered/d=3", gen(n, 3, func() float64 { return float64(rng.IntN(5)) + 0.01*rng.NormFloat64() }), 3)
	add("grid/d=2", gen(n, 2, func() float64 { return float64(rng.IntN(12)) }), 2)
	tr := add("updated/d=3", gen(n, 3, rng.Float64), 3)
	tr, _, err := tr.Insert(gen(n/3, 3, rng.Float64), UpdateOptions{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	var del []int64
	for _, i := range rng.Perm(tr.IDs())[:n/5] {
		del = append(del, int64(i))
	}
	if tr, err = tr.Delete(del, UpdateOptions{Jobs: 2}); err != nil {
		t.Fatal(err)
	}
	trees["updated/d=3"] = tr
	return trees
}

// TestFlatTreeLayout checks the layout a flatTree gives a tree: every node
// once, each subtree one run of positions nested in its parent's, children
// by reach descending, and each node's points and caller indices.
func TestFlatTreeLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for name, tr := range layoutTrees(t, rng) {
		t.Run(name, func(t *testing.T) {
			f := tr.flatten()
			n := int32(tr.nodes)
			if len(f.info) != int(n)+1 || f.info[0].end != n || f.info[0].parent != -1 {
				t.Fatalf("%d positions, root ends at %d, parent %d; want %d nodes", len(f.info)-1, f.info[0].end, f.info[0].parent, n)
			}
			seen := map[int32]bool{}
			for _, u := range tr.preorder() {
				i := f.pos[u]
				if seen[i] {
					t.Fatalf("position %d given twice", i)
				}
				seen[i] = true
				if !slices.Equal(f.row(i), tr.point(u)) {
					t.Fatalf("position %d holds another point", i)
				}
				if !slices.Equal(f.ids[f.info[i].ids:f.info[i+1].ids], tr.node(u).ids) {
					t.Fatalf("position %d holds other caller indices", i)
				}
				if f.info[i].reach != tr.node(u).reach || f.info[i].rad != tr.node(u).rad {
					t.Fatalf("position %d has other radii", i)
				}
				// Children: consecutive subtrees filling the parent's run,
				// by reach descending.
				c, prev := i+1, -1.0
				for _, k := range tr.node(u).kids {
					_ = k
					if c >= f.info[i].end {
						t.Fatalf("node at %d: children overrun its subtree", i)
					}
					if f.info[c].parent != i {
						t.Fatalf("position %d's parent is %d, want %d", c, f.info[c].parent, i)
					}
					if prev >= 0 && f.info[c].reach > prev {
						t.Fatalf("node at %d: children not by reach descending", i)
					}
					prev = f.info[c].reach
					c = f.info[c].end
				}
				if c != f.info[i].end {
					t.Fatalf("node at %d: children end at %d, subtree at %d", i, c, f.info[i].end)
				}
			}
		})
	}
}

// TestFlatTreeSearch checks that the flatTree search gives the node-walk
// depth-first search's answers exactly, for query points and fitted
// points, from home positions and from neighbours of the previous query,
// whatever those are (a stale or unrelated start only costs time).
func TestFlatTreeSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for name, tr := range layoutTrees(t, rng) {
		t.Run(name, func(t *testing.T) {
			f := tr.flatten()
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
				f.knn(got, q, k, home, int32(k+1), near, 1)
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
