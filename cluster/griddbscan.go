package cluster

import (
	"fmt"
	"math"
	"slices"

	"github.com/pcct-dev/pcct/core"
)

// DBSCANPoints clusters n = len(points)/dim points (row-major, caller
// index i for row i) as scikit-learn's DBSCAN does, with metric m.
//
// Euclidean points in one to three dimensions are clustered on a grid,
// with no tree: cells of side a little below eps/sqrt(dim), so that the
// points of a cell are all within eps of each other (Gunawan's grid
// DBSCAN). A cell whose points number (or, with non-negative weights,
// weigh) at least minSamples holds core points only; every other point
// counts its neighbours in the 5^dim cells around its own, adding a cell
// whole where its bounding box lies within eps and skipping it where the
// box lies beyond. The core points of a cell form one cluster, and two
// neighbouring cells join when two of their core points lie within eps.
// A pair is within eps as scikit-learn's k-d tree decides it (which its
// DBSCAN uses on such data): the sum of the squared differences, in
// float64 and in coordinate order, is at most eps*eps. (DBSCAN's count on
// a tree compares Tree.Dist, the square root of that sum, with eps, which
// can decide a tie at eps otherwise: points at distance sqrt(3) on an
// integer grid with eps = math.Sqrt(3), for instance.)
//
// Euclidean points of four to 64 dimensions, and those of one to three
// whose coordinates are so spread that the cells could not be numbered,
// are clustered on a k-d tree made for the call, with the same test of a
// pair (see kdDBSCAN): its build is a small part of the cover tree's, and
// its searches, measured on the benchmark sets of 10 and 16 features and
// on clustered sets of 4 to 64, took less CPU time than the cover tree's
// build and DBSCAN together. Other metrics, and more dimensions, go to a
// cover tree built for the call (core.Build, then DBSCAN).
func DBSCANPoints[T core.Float](points []T, dim int, m core.Metric, eps float64, minSamples int, weights []float64, o Options) (res DBSCANResult, err error) {
	defer catch(&err)
	if dim < 1 || len(points) == 0 || len(points)%dim != 0 {
		return res, fmt.Errorf("cluster: %d values do not make rows of dimension %d", len(points), dim)
	}
	n := len(points) / dim
	if n > math.MaxInt32 {
		return res, fmt.Errorf("cluster: %d points exceed the limit of %d", n, math.MaxInt32)
	}
	if err := checkDBSCAN(eps, minSamples, weights, n); err != nil {
		return res, err
	}
	if euclideanPlain(m) && dim <= kdMaxDim {
		for i, v := range points {
			if x := float64(v); math.IsNaN(x) || math.IsInf(x, 0) {
				return res, fmt.Errorf("cluster: point %d has a non-finite coordinate %v at column %d", i/dim, x, i%dim)
			}
		}
		if dim <= 3 {
			if g := newDBSCANGrid(points, dim, eps); g != nil {
				return g.dbscan(eps, minSamples, weights, o)
			}
		}
		return kdDBSCAN(points, dim, eps, minSamples, weights, o)
	}
	t, err := core.Build(points, dim, core.Options{Metric: m, Jobs: o.Jobs, Monitor: o.Monitor})
	if err != nil {
		return res, fmt.Errorf("cluster: %w", err)
	}
	return DBSCAN(t, eps, minSamples, weights, o)
}

// gridMetric reports whether DBSCAN clusters points of the metric and
// dimension on a grid: Euclidean (or Minkowski with p = 2), in one to
// three dimensions.
func gridMetric(m core.Metric, dim int) bool {
	return euclideanPlain(m) && dim <= 3
}

// euclideanPlain reports whether m is the Euclidean metric (or Minkowski
// with p = 2) with no further parameters.
func euclideanPlain(m core.Metric) bool {
	c := m.Canonical()
	return c.Kind == core.Euclidean && len(c.Params()) == 0
}

// sqDist returns the sum of the squared differences of a and b, in
// float64 and in coordinate order, as scikit-learn's k-d tree computes
// its reduced Euclidean distance (the conversions keep each product
// from being fused with the sum).
func sqDist[T core.Float](a, b []T) float64 {
	b = b[:len(a)]
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += float64(d * d)
	}
	return s
}

