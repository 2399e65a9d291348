package cluster

import (
	"math"
	"sync/atomic"

	"github.com/pcct-dev/pcct/core"
)

// slack is the relative margin by which a lower bound computed from
// rounded distances is lowered before it discards a subtree, as in core:
// distances are computed in float64 from exact coordinate differences, so
// their relative error is a few ulps times the dimension.
const slack = 1e-9

// none marks a subtree without an active node in the skip array; mixed one
// whose active nodes lie in several components.
const (
	mixed int32 = -1
	none  int32 = -2
)

// listLen is the number of lightest edges a node's search keeps: the
// lightest answers the node's round, the others serve the next rounds
// until their ends join its component, so that most nodes search once or
// twice in all.
const listLen = 8

// key orders candidate edges totally: by weight, then by distance (as
// Tree.Dist measures it: under mutual reachability many edges weigh one
// core distance, and the nearest of them comes first), then by the
// smaller and the larger first caller index of their two nodes. With a
// total order the lightest edge of every component is unique, so
// Boruvka's choices are deterministic and never close a cycle.
type key struct {
	w, d   float64
	lo, hi int32
}

func (a key) less(b key) bool {
	if a.w != b.w {
		return a.w < b.w
	}
	if a.d != b.d {
		return a.d < b.d
	}
	if a.lo != b.lo {
		return a.lo < b.lo
	}
	return a.hi < b.hi
}

func edgeKey(w, d float64, a, b int32) key {
	if a > b {
		a, b = b, a
	}
	return key{w, d, a, b}
}

var noKey = key{w: math.Inf(1)}

// nodeEdge is an edge of the spanning forest between two nodes (preorder
// numbers of a flatTree) and its weight.
type nodeEdge struct {
	a, b int32
	w    float64
}

// boruvka computes a minimum spanning forest over the nodes of a flatTree.
//
// The weight of an edge between nodes q and r at distance d (as Tree.Dist
// measures it) is d itself, or, with core distances (HDBSCAN's mutual
// reachability), max(core[q], core[r], MetricDistance(d)/alpha). Only the
// active nodes take part (all of them if active is nil), and edges heavier
// than limit are left out, so that the result is a spanning forest of the
// graph of the lighter edges. Identical points share a node; edges between
// them are the caller's business.
//
// Each node keeps a list of its lightest edges to other components, found
// by its last search, and the weight below which the list is complete
// (every lighter edge to a node outside its component is in it). As
// components merge, entries whose other end joined the node's component
// drop out; the lightest remaining entry is still the node's lightest edge
// if it is lighter than the list's completeness bound. Only nodes whose
// list runs dry search again, and only if a lower bound on their lightest
// edge does not exceed their component's lightest edge so far.
type boruvka[T core.Float] struct {
	f      *flatTree[T]
	o      Options
	active []bool
	limit  float64
	// anyEdge asks for a spanning forest of the graph of the edges within
	// the limit, not a minimum one: each component takes the first such
	// edge a search meets, and its other nodes stop searching.
	anyEdge bool
	found   []atomic.Bool // per component root, with anyEdge: an edge is known

	// A round searches by subtrees (searchBySubtree) when at least
	// 1/bySubtree of the nodes search; 0: never. cleared counts the
	// subtrees passed over whole.
	bySubtree int
	cleared   atomic.Int64

	// Mutual reachability: core distance per node and the least one in
	// each subtree; nil for plain distances.
	coreDist []float64
	minCore  []float64
	alpha    float64

	parent []int32 // union-find over nodes
	comp   []int32 // each node's component (its union-find root) this round
	skip   []int32 // each subtree's single component, mixed or none

	// Per node: its list of edges (other ends and weights), the number of
	// entries, the weight below which the list is complete, and a lower
	// bound on its lightest edge to another component.
	lst  []int32
	lstW []float64
	lstD []float64
	lstN []int32
	lim  []float64
	limD []float64 // with lim: also complete for the edges of weight lim shorter than this
	low  []float64

	bound []atomic.Uint64 // per component root: the lightest weight found so far (float bits)
	best  []key           // per component root: the lightest edge this round
	bestA []int32
	bestB []int32
	edges []nodeEdge
}

