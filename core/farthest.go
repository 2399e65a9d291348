package core

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
// returns them with the distance evaluations spent. The tree must be laid
// out with parents in lower slots than their children and no free slots.
//
// A node's reach over a child c is a farthest-point search from the node
// in c's subtree, children before parents so that every subtree's rad is
// known: a subtree u whose bound d(a,u) + rad(u) cannot beat the farthest
// distance found so far is not entered, best bound first. In two or three
// dimensions most of a high node's subtree lies well inside its ball, so
// this measures about as many points as lie near the ball's surface, where
// walking every point up to every ancestor measures them all. Nodes of one
// height (the longest path down to a leaf) are independent and run in
// parallel.
func (t *Tree[T]) radiiBound(jobs int) (rad, reach []float64, evals int64) {
	slots := int(t.s.slots)
	rad = make([]float64, slots)
	reach = make([]float64, slots)
	// Heights, children after parents in slot order: bottom up.
	height := make([]int32, slots)
	top := int32(0)
	for u := slots - 1; u >= 0; u-- {
		h := int32(0)
		for _, c := range t.node(int32(u)).kids {
			h = max(h, height[c]+1)
		}
		height[u] = h
		top = max(top, h)
	}
	// Internal nodes by height (leaves have nothing to measure).
	first, byHeight := groupBy(int(top)+1, func(emit func(owner, val int32)) {
		for u, h := range height {
			if h > 0 {
				emit(h, int32(u))
			}
		}
	})
	counts := make([]paddedCount, max(workers(jobs), 1))
	heaps := make([][]subtreeBound, len(counts))
	for h := int32(1); h <= top; h++ {
		level := byHeight[first[h]:first[h+1]]
		run := func(w, lo, hi int) {
			for _, a := range level[lo:hi] {
				heaps[w] = t.farthestBelow(a, rad, reach, heaps[w], &counts[w].n)
			}
		}
		if len(level) < 256 {
			run(0, 0, len(level))
		} else {
			forRange(len(level), jobs, run)
		}
	}
	for i := range counts {
		evals += counts[i].n
	}
	return rad, reach, evals
}

// subtreeBound is a subtree waiting in farthestBelow's search: an upper bound on
// the distances below node u.
type subtreeBound struct {
	ub float64
	u  int32
}

// farthestBelow sets reach of each child of a and rad of a, given rad of
// every node below a. heap is a reusable buffer, returned; *evals counts
// the distances measured.
func (t *Tree[T]) farthestBelow(a int32, rad, reach []float64, heap []subtreeBound, evals *int64) []subtreeBound {
	pa := t.point(a)
	ra := 0.0
	for _, c := range t.node(a).kids {
		cn := t.node(c)
		best := cn.pdist
		heap = heap[:0]
		if len(cn.kids) > 0 {
			heap = append(heap, subtreeBound{ub: best + rad[c], u: c})
		}
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
			for _, v := range t.node(top.u).kids {
				d := t.dist(t.point(v), pa)
				*evals++
				best = max(best, d)
				if r := rad[v]; r > 0 && (d+r)*(1+farthestSlack) >= best {
					heap = append(heap, subtreeBound{ub: d + r, u: v})
					siftUp(heap, len(heap)-1)
				}
			}
		}
		reach[c] = best
		ra = max(ra, best)
	}
	rad[a] = ra
	return heap
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
