package core

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// The batch construction (Build above three dimensions and for metrics the
// grids cannot take).
//
// Beygelzimer, Kakade and Langford (2006) build a cover tree top down by
// recursion over sets of points: a call for node p at level i holds the
// points not yet placed that lie within b^i of p (near) and those within
// b^(i+1) (far). The near points within b^(i-1) of p go on with p itself
// one level down; every near point left after that becomes a child of p of
// level i-1, one after another, taking with it the near and far points
// within b^i of it (those within b^(i-1) as its near ones); what it does not
// place comes back and is sorted into p's near or far points again. The far
// points that p does not place go back to p's caller. A point placed by a
// child is farther than b^(i-1) from p and from every node of level >= i-1
// made before it (it would have been taken by that node's call otherwise),
// so the nodes of level >= i-1 are pairwise farther than b^(i-1) apart and
// each lies within b^i of its parent: the compressed cover tree's
// conditions. A call whose near points all lie within b^j of p, j < i,
// goes straight to level j: the levels between hold p alone.
//
// Every step is a loop over a contiguous slice of (point, distance) pairs,
// and each point is measured against the children of the few calls that
// hold it at each level: no friend lists, no conflict graphs. Points
// returned by a child carry their distance to that child; their distance
// to p is remembered if they went no deeper and measured again otherwise.
// Large calls measure their points in parallel (tasks too, where threads
// wait for work: see parts), and calls without far points are built as
// tasks on other goroutines (batchtask.go); every
// other step of the recursion is sequential, and a task makes the choices
// the recursion would, so the tree does not depend on the number of
// goroutines.

// batchEntry is a point waiting in a call of the batch construction: its
// row, its distance to the call's node, and its distance to the node's
// parent call (negative when unknown).
type batchEntry struct {
	x  int32
	d  float64
	up float64
}

// batchSet is a set of waiting points with their coordinates beside them
// (point k's at c[k*dim:]), so that measuring a set reads memory in order;
// a build with the projection screen (buildproj.go) reads the few rows it
// measures from the data instead, and its sets hold no coordinates (c is
// empty: see batchBuilder.carry) but the points' projections (point k's at
// p[k*proj.k:]), which the screen reads in order.
type batchSet[T Float] struct {
	e []batchEntry
	c []T
	p []float32
}

// add appends entry e to s, with the coordinates or projection of point k
// of src where sets carry them.
func (b *batchBuilder[T]) add(s *batchSet[T], e batchEntry, src *batchSet[T], k int) {
	s.e = append(s.e, e)
	if b.carry {
		s.c = append(s.c, b.at(src, k)...)
	}
	if b.pk > 0 {
		s.p = append(s.p, src.p[k*b.pk:(k+1)*b.pk]...)
	}
}

// addRow appends entry e of row r to s, with the row's coordinates or
// projection where sets carry them.
func (b *batchBuilder[T]) addRow(s *batchSet[T], e batchEntry, r int32) {
	s.e = append(s.e, e)
	if b.carry {
		s.c = append(s.c, b.row(r)...)
	}
	if b.pk > 0 {
		s.p = append(s.p, b.projOf(r)...)
	}
}

// projOf returns row r's projection (the screen's, as sets carry it).
func (b *batchBuilder[T]) projOf(r int32) []float32 {
	return b.pall.p[int(r)*b.pk : int(r+1)*b.pk]
}

// move puts point from of s in place of point to.
func (b *batchBuilder[T]) move(s *batchSet[T], to, from int) {
	s.e[to] = s.e[from]
	if b.carry {
		copy(b.at(s, to), b.at(s, from))
	}
	if k := b.pk; k > 0 {
		copy(s.p[to*k:(to+1)*k], s.p[from*k:(from+1)*k])
	}
}

// truncate keeps the first n points of s.
func (b *batchBuilder[T]) truncate(s *batchSet[T], n int) {
	s.e = s.e[:n]
	if b.carry {
		s.c = s.c[:n*b.dim]
	}
	if b.pk > 0 {
		s.p = s.p[:n*b.pk]
	}
}

// join appends the points of t to s.
func (b *batchBuilder[T]) join(s *batchSet[T], t batchSet[T]) {
	s.e = append(s.e, t.e...)
	s.c = append(s.c, t.c...)
	s.p = append(s.p, t.p...)
}

// batchParallelMin is the fewest points a call measures in parallel, on
// the build's team. A smaller set does not pay: with a goroutine started
// for each call, a limit of 1,024 instead of 8,192 took magic (19,020 x
// 10) 0.119 -> 0.121 s and letter (20,000 x 16) 0.275 -> 0.284 s (quiet
// 2-core machine, two threads); with the team's spinning workers, which
// start within a microsecond, limits of 2,048 and 4,096 took magic 0.096
// -> 0.110 and 0.098 s and letter 0.246 -> 0.270 and 0.260 s (and 1,024,
// in an earlier run, magic 0.100 -> 0.120 s): the half of a set the other
// core measures was just written by this one, and moving it across costs
// what measuring it does.
const batchParallelMin = 8192

// batchPart is a part of a set measured on the team: its hits and the
// distances it evaluated.
type batchPart struct {
	hits  []batchHit
	evals int64
}

