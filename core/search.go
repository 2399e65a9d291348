package core

import (
	"math"
)

// cand is a search candidate: a node, the index of its first group of
// children not yet opened, and its distance to the query.
type cand struct {
	node int32
	g    int32
	d    float64
}

// scratch holds one worker's reusable buffers. It is not safe for
// concurrent use.
type scratch struct {
	r       []cand     // the candidate set of the level-by-level search
	stack   []cand     // subtrees waiting in a depth-first scan
	lam     []weighted // the lambda-point's heap
	nodes   []int32    // a block of nodes to measure ...
	dists   []float64  // ... and their distances to the query
	cut     []int32    // children a count has still to measure
	heap    topK
	evals   int64
	exclude int32     // caller index to leave out of answers, or -1
	near    []int32   // positions in a flatTree where a query starts
	kd      []kdCand  // nodes of a flatTree's k-d split waiting in its search
	guess   kthGuess  // the next query's guess at its k-th distance
	seq     int       // the place in its batch's order of the query being answered
	sq      []float64 // squared distances of a run of flatTree positions
	flat    *bruteScratch

	// Radius results of the current query.
	rd  []float64
	rid []int32
	ans answerArena // where a batch's radius answers are kept and sorted
}

// knn leaves the k nearest neighbours of q in s.heap, skipping the caller
// index s.exclude. It follows the corrected algorithm of Elkin and Kurlin:
// C_i is the candidate set R plus its children of level i; the lambda-point
// is the nearest candidate such that the distinctive descendants of the
// candidates no farther than it hold k points, which bounds the k-th
// neighbour distance; candidates whose distinctive descendants all lie
// beyond that bound are pruned; when d(q, lambda) > 2^(i+2) the search stops
// descending and scans the distinctive descendants of what remains. (With a
// level base b other than 2 the break reads d(q, lambda) > 2*rho*b^(i+1),
// twice the radius bound of a distinctive descendant set, as 2^(i+2) is for
// b = 2.)
//
// Every node whose distance is computed is offered to the heap, so the
// heap's worst pair is a second upper bound on the k-th distance; the
// tighter of the two prunes. Nodes are pruned only when a lower bound on the
// distance to everything they stand for exceeds the upper bound, so every
// point tied at the k-th distance is seen and the answer is exact.
func (t *Tree[T]) knn(s *scratch, q []T, k int) {
	h := &s.heap
	h.reset(k)
	need := int64(k) // points the lambda-point's sets must hold
	if s.exclude >= 0 {
		need++ // one of them may be the excluded point
	}
	d0 := t.dist(q, t.point(t.root))
	s.evals++
	t.offerNode(s, t.root, d0)
	ub := math.Inf(1) // an upper bound on the k-th neighbour distance
	r := append(s.r[:0], cand{node: t.root, d: d0})
	defer func() { s.r = r[:0] }()
	next := levelNegInf
	if rn := t.node(t.root); len(rn.groups()) > 0 {
		next = rn.groups()[0].level
	}
	for next != levelNegInf {
		// C_next: open the candidates' children of level next.
		nr := len(r)
		for j := range nr {
			c := &r[j]
			n := t.node(c.node)
			if int(c.g) >= len(n.groups()) || n.groups()[c.g].level != next {
				continue
			}
			g := int(c.g)
			c.g++
			m := t.measure(s, q, c.d, n.children()[n.groupStart(g):n.groups()[g].end], ub)
			for i, u := range s.nodes[:m] {
				du := s.dists[i]
				if t.offerNode(s, u, du) && h.full() {
					ub = min(ub, h.worst())
				}
				r = append(r, cand{node: u, d: du})
			}
		}
		// The lambda-point, and the bound it gives.
		lambda := t.lambda(s, r, need)
		if !math.IsInf(lambda, 1) {
			reach := 0.0
			for _, c := range r {
				if c.d <= lambda {
					reach = max(reach, c.d+t.node(c.node).subRad(c.g))
				}
			}
			ub = min(ub, reach)
		}
		// Prune: keep candidates whose distinctive descendants may hold a
		// point within ub, and find the next level. A candidate with no
		// children left stands for itself alone, and the heap has seen it:
		// it leaves the candidate set.
		level := next
		next = levelNegInf
		kept := r[:0]
		for _, c := range r {
			n := t.node(c.node)
			if int(c.g) >= len(n.groups()) || prunable(c.d, n.groups()[c.g].rad, ub) {
				continue
			}
			kept = append(kept, c)
			next = max(next, n.groups()[c.g].level)
		}
		r = kept
		if !math.IsInf(lambda, 1) && lambda > 2*t.scale.rho*t.scale.pow(level+1) && next != levelNegInf {
			t.scanDescendants(s, q, r, ub)
			return
		}
	}
	// Every candidate is a leaf at this depth: the heap holds the answer.
}