// checkDBSCAN checks DBSCAN's arguments for n points.
func checkDBSCAN(eps float64, minSamples int, weights []float64, n int) error {
	if !(eps > 0) || math.IsInf(eps, 1) {
		return fmt.Errorf("cluster: eps must be a positive finite distance, got %v", eps)
	}
	if minSamples < 1 {
		return fmt.Errorf("cluster: min_samples must be at least 1, got %d", minSamples)
	}
	if weights != nil && len(weights) != n {
		return fmt.Errorf("cluster: %d weights for %d points", len(weights), n)
	}
	for i, w := range weights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("cluster: weight %d is %v, not finite", i, w)
		}
	}
	return nil
}

// gridSlack is the relative margin of the grid's tests on bounding boxes:
// far above the rounding of a difference of two coordinates (relative to
// the difference) and of the kernel.
const gridSlack = 1e-9

// gridMaxCells bounds the cells along one axis (2^21), so that a cell's
// position is computed with a relative error far below gridSlack.
const gridMaxCells = 1 << 21

// dbscanGrid holds the points sorted by cell.
type dbscanGrid[T core.Float] struct {
	dim   int
	pts   []T       // the points in cell order, row-major
	order []int32   // caller index of each sorted point
	start []int32   // cells+1 offsets into order
	key   []uint64  // each cell's number: row*ext[dim-1] + its last coordinate
	lo    []float64 // per cell, its bounding box: dim minima
	hi    []float64 // and dim maxima
	ext   [3]int64  // cells along each axis
	// rowFirst[r] is the first cell of row r or later (a row: the cells
	// sharing all coordinates but the last), when the rows are few enough
	// for a table; nil otherwise (then rows are found by binary search).
	rowFirst []int32
}

// newDBSCANGrid sorts the points (n rows of dim <= 3) into cells of side
// below eps/sqrt(dim), or returns nil if their spread needs more than
// gridMaxCells cells along an axis, or a cell's bounding box is not
// within eps (which the side excludes).
func newDBSCANGrid[T core.Float](pts []T, dim int, eps float64) *dbscanGrid[T] {
	n := len(pts) / dim
	side := eps / math.Sqrt(float64(dim)) * (1 - 0x1p-20)
	var lo [3]float64
	g := &dbscanGrid[T]{dim: dim}
	total := int64(1)
	for a := range dim {
		mn, mx := math.Inf(1), math.Inf(-1)
		for i := a; i < len(pts); i += dim {
			v := float64(pts[i])
			mn, mx = min(mn, v), max(mx, v)
		}
		span := (mx - mn) / side
		if !(span < gridMaxCells-2) {
			return nil
		}
		lo[a] = mn
		g.ext[a] = int64(span) + 1
		total *= g.ext[a]
	}
	// Each point's cell number, then the points sorted by it.
	type keyed struct {
		k uint64
		i int32
	}
	ks := make([]keyed, n)
	for i := range n {
		var k int64
		for a := range dim {
			c := int64((float64(pts[i*dim+a]) - lo[a]) / side)
			c = min(max(c, 0), g.ext[a]-1)
			k = k*g.ext[a] + c
		}
		ks[i] = keyed{uint64(k), int32(i)}
	}
	radixSortKeyed(ks, uint64(total-1), func(x keyed) uint64 { return x.k })
	g.pts = make([]T, 0, len(pts))
	g.order = make([]int32, n)
	for s, x := range ks {
		g.order[s] = x.i
		g.pts = append(g.pts, pts[int(x.i)*dim:int(x.i+1)*dim]...)
		if s == 0 || x.k != ks[s-1].k {
			g.start = append(g.start, int32(s))
			g.key = append(g.key, x.k)
		}
	}
	cells := len(g.key)
	g.start = append(g.start, int32(n))
	g.lo = make([]float64, cells*dim)
	g.hi = make([]float64, cells*dim)
	r2 := eps * eps * (1 - gridSlack)
	for c := range cells {
		var diag float64
		for a := range dim {
			mn, mx := math.Inf(1), math.Inf(-1)
			for s := g.start[c]; s < g.start[c+1]; s++ {
				v := float64(g.pts[int(s)*dim+a])
				mn, mx = min(mn, v), max(mx, v)
			}
			g.lo[c*dim+a], g.hi[c*dim+a] = mn, mx
			diag += (mx - mn) * (mx - mn)
		}
		if !(diag < r2) {
			return nil
		}
	}
	rows := total / g.ext[dim-1]
	if rows <= int64(4*n+16) {
		g.rowFirst = make([]int32, rows+1)
		c := 0
		for r := range rows + 1 {
			for c < cells && int64(g.key[c]/uint64(g.ext[dim-1])) < r {
				c++
			}
			g.rowFirst[r] = int32(c)
		}
	}
	return g
}

