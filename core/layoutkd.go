package core

import (
	"math"
	"math/bits"
	"slices"
	"sort"
)

// A k-d split of the layout's points, for k-nearest queries in two and
// three Euclidean dimensions.
//
// The cover tree's nodes there have five to six children each, and a
// search looks at every child of every node it opens (a reach test, a box
// test, the distance of the few that pass): on bunny's held-out rows
// (k = 10, one thread) about 48 children, 12 nodes and 52 bucket points a
// query, some 7,500 of its 15,000 instructions in that loop. A binary
// split of the same points into boxes looks at two children a node and
// reaches the query's leaf in a dozen steps, as scipy's cKDTree does; the
// branch and bound over it measures the same points with the same
// arithmetic, offers them to the same answer list, and prunes a box only
// where the cover tree's search would prune it (its squared distance from
// the query beyond sqBound of the bound), so the answers, ties and their
// order included, are the same.

// kdLeaf is the largest number of points in a leaf of the split.
const kdLeaf = 16

// kdNode is one box of the split: the points in slots [lo, hi) of
// flatTree.kdPts, and, unless it is a leaf (left < 0), two halves, the
// nodes left and left+1.
type kdNode struct {
	box    [6]float64 // the lowest coordinates, then the highest (the third 0 in two dimensions)
	lo, hi int32
	left   int32
}

// kdDims reports whether a layout of metric class euclid and dimension
// dim answers k-nearest queries by its k-d split.
func kdDims(euclid bool, dim int) bool {
	return euclid && (dim == 2 || dim == 3)
}

// split makes the layout's k-d split when kdDims holds, from the Z-order
// curve (curve, made first): the slots hold the positions in the curve's
// order, so that every run of keys with a common prefix is a run of
// slots, and a node holding more than kdLeaf points is halved where its
// keys first differ, the highest bit its first and last keys do not
// share: a side of the cell that bit halves, its points below the cut
// on one side and those above it on the other. Points whose keys are
// all equal (a cell of the curve's finest grid) are halved at the
// median of their box's widest side instead (splitEqual, medianSlots). The boxes are
// the points' tight boxes, made from the leaves up. The nodes are numbered
// in the order the halving makes them, sequentially: a node's halves are
// a pair (left, left+1), followed by the left half's subtree, then the
// right half's; the leaves' boxes and the slots' coordinates fill on up
// to jobs goroutines, the same split whatever jobs.
//
// The curve's order is sorted already, so the split costs a binary search
// a node, where the median split it replaced selected each node's median
// along its widest side and scanned both halves for their boxes (42% of a
// layout of bunny, in a profile of 100, one thread). Layouts of the whole
// tree, one thread, before -> after (60 each, alternated): bunny
// 12.7-13.1 -> 6.4-6.6 ms, zip codes 10.6-12.1 -> 5.9-6.2 ms. The queries
// measure about as many points (k = 10, held-out rows: bunny 40.3 -> 43.4
// a query, zip codes 39.1 -> 33.6) in about the same time (in one process,
// the two layouts alternated: within 8% either way, run to run).
func (f *flatTree[T]) split(jobs int) {
	if !kdDims(f.euclid, f.dim) {
		return
	}
	n := len(f.info) - 1
	f.kdPos = slices.Clone(f.zpos)
	f.kdPts = make([]float64, 3*n)
	forRange(n, jobs, func(_, lo, hi int) {
		for s := lo; s < hi; s++ {
			f.slotPoint(s)
		}
	})
	halves := curveSplit(f.zkey, kdLeaf, f.splitEqual)
	f.kdNodes = make([]kdNode, len(halves))
	for i, h := range halves {
		f.kdNodes[i] = kdNode{lo: h.lo, hi: h.hi, left: h.left}
	}
	// The boxes: the leaves' from their points, then every other node's
	// from its halves (numbered after it).
	nodes := f.kdNodes
	forRange(len(nodes), jobs, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			if nd := &nodes[i]; nd.left < 0 {
				nd.box = slotBox(f.kdPts[3*nd.lo:3*nd.hi], f.dim)
			}
		}
	})
	for i := len(nodes) - 1; i >= 0; i-- {
		if nd := &nodes[i]; nd.left >= 0 {
			boxUnion(nd.box[:], nodes[nd.left].box[:], nodes[nd.left+1].box[:])
		}
	}
	f.kdID = f.soleIDs(f.kdPos)
}

