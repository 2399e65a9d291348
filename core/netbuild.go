package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
)

// The level-synchronous construction (Build with an Engine, and the
// reference the other constructions are compared with in tests).
//
// Build makes the tree top down, one level at a time, as nested nets: the
// nodes of level >= i are a b^i-net of the points, each extending the net of
// the level above (Har-Peled and Mendel's net-trees, Clarkson's
// construction). Every point not yet a node (a "free" point) knows its
// nearest node so far, its centre, and the distance to it; the free points
// with the same centre form that node's cell.
//
// A stage makes the nodes of one level i, the highest at which some free
// point lies farther than b^i from every node (levels where nothing happens
// are skipped, as a compressed tree has no node there). The candidates are
// the free points farther than b^i from their centre, hence from every node.
// Among them the stage picks a maximal set of points pairwise farther than
// b^i apart: greedily within each cell, then across neighbouring cells by a
// greedy maximal independent set in a fixed order. The chosen points become
// nodes of level i, children of their centre (which is within b^(i+1) of
// them); every free point in the region then moves to a new node if it is
// nearer. Candidates left uncovered (a point whose cell's choice lost to a
// neighbouring cell's) are settled in another round of the same stage.
//
// The nodes of a level are then farther than b^i from every node of a
// higher level and from each other, and each is within b^(i+1) of its
// parent: the cover and separation conditions of the compressed cover tree,
// exactly, with distances taken as the tree measures them.
//
// Cells find their neighbours through friend lists: every node with a
// non-empty cell keeps the other such nodes within rho(c) + rho(c') +
// K*b^i, where rho is the largest distance from a node to a point of its
// cell and K = max(b, 2b/(b-1)) (4 for b = 2). A new node's list is found
// from its parent's, which that radius is chosen to make possible. Nodes
// whose cell is empty take no further part.
//
// In high intrinsic dimension many cells lie within a few separations of
// each other and the lists grow towards all pairs; past netListCap entries
// a point, the build stops making levels and inserts its remaining points
// into the tree of the nodes so far by batch insertion (Insert's method),
// whose memory stays small.
//
// All the work of a stage is parallel over cells or over new nodes; the
// choices do not depend on the number of goroutines, so the same seed gives
// the same tree for every Jobs. Measured on 300,000 three-dimensional
// points with two goroutines, 5% of the build's CPU time ran outside them
// (regrouping's sort of the cells, the independent set, bookkeeping).

// netFriend is an entry of a friend list: a node and its distance,
// rounded down to float32 (half the memory; the build uses it only as a
// lower bound, and keeping a pair a rounding too long costs nothing).
type netFriend struct {
	c int32
	d float32
}

// friend returns the entry for node c at distance d.
func friend(c int32, d float64) netFriend {
	f := float32(d)
	if float64(f) > d {
		f = math.Nextafter32(f, 0)
	}
	return netFriend{c, f}
}

// netCand is a new node considered while reassigning a cell's points, with
// a lower bound on its distance to the cell's centre (exact when exact).
type netCand struct {
	s     int32
	lb    float64
	exact bool
}

// netEntry is a new node to consider in cell j.
type netEntry struct {
	j int32
	c netCand
}

// paddedCount is a per-worker counter on its own cache line.
type paddedCount struct {
	n int64
	_ [56]byte
}

const (
	netFree int32 = levelNegInf     // a point that is not a node yet
	netDup  int32 = levelNegInf + 1 // a duplicate of the node near[k]
)

// netBigCell is the number of candidates from which one cell's greedy
// choice runs in parallel over its candidates, rather than on one worker.
const netBigCell = 4096

// netBuilder holds the construction's state. Points are numbered k = 0..n-1
// in a random order fixed by the seed (k = 0 is the root); pts holds them
// in that order.
type netBuilder[T Float] struct {
	dim    int
	pts    []T
	row    []int32 // k -> caller row; nil when k is the row (see rowOf)
	dist   distFunc[T]
	sc     scale
	kc     float64 // the friend-list constant K
	jobs   int
	tm     *team // the assembly's workers
	mon    *Monitor
	budget int64 // if positive, the most evaluations to spend (Options.MaxEvals)
	// engine, if not nil, measures large cells' blocks (Options.Engine);
	// engineEvals counts its distances.
	engine      EngineSet[T]
	engineEvals int64
	engineMin   int // the fewest points sent to the engine

	// listCap bounds the friend lists' entries; past it, run stops and
	// leaves the rows of the free points in rest for batch insertion.
	listCap int
	rest    []int

	level []int32   // k -> level, levelInf for the root, netFree or netDup
	near  []int32   // free: nearest node; node: parent (-1 for the root); dup: its node
	nd    []float64 // free: distance to near; node: distance to its parent
	pnd   []float64 // free: distance to its cell's centre (fixed during a stage)

	// Cells of the current stage: the free points grouped by centre.
	order  []int32   // free points, cell by cell
	posPts []T       // their coordinates in that order: cells read memory in sequence
	cells  []int32   // the centres with a non-empty cell, ascending
	cellLo []int32   // per cell: its range in order
	cellHi []int32   //
	rho    []float64 // per cell: the largest pnd in it
	cellOf []int32   // k -> cell index, or -1
	rhoK   []float64 // k -> rho of its cell, or -1 without one

	friends   [][]netFriend // k -> friend list (nodes with a cell only)
	kids      [][]int32     // per cell: the nodes made in it this stage
	prevKids  [][]int32     // per cell of the stage before regroup: its new nodes
	roundLo   []int32       // per cell: len(kids) when the round began
	tent      []int32       // per cell (at cellLo): its tentative nodes
	tcount    []int32       // per cell: number of tentative nodes
	created   []int32       // nodes in the order they were made
	stage0    int           // created[stage0:] were made in the current stage
	prevCells []int32       // the cells of the stage before regroup

	counts []paddedCount // distance evaluations, per worker
	cnt    []int32       // k -> scratch for regrouping and runs of children (kept zero)
	cnt2   []int32       // k -> scratch: ends of runs of children (kept zero)
	cover  []bool        // k -> covered by a tentative node (big cells)

	entries  [][]netEntry // per worker: reassign's gathered candidates (reused)
	candBuf  []netCand    // reassign's candidates by cell (reused)
	candBufs [][]netCand  // per worker: one cell's candidates (reused)
}

