package core

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// A flatTree is a read-only copy of one tree version laid out for answering
// k-nearest and radius queries in the order the depth-first search visits
// it:
//
//   - the children of every node are one run of positions (a child block),
//     by reach descending, so a search reads them one after another and
//     stops at the first whose reach puts it beyond the bound;
//   - the blocks nest as the search opens them: a node's child block, then
//     the blocks below its first child, those below its second, ..., so
//     the descendants of every node are one run of positions too;
//   - coordinates (in the tree's precision), reaches and node records are
//     separate arrays indexed by position.
//
// A node with at most bucket descendants is a bucket: once the search
// decides to open it (its own distance, radius and box allow), it measures
// all of its descendants in one tight loop over their contiguous
// coordinates, without looking at their reaches or stacking any of them.
// That measures more points than the branch and bound would, at a fraction
// of the cost each. In the Euclidean metric the loop first compares squared
// distances against the squared bound (with a margin for rounding) and
// takes the square root, with the tree's own kernel, only for the few
// points that pass. In up to boxDims Euclidean dimensions, each subtree the
// search tests on its own also carries its bounding box.
//
// Measured on bunny and zipcodes (k = 10, every point queried and held-out
// rows, one thread): buckets of 32 to 128 descendants took about the same
// time, smaller ones more (12: 10% to 25% more); the boxes cut the distance
// evaluations of the branch and bound outside the buckets by two thirds
// (45 to 15 a query on bunny). Boxes in 10 and 16 dimensions halved the
// evaluations on magic, pendigits and letter but doubled the time (a box
// costs twice a distance there and rarely settles a subtree).
//
// In 2 to kdMaxDims Euclidean dimensions it also keeps a k-d split of its
// positions, which k-nearest queries search instead of the child blocks
// (see layoutkd.go and layoutkdn.go), and radius queries too in two and
// three dimensions (kdWithin).
//
// It is made in O(nodes) time and memory (the k-d split of four to
// kdMaxDims dimensions in O(nodes log nodes)) and shares nothing with the tree,
// so it sees exactly the version it was made from; the version keeps it
// (flatCache) for every later batch.
type flatTree[T Float] struct {
	dim    int
	pts    []T        // node coordinates, position after position
	reach  []float64  // per position: bounds the distance from the parent to any node of the subtree
	info   []flatNode // per position, plus a sentinel whose ids ends the last position's
	ids    []int32    // caller indices, position after position; ascending within a node
	pos    []int32    // the position of each storage slot's node
	dist   distFunc[T]
	euclid bool  // the tree's kernel is the Euclidean distance: squared bounds apply
	bucket int32 // nodes with at most this many descendants are scanned whole
	// box holds bounding boxes, each 2*dim values (the lowest coordinates,
	// then the highest), of the subtrees that the search tests one by one
	// and that have descendants (flatNode.box), in Euclidean trees of at
	// most boxDims dimensions.
	box []T
	// In at most mortonDims dimensions, the nodes along a Z-order curve
	// over the box [zlo, zhi] of their coordinates: keys ascending and
	// the position of each, where a query point is located (locate).
	zlo, zhi []float64
	zkey     []uint64
	zpos     []int32
	// lanes holds the coordinates again, four positions interleaved, in
	// Euclidean layouts of more than boxDims dimensions on a machine with
	// the vector kernel (see interleave); nil otherwise.
	lanes []T
	// In Euclidean layouts of two and three dimensions, the k-d split of
	// the positions that k-nearest queries search (see split): its nodes,
	// the position in each of its slots, and their coordinates, three to a
	// slot.
	kdNodes []kdNode
	kdPos   []int32
	kdID    []int32 // soleIDs of kdPos
	kdPts   []float64
	// In Euclidean layouts of four to kdMaxDims dimensions, the k-d split
	// of the positions (see splitN): its nodes, their boxes, the position
	// in each of its slots, and their coordinates, a row a slot and, with
	// four-lane coordinates, again four slots interleaved.
	kdnNodes []kdnNode
	kdnBox   []float64
	kdnPos   []int32
	kdnID    []int32 // soleIDs of kdnPos
	kdnRows  []T
	kdnLanes []T
}

