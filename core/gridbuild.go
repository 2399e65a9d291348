package core

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
)

// The grid construction (Build in one to three dimensions).
//
// In low dimensions under a metric that no coordinate difference exceeds
// (Euclidean, Manhattan, Chebyshev, Minkowski with p >= 1 and no weights),
// Build makes the same kind of tree bottom up on grids instead of top down
// through friend lists: the nested nets N_i (the nodes of level >= i) are
// made from the lowest level upwards, N_i a maximal subset of N_(i-1) whose
// points are pairwise farther than b^i apart, and every point of N_(i-1)
// left out becomes a node of level i-1 whose parent is its nearest point
// of N_i (within b^i, since the subset is maximal). The lowest net is every
// distinct point, at a level below the least distance between two of them;
// the last point left is the root. Nodes of level >= i are then pairwise
// farther than b^i apart and each is within b^(l+1) of its parent: the
// compressed cover tree's conditions, with distances taken as the tree
// measures them.
//
// Level i's net is chosen on a grid of cells a little wider than b^i (with
// an origin shifted by the seed): two points within b^i lie in the same or
// adjacent cells. The points are sorted by cell, coordinates in order, so
// the cells next to a cell that differ only in the last coordinate follow
// each other, and the 3^(d-1) runs of neighbours of successive cells move
// forward only: one pass over the sorted points finds every point's
// neighbours without hashing. A point joins the net unless a point already
// chosen lies within b^i; the cells are taken in two waves, those of even
// first coordinate then odd, each wave in parallel over slabs of cells that
// cannot be neighbours, so the net does not depend on the number of
// goroutines.
//
// Every level sorts and scans the points still in the net, so the work is
// about n times the levels between the least distance and the typical one
// between neighbours: no friend lists, few distance evaluations, and the
// loops read memory in order. Data whose spread the grid's 63-bit cell keys
// cannot index (cells of the lowest level too small for the extent) take
// the level-synchronous construction instead.

// gridMaxDim is the highest dimension the grid construction takes: a cell
// has 3^d - 1 neighbours.
const gridMaxDim = 3

// gridCols is the most columns of cells around a cell: 3^(gridMaxDim-1).
const gridCols = 9

// gridWiden is the relative margin by which a level's cells are wider than
// b^i: a point's cell index is computed in float64 with a relative error
// of a few ulps of indices up to 2^31, so two points within b^i always
// fall in adjacent cells.
const gridWiden = 1e-5

// gridCrowd is the most pairs of points in neighbouring cells, per point,
// of the grid from which the construction bounds the points' nearest
// neighbours; a grid more crowded is narrowed.
const gridCrowd = 16

// gridPart is the fewest points (or cells) a part of one of the grid
// construction's parallel loops takes (on the build's team; 256 measured
// no faster on bunny and zip codes).
const gridPart = 1024

// gridSplit is the number of parts per goroutine of the grid
// construction's loops over cells: parts are taken in order by whichever
// goroutine is free, so one that wakes late or draws crowded cells holds
// the loop up less than with one part each.
const gridSplit = 4

// gridMaxBits is the most bits a cell index takes per coordinate, which
// keeps the index's rounding error far below gridWiden.
const gridMaxBits = 31

// gridMetric reports whether the grid construction can build a tree of
// metric m in dim dimensions: its distance bounds every coordinate
// difference.
func gridMetric(m Metric, dim int) bool {
	if dim < 1 || dim > gridMaxDim {
		return false
	}
	c := m.Canonical()
	switch c.Kind {
	case Euclidean, Manhattan, Chebyshev:
		return true
	case Minkowski:
		return c.par == "" && c.P >= 1
	}
	return false
}

// gridBuilder holds the grid construction's state. Points are the caller's
// rows r = 0..n-1.
type gridBuilder[T Float] struct {
	data []T
	dim  int
	dist distFunc[T]
	sc   scale
	jobs int
	rng  *rand.Rand
	// sample is the number of rows narrowSample looks at.
	sample int
	team   *team // the build's workers
	// euclid is set when dist is the Euclidean distance, whose square
	// (sq) settles most comparisons without a square root or a call.
	euclid bool
	lo     [gridMaxDim]float64
	ext    float64

	level []int32   // row -> level, netFree while in the net, netDup for a duplicate
	act   []int32   // row -> the lowest level at which it may have a point within b^i
	near  []int32   // row -> parent row (-1 for the root); a duplicate's node
	nd    []float64 // row -> distance to its parent

	// The net at the current level, sorted by cell.
	rows []int32  // position -> row
	keys []uint64 // position -> cell key
	pts  []T      // position -> coordinates, in that order
	sel  []bool   // position -> chosen for the next net
	// The chosen points apart, in order (see gatherChosen).
	chosenBefore []int32 // position -> chosen points before it
	chosenRows   []int32 // chosen point -> row
	chosenPts    []T     // chosen point -> coordinates
	shift        uint    // bits per coordinate in a key
	// The cells of the sorted net: cell c spans positions [cellLo[c],
	// cellLo[c+1]), and the j-th column of cells around it (the cells that
	// differ from it by -1, 0 or +1 in each leading coordinate and by -1
	// to +1 in the last: keys keys[cellLo[c]] + offs[j] to that + 2)
	// spans positions [col[2q], col[2q+1]) for q = c*cols+j.
	cellLo  []int32
	cellKey []uint64 // cell -> its key
	col     []int32
	cols    int
	offs    []uint64
	// Buffers of the radix sort.
	rows2 []int32
	keys2 []uint64

	counts []paddedCount // distance evaluations, per worker
}

