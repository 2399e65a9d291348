package core

import (
	"math"
	"slices"
)

// cand is a search candidate: a node, the index of its first group of
// children below the current level, and its distance to the query.
type cand struct {
	node int32
	g    int32
	d    float64
}

// visit is a pending subtree in a depth-first scan: a node and its parent's
// distance to the query, which bounds the subtree before it is opened.
type visit struct {
	node int32
	pd   float64
}

// scratch holds one worker's reusable buffers. It is not safe for
// concurrent use.
type scratch struct {
	r, c, m []cand
	stack   []visit
	heap    topK
	evals   int64
	exclude int32 // caller index to leave out of answers, or -1

	// Radius results of the current query.
	rd  []float64
	rid []int32
}

// knn leaves the k nearest neighbours of q in s.heap, skipping the caller
// index s.exclude. It follows the corrected algorithm of Elkin and Kurlin:
// C_i is the candidate set R plus its children of level i; the lambda-point
// is the nearest candidate such that the distinctive descendants of the
// candidates no farther than it hold k points, which bounds the k-th
// neighbour distance; candidates whose distinctive descendants all lie
// beyond that bound are pruned; when d(q, lambda) > 2^(i+2) the search stops
// descending and scans the distinctive descendants of what remains.
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
	d0 := t.dist(q, t.point(0))
	s.evals++
	t.offerNode(s, 0, d0)
	ub := math.Inf(1) // an upper bound on the k-th neighbour distance
	r := append(s.r[:0], cand{node: 0, g: t.grpOff[0], d: d0})
	defer func() { s.r = r[:0] }()

	for {
		// The next level: the highest level of a child not yet opened.
		next := levelNegInf
		for _, c := range r {
			if c.g < t.grpOff[c.node+1] {
				next = max(next, t.grpLevel[c.g])
			}
		}
		if next == levelNegInf {
			return // every candidate is a leaf at this depth: the heap holds the answer
		}
		// Open the children of level next.
		kids := s.c[:0]
		for j := range r {
			c := &r[j]
			if c.g >= t.grpOff[c.node+1] || t.grpLevel[c.g] != next {
				continue
			}
			g := c.g
			c.g++
			end := t.groupEnd(c.node, g)
			for u := t.grpFirst[g]; u < end; u = t.end[u] {
				if prunable(c.d, t.pdist[u]+t.rad[u], ub) {
					continue
				}
				du := t.dist(q, t.point(u))
				s.evals++
				if t.offerNode(s, u, du) && h.full() {
					ub = min(ub, h.worst())
				}
				kids = append(kids, cand{node: u, g: t.grpOff[u], d: du})
			}
		}
		s.c = kids
		sortCands(kids)
		all := mergeCands(s.m[:0], r, kids)
		s.m = all

		// The lambda-point.
		var acc int64
		lambda, bound := math.Inf(1), math.Inf(1)
		reach := 0.0
		for _, c := range all {
			acc += t.weight(c.node, c.g)
			reach = max(reach, c.d+t.groupRad(c.node, c.g))
			if acc >= need {
				lambda, bound = c.d, reach
				break
			}
		}
		ub = min(ub, bound)

		// Prune: keep candidates whose distinctive descendants may hold a
		// point within ub.
		r = r[:0]
		for _, c := range all {
			if !prunable(c.d, t.groupRad(c.node, c.g), ub) {
				r = append(r, c)
			}
		}
		if !math.IsInf(lambda, 1) && lambda > pow2(next+2) {
			t.scanDescendants(s, q, r, ub)
			return
		}
	}
}

// scanDescendants offers to the heap every point in the distinctive
// descendants of the candidates r (below each candidate's group cursor)
// that may be among the k nearest, by a depth-first scan pruned with the
// current upper bound ub. The candidates themselves were offered already.
func (t *Tree[T]) scanDescendants(s *scratch, q []T, r []cand, ub float64) {
	h := &s.heap
	stack := s.stack[:0]
	defer func() { s.stack = stack[:0] }()
	for _, c := range r {
		for g := c.g; g < t.grpOff[c.node+1]; g++ {
			end := t.groupEnd(c.node, g)
			for u := t.grpFirst[g]; u < end; u = t.end[u] {
				stack = append(stack, visit{node: u, pd: c.d})
			}
		}
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			u := v.node
			if prunable(v.pd, t.pdist[u]+t.rad[u], ub) {
				continue
			}
			du := t.dist(q, t.point(u))
			s.evals++
			if t.offerNode(s, u, du) && h.full() {
				ub = min(ub, h.worst())
			}
			if u+1 == t.end[u] || prunable(du, t.rad[u], ub) {
				continue
			}
			for c := u + 1; c < t.end[u]; c = t.end[c] {
				stack = append(stack, visit{node: c, pd: du})
			}
		}
	}
}

// offerNode offers node v's caller indices at distance d to the heap. It
// reports whether any was kept.
func (t *Tree[T]) offerNode(s *scratch, v int32, d float64) bool {
	h := &s.heap
	if h.full() && d > h.worst() {
		return false
	}
	kept := false
	for _, id := range t.ids[t.idOff[v]:t.idOff[v+1]] {
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
	d0 := t.dist(q, t.point(0))
	s.evals++
	t.emitNode(s, 0, d0, r)
	if prunable(d0, t.rad[0], r) {
		return
	}
	stack := s.stack[:0]
	defer func() { s.stack = stack[:0] }()
	for c := int32(1); c < t.end[0]; c = t.end[c] {
		stack = append(stack, visit{node: c, pd: d0})
	}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		u := v.node
		if prunable(v.pd, t.pdist[u]+t.rad[u], r) {
			continue
		}
		du := t.dist(q, t.point(u))
		s.evals++
		t.emitNode(s, u, du, r)
		if u+1 == t.end[u] || prunable(du, t.rad[u], r) {
			continue
		}
		for c := u + 1; c < t.end[u]; c = t.end[c] {
			stack = append(stack, visit{node: c, pd: du})
		}
	}
}

func (t *Tree[T]) emitNode(s *scratch, v int32, d, r float64) {
	if d > r {
		return
	}
	for _, id := range t.ids[t.idOff[v]:t.idOff[v+1]] {
		if id != s.exclude {
			s.rd = append(s.rd, d)
			s.rid = append(s.rid, id)
		}
	}
}

// sortCands sorts a short candidate list by distance, in place.
func sortCands(c []cand) {
	if len(c) <= 16 {
		for i := 1; i < len(c); i++ {
			x := c[i]
			j := i
			for ; j > 0 && c[j-1].d > x.d; j-- {
				c[j] = c[j-1]
			}
			c[j] = x
		}
		return
	}
	slices.SortFunc(c, func(a, b cand) int {
		switch {
		case a.d < b.d:
			return -1
		case a.d > b.d:
			return 1
		}
		return 0
	})
}

// mergeCands appends to dst the merge of two lists sorted by distance.
func mergeCands(dst, a, b []cand) []cand {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if b[j].d < a[i].d {
			dst = append(dst, b[j])
			j++
		} else {
			dst = append(dst, a[i])
			i++
		}
	}
	dst = append(dst, a[i:]...)
	return append(dst, b[j:]...)
}