// netBuild builds a tree over the prepared points data (dim columns, n
// rows, caller indices 0..n-1) at level scale sc, as o asks (metric, seed,
// jobs, monitor, budget, engine and the tests' settings).
func netBuild[T Float](data []T, dim int, sc scale, o Options) (*Tree[T], error) {
	metric, seed, jobs, m, budget, engine := o.Metric, o.Seed, o.jobs(), o.Monitor, o.MaxEvals, o.Engine
	n := len(data) / dim
	t := newTree[T](dim, metric, sc, seed)
	tm := newTeam(jobs)
	defer tm.stop()
	b := &netBuilder[T]{dim: dim, dist: t.dist, sc: sc, jobs: jobs, mon: m, budget: budget, tm: tm}
	b.kc = max(sc.base, 2*sc.base/(sc.base-1))
	rng := rand.New(rand.NewPCG(seed, 0x5bd1e995))
	b.row = make([]int32, n)
	for k, r := range rng.Perm(n) {
		b.row[k] = int32(r)
	}
	b.pts = make([]T, len(data))
	forRange(n, jobs, func(_, lo, hi int) {
		for k := lo; k < hi; k++ {
			r := int(b.row[k])
			copyPoint(b.pts[k*dim:(k+1)*dim], data[r*dim:(r+1)*dim])
		}
	})
	b.engineMin = netEngineMin
	if o.engineMin > 0 {
		b.engineMin = o.engineMin
	}
	if engine != nil && n > b.engineMin {
		set, err := LoadEngine(engine, b.pts, dim, metric)
		if err != nil {
			return nil, err
		}
		defer set.Close()
		b.engine = set
	}
	b.level = make([]int32, n)
	b.near = make([]int32, n)
	b.nd = make([]float64, n)
	b.pnd = make([]float64, n)
	b.cellOf = make([]int32, n)
	b.rhoK = make([]float64, n)
	b.cnt = make([]int32, n)
	b.cnt2 = make([]int32, n)
	b.cover = make([]bool, n)
	b.friends = make([][]netFriend, n)
	b.counts = make([]paddedCount, max(jobs, 1))
	for k := range b.cellOf {
		b.cellOf[k], b.rhoK[k] = -1, -1
	}
	b.listCap = netListCap*n + 1<<20
	if o.listCap > 0 {
		b.listCap = o.listCap
	}
	if err := b.run(); err != nil {
		return nil, err
	}
	rest := b.rest
	if o.batched != nil {
		*o.batched = len(rest)
	}
	t = b.assemble(t)
	t.buildEvals += b.engineEvals
	for i := range b.counts {
		t.buildEvals += b.counts[i].n
	}
	if len(rest) == 0 {
		return t, nil
	}
	// The friend lists grew too large: the points not placed yet join the
	// tree of the nodes so far by batch insertion, in a seeded order.
	b = nil
	rand.New(rand.NewPCG(seed, 0x2545f491)).Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	t, err := t.insertRows(data, rest, 0, jobs, true, m)
	if err != nil {
		return nil, err
	}
	t = t.compact() // insertions widen radii: make them exact again
	t.buildEvals += t.parallelRadii(tm)
	return t, nil
}

// netListCap is the friend-list entries per point past which a build
// stops making levels and inserts its remaining points in batches: 64
// entries of 8 bytes, 512 bytes a point.
const netListCap = 64

// rowOf returns the caller row of point k.
func (b *netBuilder[T]) rowOf(k int32) int32 {
	if b.row == nil {
		return k
	}
	return b.row[k]
}

// pt returns point k.
func (b *netBuilder[T]) pt(k int32) []T {
	o := int(k) * b.dim
	return b.pts[o : o+b.dim : o+b.dim]
}

// spent returns the distance evaluations so far. Call it between parallel
// phases only.
func (b *netBuilder[T]) spent() int64 {
	var t int64
	for i := range b.counts {
		t += b.counts[i].n
	}
	return t
}

// check returns ErrStopped if the caller asked to stop, and ErrCostly if
// the build has spent more than its budget. Call it between parallel
// phases only.
func (b *netBuilder[T]) check() error {
	if b.mon.stopped() {
		return ErrStopped
	}
	if b.budget > 0 && b.spent() > b.budget {
		return ErrCostly
	}
	return nil
}

// dp measures the free point at position pos of order against point y on
// worker w: d(order[pos], y), from the coordinates kept in cell order.
func (b *netBuilder[T]) dp(w, pos int, y int32) float64 {
	b.counts[w].n++
	o := pos * b.dim
	return b.dist(b.posPts[o:o+b.dim:o+b.dim], b.pt(y))
}

// d measures points x and y on worker w.
func (b *netBuilder[T]) d(w int, x, y int32) float64 {
	b.counts[w].n++
	return b.dist(b.pt(x), b.pt(y))
}

