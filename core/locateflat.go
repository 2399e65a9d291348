package core

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
)

// A locLayout is one tree version's nodes copied out for locating a large
// batch of points in it (insertion, or the orphans of a deletion): what
// Tree.traverse lists for a point, found by a depth-first search over
// arrays instead of the node records.
//
// The traversal reads a node's record (about a hundred bytes behind a
// chunk's pointer, with the child list behind another) and its point
// (behind a third) for every child it considers, and measures the children
// one by one; in 10 to 16 dimensions that costs it about 40 ns a distance
// (letter: 1,145 distances and 50 µs an inserted point, one thread), where
// the batch construction measures rows at 3 to 8 ns. Here a node's children
// are one run of positions whose coordinates, parent distances, radii and
// first child levels lie one after another, the children are tested by the
// traversal's own bounds (mayReport) from those arrays, and in four and
// more Euclidean dimensions a child group is measured in one pass of the
// construction's row kernel (rowSquares).
//
// The search lists exactly the nodes the traversal does (the root, and
// every node above the floor within reportRadius of its level, with the
// same distances, bit for bit), so locating by the layout and by the
// traversal give the same location and the same tree; only the order of
// the list and the number of distances measured differ. Making the layout
// costs a pass over the nodes and a copy of their coordinates, so batches
// use it when they are large against the tree (see useLocLayout).
type locLayout[T Float] struct {
	dim  int
	pts  []T       // coordinates, position after position
	node []locNode // per position, and a sentinel whose grp ends the last's groups
	grp  []group   // the nodes' child groups, ends relative to the node's kids
	// grpLim bounds, for each group, the distance within which one of its
	// children may be listed or kept: beyond it the row kernel's square
	// settles the child (see list).
	grpLim []float64
	// pd holds the parent distances of the positions apart, in a layout
	// measured by rows, for the binary searches that cut a group to a
	// window: read from node they cost a cache line a probe (11% of
	// inserting 10% of letter and magic, one thread, in a profile).
	pd   []float64
	rows bool // measure child groups by rowSquares (Euclidean, dim >= 4)
	// short is the dimension (2 or 3) of a Euclidean layout whose
	// distances the search computes inline, as the tree's kernel does,
	// or 0.
	short int
}

// locNode is what a search reads of the node at one position, in one
// cache line.
type locNode struct {
	pdist float64 // distance to the parent (0 for the root)
	rad   float64 // bounds the distance from the node to its descendants
	reach float64 // bounds the distance from the parent to the node's subtree
	// The test that keeps a measured node in the search (Tree.needed):
	// its first group may reach, prunable(d, dRad, dRep) false.
	dRad, dRep float64
	top        int32 // the level of the first child group, levelNegInf for a leaf
	kids       int32 // the children are the positions [kids, kids+len(its node's kids))
	slot       int32 // the storage slot
	grp        int32 // the child groups are grp[grp:] up to the next position's
	// lim2, in a layout measured by rows or of short dimension, bounds
	// the squared distance within which the node may be listed or kept
	// as a child (childLim).
	lim2 float64
}

// useLocLayout reports whether locating n points in a tree of the given
// nodes, of dim coordinates, should make a locLayout first: when the
// points are at least 1/locLayoutRatio of the nodes (1/locLayoutRatioLow
// in up to three dimensions), so that making it (a pass over the nodes)
// costs a fraction of the traversals it saves. Measured on the real sets
// (inserting 0.2% to 3% of the rows into the tree of the rest, one
// thread, CPU time a point, alternated): in 10 and 16 dimensions the
// layout paid from about 1% on (letter at 1%: 54 against 70-72 µs a
// point) and cost up to twice as much at 0.2%. In two and three
// dimensions the layout is filled in one breadth-first pass and searched
// with the distances inline (locLayoutEach, listEach): locating bunny's
// 10% (3,595 points in the tree of the rest) took 14 against 18-20 ms by
// traversal, the layout's pass 1.2-1.7 ms of it, so it pays from about
// 2% on.
func useLocLayout(n, nodes, dim int) bool {
	if dim <= 3 {
		return n*locLayoutRatioLow >= nodes
	}
	return n*locLayoutRatio >= nodes
}