// radixSortKeyed sorts xs by key (at most max) in place, stably.
func radixSortKeyed[E any](xs []E, max uint64, key func(E) uint64) {
	tmp := make([]E, len(xs))
	src, dst := xs, tmp
	for shift := uint(0); shift < 64 && max>>shift > 0; shift += 11 {
		var count [1 << 11]int
		for _, x := range src {
			count[key(x)>>shift&(1<<11-1)]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, x := range src {
			d := key(x) >> shift & (1<<11 - 1)
			dst[count[d]] = x
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &xs[0] {
		copy(xs, src)
	}
}

// coords returns cell c's coordinates.
func (g *dbscanGrid[T]) coords(c int32) (x [3]int64) {
	k := int64(g.key[c])
	for a := g.dim - 1; a >= 0; a-- {
		x[a] = k % g.ext[a]
		k /= g.ext[a]
	}
	return x
}

// nearCursor lists the cells around one cell after another. Along a row
// (cells that share all coordinates but the last), in ascending order,
// the cells around move forward in each of the rows around: the cursor
// then advances its ranges instead of searching for them.
type nearCursor struct {
	prev int32 // the cell of the last call, -1 for none
	rows []nearRow
	out  [][2]int32
}

// nearRow is one row around the cursor's cell: its cells end at b, and
// [ka, kb) are those within 2 of the cell along the last axis.
type nearRow struct {
	base   uint64 // the row's first cell number
	b      int32
	ka, kb int32
}

func newNearCursor() *nearCursor { return &nearCursor{prev: -1} }

// near returns the ranges [a, b) of cells around cell c: those whose
// coordinates differ from c's by at most 2 along every axis, which hold
// every point within eps of a point of c. The slice is valid until the
// next call.
func (g *dbscanGrid[T]) near(cur *nearCursor, c int32) [][2]int32 {
	d := g.dim
	last := g.ext[d-1]
	k := int64(g.key[c])
	x := k % last
	loL, hiL := uint64(max(x-2, 0)), uint64(min(x+2, last-1))
	if cur.prev < 0 || c < cur.prev || int64(g.key[cur.prev])/last != k/last {
		g.nearRows(cur, c, loL)
	}
	cur.prev = c
	out := cur.out[:0]
	for i := range cur.rows {
		r := &cur.rows[i]
		for r.ka < r.b && g.key[r.ka] < r.base+loL {
			r.ka++
		}
		r.kb = max(r.kb, r.ka)
		for r.kb < r.b && g.key[r.kb] <= r.base+hiL {
			r.kb++
		}
		if r.ka < r.kb {
			out = append(out, [2]int32{r.ka, r.kb})
		}
	}
	cur.out = out
	return out
}

// nearRows sets the cursor's rows to those around cell c, each from its
// first cell at or after loL along the last axis.
func (g *dbscanGrid[T]) nearRows(cur *nearCursor, c int32, loL uint64) {
	cur.rows = cur.rows[:0]
	x := g.coords(c)
	d := g.dim
	last := g.ext[d-1]
	// Every row within 2 along the other axes.
	var r0, r1 int64
	if d >= 2 {
		r0 = 2
	}
	if d == 3 {
		r1 = 2
	}
	for o0 := -r0; o0 <= r0; o0++ {
		for o1 := -r1; o1 <= r1; o1++ {
			var row int64
			if d >= 2 {
				y := x[0] + o0
				if y < 0 || y >= g.ext[0] {
					continue
				}
				row = y
			}
			if d == 3 {
				y := x[1] + o1
				if y < 0 || y >= g.ext[1] {
					continue
				}
				row = row*g.ext[1] + y
			}
			a, b := g.rowCells(row)
			if a == b {
				continue
			}
			base := uint64(row * last)
			ka := a + int32(searchKeys(g.key[a:b], base+loL))
			cur.rows = append(cur.rows, nearRow{base: base, b: b, ka: ka, kb: ka})
		}
	}
}

// rowCells returns the range of cells in row r.
func (g *dbscanGrid[T]) rowCells(r int64) (int32, int32) {
	if g.rowFirst != nil {
		return g.rowFirst[r], g.rowFirst[r+1]
	}
	last := uint64(g.ext[g.dim-1])
	a := searchKeys(g.key, uint64(r)*last)
	b := a + searchKeys(g.key[a:], uint64(r+1)*last)
	return int32(a), int32(b)
}

// searchKeys returns the first position in keys (ascending) holding k or
// more.
func searchKeys(keys []uint64, k uint64) int {
	i, _ := slices.BinarySearch(keys, k)
	return i
}

// point returns the sorted point s.
func (g *dbscanGrid[T]) point(s int32) []T {
	o := int(s) * g.dim
	return g.pts[o : o+g.dim : o+g.dim]
}

// pointBox returns the least and the greatest squared distance from p to
// cell c's bounding box.
func (g *dbscanGrid[T]) pointBox(p []T, c int32) (near, far float64) {
	o := int(c) * g.dim
	for a, v := range p {
		x, lo, hi := float64(v), g.lo[o+a], g.hi[o+a]
		gap := max(lo-x, x-hi, 0)
		span := max(x-lo, hi-x)
		near += gap * gap
		far += span * span
	}
	return near, far
}

// boxBox returns the least and the greatest squared distance between
// the bounding boxes of cells c and b.
func (g *dbscanGrid[T]) boxBox(c, b int32) (near, far float64) {
	oc, ob := int(c)*g.dim, int(b)*g.dim
	for a := range g.dim {
		gap := max(g.lo[ob+a]-g.hi[oc+a], g.lo[oc+a]-g.hi[ob+a], 0)
		span := max(g.hi[ob+a]-g.lo[oc+a], g.hi[oc+a]-g.lo[ob+a])
		near += gap * gap
		far += span * span
	}
	return near, far
}

// dbscan runs DBSCAN on the grid.
func (g *dbscanGrid[T]) dbscan(eps float64, minSamples int, weights []float64, o Options) (res DBSCANResult, err error) {
	n := len(g.order)
	cells := int32(len(g.key))
	r2 := eps * eps // a pair is within eps if its sqDist is at most r2
	beyond2, within2 := r2*(1+gridSlack), r2*(1-gridSlack)
	w := make([]float64, n)
	nonNegative := true
	for s, i := range g.order {
		w[s] = 1
		if weights != nil {
			w[s] = weights[i]
		}
		nonNegative = nonNegative && w[s] >= 0
	}
	cellW := make([]float64, cells)
	for c := range cells {
		for s := g.start[c]; s < g.start[c+1]; s++ {
			cellW[c] += w[s]
		}
	}
	need := float64(minSamples)
	isCore := make([]bool, n)
	curs := make([]*nearCursor, o.jobs())
	for i := range curs {
		curs[i] = newNearCursor()
	}
	// Core points: a cell's own points are all within eps of each other.
	err = forBlocks(int(cells), 64, o, func(wk, lo, hi int) {
		cur := curs[wk]
		for c := int32(lo); c < int32(hi); c++ {
			if nonNegative && cellW[c] >= need {
				for s := g.start[c]; s < g.start[c+1]; s++ {
					isCore[s] = true
				}
				continue
			}
			buf := g.near(cur, c)
			for s := g.start[c]; s < g.start[c+1]; s++ {
				p := g.point(s)
				cnt := cellW[c]
			count:
				for _, rg := range buf {
					for b := rg[0]; b < rg[1]; b++ {
						if nonNegative && cnt >= need {
							break count
						}
						if b == c {
							continue
						}
						near, far := g.pointBox(p, b)
						if near > beyond2 {
							continue
						}
						if far < within2 {
							cnt += cellW[b]
							continue
						}
						for t := g.start[b]; t < g.start[b+1]; t++ {
							if sqDist(p, g.point(t)) <= r2 {
								cnt += w[t]
								if nonNegative && cnt >= need {
									break count
								}
							}
						}
					}
				}
				isCore[s] = cnt >= need
			}
		}
	})
	if err != nil {
		return res, err
	}
	// Clusters: the core points of a cell are one; neighbouring cells
	// join where two of their core points lie within eps.
	hasCore := make([]bool, cells)
	for c := range cells {
		for s := g.start[c]; s < g.start[c+1] && !hasCore[c]; s++ {
			hasCore[c] = isCore[s]
		}
	}
	parent := newDisjointSets(int(cells))
	cur := newNearCursor()
	for c := range cells {
		if !hasCore[c] {
			continue
		}
		if c%4096 == 0 && o.stopped() {
			return res, core.ErrStopped
		}
		for _, rg := range g.near(cur, c) {
			for b := max(rg[0], c+1); b < rg[1]; b++ {
				if !hasCore[b] {
					continue
				}
				rc, rb := parent.find(c), parent.find(b)
				if rc == rb {
					continue
				}
				near, far := g.boxBox(c, b)
				if near > beyond2 {
					continue
				}
				linked := far < within2
			pairs:
				for s := g.start[c]; s < g.start[c+1] && !linked; s++ {
					if !isCore[s] {
						continue
					}
					p := g.point(s)
					if near, _ := g.pointBox(p, b); near > beyond2 {
						continue
					}
					for t := g.start[b]; t < g.start[b+1]; t++ {
						if isCore[t] && sqDist(p, g.point(t)) <= r2 {
							linked = true
							break pairs
						}
					}
				}
				if linked {
					parent.link(rc, rb)
				}
			}
		}
	}
	// A cell's cluster (-1 for none), numbered as on a tree.
	cellLabel := clusterNumbers(int(cells), func(c int32) bool { return hasCore[c] }, parent.find, func(c int32) int32 {
		id := int32(math.MaxInt32)
		for s := g.start[c]; s < g.start[c+1]; s++ {
			if isCore[s] {
				id = min(id, g.order[s])
			}
		}
		return id
	})
	for c := range cellLabel {
		if cellLabel[c] < 0 {
			cellLabel[c] = math.MaxInt32 // no cluster: above every number
		}
	}
	// Border points join the lowest-numbered cluster among their core
	// neighbours.
	res.Labels = make([]int, n)
	res.Core = make([]bool, n)
	err = forBlocks(int(cells), 64, o, func(wk, lo, hi int) {
		cur := curs[wk]
		for c := int32(lo); c < int32(hi); c++ {
			var near [][2]int32
			listed := false
			for s := g.start[c]; s < g.start[c+1]; s++ {
				i := g.order[s]
				if isCore[s] {
					res.Labels[i], res.Core[i] = int(cellLabel[c]), true
					continue
				}
				if !listed {
					near, listed = g.near(cur, c), true
				}
				p := g.point(s)
				best := cellLabel[c]
				for _, rg := range near {
					for b := rg[0]; b < rg[1]; b++ {
						if cellLabel[b] >= best {
							continue
						}
						nb, fb := g.pointBox(p, b)
						if nb > beyond2 {
							continue
						}
						if fb < within2 {
							best = cellLabel[b]
							continue
						}
						for t := g.start[b]; t < g.start[b+1]; t++ {
							if isCore[t] && sqDist(p, g.point(t)) <= r2 {
								best = cellLabel[b]
								break
							}
						}
					}
				}
				res.Labels[i] = -1
				if best != math.MaxInt32 {
					res.Labels[i] = int(best)
				}
			}
		}
	})
	if err != nil {
		return DBSCANResult{}, err
	}
	return res, nil
}