// flatNode describes the node at one position.
type flatNode struct {
	rad    float64 // bounds the distance from the node to any of its descendants
	kids   int32   // its child block is [kids, kidEnd) ...
	kidEnd int32
	desc   int32 // ... and its descendants are [kids, desc)
	ids    int32 // where the node's caller indices start in flatTree.ids
	parent int32 // the parent's position, -1 for the root
	box    int32 // the subtree's bounding box in flatTree.box, or -1
}

// Bucket sizes, in descendants, by the tree's metric: scanning a bucket
// pays where a distance is cheap next to the bookkeeping of the branch and
// bound; a metric of the caller's (a Go or Python function) may cost more
// than all of that, so its search measures no more points than it must.
// (Manhattan and Chebyshev on bunny, k = 10, one thread: buckets of 8 were
// 2% to 5% faster than none on all points and as fast on held-out rows,
// within the noise; 32 measured 50% more points and gained nothing.)
const (
	euclidBucket = 32 // Euclidean and cosine: written-out kernels
	kernelBucket = 8  // the other built-in metrics
	customBucket = 0
)

// boxDims is the largest dimension in which a Euclidean flatTree keeps
// bounding boxes: a box tests a subtree before its root is measured and
// bounds it far more tightly than a ball in few dimensions (see flatTree).
const boxDims = 4

// flatCache holds a tree version's search layout once made. Queries
// answered without it are counted, so that a version queried by many
// small batches makes it too, once they have cost about what making it
// does.
type flatCache[T Float] struct {
	mu    sync.Mutex // held while the layout is made
	f     atomic.Pointer[flatTree[T]]
	asked atomic.Int64 // k-nearest and radius queries asked of the version so far
}

// layout returns t's search layout for a batch of nq radius or depth-first
// k-nearest queries, or nil if the batch should walk the nodes instead:
// the layout is made, once, when the queries asked of t reach
// 1/flatBatchRatio of its nodes, on up to jobs goroutines, and reused by
// every batch after. It is safe for concurrent use: one caller makes the
// layout while the others wait for it.
func (t *Tree[T]) layout(nq, jobs int) *flatTree[T] {
	c := &t.flat
	if f := c.f.Load(); f != nil {
		return f
	}
	if c.asked.Add(int64(nq))*flatBatchRatio < int64(t.nodes) || t.root < 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.f.Load(); f != nil {
		return f
	}
	f := t.flatten(jobs)
	c.f.Store(f)
	return f
}

// flatten returns t laid out for searching, on up to jobs goroutines (the
// same layout for any number). t must not be empty.
func (t *Tree[T]) flatten(jobs int) *flatTree[T] {
	dim := t.s.dim
	n := int32(t.nodes)
	f := &flatTree[T]{
		dim:    dim,
		pts:    make([]T, int(n)*dim),
		reach:  make([]float64, n),
		info:   make([]flatNode, n+1),
		pos:    make([]int32, t.s.slots),
		dist:   t.dist,
		bucket: kernelBucket,
	}
	switch t.metric.Canonical().Kind {
	case Euclidean, Cosine:
		f.euclid, f.bucket = true, euclidBucket
	case Custom:
		f.bucket = customBucket
	}
	// Place the child blocks, depth first: a node's block when the node is
	// taken from the stack, its first child taken next.
	slot := make([]int32, n) // the storage slot at each position
	slot[0] = t.root
	next := int32(1)
	stack := []int32{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		kids := t.node(slot[i]).children()
		end := next + int32(len(kids))
		block, reach := slot[next:end], f.reach[next:end]
		copy(block, kids)
		for j, u := range block {
			reach[j] = t.node(u).reach
		}
		sortByReach(block, reach)
		f.info[i].kids, f.info[i].kidEnd = next, next+int32(len(kids))
		for j := range block {
			f.info[next+int32(j)].parent = i
		}
		for j := len(block) - 1; j >= 0; j-- {
			stack = append(stack, next+int32(j))
		}
		next += int32(len(kids))
	}
	f.info[0].parent = -1
	f.reach[0] = t.node(t.root).reach
	// Each position's point, radius and caller indices: the indices' places
	// counted first, so that the positions fill in parallel.
	idAt := make([]int32, n+1)
	forRange(int(n), jobs, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			idAt[i+1] = t.node(slot[i]).nid
		}
	})
	for i := range n {
		idAt[i+1] += idAt[i]
	}
	f.ids = make([]int32, idAt[n])
	forRange(int(n), jobs, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			u := slot[i]
			nd := t.node(u)
			fi := &f.info[i]
			f.pos[u] = int32(i)
			copyPoint(f.pts[i*dim:], t.point(u))
			fi.rad, fi.ids, fi.desc = nd.rad, idAt[i], fi.kidEnd
			copy(f.ids[idAt[i]:idAt[i+1]], nd.idList())
		}
	})
	f.info[n].ids = idAt[n]
	// The descendants of a node end where those of its last child do:
	// children (later positions) before parents.
	for i := n - 1; i > 0; i-- {
		p := f.info[i].parent
		f.info[p].desc = max(f.info[p].desc, f.info[i].desc)
	}
	f.boxes()
	f.curve(jobs)
	f.split(jobs) // from the curve
	f.interleave()
	f.splitN()
	return f
}