// locLayoutRatio and locLayoutRatioLow are the tree sizes, in points to
// locate, above which batches locate by traversal (see useLocLayout).
const (
	locLayoutRatio    = 64
	locLayoutRatioLow = 32
)

// locLayout lays t's nodes out for locating, on up to jobs goroutines; t
// must not be empty. Each child group is one run of positions, by distance
// to the parent in layouts measured by rows.
func (t *Tree[T]) locLayout(jobs int) *locLayout[T] {
	dim := t.s.dim
	l := &locLayout[T]{dim: dim}
	switch t.metric.Canonical().Kind {
	case Euclidean, Cosine:
		l.rows = dim >= 4 && vectorized()
		if dim == 2 || dim == 3 {
			l.short = dim
		}
	}
	if !l.rows {
		return t.locLayoutEach(l)
	}
	// Positions in depth-first order, each node's children one block
	// placed when the node is taken from the stack. A deletion's ghosts
	// are still in their parents' lists and route the search too, so the
	// slots bound the positions, not the live nodes.
	slot := make([]int32, 1, t.s.slots)
	kids := make([]int32, t.s.slots)
	slot[0] = t.root
	stack := []int32{0}
	var key []keyed
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		nd := t.node(slot[i])
		at := int32(len(slot))
		kids[i] = at
		slot = append(slot, nd.children()...)
		if l.rows {
			for g := range nd.groups() {
				blk := slot[at+nd.groupStart(g) : at+nd.groups()[g].end]
				key = key[:0]
				for _, u := range blk {
					key = append(key, keyed{t.node(u).pdist, u})
				}
				slices.SortFunc(key, func(a, b keyed) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.u, b.u)) })
				for j, k := range key {
					blk[j] = k.u
				}
			}
		}
		for j := len(nd.children()) - 1; j >= 0; j-- {
			stack = append(stack, at+int32(j))
		}
	}
	m := len(slot)
	l.pts = make([]T, m*dim)
	l.node = make([]locNode, m+1)
	l.pd = make([]float64, m)
	sc := t.scale
	forRange(m, jobs, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			nd, ln := t.node(slot[i]), &l.node[i]
			copyPoint(l.pts[i*dim:(i+1)*dim], t.point(slot[i]))
			ln.pdist, ln.rad, ln.reach = nd.pdist, nd.rad, nd.reach
			if i > 0 {
				l.pd[i] = nd.pdist
			}
			ln.kids, ln.slot, ln.top = kids[i], slot[i], levelNegInf
			if len(nd.groups()) > 0 {
				ln.top = nd.groups()[0].level
				ln.dRep = sc.reportRadius(ln.top)
				ln.dRad = min(nd.groups()[0].rad, ln.dRep*sc.reachRatio())
			}
			if l.rows && i > 0 {
				ln.lim2 = sqBound(childLim(sc, nd.level, ln))
			}
			l.node[i+1].grp = int32(len(nd.groups())) // counts, summed below
		}
	})
	l.node[0].pdist = 0
	for i := range m {
		l.node[i+1].grp += l.node[i].grp
	}
	// A group's limit is the largest of its children's (childLim).
	l.grp = make([]group, l.node[m].grp)
	l.grpLim = make([]float64, l.node[m].grp)
	forRange(m, jobs, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			first, start, at := l.node[i].kids, int32(0), l.node[i].grp
			for j, g := range t.node(slot[i]).groups() {
				lim := 0.0
				for c := first + start; c < first+g.end; c++ {
					lim = max(lim, childLim(sc, g.level, &l.node[c]))
				}
				l.grp[at+int32(j)] = g
				l.grpLim[at+int32(j)] = lim
				start = g.end
			}
		}
	})
	return l
}