// knnDepthFirst leaves the k nearest neighbours of q in s.heap, skipping
// the caller index s.exclude, by a depth-first branch and bound from the
// root (the DepthFirst strategy), pruning against the k-th distance so far
// times shrink (1/(1+eps); 1 for an exact search).
func (t *Tree[T]) knnDepthFirst(s *scratch, q []T, k int, shrink float64) {
	h := &s.heap
	h.reset(k)
	d0 := t.dist(q, t.point(t.root))
	s.evals++
	t.offerNode(s, t.root, d0)
	s.stack = t.descend(s, q, append(s.stack[:0], cand{node: t.root, d: d0}), math.Inf(1), shrink)
}

// descend runs a depth-first branch and bound from the candidates on the
// stack (the last is opened first), each standing for its children from
// its group cursor on and everything below them; the candidates themselves
// have been offered already. The children of a node are measured as a
// block; each is offered to the heap, and pushed if its subtree may still
// hold an answer, the nearest last so that it is opened next. A subtree is
// skipped when its radius puts it beyond ub, the k-th distance so far
// times shrink (1/(1+eps)). It returns the emptied stack for reuse.
func (t *Tree[T]) descend(s *scratch, q []T, stack []cand, ub, shrink float64) []cand {
	h := &s.heap
	if h.full() {
		ub = min(ub, h.worst()*shrink)
	}
	dist := t.dist
	evals := int64(0)
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := t.node(x.node)
		if prunable(x.d, n.subRad(x.g), ub) {
			continue
		}
		base := len(stack)
		for _, u := range n.children()[n.groupStart(int(x.g)):] {
			un := t.node(u)
			if prunable(x.d, un.reach, ub) {
				continue
			}
			du := dist(q, t.point(u))
			evals++
			// Offer by the heap's own test: ub may be a bound from the
			// lambda-point, which a tied point can exceed by rounding.
			if (!h.full() || du <= h.worst()) && t.offerIDs(s, un.idList(), du) && h.full() {
				ub = min(ub, h.worst()*shrink)
			}
			if len(un.children()) > 0 && !prunable(du, un.rad, ub) {
				stack = append(stack, cand{node: u, d: du})
			}
		}
		sortCandsDesc(stack[base:])
	}
	s.evals += evals
	return stack[:0]
}

// offerIDs offers caller indices at distance d to the heap, skipping
// s.exclude, and reports whether any was kept.
func (t *Tree[T]) offerIDs(s *scratch, ids []int32, d float64) bool {
	kept := false
	for _, id := range ids {
		if id == s.exclude {
			continue
		}
		if !s.heap.offer(d, id) {
			break
		}
		kept = true
	}
	return kept
}