// gridBuild builds the tree of the prepared points data (dim columns) as
// Build does, by the grid construction, if gridMetric allows it and the
// data's spread fits the grid; ok is false when it does not (the caller
// then builds otherwise). lo and hi are the points' bounding box, as
// Build computes it (the lowest and highest of each coordinate).
func gridBuild[T Float](data []T, dim int, lo, hi []float64, sc scale, o Options) (t *Tree[T], ok bool, err error) {
	n := len(data) / dim
	if n < 2 || !gridMetric(o.Metric, dim) {
		return nil, false, nil
	}
	t = newTree[T](dim, o.Metric, sc, o.Seed)
	g := &gridBuilder[T]{data: data, dim: dim, dist: t.dist, sc: sc, jobs: o.jobs(), sample: gridSample}
	g.team = newTeam(g.jobs)
	defer g.team.stop()
	if o.sample > 0 {
		g.sample = o.sample
	}
	g.euclid = o.Metric.Canonical().Kind == Euclidean
	g.rng = rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	// The data's bounds: Build's box of the same points.
	for k := range dim {
		g.lo[k] = lo[k]
		g.ext = max(g.ext, hi[k]-lo[k])
	}
	if !(g.ext > 0) || math.IsInf(g.ext, 0) {
		return nil, false, nil // one distinct point, or a span too wide for the keys
	}
	g.level = make([]int32, n)
	g.near = make([]int32, n)
	g.nd = make([]float64, n)
	g.counts = make([]paddedCount, max(g.jobs, 1))
	g.team.forRange(n, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			g.level[r], g.near[r] = netFree, -1
		}
	})
	m := o.Monitor
	if m.stopped() {
		return nil, false, ErrStopped
	}
	low, waiting, upTo, ok := g.start(n)
	if !ok {
		return nil, false, nil
	}
	m.add(n - len(waiting)) // the duplicates
	// The net of level low is every distinct point. Each level i above
	// chooses its net from the one below among the points that may lie
	// within b^i of another (waiting[:next], by their activation level);
	// the others stay in it untouched.
	g.rows = g.rows[:0]
	next := 0
	for i := low + 1; ; i++ {
		if end := int(upTo[min(int(i-low-1), len(upTo)-1)]); end > next {
			g.rows = append(g.rows, waiting[next:end]...)
			next = end
		}
		if len(g.rows) <= 1 {
			if next == len(waiting) {
				break
			}
			i = g.act[waiting[next]] - 1 // no level between does anything
			continue
		}
		if !g.sortLevel(i) {
			return nil, false, nil
		}
		g.index()
		g.choose(i)
		left := g.attach(i)
		m.add(left)
		if m.stopped() {
			return nil, false, ErrStopped
		}
		if o.MaxEvals > 0 && g.spent() > o.MaxEvals {
			return nil, false, ErrCostly
		}
	}
	root := g.rows[0]
	g.level[root], g.near[root], g.nd[root] = levelInf, -1, 0
	m.add(1)
	// The grids are done with: let the assembly reuse their memory.
	g.keys, g.pts, g.sel, g.rows2, g.keys2, g.col, g.cellLo, g.cellKey, g.act = nil, nil, nil, nil, nil, nil, nil, nil, nil
	g.chosenBefore, g.chosenRows, g.chosenPts = nil, nil, nil
	collectBefore(n)
	return g.assemble(t, root), true, nil
}

// split returns the number of parts of a loop over n points or cells:
// gridSplit per goroutine of the team, each of at least gridPart.
func (g *gridBuilder[T]) split(n int) int {
	return min(gridSplit*g.team.size(), max(1, n/gridPart))
}

// spent returns the distance evaluations so far (between parallel loops).
func (g *gridBuilder[T]) spent() int64 {
	var s int64
	for i := range g.counts {
		s += g.counts[i].n
	}
	return s
}

// row returns the coordinates of row r.
func (g *gridBuilder[T]) row(r int32) []T {
	o := int(r) * g.dim
	return g.data[o : o+g.dim : o+g.dim]
}

// at returns the coordinates of the point at position p of the net.
func (g *gridBuilder[T]) at(p int) []T {
	o := p * g.dim
	return g.pts[o : o+g.dim : o+g.dim]
}

// sq returns the squared Euclidean distance between the points at
// positions p and q of the net, in float64.
func (g *gridBuilder[T]) sq(p, q int) float64 { return rowSquare(g.at(p), g.at(q)) }

// rowSquare returns the squared Euclidean distance between the points a
// and b (of one to gridMaxDim coordinates), summed in coordinate order.
func rowSquare[T Float](a, b []T) float64 {
	b = b[:len(a)]
	d := float64(a[0]) - float64(b[0])
	s := d * d
	for k := 1; k < len(a); k++ {
		d = float64(a[k]) - float64(b[k])
		s += d * d
	}
	return s
}

// sqScreen is the relative margin around a squared radius within which
// sq does not decide a comparison and the distance is measured as the
// tree measures it (as it is where a square is not exactSquare).
const sqScreen = 1e-9

