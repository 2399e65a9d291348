package core

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
)

// Build builds a compressed cover tree over the n = len(data)/dim points
// stored row-major in data, with caller indices 0..n-1. The tree copies the
// points, so data may be reused once Build returns.
//
// Build constructs the tree top down by the batch construction of
// Beygelzimer, Kakade and Langford (see batchbuild.go): a node's call holds
// the points not yet placed within b^(i+1)/(b-1) of it; those near it go
// down with it a level, the others near it become its children one after
// another, each taking the points within reach of it down with it. Each
// step is a loop over a contiguous set of points with their coordinates,
// large sets are measured in parallel, and the root and the order the
// children are taken in are random, fixed by opts.Seed: the same data and
// seed give the same tree for any opts.Jobs.
//
// Points of one to three coordinates under Euclidean, Manhattan,
// Chebyshev or (unweighted) Minkowski distances are built bottom up on
// grids instead (see gridbuild.go): each level's net is chosen from the
// one below among neighbouring cells, with no friend lists and a few
// distance evaluations a point; opts.Seed shifts the grids. Data whose
// spread the grids cannot index take the batch construction.
//
// With opts.Engine set, the tree is built level by level as nested nets
// (see netbuild.go), the engine computing the large batches of distances:
// at each level the points farther than b^i from every node so far are
// settled by a maximal set of them pairwise farther than b^i apart, chosen
// in parallel over the cells of the nodes above and reconciled across
// neighbouring cells by a maximal independent set.
//
// Every construction lays the nodes out so that the children of each node
// are contiguous, and makes subtree radii exact.
//
// Build returns an error if dim < 1, len(data) is not a positive multiple
// of dim, a coordinate is NaN or infinite, or an option is invalid.
func Build[T Float](data []T, dim int, opts Options) (t *Tree[T], err error) {
	defer catch(&err)
	_, sc, err := opts.check(data, dim)
	if err != nil {
		return nil, err
	}
	if data, err = prepare(opts.Metric, data, dim); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	empty := newTree[T](dim, opts.Metric, sc, opts.Seed)
	lo, hi, err := empty.widenBox(data, opts.jobs())
	if err != nil {
		return nil, err
	}
	ok := false
	if !opts.netOnly {
		if t, ok, err = gridBuild(data, dim, lo, hi, sc, opts); err != nil {
			return nil, err
		}
	}
	how := "grid"
	switch {
	case ok:
	case opts.Engine != nil || opts.netOnly:
		how = "levels"
		if t, err = netBuild(data, dim, sc, opts); err != nil {
			return nil, err
		}
	default:
		how = "batch"
		if t, err = batchBuild(data, dim, sc, opts); err != nil {
			return nil, err
		}
	}
	if opts.built != nil {
		*opts.built = how
	}
	t.lo, t.hi = lo, hi
	return t, nil
}

// BuildIncremental builds a compressed cover tree by the parallel batch
// insertion of Gu, Napier, Sun and Wang into an empty tree: the points are
// taken in a random order fixed by opts.Seed, in batches of 1, 1, 2, 4, ...
// points (prefix doubling, so no batch is larger than the tree it joins);
// each batch is located in the tree in parallel and its conflicts are
// settled level by level with maximal independent sets. It is what Insert
// does, and the reference that Build is tested against; Build is faster.
// Arguments and errors are as for Build.
func BuildIncremental[T Float](data []T, dim int, opts Options) (t *Tree[T], err error) {
	defer catch(&err)
	_, sc, err := opts.check(data, dim)
	if err != nil {
		return nil, err
	}
	// insert prepares the points (normalises them for Cosine).
	empty := newTree[T](dim, opts.Metric, sc, opts.Seed)
	t, _, err = empty.insert(data, opts.jobs(), true, locateAuto, false, opts.Monitor)
	if err != nil {
		return nil, err
	}
	t = t.compact()
	t.buildEvals += t.exactRadii()
	return t, nil
}

// Insert returns a new version of t that also holds the n = len(points)/dim
// points given row-major, with the caller indices first, first+1, ...,
// first+n-1, where first is t.IDs(): indices are never reused. t itself is
// unchanged. The points are inserted in a random order, in batches no
// larger than the tree (prefix doubling), each by parallel location and
// level-by-level conflict resolution on opts.Jobs goroutines; a batch
// whose points crowd a region the tree barely holds goes in parts. An
// insertion of a quarter of the tree or more in two or three dimensions
// builds a new tree of all the points instead, as Build does, with the
// same caller indices: it costs less than the batches.
func (t *Tree[T]) Insert(points []T, opts UpdateOptions) (nt *Tree[T], first int, err error) {
	defer catch(&err)
	return t.insert(points, opts.jobs(), false, opts.locate, opts.batchesOnly, opts.Monitor)
}