func newBoruvka[T core.Float](f *flatTree[T], o Options, active []bool, limit float64) *boruvka[T] {
	n := f.n
	b := &boruvka[T]{
		f: f, o: o, active: active, limit: limit, alpha: 1, bySubtree: subtreeShare,
		parent: make([]int32, n),
		comp:   make([]int32, n),
		skip:   make([]int32, n),
		lst:    make([]int32, n*listLen),
		lstW:   make([]float64, n*listLen),
		lstD:   make([]float64, n*listLen),
		lstN:   make([]int32, n),
		lim:    make([]float64, n),
		limD:   make([]float64, n),
		low:    make([]float64, n),
		bound:  make([]atomic.Uint64, n),
		best:   make([]key, n),
		found:  make([]atomic.Bool, n),
		bestA:  make([]int32, n),
		bestB:  make([]int32, n),
	}
	for i := range n {
		b.parent[i] = int32(i)
	}
	return b
}

// withCore switches the weights to mutual reachability with the given core
// distances per node (in the metric's units) and distance scale alpha.
func (b *boruvka[T]) withCore(core []float64, alpha float64) {
	f := b.f
	b.coreDist, b.alpha = core, alpha
	b.minCore = make([]float64, f.n)
	for k := f.n - 1; k >= 0; k-- {
		m := core[k]
		for c := f.kidLo[k]; c < f.kidHi[k]; c++ {
			m = min(m, b.minCore[c])
		}
		b.minCore[k] = m
	}
}

// seed fills every node's list before the first round from its nearest
// nodes (near: keep per node, -1 for none, as nearest returns them) and
// the distance (reach, as the tree's search reports it) within which the
// search found all of them (the first listLen are listed), so that the
// first round, in which every node would search, searches only from the
// nodes whose lightest edge the list cannot vouch for. It is for a search
// of all nodes without a limit.
func (b *boruvka[T]) seed(near []int32, reach []float64) {
	f := b.f
	if f.n < 2 {
		return
	}
	keep := len(near) / f.n
	margin := reportMargin[T]()
	for q := range int32(f.n) {
		pq := f.point(q)
		o := int(q) * listLen
		m := 0
		cut := math.Inf(1) // every node nearer than cut is listed
		if len(f.live)-1 > keep {
			cut = reach[q] * (1 - margin)
		}
		for _, r := range near[int(q)*keep : int(q+1)*keep] {
			if r < 0 {
				continue
			}
			d := f.t.Dist(pq, f.point(r))
			if m == listLen {
				// The rest of the answers are no nearer than this one as
				// the search reported them.
				cut = min(cut, d*(1-margin)*(1-margin))
				break
			}
			b.lst[o+m], b.lstW[o+m], b.lstD[o+m] = r, b.weight(q, r, d), d
			m++
		}
		b.lstN[q] = int32(m)
		// Every node not listed is at least cut away: its edge is no
		// lighter than (lim, limD) in key order.
		b.lim[q], b.limD[q] = math.Inf(1), 0 // every other node is listed
		if !math.IsInf(cut, 1) {
			b.lim[q], b.limD[q] = b.lowWeight(q, q, cut, 0), cut
		}
	}
}

// reportMargin is the relative margin by which a distance the tree's
// search reports is lowered before it bounds distances that Tree.Dist
// measures: the search's distances may be rounded to the tree's precision
// (and summed in another order).
func reportMargin[T core.Float]() float64 {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return 1e-6
	}
	return 1e-12
}

func (b *boruvka[T]) isActive(k int32) bool { return b.active == nil || b.active[k] }

func (b *boruvka[T]) find(x int32) int32 {
	r := x
	for b.parent[r] != r {
		r = b.parent[r]
	}
	for b.parent[x] != r {
		b.parent[x], x = r, b.parent[x]
	}
	return r
}

