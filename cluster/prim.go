package cluster

import (
	"cmp"
	"math"
	"slices"

	"github.com/pcct-dev/pcct/core"
)

// scikit-learn's HDBSCAN takes the minimum spanning tree of the mutual
// reachability distance that Prim's algorithm finds over all pairs of
// points, from point 0: at each step the unreached point with the lowest
// key (ties to the lower point), reached from the first point that gave it
// that key. Mutual reachability distances tie often, so that choice among
// the minimum spanning trees, and the direction of each edge, shape its
// hierarchy. This file reproduces it without the O(n^2) pairs: every edge
// Prim's algorithm can take is an edge of some minimum spanning tree (the
// lightest edge out of the points it has reached), and those are few (see
// candidates). Prim's algorithm over any set of edges that holds them all
// makes the same choices as over all pairs: the edge it takes at each step
// and every edge of equal weight it could have taken are among them.

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

// candidates lists, for each node, the other nodes it may be joined to in
// some minimum spanning tree, and the spanning tree's own edges.
//
// An edge (u, v) is in some minimum spanning tree exactly when no path
// joins u and v through lighter edges: when its weight equals the
// bottleneck between u and v (the largest weight on the spanning tree's
// path between them). Two kinds of pairs qualify:
//
//   - every pair within the larger of its two core distances (every edge
//     at a point weighs at least its core distance, so the bottleneck is
//     at least the pair's weight): each node's search within alpha times
//     its core distance finds them (and, by the margin below, the pairs a
//     rounding error longer);
//   - pairs longer than both core distances whose weight ties the
//     bottleneck between them, which integer data is full of. Such a pair
//     (q, x) of weight w joins two components of the spanning tree's edges
//     lighter than w that the edges of weight w join. So, for each weight
//     w of the spanning tree (weights within a relative margin taken as
//     one), the components below w that the edges of weight w join into
//     one are listed, and the nodes of all of them but the largest (with a
//     core distance below w) search within alpha times w for nodes of the
//     other components. A node searches this way at most log2(n) times
//     (its component at most half the joined one's size each time), and a
//     node joined by its own core distance not at all.
//
// Weights are compared with a relative margin, since the spanning tree's
// weights come from the tree's distances, not scikit-learn's arithmetic: a
// pair too many is harmless (Prim's algorithm over any superset of the
// possible edges makes the same choices as over all pairs).
func (r *reachability[T]) candidates(tree []nodeEdge, minCore []float64, near []int32, reach []float64, o Options) error {
	f := r.f
	const margin = 1e-9
	grow := func(w float64) float64 { return w*(1+margin) + 1e-300 }
	per := make([][][2]int32, o.jobs())
	stacks := make([][]cand, o.jobs())
	hits := make([][]cand, o.jobs())
	keep := 0
	if f.n > 0 {
		keep = len(near) / f.n
	}
	lower := 1 - reportMargin[T]()
	// Pairs within a core distance. Where the nearest nodes the core
	// distances came from reach beyond the core distance, they hold every
	// such pair; other nodes search.
	err := forBlocks(f.n, 64, o, func(w, lo, hi int) {
		for qi := lo; qi < hi; qi++ {
			q := int32(qi)
			rad := grow(f.t.SearchDistance(r.alpha * r.core[q]))
			h := hits[w][:0]
			if keep > 0 && reach[q]*lower > rad {
				pq := f.point(q)
				for _, x := range near[qi*keep : (qi+1)*keep] {
					if x >= 0 {
						h = append(h, cand{x, f.t.Dist(pq, f.point(x))})
					}
				}
			} else {
				stacks[w], h = f.ball(q, rad, stacks[w], h, nil)
			}
			for _, x := range h {
				if x.k != q && x.d <= rad && r.weight(q, x.k) <= grow(max(r.core[q], r.core[x.k])) {
					per[w] = append(per[w], [2]int32{q, x.k})
				}
			}
			hits[w] = h
		}
	})
	if err != nil {
		return err
	}
	// Pairs that tie the bottleneck.
	bn := newBottleneck(f.n, tree)
	lo, hi := make([]int32, f.n), make([]int32, f.n)
	for k := f.n - 1; k >= 0; k-- {
		lo[k], hi[k] = bn.pre[k], bn.pre[k]
		for c := f.kidLo[k]; c < f.kidHi[k]; c++ {
			lo[k], hi[k] = min(lo[k], lo[c]), max(hi[k], hi[c])
		}
	}
	tasks := bn.joins(tree, margin)
	type item struct{ q, task int32 }
	var items []item
	for i, t := range tasks {
		for p := t.part[0]; p <= t.part[1]; p++ {
			if q := bn.nodeAt[p]; r.core[q] < t.w {
				items = append(items, item{q, int32(i)})
			}
		}
	}
	err = forBlocks(len(items), 16, o, func(w, ilo, ihi int) {
		for _, it := range items[ilo:ihi] {
			q, t := it.q, tasks[it.task]
			limit := grow(t.w)
			rad := grow(f.t.SearchDistance(r.alpha * t.w))
			// A subtree is skipped when its nodes all lie in q's own
			// component, or none in the joined one, or its core distances
			// all exceed the weight.
			skip := ballSkip{lo: lo, hi: hi, part: t.part, group: t.group, minCore: minCore, limit: limit}
			stacks[w], hits[w] = f.ball(q, rad, stacks[w], hits[w], &skip)
			for _, x := range hits[w] {
				p := bn.pre[x.k]
				if p >= t.group[0] && p <= t.group[1] && (p < t.part[0] || p > t.part[1]) &&
					r.weight(q, x.k) <= limit {
					per[w] = append(per[w], [2]int32{q, x.k})
				}
			}
		}
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
	// A pair can be found from both ends, and by both searches.
	for k, adj := range r.adjOf {
		slices.Sort(adj)
		r.adjOf[k] = slices.Compact(adj)
	}
	return nil
}

// ballSkip names the subtrees a ball search skips: those whose nodes'
// preorder numbers (of a bottleneck structure, lo..hi per subtree) all
// lie in one interval (part), or none in another (group), or whose least
// core distance exceeds limit.
type ballSkip struct {
	lo, hi      []int32
	part, group [2]int32
	minCore     []float64
	limit       float64
}

func (s *ballSkip) skips(c int32) bool {
	return s.lo[c] >= s.part[0] && s.hi[c] <= s.part[1] ||
		s.hi[c] < s.group[0] || s.lo[c] > s.group[1] || s.minCore[c] > s.limit
}

// ball appends to hits the nodes within rad (in the units of Tree.Dist)
// of node q's point that the tree's top down search meets, with their
// distances, skipping the subtrees of the children that skip (if not nil)
// names. stack is scratch space; both are returned for reuse.
func (f *flatTree[T]) ball(q int32, rad float64, stack, hits []cand, skip *ballSkip) ([]cand, []cand) {
	dist := f.t.Dist
	pq := f.point(q)
	hits = hits[:0]
	if skip != nil && skip.skips(0) {
		return stack[:0], hits
	}
	stack = append(stack[:0], cand{0, dist(pq, f.point(0))})
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if x.d <= rad {
			hits = append(hits, x)
		}
		if beyond(x.d, f.rad[x.k], rad) {
			continue
		}
		// A child whose reach is below far lies beyond rad.
		far := farReach(x.d, rad)
		for c := f.kidLo[x.k]; c < f.kidHi[x.k]; c++ {
			if f.reach[c] < far || skip != nil && skip.skips(c) {
				continue
			}
			stack = append(stack, cand{c, dist(pq, f.point(c))})
		}
	}
	return stack, hits
}

// join is a group of components that a spanning forest's edges of one
// weight join into one, seen from one of them: the preorder intervals
// (of a bottleneck structure) of the component and of the joined group,
// and the weight.
type join struct {
	part, group [2]int32
	w           float64
}

// joins lists, for each weight of the forest's edges (weights within a
// relative margin of the next taken as one, the largest of them), the
// components below that weight that its edges join, each with the group
// it joins, leaving out the largest component of each group.
func (b *bottleneck) joins(edges []nodeEdge, margin float64) []join {
	order := make([]int32, len(edges))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int { return cmp.Compare(edges[i].w, edges[j].w) })
	var out []join
	var chain []int32
	type part struct{ lo, hi, glo, ghi int32 }
	var parts []part
	for i := 0; i < len(order); {
		wLo := edges[order[i]].w
		j := i + 1
		for j < len(order) && edges[order[j]].w <= edges[order[j-1]].w*(1+margin)+1e-300 {
			j++
		}
		wHi := edges[order[j-1]].w
		above := math.Nextafter(wHi, math.Inf(1))
		parts = parts[:0]
		for _, e := range order[i:j] {
			for _, v := range [2]int32{edges[e].a, edges[e].b} {
				chain = b.chain(v, chain)
				plo, phi := b.component(chain, wLo)
				glo, ghi := b.component(chain, above)
				parts = append(parts, part{plo, phi, glo, ghi})
			}
		}
		// Group the parts, largest first in each group.
		slices.SortFunc(parts, func(x, y part) int {
			if c := cmp.Compare(x.glo, y.glo); c != 0 {
				return c
			}
			if c := cmp.Compare(y.hi-y.lo, x.hi-x.lo); c != 0 {
				return c
			}
			return cmp.Compare(x.lo, y.lo)
		})
		parts = slices.CompactFunc(parts, func(x, y part) bool { return x.lo == y.lo })
		for k, p := range parts {
			if k > 0 && parts[k-1].glo == p.glo {
				out = append(out, join{[2]int32{p.lo, p.hi}, [2]int32{p.glo, p.ghi}, wHi})
			}
		}
		i = j
	}
	return out
}