// curveSplit returns the nodes of a k-d split of the slots 0..len(keys)-1,
// whose Z-order keys are keys, ascending: the root holds every slot, and a
// node of more than leaf slots is halved where its keys first differ, at
// the highest bit its first and last keys do not share (a binary search:
// the keys share every bit above it, so it rises once in the node), or,
// where all its keys are equal, at the slot equal(lo, hi) returns (which
// may reorder those slots). The nodes are numbered in the order the
// halving makes them: a node's halves are a pair (left, left+1), followed
// by the left half's subtree, then the right half's.
func curveSplit(keys []uint64, leaf int32, equal func(lo, hi int32) int32) []kdnNode {
	nodes := append(make([]kdnNode, 0, 2*(len(keys)/int(leaf))+1), kdnNode{lo: 0, hi: int32(len(keys)), left: -1})
	var halve func(i int32)
	halve = func(i int32) {
		lo, hi := nodes[i].lo, nodes[i].hi
		if hi-lo <= leaf {
			return
		}
		var mid int32
		if x := keys[lo] ^ keys[hi-1]; x != 0 {
			bit := uint(63 - bits.LeadingZeros64(x))
			mid = lo + int32(sort.Search(int(hi-lo), func(k int) bool { return keys[int(lo)+k]>>bit&1 == 1 }))
		} else {
			mid = equal(lo, hi)
		}
		left := int32(len(nodes))
		nodes[i].left = left
		nodes = append(nodes, kdnNode{lo: lo, hi: mid, left: -1}, kdnNode{lo: mid, hi: hi, left: -1})
		halve(left)
		halve(left + 1)
	}
	halve(0)
	return nodes
}

// cubeOver returns the highest corner of the cube with the lowest corner
// lo that holds the box [lo, hi]: its side the box's longest.
func cubeOver(lo, hi []float64) []float64 {
	side := 0.0
	for j := range lo {
		side = max(side, hi[j]-lo[j])
	}
	out := make([]float64, len(lo))
	for j := range out {
		out[j] = lo[j] + side
	}
	return out
}

// splitEqual returns the slot at which the k-d split halves slots [lo,
// hi), whose curve keys are all equal, ordered by medianSlots, their
// coordinates copied again in the new order.
func (f *flatTree[T]) splitEqual(lo, hi int32) int32 {
	box := slotBox(f.kdPts[3*lo:3*hi], f.dim)
	mid := f.medianSlots(f.kdPos[lo:hi], box[:f.dim], box[3:3+f.dim])
	for s := lo; s < hi; s++ {
		f.slotPoint(int(s))
	}
	return lo + int32(mid)
}

// medianSlots reorders pos, the positions in a run of slots whose keys
// are all equal and whose points' box is [lo, hi], so that the one at
// len(pos)/2 is where sorting them along the box's widest side (ties by
// position) would put it, those before it ordering before it and those
// after it after, and returns len(pos)/2: how both k-d splits halve what
// their keys cannot.
func (f *flatTree[T]) medianSlots(pos []int32, lo, hi []float64) int {
	axis := 0
	for j := 1; j < len(lo); j++ {
		if hi[j]-lo[j] > hi[axis]-lo[axis] {
			axis = j
		}
	}
	items := make([]kdItem, len(pos))
	for k, p := range pos {
		items[k] = kdItem{p: [3]float64{float64(f.row(p)[axis])}, pos: p}
	}
	mid := len(items) / 2
	kdSelect(items, mid, 0)
	for k, it := range items {
		pos[k] = it.pos
	}
	return mid
}

// slotPoint copies the coordinates of the position in slot s of the 2-3 D
// split into the slot, in float64 (a 2-D slot's third stays 0).
func (f *flatTree[T]) slotPoint(s int) {
	for j, x := range f.row(f.kdPos[s]) {
		f.kdPts[3*s+j] = float64(x)
	}
}

// slotBox returns the bounding box of the slots' coordinates pts (three
// to a slot), in dim (2 or 3) dimensions. The three coordinates are taken
// at once (a 2-D slot's third is 0, and so stays its box's), without a
// loop over them.
func slotBox(pts []float64, dim int) [6]float64 {
	lo0, lo1, lo2 := math.Inf(1), math.Inf(1), math.Inf(1)
	hi0, hi1, hi2 := math.Inf(-1), math.Inf(-1), math.Inf(-1)
	for ; len(pts) >= 3; pts = pts[3:] {
		p := pts[:3:3]
		lo0, hi0 = min(lo0, p[0]), max(hi0, p[0])
		lo1, hi1 = min(lo1, p[1]), max(hi1, p[1])
		lo2, hi2 = min(lo2, p[2]), max(hi2, p[2])
	}
	if dim == 2 {
		lo2, hi2 = 0, 0
	}
	return [6]float64{lo0, lo1, lo2, hi0, hi1, hi2}
}

// soleIDs returns, for each position of pos, the caller index its node
// holds if it holds one, and -1 if it holds several: what a k-d search
// offers from a leaf without reading the node's record (on zip codes,
// where the leaves' positions lie all over the layout, those reads and
// the calls around them took a third of a query's instructions).
func (f *flatTree[T]) soleIDs(pos []int32) []int32 {
	out := make([]int32, len(pos))
	for i, p := range pos {
		out[i] = -1
		if lo := f.info[p].ids; f.info[p+1].ids == lo+1 {
			out[i] = f.ids[lo]
		}
	}
	return out
}