// run makes every node: the root, then one stage per level in use.
func (b *netBuilder[T]) run() error {
	n := len(b.level)
	if err := b.check(); err != nil {
		return err // stopped before anything was done
	}
	b.level[0], b.near[0], b.nd[0] = levelInf, -1, 0
	b.created = append(make([]int32, 0, n), 0)
	b.mon.add(1)
	if n == 1 {
		return nil
	}
	b.order = make([]int32, n-1)
	forRange(n-1, b.jobs, func(w, lo, hi int) {
		for j := lo; j < hi; j++ {
			k := int32(j + 1)
			b.level[k], b.near[k] = netFree, 0
			b.nd[k] = b.d(w, k, 0)
			b.order[j] = k
		}
	})
	b.cells, b.cellLo, b.cellHi, b.rho = []int32{0}, []int32{0}, []int32{int32(n - 1)}, []float64{0}
	b.cellOf[0] = 0
	level, ok := b.regroup()
	for ok {
		if err := b.stage(level); err != nil {
			return err
		}
		next, more := b.regroup()
		if more {
			entries := b.updateFriends(level, next)
			if err := b.check(); err != nil {
				return err
			}
			if entries > b.listCap {
				// The friend lists outgrow their memory: the data have
				// too many neighbours within a few separations (high
				// intrinsic dimension). The free points are inserted
				// in batches instead (netBuild).
				for _, z := range b.order {
					b.rest = append(b.rest, int(b.row[z]))
				}
				return nil
			}
		}
		level, ok = next, more
	}
	return nil
}

// regroup ends a stage: free points at distance zero from their centre
// become duplicates, and the others are grouped into the cells of their
// centres for the next stage, whose level it returns (ok is false when no
// free point is left). It also resets the per-cell state.
func (b *netBuilder[T]) regroup() (level int32, ok bool) {
	// Survivors: count them per centre, and note each centre the first
	// time it is counted.
	nw := len(b.counts)
	far := make([]float64, nw)
	dups := make([]int, nw)
	found := make([][]int32, nw)
	order := b.order
	forRange(len(order), b.jobs, func(w, lo, hi int) {
		for _, z := range order[lo:hi] {
			if b.level[z] != netFree {
				continue
			}
			if b.nd[z] == 0 {
				b.level[z] = netDup
				dups[w]++
				continue
			}
			far[w] = max(far[w], b.nd[z])
			if c := b.near[z]; atomic.AddInt32(&b.cnt[c], 1) == 1 {
				found[w] = append(found[w], c)
			}
		}
	})
	total, top := 0, 0.0
	for w := range nw {
		total += dups[w]
		top = max(top, far[w])
	}
	b.mon.add(total)
	for _, c := range b.cells {
		b.cellOf[c], b.rhoK[c] = -1, -1
	}
	b.prevCells = append(b.prevCells[:0], b.cells...)
	b.cells = b.cells[:0]
	for _, f := range found {
		b.cells = append(b.cells, f...)
	}
	if len(b.cells) == 0 {
		b.order = order[:0]
		return 0, false
	}
	slices.Sort(b.cells)
	nc := len(b.cells)
	// The stage's new nodes stay listed by the old cells for the friend
	// lists (updateFriends); the new cells get the other buffer.
	b.kids, b.prevKids = b.prevKids, b.kids
	b.cellLo = resize(b.cellLo, nc)
	b.cellHi = resize(b.cellHi, nc)
	b.rho = resize(b.rho, nc)
	b.tcount = resize(b.tcount, nc)
	b.roundLo = resize(b.roundLo, nc)
	if cap(b.kids) < nc {
		b.kids = append(b.kids[:cap(b.kids)], make([][]int32, nc-cap(b.kids))...)
	}
	b.kids = b.kids[:nc]
	pos := int32(0)
	for j, c := range b.cells {
		b.cellOf[c] = int32(j)
		b.cellLo[j] = pos
		pos += b.cnt[c]
		b.cellHi[j] = pos
		b.cnt[c] = b.cellLo[j]
	}
	next := make([]int32, pos)
	posPts := resize(b.posPts, int(pos)*b.dim)
	b.posPts = posPts
	forRange(len(order), b.jobs, func(_, lo, hi int) {
		for _, z := range order[lo:hi] {
			if b.level[z] == netFree {
				next[atomic.AddInt32(&b.cnt[b.near[z]], 1)-1] = z
			}
		}
	})
	// Each cell in point order, whatever the workers' interleaving.
	forRange(nc, b.jobs, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			c := b.cells[j]
			cell := next[b.cellLo[j]:b.cellHi[j]]
			slices.Sort(cell)
			r := 0.0
			dim := b.dim
			for q, z := range cell {
				b.pnd[z] = b.nd[z]
				r = max(r, b.nd[z])
				o := (int(b.cellLo[j]) + q) * dim
				copy(posPts[o:o+dim], b.pt(z))
			}
			b.rho[j], b.rhoK[c] = r, r
			b.cnt[c] = 0
			b.kids[j] = b.kids[j][:0]
		}
	})
	b.order = next
	if cap(b.tent) < len(next) {
		b.tent = make([]int32, len(next))
	}
	b.tent = b.tent[:len(next)]
	return b.sc.ceilLog(top) - 1, true
}

// resize returns s with length n, reusing its storage when it can.
func resize[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}

// stage makes the nodes of level i, in rounds.
func (b *netBuilder[T]) stage(i int32) error {
	bi := b.sc.pow(i)
	b.stage0 = len(b.created)
	for {
		if err := b.check(); err != nil {
			return err
		}
		for j := range b.cells {
			b.roundLo[j] = int32(len(b.kids[j]))
		}
		more, err := b.choose(bi)
		if err != nil || !more {
			return err
		}
		if err := b.check(); err != nil {
			return err
		}
		b.mon.add(b.settle(i))
		if err := b.check(); err != nil {
			return err
		}
		b.reassign()
	}
}

// candidate reports whether free point z must still be settled at a level
// of separation bi: it is farther than bi from every node.
func (b *netBuilder[T]) candidate(z int32, bi float64) bool {
	return b.level[z] == netFree && b.nd[z] > bi
}