// UpdateOptions configures Insert and Delete.
type UpdateOptions struct {
	// Jobs is the number of goroutines the update uses; values below 1
	// mean 1 and values above GOMAXPROCS mean GOMAXPROCS. The new version
	// does not depend on it.
	Jobs int
	// Monitor, if not nil, counts the points inserted or deleted and can
	// stop the update, which then returns ErrStopped and no new version.
	Monitor *Monitor

	locate      locateHow // for the tests: how to locate the items
	batchesOnly bool      // for the tests: insert by batches alone, each whole (no batchCut, no rebuild)
}

// locateHow chooses how an update locates its items: as useLocLayout
// says, or always by traversing the tree, or always by a locLayout. Each
// way gives the same locations, so the same trees.
type locateHow int8

const (
	locateAuto locateHow = iota
	locateByTraversal
	locateByLayout
)

func (o UpdateOptions) jobs() int { return workers(o.Jobs) }

// insert is Insert. With relayout, the tree is compacted after each batch
// that leaves it large, so that the next batch's traversals read children
// from consecutive slots; Build uses it, as its tree shares no storage. An
// update of an existing tree does not, so that it copies only what it
// changes.
func (t *Tree[T]) insert(points []T, jobs int, relayout bool, how locateHow, batchesOnly bool, m *Monitor) (nt *Tree[T], first int, err error) {
	n, err := checkPoints(points, t.s.dim)
	if err != nil {
		return nil, 0, err
	}
	if points, err = prepare(t.metric, points, t.s.dim); err != nil {
		return nil, 0, fmt.Errorf("core: %w", err)
	}
	if int64(t.s.nids)+int64(n) > math.MaxInt32 {
		return nil, 0, fmt.Errorf("core: %d more caller indices exceed the limit of %d", n, math.MaxInt32)
	}
	lo, hi, err := t.widenBox(points, jobs)
	if err != nil {
		return nil, 0, err
	}
	if !relayout && !batchesOnly && t.root >= 0 && n*rebuildShare >= t.n {
		if nt, ok, err := t.rebuild(nil, points, lo, hi, true, jobs, m); err != nil || ok {
			if err != nil {
				return nil, 0, err
			}
			m.add(n)
			return nt, int(t.s.nids), nil
		}
	}
	nt = t.derive()
	nt.lo, nt.hi, nt.locateBy, nt.batchesOnly = lo, hi, how, batchesOnly
	first32 := nt.s.newIDs(int32(n))
	rng := rand.New(rand.NewPCG(t.seed, uint64(first32)))
	if nt, err = nt.insertRows(points, rng.Perm(n), first32, jobs, relayout, m); err != nil {
		return nil, 0, err
	}
	return nt, int(first32), nil
}

// rebuildShare is the inverse of the least share of a tree, in points to
// insert, above which an insertion in two or three dimensions builds a
// new tree of all the points (rebuild). Measured on the 2-core
// development machine, one and two threads, a random part of bunny and of
// the zip codes held out and inserted into the tree of the rest, two runs,
// best of 3 each: by batches, 10% more points took 11-25 ms, 25% more
// 29-54, 50% more 45-114, twice the points 69-162, against 22-37 for the
// build of the whole; rebuilt, 50% more 25-39 ms and twice the points
// 24-39. Above three dimensions the batches stay faster than a rebuild up
// to about half as many points again (letter, magic, pendigits: 25% more
// 18-86 ms against builds of 35-177), and an insertion is not rebuilt.
const rebuildShare = 4

// Deletions build a new tree of the points left (rebuild) where they
// delete at least 1/rebuildDelGrid of a tree the grids can build, or
// 1/rebuildDelShare of another. Measured on the 2-core development
// machine, one and two threads, deleting a random part of the whole tree,
// two runs, best of 3 each, by batches: bunny and the zip codes 10% 16-28
// ms, 25% 31-52, 50% 53-136, 75% 227-768, their builds 22-37 ms; letter,
// magic and pendigits 10% 11-52, 25% 26-129, 50% 55-381, 75% 101-429,
// their builds 35-177. The rebuild of the rest made the 50% and 75%
// deletions 3 to 70 times as fast (bunny 75%: 7-9 ms; the zip codes 75%:
// 7-11 ms; letter 75%: 27-42 ms); below a quarter the batches are about
// as fast.
const (
	rebuildDelGrid  = 5
	rebuildDelShare = 3
)