// lambda returns d(q, lambda): the least distance such that the candidates
// no farther than it stand for at least need points, or +Inf if all of them
// together stand for fewer. It keeps a max-heap (by distance) of the
// nearest candidates, popping the farthest while the rest still hold need
// points.
func (t *Tree[T]) lambda(s *scratch, c []cand, need int64) float64 {
	h := s.lam[:0]
	defer func() { s.lam = h[:0] }()
	var sum int64
	for _, x := range c {
		if len(h) > 0 && sum-h[0].w >= need && x.d >= h[0].d {
			continue // the kept candidates already hold need points, nearer
		}
		w := t.node(x.node).subWeight(x.g)
		h = append(h, weighted{d: x.d, w: w})
		for j := len(h) - 1; j > 0; {
			p := (j - 1) / 2
			if h[p].d >= h[j].d {
				break
			}
			h[p], h[j] = h[j], h[p]
			j = p
		}
		sum += w
		for len(h) > 1 && sum-h[0].w >= need {
			sum -= h[0].w
			last := len(h) - 1
			h[0] = h[last]
			h = h[:last]
			for j := 0; ; {
				l := 2*j + 1
				if l >= len(h) {
					break
				}
				m := l
				if l+1 < len(h) && h[l+1].d > h[l].d {
					m = l + 1
				}
				if h[j].d >= h[m].d {
					break
				}
				h[j], h[m] = h[m], h[j]
				j = m
			}
		}
	}
	if sum < need {
		return math.Inf(1)
	}
	return h[0].d
}

// weighted is a candidate distance and the number of points it stands for.
type weighted struct {
	d float64
	w int64
}

// scanDescendants offers to the heap every point in the distinctive
// descendants of the candidates r (their children from each one's group
// cursor on, and all below) that may be among the k nearest, by a
// depth-first scan from the nearest candidate, pruned with the current
// upper bound ub. The candidates themselves were offered already.
func (t *Tree[T]) scanDescendants(s *scratch, q []T, r []cand, ub float64) {
	stack := append(s.stack[:0], r...)
	sortCandsDesc(stack)
	s.stack = t.descend(s, q, stack, ub, 1)
}

// measure computes the distances from q to the nodes kids, children of a
// node at distance pd from q, leaving out those whose subtrees lie beyond
// ub by the triangle inequality. The measured nodes and their distances
// are in s.nodes and s.dists; it returns how many there are.
func (t *Tree[T]) measure(s *scratch, q []T, pd float64, kids []int32, ub float64) int {
	nodes := s.nodes[:0]
	for _, u := range kids {
		if !prunable(pd, t.node(u).reach, ub) {
			nodes = append(nodes, u)
		}
	}
	s.nodes = nodes
	if cap(s.dists) < len(nodes) {
		s.dists = make([]float64, len(nodes), 2*len(nodes))
	}
	s.dists = s.dists[:len(nodes)]
	t.distances(q, nodes, s.dists)
	s.evals += int64(len(nodes))
	return len(nodes)
}

