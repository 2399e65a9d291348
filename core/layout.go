package core

import (
	"cmp"
	"math"
	"slices"
)

// A flatTree is a read-only copy of one tree version laid out for answering
// a batch of queries: the nodes in depth-first preorder (a node, then the
// subtree of its first child, then that of its second, ...), so that every
// subtree is one run of positions [i, end) and its points are contiguous.
// A search then reads a node's children one after another from a compact
// record per node, jumping over the subtrees it prunes, and measures a leaf
// without stacking it. (Leaf buckets, subtrees of up to 2 to 24 nodes
// scanned whole in one loop, were measured on the five real data sets,
// every point queried, k = 10: they made 2% to 150% more distance
// evaluations and were no faster, in two and three dimensions included.)
//
// It is made for one batch, in O(nodes) time and memory, and shares
// nothing with the tree, so it sees exactly the version it was made from.
type flatTree[T Float] struct {
	dim  int
	pts  []T        // node coordinates, node after node in preorder
	info []flatNode // per node, plus a sentinel whose ids ends the last node's
	ids  []int32    // caller indices, node after node; ascending within a node
	pos  []int32    // the position of each storage slot's node
	dist distFunc[T]
	fast int // 2 or 3: Euclidean distances in that dimension, written out in descend and distAt
}

// flatNode describes the node at one preorder position.
type flatNode struct {
	reach  float64 // bounds the distance from the parent to any node of the subtree
	rad    float64 // bounds the distance from the node to any of its descendants
	end    int32   // one past the subtree's last position
	ids    int32   // where the node's caller indices start in flatTree.ids
	parent int32   // the parent's position, -1 for the root
}