// locLayoutEach fills l, a layout measured child by child, in one pass
// over the nodes in breadth-first order: a node's children are one block
// of positions, placed when the node is filled. Such a layout needs no
// group limits (grpLim), which only the row kernel reads.
func (t *Tree[T]) locLayoutEach(l *locLayout[T]) *locLayout[T] {
	dim := t.s.dim
	sc := t.scale
	ratio := sc.reachRatio()
	// A deletion's ghosts are still in their parents' lists and route the
	// search too, so the slots bound the positions, not the live nodes.
	slot := make([]int32, 1, t.s.slots)
	slot[0] = t.root
	nodes := make([]locNode, t.s.slots+1)
	pts := make([]T, int(t.s.slots)*dim)
	grp := make([]group, 0, t.s.slots)
	for i := 0; i < len(slot); i++ {
		nd, ln := t.node(slot[i]), &nodes[i]
		copyPoint(pts[i*dim:(i+1)*dim], t.point(slot[i]))
		ln.pdist, ln.rad, ln.reach = nd.pdist, nd.rad, nd.reach
		ln.kids, ln.slot, ln.top, ln.grp = int32(len(slot)), slot[i], levelNegInf, int32(len(grp))
		if len(nd.groups()) > 0 {
			ln.top = nd.groups()[0].level
			ln.dRep = sc.reportRadius(ln.top)
			ln.dRad = min(nd.groups()[0].rad, ln.dRep*ratio)
		}
		if l.short != 0 && i > 0 {
			ln.lim2 = sqBound(childLim(sc, nd.level, ln))
		}
		slot = append(slot, nd.children()...)
		grp = append(grp, nd.groups()...)
	}
	m := len(slot)
	nodes[0].pdist = 0
	nodes[m].grp = int32(len(grp))
	l.node, l.pts, l.grp = nodes[:m+1], pts[:m*dim], grp
	return l
}

// childLim returns the distance within which a node of the given level,
// at position ln, may be listed or kept as a child: it is listed within
// rep(1+slack), rep its level's report radius, and kept within
// (dRad+dRep)(1+slack)/(1-slack) (prunable false), both within
// max(rep, dRad+dRep)(1+4 slack). Its square (sqBound) is the node's
// lim2; the largest over a group's children is the group's grpLim.
func childLim(sc scale, level int32, ln *locNode) float64 {
	return max(sc.reportRadius(level), ln.dRad+ln.dRep) * (1 + 4*slack)
}

// keyed is a slot with a sort key.
type keyed struct {
	key float64
	u   int32
}

// row returns the coordinates at position i.
func (l *locLayout[T]) row(i int32) []T {
	o := int(i) * l.dim
	return l.pts[o : o+l.dim : o+l.dim]
}

// locFrame is a node the search has yet to open, at distance d from the
// point.
type locFrame struct {
	pos int32
	d   float64
}

// locScan is one worker's buffers for searching a locLayout.
type locScan struct {
	stack []locFrame
	sq    [68]float64 // the row kernel's squares
}