// choose picks each cell's tentative nodes among its candidates, greedily
// in cell order, and reports whether there were any. A large cell's choice
// checks the budget and the stop request as it goes.
func (b *netBuilder[T]) choose(bi float64) (bool, error) {
	sep := bi * (1 + slack)
	var big []int
	var any atomic.Bool
	forRange(len(b.cells), b.jobs, func(w, lo, hi int) {
		for j := lo; j < hi; j++ {
			b.tcount[j] = 0
			if b.cellHi[j]-b.cellLo[j] >= netBigCell {
				continue // below, in parallel over its points
			}
			if b.chooseSmall(w, j, bi, sep) {
				any.Store(true)
			}
		}
	})
	for j := range b.cells {
		if b.cellHi[j]-b.cellLo[j] >= netBigCell {
			big = append(big, j)
		}
	}
	for _, j := range big {
		found, err := b.chooseBig(j, bi, sep)
		if err != nil {
			return false, err
		}
		if found {
			any.Store(true)
		}
	}
	return any.Load(), nil
}

// chooseSmall runs cell j's greedy choice on worker w: each candidate, in
// order, is kept unless a tentative node kept before it is within bi.
func (b *netBuilder[T]) chooseSmall(w, j int, bi, sep float64) bool {
	lo, hi := b.cellLo[j], b.cellHi[j]
	tent := b.tent[lo:lo]
	for p := lo; p < hi; p++ {
		z := b.order[p]
		if !b.candidate(z, bi) {
			continue
		}
		pz := b.pnd[z]
		ok := true
		for _, x := range tent {
			if math.Abs(b.pnd[x]-pz) > sep {
				continue // the triangle inequality through the centre
			}
			if b.dp(w, int(p), x) <= bi {
				ok = false
				break
			}
		}
		if ok {
			tent = append(tent, z)
		}
	}
	b.tcount[j] = int32(len(tent))
	return len(tent) > 0
}

// chooseBig runs cell j's greedy choice, the same as chooseSmall's, by
// marking in parallel the candidates each kept node covers.
func (b *netBuilder[T]) chooseBig(j int, bi, sep float64) (bool, error) {
	lo, hi := int(b.cellLo[j]), int(b.cellHi[j])
	pts := b.order[lo:hi]
	var cands []int32
	for _, z := range pts {
		if b.candidate(z, bi) {
			cands = append(cands, z)
			b.cover[z] = false
		}
	}
	tent := b.tent[lo:lo]
	for a := 0; a < len(cands); a++ {
		x := cands[a]
		if b.cover[x] {
			continue
		}
		if err := b.check(); err != nil {
			for _, z := range cands {
				b.cover[z] = false
			}
			return false, err
		}
		tent = append(tent, x)
		px := b.pnd[x]
		rest := cands[a+1:]
		if b.engine != nil && len(rest) >= b.engineMin {
			if err := b.coverOnEngine(x, rest, bi, sep); err != nil {
				return false, err
			}
			continue
		}
		forRange(len(rest), b.jobs, func(w, lo, hi int) {
			for _, z := range rest[lo:hi] {
				if b.cover[z] || math.Abs(b.pnd[z]-px) > sep {
					continue
				}
				if b.d(w, x, z) <= bi {
					b.cover[z] = true
				}
			}
		})
	}
	for _, z := range cands {
		b.cover[z] = false
	}
	b.tcount[j] = int32(len(tent))
	return len(tent) > 0, nil
}

// netEngineMin is the fewest points worth sending to an engine at once (a
// guess until an engine has been measured).
const netEngineMin = 1 << 14

// coverOnEngine marks the points of rest within bi of x, as chooseBig's
// loop does, with the distances from the build's engine: a point surely
// beyond bi by the engine's error bound is not covered, one surely within
// it is, and the rest are measured on the CPU.
func (b *netBuilder[T]) coverOnEngine(x int32, rest []int32, bi, sep float64) error {
	px := b.pnd[x]
	var rows []int32
	for _, z := range rest {
		if !b.cover[z] && math.Abs(b.pnd[z]-px) <= sep {
			rows = append(rows, z)
		}
	}
	out := make([]float64, len(rows))
	if err := b.engine.Distances(rows, b.pt(x), out); err != nil {
		return fmt.Errorf("core: distances on the build's engine: %w", err)
	}
	b.engineEvals += int64(len(rows))
	bound := b.engine.Bound()
	forRange(len(rows), b.jobs, func(w, lo, hi int) {
		for q := lo; q < hi; q++ {
			z, e := rows[q], out[q]
			switch {
			case bound.Beyond(e, bi):
			case bound.Upper(e) <= bi:
				b.cover[z] = true
			default:
				if b.d(w, x, z) <= bi {
					b.cover[z] = true
				}
			}
		}
	})
	return nil
}

