package core

import "math"

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

// split makes the layout's k-d split when kdDims holds: every position's
// coordinates, in float64 (exactly the tree's) and three to a slot, put
// in an order where each node's points are a run of slots; on up to jobs
// goroutines. The nodes are numbered by the sizes of the halves alone,
// the same whatever jobs: a node's halves are a pair (left, left+1),
// followed by the left half's subtree, then the right half's, so that the
// halves split on two goroutines fill runs of nodes of their own.
func (f *flatTree[T]) split(jobs int) {
	if !kdDims(f.euclid, f.dim) {
		return
	}
	n := len(f.info) - 1
	items := make([]kdItem, n)
	forRange(n, jobs, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			items[i].pos = int32(i)
			for j, x := range f.row(int32(i)) {
				items[i].p[j] = float64(x)
			}
		}
	})
	count := kdCounts(n)
	f.kdNodes = make([]kdNode, count[n])
	f.kdNodes[0] = kdNode{lo: 0, hi: int32(n), left: -1, box: kdBox(items, f.dim)}
	f.splitBelow(items, 0, 1, count, workers(jobs))
	f.kdPts = make([]float64, 3*n)
	f.kdPos = make([]int32, n)
	forRange(n, jobs, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			copy(f.kdPts[3*i:3*i+3], items[i].p[:])
			f.kdPos[i] = items[i].pos
		}
	})
	f.kdID = f.soleIDs(f.kdPos)
}

// kdParallelMin is the fewest items of a node whose halves split splits
// on two goroutines. Not tuned: with it, two threads made the layout of
// 20,000 3-D points no faster (5.9-6.2 against 5.5-7.2 ms on one) and
// that of 200,000 faster (57-61 against 80-90).
const kdParallelMin = 1 << 13

// kdCounts returns the number of nodes of the split of m items, for every
// m the split of n items has a node of (at most two sizes a depth).
func kdCounts(n int) map[int]int32 {
	count := make(map[int]int32)
	var walk func(m int) int32
	walk = func(m int) int32 {
		if c, ok := count[m]; ok {
			return c
		}
		c := int32(1)
		if m > kdLeaf {
			c += walk(m/2) + walk(m-m/2)
		}
		count[m] = c
		return c
	}
	walk(n)
	return count
}

// splitBelow halves node i, and every node below it, across its widest
// side (the median, ties by position), numbering its descendants from
// next (see split), on up to jobs goroutines.
func (f *flatTree[T]) splitBelow(items []kdItem, i, next int32, count map[int]int32, jobs int) {
	nd := &f.kdNodes[i]
	slots := items[nd.lo:nd.hi]
	if len(slots) <= kdLeaf {
		return
	}
	axis := 0
	for j := 1; j < f.dim; j++ {
		if nd.box[3+j]-nd.box[j] > nd.box[3+axis]-nd.box[axis] {
			axis = j
		}
	}
	mid := len(slots) / 2
	kdSelect(slots, mid, axis)
	lo, hi := nd.lo, nd.hi
	nd.left = next
	f.kdNodes[next] = kdNode{lo: lo, hi: lo + int32(mid), left: -1, box: kdBox(slots[:mid], f.dim)}
	f.kdNodes[next+1] = kdNode{lo: lo + int32(mid), hi: hi, left: -1, box: kdBox(slots[mid:], f.dim)}
	// The left half's descendants, then the right half's.
	from := [2]int32{next + 2, next + 1 + count[mid]}
	if jobs > 1 && len(slots) >= kdParallelMin {
		share := [2]int{jobs / 2, jobs - jobs/2} // the threads each half may use
		forParts(2, 2, func(h int) { f.splitBelow(items, next+int32(h), from[h], count, share[h]) })
		return
	}
	f.splitBelow(items, next, from[0], count, 1)
	f.splitBelow(items, next+1, from[1], count, 1)
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

// kdBox returns the bounding box of the items, in dim (2 or 3)
// dimensions. The three coordinates are taken at once (a 2-D item's third
// is 0, and so stays its box's), without a loop over them.
func kdBox(items []kdItem, dim int) [6]float64 {
	lo0, lo1, lo2 := math.Inf(1), math.Inf(1), math.Inf(1)
	hi0, hi1, hi2 := math.Inf(-1), math.Inf(-1), math.Inf(-1)
	for i := range items {
		p := &items[i].p
		lo0, hi0 = min(lo0, p[0]), max(hi0, p[0])
		lo1, hi1 = min(lo1, p[1]), max(hi1, p[1])
		lo2, hi2 = min(lo2, p[2]), max(hi2, p[2])
	}
	if dim == 2 {
		lo2, hi2 = 0, 0
	}
	return [6]float64{lo0, lo1, lo2, hi0, hi1, hi2}
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
