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
// than three dimensions (magic, k = 10, one thread, four lanes: with the
// median split, 16 a leaf took 5% more time than 32, 8 10% more). Made
// from keys (splitN), the split has less full leaves (2,637 nodes against
// the median split's 2,047) and measures fewer points a query (410-432
// against 486-507), in 0-10% more time (in one process, the two splits of
// one tree alternated, best of 12, three runs of three batches; median
// +2.5%). With leaves of 64 its batches took 1% more to 13% less time
// than the median split's with 32, but measured 602-637 points a query,
// and Choose, which prices a query by the points it measures, then took
// brute force for small sets a tree answers four times as fast (3,000 x 4
// uniform: 297 points a query on its sample tree where 210 had kept the
// tree, whose 3,000 queries took 7.4 ms against brute force's 31-34).
// Since then the cost model's price of an evaluation has been fitted to
// measured times (auto.go), with leaves of 32: leaves of 64 would mean
// fitting it again.
const kdnLeaf = 32

// kdnNode is one box of a split in more than three dimensions: the points
// in slots [lo, hi), its box at flatTree.kdnBox[2*dim*i:] (the lowest
// coordinates, then the highest) for node i, and, unless it is a leaf
// (left < 0), two halves, the nodes left and left+1.
type kdnNode struct {
	lo, hi, left int32
}

// splitN makes the layout's k-d split in four to kdMaxDims Euclidean
// dimensions, as split does in two and three: from Z-order keys over the
// cube that holds the points (cubeOver), sorted (the curve itself keeps
// its box: k-nearest batches planned along a curve over the cube took
// 3-10% longer on magic), halved by curveSplit, the points of one cell
// of the keys' finest grid by the median of their box's widest side
// (medianSlots); the rows in a copy in the split's order, the boxes
// from the leaves up.
//
// It had halved every node at the median of its box's widest side,
// selecting the median and copying the node's rows into the split's order
// at every level: on magic (one thread, in one process, best of 20, three
// runs) 6.9-8.1 ms, now 2.0-2.1 (the whole layout 5.1-5.4 ms); see kdnLeaf
// for the queries.
func (f *flatTree[T]) splitN() {
	if !f.euclid || f.dim <= 3 || f.dim > kdMaxDims {
		return
	}
	dim := f.dim
	n := len(f.info) - 1
	keys := make([]uint64, n)
	mortonKeysInto(keys, f.pts[:n*dim], dim, f.zlo, cubeOver(f.zlo, f.zhi))
	pos := sortedBy(keys)
	sorted := make([]uint64, n)
	rows := make([]T, n*dim)
	for s, p := range pos {
		sorted[s] = keys[p]
		copy(rows[s*dim:(s+1)*dim], f.row(p))
	}
	equal := func(lo, hi int32) int32 {
		run := rows[int(lo)*dim : int(hi)*dim]
		b := rowsBox(nil, run, dim)
		mid := f.medianSlots(pos[lo:hi], b[:dim], b[dim:])
		for k, p := range pos[lo:hi] {
			copy(run[k*dim:(k+1)*dim], f.row(p))
		}
		return lo + int32(mid)
	}
	f.kdnNodes = curveSplit(sorted, kdnLeaf, equal)
	f.kdnBox = make([]float64, len(f.kdnNodes)*2*dim)
	for i := len(f.kdnNodes) - 1; i >= 0; i-- {
		nd := f.kdnNodes[i]
		b := f.kdnBox[i*2*dim : (i+1)*2*dim]
		if nd.left < 0 {
			rowsBox(b[:0], rows[int(nd.lo)*dim:int(nd.hi)*dim], dim) // in place: b has room
			continue
		}
		boxUnion(b, f.kdnBox[int(nd.left)*2*dim:], f.kdnBox[int(nd.left+1)*2*dim:])
	}
	f.kdnPos = pos
	f.kdnID = f.soleIDs(pos)
	f.kdnRows = rows
	if f.lanes != nil {
		f.kdnLanes = interleaved(f.kdnRows, dim)
	}
}

// boxUnion sets box b (the lowest coordinates, then the highest, len(b)/2
// of each) to the smallest box holding boxes l and r, laid out alike.
func boxUnion(b, l, r []float64) {
	d := len(b) / 2
	for j := range d {
		b[j], b[d+j] = min(l[j], r[j]), max(l[d+j], r[d+j])
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