// settle keeps a maximal independent set of the tentative nodes -- those
// of different cells may be within bi of each other -- and makes them nodes
// of level i. It returns how many it made.
func (b *netBuilder[T]) settle(i int32) int {
	bi := b.sc.pow(i)
	sep := bi * (1 + slack)
	// Conflicts between tentative nodes of neighbouring cells, each pair
	// of cells examined once, from the cell of the smaller centre.
	type edge struct{ a, z int32 } // a is earlier in the global order
	found := make([][]edge, len(b.counts))
	forRange(len(b.cells), b.jobs, func(w, lo, hi int) {
		for j := lo; j < hi; j++ {
			if b.tcount[j] == 0 {
				continue
			}
			c := b.cells[j]
			tj := b.tent[b.cellLo[j] : b.cellLo[j]+b.tcount[j]]
			for _, f := range b.friends[c] {
				jj := b.cellOf[f.c]
				if f.c < c || jj < 0 || b.tcount[jj] == 0 {
					continue
				}
				tjj := b.tent[b.cellLo[jj] : b.cellLo[jj]+b.tcount[jj]]
				for _, x := range tj {
					if float64(f.d)-b.pnd[x]-b.rho[jj] > sep {
						continue
					}
					// With several tentative nodes there, measure x to
					// their centre once and bound through it.
					dxc := -1.0
					if len(tjj) > 1 {
						dxc = b.d(w, x, f.c)
					}
					for _, y := range tjj {
						if float64(f.d)-b.pnd[x]-b.pnd[y] > sep || (dxc >= 0 && math.Abs(dxc-b.pnd[y]) > sep) {
							continue
						}
						if b.d(w, x, y) <= bi {
							found[w] = append(found[w], edge{x, y}) // cell j precedes jj
						}
					}
				}
			}
		}
	})
	var edges []edge
	for _, e := range found {
		edges = append(edges, e...)
	}
	if len(edges) > 0 {
		var lost []bool // by position in the global order of tentative nodes
		// Greedy maximal independent set in the global order (cells
		// ascending, then each cell's order): a tentative node is kept
		// unless an earlier neighbour was kept.
		// pos: each tentative node's place in the global order, kept in
		// the scratch array b.cnt (reset below).
		pos := b.cnt
		base := make([]int32, len(b.cells)+1)
		for j := range b.cells {
			base[j+1] = base[j] + b.tcount[j]
		}
		for j := range b.cells {
			for q, x := range b.tent[b.cellLo[j] : b.cellLo[j]+b.tcount[j]] {
				pos[x] = base[j] + int32(q)
			}
		}
		for q := range edges {
			if pos[edges[q].a] > pos[edges[q].z] {
				edges[q].a, edges[q].z = edges[q].z, edges[q].a
			}
		}
		slices.SortFunc(edges, func(e, f edge) int {
			if c := int(pos[e.z]) - int(pos[f.z]); c != 0 {
				return c
			}
			return int(pos[e.a]) - int(pos[f.a])
		})
		// Edges come in order of their later endpoint, so an earlier
		// endpoint's fate is settled before it is read.
		lost = make([]bool, base[len(b.cells)])
		for _, e := range edges {
			if !lost[pos[e.a]] {
				lost[pos[e.z]] = true
			}
		}
		for j := range b.cells {
			for _, x := range b.tent[b.cellLo[j] : b.cellLo[j]+b.tcount[j]] {
				pos[x] = 0
			}
		}
		for j := range b.cells {
			lo := b.cellLo[j]
			keep := b.tent[lo:lo]
			for q, x := range b.tent[lo : lo+b.tcount[j]] {
				if !lost[base[j]+int32(q)] {
					keep = append(keep, x)
				}
			}
			b.tcount[j] = int32(len(keep))
		}
	}
	made := 0
	for j, c := range b.cells {
		for _, x := range b.tent[b.cellLo[j] : b.cellLo[j]+b.tcount[j]] {
			b.level[x], b.near[x], b.nd[x] = i, c, b.pnd[x]
			b.kids[j] = append(b.kids[j], x)
			b.created = append(b.created, x)
			made++
		}
	}
	return made
}

// reassign moves every free point to the nodes made in this round that
// are nearer than its centre, keeping its nearest-node distance exact.
func (b *netBuilder[T]) reassign() {
	// The new nodes near each cell are children of its centre or of its
	// friends, made this round. With few of them, they are gathered from
	// the cells that made them; with many, each cell looks at its friends
	// itself (no gathered list as large as pairs of neighbours).
	var src []int
	est := 0
	for j := range b.cells {
		if k := len(b.kids[j]) - int(b.roundLo[j]); k > 0 {
			src = append(src, j)
			est += k * (1 + len(b.friends[b.cells[j]]))
		}
	}
	if len(src) == 0 {
		return
	}
	if est > 4*len(b.order)+1<<16 {
		if b.candBufs == nil {
			b.candBufs = make([][]netCand, len(b.counts))
		}
		forRange(len(b.cells), b.jobs, func(w, lo, hi int) {
			for j := lo; j < hi; j++ {
				r := b.candBufs[w][:0]
				for _, s := range b.kids[j][b.roundLo[j]:] {
					r = append(r, netCand{s: s, lb: b.nd[s], exact: true})
				}
				lim := 2 * b.rho[j] * (1 + slack)
				for _, f := range b.friends[b.cells[j]] {
					jj := b.cellOf[f.c]
					if jj < 0 {
						continue
					}
					for _, s := range b.kids[jj][b.roundLo[jj]:] {
						if lb := float64(f.d) - b.nd[s]; lb <= lim {
							r = append(r, netCand{s: s, lb: lb})
						}
					}
				}
				b.candBufs[w] = r
				b.reassignCell(w, j, r)
			}
		})
		return
	}
	if b.entries == nil {
		b.entries = make([][]netEntry, len(b.counts))
	}
	found := b.entries
	for w := range found {
		found[w] = found[w][:0]
	}
	forRange(len(src), b.jobs, func(w, lo, hi int) {
		out := found[w]
		for _, jj := range src[lo:hi] {
			kids := b.kids[jj][b.roundLo[jj]:]
			for _, s := range kids {
				out = append(out, netEntry{int32(jj), netCand{s: s, lb: b.nd[s], exact: true}})
			}
			for _, f := range b.friends[b.cells[jj]] {
				j := b.cellOf[f.c]
				if j < 0 {
					continue
				}
				lim := 2 * b.rho[j] * (1 + slack)
				for _, s := range kids {
					if lb := float64(f.d) - b.nd[s]; lb <= lim {
						out = append(out, netEntry{j, netCand{s: s, lb: lb}})
					}
				}
			}
		}
		found[w] = out
	})
	// Bucket by cell: counted, then placed; each cell's candidates are
	// sorted (reassignCell), so the placing order does not matter.
	nc := len(b.cells)
	first := make([]int32, nc+1)
	forParts(len(found), b.jobs, func(w int) {
		for _, e := range found[w] {
			atomic.AddInt32(&first[e.j+1], 1)
		}
	})
	for j := range nc {
		first[j+1] += first[j]
	}
	all := resize(b.candBuf, int(first[nc]))
	b.candBuf = all
	fill := slices.Clone(first[:nc])
	forParts(len(found), b.jobs, func(w int) {
		for _, e := range found[w] {
			all[atomic.AddInt32(&fill[e.j], 1)-1] = e.c
		}
	})
	var dst []int
	for j := range b.cells {
		if first[j+1] > first[j] {
			dst = append(dst, j)
		}
	}
	forRange(len(dst), b.jobs, func(w, lo, hi int) {
		for _, j := range dst[lo:hi] {
			b.reassignCell(w, j, all[first[j]:first[j+1]])
		}
	})
}