// list lists, as traverse does and with the same distances, the root and
// every node above floor within reportRadius of its level of y, and
// returns the distances it measured.
func (l *locLayout[T]) list(t *Tree[T], y []T, floor int32, list []listed, s *locScan) ([]listed, int) {
	if !l.rows {
		return l.listEach(t, y, floor, list, s)
	}
	sc := t.scale
	ratio := sc.reachRatio()
	d0 := t.dist(y, l.row(0))
	evals := 1
	list = append(list, listed{node: l.node[0].slot, level: levelInf, d: d0})
	stack := append(s.stack[:0], locFrame{pos: 0, d: d0})
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		first := l.node[x.pos].kids
		start := int32(0)
		for gi := l.node[x.pos].grp; gi < l.node[x.pos+1].grp; gi++ {
			g := l.grp[gi]
			lo, hi := first+start, first+g.end
			start = g.end
			if g.level <= floor {
				break
			}
			rep := sc.reportRadius(g.level)
			if prunable(x.d, min(g.rad, rep*ratio), rep) {
				// This group and every later one (no larger radius,
				// lower levels) lie beyond range: reaches.
				break
			}
			// visit tests a measured child: listed, kept, both or
			// neither.
			visit := func(c int32, d float64) {
				ln := &l.node[c]
				if within(d, rep) {
					list = append(list, listed{node: ln.slot, level: g.level, d: d})
				}
				if ln.top > floor && !prunable(d, ln.dRad, ln.dRep) {
					stack = append(stack, locFrame{pos: c, d: d})
				}
			}
			if !l.rows || hi-lo < 4 {
				for c := lo; c < hi; c++ {
					if l.mayReport(c, x.d, rep, floor) {
						visit(c, t.dist(y, l.row(c)))
						evals++
					}
				}
				continue
			}
			// Only children within the group's limit lim can pass
			// either test, and d(c, y) >= |x.d - pdist(c)|: the group,
			// by parent distance, is cut to the window of pdist within
			// lim of x.d (with a margin for rounding).
			lim := l.grpLim[gi]
			w := lim + 4*slack*(x.d+lim)
			lo, hi = window(l.pd, lo, hi, x.d-w, x.d+w)
			// The row kernel, 64 children at a time: only the rows
			// it leaves open, and of those the ones within their own
			// limit (lim2; about 135 of 237 a point inserted into
			// letter, the rest neither listed nor kept), can pass
			// either test.
			far2 := sqBound(lim)
			evals += int(hi - lo)
			for a := lo; a < hi; a += 64 {
				b := min(a+64, hi)
				wide := rowSquares(l.pts[int(a)*l.dim:int(b)*l.dim], l.dim, y, s.sq[:], far2)
				var open uint64
				for m := wide; m != 0; m &= m - 1 {
					k := bits.TrailingZeros64(m)
					open |= uint64(b2i(s.sq[k] <= l.node[a+int32(k)].lim2)) << k
				}
				for open != 0 {
					k := int32(bits.TrailingZeros64(open))
					open &= open - 1
					c := a + k
					visit(c, l.fromSquare(t, y, c, s.sq[k]))
				}
			}
		}
	}
	s.stack = stack[:0]
	return list, evals
}

// listEach is list for a layout whose children are measured one by one:
// the same search, with mayReport's test written out and, in two and
// three Euclidean dimensions, the distances computed inline, by their
// squares first.
//
// In a layout of short dimension (two or three Euclidean coordinates)
// every child of an open group is measured, its square only, in a loop
// without branches, against the square beyond which it can be neither
// listed nor kept (lim2); the few within get their distance from that
// square as the tree's kernel computes it, and the tests below. Tested
// child by child with mayReport's bounds, branches the processor mostly
// fails to predict, a point inserted into bunny had 122 children tested
// and 78 measured, 46 of them neither listed nor kept, and the search
// took 0.70-0.86 s of 40 insertions of 10% into bunny and zip codes
// against 0.48 s this way (CPU profiles). A child left out by its square
// fails those tests at any distance above its limit, so the lists are
// the same; the distances counted are the squares computed.
func (l *locLayout[T]) listEach(t *Tree[T], y []T, floor int32, list []listed, s *locScan) ([]listed, int) {
	sc := t.scale
	ratio := sc.reachRatio()
	nodes := l.node
	d0 := t.dist(y, l.row(0))
	evals := 1
	list = append(list, listed{node: nodes[0].slot, level: levelInf, d: d0})
	stack := append(s.stack[:0], locFrame{pos: 0, d: d0})
	var y0, y1, y2 float64
	if l.short != 0 {
		y0, y1 = float64(y[0]), float64(y[1])
		if l.short == 3 {
			y2 = float64(y[2])
		}
	}
	// test lists or keeps (or both, or neither) child c at distance d.
	test := func(c int32, d, rep float64, level int32) {
		ln := &nodes[c]
		if within(d, rep) {
			list = append(list, listed{node: ln.slot, level: level, d: d})
		}
		if ln.top > floor && !prunable(d, ln.dRad, ln.dRep) {
			stack = append(stack, locFrame{pos: c, d: d})
		}
	}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		first, start := nodes[x.pos].kids, int32(0)
		for gi := nodes[x.pos].grp; gi < nodes[x.pos+1].grp; gi++ {
			g := &l.grp[gi]
			lo, hi := first+start, first+g.end
			start = g.end
			if g.level <= floor {
				break
			}
			rep := sc.reportRadius(g.level)
			if prunable(x.d, min(g.rad, rep*ratio), rep) {
				break // as in list
			}
			if l.short != 0 {
				evals += int(hi - lo)
				for a := lo; a < hi; a += 64 {
					b := min(a+64, hi)
					var open uint64
					if l.short == 3 {
						open = shortSquares3(l.pts, nodes, a, b, y0, y1, y2, &s.sq)
					} else {
						open = shortSquares2(l.pts, nodes, a, b, y0, y1, &s.sq)
					}
					for open != 0 {
						k := int32(bits.TrailingZeros64(open))
						open &= open - 1
						test(a+k, l.fromSquare(t, y, a+k, s.sq[k]), rep, g.level)
					}
				}
				continue
			}
			for c := lo; c < hi; c++ {
				// mayReport: ln.top <= floor holds for a leaf too.
				ln := &nodes[c]
				near := math.Abs(x.d - ln.pdist)
				round := slack * (x.d + ln.pdist + ln.rad + rep)
				if near > rep+round && (ln.top <= floor || prunable(x.d, ln.reach, ln.dRep) || near-ln.rad > ln.dRep+round) {
					continue
				}
				test(c, t.dist(y, l.row(c)), rep, g.level)
				evals++
			}
		}
	}
	s.stack = stack[:0]
	return list, evals
}

