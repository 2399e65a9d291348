package cluster

import (
	"math"

	"github.com/pcct-dev/pcct/core"
)

// scikit-learn's HDBSCAN takes the minimum spanning tree of the mutual
// reachability distance that Prim's algorithm finds over all pairs of
// points, from point 0: at each step the unreached point with the lowest
// key (ties to the lower point), reached from the first point that gave it
// that key. Mutual reachability distances tie often, so that choice among
// the minimum spanning trees, and the direction of each edge, shape its
// hierarchy. This file reproduces it without the O(n^2) pairs: every edge
// Prim's algorithm can take is an edge of some minimum spanning tree, and
// those are few: the pairs within the larger core distance of the two
// (their mutual reachability distance is that core distance, never more
// than the bottleneck between them), and the edges longer than both core
// distances, which for data in general position are the edges of the
// spanning tree already found. Prim's algorithm over those candidate
// edges makes the same choices as over all pairs.

// refDist returns the distance between two points as scikit-learn's
// DistanceMetric computes it where the arithmetic is known (Euclidean,
// Manhattan, Chebyshev: a sequential sum in float64), so that ties between
// distances are the same ties; otherwise the tree's own distance.
func refDist[T core.Float](t *core.Tree[T], a, b []T) float64 {
	switch t.Metric().Kind {
	case core.Euclidean:
		var s float64
		for i := range a {
			d := float64(a[i]) - float64(b[i])
			s += d * d
		}
		return math.Sqrt(s)
	case core.Manhattan:
		var s float64
		for i := range a {
			s += math.Abs(float64(a[i]) - float64(b[i]))
		}
		return s
	case core.Chebyshev:
		var m float64
		for i := range a {
			m = max(m, math.Abs(float64(a[i])-float64(b[i])))
		}
		return m
	}
	return t.MetricDistance(t.Dist(a, b))
}

// reachability holds what Prim's algorithm needs: each node's core
// distance and the candidate edges of each node (other nodes).
type reachability[T core.Float] struct {
	f     *flatTree[T]
	core  []float64
	alpha float64
	adjOf [][]int32
}

// weight returns the mutual reachability distance between nodes a and b
// as scikit-learn computes it.
func (r *reachability[T]) weight(a, b int32) float64 {
	d := refDist(r.f.t, r.f.point(a), r.f.point(b)) / r.alpha
	return max(r.core[a], r.core[b], d)
}

// candidates lists, for each node, the nodes within alpha times its core
// distance (their mutual reachability distance is a core distance), and
// the ends of the spanning tree's edges.
func (r *reachability[T]) candidates(tree []nodeEdge, o Options) error {
	f := r.f
	per := make([][][2]int32, o.jobs())
	stacks := make([][]cand, o.jobs())
	dist := f.t.Dist
	err := forBlocks(f.n, 64, o, func(w, lo, hi int) {
		stack := stacks[w]
		for qi := lo; qi < hi; qi++ {
			q := int32(qi)
			reach := r.alpha * r.core[q]
			rad := f.t.SearchDistance(reach)*(1+1e-9) + 1e-300
			pq := f.point(q)
			stack = append(stack[:0], cand{0, dist(pq, f.point(0))})
			for len(stack) > 0 {
				x := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if x.k != q && x.d <= rad && r.weight(q, x.k) == max(r.core[q], r.core[x.k]) {
					per[w] = append(per[w], [2]int32{q, x.k})
				}
				if beyond(x.d, f.rad[x.k], rad) {
					continue
				}
				for c := f.kidLo[x.k]; c < f.kidHi[x.k]; c++ {
					if !beyond(x.d, f.reach[c], rad) {
						stack = append(stack, cand{c, dist(pq, f.point(c))})
					}
				}
			}
		}
		stacks[w] = stack
	})
	if err != nil {
		return err
	}
	r.adjOf = make([][]int32, f.n)
	add := func(a, b int32) {
		r.adjOf[a] = append(r.adjOf[a], b)
		r.adjOf[b] = append(r.adjOf[b], a)
	}
	for _, pairs := range per {
		for _, p := range pairs {
			add(p[0], p[1])
		}
	}
	for _, e := range tree {
		add(e.a, e.b)
	}
	return nil
}

// prim runs Prim's algorithm over the candidate edges, at the level of
// points (positions among the live caller indices), from position 0, with
// scikit-learn's rules, and returns the edges in the order it takes them:
// I is the point it came from, J the point it reached.
func (r *reachability[T]) prim() []Edge {
	f := r.f
	n := len(f.live)
	nodeOf := make([]int32, n)
	for k := range int32(f.n) {
		for _, id := range f.idsOf(k) {
			nodeOf[f.pos[id]] = k
		}
	}
	key := make([]float64, n)
	src := make([]int32, n)
	for i := range key {
		key[i] = math.Inf(1)
	}
	reached := make([]bool, n)
	opened := make([]bool, f.n)
	h := &keyHeap{}
	relax := func(p int32, w float64, from int32) {
		if !reached[p] && w < key[p] {
			key[p], src[p] = w, from
			h.push(keyed{w, p})
		}
	}
	// visit makes p reached and offers its edges. Identical points share
	// their node's edges and distances, so only the first of them to be
	// reached offers anything: what the others offer is never less.
	visit := func(p int32) {
		reached[p] = true
		k := nodeOf[p]
		if opened[k] {
			return
		}
		opened[k] = true
		for _, id := range f.idsOf(k) {
			relax(f.pos[id], r.core[k], p)
		}
		for _, m := range r.adjOf[k] {
			w := r.weight(k, m)
			for _, id := range f.idsOf(m) {
				relax(f.pos[id], w, p)
			}
		}
	}
	out := make([]Edge, 0, n-1)
	visit(0)
	for len(out) < n-1 {
		x := h.pop()
		if reached[x.p] || x.w != key[x.p] {
			continue
		}
		out = append(out, Edge{int(src[x.p]), int(x.p), x.w})
		visit(x.p)
	}
	return out
}

// keyed is a point and its key in Prim's algorithm.
type keyed struct {
	w float64
	p int32
}

// keyHeap is a binary min-heap by (key, point).
type keyHeap struct{ v []keyed }

func (h *keyHeap) less(a, b keyed) bool { return a.w < b.w || (a.w == b.w && a.p < b.p) }

func (h *keyHeap) push(x keyed) {
	h.v = append(h.v, x)
	for j := len(h.v) - 1; j > 0; {
		p := (j - 1) / 2
		if !h.less(h.v[j], h.v[p]) {
			break
		}
		h.v[p], h.v[j] = h.v[j], h.v[p]
		j = p
	}
}

func (h *keyHeap) pop() keyed {
	top := h.v[0]
	last := len(h.v) - 1
	h.v[0] = h.v[last]
	h.v = h.v[:last]
	for j := 0; ; {
		l := 2*j + 1
		if l >= len(h.v) {
			break
		}
		m := l
		if l+1 < len(h.v) && h.less(h.v[l+1], h.v[l]) {
			m = l + 1
		}
		if !h.less(h.v[m], h.v[j]) {
			break
		}
		h.v[j], h.v[m] = h.v[m], h.v[j]
		j = m
	}
	return top
}