// reassignCell moves the free points of cell j to the new nodes r that are
// nearer than their centres, on worker w. It may reorder and overwrite r.
func (b *netBuilder[T]) reassignCell(w, j int, r []netCand) {
	if len(r) == 0 {
		return
	}
	c := b.cells[j]
	free := 0
	for _, z := range b.order[b.cellLo[j]:b.cellHi[j]] {
		if b.level[z] == netFree {
			free++
		}
	}
	if free == 0 {
		return
	}
	if free > 1 {
		// Measure the centre to each new node once: the points are
		// then bounded through exact distances.
		lim := 2 * b.rho[j] * (1 + slack)
		q := 0
		for _, cand := range r {
			if !cand.exact {
				cand.lb, cand.exact = b.d(w, c, cand.s), true
				if cand.lb > lim {
					continue
				}
			}
			r[q] = cand
			q++
		}
		r = r[:q]
	}
	// Nearest first: each point's distance then falls early and bounds
	// away more of the rest.
	slices.SortFunc(r, func(x, y netCand) int {
		switch {
		case x.lb < y.lb:
			return -1
		case x.lb > y.lb:
			return 1
		}
		return int(x.s - y.s)
	})
	for p := b.cellLo[j]; p < b.cellHi[j]; p++ {
		z := b.order[p]
		if b.level[z] != netFree {
			continue
		}
		pz, ndz, nz := b.pnd[z], b.nd[z], b.near[z]
		lim := ndz * (1 + slack)
		for _, cand := range r {
			if cand.lb-pz > lim || (cand.exact && pz-cand.lb > lim) {
				continue
			}
			d := b.dp(w, int(p), cand.s)
			if d < ndz || (d == ndz && cand.s < nz) {
				nz, ndz, lim = cand.s, d, d*(1+slack)
			}
		}
		b.near[z], b.nd[z] = nz, ndz
	}
}

// updateFriends makes the friend lists for the next stage, at level next,
// after the stage at level i: the nodes made at level i that have a cell
// get theirs from their parents' lists, and the older nodes keep the
// friends that still have a cell and are near enough.
func (b *netBuilder[T]) updateFriends(i, next int32) (entries int) {
	reach := b.kc * b.sc.pow(next)
	// The stage's new nodes grouped by parent, each group in creation
	// order: made[b.cnt[p]:b.cnt2[p]] are p's (empty for other nodes).
	start := make([]int32, len(b.prevCells)+1)
	for j := range b.prevCells {
		start[j+1] = start[j] + int32(len(b.prevKids[j]))
	}
	made := make([]int32, start[len(b.prevCells)])
	forRange(len(b.prevCells), b.jobs, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			if len(b.prevKids[j]) > 0 {
				copy(made[start[j]:], b.prevKids[j])
				p := b.prevCells[j]
				b.cnt[p], b.cnt2[p] = start[j], start[j+1]
			}
		}
	})
	// Their parent distances and cell radii, contiguous for the scans.
	madeNd := make([]float64, len(made))
	madeRho := make([]float64, len(made))
	for q, x := range made {
		madeNd[q], madeRho[q] = b.nd[x], b.rhoK[x]
	}
	var fresh []int32 // new nodes with a cell
	for _, x := range b.created[b.stage0:] {
		if b.rhoK[x] >= 0 {
			fresh = append(fresh, x)
		}
	}
	// The lists may outgrow listCap within this one round (on data of high
	// intrinsic dimension a level can multiply them many times over): the
	// entries are counted as the scans make them, and past the cap the
	// scans stop, so that the memory held stays near the cap.
	held := 0
	for _, c := range b.cells {
		held += len(b.friends[c])
	}
	var added atomic.Int64
	var over atomic.Bool
	links := make([][]netLink, len(b.counts))
	lists := make([][]netFriend, len(fresh))
	forRange(len(fresh), b.jobs, func(w, lo, hi int) {
		for q := lo; q < hi; q++ {
			if over.Load() {
				return
			}
			st := friendScan{s: fresh[q], rs: b.rhoK[fresh[q]], level: i, reach: reach, links: links[w]}
			s := st.s
			p, ps := b.near[s], b.nd[s]
			b.consider(w, &st, p, ps, ps)
			// Each node near the parent, then its new children, bounded
			// through the node's exact distance when that is measured.
			for c, fi := p, -1; fi < len(b.friends[p]); fi++ {
				lbc, exact := ps, true
				if fi >= 0 {
					f := b.friends[p][fi]
					c, lbc, exact = f.c, float64(f.d)-ps, false
				}
				k0, k1 := b.cnt[c], b.cnt2[c]
				dsc := -1.0
				if exact {
					dsc = lbc
				} else if rc := b.rhoK[c]; (rc >= 0 && lbc <= st.lim(rc)) || k1-k0 > 1 {
					dsc = b.d(w, s, c)
				}
				if c != p {
					if dsc >= 0 {
						b.consider(w, &st, c, dsc, dsc)
					} else {
						b.consider(w, &st, c, lbc, -1)
					}
				}
				// c's new children: new nodes, so a pair is measured by
				// its later node only (see consider).
				for kq := k0; kq < k1; kq++ {
					x, rx := made[kq], madeRho[kq]
					if rx < 0 || x <= s {
						continue
					}
					lb := lbc - madeNd[kq]
					if dsc >= 0 {
						lb = math.Abs(dsc - madeNd[kq])
					}
					lim := st.lim(rx)
					if lb > lim {
						continue
					}
					if d := b.d(w, s, x); d <= lim {
						st.out = append(st.out, friend(x, d))
						st.links = append(st.links, netLink{x, s, d})
					}
				}
			}
			lists[q] = st.out
			links[w] = st.links
			// Each pair is an entry on both sides.
			if int64(held)+added.Add(2*int64(len(st.out))) > int64(b.listCap) {
				over.Store(true)
			}
		}
	})
	for _, x := range made {
		b.cnt[b.near[x]], b.cnt2[b.near[x]] = 0, 0
	}
	if over.Load() {
		return b.listCap + 1
	}
	// Older nodes: drop friends without a cell or too far; add the new
	// nodes that found them. Nodes that lost their cell drop their list.
	for _, c := range b.prevCells {
		if b.cellOf[c] < 0 {
			b.friends[c] = nil
		}
	}
	forRange(len(b.cells), b.jobs, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			c := b.cells[j]
			if b.level[c] == i {
				continue
			}
			f := b.friends[c][:0]
			for _, x := range b.friends[c] {
				if rx := b.rhoK[x.c]; rx >= 0 && float64(x.d) <= pairLim(b.rho[j], rx, reach) {
					f = append(f, x)
				}
			}
			b.friends[c] = f
		}
	})
	for q, s := range fresh {
		b.friends[s] = lists[q]
	}
	b.spread(links)
	total := 0
	for _, c := range b.cells {
		total += len(b.friends[c])
	}
	return total
}