// curve sorts the nodes along a Z-order curve, in at most mortonDims
// dimensions, on up to jobs goroutines (the same order: the sort is
// stable).
func (f *flatTree[T]) curve(jobs int) {
	if f.dim > mortonDims {
		return
	}
	f.zlo, f.zhi = emptyBox(f.dim)
	extendBox(f.zlo, f.zhi, f.pts)
	if kdDims(f.euclid, f.dim) {
		// A cube, so that the k-d split made from the curve (split)
		// halves each cell across a side that is longest in the data's
		// units, whatever the data's aspect.
		f.zhi = cubeOver(f.zlo, f.zhi)
	}
	n := len(f.pts) / f.dim
	keys := make([]uint64, n)
	forRange(n, jobs, func(_, lo, hi int) {
		mortonKeysInto(keys[lo:hi], f.pts[lo*f.dim:hi*f.dim], f.dim, f.zlo, f.zhi)
	})
	if jobs = workers(jobs); jobs > 1 && n >= curveParallelMin {
		tm := newTeam(jobs)
		defer tm.stop()
		order := make([]int32, n)
		tm.forRange(n, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				order[i] = int32(i)
			}
		})
		f.zpos, f.zkey, _, _ = radixPairs(tm, jobs, order, keys, 64, nil, nil)
		return
	}
	f.zpos = sortedBy(keys)
	f.zkey = make([]uint64, len(keys))
	for i, p := range f.zpos {
		f.zkey[i] = keys[p]
	}
}

// curveParallelMin is the fewest nodes whose Z-order curve sorts in
// parallel (not tuned).
const curveParallelMin = 1 << 14

// locate returns where the Z-order key of a query falls among the nodes':
// the index of the first node key at least as large, which must be at
// least from (the place of a smaller key). It gallops from there: queries
// located in key order take a few steps each, near the last, where a
// binary search over all the keys took 5% of a batch of bunny's held-out
// rows.
func (f *flatTree[T]) locate(key uint64, from int) int {
	n := len(f.zkey)
	lo, hi := from, from // the keys before lo are smaller; the one at hi, if any, is not
	for step := 1; hi < n && f.zkey[hi] < key; step *= 2 {
		lo, hi = hi+1, hi+step
	}
	hi = min(hi, n)
	i, _ := slices.BinarySearch(f.zkey[lo:hi], key)
	return lo + i
}

// boxes gives a bounding box to each subtree that a search tests on its
// own and that has descendants: every such node outside the buckets, in a
// Euclidean tree of at most boxDims dimensions.
func (f *flatTree[T]) boxes() {
	n := int32(len(f.info) - 1)
	for i := range n {
		f.info[i].box = -1
	}
	dim := f.dim
	if !f.euclid || dim > boxDims {
		return
	}
	var boxed int32
	for i := range n {
		if fi := &f.info[i]; fi.desc > fi.kids && !f.inBucket(i) {
			fi.box = boxed
			boxed++
		}
	}
	// Children (later positions) before parents: a bucket's box bounds its
	// descendants, any other's its children and their boxes.
	f.box = make([]T, int(boxed)*2*dim)
	for i := n - 1; i >= 0; i-- {
		fi := &f.info[i]
		if fi.box < 0 {
			continue
		}
		o := int(fi.box) * 2 * dim
		lo, hi := f.box[o:o+dim:o+dim], f.box[o+dim:o+2*dim:o+2*dim]
		copyPoint(lo, f.row(i))
		copyPoint(hi, f.row(i))
		if fi.desc-fi.kids <= f.bucket {
			for c := fi.kids; c < fi.desc; c++ {
				extendBoxT(lo, hi, f.row(c), f.row(c))
			}
			continue
		}
		for c := fi.kids; c < fi.kidEnd; c++ {
			if cb := int(f.info[c].box); cb >= 0 {
				co := cb * 2 * dim
				extendBoxT(lo, hi, f.box[co:co+dim], f.box[co+dim:co+2*dim])
			} else {
				extendBoxT(lo, hi, f.row(c), f.row(c))
			}
		}
	}
}