// batchBuilder holds the batch construction's state. Points are the
// caller's rows r = 0..n-1.
type batchBuilder[T Float] struct {
	data []T
	dim  int
	dist distFunc[T]
	sc   scale
	jobs int
	mon  *Monitor
	// euclid is set when dist is the Euclidean distance of sqEuclidean.
	euclid bool
	// proj screens rows by their projections, in many Euclidean
	// dimensions (see buildproj.go); nil otherwise.
	proj *buildProj
	// carry is set when sets carry their points' coordinates (batchSet);
	// a build with the projection screen reads the few rows it measures
	// from data instead of moving every row from set to set, and its sets
	// carry the rows' projections (pk numbers each, those of pall) instead.
	carry bool
	pk    int
	pall  *buildProj
	// screened and passed count the rows the screen took and left.
	screened, passed int64
	// qbuf holds a child centred and rounded for the byte screen.
	qbuf []float32
	max  int64 // the most evaluations to spend, if positive

	level []int32   // row -> level, netDup for a duplicate, levelInf for the root
	near  []int32   // row -> parent row, or the row it duplicates
	nd    []float64 // row -> distance to its parent

	entries stackArena[batchEntry]
	coords  stackArena[T]
	projs   stackArena[float32]
	// The points of a call's near and far sets within reach of a new
	// child, measured before its sets are made.
	hitsNear, hitsFar []batchHit
	team              *team       // the build's workers; nil in a task's builder
	share             *team       // the build's workers, for measuring sets in parts (see parts)
	found             []batchPart // the parts of a set measured on the team
	evals             int64
	done              int // points placed since the last report to the monitor
	err               error
	// pool hands out independent calls as tasks (batchtask.go); nil on one
	// thread. flushed is the part of evals passed on to pool.spent.
	pool    *batchPool[T]
	flushed int64
	taskMin int // the fewest points of a call built as a task
	// parallelMin is the fewest points a call measures in parallel
	// (batchParallelMin but in tests).
	parallelMin int
	// scalarCloser makes closer measure one distance at a time (closest)
	// where it would take the row kernel (closerBlocks): a test's
	// reference.
	scalarCloser bool
	// frames holds the near and far sets of the calls in progress, one
	// frame a depth of the recursion (see enter).
	frames []*callFrame[T]
	depth  int
}

// callFrame holds a call's near and far sets, and its child's
// coordinates, where the functions it calls can take their addresses:
// as the call's own arguments they had moved to the heap at every call
// (two allocations a call, about 50,000 a build of letter or magic).
type callFrame[T Float] struct {
	near, far batchSet[T]
	qc        []T
}

// enter returns the frame of a call one level deeper than the calls in
// progress; leave gives it back.
func (b *batchBuilder[T]) enter() *callFrame[T] {
	if b.depth == len(b.frames) {
		b.frames = append(b.frames, new(callFrame[T]))
	}
	b.depth++
	return b.frames[b.depth-1]
}

// leave ends the deepest call in progress, clearing its sets.
func (b *batchBuilder[T]) leave() {
	b.depth--
	fr := b.frames[b.depth]
	fr.near, fr.far = batchSet[T]{}, batchSet[T]{}
}

// fork returns a builder for the tasks of pool pl: the same points and
// rows, its own sets, buffers and counts.
func (b *batchBuilder[T]) fork(pl *batchPool[T]) *batchBuilder[T] {
	return &batchBuilder[T]{data: b.data, dim: b.dim, dist: b.dist, sc: b.sc, jobs: b.jobs, mon: b.mon, euclid: b.euclid, proj: b.proj, carry: b.carry, pk: b.pk, pall: b.pall, max: b.max, share: b.share, parallelMin: b.parallelMin,
		level: b.level, near: b.near, nd: b.nd, pool: pl, taskMin: b.taskMin}
}

// stackArena hands out slices last in, first out, as the recursion needs
// them.
type stackArena[E any] struct {
	chunks [][]E
	cur    int
	off    int
	// first is the size of the first chunk, in elements (setChunk when
	// 0); each later one is at least twice the one before.
	first int
}

// setChunk is the largest first chunk of a stackArena, in elements.
const setChunk = 1 << 16

// arenaFirst returns the first chunk's size, in elements, for an arena
// of a build over n points of per elements each: room for the root call's
// near and far sets twice over, up to setChunk. A build of a hundred
// points had spent most of its time clearing a first chunk of setChunk
// (100 x 16: 0.67 to 1.3 ms a build, 1.5 MB of entries; now 0.34 to 0.38
// ms, BenchmarkBuildSmall).
func arenaFirst(n, per int) int {
	return min(max(4*n*per, 256), setChunk)
}

// arenaMark is a position of a stackArena to release back to.
type arenaMark struct{ cur, off int }

// alloc returns an empty slice with room for n elements.
func (a *stackArena[E]) alloc(n int) []E {
	for a.cur < len(a.chunks) && a.off+n > len(a.chunks[a.cur]) {
		a.cur++
		a.off = 0
	}
	if a.cur == len(a.chunks) {
		size := setChunk
		if a.first > 0 {
			size = a.first
		}
		if k := len(a.chunks); k > 0 {
			size = max(size, 2*len(a.chunks[k-1]))
		}
		a.chunks = append(a.chunks, make([]E, max(size, n)))
	}
	s := a.chunks[a.cur][a.off : a.off : a.off+n]
	a.off += n
	return s
}