// union joins the components of nodes a and b before the search runs.
func (b *boruvka[T]) union(x, y int32) {
	x, y = b.find(x), b.find(y)
	if x < y {
		x, y = y, x
	}
	if x != y {
		b.parent[x] = y
	}
}

// weight returns the weight of the edge between nodes q and r at distance d.
func (b *boruvka[T]) weight(q, r int32, d float64) float64 {
	if b.coreDist == nil {
		return d
	}
	return maxOf3(b.coreDist[q], b.coreDist[r], b.f.t.MetricDistance(d)/b.alpha)
}

// maxOf3 returns the largest of three numbers that are not NaN (without
// the builtin max's handling of NaN and signed zeros, in the hot loops).
func maxOf3(a, b, c float64) float64 {
	if b > a {
		a = b
	}
	if c > a {
		a = c
	}
	return a
}

// lowWeight returns a lower bound on the weight of the edges from q to the
// subtree of node x, given that x is at distance d from q and its subtree
// within rad of x.
func (b *boruvka[T]) lowWeight(q, x int32, d, rad float64) float64 {
	lo := d - rad - slack*(d+rad)
	if !(lo > 0) {
		lo = 0
	}
	if b.coreDist == nil {
		return lo
	}
	return maxOf3(b.coreDist[q], b.minCore[x], b.f.t.MetricDistance(lo)/b.alpha)
}

// span returns, for a weight u under mutual reachability, a distance (as
// Tree.Dist measures it) beyond which every edge weighs more than u: its
// metric distance over alpha exceeds u. It is the inverse of the
// conversion, raised until the conversion proves it, so that rounding
// never prunes an edge that lowWeight keeps; +Inf (no pruning by
// distance) where no distance proves it, as beyond the largest distance
// of a bounded metric (Haversine's).
func (b *boruvka[T]) span(u float64) float64 {
	t := b.f.t.SearchDistance(u*b.alpha) * (1 + slack)
	for range 1200 {
		if math.IsInf(t, 1) || math.IsNaN(t) {
			break
		}
		if b.f.t.MetricDistance(math.Nextafter(t, math.Inf(1)))/b.alpha > u {
			return t
		}
		if t < 1e-100 {
			t = max(2*t, 1e-300) // a conversion that underflows near 0
		} else {
			t *= 1 + 1e-6
		}
	}
	return math.Inf(1)
}

// run computes the spanning forest and returns its edges, in the order
// they were found.
func (b *boruvka[T]) run() ([]nodeEdge, error) {
	f := b.f
	n := f.n
	queries := make([]int32, 0, n)
	scr := make([]searchScratch, b.o.jobs())
	for {
		if b.o.stopped() {
			return nil, core.ErrStopped
		}
		// Components, and the subtrees each can skip.
		for k := range n {
			b.comp[k] = b.find(int32(k))
		}
		for k := n - 1; k >= 0; k-- {
			s := none
			if b.isActive(int32(k)) {
				s = b.comp[k]
			}
			for c := f.kidLo[k]; c < f.kidHi[k]; c++ {
				s = combine(s, b.skip[c])
			}
			b.skip[k] = s
		}
		for k := range n {
			if b.comp[k] == int32(k) {
				b.best[k] = noKey
				b.bestA[k], b.bestB[k] = -1, -1
				b.bound[k].Store(math.Float64bits(b.limit))
				b.found[k].Store(false)
			}
		}
		// Every node offers the lightest entry left in its list; those
		// whose list cannot vouch for it search, unless they cannot beat
		// their component's lightest edge.
		queries = queries[:0]
		for k := range n {
			q := int32(k)
			if !b.isActive(q) {
				continue
			}
			if !b.fromList(q) {
				queries = append(queries, q)
			}
		}
		idle := b.largestComponent()
		j := 0
		for _, q := range queries {
			c := b.comp[q]
			if c == idle {
				continue
			}
			if b.anyEdge && b.bestA[c] >= 0 {
				continue // its component has an edge already
			}
			if w := b.low[q]; w <= b.best[c].w && w <= b.limit {
				queries[j] = q
				j++
			}
		}
		queries = queries[:j]
		var err error
		if len(queries)*b.bySubtree >= n && len(queries) > 0 {
			err = b.searchBySubtree(queries, scr)
		} else {
			err = forBlocks(len(queries), 16, b.o, func(w, lo, hi int) {
				s := &scr[w]
				for _, q := range queries[lo:hi] {
					b.search(q, s)
				}
			})
		}
		if err != nil {
			return nil, err
		}
		for _, q := range queries {
			b.fromList(q)
		}
		// Join every component to its lightest edge's other end.
		joined := false
		for k := range n {
			if b.comp[k] != int32(k) || b.bestA[k] < 0 {
				continue
			}
			x, y := b.find(b.bestA[k]), b.find(b.bestB[k])
			if x == y {
				continue // the other component chose the same edge
			}
			if x < y {
				x, y = y, x
			}
			b.parent[x] = y
			b.edges = append(b.edges, nodeEdge{b.bestA[k], b.bestB[k], b.best[k].w})
			joined = true
		}
		if !joined || b.active == nil && len(b.edges) == n-1 {
			return b.edges, nil // no edge left, or one component
		}
		if b.active != nil {
			// A component that found no edge within the limit is final:
			// no other component has an edge to it either.
			for k := range n {
				if c := b.comp[k]; b.active[k] && b.bestA[c] < 0 && c != idle {
					b.active[k] = false
				}
			}
		}
	}
}