// rebuild returns a new tree of t's points but those whose caller index
// drop reports, and the prepared points given, with t's caller indices
// and the new ones after them (as Insert issues them), built as Build
// builds it: by grids where they apply, else (unless grids is set) by the
// batch construction. It returns ok false where it builds nothing: grids
// set and the grids do not apply (more than three dimensions, a metric or
// a span they do not take), or fewer than two points. Old and new trees
// share nothing; t is unchanged. A grid build takes a few passes over
// each point (bunny: 16 distances a point), where each point inserted
// takes a search from the root and its share of its batch's conflicts
// (bunny: 126 a point) and each orphan of a deletion a search again: a
// large update costs more than a build of the whole.
func (t *Tree[T]) rebuild(drop func(id int32) bool, points []T, lo, hi []float64, grids bool, jobs int, m *Monitor) (*Tree[T], bool, error) {
	dim := t.s.dim
	byGrids := gridMetric(t.metric, dim) // up to three dimensions
	if grids && !byGrids {
		return nil, false, nil
	}
	// The rows by caller index: the old ones kept, then the new; ids
	// maps a row to its index, ascending.
	n := len(points) / dim
	rows := make([]T, 0, (t.n+n)*dim)
	ids := make([]int32, 0, t.n+n)
	for id := range t.s.nids {
		if u := t.s.nodeOf(id); u >= 0 && (drop == nil || !drop(id)) {
			rows = append(rows, t.point(u)...)
			ids = append(ids, id)
		}
	}
	rows = append(rows, points...)
	for k := range int32(n) {
		ids = append(ids, t.s.nids+k)
	}
	if len(ids) < 2 {
		return nil, false, nil
	}
	// The build reports no progress of its own (the caller counts the
	// points inserted or deleted) but stops when asked.
	var stop *Monitor
	if m != nil {
		stop = &Monitor{Stop: m.Stop}
	}
	opts := Options{Metric: t.metric, Seed: t.seed, Jobs: jobs, Monitor: stop}
	var nt *Tree[T]
	ok := false
	var err error
	if byGrids {
		// The grids are laid over the box of the points built, as Build
		// lays them: a deletion of the last rows of a tree built once
		// leaves the tree Build makes of the rest.
		blo, bhi := emptyBox(dim)
		extendBoxJobs(blo, bhi, rows, jobs)
		nt, ok, err = gridBuild(rows, dim, blo, bhi, t.scale, opts)
	}
	switch {
	case err != nil:
		return nil, false, err
	case !ok && grids:
		return nil, false, nil
	case !ok:
		if nt, err = batchBuild(rows, dim, t.scale, opts); err != nil {
			return nil, false, err
		}
	}
	// Row r holds caller index ids[r]: the map is increasing, so each
	// node's indices stay in order.
	// setIDs copies a list of several, so one buffer serves every node.
	s := nt.s
	s.idc, s.nids = nil, t.s.nids+int32(n)
	var list []int32
	for u := range s.slots {
		nd := s.mut(u)
		if !nd.live() {
			continue
		}
		list = append(list[:0], nd.idList()...)
		for j, r := range list {
			list[j] = ids[r]
			s.setNodeOf(ids[r], u)
		}
		nd.setIDs(list)
	}
	nt.lo, nt.hi = lo, hi
	nt.buildEvals += t.buildEvals
	return nt, true, nil
}

// insertRows inserts into t, which it owns, the rows of the prepared
// points named by order, in that order, row r with caller index first+r
// (issued already), by prefix-doubling batches. It returns the tree, which
// is t unless a relayout made a new one.
func (t *Tree[T]) insertRows(points []T, order []int, first int32, jobs int, relayout bool, m *Monitor) (*Tree[T], error) {
	nt := t
	n := len(order)
	laidOut := nt.nodes // nodes at the last relayout
	for done := 0; done < n; {
		if m.stopped() {
			return nil, ErrStopped
		}
		// Prefix doubling: a batch no larger than the tree, and no larger
		// than maxBatch or an eighth of the tree, which bounds the memory
		// of its scopes and conflict lists (see maxBatch).
		size := min(max(nt.nodes, 1), n-done, max(maxBatch, nt.nodes/8))
		batch := order[done : done+size]
		placed, err := nt.insertBatch(points, batch, first, jobs, m)
		if err != nil {
			return nil, err
		}
		done += placed
		// Relayout when the tree has doubled since the last: O(n) copies
		// in all.
		if relayout && done < n && nt.nodes >= 1<<12 && nt.nodes >= 2*laidOut {
			nt = nt.compact()
			laidOut = nt.nodes
		}
	}
	return nt, nil
}