// within reports whether the points at positions p and q of the net lie
// within r of each other as the tree measures it; r2 is r*r.
func (g *gridBuilder[T]) within(p, q int, r, r2 float64) bool {
	if g.euclid {
		s := g.sq(p, q)
		if exactSquare(s) {
			if s < r2*(1-sqScreen) {
				return true
			}
			if s > r2*(1+sqScreen) {
				return false
			}
		}
	}
	return g.dist(g.at(p), g.at(q)) <= r
}

// start marks every duplicate (level netDup, near its first row) and
// returns a level below the least distance between two distinct points,
// and the distinct points in order of their activation level g.act: the
// lowest level at which another point may lie within b^i of them, from a
// lower bound of the distance to their nearest neighbour. The bounds come
// from one grid of about the data's typical spacing (narrowed where its
// cells would be crowded): a point's nearest neighbour in the cells around
// its own is its nearest one if within a cell's side, and farther than
// that side otherwise; upTo[l] is the number of them whose activation
// level is at most low+1+l. It reports false when the data's spread does
// not fit the grid.
func (g *gridBuilder[T]) start(n int) (low int32, waiting, upTo []int32, ok bool) {
	j := g.sc.ceilLog(g.ext * math.Pow(float64(n), -1/float64(g.dim)))
	if n >= 4*g.sample {
		j = g.narrowSample(j, n)
	}
	g.rows = make([]int32, n)
	for r := range g.rows {
		g.rows[r] = int32(r)
	}
	// Duplicates share a cell at every level: drop them first, or a point
	// repeated many times would keep the cells crowded at any size.
	if !g.sortLevel(j) {
		return 0, nil, nil, false
	}
	g.markDuplicates()
	var work int64
	for {
		g.index()
		m := len(g.rows)
		work = g.blockWork()
		if work <= gridCrowd*int64(m)+1<<12 {
			break
		}
		// Crowded: narrow the cells by the excess.
		j -= max(1, int32(math.Ceil(math.Log2(float64(work)/float64(gridCrowd/4*m))/float64(g.dim))))
		if !g.sortLevel(j) {
			return 0, nil, nil, false
		}
	}
	side := g.sc.pow(j) * (1 + gridWiden)
	g.act = make([]int32, n)
	cells := len(g.cellLo) - 1
	parts := g.split(len(g.rows))
	least := make([]float64, parts)
	most := make([]int32, parts)
	// In two and more Euclidean dimensions the least squares come first,
	// each pair measured once (leastSquares).
	var squares []float64
	if g.euclid && g.dim > 1 {
		squares = g.leastSquares()
	}
	g.team.run(parts, func(_, part int) {
		lo, hi := side, int32(math.MinInt32)
		for c := cells * part / parts; c < cells*(part+1)/parts; c++ {
			for p := int(g.cellLo[c]); p < int(g.cellLo[c+1]); p++ {
				var nn float64
				if squares != nil {
					nn = g.nearestFrom(c, p, side, squares[p])
				} else {
					nn = g.nearestOther(c, p, side)
				}
				a := g.sc.ceilLog(nn)
				g.act[g.rows[p]] = a
				lo, hi = min(lo, nn), max(hi, a)
			}
		}
		least[part], most[part] = lo, hi
	})
	// A point is counted as measured against every point in the cells
	// around its own, itself included: the grid's block work, summed
	// already.
	g.counts[0].n += work
	low = g.sc.ceilLog(slices.Min(least)) - 1
	// Order by activation level: a stable grouping (the levels span a few
	// dozen values at most), from low+1 up.
	first, waiting := groupOn(g.team, int(slices.Max(most)-low), len(g.rows), func(p int) (int32, int32) {
		r := g.rows[p]
		return g.act[r] - low - 1, r
	})
	return low, waiting, first[1:], true
}

// narrowSample returns the level, at most j, of the first grid on which
// the distinct points of an even sample of g.sample rows are not
// crowded once their pairs in neighbouring cells are scaled to all n
// points (as if drawn from them: pairs of two points grow with the square
// of the points); start's own test then rarely narrows the grid of all points
// again, which costs a sort and an index of them (a third of start's work
// on bunny, a scanned surface, whose first guess assumes a filled volume).
func (g *gridBuilder[T]) narrowSample(j int32, n int) int32 {
	s := g.sample
	g.rows = make([]int32, s)
	for i := range g.rows {
		g.rows[i] = int32(i * n / s)
	}
	sample := slices.Clone(g.rows)
	defer func() {
		// markDuplicates marked the sample's duplicates among themselves
		// only: start finds them again among all points.
		for _, r := range sample {
			g.level[r], g.near[r] = netFree, -1
		}
	}()
	f := float64(n) / float64(s)
	for range 8 {
		if !g.sortLevel(j) {
			return j
		}
		g.markDuplicates()
		g.index()
		m := float64(len(g.rows))
		// Each point is one of its own pairs: the others scale with f^2.
		distinct := m * f
		work := (float64(g.blockWork())-m)*f*f + distinct
		if work <= gridCrowd*distinct+1<<12 {
			return j
		}
		j -= max(1, int32(math.Ceil(math.Log2(work/(gridCrowd/4*distinct))/float64(g.dim))))
	}
	return j
}

// gridSample is the number of rows narrowSample looks at (Options.sample
// in tests), on sets of four times as many or more.
const gridSample = 4096