// window returns the run [from, to) of positions lo..hi-1, whose parent
// distances pd are ascending, that lie within [a, b]: the first at or
// above a, and the first above b from there (binary searches).
func window(pd []float64, lo, hi int32, a, b float64) (from, to int32) {
	from, to = lo, hi
	for from < to {
		mid := int32(uint32(from+to) >> 1)
		if pd[mid] >= a {
			to = mid
		} else {
			from = mid + 1
		}
	}
	for lo, to = from, hi; lo < to; {
		mid := int32(uint32(lo+to) >> 1)
		if pd[mid] > b {
			to = mid
		} else {
			lo = mid + 1
		}
	}
	return from, to
}

// shortSquares3 sets sq[c-a] to the squared distance from (y0, y1, y2) to
// the three-coordinate point at each position c of a..b-1 (at most 64), as
// the tree's Euclidean kernel sums it (the same expression, so the same
// bits), and returns the positions whose square is within their
// lim2 as bits c-a.
func shortSquares3[T Float](pts []T, nodes []locNode, a, b int32, y0, y1, y2 float64, sq *[68]float64) (open uint64) {
	ps, ns := pts[3*int(a):3*int(b)], nodes[a:b]
	for k := range ns {
		p := ps[3*k : 3*k+3 : 3*k+3]
		d0, d1, d2 := y0-float64(p[0]), y1-float64(p[1]), y2-float64(p[2])
		s := d0*d0 + d1*d1 + d2*d2
		sq[k] = s
		open |= uint64(b2i(s <= ns[k].lim2)) << k
	}
	return open
}

// shortSquares2 is shortSquares3 for two coordinates.
func shortSquares2[T Float](pts []T, nodes []locNode, a, b int32, y0, y1 float64, sq *[68]float64) (open uint64) {
	ps, ns := pts[2*int(a):2*int(b)], nodes[a:b]
	for k := range ns {
		p := ps[2*k : 2*k+2 : 2*k+2]
		d0, d1 := y0-float64(p[0]), y1-float64(p[1])
		s := d0*d0 + d1*d1
		sq[k] = s
		open |= uint64(b2i(s <= ns[k].lim2)) << k
	}
	return open
}

// mayReport is Tree.mayReport for the child at position c of a node at
// distance d from the point.
func (l *locLayout[T]) mayReport(c int32, d, rep float64, floor int32) bool {
	ln := &l.node[c]
	near := math.Abs(d - ln.pdist)
	round := slack * (d + ln.pdist + ln.rad + rep)
	if near <= rep+round {
		return true
	}
	if ln.top == levelNegInf || ln.top <= floor {
		return false
	}
	return !prunable(d, ln.reach, ln.dRep) && near-ln.rad <= ln.dRep+round
}

// fromSquare returns the tree's distance from y to the node at position c
// from their sqEuclidean s, as the Euclidean kernel computes it.
func (l *locLayout[T]) fromSquare(t *Tree[T], y []T, c int32, s float64) float64 {
	if exactSquare(s) {
		return math.Sqrt(s)
	}
	return t.dist(y, l.row(c))
}