func (a *stackArena[E]) mark() arenaMark { return arenaMark{a.cur, a.off} }

func (a *stackArena[E]) release(m arenaMark) { a.cur, a.off = m.cur, m.off }

// set returns an empty set with room for n points.
func (b *batchBuilder[T]) set(n int) batchSet[T] {
	s := batchSet[T]{e: b.entries.alloc(n)}
	if b.carry {
		s.c = b.coords.alloc(n * b.dim)
	}
	if b.pk > 0 {
		s.p = b.projs.alloc(n * b.pk)
	}
	return s
}

// mark and release bracket a call's sets.
func (b *batchBuilder[T]) mark() [3]arenaMark {
	return [3]arenaMark{b.entries.mark(), b.coords.mark(), b.projs.mark()}
}

func (b *batchBuilder[T]) release(m [3]arenaMark) {
	b.entries.release(m[0])
	b.coords.release(m[1])
	b.projs.release(m[2])
}

// batchBuild builds the tree of the prepared points data (dim columns) by
// the batch construction.
func batchBuild[T Float](data []T, dim int, sc scale, o Options) (*Tree[T], error) {
	t, _, err := batchBuildTasks(data, dim, sc, o, batchTaskMin)
	return t, err
}

// batchBuildTasks is batchBuild with calls of taskMin points or more built
// as tasks (batchtask.go); it also returns the number of tasks.
func batchBuildTasks[T Float](data []T, dim int, sc scale, o Options, taskMin int) (_ *Tree[T], tasks int, _ error) {
	n := len(data) / dim
	t := newTree[T](dim, o.Metric, sc, o.Seed)
	b := &batchBuilder[T]{data: data, dim: dim, dist: t.dist, sc: sc, jobs: o.jobs(), mon: o.Monitor, max: o.MaxEvals, taskMin: taskMin, parallelMin: batchParallelMin}
	if o.parallelMin > 0 {
		b.parallelMin = o.parallelMin
	}
	b.scalarCloser = o.scalarCloser
	switch o.Metric.Canonical().Kind {
	case Euclidean, Cosine:
		b.euclid = dim > 3
	}
	b.level = make([]int32, n)
	b.near = make([]int32, n)
	b.nd = make([]float64, n)
	for r := range b.level {
		b.level[r] = netFree
	}
	b.team = newTeam(b.jobs)
	b.share = b.team
	defer b.team.stop()
	if b.euclid && !o.noProjection {
		b.proj = newBuildProj(data, dim, o.Seed, b.team)
	}
	b.carry = b.proj == nil
	if b.proj != nil {
		b.pk, b.pall = b.proj.k, b.proj
	}
	b.entries.first = arenaFirst(n, 1)
	if b.carry {
		b.coords.first = arenaFirst(n, dim)
	}
	if b.pk > 0 {
		b.projs.first = arenaFirst(n, b.pk)
	}
	if b.mon.stopped() {
		return nil, 0, ErrStopped
	}
	// The root is a point chosen by the seed; the others wait in a random
	// order fixed by it, which the children are taken in.
	rng := rand.New(rand.NewPCG(o.Seed, 0x5851f42d4c957f2d))
	perm := rng.Perm(n)
	root := int32(perm[0])
	b.level[root], b.near[root] = levelInf, -1
	ds := make([]float64, n)
	rc := b.row(root)
	b.team.forRange(n, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			ds[r] = b.rowDist(rc, b.row(int32(r)))
		}
	})
	b.evals += int64(n)
	near := b.set(n - 1)
	for _, r := range perm[1:] {
		if ds[r] == 0 {
			b.level[r], b.near[r] = netDup, root
			b.done++
			continue
		}
		b.addRow(&near, batchEntry{x: int32(r), d: ds[r], up: -1}, int32(r))
	}
	ds = nil
	b.done++
	top := int32(math.MinInt32)
	for _, e := range near.e {
		top = max(top, b.sc.ceilLog(e.d))
	}
	if b.team.size() > 1 {
		b.pool = newBatchPool(b.team.size()-1, b.fork)
		defer b.pool.stop()
	}
	if len(near.e) > 0 {
		far := b.set(len(near.e))
		b.call(root, top, near, far)
	}
	if b.pool != nil {
		b.pool.finish(b)
		if b.err == nil {
			b.err = b.pool.err()
		}
		for _, h := range b.pool.helpers {
			b.evals += h.evals
			b.done += h.done
		}
		b.pool.helpers = nil // their sets are done with too
		tasks = b.pool.made
	}
	if b.err == nil {
		// The last points placed since a goroutine's last check.
		switch {
		case b.mon.stopped():
			b.err = ErrStopped
		case b.max > 0 && b.evals > b.max:
			b.err = ErrCostly
		}
	}
	if b.err != nil {
		return nil, 0, b.err
	}
	b.mon.add(b.done)
	// The sets are done with: let the assembly reuse their memory.
	b.entries, b.coords, b.projs, b.hitsNear, b.hitsFar = stackArena[batchEntry]{}, stackArena[T]{}, stackArena[float32]{}, nil, nil
	collectBefore(n)
	b.closer(root)
	return assembleNets(t, data, dim, b.team, b.level, b.near, b.nd, root, b.evals), tasks, nil
}