// spread appends each link's node to its target's friend list, in
// parallel: counted per target, room made, then filled. The order within a
// list depends on scheduling; nothing the build decides depends on it.
func (b *netBuilder[T]) spread(links [][]netLink) {
	targets := make([][]int32, len(links))
	forParts(len(links), b.jobs, func(w int) {
		for _, l := range links[w] {
			if atomic.AddInt32(&b.cnt[l.to], 1) == 1 {
				targets[w] = append(targets[w], l.to)
			}
		}
	})
	var all []int32
	for _, t := range targets {
		all = append(all, t...)
	}
	forRange(len(all), b.jobs, func(_, lo, hi int) {
		for _, to := range all[lo:hi] {
			f := b.friends[to]
			n := len(f)
			f = slices.Grow(f, int(b.cnt[to]))[:n+int(b.cnt[to])]
			b.friends[to] = f
			b.cnt[to] = int32(n)
		}
	})
	forParts(len(links), b.jobs, func(w int) {
		for _, l := range links[w] {
			b.friends[l.to][atomic.AddInt32(&b.cnt[l.to], 1)-1] = friend(l.s, l.d)
		}
	})
	forRange(len(all), b.jobs, func(_, lo, hi int) {
		for _, to := range all[lo:hi] {
			b.cnt[to] = 0
		}
	})
}

// netLink asks to add s, at distance d, to node to's friend list.
type netLink struct {
	to, s int32
	d     float64
}

// friendScan is the state of one new node's friend search.
type friendScan struct {
	s     int32
	rs    float64 // rho of s's cell
	level int32   // the stage's level: nodes of this level are new
	reach float64
	out   []netFriend
	links []netLink
}

// pairLim is the friend radius of two cells of radii ra and rb, the same
// whichever side computes it, so that lists stay symmetric.
func pairLim(ra, rb, reach float64) float64 {
	return (max(ra, rb) + min(ra, rb) + reach) * (1 + slack)
}

// lim is the friend radius between the scan's node and a cell of radius r.
func (st *friendScan) lim(r float64) float64 { return pairLim(st.rs, r, st.reach) }

// consider adds node x to the scanned node's friends if it has a cell and
// lies within the pair radius; lb bounds their distance below, and known,
// when not negative, is the distance. A pair of two new nodes is measured
// by the later one only, which links itself into the earlier one's list;
// an older node always gets a link.
func (b *netBuilder[T]) consider(w int, st *friendScan, x int32, lb, known float64) {
	rx := b.rhoK[x]
	if x == st.s || rx < 0 || (b.level[x] == st.level && x < st.s) {
		return
	}
	lim := st.lim(rx)
	if lb > lim {
		return
	}
	d := known
	if d < 0 {
		d = b.d(w, st.s, x)
	}
	if d <= lim {
		st.out = append(st.out, friend(x, d))
		st.links = append(st.links, netLink{x, st.s, d})
	}
}