// flatten returns t laid out for searching. t must not be empty. The
// children of each node are placed by reach, descending, so that a search
// stops at the first child whose reach puts it beyond the bound: every
// later one is then beyond it too.
func (t *Tree[T]) flatten() *flatTree[T] {
	dim := t.s.dim
	f := &flatTree[T]{
		dim:  dim,
		pts:  make([]T, t.nodes*dim),
		info: make([]flatNode, t.nodes+1),
		ids:  make([]int32, 0, t.n),
		pos:  make([]int32, t.s.slots),
		dist: t.dist,
	}
	if k := t.metric.Kind; (k == Euclidean || k == Cosine) && (dim == 2 || dim == 3) {
		f.fast = dim
	}
	byReach := func(a, b int32) int {
		if c := cmp.Compare(t.node(b).reach, t.node(a).reach); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	var kids []int32
	stack := []int32{t.root}
	for i := int32(0); len(stack) > 0; i++ {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := t.node(u)
		f.pos[u] = i
		copy(f.pts[int(i)*dim:], t.point(u))
		parent := int32(-1)
		if u != t.root {
			parent = f.pos[n.parent]
		}
		f.info[i] = flatNode{reach: n.reach, rad: n.rad, end: i + 1, ids: int32(len(f.ids)), parent: parent}
		f.ids = append(f.ids, n.ids...)
		kids = append(kids[:0], n.kids...)
		slices.SortFunc(kids, byReach)
		for j := len(kids) - 1; j >= 0; j-- {
			stack = append(stack, kids[j])
		}
	}
	f.info[t.nodes].ids = int32(len(f.ids))
	// A subtree ends where its last descendant does: children (later
	// positions) before parents.
	for i := int32(t.nodes) - 1; i > 0; i-- {
		p := f.info[i].parent
		f.info[p].end = max(f.info[p].end, f.info[i].end)
	}
	return f
}

// row returns the coordinates of the node at position i.
func (f *flatTree[T]) row(i int32) []T {
	o := int(i) * f.dim
	return f.pts[o : o+f.dim : o+f.dim]
}

// weight returns the caller points held in the subtree at position i.
func (f *flatTree[T]) weight(i int32) int32 {
	return f.info[f.info[i].end].ids - f.info[i].ids
}

// knn leaves the k nearest neighbours of q in s.heap, skipping the caller
// index s.exclude, by the depth-first branch and bound of knnDepthFirst,
// pruning against the k-th distance found so far times shrink (1/(1+eps);
// 1 for an exact search).
//
// A good bound early saves most of the work, so the search starts near q
// when it can: at home, q's own node when q is a fitted point, or else the
// nearest to q of the positions near (the previous query's answer, when the
// queries come in an order that keeps neighbours together). The subtree of
// an ancestor of home holding at least seed points is searched first; the
// search from the root then skips it.
func (f *flatTree[T]) knn(s *scratch, q []T, k int, home, seed int32, near []int32, shrink float64) {
	h := &s.heap
	h.reset(k)
	if home < 0 && len(near) > 0 {
		bd := math.Inf(1)
		for _, i := range near {
			if d := f.distAt(q, i); d < bd {
				home, bd = i, d
			}
		}
		s.evals += int64(len(near))
	}
	skip := int32(-1)
	if home >= 0 {
		a := home
		for a > 0 && f.weight(a) < seed {
			a = f.info[a].parent
		}
		da := f.distAt(q, a)
		s.evals++
		f.offer(s, a, da)
		s.stack = f.descend(s, q, append(s.stack[:0], cand{node: a, d: da}), -1, shrink)
		if a == 0 {
			return
		}
		skip = a
	}
	d0 := f.distAt(q, 0)
	s.evals++
	f.offer(s, 0, d0)
	s.stack = f.descend(s, q, append(s.stack[:0], cand{node: 0, d: d0}), skip, shrink)
}

// descend runs the depth-first branch and bound from the candidates on the
// stack (each already offered; the last is opened first) over their
// subtrees, leaving out the subtree at position skip. Each child whose
// reach does not put it beyond the bound is measured and offered, and
// stacked if it has children and its radius may still hold an answer, the
// nearest opened next. It returns the emptied stack.
func (f *flatTree[T]) descend(s *scratch, q []T, stack []cand, skip int32, shrink float64) []cand {
	h := &s.heap
	info, pts, fast := f.info, f.pts, f.fast
	// The query's coordinates, for the written-out kernels.
	var q0, q1, q2 float64
	if fast >= 2 {
		q0, q1 = float64(q[0]), float64(q[1])
	}
	if fast == 3 {
		q2 = float64(q[2])
	}
	worst := math.Inf(1) // the heap's k-th distance once it is full
	ub := worst          // worst * shrink: subtrees beyond it are skipped
	if h.full() {
		worst = h.worst()
		ub = worst * shrink
	}
	evals := int64(0)
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		xi := &info[x.node]
		if prunable(x.d, xi.rad, ub) {
			continue
		}
		base := len(stack)
		for c, end := x.node+1, xi.end; c < end; {
			ci := &info[c]
			ce := ci.end
			if prunable(x.d, ci.reach, ub) {
				break // and so is every later child: their reach is no larger
			}
			if c == skip {
				c = ce
				continue
			}
			// The distance, by the tree's kernel: written out for the
			// Euclidean metric in two and three dimensions (the same
			// arithmetic, so the same bits; the kernel itself where the
			// squares could underflow or overflow).
			var dc float64
			switch fast {
			case 3:
				o := 3 * int(c)
				p := pts[o : o+3 : o+3]
				d0, d1, d2 := q0-float64(p[0]), q1-float64(p[1]), q2-float64(p[2])
				s2 := d0*d0 + d1*d1 + d2*d2
				dc = math.Sqrt(s2)
				if !(s2 >= 0x1p-900 && s2 <= 0x1p900) {
					dc = f.dist(q, f.row(c))
				}
			case 2:
				o := 2 * int(c)
				p := pts[o : o+2 : o+2]
				d0, d1 := q0-float64(p[0]), q1-float64(p[1])
				s2 := d0*d0 + d1*d1
				dc = math.Sqrt(s2)
				if !(s2 >= 0x1p-900 && s2 <= 0x1p900) {
					dc = f.dist(q, f.row(c))
				}
			default:
				dc = f.dist(q, f.row(c))
			}
			evals++
			if dc <= worst && f.offer(s, c, dc) && h.full() {
				worst = h.worst()
				ub = min(ub, worst*shrink)
			}
			// A leaf has been seen in full; a subtree is stacked if its
			// radius may still hold an answer.
			if ce > c+1 && !prunable(dc, ci.rad, ub) {
				stack = append(stack, cand{node: c, d: dc})
			}
			c = ce
		}
		sortCandsDesc(stack[base:])
	}
	s.evals += evals
	return stack[:0]
}