// bottleneck is a spanning forest's bottleneck structure: for two nodes,
// the largest weight on the forest's path between them (their minimax
// distance in its graph), and for a node and a weight, the nodes the
// forest's edges lighter than the weight join to it. It is a union-find
// by size over the forest's edges taken lightest first, in which each
// node remembers the weight at which it stopped being a root, without
// path compression: every path up has at most log2(n) links, their
// weights increasing. Its nodes are numbered in preorder (pre), each
// node's children in the order they were linked to it, so that the nodes
// joined to a node below a weight are one interval of that order.
type bottleneck struct {
	up     []int32
	at     []float64 // +Inf for a root
	pre    []int32   // preorder number
	nodeAt []int32   // the node of each preorder number
	last   []int32   // the largest preorder number in each node's subtree
	// kids[kidOff[v]:kidOff[v+1]] are v's children, in the order linked.
	kidOff []int32
	kids   []int32
	kidAt  []float64 // at of each entry of kids
}

func newBottleneck(n int, edges []nodeEdge) *bottleneck {
	b := &bottleneck{up: make([]int32, n), at: make([]float64, n)}
	size := make([]int32, n)
	for i := range n {
		b.up[i], b.at[i], size[i] = int32(i), math.Inf(1), 1
	}
	root := func(x int32) int32 {
		for b.up[x] != x {
			x = b.up[x]
		}
		return x
	}
	order := make([]int32, len(edges))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int { return cmp.Compare(edges[i].w, edges[j].w) })
	linked := make([]int32, 0, n) // children in the order linked
	for _, i := range order {
		e := edges[i]
		x, y := root(e.a), root(e.b)
		if x == y {
			continue
		}
		if size[x] < size[y] {
			x, y = y, x
		}
		b.up[y], b.at[y] = x, e.w
		size[x] += size[y]
		linked = append(linked, y)
	}
	// Children lists in link order, then preorder numbers.
	b.kidOff = make([]int32, n+1)
	for _, y := range linked {
		b.kidOff[b.up[y]+1]++
	}
	for v := range n {
		b.kidOff[v+1] += b.kidOff[v]
	}
	b.kids = make([]int32, len(linked))
	fill := slices.Clone(b.kidOff[:n])
	for _, y := range linked {
		p := b.up[y]
		b.kids[fill[p]] = y
		fill[p]++
	}
	b.kidAt = make([]float64, len(b.kids))
	for i, y := range b.kids {
		b.kidAt[i] = b.at[y]
	}
	b.pre = make([]int32, n)
	b.last = make([]int32, n)
	b.nodeAt = make([]int32, n)
	next := int32(0)
	var stack []int32
	for v := range int32(n) {
		if b.up[v] != v {
			continue
		}
		stack = append(stack[:0], v)
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			b.pre[x] = next
			b.nodeAt[next] = x
			next++
			ks := b.kids[b.kidOff[x]:b.kidOff[x+1]]
			for i := len(ks) - 1; i >= 0; i-- {
				stack = append(stack, ks[i])
			}
		}
	}
	for v := range int32(n) {
		b.last[v] = b.pre[v] + size[v] - 1
	}
	return b
}