// offerSlot offers the node at position p, whose squared Euclidean
// distance from q is s2 and whose sole caller index is id (-1: it holds
// several), at the distance the tree's kernel gives it, as offerSq does.
func (f *flatTree[T]) offerSlot(s *scratch, q []T, p, id int32, s2 float64, b *bound) {
	d := math.Sqrt(s2)
	if !exactSquare(s2) {
		d = f.dist(q, f.row(p))
	}
	if d > b.worst {
		return
	}
	h := &s.heap
	if id < 0 || !h.sorted {
		f.offerAt(s, p, d, b)
		return
	}
	if id != s.exclude && h.insert(d, id) && len(h.e) == h.k {
		b.set(h.e[len(h.e)-1].d)
	}
}

// kdItem is a position and its coordinates while the split is made.
type kdItem struct {
	p   [3]float64
	pos int32
}

// kdBefore reports whether a orders before b along axis: by coordinate,
// ties by position.
func kdBefore(a, b *kdItem, axis int) bool {
	return a.p[axis] < b.p[axis] || (a.p[axis] == b.p[axis] && a.pos < b.pos)
}

// kdSelect reorders items so that the one at m is where sorting them by
// kdBefore along axis would put it, those before it order before it and
// those after it after: a quickselect with the median of three as pivot,
// the comparisons written in (through a function value they had taken
// half of a 3-D layout's split).
func kdSelect(items []kdItem, m, axis int) {
	lo, hi := 0, len(items)-1
	for hi-lo >= 2 {
		mid := lo + (hi-lo)/2
		if kdBefore(&items[mid], &items[lo], axis) {
			items[mid], items[lo] = items[lo], items[mid]
		}
		if kdBefore(&items[hi], &items[lo], axis) {
			items[hi], items[lo] = items[lo], items[hi]
		}
		if kdBefore(&items[hi], &items[mid], axis) {
			items[hi], items[mid] = items[mid], items[hi]
		}
		pivot := items[mid]
		items[mid], items[hi-1] = items[hi-1], items[mid]
		i, j := lo, hi-1
		for {
			for i++; kdBefore(&items[i], &pivot, axis); i++ {
			}
			for j--; j > lo && kdBefore(&pivot, &items[j], axis); j-- {
			}
			if i >= j {
				break
			}
			items[i], items[j] = items[j], items[i]
		}
		items[i], items[hi-1] = items[hi-1], items[i]
		switch {
		case m < i:
			hi = i - 1
		case m > i:
			lo = i + 1
		default:
			return
		}
	}
	if hi > lo && kdBefore(&items[hi], &items[lo], axis) {
		items[lo], items[hi] = items[hi], items[lo]
	}
}

// kdCand is a node of the split waiting on the search's stack, with the
// squared distance from the query to its box.
type kdCand struct {
	node int32
	s2   float64
}

// kdQuery returns the coordinates of a query of two or three dimensions
// as the k-d split's searches read them, the third 0 in two (as the
// split's points and boxes hold it).
func kdQuery[T Float](q []T) (q0, q1, q2 float64) {
	if len(q) == 3 {
		q2 = float64(q[2])
	}
	return float64(q[0]), float64(q[1]), q2
}

// kdSearch runs the branch and bound over the k-d split from its root:
// a leaf's points are measured and offered, and a node's halves stacked,
// the nearer on top, unless their boxes lie beyond the bound.
func (f *flatTree[T]) kdSearch(s *scratch, q []T, b *bound) {
	nodes, pts, pos, ids := f.kdNodes, f.kdPts, f.kdPos, f.kdID
	q0, q1, q2 := kdQuery(q)
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
			p := pts[3*nd.lo : 3*nd.hi]
			for j := 0; len(p) >= 3; j++ {
				r := p[:3:3]
				d0, d1, d2 := q0-r[0], q1-r[1], q2-r[2]
				if s2 := d0*d0 + d1*d1 + d2*d2; s2 <= b.sq {
					sl := nd.lo + int32(j)
					f.offerSlot(s, q, pos[sl], ids[sl], s2, b)
				}
				p = p[3:]
			}
			continue
		}
		// The squared distances to the halves' boxes, written out: a
		// call each cost a fifth of a query's instructions.
		lb, rb := &nodes[nd.left].box, &nodes[nd.left+1].box
		l0, l1, l2 := gap(q0, lb[0], lb[3]), gap(q1, lb[1], lb[4]), gap(q2, lb[2], lb[5])
		r0, r1, r2 := gap(q0, rb[0], rb[3]), gap(q1, rb[1], rb[4]), gap(q2, rb[2], rb[5])
		sl, sr := l0*l0+l1*l1+l2*l2, r0*r0+r1*r1+r2*r2
		stack = pushHalves(stack, nd.left, sl, sr, b.usq)
	}
	s.kd = stack[:0]
	s.evals += evals
}

// pushHalves stacks the halves left and left+1 of a node of a k-d split,
// at squared distances sl and sr from the query, unless they lie beyond
// usq: the nearer on top, to be opened first.
func pushHalves(stack []kdCand, left int32, sl, sr, usq float64) []kdCand {
	near, far := kdCand{left, sl}, kdCand{left + 1, sr}
	if sr < sl {
		near, far = far, near
	}
	if far.s2 <= usq {
		stack = append(stack, far)
	}
	if near.s2 <= usq {
		stack = append(stack, near)
	}
	return stack
}