// maxBatch is the largest batch inserted at once. A batch holds every
// item's conflict list, whose length grows with the batch's density in the
// tree, so a batch's memory grows as its size squared over the tree's;
// with batches of 65,536 a build of 100,000 points in 16 dimensions peaked
// at 2.1 GiB and one of 1,000,000 ran out of 24 GiB. Batches of 4,096
// peaked at 145 MiB and built faster (6.1 s against 8.2 s on 2 threads)
// for 13% more distance evaluations; 4,096 items still give each of 16
// workers 256 per parallel step. A batch of at most an eighth of a larger
// tree is sparse in it, so its conflict lists stay short: inserting 10%
// more points into a large tree then takes one batch or two, located in
// one pass along a space-filling curve, instead of many batches each
// spread thin over the tree.
const maxBatch = 1 << 12

// hash64 mixes x (splitmix64's finaliser).
func hash64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// locScratch is one worker's traversal buffers: the lists a traversal
// measures into, and an arena that keeps each item's trimmed lists.
type locScratch struct {
	q, q2 []locCand
	list  []listed
	scan  locScan // a locLayout's search
	// The lists of the item in progress, reused from item to item.
	seen  []int32
	seenD []float64
	seenL []int32
	// The arena of trimmed lists, in chunks of chunk entries (set by
	// locateAll) or of the scope's length where it is longer.
	nodes  []int32
	dists  []float64
	levels []int32
	chunk  int
}

// arenaChunk is the largest chunk of a locScratch arena, in entries (but
// for a longer scope, which takes a chunk of its own length).
const arenaChunk = 1 << 15

// scopeGuess is the entries a chunk of a locScratch arena holds for each
// item its worker locates: trimmed scopes hold about 12 (bunny) to 30
// (letter) nodes. Chunks of arenaChunk whatever the batch had cost an
// insertion of one point 0.5 MB to clear.
const scopeGuess = 32

// keep moves l's trimmed lists, which alias the scratch's reused lists,
// into the arena.
func (b *locScratch) keep(l *located) {
	n := len(l.seen)
	if cap(b.nodes)-len(b.nodes) < n {
		c := max(b.chunk, n)
		b.nodes, b.dists, b.levels = make([]int32, 0, c), make([]float64, 0, c), make([]int32, 0, c)
	}
	at := len(b.nodes)
	b.nodes, b.dists, b.levels = append(b.nodes, l.seen...), append(b.dists, l.seenD...), append(b.levels, l.seenL...)
	l.seen, l.seenD, l.seenL = b.nodes[at:at+n:at+n], b.dists[at:at+n:at+n], b.levels[at:at+n:at+n]
}

// locateAll locates every item in parallel.
// It reports each block of items located to m, and stops early (returning
// ErrStopped) when m asks.
//
// The items are taken along a space-filling curve (curveOrder), so that
// consecutive traversals read mostly the same nodes. A traversal may
// measure hundreds of nodes of which its trimmed scope keeps a few: it
// measures into the worker's reused lists, and only the trimmed scope is
// copied into the arena that the batch holds. A batch that is large
// against the tree (useLocLayout) first copies the nodes into a locLayout
// and searches that instead of walking the node records: the same nodes
// listed, so the same locations.
func (t *Tree[T]) locateAll(items []item, pt func(k int) []T, ghost []bool, jobs int, m *Monitor) (int64, error) {
	bufs := make([]locScratch, max(jobs, 1))
	for w := range bufs {
		bufs[w].chunk = min(max(scopeGuess*len(items)/len(bufs), 2*scopeGuess), arenaChunk)
	}
	order := curveOrder(len(items), t.s.dim, pt)
	var lay *locLayout[T]
	if t.locateBy == locateByLayout || (t.locateBy == locateAuto && useLocLayout(len(items), t.nodes, t.s.dim)) {
		lay = t.locLayout(jobs)
	}
	var stopped atomic.Bool
	forRange(len(items), jobs, func(w, lo, hi int) {
		if stopped.Load() || m.stopped() {
			stopped.Store(true)
			return
		}
		defer m.add(hi - lo)
		b := &bufs[w]
		for _, k := range order[lo:hi] {
			it := &items[k]
			it.loc.seen, it.loc.seenD, it.loc.seenL = b.seen[:0], b.seenD[:0], b.seenL[:0]
			if lay != nil {
				var evals int
				b.list, evals = lay.list(t, pt(int(k)), it.floor, b.list[:0], &b.scan)
				// The list is in depth-first order; resolve does not
				// depend on the order, and sorts the trimmed scope by
				// slot (sortScope).
				t.resolve(it.floor, it.slot, ghost, b.list, &it.loc)
				it.loc.evals += evals
			} else {
				b.list, b.q, b.q2 = t.locate(pt(int(k)), it.floor, it.slot, ghost, &it.loc, b.list, b.q, b.q2)
			}
			// Keep the grown lists for the next item; move the trimmed
			// scope into the arena.
			b.seen, b.seenD, b.seenL = it.loc.seen, it.loc.seenD, it.loc.seenL
			b.keep(&it.loc)
		}
	})
	var evals int64
	for k := range items {
		evals += int64(items[k].loc.evals)
	}
	if stopped.Load() {
		return evals, ErrStopped
	}
	return evals, nil
}