// extendBoxT widens the box [lo, hi] to hold the box [plo, phi].
func extendBoxT[T Float](lo, hi, plo, phi []T) {
	for j := range lo {
		lo[j] = min(lo[j], plo[j])
		hi[j] = max(hi[j], phi[j])
	}
}

// gap returns the distance from v to the interval [lo, hi] (lo <= hi),
// 0 inside it.
func gap(v, lo, hi float64) float64 {
	return max(lo-v, 0) + max(v-hi, 0)
}

// boxBeyond reports whether the squared Euclidean distance from q to the
// box b (lowest coordinates, then highest) exceeds limit. It stops adding
// as soon as the partial sum does.
func boxBeyond[T Float](q []T, b []T, limit float64) bool {
	dim := len(q)
	lo, hi := b[:dim:dim], b[dim:2*dim:2*dim]
	s := 0.0
	for j, x := range q {
		v := float64(x)
		if d := float64(lo[j]) - v; d > 0 {
			s += d * d
		} else if d := v - float64(hi[j]); d > 0 {
			s += d * d
		} else {
			continue
		}
		if s > limit {
			return true
		}
	}
	return false
}

// bytes returns the memory the layout refers to.
func (f *flatTree[T]) bytes() int64 {
	var zero T
	return int64(cap(f.pts)+cap(f.box)+cap(f.lanes))*int64(unsafe.Sizeof(zero)) +
		int64(cap(f.reach)+cap(f.zlo)+cap(f.zhi)+cap(f.zkey))*8 +
		int64(cap(f.info))*int64(unsafe.Sizeof(flatNode{})) +
		int64(cap(f.kdNodes))*int64(unsafe.Sizeof(kdNode{})) + int64(cap(f.kdPts))*8 + int64(cap(f.kdPos)+cap(f.kdID))*4 +
		int64(cap(f.kdnNodes))*int64(unsafe.Sizeof(kdnNode{})) + int64(cap(f.kdnBox))*8 + int64(cap(f.kdnPos)+cap(f.kdnID))*4 +
		int64(cap(f.kdnRows)+cap(f.kdnLanes))*int64(unsafe.Sizeof(zero)) +
		int64(cap(f.ids)+cap(f.pos)+cap(f.zpos))*4
}

// sortByReach sorts a child block, its storage slots u and their reaches
// r, by reach descending, ties by slot.
func sortByReach(u []int32, r []float64) {
	before := func(ra float64, a int32, rb float64, b int32) bool {
		return ra > rb || (ra == rb && a < b)
	}
	if len(u) > 16 {
		perm := make([]int, len(u))
		for i := range perm {
			perm[i] = i
		}
		slices.SortFunc(perm, func(i, j int) int {
			switch {
			case before(r[i], u[i], r[j], u[j]):
				return -1
			case before(r[j], u[j], r[i], u[i]):
				return 1
			}
			return 0
		})
		us, rs := slices.Clone(u), slices.Clone(r)
		for i, p := range perm {
			u[i], r[i] = us[p], rs[p]
		}
		return
	}
	for i := 1; i < len(u); i++ {
		x, rx := u[i], r[i]
		j := i
		for ; j > 0 && before(rx, x, r[j-1], u[j-1]); j-- {
			u[j], r[j] = u[j-1], r[j-1]
		}
		u[j], r[j] = x, rx
	}
}

// row returns the coordinates of the node at position i.
func (f *flatTree[T]) row(i int32) []T {
	o := int(i) * f.dim
	return f.pts[o : o+f.dim : o+f.dim]
}