// nearestOther returns the distance from the point at position p of
// cell c to the nearest other point in the cells around c, or side if
// none is nearer. Under the Euclidean distance it comes from the least
// square, a little smaller than its root (a lower bound is what the
// activation levels need).
func (g *gridBuilder[T]) nearestOther(c, p int, side float64) float64 {
	if g.euclid {
		least := math.Inf(1)
		for cc, j := g.around(c), 0; j < len(cc); j += 2 {
			a, z := int(cc[j]), int(cc[j+1])
			for q := a; q < z; q++ {
				if q != p {
					least = min(least, g.sq(p, q))
				}
			}
		}
		return g.nearestFrom(c, p, side, least)
	}
	return g.nearestMeasured(c, p, side)
}

// nearestFrom is nearestOther given least, the least squared Euclidean
// distance from p to another point around it (+Inf for none).
func (g *gridBuilder[T]) nearestFrom(c, p int, side, least float64) float64 {
	switch {
	case math.IsInf(least, 1) && g.alone(c, p):
		return side
	case exactSquare(least):
		return min(side, math.Sqrt(least)*(1-sqScreen))
	}
	// A square that overflowed or lost precision: measure.
	return g.nearestMeasured(c, p, side)
}

// alone reports whether no other point lies in the cells around cell c
// than the one at position p.
func (g *gridBuilder[T]) alone(c, p int) bool {
	cc := g.around(c)
	for j := 0; j < len(cc); j += 2 {
		if n := int(cc[j+1] - cc[j]); n > 1 || (n == 1 && int(cc[j]) != p) {
			return false
		}
	}
	return true
}

// nearestMeasured is nearestOther with every distance measured as the
// tree measures it.
func (g *gridBuilder[T]) nearestMeasured(c, p int, side float64) float64 {
	nn := side
	for cc, j := g.around(c), 0; j < len(cc); j += 2 {
		a, z := int(cc[j]), int(cc[j+1])
		for q := a; q < z; q++ {
			if q != p {
				nn = min(nn, g.dist(g.at(p), g.at(q)))
			}
		}
	}
	return nn
}

// blockWork returns the number of pairs of points in the same or adjacent
// cells of the indexed net.
func (g *gridBuilder[T]) blockWork() int64 {
	cells := len(g.cellLo) - 1
	parts := g.split(cells)
	work := make([]int64, parts)
	g.team.forParts(parts, func(w int) {
		var sum int64 // summed here: work[w] shares a cache line with the others
		for c := cells * w / parts; c < cells*(w+1)/parts; c++ {
			span := int32(0)
			for cc, j := g.around(c), 0; j < len(cc); j += 2 {
				span += cc[j+1] - cc[j]
			}
			sum += int64(g.cellLo[c+1]-g.cellLo[c]) * int64(span)
		}
		work[w] = sum
	})
	var sum int64
	for _, x := range work {
		sum += x
	}
	return sum
}

// markDuplicates marks the points of g.rows (sorted by cell) that repeat
// another's coordinates as its duplicates and drops them from g.rows,
// which keeps its order. The lowest row of a group of equal points keeps
// it. Runs of cells go to the workers, each compacting its own run.
func (g *gridBuilder[T]) markDuplicates() {
	n := len(g.rows)
	parts := g.split(n)
	// Runs end where a cell ends.
	ends := make([]int, parts+1)
	for w := 1; w <= parts; w++ {
		e := max(n*w/parts, ends[w-1])
		for e > 0 && e < n && g.keys[e] == g.keys[e-1] {
			e++
		}
		ends[w] = e
	}
	kept := make([]int, parts)
	g.team.forParts(parts, func(w int) {
		var hashed []uint64
		keep := ends[w]
		for lo := ends[w]; lo < ends[w+1]; {
			hi := lo + 1
			for hi < ends[w+1] && g.keys[hi] == g.keys[lo] {
				hi++
			}
			if hi-lo > 8 {
				hashed = g.markHashed(g.rows[lo:hi], hashed)
			} else {
				g.markPairs(g.rows[lo:hi])
			}
			for p := lo; p < hi; p++ {
				if r := g.rows[p]; g.level[r] != netDup {
					g.rows[keep], g.keys[keep] = r, g.keys[p]
					keep++
				}
			}
			lo = hi
		}
		kept[w] = keep - ends[w]
	})
	// The runs' kept points, moved down in order (never onto one not yet
	// moved).
	keep := kept[0]
	for w := 1; w < parts; w++ {
		copy(g.rows[keep:], g.rows[ends[w]:ends[w]+kept[w]])
		copy(g.keys[keep:], g.keys[ends[w]:ends[w]+kept[w]])
		keep += kept[w]
	}
	g.rows, g.keys = g.rows[:keep], g.keys[:keep]
	g.pts = resize(g.pts, keep*g.dim)
	g.team.forRange(keep, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			copyRow(g.at(p), g.row(g.rows[p]))
		}
	})
}

// markPairs marks the duplicates among the rows of a small cell (rows
// ascending), comparing each with the distinct ones before it.
func (g *gridBuilder[T]) markPairs(cell []int32) {
	for q, r := range cell {
		for _, e := range cell[:q] {
			if g.level[e] != netDup && g.same(e, r) {
				g.level[r], g.near[r] = netDup, e
				break
			}
		}
	}
}