// largestComponent returns, with anyEdge, the component with the most
// active nodes, which need not search this round: an edge between it and
// another component is also the other component's, so if no other
// component finds an edge, it has none either and the run ends; otherwise
// components merge and the next round starts. It is not marked final
// while others search (their searches still reach it). In the last rounds
// of DBSCAN, a large cluster then proves nothing, and the few small ones
// prove that they are final. It returns -1 (no component) without
// anyEdge.
func (b *boruvka[T]) largestComponent() int32 {
	if !b.anyEdge {
		return -1
	}
	size := make([]int32, len(b.comp))
	best, most := int32(-1), int32(0)
	for k := range b.comp {
		if !b.isActive(int32(k)) {
			continue
		}
		c := b.comp[k]
		size[c]++
		if size[c] > most {
			best, most = c, size[c]
		}
	}
	return best
}

// fromList offers node q's lightest listed edge to a node outside its
// component, drops the entries that joined it, and updates q's lower
// bound. It reports whether the edge is q's lightest for certain (or q has
// no edge at all), so that q need not search.
func (b *boruvka[T]) fromList(q int32) bool {
	f := b.f
	cq := b.comp[q]
	o := int(q) * listLen
	m := int(b.lstN[q])
	best, bestR := noKey, int32(-1)
	idq := f.firstID(q)
	kept := 0
	for i := range m {
		r := b.lst[o+i]
		if b.comp[r] == cq || !b.isActive(r) {
			continue
		}
		w, d := b.lstW[o+i], b.lstD[o+i]
		b.lst[o+kept], b.lstW[o+kept], b.lstD[o+kept] = r, w, d
		kept++
		if e := edgeKey(w, d, idq, f.firstID(r)); e.less(best) {
			best, bestR = e, r
		}
	}
	b.lstN[q] = int32(kept)
	lim := b.lim[q]
	if bestR >= 0 {
		b.offer(cq, best, q, bestR)
	}
	if bestR >= 0 && (best.w < lim || best.w == lim && best.d < b.limD[q]) {
		b.low[q] = max(b.low[q], best.w)
		return true
	}
	b.low[q] = max(b.low[q], min(best.w, lim))
	return math.IsInf(lim, 1) // complete and empty: no edge at all
}

// offer records a candidate edge (q, r) of component c.
func (b *boruvka[T]) offer(c int32, e key, q, r int32) {
	if e.less(b.best[c]) {
		b.best[c], b.bestA[c], b.bestB[c] = e, q, r
		atomicMin(&b.bound[c], e.w)
	}
}

// combine merges the skip values of two parts of a subtree.
func combine(a, b int32) int32 {
	switch {
	case a == none:
		return b
	case b == none || a == b:
		return a
	}
	return mixed
}