// row returns the coordinates of row r.
func (b *batchBuilder[T]) row(r int32) []T {
	o := int(r) * b.dim
	return b.data[o : o+b.dim : o+b.dim]
}

// at returns the coordinates of point k of s.
func (b *batchBuilder[T]) at(s *batchSet[T], k int) []T {
	if !b.carry {
		return b.row(s.e[k].x)
	}
	o := k * b.dim
	return s.c[o : o+b.dim : o+b.dim]
}

// batchHit is a point of a set that lies within the far radius of a new
// child: its position k in the set and its distance d to the child.
type batchHit struct {
	k int32
	d float64
}

// measure returns the points of src that lie within rFar of q (coordinates
// qc, at distance dq from the call's node), by position ascending, in
// hits' storage, and how many of them lie within r0; qq is q as the byte
// screen reads it, or nil (see quantQuery).
func (b *batchBuilder[T]) measure(qc []T, qx int32, dq float64, qq *quantQuery, src *batchSet[T], hits []batchHit, r0, rFar float64) (_ []batchHit, in0 int) {
	n := len(src.e)
	hits = hits[:0]
	// The projection screen as it stands for this set: its parts read it,
	// and only this goroutine updates its counts, once they are done.
	proj := b.proj
	if qx < 0 || !b.euclid {
		proj = nil
	}
	if proj == nil {
		qq = nil
	}
	var evals int64
	if parts, tm := b.parts(n); parts > 1 {
		// Contiguous parts, their hits joined in order.
		if len(b.found) < parts {
			b.found = make([]batchPart, parts)
		}
		found := b.found[:parts]
		func() {
			defer tm.release()
			tm.forParts(parts, func(w int) {
				lo, hi := n*w/parts, n*(w+1)/parts
				f := &found[w]
				f.hits, f.evals = b.screen(qc, qx, dq, proj, qq, src.e[lo:hi], b.rowsOf(src, lo, hi), b.projsOf(src, lo, hi), int32(lo), f.hits[:0], rFar)
			})
		}()
		for _, f := range found {
			hits = append(hits, f.hits...)
			evals += f.evals
		}
	} else {
		hits, evals = b.screen(qc, qx, dq, proj, qq, src.e, b.rowsOf(src, 0, n), b.projsOf(src, 0, n), 0, hits, rFar)
	}
	b.evals += evals
	if proj != nil {
		b.projUseful(n, evals)
	}
	for _, h := range hits {
		if h.d <= r0 {
			in0++
		}
	}
	return hits, in0
}

// parts returns the number of parts to measure a set of n points in, and
// the build's team held for them (the caller releases it), or 1 and nil.
// The recursion and the tasks (batchtask.go) share the team: a builder
// splits a set only while at least half the threads wait for a task
// (their CPUs are free; all of them before any task is handed out), in as
// many parts as there are free threads, and only when no other builder
// holds the team. Near the end of a build, when fewer tasks are left than
// threads, the last ones then measure their large sets on the threads
// that have nothing else to do. (The team's workers wake for every loop
// and spin a while after it: while most threads build tasks, a loop would
// take more from them than it gives.)
func (b *batchBuilder[T]) parts(n int) (int, *team) {
	want := n / (b.parallelMin / 2)
	tm := b.share
	if want < 2 || tm == nil || tm.size() < 2 || b.pool == nil {
		return 1, nil
	}
	free := int(b.pool.idle.Load()) + 1
	if free < max(2, tm.size()/2) || !tm.tryHold() {
		return 1, nil
	}
	return min(tm.size(), want, free), tm
}

// take moves the points hits of src (from measure) into near (within r0)
// or far, with their distance to q (their distance to the call's node kept
// in up), and marks those at distance 0 as duplicates of q; the others
// stay in src. The hits go from the last: each is replaced by the set's
// last point, which is not a hit (no shifting of the rest).
func (b *batchBuilder[T]) take(q int32, src *batchSet[T], hits []batchHit, r0 float64, near, far *batchSet[T]) {
	n := len(src.e)
	for h := len(hits) - 1; h >= 0; h-- {
		k, d := int(hits[h].k), hits[h].d
		e := src.e[k]
		switch {
		case d == 0:
			b.level[e.x], b.near[e.x] = netDup, q
			b.done++
		case d <= r0:
			b.add(near, batchEntry{x: e.x, d: d, up: e.d}, src, k)
		default:
			b.add(far, batchEntry{x: e.x, d: d, up: e.d}, src, k)
		}
		n--
		if k != n {
			b.move(src, k, n)
		}
	}
	b.truncate(src, n)
}