// weight returns the caller points held in the subtree at position i.
func (f *flatTree[T]) weight(i int32) int32 {
	fi := &f.info[i]
	return f.info[i+1].ids - fi.ids + f.info[fi.desc].ids - f.info[fi.kids].ids
}

// inBucket reports whether the node at position i is a descendant of a
// bucket, and so is measured only by its bucket's scan.
func (f *flatTree[T]) inBucket(i int32) bool {
	p := f.info[i].parent
	return p >= 0 && f.info[p].desc-f.info[p].kids <= f.bucket
}

// knn leaves the k nearest neighbours of q in s.heap, skipping the caller
// index s.exclude, by the depth-first branch and bound of knnDepthFirst,
// pruning against the k-th distance found so far times shrink (1/(1+eps);
// 1 for an exact search).
//
// In two and three Euclidean dimensions it searches the layout's k-d
// split instead (kdSearch), from its root, and home, seed and near go
// unused.
//
// A good bound early saves most of the work, so the search starts near q
// when it can: at home, q's own node when q is a fitted point, or else the
// nearest to q of the positions near (the nodes next to q along the
// layout's Z-order curve, see plan), whose farthest also bounds the answer
// from the start when they hold k points. The
// subtree of an ancestor of home holding at least seed points (and not
// inside a bucket) is searched first; the search from the root then skips
// it.
//
// guess, if finite, is a guess at the answer's k-th distance (kthGuess)
// for an exact search to try first: it prunes as a bound would from the
// first point, and the search runs again, with guessRetry times the
// guess and then with none, when fewer than k points lie within it.
func (f *flatTree[T]) knn(s *scratch, q []T, k int, home, seed int32, near []int32, shrink, guess float64) {
	if shrink != 1 {
		guess = math.Inf(1)
	}
	// The guess was right when the search found k points within it:
	// every point within the answer's k-th distance was then searched
	// for with a bound no smaller, and offered.
	for try := 0; ; try++ {
		f.knnWithin(s, q, k, home, seed, near, shrink, guess)
		if s.heap.full() || guess == math.Inf(1) {
			return
		}
		s.guess.tries++
		guess *= guessRetry
		if try > 0 {
			guess = math.Inf(1)
		}
	}
}

// knnWithin is knn, offering only points within distance g (+Inf for
// all): it finds the k nearest neighbours of q if at least k lie within g,
// and fewer otherwise.
func (f *flatTree[T]) knnWithin(s *scratch, q []T, k int, home, seed int32, near []int32, shrink, g float64) {
	h := &s.heap
	h.reset(k)
	inf := math.Inf(1)
	b := bound{worst: inf, ub: inf, shrink: shrink, sq: inf, usq: inf}
	b.set(g)
	if f.kdNodes != nil {
		f.kdSearch(s, q, &b)
		return
	}
	if f.kdnNodes != nil {
		f.kdnSearch(s, q, &b)
		return
	}
	if home < 0 && len(near) > 0 {
		bd := inf
		w, held := 0.0, 0
		for _, i := range near {
			d := f.distAt(q, i)
			if d < bd {
				home, bd = i, d
			}
			w = max(w, d)
			for _, id := range f.ids[f.info[i].ids:f.info[i+1].ids] {
				if id != s.exclude {
					held++
				}
			}
		}
		s.evals += int64(len(near))
		if held >= k && shrink == 1 {
			// They hold k points (s.exclude aside): the farthest
			// bounds the answer's k-th distance from the start. (An
			// approximate search prunes below its bound, where it might
			// miss them and come back with fewer than k.)
			b.set(w)
		}
	}
	skip := int32(-1)
	if home >= 0 {
		a := home
		for a > 0 && (f.weight(a) < seed || f.inBucket(a)) {
			a = f.info[a].parent
		}
		da := f.distAt(q, a)
		s.evals++
		if da <= b.worst {
			f.offerAt(s, a, da, &b)
		}
		s.stack = f.descend(s, q, append(s.stack[:0], cand{node: a, d: da}), -1, &b)
		if a == 0 {
			return
		}
		skip = a
	}
	d0 := f.distAt(q, 0)
	s.evals++
	if d0 <= b.worst {
		f.offerAt(s, 0, d0, &b)
	}
	s.stack = f.descend(s, q, append(s.stack[:0], cand{node: 0, d: d0}), skip, &b)
}