// assemble turns the builder's nodes into t's storage: the root in slot 0
// and the children of every node in consecutive slots, blocks in the
// depth-first order of their parents; then the radii, weights and groups.
func (b *netBuilder[T]) assemble(t *Tree[T]) *Tree[T] {
	n := len(b.level)
	nodes := len(b.created)
	tm := b.tm
	// Children of each node in creation order (levels descending), and the
	// duplicates of each node.
	first, kids := groupOn(tm, n, nodes-1, func(j int) (int32, int32) {
		x := b.created[j+1]
		return b.near[x], x
	})
	dupFirst, dups := groupOn(tm, n, n, func(k int) (int32, int32) {
		if b.level[k] == netDup {
			return b.near[k], b.rowOf(int32(k))
		}
		return -1, 0
	})
	// Layout: slot of each node, depth first, each node's children
	// together (preorderSlots), and the node in each slot.
	runs := levelRuns(tm, b.created, b.level)
	slot, kidAt := preorderSlots(tm, b.created, runs, first, kids)
	// The node in each slot, and the generation of each node with children
	// for the radii (gen[q]: its run of levels, counted from the lowest;
	// -1 for a leaf).
	gens := len(runs) - 1
	var order, gen, idOff, famOff, kidBuf, idBuf []int32
	makeTogether(tm,
		func() { order = make([]int32, nodes) },
		func() { gen = make([]int32, nodes) },
		func() { idOff = make([]int32, nodes+1) },
		func() { famOff = make([]int32, nodes+1) },
		func() { kidBuf = make([]int32, nodes-1) },
		func() { idBuf = make([]int32, n) })
	tm.forRange(nodes, func(_, lo, hi int) {
		r, found := slices.BinarySearch(runs, lo)
		if !found {
			r--
		}
		for j := lo; j < hi; j++ {
			for runs[r+1] <= j {
				r++
			}
			k := b.created[j]
			q := slot[k]
			order[q], gen[q] = k, -1
			if first[k+1] > first[k] {
				gen[q] = int32(gens - 1 - r)
			}
		}
	})
	// Every node's slot, children and caller indices, written in parallel
	// into storage made at once. A node's children take consecutive slots,
	// so they are a run of kidBuf, which holds slot q+1 at q; the caller
	// indices are laid out in slot order, and so are the families of the
	// nodes with children or duplicates, in one allocation (one each had
	// cost a bunny build 20,000 allocations, and the radii and groups
	// below read them in slot order). The allocation lives while any
	// version still refers to one of its families: 48 bytes for each such
	// node of this build, which Tree.Memory counts only for the families
	// a version refers to.
	s := t.s
	s.newIDs(int32(n))
	s.holdAll()
	s.grow(int32(nodes))
	tm.forRange(nodes, func(_, lo, hi int) {
		for q := lo; q < hi; q++ {
			k := order[q]
			idOff[q+1] = 1 + dupFirst[k+1] - dupFirst[k]
			if first[k+1] > first[k] || dupFirst[k+1] > dupFirst[k] {
				famOff[q+1] = 1
			}
			if q+1 < nodes {
				kidBuf[q] = int32(q + 1)
			}
		}
	})
	accumulate(tm, idOff)
	accumulate(tm, famOff)
	fams := make([]family, famOff[nodes])
	b.tm.forRange(nodes, func(_, lo, hi int) {
		for q := lo; q < hi; q++ {
			k, u := order[q], int32(q)
			copyPoint(s.point(u), b.pt(k))
			nn := s.mut(u)
			nn.level = b.level[k]
			if k != b.created[0] { // not the root
				nn.parent = slot[b.near[k]]
				nn.pdist = b.nd[k]
			}
			at, nk := kidAt[k], first[k+1]-first[k]
			ids := idBuf[idOff[q]:idOff[q+1]:idOff[q+1]]
			ids[0] = b.rowOf(k)
			copy(ids[1:], dups[dupFirst[k]:dupFirst[k+1]])
			slices.Sort(ids)
			var f *family
			if famOff[q+1] > famOff[q] {
				f = &fams[famOff[q]]
			}
			nn.setFamilyIn(f, kidBuf[at:at+nk:at+nk], nil, ids)
			for _, id := range ids {
				s.setNodeOf(id, u)
			}
		}
	})
	t.root = 0
	t.n = int(idOff[nodes]) // free points (see listCap) are not in it yet
	t.nodes = nodes
	// The nodes with children by generation, lowest level first, each in
	// slot order (so that the radii read the node records in order).
	genFirst, internal := groupOn(tm, gens, nodes, func(q int) (int32, int32) { return gen[q], int32(q) })
	ends := []int{0}
	for g := range gens {
		if genFirst[g] < genFirst[g+1] {
			ends = append(ends, int(genFirst[g+1]))
		}
	}
	t.buildEvals += t.parallelRadiiOf(b.tm, internal, ends, true)
	return t
}

// groupBy groups values by their owner, 0 <= owner < owners, as a CSR:
// the values of owner o are vals[first[o]:first[o+1]], in the order each
// emits them. each must emit the same pairs both times it is called (a
// counting pass, then a filling one).
func groupBy(owners int, each func(emit func(owner, val int32))) (first, vals []int32) {
	first = make([]int32, owners+1)
	each(func(o, _ int32) { first[o+1]++ })
	for o := range owners {
		first[o+1] += first[o]
	}
	vals = make([]int32, first[owners])
	fill := slices.Clone(first[:owners])
	each(func(o, v int32) {
		vals[fill[o]] = v
		fill[o]++
	})
	return first, vals
}

// parallelRadii sets every node's rad and reach to exact maxima over its
// descendants, as exactRadii does, on the team tm, then rebuilds the
// groups and weights. The tree must be laid out with every parent in a
// lower slot than its children (compact's layout). It returns the
// distance evaluations spent.
func (t *Tree[T]) parallelRadii(tm *team) int64 {
	internal, ends := t.generations(tm)
	return t.parallelRadiiOf(tm, internal, ends, false)
}

// parallelRadiiOf is parallelRadii with the internal nodes in generations
// already (see radiiOf). With fresh set, the nodes' families are the
// caller's own, referred to by no other version yet, and their groups are
// written in place instead of into new families.
func (t *Tree[T]) parallelRadiiOf(tm *team, internal []int32, ends []int, fresh bool) int64 {
	slots := int(t.s.slots)
	rad, reach, byLevel, evals := t.radiiOf(tm, internal, ends)
	// Radii, leaves' weights and each node's number of groups; then the
	// groups and weights bottom up, level by level (children first), each
	// level in parallel, into one shared buffer.
	grpOff := make([]int32, slots+1)
	tm.forRange(slots, func(_, lo, hi int) {
		for u := int32(lo); u < int32(hi); u++ {
			n := t.s.mut(u)
			n.rad, n.reach = rad[u], reach[u]
			if len(n.children()) == 0 {
				n.weight = int64(n.nid)
				continue
			}
			g := int32(0)
			for q, c := range n.children() {
				if q == 0 || t.node(c).level != t.node(n.children()[q-1]).level {
					g++
				}
			}
			grpOff[u+1] = g
		}
	})
	accumulate(tm, grpOff)
	grpBuf := make([]group, grpOff[slots])
	for _, nodes := range byLevel {
		tm.forRange(len(nodes), func(_, lo, hi int) {
			for _, u := range nodes[lo:hi] {
				n := t.s.mut(u)
				grp, w, _ := t.groupKids(n, grpBuf[grpOff[u]:grpOff[u]:grpOff[u+1]])
				if fresh {
					n.fam.grp = grp
				} else {
					n.setGroups(grp)
				}
				n.weight = w + int64(n.nid)
			}
		})
	}
	return evals
}