// insertBatch inserts rows batch of points (caller indices first+row) into
// t, which it owns: all of them, or where their conflicts would be dense
// (batchCut), the first of them, and returns how many it inserted.
func (t *Tree[T]) insertBatch(points []T, batch []int, first int32, jobs int, m *Monitor) (int, error) {
	dim := t.s.dim
	row := func(k int) []T {
		o := batch[k] * dim
		return points[o : o+dim : o+dim]
	}
	if t.root < 0 {
		// The first point becomes the root; the rest go in later batches.
		u := t.s.add(row(0))
		n := t.s.mut(u)
		id := first + int32(batch[0])
		n.level, n.weight = levelInf, 1
		n.setIDs([]int32{id})
		t.s.setNodeOf(id, u)
		t.root, t.n, t.nodes = u, 1, 1
		m.add(1)
		if len(batch) > 1 {
			placed, err := t.insertBatch(points, batch[1:], first, jobs, m)
			return 1 + placed, err
		}
		return 1, nil
	}
	items := make([]item, len(batch))
	for k := range items {
		items[k] = item{floor: levelNegInf, slot: -1, prio: hash64(t.seed ^ hash64(uint64(first)+uint64(batch[k])))}
	}
	located, err := t.locateAll(items, row, nil, jobs, m)
	t.buildEvals += located
	if err != nil {
		return 0, err
	}
	if !t.batchesOnly {
		if k := t.batchCut(items, located, jobs); k < len(items) {
			// The items left for later batches are located, and
			// counted, again there.
			m.add(k - len(items))
			items, batch = items[:k], batch[:k]
		}
	}
	evals, err := t.place(items, row, jobs)
	t.buildEvals += evals
	if err != nil {
		return 0, err
	}

	// New nodes, in batch order; duplicates join their node.
	slot := make([]int32, len(items))
	resolve := func(r int32) int32 {
		if k, ok := refItem(r); ok {
			return slot[k]
		}
		return r
	}
	for k := range items {
		slot[k] = -1
		if items[k].state == placed {
			slot[k] = t.s.add(row(k))
		}
	}
	// Follow chains of duplicates to the node that holds them.
	var target func(k int) int32
	target = func(k int) int32 {
		it := &items[k]
		if it.state == placed {
			return slot[k]
		}
		if j, ok := refItem(it.dupOf); ok {
			return target(j)
		}
		return it.dupOf
	}
	// Caller indices by the node that holds them (existing or new).
	adds := make([]edge, len(items))
	for k := range items {
		adds[k] = edge{to: target(k), from: first + int32(batch[k])}
	}
	var touched []int32 // nodes whose indices or children changed
	for _, run := range edgeRuns(adds) {
		u := run[0].to
		n := t.s.mut(u)
		merged := append(make([]int32, 0, len(n.idList())+len(run)), n.idList()...)
		for _, e := range run {
			merged = append(merged, e.from)
			t.s.setNodeOf(e.from, u)
		}
		slices.Sort(merged)
		n.setIDs(merged)
		touched = append(touched, u)
	}
	kids := make([]edge, 0, len(items))
	for k := range items {
		it := &items[k]
		if it.state != placed {
			continue
		}
		n := t.s.mut(slot[k])
		n.level, n.parent, n.pdist = it.level, resolve(it.parent), it.pdist
		n.reach = it.pdist
		kids = append(kids, edge{to: n.parent, from: slot[k]})
		t.nodes++
	}
	t.n += len(items)
	touched = t.adopt(kids, touched, jobs)
	// Radius bounds: every ancestor a of a new node x reaches x.
	t.buildEvals += t.widen(items, slot, row, func(k int) float64 { return 0 }, jobs)
	t.regroupPaths(touched, jobs)
	return len(items), nil
}