// screen appends to hits the rows of rows (entries es, at positions base
// on in their set) that lie within rFar of qc as the tree measures them,
// and returns them with the distances it evaluated. Under Euclidean
// distances (and Cosine, on normalised points) it takes the squares of a
// block of rows at a time (the vector kernel's, where there is one) and
// settles a square well beyond rFar^2 without its square root; a test of
// the triangle inequality through the call's node first would skip about
// a sixth of the rows, but cost more than it saves there. Under other
// metrics it measures only the points of es (at distance dq from the
// call's node) that the triangle inequality leaves. With proj (the
// projection screen, read only: screen runs on several goroutines at
// once), the rows it settles by their projections (projs, carried beside
// es) or by their bytes (with qq, the child as the byte screen reads it;
// nil where the rows have no bytes) are not read at all.
func (b *batchBuilder[T]) screen(qc []T, qx int32, dq float64, proj *buildProj, qq *quantQuery, es []batchEntry, rows []T, projs []float32, base int32, hits []batchHit, rFar float64) (_ []batchHit, evals int64) {
	dim := b.dim
	row := func(k int) []T {
		if rows == nil {
			return b.row(es[k].x)
		}
		return rows[k*dim : (k+1)*dim : (k+1)*dim]
	}
	if !b.euclid {
		for k := range es {
			if math.Abs(es[k].d-dq) > rFar {
				continue
			}
			evals++
			if d := b.dist(qc, row(k)); d <= rFar {
				hits = append(hits, batchHit{base + int32(k), d})
			}
		}
		return hits, evals
	}
	far2 := rFar * rFar * (1 + sqScreen)
	var sq [screenBlock + 3]float64
	n := len(es)
	if proj != nil {
		// Rows the projections settle are not read (see buildproj.go).
		// The set's projections, carried beside it, go through the row
		// kernel a block at a time; a square beyond the block's bound
		// settles its row (see buildProj.blockBound), and each row left
		// takes the screen's own test, so the same rows are measured.
		k := proj.k
		qp := b.projOf(qx)
		far2 := proj.blockBound(qx, rFar)
		var cand [screenBlock]int32
		var rs [4][]T
		var out [4]float64
		for lo := 0; lo < n; lo += screenBlock {
			hi := min(lo+screenBlock, n)
			nc := 0
			for open := rowSquares(projs[lo*k:hi*k], k, qp, sq[:], far2); open != 0; open &= open - 1 {
				j := lo + bits.TrailingZeros64(open)
				if !proj.beyondSquare(sq[j-lo], qx, es[j].x, rFar) {
					cand[nc] = int32(j)
					nc++
				}
			}
			// The rows' bytes next, then the rows left measured as
			// rowDist measures them, four at a time.
			if qq != nil {
				nc = proj.quantScreen(cand[:nc], es, *qq, rFar)
			}
			for a := 0; a < nc; a += 4 {
				m := min(4, nc-a)
				for t := range 4 {
					rs[t] = row(int(cand[a+min(t, m-1)]))
				}
				vecSquares4(rs, qc, &out)
				for t := range m {
					evals++
					if d := b.fromSquare(qc, rs[t], out[t]); d <= rFar {
						hits = append(hits, batchHit{base + cand[a+t], d})
					}
				}
			}
		}
		return hits, evals
	}
	var block []T // the rows of a block gathered from data, for sets without coordinates
	for lo := 0; lo < n; lo += screenBlock {
		hi := min(lo+screenBlock, n)
		var br []T
		if rows == nil {
			block = block[:0]
			for k := lo; k < hi; k++ {
				block = append(block, b.row(es[k].x)...)
			}
			br = block
		} else {
			br = rows[lo*dim : hi*dim]
		}
		// The rows left open: those not settled well beyond.
		for open := rowSquares(br, dim, qc, sq[:], far2); open != 0; open &= open - 1 {
			k := bits.TrailingZeros64(open)
			if d := b.fromSquare(qc, row(lo+k), sq[k]); d <= rFar {
				hits = append(hits, batchHit{base + int32(lo+k), d})
			}
		}
	}
	return hits, int64(n)
}

// projUseful counts n rows screened by the projections, of which passed
// were left to measure, and drops the screen from this builder once it
// has left more than projKeep of projCheck rows or more: the data have no
// few directions that carry their distances (uniform or Gaussian points),
// and the screen would only add its own reads. The tree does not change.
func (b *batchBuilder[T]) projUseful(n int, passed int64) {
	b.screened += int64(n)
	b.passed += passed
	if b.screened >= projCheck && float64(b.passed) > projKeep*float64(b.screened) {
		b.proj = nil
	}
}

// quantQuery returns child qc as the byte screen reads it (in b.qbuf's
// storage, until the next child's), or nil where the rows have no bytes.
// Both of a child's sets are measured with it.
func (b *batchBuilder[T]) quantQuery(qc []T) *quantQuery {
	if !b.euclid || b.proj == nil || b.proj.u == nil {
		return nil
	}
	q := quantQueryOf(b.proj, qc, b.qbuf)
	b.qbuf = q.q
	return &q
}

// projsOf returns the projections of points lo..hi-1 of s where sets
// carry them, and nil where they do not.
func (b *batchBuilder[T]) projsOf(s *batchSet[T], lo, hi int) []float32 {
	if b.pk == 0 {
		return nil
	}
	return s.p[lo*b.pk : hi*b.pk]
}

// rowsOf returns the coordinates of points lo..hi-1 of s where sets carry
// them, and nil where they do not (screen then reads them from data).
func (b *batchBuilder[T]) rowsOf(s *batchSet[T], lo, hi int) []T {
	if !b.carry {
		return nil
	}
	return s.c[lo*b.dim : hi*b.dim]
}

