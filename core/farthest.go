package core

import "math"

// Exact subtree radii of a freshly laid-out tree by branch and bound.

// farthestSlack is the relative margin by which a subtree's bound on its
// distances must fall short of the farthest distance found before the
// subtree is passed over: the bound d(a,u) + rad(u) is computed with
// rounding, in float32 for float32 trees, so an exact maximum must not
// trust its last few digits.
const farthestSlack = 1e-4

// radiiBound computes every node's rad (the largest distance from it to a
// node below it) and reach (the largest distance from its parent to it
// and the nodes below it) as exact maxima of measured distances, and
// returns them with the internal nodes in generations (byLevel: those of
// one level each, lowest level first, so that every node's children come
// in earlier generations) and the distance evaluations spent. The tree
// must be laid out with parents in lower slots than their children and no
// free slots.
//
// A node's reach is a farthest-point search from its parent in its
// subtree, children before parents so that every subtree's rad is known:
// a subtree u whose bound d(a,u) + rad(u) cannot beat the farthest
// distance found so far is not entered, best bound first. In two or three
// dimensions most of a high node's subtree lies well inside its ball, so
// this measures about as many points as lie near the ball's surface, where
// walking every point up to every ancestor measures them all. The children
// of one generation's nodes are independent and run in parallel, child by
// child (the few high nodes hold most of the work, spread over their
// children), then the generation's radii, node by node. The generations
// are found by a parallel grouping of the internal nodes by level
// (generations), unless the assembly that laid the tree out passes them
// (radiiOf).
func (t *Tree[T]) radiiBound(tm *team) (rad, reach []float64, byLevel [][]int32, evals int64) {
	internal, ends := t.generations(tm)
	return t.radiiOf(tm, internal, ends)
}

// generations returns the internal nodes of t in generations, as
// radiiBound takes them: generation g, internal[ends[g]:ends[g+1]], holds
// the nodes of one level (the root, of levelInf, last), lowest level
// first, each in slot order.
func (t *Tree[T]) generations(tm *team) (internal []int32, ends []int) {
	slots := int(t.s.slots)
	// The levels of the internal nodes (the root's may be levelInf, above
	// every other), run by run.
	parts := assembleParts(tm, slots)
	spans := make([][2]int32, parts)
	tm.forParts(parts, func(p int) {
		lo, hi := int32(math.MaxInt32), int32(math.MinInt32)
		for u := slots * p / parts; u < slots*(p+1)/parts; u++ {
			n := t.node(int32(u))
			if len(n.children()) > 0 && n.level != levelInf {
				lo, hi = min(lo, n.level), max(hi, n.level)
			}
		}
		spans[p] = [2]int32{lo, hi}
	})
	lowest, top := int32(math.MaxInt32), int32(math.MinInt32)
	for _, sp := range spans {
		lowest, top = min(lowest, sp[0]), max(top, sp[1])
	}
	if top < lowest {
		lowest, top = 0, 0
	}
	owners := int(int64(top)-int64(lowest)) + 2
	first, internal := groupOn(tm, owners, slots, func(u int) (int32, int32) {
		n := t.node(int32(u))
		switch {
		case len(n.children()) == 0:
			return -1, 0
		case n.level == levelInf:
			return int32(owners - 1), int32(u)
		}
		return n.level - lowest, int32(u)
	})
	ends = []int{0}
	for o := range owners {
		if first[o] < first[o+1] {
			ends = append(ends, int(first[o+1]))
		}
	}
	return internal, ends
}

// radiiOf is radiiBound with the internal nodes in generations already,
// as generations returns them, but in any order within a generation.
func (t *Tree[T]) radiiOf(tm *team, internal []int32, ends []int) (rad, reach []float64, byLevel [][]int32, evals int64) {
	slots := int(t.s.slots)
	makeTogether(tm, func() { rad = make([]float64, slots) }, func() { reach = make([]float64, slots) })
	// The children of the internal nodes, in the same order.
	kidOff := make([]int32, len(internal)+1)
	tm.forRange(len(internal), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			kidOff[i+1] = int32(len(t.node(internal[i]).children()))
		}
	})
	accumulate(tm, kidOff)
	kidsAll := make([]int32, kidOff[len(internal)])
	tm.forRange(len(internal), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			copy(kidsAll[kidOff[i]:kidOff[i+1]], t.node(internal[i]).children())
		}
	})
	counts := make([]paddedCount, tm.size())
	heaps := make([][]subtreeBound, len(counts))
	for g := range len(ends) - 1 {
		gen := internal[ends[g]:ends[g+1]]
		byLevel = append(byLevel, gen)
		kids := kidsAll[kidOff[ends[g]]:kidOff[ends[g+1]]]
		tm.forRange(len(kids), func(w, lo, hi int) {
			for _, c := range kids[lo:hi] {
				reach[c], heaps[w] = t.reachBelow(c, rad, heaps[w], &counts[w].n)
			}
		})
		tm.forRange(len(gen), func(_, lo, hi int) {
			for _, a := range gen[lo:hi] {
				ra := 0.0
				for _, c := range t.node(a).children() {
					ra = max(ra, reach[c])
				}
				rad[a] = ra
			}
		})
	}
	for i := range counts {
		evals += counts[i].n
	}
	return rad, reach, byLevel, evals
}

// subtreeBound is a subtree waiting in reachBelow's search: an upper bound on
// the distances below node u.
type subtreeBound struct {
	ub float64
	u  int32
}

// reachBelow returns the largest distance from c's parent a to c and the
// nodes below it, given rad of every node below c. heap is a reusable
// buffer, returned; *evals counts the distances measured.
func (t *Tree[T]) reachBelow(c int32, rad []float64, heap []subtreeBound, evals *int64) (float64, []subtreeBound) {
	cn := t.node(c)
	best := cn.pdist
	if len(cn.children()) == 0 {
		return best, heap
	}
	pa := t.point(cn.parent)
	heap = append(heap[:0], subtreeBound{ub: best + rad[c], u: c})
	for len(heap) > 0 {
		// Pop the subtree with the largest bound.
		top := heap[0]
		last := len(heap) - 1
		heap[0] = heap[last]
		heap = heap[:last]
		siftDown(heap, 0)
		if top.ub*(1+farthestSlack) < best {
			break // no subtree left can hold a farther point
		}
		for _, v := range t.node(top.u).children() {
			d := t.dist(t.point(v), pa)
			*evals++
			best = max(best, d)
			if r := rad[v]; r > 0 && (d+r)*(1+farthestSlack) >= best {
				heap = append(heap, subtreeBound{ub: d + r, u: v})
				siftUp(heap, len(heap)-1)
			}
		}
	}
	return best, heap
}

// siftUp restores the max-heap order of h (by ub) after h[i] was added.
func siftUp(h []subtreeBound, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p].ub >= h[i].ub {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

// siftDown restores the max-heap order of h (by ub) after h[i] was
// replaced.
func siftDown(h []subtreeBound, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		if r := l + 1; r < len(h) && h[r].ub > h[l].ub {
			l = r
		}
		if h[i].ub >= h[l].ub {
			return
		}
		h[i], h[l] = h[l], h[i]
		i = l
	}
}