// edge links node (or caller index) from to node to.
type edge struct{ to, from int32 }

// edgeRuns sorts edges by target, then source, and returns the runs of
// one target each.
func edgeRuns(es []edge) [][]edge {
	// By one key each, (to, from) in its bits, sorted as integers.
	keys := make([]uint64, len(es))
	for i, e := range es {
		keys[i] = pairKey(e.to, e.from)
	}
	slices.Sort(keys)
	for i, k := range keys {
		es[i] = edge{to: int32(uint32(k>>32) ^ 1<<31), from: int32(uint32(k) ^ 1<<31)}
	}
	var runs [][]edge
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && es[j].to == es[i].to {
			j++
		}
		runs = append(runs, es[i:j])
		i = j
	}
	return runs
}

// pairKey packs two int32s into a uint64 whose unsigned order is theirs,
// by a and then b.
func pairKey(a, b int32) uint64 {
	return uint64(uint32(a)^1<<31)<<32 | uint64(uint32(b)^1<<31)
}

// adopt adds each edge's source to its target's children, which it keeps
// sorted, and returns touched with the targets appended. The targets'
// chunks are copied first and the targets then written in parallel.
func (t *Tree[T]) adopt(kids []edge, touched []int32, jobs int) []int32 {
	runs := edgeRuns(kids)
	for _, run := range runs {
		touched = append(touched, run[0].to)
	}
	t.ownChunks(touched[len(touched)-len(runs):], jobs)
	forRange(len(runs), jobs, func(_, lo, hi int) {
		for _, run := range runs[lo:hi] {
			n := t.s.mut(run[0].to)
			all := append(make([]int32, 0, len(n.children())+len(run)), n.children()...)
			for _, e := range run {
				all = append(all, e.from)
			}
			t.sortKids(all)
			n.setKids(all)
		}
	})
	return touched
}

// ownChunks makes t the owner of the chunks that hold the given slots,
// copying those it shares with other versions on jobs goroutines: each
// chunk is copied once, by one goroutine, and the writes that follow copy
// nothing, so distinct slots may then be written concurrently.
func (t *Tree[T]) ownChunks(slots []int32, jobs int) {
	s := t.s
	mark := make([]bool, len(s.chunks))
	var shared []int32
	for _, u := range slots {
		i := u >> chunkBits
		if !mark[i] && s.chunks[i].owner != s.own {
			mark[i] = true
			shared = append(shared, i)
		}
	}
	forRange(len(shared), jobs, func(_, lo, hi int) {
		for _, i := range shared[lo:hi] {
			s.mut(i << chunkBits)
		}
	})
}

// widen raises the radius bounds of the ancestors of every placed item k
// (node slot[k]) to cover a ball of radius extra(k) around it: rad(a) and
// the reach of a's child on the path become at least d(a, x) + extra(k).
// Going up from x, d(a, x) is bounded above by the child's distance to a
// plus the bound on the child's own distance to x; where that bound plus
// extra(k) is already within both rad(a) and the child's reach, nothing
// changes and nothing is measured. Otherwise the distance comes from the
// item's traversal where it measured it and is computed where not. It
// returns the evaluations spent.
func (t *Tree[T]) widen(items []item, slot []int32, pt func(k int) []T, extra func(k int) float64, jobs int) int64 {
	type hop struct {
		a, c int32 // ancestor, and its child on the path
		d    float64
	}
	hops := make([][]hop, max(jobs, 1))
	counts := make([]int64, max(jobs, 1))
	forRange(len(items), jobs, func(w, lo, hi int) {
		hs := hops[w]
		for k := lo; k < hi; k++ {
			if items[k].state != placed || slot[k] == t.root {
				continue
			}
			x := slot[k]
			px := pt(k)
			ext := extra(k)
			ub := 0.0 // bounds d(c, x) from above
			for c, a := x, t.node(x).parent; a >= 0; c, a = a, t.node(a).parent {
				an, cn := t.node(a), t.node(c)
				var d float64
				switch {
				case c == x:
					d = cn.pdist
				case cn.pdist+ub+ext <= min(an.rad, cn.reach):
					// The triangle inequality through c settles it.
					ub += cn.pdist
					continue
				default:
					var ok bool
					if d, ok = items[k].loc.distTo(a); !ok {
						d = t.dist(px, t.point(a))
						counts[w]++
					}
				}
				ub = d
				if an.rad < d+ext || cn.reach < d+ext {
					hs = append(hs, hop{a: a, c: c, d: d + ext})
				}
			}
		}
		hops[w] = hs
	})
	evals := sum(counts)
	var at []int32
	for _, hs := range hops {
		for _, h := range hs {
			at = append(at, h.a, h.c)
		}
	}
	t.ownChunks(at, jobs)
	for _, hs := range hops {
		for _, h := range hs {
			if an := t.node(h.a); an.rad < h.d {
				t.s.mut(h.a).rad = h.d
			}
			if cn := t.node(h.c); cn.reach < h.d {
				t.s.mut(h.c).reach = h.d
			}
		}
	}
	return evals
}