// rowDist returns the tree's distance between the rows x and y, by the
// vector kernel's sum of squares where the tree's distance is the
// Euclidean one (the same bits).
func (b *batchBuilder[T]) rowDist(x, y []T) float64 {
	if b.euclid {
		return b.fromSquare(x, y, vecSquare(y, x))
	}
	return b.dist(x, y)
}

// screenBlock is the number of points screen takes at a time.
const screenBlock = 64

// construct places the points of near (within b^i of p) and those of far
// (within rho*b^(i+1), the farthest a point can be from p and still lie
// within b^j of a node of level j < i under p) that fall under p's subtree
// below level i, and returns the far points left, in far's storage. near
// and far must each have room for all the points of both.
func (b *batchBuilder[T]) construct(p int32, i int32, near, far batchSet[T]) batchSet[T] {
	if b.pool != nil && len(far.e) == 0 && len(near.e) >= b.taskMin {
		// Independent: built as a task (see batchtask.go).
		b.pool.push(p, i, near)
		return far
	}
	return b.call(p, i, near, far)
}

// task builds the independent call t.
func (b *batchBuilder[T]) task(t batchTask[T]) {
	m := b.mark()
	b.call(t.p, t.i, t.near, b.set(len(t.near.e)))
	b.release(m)
	b.pool.spent.Add(b.evals - b.flushed)
	b.flushed = b.evals
}

// call is construct without handing the call out as a task.
func (b *batchBuilder[T]) call(p int32, i int32, nearSet, farSet batchSet[T]) batchSet[T] {
	if len(nearSet.e) == 0 || b.err != nil || (b.pool != nil && b.pool.failed.Load() != nil) {
		return farSet
	}
	fr := b.enter()
	defer b.leave()
	fr.near, fr.far = nearSet, farSet
	near, far := &fr.near, &fr.far
	maxd := 0.0
	for _, e := range near.e {
		maxd = max(maxd, e.d)
	}
	rNear := b.sc.pow(i)
	if j := b.sc.ceilLog(maxd); j < i {
		// p alone at levels i..j+1: near is all within b^j, and the far
		// points within rho*b^(j+1) go down with it.
		m := b.mark()
		rj := b.sc.rho * b.sc.pow(j+1)
		sf := b.set(countWithin(far.e, rj))
		b.split(far, &sf, rj)
		sf = b.construct(p, j, *near, sf)
		b.join(far, sf)
		b.release(m)
		return *far
	}
	r0, rFar := b.sc.pow(i-1), b.sc.rho*rNear
	pc := b.row(p)
	// p itself one level down: near points within b^(i-1) as its near
	// ones, the others within rho*b^i as its far ones.
	{
		m := b.mark()
		n0 := countWithin(near.e, r0) + countWithin(far.e, r0)
		sn, sf := b.set(n0), b.set(len(near.e)+countWithin(far.e, rFar)-n0)
		b.split(near, &sn, r0)
		b.split(near, &sf, rNear)
		b.split(far, &sf, rFar)
		sf = b.construct(p, i-1, sn, sf)
		b.sort(sf, nil, near, far, rNear)
		b.release(m)
	}
	if len(fr.qc) != b.dim {
		fr.qc = make([]T, b.dim)
	}
	qc := fr.qc
	// Every near point left becomes a child of level i-1.
	for len(near.e) > 0 && b.err == nil {
		k := 0
		if len(near.e)+len(far.e) >= batchFarthestMin {
			k = farthest(near.e)
		}
		q := near.e[k]
		copy(qc, b.at(near, k))
		b.remove(near, k)
		b.level[q.x], b.near[q.x], b.nd[q.x] = i-1, p, q.d
		b.done++
		if err := b.check(); err != nil {
			b.err = err
			return *far
		}
		m := b.mark()
		var n0, f0 int
		qq := b.quantQuery(qc)
		b.hitsNear, n0 = b.measure(qc, q.x, q.d, qq, near, b.hitsNear, r0, rFar)
		b.hitsFar, f0 = b.measure(qc, q.x, q.d, qq, far, b.hitsFar, r0, rFar)
		cn, cf := b.set(n0+f0), b.set(len(b.hitsNear)+len(b.hitsFar)-n0-f0)
		b.take(q.x, near, b.hitsNear, r0, &cn, &cf)
		b.take(q.x, far, b.hitsFar, r0, &cn, &cf)
		rest := b.construct(q.x, i-1, cn, cf)
		b.sort(rest, pc, near, far, rNear)
		b.release(m)
	}
	return *far
}

// batchFarthestMin is the fewest points (near and far) of a call that
// takes the near point farthest from its node as its next child, rather
// than the next in its order. Near the top of the tree, where the sets are
// large, children taken farthest first spread like a farthest-point
// traversal's and fewer are needed to cover the set, and every child
// measures the whole set: one thread, letter 1,246 -> 1,027 distances a
// point (0.261 -> 0.211 s), magic 545 -> 453 (0.119 -> 0.108 s), pendigits
// 336 -> 337, the core's synthetic 20,000 x 16 839 -> 817 (100,000 x 16
// 3,567 -> 3,537). Queries measure as many points on these trees (letter,
// every point, k = 10: 2,142 -> 2,128 a query, depth first 1,499 ->
// 1,488); taken farthest first in every call, the builds measured about
// as few (1,031 and 458) but the queries 2.3-2.8% more.
const batchFarthestMin = 2048