// distAt returns the distance from q to the node at position i: the tree's
// kernel, written out here for the Euclidean metric in two and three
// dimensions (the same arithmetic, so the same bits) to save a call.
func (f *flatTree[T]) distAt(q []T, i int32) float64 {
	var s float64
	switch f.fast {
	case 2:
		o := 2 * int(i)
		p := f.pts[o : o+2 : o+2]
		d0, d1 := float64(q[0])-float64(p[0]), float64(q[1])-float64(p[1])
		s = d0*d0 + d1*d1
	case 3:
		o := 3 * int(i)
		p := f.pts[o : o+3 : o+3]
		d0, d1, d2 := float64(q[0])-float64(p[0]), float64(q[1])-float64(p[1]), float64(q[2])-float64(p[2])
		s = d0*d0 + d1*d1 + d2*d2
	default:
		return f.dist(q, f.row(i))
	}
	if s >= 0x1p-900 && s <= 0x1p900 {
		return math.Sqrt(s)
	}
	return f.dist(q, f.row(i))
}

// offer offers the caller indices of the node at position i, at distance d,
// to the heap, skipping s.exclude, and reports whether any was kept.
func (f *flatTree[T]) offer(s *scratch, i int32, d float64) bool {
	h := &s.heap
	if h.full() && d > h.worst() {
		return false
	}
	kept := false
	for _, id := range f.ids[f.info[i].ids:f.info[i+1].ids] {
		if id == s.exclude {
			continue
		}
		if !h.offer(d, id) {
			break
		}
		kept = true
	}
	return kept
}

// flatBatchRatio: a batch of at least nodes/flatBatchRatio queries is
// answered on a flatTree, whose making costs about as much as that many
// queries.
const flatBatchRatio = 64

// seedFactor times the points a query needs (k, and one more for a fitted
// point) is the size of the subtree searched first around a query's home.
const seedFactor = 1

// plan returns the order in which to answer the queries of b (nil: as
// given), and for fitted points their home positions (nil for query
// points). Fitted points are taken in preorder, query points of at most
// mortonDims dimensions along a Z-order curve, so that a worker's
// consecutive queries are near each other.
func (f *flatTree[T]) plan(t *Tree[T], b Batch[T], nq int) (order, homes []int32) {
	if b.Points == nil {
		homes = make([]int32, nq)
		for i := range nq {
			id := b.First + i
			if b.IDs != nil {
				id = int(b.IDs[i])
			}
			homes[i] = f.pos[t.s.nodeOf(int32(id))]
		}
		return sortedBy(homes), homes
	}
	if f.dim > mortonDims || nq < 2 {
		return nil, nil
	}
	return sortedBy(mortonKeys(b.Points, f.dim)), nil
}

// mortonDims is the largest dimension in which query points are ordered
// along a Z-order curve. (Locating each query point instead, among the
// tree's nodes sorted by Z-order key, made 10% to 20% fewer distance
// evaluations on held-out bunny and zipcodes queries, but sorting the nodes
// for each batch cost more than that saved.)
const mortonDims = 4

// sortedBy returns the permutation that sorts keys, ties by position.
func sortedBy[K cmp.Ordered](keys []K) []int32 {
	order := make([]int32, len(keys))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(keys[a], keys[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return order
}

// mortonKeys returns the Z-order (Morton) key of each row of points: its
// coordinates scaled to integers of 64/dim bits over the rows' bounding
// box, bits interleaved.
func mortonKeys[T Float](points []T, dim int) []uint64 {
	lo, hi := emptyBox(dim)
	extendBox(lo, hi, points)
	bits := 64 / dim
	top := float64(uint64(1)<<bits - 1)
	keys := make([]uint64, len(points)/dim)
	for i := range keys {
		var key uint64
		for j := range dim {
			u := (float64(points[i*dim+j]) - lo[j]) / (hi[j] - lo[j])
			if !(u >= 0) { // a zero or infinite width, or NaN
				u = 0
			}
			c := uint64(min(u, 1) * top)
			for bit := range bits {
				key |= (c >> bit & 1) << (bit*dim + j)
			}
		}
		keys[i] = key
	}
	return keys
}

// positions appends to dst the distinct positions of the nodes holding
// the caller indices of the heap entries e.
func (f *flatTree[T]) positions(t *Tree[T], e []entry, dst []int32) []int32 {
	for _, x := range e {
		p := f.pos[t.s.nodeOf(x.id)]
		if !slices.Contains(dst, p) {
			dst = append(dst, p)
		}
	}
	return dst
}