// regroupPaths rebuilds the groups and weights of the nodes touched and of
// all their ancestors, children before parents (by level, as a child's
// level is below its parent's). It reads only those paths. The nodes of
// one level, none the child of another, are regrouped in parallel.
func (t *Tree[T]) regroupPaths(touched []int32, jobs int) {
	mark := make([]uint64, (t.s.slots+63)/64)
	var order []uint64 // (level, node) as pairKey
	for _, u := range touched {
		// Climb until a node already marked: its ancestors are too.
		for a := u; a >= 0 && mark[a>>6]&(1<<(a&63)) == 0; a = t.node(a).parent {
			mark[a>>6] |= 1 << (a & 63)
			order = append(order, pairKey(t.node(a).level, a))
		}
	}
	slices.Sort(order)
	all := make([]int32, len(order))
	for i, k := range order {
		all[i] = int32(uint32(k) ^ 1<<31)
	}
	t.ownChunks(all, jobs)
	for lo := 0; lo < len(order); {
		hi := lo + 1
		for hi < len(order) && order[hi]>>32 == order[lo]>>32 {
			hi++
		}
		forRange(hi-lo, jobs, func(_, a, b int) {
			for _, u := range all[lo+a : lo+b] {
				t.regroup(u)
			}
		})
		lo = hi
	}
}