// farthest returns the position of the first of es farthest from the
// call's node.
func farthest(es []batchEntry) int {
	k := 0
	for j := range es {
		if es[j].d > es[k].d {
			k = j
		}
	}
	return k
}

// countWithin returns how many of es lie within r of the call's node.
func countWithin(es []batchEntry, r float64) int {
	n := 0
	for _, e := range es {
		if e.d <= r {
			n++
		}
	}
	return n
}

// split moves the points of src within r of the call's node into dst.
func (b *batchBuilder[T]) split(src, dst *batchSet[T], r float64) {
	for k := 0; k < len(src.e); {
		if src.e[k].d > r {
			k++
			continue
		}
		b.add(dst, src.e[k], src, k)
		b.remove(src, k)
	}
}

// remove removes point k of s, putting the last one in its place.
func (b *batchBuilder[T]) remove(s *batchSet[T], k int) {
	last := len(s.e) - 1
	if k != last {
		b.move(s, k, last)
	}
	b.truncate(s, last)
}

// sort returns the points of rest to the call of node p (coordinates pc;
// nil when rest already holds distances to p): into near if within r of
// p, into far otherwise.
func (b *batchBuilder[T]) sort(rest batchSet[T], pc []T, near, far *batchSet[T], r float64) {
	for k, e := range rest.e {
		if pc != nil {
			d := e.up
			if d < 0 {
				d = b.rowDist(pc, b.at(&rest, k))
				b.evals++
			}
			e = batchEntry{x: e.x, d: d, up: -1}
		}
		if e.d <= r {
			b.add(near, e, &rest, k)
		} else {
			b.add(far, e, &rest, k)
		}
	}
}

// closer gives every node the nearest of its parent's parent and the
// other children of that one that may be its parent (of a higher level,
// within b^(l+1) of it), if nearer than the parent the construction gave
// it: the construction hands a point to the first node that reaches it,
// not the nearest, and nearer parents make smaller subtrees for searches
// to prune. The nets, hence the levels and the separation, stay as they
// are; the candidates are those of the tree as built, so the result does
// not depend on the order nodes are taken in.
func (b *batchBuilder[T]) closer(root int32) {
	n := len(b.level)
	node := func(r int) bool { return b.level[r] != netDup && int32(r) != root }
	// Children of each row.
	first, kids := groupBy(n, func(emit func(owner, val int32)) {
		for r := range n {
			if node(r) {
				emit(b.near[r], int32(r))
			}
		}
	})
	pd := slices.Clone(b.nd)
	if b.euclid && b.proj == nil && !b.scalarCloser {
		b.closerBlocks(first, kids, pd)
		return
	}
	parent := slices.Clone(b.near)
	// The grandchildren by grandparent, then parent: the rows of g and its
	// children stay in cache while its grandchildren are measured against
	// them. The loop runs over grandchildren, not grandparents: one
	// grandparent can hold half the work (letter).
	order := make([]int32, 0, n)
	for g := range n {
		for _, p := range kids[first[g]:first[g+1]] {
			order = append(order, kids[first[p]:first[p+1]]...)
		}
	}
	counts := make([]paddedCount, max(b.jobs, 1))
	b.team.forRange(len(order), func(w, lo, hi int) {
		for _, r := range order[lo:hi] {
			p := parent[r]
			g := parent[p]
			counts[w].n += b.closest(r, p, g, kids[first[g]:first[g+1]], pd)
		}
	})
	for w := range counts {
		b.evals += counts[w].n
	}
}

// closerBlock is a block of closerBlocks' work: children lo..hi-1 (at
// most closerBlockMax) of node p, a child of g.
type closerBlock struct{ g, p, lo, hi int32 }

// closerBlockMax is the most grandchildren closerBlocks measures at once:
// a block of the row kernel.
const closerBlockMax = 64

// closerScratch is one goroutine's buffers for closerBlocks.
type closerScratch[T Float] struct {
	rows     []T
	sq       [closerBlockMax + 4]float64
	dg, best []float64
	bp       []int32
}

// closerBlocks is closer for Euclidean distances without the projection
// screen: the same parents, found by the row kernel. Where closest
// measures a grandchild against its grandparent's children one distance
// at a time (rows read from all over the data: 21 ns a distance on
// letter, a sixth of its build), here the grandchildren of one parent,
// up to a block of them, are gathered once and every candidate parent is
// measured against the whole block in one pass of the kernel. Each
// grandchild still takes its candidates in closest's order with closest's
// tests (the triangle inequality through g, then the distance as the tree
// measures it, from the kernel's square where that is exact), so the
// result is closest's; a candidate that no grandchild of the block can
// take (by level or by the triangle inequality) is not measured, and a
// square well beyond a grandchild's best settles it without its root.
func (b *batchBuilder[T]) closerBlocks(first, kids []int32, pd []float64) {
	n := len(b.level)
	var blocks []closerBlock
	for g := range n {
		for _, p := range kids[first[g]:first[g+1]] {
			m := first[p+1] - first[p]
			for lo := int32(0); lo < m; lo += closerBlockMax {
				blocks = append(blocks, closerBlock{int32(g), p, lo, min(lo+closerBlockMax, m)})
			}
		}
	}
	counts := make([]paddedCount, max(b.jobs, 1))
	scratch := make([]closerScratch[T], max(b.jobs, 1))
	b.team.forRange(len(blocks), func(w, lo, hi int) {
		s := &scratch[w]
		for _, bl := range blocks[lo:hi] {
			rs := kids[first[bl.p]+bl.lo : first[bl.p]+bl.hi]
			counts[w].n += b.closestBlock(rs, bl.p, bl.g, kids[first[bl.g]:first[bl.g+1]], pd, s)
		}
	})
	for w := range counts {
		b.evals += counts[w].n
	}
}