// markHashed marks the duplicates among the rows of a large cell (rows
// ascending): equal coordinates hash alike, so only rows of one hash are
// compared, and the rows sort with their hashes as plain integers. hashed
// is a reusable buffer, returned.
func (g *gridBuilder[T]) markHashed(cell []int32, hashed []uint64) []uint64 {
	hashed = hashed[:0]
	for _, r := range cell {
		h := uint64(0x9e3779b97f4a7c15)
		for _, v := range g.row(r) {
			// +0 makes -0 hash as 0, which it equals.
			h = (h ^ math.Float64bits(float64(v)+0)) * 0xbf58476d1ce4e5b9
			h ^= h >> 31
		}
		hashed = append(hashed, h&^(1<<32-1)|uint64(uint32(r)))
	}
	slices.Sort(hashed)
	for lo := 0; lo < len(hashed); {
		hi := lo + 1
		for hi < len(hashed) && hashed[hi]>>32 == hashed[lo]>>32 {
			hi++
		}
		// Rows of one hash, ascending.
		for q := lo + 1; q < hi; q++ {
			r := int32(uint32(hashed[q]))
			for _, x := range hashed[lo:q] {
				if e := int32(uint32(x)); g.level[e] != netDup && g.same(e, r) {
					g.level[r], g.near[r] = netDup, e
					break
				}
			}
		}
		lo = hi
	}
	return hashed
}

// same reports whether rows a and b are at distance 0 as the tree
// measures it: equal coordinates, or under a metric other than the
// Euclidean (whose distance is 0 only there) a distance that rounds to 0.
func (g *gridBuilder[T]) same(a, b int32) bool {
	if slices.Equal(g.row(a), g.row(b)) {
		return true
	}
	return !g.euclid && g.dist(g.row(a), g.row(b)) == 0
}

// copyRow copies a point of one to gridMaxDim coordinates (a loop: copy
// would call memmove for a few bytes).
func copyRow[T Float](dst, src []T) {
	for k, v := range src {
		dst[k] = v
	}
}

// sortLevel sorts g.rows by their cells on the grid of level i (cells of
// side b^i widened by gridWiden, the origin shifted by a random fraction
// of a cell), setting g.keys and g.pts. Where the cell indices of the
// data's extent need more bits than a key holds, each coordinate's
// indices are first renumbered in order, consecutive ones kept one apart
// and the others two (so cells stay next to each other exactly when they
// were). It reports false if even that does not fit, or the indices would
// be too large to compute exactly enough.
func (g *gridBuilder[T]) sortLevel(i int32) bool {
	side := g.sc.pow(i) * (1 + gridWiden)
	cells := g.ext/side + 3 // indices 1 .. ext/side + 2: room for +-1 around each
	if !(cells < 1<<gridMaxBits) {
		return false
	}
	b := uint(bits.Len64(uint64(cells)))
	inv := 1 / side
	var off [gridMaxDim]float64
	for k := range g.dim {
		off[k] = 1 + g.rng.Float64()
	}
	n := len(g.rows)
	g.keys = resize(g.keys, n)
	if b*uint(g.dim) <= 63 {
		g.team.forRange(n, func(_, lo, hi int) {
			for p := lo; p < hi; p++ {
				var key uint64
				for k, v := range g.row(g.rows[p]) {
					key = key<<b | uint64((float64(v)-g.lo[k])*inv+off[k])
				}
				g.keys[p] = key
			}
		})
	} else {
		clear(g.keys)
		width := b
		b = uint(bits.Len64(uint64(2*n + 3)))
		if b*uint(g.dim) > 63 {
			return false
		}
		raw := make([]uint64, n)
		for k := range g.dim {
			for p, r := range g.rows {
				raw[p] = uint64((float64(g.row(r)[k])-g.lo[k])*inv + off[k])
			}
			g.renumber(raw, width)
			for p := range g.keys {
				g.keys[p] = g.keys[p]<<b | raw[p]
			}
		}
	}
	g.shift = b
	g.rows, g.keys = g.radixSort(g.rows, g.keys, b*uint(g.dim))
	g.pts = resize(g.pts, n*g.dim)
	g.team.forRange(n, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			copyRow(g.at(p), g.row(g.rows[p]))
		}
	})
	return true
}

// renumber replaces the values v (of width bits) by their ranks in
// increasing order, from 1, a rank one above the one before for the next
// integer and two above for a larger gap.
func (g *gridBuilder[T]) renumber(v []uint64, width uint) {
	pos := make([]int32, len(v))
	for p := range pos {
		pos[p] = int32(p)
	}
	sorted := slices.Clone(v)
	pos, sorted = g.radixSort(pos, sorted, width)
	rank := uint64(1)
	for q, p := range pos {
		if q > 0 && sorted[q] != sorted[q-1] {
			rank += min(sorted[q]-sorted[q-1], 2)
		}
		v[p] = rank
	}
}

// radixSort sorts vals by keys (of width bits), stably, and returns them
// sorted, in either the slices given or g's buffers g.rows2 and g.keys2
// (which then hold the others); neither may be one of those buffers. The
// passes run in parallel (radixPairs).
func (g *gridBuilder[T]) radixSort(vals []int32, keys []uint64, width uint) ([]int32, []uint64) {
	parts := min(g.jobs, max(1, len(vals)/(2*gridPart)))
	vals, keys, g.rows2, g.keys2 = radixPairs(g.team, parts, vals, keys, width, g.rows2, g.keys2)
	return vals, keys
}