// Delete returns a new version of t without the given caller indices; t
// itself is unchanged. Deleting one of several identical points removes
// just that index. A node that loses its last index is removed: its
// children (orphans) are each re-attached to another node of higher level
// within reach, or promoted to a higher level, the promotions settled level
// by level with maximal independent sets as for insertion (Gu, Napier, Sun
// and Wang's batch deletion on the compressed tree); if the root goes, the
// orphan of highest level becomes the new root. A deletion of a fifth of
// a tree or more in two or three dimensions (a third in others, custom
// metrics aside) builds a new tree of the points left instead, as Build
// does, with their caller indices: it costs less than the orphans'
// relocation.
//
// Delete returns an error, and no new version, if an index is not held by
// t or is given twice.
func (t *Tree[T]) Delete(ids []int64, opts UpdateOptions) (nt *Tree[T], err error) {
	defer catch(&err)
	jobs := opts.jobs()
	if opts.Monitor.stopped() {
		return nil, ErrStopped
	}
	defer func() {
		if err == nil {
			opts.Monitor.add(len(ids))
		}
	}()
	// The indices by the node that holds them: runs of (node, index)
	// pairs, sorted.
	seen := make([]uint64, (t.s.nids+63)/64)
	pairs := make([]edge, len(ids))
	for i, id := range ids {
		if id < 0 || id >= int64(t.s.nids) || t.s.nodeOf(int32(id)) < 0 {
			return nil, fmt.Errorf("core: caller index %d is not in the tree", id)
		}
		if seen[id>>6]&(1<<(id&63)) != 0 {
			return nil, fmt.Errorf("core: caller index %d is given twice", id)
		}
		seen[id>>6] |= 1 << (id & 63)
		pairs[i] = edge{to: t.s.nodeOf(int32(id)), from: int32(id)}
	}
	if share := rebuildDelShare; !opts.batchesOnly && t.n > 0 && len(ids) > 0 {
		if gridMetric(t.metric, t.s.dim) {
			share = rebuildDelGrid
		}
		if len(ids)*share >= t.n && t.metric.Kind != Custom {
			drop := func(id int32) bool { return seen[id>>6]&(1<<(id&63)) != 0 }
			if nt, ok, err := t.rebuild(drop, nil, t.lo, t.hi, false, jobs, opts.Monitor); err != nil || ok {
				return nt, err
			}
		}
	}
	byNode := edgeRuns(pairs)
	nt = t.derive()
	nt.locateBy = opts.locate
	if len(ids) == 0 {
		return nt, nil
	}
	s := nt.s
	ghost := make([]bool, s.slots)
	var ghosts []int32
	var touched []int32 // live nodes whose indices or children changed
	held := make([]int32, 0, len(byNode))
	for _, run := range byNode {
		held = append(held, run[0].to)
	}
	nt.ownChunks(held, jobs)
	for _, run := range byNode {
		u := run[0].to
		n := s.mut(u)
		// Both ascending: merge.
		keep := make([]int32, 0, int(n.nid)-len(run))
		j := 0
		for _, id := range n.idList() {
			if j < len(run) && run[j].from == id {
				j++
				continue
			}
			keep = append(keep, id)
		}
		for _, e := range run {
			s.setNodeOf(e.from, -1)
		}
		n.setIDs(keep)
		if len(keep) == 0 {
			ghost[u] = true
			ghosts = append(ghosts, u)
		} else {
			touched = append(touched, u)
		}
	}
	nt.n -= len(ids)
	nt.nodes -= len(ghosts)
	if nt.nodes == 0 {
		// Everything is gone.
		for _, g := range ghosts {
			*s.mut(g) = node{parent: -1}
		}
		nt.root = -1
		return nt, nil
	}
	slices.Sort(ghosts)
	// Orphans: live children of removed nodes, with their subtrees.
	var items []item
	for _, g := range ghosts {
		for _, c := range nt.node(g).children() {
			if !ghost[c] {
				items = append(items, item{floor: nt.node(c).level, slot: c, prio: hash64(nt.seed ^ hash64(uint64(c)))})
			}
		}
	}
	pt := func(k int) []T { return nt.point(items[k].slot) }
	if len(items) > 0 {
		var stopOnly *Monitor // deletions report their count at the end
		if opts.Monitor != nil {
			stopOnly = &Monitor{Stop: opts.Monitor.Stop}
		}
		located, err := nt.locateAll(items, pt, ghost, jobs, stopOnly)
		nt.buildEvals += located
		if err != nil {
			return nil, err
		}
		if opts.Monitor.stopped() {
			return nil, ErrStopped
		}
		evals, err := nt.place(items, pt, jobs)
		nt.buildEvals += evals
		if err != nil {
			return nil, err
		}
		for k := range items {
			if items[k].state != placed {
				return nil, errors.New("core: internal error: an orphan was merged as a duplicate")
			}
		}
	}
	// Detach removed nodes from live parents.
	for _, g := range ghosts {
		p := nt.node(g).parent
		if p < 0 || ghost[p] {
			continue
		}
		isGhost := func(c int32) bool { return ghost[c] }
		if !slices.ContainsFunc(nt.node(p).children(), isGhost) {
			continue // detached already, with a sibling
		}
		n := s.mut(p)
		n.setKids(slices.DeleteFunc(slices.Clone(n.children()), isGhost))
		touched = append(touched, p)
	}
	// Re-attach orphans.
	slot := make([]int32, len(items))
	for k := range items {
		slot[k] = items[k].slot
	}
	nt.ownChunks(slot, jobs)
	kids := make([]edge, 0, len(items))
	for k := range items {
		it := &items[k]
		n := s.mut(it.slot)
		n.level = it.level
		if it.level == levelInf {
			n.parent, n.pdist, n.reach = -1, 0, 0
			nt.root = it.slot
			continue
		}
		p := it.parent
		if j, ok := refItem(p); ok {
			p = items[j].slot
		}
		n.parent, n.pdist = p, it.pdist
		n.reach = it.pdist + n.rad
		kids = append(kids, edge{to: p, from: it.slot})
	}
	touched = nt.adopt(kids, touched, jobs)
	for _, g := range ghosts {
		*s.mut(g) = node{parent: -1}
	}
	touched = slices.DeleteFunc(touched, func(u int32) bool { return ghost[u] })
	nt.buildEvals += nt.widen(items, slot, pt, func(k int) float64 { return nt.node(items[k].slot).rad }, jobs)
	nt.regroupPaths(touched, jobs)
	return nt, nil
}
