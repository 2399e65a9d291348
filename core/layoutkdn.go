package core

import (
	"math"
	"slices"
)

// The k-d split in four to kdMaxDims Euclidean dimensions: the split of
// layoutkd.go with boxes and rows of the layout's dimension, its points in
// the tree's precision (a leaf's squared distances by the tree's kernel,
// sqEuclidean, or four at a time by quadSquares where the layout keeps
// four-lane coordinates, with the same bits either way). On magic (10-D,
// k = 10, one thread, four lanes) it measured 350 to 470 points a query
// where the cover tree's search measured 900, and cut a held-out query's
// CPU time by a fifth; in 16 dimensions (pendigits, letter) it measured
// 10% to 20% fewer points than the cover tree but took 1.6 times as long
// (a box there costs as much as a point and rarely settles a half), so
// there the cover tree searches.

// kdMaxDims is the largest dimension in which a Euclidean layout keeps a
// k-d split.
const kdMaxDims = 10

// kdnLeaf is the largest number of points in a leaf of a split in more
// than three dimensions (magic: 16 a leaf took 5% more time than 32, 8
// 10% more).
const kdnLeaf = 32

// kdnNode is one box of a split in more than three dimensions: the points
// in slots [lo, hi), its box at flatTree.kdnBox[2*dim*i:] (the lowest
// coordinates, then the highest) for node i, and, unless it is a leaf
// (left < 0), two halves, the nodes left and left+1.
type kdnNode struct {
	lo, hi, left int32
}

// splitN makes the layout's k-d split in four to kdMaxDims Euclidean
// dimensions, as split does in two and three. The rows travel with the
// split: each node's rows are a run of a copy kept in the split's order,
// so a node's keys along its axis and its halves' boxes are read in
// order, and the selection compares keys gathered beside the positions
// (kdSelect), where it had read each position's coordinate from the
// layout's rows, through a function value, at every comparison: in
// profiles of 40 layouts of magic (and 40 of pendigits, which keep no
// split), splitN takes 0.32-0.36 s where it took 0.40-0.50, the
// selection 0.06 s where it took 0.22. The split is the same, slot for
// slot.
func (f *flatTree[T]) splitN() {
	if !f.euclid || f.dim <= 3 || f.dim > kdMaxDims {
		return
	}
	dim := f.dim
	n := len(f.info) - 1
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	rows := slices.Clone(f.pts[:n*dim])
	items := make([]kdItem, n)
	f.kdnNodes = make([]kdnNode, 1, 2*(n/kdnLeaf+1))
	f.kdnNodes[0] = kdnNode{lo: 0, hi: int32(n), left: -1}
	f.kdnBox = rowsBox(make([]float64, 0, cap(f.kdnNodes)*2*dim), rows, dim)
	for i := 0; i < len(f.kdnNodes); i++ {
		nd := f.kdnNodes[i]
		slots := perm[nd.lo:nd.hi]
		if len(slots) <= kdnLeaf {
			continue
		}
		// Halve it across its widest side, ties by position.
		b := f.kdnBox[i*2*dim : (i+1)*2*dim]
		axis := 0
		for j := 1; j < dim; j++ {
			if b[dim+j]-b[j] > b[dim+axis]-b[axis] {
				axis = j
			}
		}
		run := rows[int(nd.lo)*dim : int(nd.hi)*dim]
		its := items[:len(slots)]
		for k, p := range slots {
			its[k] = kdItem{p: [3]float64{float64(run[k*dim+axis])}, pos: p}
		}
		mid := len(slots) / 2
		kdSelect(its, mid, 0)
		for k := range its {
			slots[k] = its[k].pos
			copy(run[k*dim:(k+1)*dim], f.row(its[k].pos))
		}
		f.kdnNodes[i].left = int32(len(f.kdnNodes))
		f.kdnNodes = append(f.kdnNodes, kdnNode{nd.lo, nd.lo + int32(mid), -1}, kdnNode{nd.lo + int32(mid), nd.hi, -1})
		f.kdnBox = rowsBox(f.kdnBox, run[:mid*dim], dim)
		f.kdnBox = rowsBox(f.kdnBox, run[mid*dim:], dim)
	}
	f.kdnPos = perm
	f.kdnID = f.soleIDs(perm)
	f.kdnRows = rows
	if f.lanes != nil {
		f.kdnLanes = interleaved(f.kdnRows, dim)
	}
}

// rowsBox appends to dst the bounding box of rows (of dim coordinates
// each, one after another): the lowest coordinates, then the highest.
func rowsBox[T Float](dst []float64, rows []T, dim int) []float64 {
	o := len(dst)
	for range dim {
		dst = append(dst, math.Inf(1))
	}
	for range dim {
		dst = append(dst, math.Inf(-1))
	}
	lo, hi := dst[o:o+dim], dst[o+dim:o+2*dim]
	for r := 0; r < len(rows); r += dim {
		for j, x := range rows[r : r+dim] {
			lo[j] = min(lo[j], float64(x))
			hi[j] = max(hi[j], float64(x))
		}
	}
	return dst
}

// kdnSearch is kdSearch for a split in more than three dimensions.
func (f *flatTree[T]) kdnSearch(s *scratch, q []T, b *bound) {
	dim := f.dim
	nodes, rows, pos, ids, boxes := f.kdnNodes, f.kdnRows, f.kdnPos, f.kdnID, f.kdnBox
	stack := append(s.kd[:0], kdCand{node: 0})
	evals := int64(0)
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if x.s2 > b.usq {
			continue
		}
		nd := &nodes[x.node]
		if nd.left < 0 {
			evals += int64(nd.hi - nd.lo)
			if f.kdnLanes != nil {
				g0, g1 := int(nd.lo)/quadSize, (int(nd.hi)+quadSize-1)/quadSize
				s.sq = slices.Grow(s.sq[:0], (g1-g0)*quadSize)[:(g1-g0)*quadSize]
				quadSquares(f.kdnLanes, dim, q, g0, g1, s.sq)
				sq := s.sq[int(nd.lo)-g0*quadSize:][:nd.hi-nd.lo]
				for j, s2 := range sq {
					if s2 <= b.sq {
						sl := nd.lo + int32(j)
						f.offerSlot(s, q, pos[sl], ids[sl], s2, b)
					}
				}
				continue
			}
			for i := nd.lo; i < nd.hi; i++ {
				o := int(i) * dim
				if s2 := sqEuclidean(q, rows[o:o+dim:o+dim]); s2 <= b.sq {
					f.offerSlot(s, q, pos[i], ids[i], s2, b)
				}
			}
			continue
		}
		o := int(nd.left) * 2 * dim
		sl := boxSquare(q, boxes[o:o+2*dim])
		sr := boxSquare(q, boxes[o+2*dim:o+4*dim])
		stack = pushHalves(stack, nd.left, sl, sr, b.usq)
	}
	s.kd = stack[:0]
	s.evals += evals
}

// boxSquare returns the squared Euclidean distance from q to the box b
// (the lowest coordinates, then the highest).
func boxSquare[T Float](q []T, b []float64) float64 {
	dim := len(q)
	lo, hi := b[:dim:dim], b[dim:2*dim:2*dim]
	s := 0.0
	for j, x := range q {
		g := gap(float64(x), lo[j], hi[j])
		s += g * g
	}
	return s
}