// index finds the cells of the sorted net and the positions of each of
// their neighbouring columns (g.cellLo, g.col), in parallel over runs of
// cells: within a run the cells come in increasing key order, and so do
// each column's first and last keys, so every column's bounds only move
// forward.
func (g *gridBuilder[T]) index() {
	b := g.shift
	g.cols = 1
	for range g.dim - 1 {
		g.cols *= 3
	}
	cols := g.cols
	// The key offsets of the columns' first cells: each leading coordinate
	// -1, 0 or +1, the last -1 (keys add modulo 2^64, so negative offsets
	// wrap; no coordinate of a key is 0 or its largest value).
	g.offs = resize(g.offs, cols)
	for c := range cols {
		var o uint64
		x := c
		for k := g.dim - 2; k >= 0; k-- {
			o += uint64(int64(x%3-1)) << (b * uint(g.dim-1-k))
			x /= 3
		}
		g.offs[c] = o - 1
	}
	g.findCells()
	cells := len(g.cellKey)
	g.col = resize(g.col, 2*cells*cols)
	parts := g.split(cells)
	g.team.forParts(parts, func(w int) {
		from, to := cells*w/parts, cells*(w+1)/parts
		if from >= to {
			return
		}
		// The columns' first and last cells, walked over the cells' keys
		// (a cell per step, not a point) up to the sentinel key after the
		// last cell, which no column's bound reaches (keys take at most 63
		// bits).
		ck := g.cellKey[:cells+3]
		var lo [gridCols]int
		for j := range cols {
			lo[j], _ = slices.BinarySearch(ck[:cells], ck[from]+g.offs[j])
		}
		offs, cellLo, col := g.offs[:cols], g.cellLo[:cells+1], g.col
		for c := from; c < to; c++ {
			k := ck[c]
			cc := col[2*c*cols : 2*(c+1)*cols]
			for j, o := range offs {
				first := k + o
				p := lo[j]
				for ck[p] < first {
					p++
				}
				// A column holds at most three cells (the last
				// coordinate -1, 0 and +1), the first at p if any: the
				// keys from p on are sorted, so those within the column
				// are the first of them, counted without branches.
				last := first + 2
				e := p + b2i(ck[p] <= last) + b2i(ck[p+1] <= last) + b2i(ck[p+2] <= last)
				lo[j] = p
				cc[2*j], cc[2*j+1] = cellLo[p], cellLo[e]
			}
		}
	})
}

// findCells sets g.cellLo and g.cellKey from the sorted keys: counted,
// then written, in parallel over runs of positions.
func (g *gridBuilder[T]) findCells() {
	keys := g.keys
	n := len(keys)
	parts := min(g.jobs, max(1, n/(4*gridPart)))
	starts := make([]int, parts+1)
	g.team.forParts(parts, func(w int) {
		c := 0
		for p := n * w / parts; p < n*(w+1)/parts; p++ {
			if p == 0 || keys[p] != keys[p-1] {
				c++
			}
		}
		starts[w+1] = c
	})
	for w := range parts {
		starts[w+1] += starts[w]
	}
	cells := starts[parts]
	g.cellLo, g.cellKey = resize(g.cellLo, cells+1), resize(g.cellKey, cells+1)
	g.team.forParts(parts, func(w int) {
		c := starts[w]
		for p := n * w / parts; p < n*(w+1)/parts; p++ {
			if p == 0 || keys[p] != keys[p-1] {
				g.cellLo[c], g.cellKey[c] = int32(p), keys[p]
				c++
			}
		}
	})
	g.cellLo[cells] = int32(n)
	// Sentinels for index, which reads up to three keys past a column's
	// first cell.
	g.cellKey = append(g.cellKey[:cells], math.MaxUint64, math.MaxUint64, math.MaxUint64)
	g.cellKey = g.cellKey[:cells]
}

// b2i returns 1 for true and 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// around returns the bounds of the columns of cells around cell c: the
// j-th spans positions [around[2j], around[2j+1]).
func (g *gridBuilder[T]) around(c int) []int32 {
	return g.col[2*c*g.cols : 2*(c+1)*g.cols]
}

// choose marks in g.sel the net of level i: every point of the sorted net
// below that no point chosen before it lies within b^i of. The cells of
// even first coordinate go first, then the odd ones (no cell is next to
// another of its wave in another slab); within a wave, runs of cells go
// to the workers, each run in order. A point is tested only against the
// points that may be chosen already: in its own slab those before it, and
// in the slabs beside it only in the second wave (the same choice as
// testing all of them, for about 17% less time in bunny's choices).
func (g *gridBuilder[T]) choose(i int32) {
	r := g.sc.pow(i)
	r2 := r * r
	n := len(g.rows)
	g.sel = resize(g.sel, n)
	g.team.forRange(n, func(_, lo, hi int) { clear(g.sel[lo:hi]) })
	// In one dimension a slab is a cell and its one column spans both
	// waves: every column is scanned whole.
	own0, own1 := g.ownColumns()
	narrow := g.dim > 1
	g.inSlabWaves(func(w, c int, second bool) {
		evals := int64(0)
		cc := g.around(c)
		for p := int(g.cellLo[c]); p < int(g.cellLo[c+1]); p++ {
			free := true
		scan:
			for j := 0; j < len(cc); j += 2 {
				lo, hi := int(cc[j]), int(cc[j+1])
				switch {
				case !narrow:
				case j >= own0 && j < own1:
					hi = min(hi, p) // nothing in the slab from p on is chosen yet
				case !second:
					continue // the odd slabs come in the second wave
				}
				for q := lo; q < hi; q++ {
					if g.sel[q] {
						evals++
						if g.within(p, q, r, r2) {
							free = false
							break scan
						}
					}
				}
			}
			g.sel[p] = free
		}
		g.counts[w].n += evals
	})
}