// cand is a node waiting in a search, and its distance from the query.
type cand struct {
	k int32
	d float64
}

// searchScratch holds one worker's buffers.
type searchScratch struct {
	stack []cand
	heap  []heapEntry
	sub   []int32
}

type heapEntry struct {
	e key
	r int32
}

// search refills node q's list with its listLen lightest edges to active
// nodes of other components. It searches q's own subtree first, then, up
// the path to the root, each ancestor and its other subtrees, since q's
// nearest nodes are usually near it in the tree: the bound is tight early
// and the upper levels are mostly pruned. Within a subtree it goes depth
// first, nearest children first. It skips subtrees that hold no node of
// another component and prunes those whose lower bound exceeds the
// lighter of the list's heaviest entry (once full) and the component's
// lightest edge so far; the list is then complete below the lowest bound
// anything was pruned against. It publishes its lightest edge as a bound
// to the component's other searches.
func (b *boruvka[T]) search(q int32, s *searchScratch) {
	f := b.f
	dist := f.t.Dist
	e := edgeSearch[T]{q: q, cq: b.comp[q], idq: f.firstID(q), pq: f.point(q)}
	cq, pq := e.cq, e.pq
	bnd := &b.bound[cq]
	h := s.heap[:0]
	stack := s.stack[:0]
	cut := false         // the search stopped early: anyEdge and an edge is known
	minUB := math.Inf(1) // the lowest bound anything was pruned against
	// ub returns the bound of the search now, and lowers minUB to it.
	ub := func(h []heapEntry) float64 {
		u := math.Float64frombits(bnd.Load())
		if len(h) == listLen {
			u = min(u, h[0].e.w)
		}
		minUB = min(minUB, u)
		return u
	}
	// stop reports, with anyEdge, whether the search may end: an edge of
	// its component is known.
	stop := func(h []heapEntry) bool {
		if b.anyEdge && (len(h) > 0 || b.found[cq].Load()) {
			cut = true
		}
		return cut
	}
	// drain opens the subtrees on the stack, nearest first.
	drain := func() {
		for len(stack) > 0 && !stop(h) {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if u := ub(h); b.lowWeight(q, x.k, x.d, f.rad[x.k]) <= u {
				h, stack = b.expand(&e, x.k, x.d, -1, u, h, stack)
			}
		}
	}
	if sk := b.skip[q]; sk != cq && sk != none {
		h, stack = b.expand(&e, q, 0, -1, ub(h), h, stack)
		drain()
	}
	for prev, a := q, f.par[q]; a >= 0 && !stop(h); prev, a = a, f.par[a] {
		if b.skip[a] == cq || b.skip[a] == none {
			continue // nothing of another component up to here
		}
		da := dist(pq, f.point(a))
		h = b.consider(&e, h, a, da)
		u := ub(h)
		if b.lowWeight(q, a, da, f.rad[a]) > u {
			continue
		}
		h, stack = b.expand(&e, a, da, prev, u, h, stack)
		drain()
	}
	s.stack = stack[:0]
	lim := minUB
	if len(h) == listLen {
		lim = min(lim, h[0].e.w)
	}
	switch {
	case cut:
		lim = 0 // the list vouches for nothing
		if len(h) > 0 {
			b.found[cq].Store(true)
		}
	case len(h) == 0 && minUB >= b.limit:
		lim = math.Inf(1) // no edge within the limit, now or later
	}
	o := int(q) * listLen
	lightest := math.Inf(1)
	for i, x := range h {
		b.lst[o+i], b.lstW[o+i], b.lstD[o+i] = x.r, x.e.w, x.e.d
		lightest = min(lightest, x.e.w)
	}
	b.lstN[q], b.lim[q], b.limD[q] = int32(len(h)), lim, 0
	s.heap = h
	// Publish the lightest edge found to the component's other searches.
	atomicMin(bnd, lightest)
}