// bound is the state of one query's branch and bound: worst, a bound on
// the k-th distance of the answer (the heap's k-th once it is full, or a
// bucket's, see scan; +Inf before), the pruning bound ub (worst times
// shrink), and sqBound's squares of both for the Euclidean tests.
type bound struct {
	worst, ub, shrink float64
	sq, usq           float64 // sqBound(worst), sqBound(ub)
}

// set records a new bound w on the k-th distance of the answer.
func (b *bound) set(w float64) {
	if w < b.worst {
		b.worst = w
		b.sq = sqBound(w)
		if b.shrink == 1 { // an exact search: ub is worst
			b.ub, b.usq = w, b.sq
			return
		}
		b.ub = min(b.ub, w*b.shrink)
		b.usq = sqBound(b.ub)
	}
}

// sqBound returns a bound on squared Euclidean distances, as the bucket
// scans and the boxes compute them, above which the distance the tree's
// kernel gives exceeds x: x squared with a margin for the rounding of the
// square, the sum and the kernel's root. Below 2^-900 and above 2^900 the
// kernel rescales instead (and squares may underflow or overflow), so
// there the bound lets everything through.
func sqBound(x float64) float64 {
	s := x * x * (1 + 1e-9)
	if !(s <= 0x1p900) {
		return math.Inf(1)
	}
	return max(s, 0x1p-900)
}

// descend runs the depth-first branch and bound from the candidates on the
// stack (each already offered; the last is opened first) over their
// subtrees, leaving out the subtree at position skip (which must not be
// inside a bucket). A bucket is scanned whole; otherwise each child whose
// reach and box do not put it beyond the bound is measured and offered,
// and stacked if it has children and its radius may still hold an answer,
// the nearest opened next. It returns the emptied stack. A layout with
// four-lane coordinates and no boxes runs descendLanes instead.
func (f *flatTree[T]) descend(s *scratch, q []T, stack []cand, skip int32, b *bound) []cand {
	if f.lanes != nil {
		return f.descendLanes(s, q, stack, skip, b)
	}
	info, reach, box := f.info, f.reach, f.box
	dim := f.dim
	evals := int64(0)
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		xi := &info[x.node]
		if prunable(x.d, xi.rad, b.ub) {
			continue
		}
		if xi.desc-xi.kids <= f.bucket {
			evals += int64(xi.desc - xi.kids)
			f.scan(s, q, xi.kids, xi.desc, b)
			continue
		}
		base := len(stack)
		for c := xi.kids; c < xi.kidEnd; c++ {
			if prunable(x.d, reach[c], b.ub) {
				break // and so is every later child: their reach is no larger
			}
			ci := &info[c]
			if c == skip {
				continue
			}
			// The node and its descendants may all lie beyond ub.
			if o := int(ci.box) * 2 * dim; ci.box >= 0 && boxBeyond(q, box[o:o+2*dim], b.usq) {
				continue
			}
			dc := f.dist(q, f.row(c))
			evals++
			if dc <= b.worst {
				f.offerAt(s, c, dc, b)
			}
			// A leaf has been seen in full; a subtree is stacked if its
			// radius may still hold an answer.
			if ci.desc > ci.kids && !prunable(dc, ci.rad, b.ub) {
				stack = append(stack, cand{node: c, d: dc})
			}
		}
		if len(stack)-base > 1 {
			sortCandsDesc(stack[base:])
		}
	}
	s.evals += evals
	return stack[:0]
}

// offerAt offers the node at position i, at distance d, and records the
// heap's k-th distance in b once the heap is full. A node holding one
// caller index, the common case, takes a short path into a sorted heap.
func (f *flatTree[T]) offerAt(s *scratch, i int32, d float64, b *bound) {
	h := &s.heap
	if lo := f.info[i].ids; h.sorted && f.info[i+1].ids == lo+1 {
		if id := f.ids[lo]; id != s.exclude && h.insert(d, id) && len(h.e) == h.k {
			b.set(h.e[len(h.e)-1].d)
		}
		return
	}
	if f.offer(s, i, d) && h.full() {
		b.set(h.worst())
	}
}

