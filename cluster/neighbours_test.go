package cluster

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestNeighbourRecords checks what DBSCAN's counts record against brute
// force over the nodes: every entry lies within eps (a whole subtree with
// all its nodes), no node is recorded twice, and the record of a node
// whose count ran to the end (not a core point, or one that met fewer
// entries than it could hold) is its whole neighbourhood. It runs on
// integer grids, where eps equals many pair distances, with duplicates,
// and with min_samples from 1 to above the record's width (records
// overflow).
func TestNeighbourRecords(t *testing.T) {
	sets := append(slices.Clone(datasets), farClusters, smallGroups)
	complete, overflowed := 0, 0 // records of all cases
	for _, ds := range sets {
		for _, eps := range []float64{0.5, 1, 2} {
			for _, ms := range []int{1, 3, 12, neighbourWidth + 8} {
				t.Run(fmt.Sprintf("%s/eps%g/ms%d", ds.name, eps, ms), func(t *testing.T) {
					r := rand.New(rand.NewPCG(21, uint64(ms)))
					const n, dim = 400, 2
					x := ds.gen(r, n, dim)
					tree, f := flatTestTree(t, x, dim)
					rr := tree.SearchDistance(eps)
					own, sub := f.subtreeWeights(nil)
					isCore := f.tightCore(sub, true, ms, rr)
					tight := slices.Clone(isCore)
					nb, err := f.coreFlags(isCore, own, sub, true, ms, rr, Options{Jobs: 2})
					if err != nil {
						t.Fatal(err)
					}
					for q := range int32(f.n) {
						near := make([]bool, f.n)
						count := 0
						for k := range int32(f.n) {
							if tree.Dist(f.point(q), f.point(k)) <= rr {
								near[k] = true
								count += len(f.idsOf(k))
							}
						}
						if isCore[q] != (count >= ms) {
							t.Fatalf("node %d: core %v with %d points within eps", q, isCore[q], count)
						}
						if tight[q] {
							if !nb.over[q] {
								t.Fatalf("node %d, core without a count, has a complete record", q)
							}
							continue
						}
						seen := make([]bool, f.n)
						for _, e := range nb.entries(q) {
							var nodes []int32
							if e >= 0 {
								nodes = []int32{e}
							} else {
								nodes = f.subtreeOf(-1 - e)
							}
							for _, k := range nodes {
								if !near[k] {
									t.Fatalf("node %d records node %d, not within eps", q, k)
								}
								if seen[k] {
									t.Fatalf("node %d records node %d twice", q, k)
								}
								seen[k] = true
							}
						}
						if nb.over[q] {
							overflowed++
							if !isCore[q] && ms <= nb.width {
								t.Fatalf("node %d: not a core point, but its record of %d entries overflowed", q, nb.width)
							}
							continue
						}
						complete++
						for k := range int32(f.n) {
							if near[k] && k != q && !seen[k] {
								t.Fatalf("node %d: complete record misses node %d", q, k)
							}
						}
					}
				})
			}
		}
	}
	if complete < 1000 || overflowed < 1000 {
		t.Fatalf("%d complete and %d partial records: the cases test too little", complete, overflowed)
	}
}

// smallGroups are groups of four points 10 apart, each of a centre and
// points 0.3, 0.3 and 0.55 from it, for eps 1 (and a little noise):
// a group's subtree is too wide to be within eps/2 but lies within eps
// of its points near the centre, which then count an ancestor's subtree
// whole.
var smallGroups = dataset{"groups", func(r *rand.Rand, n, dim int) []float64 {
	x := make([]float64, n*dim)
	offs := [][2]float64{{0, 0}, {0.3, 0}, {-0.3, 0}, {0, 0.55}}
	for i := 0; i < n; i += len(offs) {
		cx, cy := 10*float64(r.IntN(40)), 10*float64(r.IntN(40))
		for j, o := range offs {
			if i+j < n {
				x[(i+j)*dim], x[(i+j)*dim+1] = cx+o[0], cy+o[1]
			}
		}
	}
	return x
}}

// subtreeOf lists the nodes of node k's subtree.
func (f *flatTree[T]) subtreeOf(k int32) []int32 {
	out := []int32{}
	stack := []int32{k}
	for len(stack) > 0 {
		y := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, y)
		for c := f.kidLo[y]; c < f.kidHi[y]; c++ {
			stack = append(stack, c)
		}
	}
	return out
}