// inSlabWaves calls cell(w, c, second) for every cell c of the indexed
// net on the team (w the worker): the cells of even first coordinate
// first, then, second true, the odd ones. Within a wave runs of whole
// slabs (first coordinate) go to the workers, each run in order; no cell
// is next to another of its wave in another slab, so a worker may write
// its own slabs and those beside them.
func (g *gridBuilder[T]) inSlabWaves(cell func(w, c int, second bool)) {
	cells := len(g.cellLo) - 1
	top := g.shift * uint(g.dim-1)
	parts := g.split(len(g.rows))
	ends := make([]int, parts+1)
	for w := 1; w <= parts; w++ {
		e := max(cells*w/parts, ends[w-1])
		for e > ends[w-1] && e < cells && g.keys[g.cellLo[e]]>>top == g.keys[g.cellLo[e-1]]>>top {
			e++
		}
		ends[w] = e
	}
	for parity := range uint64(2) {
		g.team.run(parts, func(w, part int) {
			for c := ends[part]; c < ends[part+1]; c++ {
				if (g.keys[g.cellLo[c]]>>top)&1 == parity {
					cell(w, c, parity == 1)
				}
			}
		})
	}
}

// ownColumns returns the bounds in around(c) of the columns of c's own
// slab (first coordinate unchanged): the slab before it's come first, the
// slab after it's last.
func (g *gridBuilder[T]) ownColumns() (lo, hi int) { return 2 * (g.cols / 3), 4 * (g.cols / 3) }

// leastSquares returns, for each position p of the indexed net, the least
// squared Euclidean distance from p to another point in the cells around
// its own (+Inf if there is none), in two or more dimensions. Each pair is
// measured once, by the point of the two that comes first in the order of
// the cells (the slab after a point's own and, in its own, the points
// after it), and counted for both; the slabs go in two waves, even then
// odd (inSlabWaves), so that the points a worker writes (its slabs and
// the slabs after them) are no other worker's in that wave.
func (g *gridBuilder[T]) leastSquares() []float64 {
	n := len(g.rows)
	least := make([]float64, n)
	g.team.forRange(n, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			least[p] = math.Inf(1)
		}
	})
	// The columns of the own slab, then those of the slab after it.
	own0, own1 := g.ownColumns()
	g.inSlabWaves(func(_, c int, _ bool) {
		cc := g.around(c)
		for p := int(g.cellLo[c]); p < int(g.cellLo[c+1]); p++ {
			lp := least[p]
			for j := own0; j < len(cc); j += 2 {
				lo, hi := int(cc[j]), int(cc[j+1])
				if j < own1 {
					lo = max(lo, p+1) // the own slab's points before p measured p
				}
				for q := lo; q < hi; q++ {
					s := g.sq(p, q)
					lp = min(lp, s)
					least[q] = min(least[q], s)
				}
			}
			least[p] = lp
		}
	})
	return least
}

// attach makes every point of the net below that is not in the net of
// level i a node of level i-1, child of its nearest chosen point (ties to
// the lower row), and keeps the chosen ones in g.rows. It returns the
// number of nodes made. The chosen points are first copied apart, in
// order (gatherChosen), so that a column of cells spans a run of them.
func (g *gridBuilder[T]) attach(i int32) int {
	n := len(g.rows)
	cells := len(g.cellLo) - 1
	r := g.sc.pow(i)
	g.gatherChosen()
	parts := g.split(n)
	g.team.run(parts, func(w, part int) {
		evals := int64(0)
		for c := cells * part / parts; c < cells*(part+1)/parts; c++ {
			for p := int(g.cellLo[c]); p < int(g.cellLo[c+1]); p++ {
				if g.sel[p] {
					continue
				}
				best, bq := g.nearestChosen(c, p, &evals)
				if bq < 0 || best > r {
					panic("core: grid build: a point left out of a net has no chosen point within b^i")
				}
				x := g.rows[p]
				g.level[x], g.near[x], g.nd[x] = i-1, g.chosenRows[bq], best
			}
		}
		g.counts[w].n += evals
	})
	keep := len(g.chosenRows)
	g.team.forRange(keep, func(_, lo, hi int) {
		copy(g.rows[lo:hi], g.chosenRows[lo:hi])
	})
	g.rows = g.rows[:keep]
	return n - keep
}

// gatherChosen copies the chosen points of the sorted net, in order, to
// g.chosenRows and g.chosenPts, and sets g.chosenBefore[p] to the number
// of chosen points before position p: counted, then written, in parallel
// over runs of positions.
func (g *gridBuilder[T]) gatherChosen() {
	n, dim := len(g.rows), g.dim
	g.chosenBefore = resize(g.chosenBefore, n+1)
	parts := g.split(n)
	at := make([]int32, parts+1)
	g.team.forParts(parts, func(w int) {
		m := int32(0)
		for _, s := range g.sel[n*w/parts : n*(w+1)/parts] {
			if s {
				m++
			}
		}
		at[w+1] = m
	})
	for w := range parts {
		at[w+1] += at[w]
	}
	m := int(at[parts])
	g.chosenBefore[n] = int32(m)
	g.chosenRows = resize(g.chosenRows, m)
	g.chosenPts = resize(g.chosenPts, m*dim)
	g.team.forParts(parts, func(w int) {
		j := at[w]
		for p := n * w / parts; p < n*(w+1)/parts; p++ {
			g.chosenBefore[p] = j
			if g.sel[p] {
				g.chosenRows[j] = g.rows[p]
				copyRow(g.chosenPts[int(j)*dim:int(j+1)*dim], g.at(p))
				j++
			}
		}
	})
}