// edgeSearch holds what one node's search reads: the node, its component,
// its first caller index and its point.
type edgeSearch[T core.Float] struct {
	q, cq, idq int32
	pq         []T
}

// consider adds the edge from the searching node to node r, at distance
// d, to the list h (a max-heap of at most listLen entries) if r is an
// active node of another component and the edge is light enough.
func (b *boruvka[T]) consider(e *edgeSearch[T], h []heapEntry, r int32, d float64) []heapEntry {
	if !b.isActive(r) || b.comp[r] == e.cq {
		return h
	}
	w := b.weight(e.q, r, d)
	if w > b.limit {
		return h
	}
	k := edgeKey(w, d, e.idq, b.f.firstID(r))
	if len(h) < listLen {
		return heapPush(h, heapEntry{k, r})
	}
	if k.less(h[0].e) {
		h[0] = heapEntry{k, r}
		heapDown(h)
	}
	return h
}

// expand measures the children of node x (at distance d from the
// searching node) other than skipKid, considers them and stacks those
// worth opening, nearest last; u is the search's bound. With anyEdge it
// stops at the first edge it lists.
func (b *boruvka[T]) expand(e *edgeSearch[T], x int32, d float64, skipKid int32, u float64, h []heapEntry, stack []cand) ([]heapEntry, []cand) {
	f := b.f
	dist := f.t.Dist
	q, cq, pq := e.q, e.cq, e.pq
	plain := b.coreDist == nil
	// A child whose reach is below far lies beyond u (lowWeight(q, c, d,
	// reach) > u with the terms rearranged): with plain distances the
	// bound is u itself, under mutual reachability the distance span(u)
	// (and a child whose subtree's least core distance exceeds u lies
	// beyond u too; if q's own does, everything does).
	var far float64
	setFar := func() {
		if plain {
			far = (d*(1-slack) - u) / (1 + slack)
		} else {
			far = (d*(1-slack) - b.span(u)) / (1 + slack)
		}
	}
	if !plain && b.coreDist[q] > u {
		return h, stack
	}
	setFar()
	base := len(stack)
	for c := f.kidLo[x]; c < f.kidHi[x]; c++ {
		if b.anyEdge && len(h) > 0 {
			break
		}
		if c == skipKid {
			continue
		}
		if sk := b.skip[c]; sk == cq || sk == none {
			continue
		}
		// The child's subtree lies within reach of x: a bound before
		// measuring the child.
		if f.reach[c] < far || !plain && b.minCore[c] > u {
			continue
		}
		dc := dist(pq, f.point(c))
		h = b.consider(e, h, c, dc)
		if len(h) == listLen && h[0].e.w < u {
			u = h[0].e.w
			setFar()
		}
		if f.hasKids(c) && b.lowWeight(q, c, dc, f.rad[c]) <= u {
			stack = append(stack, cand{c, dc})
		}
	}
	sortDesc(stack[base:])
	return h, stack
}

// heapPush adds x to the max-heap h (by key).
func heapPush(h []heapEntry, x heapEntry) []heapEntry {
	h = append(h, x)
	for j := len(h) - 1; j > 0; {
		p := (j - 1) / 2
		if !h[p].e.less(h[j].e) {
			break
		}
		h[p], h[j] = h[j], h[p]
		j = p
	}
	return h
}

// heapDown restores the max-heap h after its top was replaced.
func heapDown(h []heapEntry) {
	for j := 0; ; {
		l := 2*j + 1
		if l >= len(h) {
			return
		}
		m := l
		if l+1 < len(h) && h[l].e.less(h[l+1].e) {
			m = l + 1
		}
		if !h[j].e.less(h[m].e) {
			return
		}
		h[j], h[m] = h[m], h[j]
		j = m
	}
}

// sortDesc sorts candidates by distance, farthest first (so that the
// nearest is popped first); child lists are short, so insertion sort.
func sortDesc(c []cand) {
	for i := 1; i < len(c); i++ {
		x := c[i]
		j := i
		for ; j > 0 && c[j-1].d < x.d; j-- {
			c[j] = c[j-1]
		}
		c[j] = x
	}
}