// offerNode offers node v's caller indices at distance d to the heap. It
// reports whether any was kept.
func (t *Tree[T]) offerNode(s *scratch, v int32, d float64) bool {
	h := &s.heap

	if h.full() && d > h.worst() {
		return false
	}
	kept := false
	for _, id := range t.node(v).idList() {
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

// radius leaves in s.rd and s.rid every point within distance r of q,
// skipping the caller index s.exclude, in tree order.
func (t *Tree[T]) radius(s *scratch, q []T, r float64) {
	s.rd, s.rid = s.rd[:0], s.rid[:0]
	if t.root < 0 {
		return // an empty tree has no point within any radius
	}
	d0 := t.dist(q, t.point(t.root))
	s.evals++
	t.emitNode(s, t.root, d0, r)
	stack := append(s.stack[:0], cand{node: t.root, d: d0})
	defer func() { s.stack = stack[:0] }()
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := t.node(x.node)
		if prunable(x.d, n.rad, r) {
			continue
		}
		m := t.measure(s, q, x.d, n.children(), r)
		for i, u := range s.nodes[:m] {
			du := s.dists[i]
			t.emitNode(s, u, du, r)
			if len(t.node(u).children()) > 0 {
				stack = append(stack, cand{node: u, d: du})
			}
		}
	}
}

func (t *Tree[T]) emitNode(s *scratch, v int32, d, r float64) {
	if d > r {
		return
	}
	for _, id := range t.node(v).idList() {
		if id != s.exclude {
			s.rd = append(s.rd, d)
			s.rid = append(s.rid, id)
		}
	}
}

// nearestOnTop moves the m nearest candidates of c to its end, nearest
// last, the others before them in no particular order: a partial
// selection sort, for a stack that opens its top first. A list of at most
// 2m candidates is sorted whole (sortCandsDesc).
func nearestOnTop(c []cand, m int) {
	if len(c) <= 2*m {
		sortCandsDesc(c)
		return
	}
	for t := len(c) - 1; t >= len(c)-m; t-- {
		best := t
		for i := t - 1; i >= 0; i-- {
			if c[i].d < c[best].d {
				best = i
			}
		}
		c[best], c[t] = c[t], c[best]
	}
}

// sortCandsDesc sorts a candidate list by distance, farthest first, in
// place: a quicksort down to short runs, which insertion finishes. (A
// closure comparator costs more than the comparisons themselves here.)
func sortCandsDesc(c []cand) {
	for len(c) > 24 {
		// Median of three as the pivot, moved to the front.
		m := len(c) / 2
		if c[m].d > c[0].d {
			c[m], c[0] = c[0], c[m]
		}
		if c[len(c)-1].d > c[0].d {
			c[len(c)-1], c[0] = c[0], c[len(c)-1]
		}
		if c[m].d > c[len(c)-1].d {
			c[m], c[len(c)-1] = c[len(c)-1], c[m]
		}
		c[0], c[len(c)-1] = c[len(c)-1], c[0]
		p := c[0].d
		i, j := 1, len(c)-1
		for {
			for i <= j && c[i].d > p {
				i++
			}
			for i <= j && c[j].d < p {
				j--
			}
			if i >= j {
				break
			}
			c[i], c[j] = c[j], c[i]
			i++
			j--
		}
		c[0], c[j] = c[j], c[0]
		// Recurse into the smaller side, loop on the larger.
		if j < len(c)-1-j {
			sortCandsDesc(c[:j])
			c = c[j+1:]
		} else {
			sortCandsDesc(c[j+1:])
			c = c[:j]
		}
	}
	for i := 1; i < len(c); i++ {
		x := c[i]
		j := i
		for ; j > 0 && c[j-1].d < x.d; j-- {
			c[j] = c[j-1]
		}
		c[j] = x
	}
}

// inside reports whether every point of a set whose distances from the
// query are bounded above by d + rad lies within r, with rounding slack on
// the safe side: a set it accepts holds no point that the radius search
// would leave out.
func inside(d, rad, r float64) bool {
	return d+rad+slack*(d+rad+r) <= r
}

// countWithin returns the number of points within distance r of q (d <= r),
// skipping the caller index s.exclude: the number radius would list, without
// listing them. A subtree lying wholly within r adds its weight at once,
// unmeasured; one lying wholly beyond r adds nothing; only subtrees that the
// sphere of radius r cuts are opened.
func (t *Tree[T]) countWithin(s *scratch, q []T, r float64) int64 {
	if t.root < 0 {
		return 0
	}
	d0 := t.dist(q, t.point(t.root))
	s.evals++
	var c int64
	stack := append(s.stack[:0], cand{node: t.root, d: d0})
	defer func() { s.stack = stack[:0] }()
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := t.node(x.node)
		if inside(x.d, n.rad, r) {
			c += n.weight
			continue
		}
		if x.d <= r {
			c += int64(n.nid)
		}
		if len(n.children()) == 0 || prunable(x.d, n.rad, r) {
			continue
		}
		// Children whose subtrees lie wholly within r count unmeasured;
		// measure drops those wholly beyond r and measures the rest.
		rest := s.cut[:0]
		for _, u := range n.children() {
			if un := t.node(u); inside(x.d, un.reach, r) {
				c += un.weight
			} else {
				rest = append(rest, u)
			}
		}
		s.cut = rest
		m := t.measure(s, q, x.d, rest, r)
		for i, u := range s.nodes[:m] {
			stack = append(stack, cand{node: u, d: s.dists[i]})
		}
	}
	if s.exclude >= 0 {
		// The query is the tree's own point, at distance 0 from itself:
		// it was counted, and is not its own neighbour.
		c--
	}
	return c
}