// scan measures and offers every node at positions [lo, hi), the
// descendants of a bucket, updating the bound.
func (f *flatTree[T]) scan(s *scratch, q []T, lo, hi int32, b *bound) {
	if !f.euclid {
		for i := lo; i < hi; i++ {
			if d := f.dist(q, f.row(i)); d <= b.worst {
				f.offerAt(s, i, d, b)
			}
		}
		return
	}
	if f.lanes != nil {
		f.scanLanes(s, q, lo, hi, b)
		return
	}
	for i := lo; i < hi; i++ {
		if s2 := sqEuclidean(q, f.row(i)); s2 <= b.sq {
			f.offerSq(s, q, i, s2, b)
		}
	}
}

// offerSq offers the node at position i, whose squared Euclidean distance
// from q is s2, at the distance the tree's kernel gives it.
func (f *flatTree[T]) offerSq(s *scratch, q []T, i int32, s2 float64, b *bound) {
	d := math.Sqrt(s2)
	if !exactSquare(s2) {
		d = f.dist(q, f.row(i))
	}
	if d <= b.worst {
		f.offerAt(s, i, d, b)
	}
}

// distAt returns the distance from q to the node at position i: the tree's
// kernel, written out here for the Euclidean metric in two and three
// dimensions (the same arithmetic, so the same bits) to save a call.
func (f *flatTree[T]) distAt(q []T, i int32) float64 {
	var s float64
	switch {
	case f.euclid && f.dim == 2:
		o := 2 * int(i)
		p := f.pts[o : o+2 : o+2]
		d0, d1 := float64(q[0])-float64(p[0]), float64(q[1])-float64(p[1])
		s = d0*d0 + d1*d1
	case f.euclid && f.dim == 3:
		o := 3 * int(i)
		p := f.pts[o : o+3 : o+3]
		d0, d1, d2 := float64(q[0])-float64(p[0]), float64(q[1])-float64(p[1]), float64(q[2])-float64(p[2])
		s = d0*d0 + d1*d1 + d2*d2
	default:
		return f.dist(q, f.row(i))
	}
	if exactSquare(s) {
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

// flatBatchRatio: a version makes its flatTree once nodes/flatBatchRatio
// k-nearest or radius queries have been asked of it (in one batch or
// several), as making it costs about as much as that many queries.
const flatBatchRatio = 64

// seedFactor times the points a query needs (k, and one more for a fitted
// point) is the size of the subtree searched first around a query's home.
const seedFactor = 1

// plan returns the order in which to answer the queries of b (nil: as
// given), for fitted points their home positions, and for query points
// where each falls along the layout's Z-order curve (see locate; nil when
// the layout has none, or a k-d split, whose search does not need it). Fitted points are taken in the layout's order,
// query points of at most mortonDims dimensions along the Z-order curve,
// so that a worker's consecutive queries are near each other.
func (f *flatTree[T]) plan(t *Tree[T], b Batch[T], nq int) (order, homes, spots []int32) {
	if b.Points == nil {
		homes = make([]int32, nq)
		for i := range nq {
			id := b.First + i
			if b.IDs != nil {
				id = int(b.IDs[i])
			}
			homes[i] = f.pos[t.s.nodeOf(int32(id))]
		}
		keys := make([]uint64, nq)
		for i, h := range homes {
			keys[i] = uint64(h)
		}
		return sortedBy(keys), homes, nil
	}
	if f.zkey == nil {
		return nil, nil, nil
	}
	keys := mortonKeysIn(b.Points, f.dim, f.zlo, f.zhi)
	order = sortedBy(keys)
	if f.kdNodes != nil || f.kdnNodes != nil {
		return order, nil, nil // the k-d search starts from its root
	}
	spots = make([]int32, nq)
	at := 0
	for _, i := range order {
		at = f.locate(keys[i], at)
		spots[i] = int32(at)
	}
	return order, nil, spots
}

// around appends to dst the positions of the nodes next to spot along
// the Z-order curve: the last before it and the first after.
func (f *flatTree[T]) around(spot int32, dst []int32) []int32 {
	lo, hi := max(int(spot)-1, 0), min(int(spot)+1, len(f.zpos))
	return append(dst, f.zpos[lo:hi]...)
}

// mortonDims is the largest dimension in which query points are ordered
// along a Z-order curve (of 64/dim bits a coordinate: 4 in 16-D). Taking
// the fitted rows or the held-out rows of magic (10-D), pendigits and
// letter (16-D) in that order instead of as given cut the CPU time of a
// batch by 13% to 36% (BenchmarkKNearestReal, k = 10, two runs), as each
// query starts from the previous one's answer. (Locating each query point
// instead, among the tree's nodes sorted by Z-order key, made 10% to 20%
// fewer distance evaluations on held-out bunny and zipcodes queries, but
// sorting the nodes for each batch cost more than that saved.)
const mortonDims = 16

// sortedBy returns the permutation that sorts keys ascending, ties by
// position: a least-significant-digit radix sort, a byte a pass, which
// skips the bytes every key shares (all but the lowest few for positions).
func sortedBy(keys []uint64) []int32 {
	n := len(keys)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	if n < 2 {
		return order
	}
	tmp := make([]int32, n)
	for shift := 0; shift < 64; shift += 8 {
		var count [256]int
		for _, k := range keys {
			count[k>>shift&0xff]++
		}
		if count[keys[0]>>shift&0xff] == n {
			continue // one digit: the order stands
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, o := range order {
			d := keys[o] >> shift & 0xff
			tmp[count[d]] = o
			count[d]++
		}
		order, tmp = tmp, order
	}
	return order
}

// mortonKeysIn returns the Z-order (Morton) key of each row of points: its
// coordinates scaled to integers of 64/dim bits over the box [lo, hi] (a
// coordinate outside it counts as its nearest side), bits interleaved.
func mortonKeysIn[T Float](points []T, dim int, lo, hi []float64) []uint64 {
	keys := make([]uint64, len(points)/dim)
	mortonKeysInto(keys, points, dim, lo, hi)
	return keys
}

// mortonKeysInto is mortonKeysIn writing the keys to keys, one a point.
// Above three dimensions a coordinate's bits (16 at most) are spread by
// two lookups of a byte each (spreadTable), where spread moves them one
// at a time: in profiles of 60 layouts of magic the keys take 0.03-0.07 s
// where they took 0.16-0.19, and they had been 0.6-0.7% of the k-nearest
// batches of magic, pendigits and letter (BenchmarkKNearestReal), which
// key their queries the same way. The keys are the same.
func mortonKeysInto[T Float](keys []uint64, points []T, dim int, lo, hi []float64) {
	bits := 64 / dim
	top := float64(uint64(1)<<bits - 1)
	var tab *[256]uint64
	if dim > 3 {
		tab = spreadTable(dim)
	}
	for i := range keys {
		var key uint64
		for j := range dim {
			u := (float64(points[i*dim+j]) - lo[j]) / (hi[j] - lo[j])
			if !(u >= 0) { // a zero or infinite width, or NaN
				u = 0
			}
			c := uint64(min(u, 1) * top)
			if tab != nil {
				key |= (tab[c&0xff] | tab[c>>8&0xff]<<(8*dim)) << j
			} else {
				key |= spread(c, dim) << j
			}
		}
		keys[i] = key
	}
}

// spreadTable returns spread of every byte in dim dimensions: a
// coordinate of up to 16 bits spreads as its low byte's entry or'ed with
// its high byte's shifted by 8*dim.
func spreadTable(dim int) *[256]uint64 {
	var t [256]uint64
	for c := range t {
		t[c] = spread(uint64(c), dim)
	}
	return &t
}

// spread returns c with its bit b moved to bit b*dim, for the 64/dim low
// bits of c: by shifts and masks in two and three dimensions.
func spread(c uint64, dim int) uint64 {
	switch dim {
	case 1:
		return c
	case 2:
		c &= 0xffffffff
		c = (c | c<<16) & 0x0000ffff0000ffff
		c = (c | c<<8) & 0x00ff00ff00ff00ff
		c = (c | c<<4) & 0x0f0f0f0f0f0f0f0f
		c = (c | c<<2) & 0x3333333333333333
		return (c | c<<1) & 0x5555555555555555
	case 3:
		c &= 0x1fffff
		c = (c | c<<32) & 0x001f00000000ffff
		c = (c | c<<16) & 0x001f0000ff0000ff
		c = (c | c<<8) & 0x100f00f00f00f00f
		c = (c | c<<4) & 0x10c30c30c30c30c3
		return (c | c<<2) & 0x1249249249249249
	}
	var out uint64
	for bit := range 64 / dim {
		out |= (c >> bit & 1) << (bit * dim)
	}
	return out
}