// closestBlock is closest for the rows rs, children of p, a child of g
// whose children are sibs, with the row kernel (see closerBlocks); it
// returns the distances it evaluated.
func (b *batchBuilder[T]) closestBlock(rs []int32, p, g int32, sibs []int32, pd []float64, s *closerScratch[T]) (evals int64) {
	dim, m := b.dim, len(rs)
	s.rows = s.rows[:0]
	for _, r := range rs {
		s.rows = append(s.rows, b.row(r)...)
	}
	s.dg, s.best, s.bp = resize(s.dg, m), resize(s.best, m), resize(s.bp, m)
	// The grandparent first, as closest takes it.
	gc := b.row(g)
	rowSquares(s.rows, dim, gc, s.sq[:], math.Inf(1))
	evals += int64(m)
	for k, r := range rs {
		dg := b.fromSquare(s.rows[k*dim:(k+1)*dim], gc, s.sq[k])
		s.dg[k], s.best[k], s.bp[k] = dg, pd[r], p
		if dg < s.best[k] && dg <= b.sc.pow(b.level[r]+1) {
			s.best[k], s.bp[k] = dg, g
		}
	}
	lowest := b.level[rs[0]]
	for _, r := range rs[1:] {
		lowest = min(lowest, b.level[r])
	}
	for _, c := range sibs {
		if c == p || b.level[c] <= lowest {
			continue
		}
		// Measured only if some grandchild of the block may take it.
		lc, pc, worst := b.level[c], pd[c], 0.0
		for k, r := range rs {
			if lc > b.level[r] && math.Abs(s.dg[k]-pc) < s.best[k] {
				worst = max(worst, s.best[k])
			}
		}
		if worst == 0 {
			continue
		}
		cc := b.row(c)
		open := rowSquares(s.rows, dim, cc, s.sq[:], sqBound(worst))
		evals += int64(m)
		for ; open != 0; open &= open - 1 {
			k := bits.TrailingZeros64(open)
			r := rs[k]
			best := s.best[k]
			if lc <= b.level[r] || math.Abs(s.dg[k]-pc) >= best || settledBeyond(s.sq[k], sqBound(best)) {
				continue
			}
			d := b.fromSquare(s.rows[k*dim:(k+1)*dim], cc, s.sq[k])
			if d < best && d <= b.sc.pow(b.level[r]+1) {
				s.best[k], s.bp[k] = d, c
			}
		}
	}
	for k, r := range rs {
		b.near[r], b.nd[r] = s.bp[k], s.best[k]
	}
	return evals
}

// fromSquare returns the tree's distance between rows x and y from their
// sqEuclidean s, as rowDist measures it.
func (b *batchBuilder[T]) fromSquare(x, y []T, s float64) float64 {
	if exactSquare(s) {
		return math.Sqrt(s)
	}
	return b.dist(x, y)
}

// closest gives row r, child of p, child of g (whose children are sibs),
// the nearest of p, g and sibs that may be its parent (see closer; pd
// holds the distances to the parents as built), and returns the distances
// it evaluated.
func (b *batchBuilder[T]) closest(r, p, g int32, sibs []int32, pd []float64) (evals int64) {
	l := b.level[r]
	reach := b.sc.pow(l + 1)
	x := b.row(r)
	dg := b.rowDist(x, b.row(g))
	evals++
	best, bp := pd[r], p
	if dg < best && dg <= reach {
		best, bp = dg, g
	}
	for _, c := range sibs {
		if c == p || b.level[c] <= l {
			continue
		}
		// The triangle inequality through g first.
		if math.Abs(dg-pd[c]) >= best || (b.proj != nil && b.proj.beyond(r, c, best)) {
			continue
		}
		d := b.rowDist(x, b.row(c))
		evals++
		if d < best && d <= reach {
			best, bp = d, c
		}
	}
	b.near[r], b.nd[r] = bp, best
	return evals
}

// check reports the caller's request to stop and the evaluation budget,
// and passes on the progress made.
func (b *batchBuilder[T]) check() error {
	if b.done >= 1024 {
		b.mon.add(b.done)
		b.done = 0
		if b.pool != nil {
			b.pool.spent.Add(b.evals - b.flushed)
			b.flushed = b.evals
		}
		if b.mon.stopped() {
			return ErrStopped
		}
	}
	if b.max > 0 {
		spent := b.evals
		if b.pool != nil {
			spent += b.pool.spent.Load() - b.flushed
		}
		if spent > b.max {
			return ErrCostly
		}
	}
	return nil
}