// chosenAt returns the coordinates of chosen point j.
func (g *gridBuilder[T]) chosenAt(j int) []T {
	o := j * g.dim
	return g.chosenPts[o : o+g.dim : o+g.dim]
}

// nearestChosen returns the chosen point nearest to the point at position
// p of cell c (ties to the lower row), as an index into g.chosenRows, and
// its distance as the tree measures it; bq is -1 if no chosen point lies
// in the cells around c. Under the Euclidean distance the points are
// ranked by their squares.
func (g *gridBuilder[T]) nearestChosen(c, p int, evals *int64) (best float64, bq int) {
	if g.euclid {
		if d, q, ok := g.nearestSquare(c, p, evals); ok {
			return d, q
		}
	}
	best, bq = math.Inf(1), -1
	x := g.at(p)
	for cc, j := g.around(c), 0; j < len(cc); j += 2 {
		lo, hi := int(g.chosenBefore[cc[j]]), int(g.chosenBefore[cc[j+1]])
		for q := lo; q < hi; q++ {
			*evals++
			d := g.dist(x, g.chosenAt(q))
			if d < best || (d == best && g.chosenRows[q] < g.chosenRows[bq]) {
				best, bq = d, q
			}
		}
	}
	return best, bq
}

// nearestSquare is nearestChosen ranking by squared Euclidean distances;
// ok is false, and nothing counted, if a square fell where it loses
// precision.
func (g *gridBuilder[T]) nearestSquare(c, p int, evals *int64) (best float64, bq int, ok bool) {
	best, bq = math.Inf(1), -1
	n := int64(0)
	x := g.at(p)
	for cc, j := g.around(c), 0; j < len(cc); j += 2 {
		lo, hi := int(g.chosenBefore[cc[j]]), int(g.chosenBefore[cc[j+1]])
		n += int64(hi - lo)
		for q := lo; q < hi; q++ {
			s := rowSquare(x, g.chosenAt(q))
			if !exactSquare(s) {
				return 0, 0, false
			}
			if s < best || (s == best && g.chosenRows[q] < g.chosenRows[bq]) {
				best, bq = s, q
			}
		}
	}
	*evals += n
	if bq < 0 {
		return best, bq, true
	}
	return g.dist(x, g.chosenAt(bq)), bq, true
}

// assemble turns the nodes into t's storage (see assembleNets).
func (g *gridBuilder[T]) assemble(t *Tree[T], root int32) *Tree[T] {
	return assembleNets(t, g.data, g.dim, g.team, g.level, g.near, g.nd, root, g.spent())
}

// collectMin is the fewest points of a build that collects its garbage
// before the assembly (collectBefore).
const collectMin = 1 << 17

// collectBefore collects the garbage a construction of n points left (its
// grids or sets, dropped by the caller) before the assembly allocates the
// tree, so that the assembly reuses that memory instead of growing the
// heap: for 1,000,000 x 3 the peak fell from 423 to 293 MiB for a
// collection of 1-4 ms. Small builds skip it (their peak is small, and
// the collection would be a few percent of their time).
func collectBefore(n int) {
	if n >= collectMin {
		runtime.GC()
	}
}

// assembleNets turns a construction's nodes into t's storage through the
// level-synchronous construction's assembly: level, near and nd give each
// row's level (netDup for a duplicate of row near, levelInf for the root),
// its parent row and the distance to it. The assembly reads them and the
// points in place, numbered by row (the root first among the nodes of
// its level, which no other node shares); the nodes are made in order of
// level, highest first, then by row. evals is the construction's distance
// evaluations so far.
func assembleNets[T Float](t *Tree[T], data []T, dim int, tm *team, level, near []int32, nd []float64, root int32, evals int64) *Tree[T] {
	n := len(level)
	b := &netBuilder[T]{dim: dim, dist: t.dist, sc: t.scale, jobs: tm.size(), tm: tm,
		pts: data[:n*dim], level: level, near: near, nd: nd}
	// The lowest and highest levels of the nodes, run by run.
	parts := assembleParts(tm, n)
	spans := make([][2]int32, parts)
	tm.forParts(parts, func(p int) {
		lo, hi := int32(math.MaxInt32), int32(math.MinInt32)
		for _, l := range level[n*p/parts : n*(p+1)/parts] {
			if l != netDup && l != levelInf {
				lo, hi = min(lo, l), max(hi, l)
			}
		}
		spans[p] = [2]int32{lo, hi}
	})
	lowest, top := int32(math.MaxInt32), int32(math.MinInt32)
	for _, sp := range spans {
		lowest, top = min(lowest, sp[0]), max(top, sp[1])
	}
	if top < lowest { // the root alone
		lowest, top = 0, 0
	}
	// The nodes by level, highest first, then by row (the root first).
	_, byLevel := groupOn(tm, int(top-lowest)+2, n, func(k int) (int32, int32) {
		switch l := level[k]; l {
		case levelInf:
			return 0, int32(k)
		case netDup:
			return -1, 0
		default:
			return top - l + 1, int32(k)
		}
	})
	b.created = byLevel
	t = b.assemble(t)
	t.buildEvals += evals
	return t
}