// query returns the bottleneck between nodes x and y: it climbs from
// whichever of the two stopped being a root first until they meet.
func (b *bottleneck) query(x, y int32) float64 {
	var w float64
	for x != y {
		if b.at[x] <= b.at[y] {
			if math.IsInf(b.at[x], 1) {
				return math.Inf(1) // two roots: not joined
			}
			w, x = max(w, b.at[x]), b.up[x]
		} else {
			w, y = max(w, b.at[y]), b.up[y]
		}
	}
	return w
}

// chain returns node q and its ancestors, appended to buf[:0].
func (b *bottleneck) chain(q int32, buf []int32) []int32 {
	buf = append(buf[:0], q)
	for b.up[q] != q {
		q = b.up[q]
		buf = append(buf, q)
	}
	return buf
}

// component returns the interval [lo, hi] of preorder numbers of the
// nodes that the forest's edges lighter than w join to a node, given the
// node's chain.
func (b *bottleneck) component(chain []int32, w float64) (lo, hi int32) {
	q := chain[len(chain)-1]
	for _, v := range chain {
		if !(b.at[v] < w) {
			q = v
			break
		}
	}
	// q's children linked below w come first; the last one's subtree
	// ends the interval.
	o, e := int(b.kidOff[q]), int(b.kidOff[q+1])
	j, _ := slices.BinarySearch(b.kidAt[o:e], w)
	if j == 0 {
		return b.pre[q], b.pre[q]
	}
	return b.pre[q], b.last[b.kids[o+j-1]]
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
