package cluster

import "math"

// subtreeShare sets the share of the nodes (1/subtreeShare) that must search in a
// round before the round searches by subtrees (searchBySubtree): below
// it, searching from each node costs less than the subtrees' tests (8
// against 2 and against never: the clustered 200,000 x 3 set's rounds
// 0.15 s of CPU time against 0.38 and 0.81, letter's 0.47 against 0.52
// and 0.54).
const subtreeShare = 8

// searchBySubtree runs the searches of the nodes in queries (those whose
// lists cannot vouch for their lightest edge) from the query side of the
// tree down, as a dual-tree Boruvka does (March, Ram and Gray, KDD 2010):
// a subtree whose points all lie in one component c is first tested as a
// whole against the other components, and if no node of theirs can be
// joined to any point of the subtree by an edge as light as c's lightest
// edge so far, none of its nodes searches. In the late rounds, when a few
// large components remain, the points inside a component are far from
// every other one and most searches are saved. With anyEdge (DBSCAN's
// components within a limit) the bound is the limit, and a subtree is
// passed over once its component has an edge: a component with no edge
// within the limit is then proved final by a few subtree tests, not by a
// search from each of its nodes.
func (b *boruvka[T]) searchBySubtree(queries []int32, scr []searchScratch) error {
	f := b.f
	n := f.n
	need := make([]bool, n)
	for _, q := range queries {
		need[q] = true
	}
	// hasNeed: the subtree holds a node that searches.
	hasNeed := make([]bool, n)
	for k := n - 1; k >= 0; k-- {
		h := need[k]
		for c := f.kidLo[k]; c < f.kidHi[k] && !h; c++ {
			h = hasNeed[c]
		}
		hasNeed[k] = h
	}
	// Tasks: the largest subtrees of one component that hold searching
	// nodes, and the searching nodes of mixed subtrees above them.
	var tasks []int32
	stack := []int32{0}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !hasNeed[x] {
			continue
		}
		if b.skip[x] >= 0 {
			tasks = append(tasks, x)
			continue
		}
		if need[x] {
			tasks = append(tasks, -1-x) // x alone
		}
		for c := f.kidLo[x]; c < f.kidHi[x]; c++ {
			stack = append(stack, c)
		}
	}
	return forBlocks(len(tasks), 1, b.o, func(w, lo, hi int) {
		s := &scr[w]
		for _, t := range tasks[lo:hi] {
			if t < 0 {
				b.searchIfNeeded(-1-t, s)
				continue
			}
			c := b.skip[t] // the subtree's component (t may be inactive)
			sub := append(s.sub[:0], t)
			for len(sub) > 0 {
				y := sub[len(sub)-1]
				sub = sub[:len(sub)-1]
				if !hasNeed[y] || b.anyEdge && b.found[c].Load() {
					continue
				}
				if f.hasKids(y) && b.subtreeClear(y, s) {
					b.cleared.Add(1)
					continue
				}
				if need[y] {
					b.searchIfNeeded(y, s)
				}
				for c := f.kidLo[y]; c < f.kidHi[y]; c++ {
					sub = append(sub, c)
				}
			}
			s.sub = sub
		}
	})
}

// searchIfNeeded searches from node q unless its lower bound already
// exceeds its component's lightest edge so far.
func (b *boruvka[T]) searchIfNeeded(q int32, s *searchScratch) {
	if b.low[q] <= b.boundOf(b.comp[q]) {
		b.search(q, s)
	}
}

// boundOf returns the weight of component c's lightest edge found so far
// this round (or the limit).
func (b *boruvka[T]) boundOf(c int32) float64 {
	return math.Float64frombits(b.bound[c].Load())
}

// subtreeClear reports whether no active point of node x's subtree, all
// of which lie in one component c, has an edge to an active node of another component
// that is as light as c's lightest edge so far. It searches from x's
// point, widening every distance by x's radius, up the path to the root
// (x's own subtree is all c), nearest subtrees first, and stops at the
// first node that could be joined.
func (b *boruvka[T]) subtreeClear(x int32, s *searchScratch) bool {
	f := b.f
	dist := f.t.Dist
	c := b.skip[x] // x's own component only if x is active
	px := f.point(x)
	radX := f.rad[x]
	u := b.boundOf(c)
	lowCore := b.minCoreOf(x)
	// low bounds the weight of the edges between x's subtree and the
	// subtree of a node at distance d from x's point within rad of it.
	low := func(d, rad, minCore float64) float64 {
		lo := d - radX - rad - slack*(d+radX+rad)
		if !(lo > 0) {
			lo = 0
		}
		if b.coreDist == nil {
			return lo
		}
		return maxOf3(lowCore, minCore, f.t.MetricDistance(lo)/b.alpha)
	}
	// Edges longer than span weigh more than u (under mutual
	// reachability, see boruvka.span); if x's least core distance exceeds
	// u, every edge does.
	span := u
	if b.coreDist != nil {
		if lowCore > u {
			return true
		}
		span = b.span(u)
	}
	stack := s.stack[:0]
	defer func() { s.stack = stack[:0] }()
	// open tests node y's children other than skipKid, y at distance d;
	// it reports true once a node could be joined.
	open := func(y int32, d float64, skipKid int32) bool {
		base := len(stack)
		// A child whose reach is below far, or whose subtree's least core
		// distance exceeds u, lies beyond u (low(d, reach, minCore) > u
		// with the terms rearranged).
		far := (d*(1-slack) - radX*(1+slack) - span) / (1 + slack)
		for k := f.kidLo[y]; k < f.kidHi[y]; k++ {
			if k == skipKid {
				continue
			}
			if sk := b.skip[k]; sk == c || sk == none {
				continue
			}
			if f.reach[k] < far || b.minCoreOf(k) > u {
				continue
			}
			dk := dist(px, f.point(k))
			if b.isActive(k) && b.comp[k] != c && low(dk, 0, b.coreOf(k)) <= u {
				return true
			}
			if f.hasKids(k) && low(dk, f.rad[k], b.minCoreOf(k)) <= u {
				stack = append(stack, cand{k, dk})
			}
		}
		sortDesc(stack[base:])
		return false
	}
	for prev, a := x, f.par[x]; a >= 0; prev, a = a, f.par[a] {
		if sk := b.skip[a]; sk == c || sk == none {
			continue
		}
		da := dist(px, f.point(a))
		if b.isActive(a) && b.comp[a] != c && low(da, 0, b.coreOf(a)) <= u {
			return false
		}
		if low(da, f.rad[a], b.minCoreOf(a)) > u {
			continue
		}
		stack = stack[:0]
		if open(a, da, prev) {
			return false
		}
		for len(stack) > 0 {
			y := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if open(y.k, y.d, -1) {
				return false
			}
		}
	}
	return true
}

// coreOf and minCoreOf return node k's core distance and the least in its
// subtree, or 0 for plain distances.
func (b *boruvka[T]) coreOf(k int32) float64 {
	if b.coreDist == nil {
		return 0
	}
	return b.coreDist[k]
}

func (b *boruvka[T]) minCoreOf(k int32) float64 {
	if b.minCore == nil {
		return 0
	}
	return b.minCore[k]
}
