package core

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync/atomic"
	"unsafe"
)

// BruteForce is a brute-force index: it holds the points and answers every query
// by measuring all of them, with the same results as a Tree over the same
// points (exact, ordered by distance then caller index, the same distance
// values bit for bit). Where a cover tree cannot prune, in high dimensions
// or on data without low-dimensional structure, scanning everything in a
// cache-friendly order is faster than a tree; see KNearestBatch for how
// Euclidean distances are screened in bulk and then measured exactly.
//
// Like a Tree, a BruteForce never changes once made: Insert and Delete return a
// new version sharing the storage they do not touch, so keeping a *BruteForce is
// an O(1) snapshot, and a BruteForce is safe for concurrent use. Caller indices
// follow the same rules as a Tree's: Build assigns 0..n-1, each Insert the
// next unused ones, and a deleted index is never reused.
type BruteForce[T Float] struct {
	dim    int
	metric Metric
	dist   distFunc[T]
	chunks []*bruteChunk[T]
	nids   int32 // caller indices issued; index i is row i
	n      int   // live points
	lo, hi []float64
	// screen holds the centre the screening rows are packed around, or is
	// nil when the metric is not served by screening (only Euclidean and
	// Cosine are).
	screen []float64

	queryEvals atomic.Int64
}

// bruteRows is the number of rows in a chunk: a multiple of panelWidth.
const bruteRows = 1024

// bruteChunk holds rows first .. first+used-1 of a BruteForce. It never changes
// once a version holding it is returned: updates copy what they change. A
// chunk all of whose points are deleted is dropped (a nil entry).
type bruteChunk[T Float] struct {
	used  int
	nlive int      // live rows
	rows  []T      // used*dim coordinates
	live  []uint64 // bit j: row j is live
	// Screening data (Euclidean and Cosine): the rows minus the centre, in
	// float32 panels of panelWidth (the last one padded with zeros), the
	// squared norms of those float32 rows, computed in float64, and the
	// largest norm.
	panels []float32
	norms  []float64
	norm   float64
}

// BuildBruteForce returns a brute-force index over the n = len(data)/dim points
// stored row-major in data, with caller indices 0..n-1. It copies the
// points. Of opts it uses Metric, Jobs and Monitor (which counts the
// points added); Seed and Base concern trees only. It returns an error for
// the same data a Build refuses.
func BuildBruteForce[T Float](data []T, dim int, opts Options) (f *BruteForce[T], err error) {
	defer catch(&err)
	if _, _, err = opts.check(data, dim); err != nil {
		return nil, err
	}
	if data, err = prepare(opts.Metric, data, dim); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	m := opts.Metric.Canonical()
	f = &BruteForce[T]{dim: dim, metric: m, dist: fastKernel[T](m, dim)}
	if m.Kind == Euclidean || m.Kind == Cosine {
		f.screen = centre(data, dim, opts.jobs())
	}
	return f.insert(data, opts.jobs(), opts.Monitor)
}

// centre returns the mean of the rows, the point the screening rows are
// packed around: distances do not change, and centred rows have small
// norms, which keeps the screen's error bound small.
// The rows are summed in blocks of centreBlock on jobs goroutines and the
// blocks' sums added in order, so the mean does not depend on jobs.
func centre[T Float](data []T, dim, jobs int) []float64 {
	c := make([]float64, dim)
	n := len(data) / dim
	blocks := (n + centreBlock - 1) / centreBlock
	sums := make([]float64, blocks*dim)
	forRange(blocks, jobs, func(_, lo, hi int) {
		for b := lo; b < hi; b++ {
			s := sums[b*dim : (b+1)*dim]
			for i := b * centreBlock; i < min(n, (b+1)*centreBlock); i++ {
				for j, v := range data[i*dim : (i+1)*dim] {
					s[j] += float64(v)
				}
			}
		}
	})
	for b := range blocks {
		for j, v := range sums[b*dim : (b+1)*dim] {
			c[j] += v
		}
	}
	for j := range c {
		c[j] /= float64(n)
		if math.IsInf(c[j], 0) || math.IsNaN(c[j]) {
			c[j] = 0 // coordinates near the float64 limit: their sum overflowed
		}
	}
	return c
}

// centreBlock is the rows centre sums together.
const centreBlock = 1024

// Insert returns a new version of f that also holds the n = len(points)/dim
// points given row-major, with the caller indices first, first+1, ...,
// first+n-1, where first is f.IDs(). f is unchanged.
func (f *BruteForce[T]) Insert(points []T, opts UpdateOptions) (nf *BruteForce[T], first int, err error) {
	defer catch(&err)
	if _, err := checkPoints(points, f.dim); err != nil {
		return nil, 0, err
	}
	if points, err = prepare(f.metric, points, f.dim); err != nil {
		return nil, 0, fmt.Errorf("core: %w", err)
	}
	first = int(f.nids)
	nf, err = f.insert(points, opts.jobs(), opts.Monitor)
	return nf, first, err
}

// insert returns a new version with the prepared points appended.
func (f *BruteForce[T]) insert(points []T, jobs int, m *Monitor) (*BruteForce[T], error) {
	n := len(points) / f.dim
	if int64(f.nids)+int64(n) > math.MaxInt32 {
		return nil, fmt.Errorf("core: %d more caller indices exceed the limit of %d", n, math.MaxInt32)
	}
	lo, hi := f.lo, f.hi
	if lo == nil {
		lo, hi = emptyBox(f.dim)
	} else {
		lo, hi = slices.Clone(lo), slices.Clone(hi)
	}
	extendBoxJobs(lo, hi, points, jobs)
	if err := checkSpan(f.metric, lo, hi); err != nil {
		return nil, err
	}
	nf := f.derive()
	nf.lo, nf.hi = lo, hi
	// The rows fill the last chunk (a copy of it), then new chunks.
	type span struct{ chunk, row, from, to int }
	var spans []span
	next := 0
	if c := len(nf.chunks) - 1; c >= 0 && int(f.nids)-c*bruteRows < bruteRows {
		old := nf.chunks[c]
		if old == nil {
			// Every point of the last chunk was deleted and it was
			// dropped: its rows come back, dead.
			used := int(f.nids) - c*bruteRows
			old = &bruteChunk[T]{used: used, rows: make([]T, used*f.dim), live: make([]uint64, bruteRows/64)}
		}
		nc := &bruteChunk[T]{
			used:  old.used,
			nlive: old.nlive,
			rows:  slices.Grow(slices.Clone(old.rows), (bruteRows-old.used)*f.dim),
			live:  slices.Clone(old.live),
		}
		nf.chunks[c] = nc
		take := min(bruteRows-old.used, n)
		spans = append(spans, span{c, old.used, 0, take})
		next = take
	}
	for next < n {
		take := min(bruteRows, n-next)
		nf.chunks = append(nf.chunks, &bruteChunk[T]{rows: make([]T, 0, take*f.dim), live: make([]uint64, bruteRows/64)})
		spans = append(spans, span{len(nf.chunks) - 1, 0, next, next + take})
		next += take
	}
	// Copy the rows into the chunks that changed and pack them, in
	// parallel (each span is a chunk of its own).
	var stop atomic.Bool
	forRange(len(spans), jobs, func(_, lo, hi int) {
		for _, sp := range spans[lo:hi] {
			if stop.Load() || m.stopped() {
				stop.Store(true)
				return
			}
			c := nf.chunks[sp.chunk]
			c.rows = append(c.rows, points[sp.from*f.dim:sp.to*f.dim]...)
			for j := sp.row; j < sp.row+sp.to-sp.from; j++ {
				c.live[j/64] |= 1 << (j % 64)
			}
			c.used = sp.row + sp.to - sp.from
			c.nlive += sp.to - sp.from
			nf.pack(c)
			m.add(sp.to - sp.from)
		}
	})
	if stop.Load() {
		return nil, ErrStopped
	}
	nf.nids += int32(n)
	nf.n += n
	return nf, nil
}

// derive returns a copy of f sharing its chunks.
func (f *BruteForce[T]) derive() *BruteForce[T] {
	return &BruteForce[T]{
		dim:    f.dim,
		metric: f.metric,
		dist:   f.dist,
		chunks: slices.Clone(f.chunks),
		nids:   f.nids,
		n:      f.n,
		lo:     f.lo,
		hi:     f.hi,
		screen: f.screen,
	}
}

// pack computes a chunk's screening data from its rows.
func (f *BruteForce[T]) pack(c *bruteChunk[T]) {
	if f.screen == nil {
		return
	}
	dim := f.dim
	np := (c.used + panelWidth - 1) / panelWidth
	c.panels = make([]float32, np*dim*panelWidth)
	c.norms = make([]float64, c.used)
	c.norm = 0
	for j := range c.used {
		p, lane := j/panelWidth, j%panelWidth
		panel := c.panels[p*dim*panelWidth:]
		var ss float64
		for k, v := range c.rows[j*dim : (j+1)*dim] {
			x := float32(float64(v) - f.screen[k])
			panel[k*panelWidth+lane] = x
			ss += float64(x) * float64(x)
		}
		c.norms[j] = ss
		c.norm = max(c.norm, math.Sqrt(ss))
	}
}

// Delete returns a new version of f without the points with the given
// caller indices; f is unchanged. It returns an error, and no new version,
// if an index is not held by f or is given twice.
func (f *BruteForce[T]) Delete(ids []int64, opts UpdateOptions) (nf *BruteForce[T], err error) {
	defer catch(&err)
	if opts.Monitor.stopped() {
		return nil, ErrStopped
	}
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if !f.Has(int(id)) {
			return nil, fmt.Errorf("core: caller index %d is not in the index", id)
		}
		if seen[id] {
			return nil, fmt.Errorf("core: caller index %d is given twice", id)
		}
		seen[id] = true
	}
	nf = f.derive()
	copied := map[int]bool{}
	for _, id := range ids {
		ci, j := int(id)/bruteRows, int(id)%bruteRows
		if !copied[ci] {
			c := *nf.chunks[ci]
			c.live = slices.Clone(c.live)
			nf.chunks[ci] = &c
			copied[ci] = true
		}
		nf.chunks[ci].live[j/64] &^= 1 << (j % 64)
		nf.chunks[ci].nlive--
	}
	// A chunk whose points are all deleted is dropped: deleted points keep
	// no memory beyond their chunk's live ones.
	for ci := range copied {
		if nf.chunks[ci].nlive == 0 {
			nf.chunks[ci] = nil
		}
	}
	nf.n -= len(ids)
	opts.Monitor.add(len(ids))
	return nf, nil
}

// checkSpan reports an error if two points of the box lo..hi could be an
// infinite distance apart under m.
func checkSpan(m Metric, lo, hi []float64) error {
	if d := kernelFor[float64](m)(lo, hi); math.IsInf(d, 1) {
		return fmt.Errorf("core: the points span too wide a range: under the %v metric two of them could be more than %g apart, beyond float64", m, math.MaxFloat64)
	}
	return nil
}

// Dim returns the dimension of the points.
func (f *BruteForce[T]) Dim() int { return f.dim }

// Len returns the number of points held.
func (f *BruteForce[T]) Len() int { return f.n }

// IDs returns the number of caller indices ever issued in this index's
// history: every index held is below it.
func (f *BruteForce[T]) IDs() int { return int(f.nids) }

// Metric returns the index's distance function.
func (f *BruteForce[T]) Metric() Metric { return f.metric }

// Has reports whether the index holds caller index id.
func (f *BruteForce[T]) Has(id int) bool {
	if id < 0 || id >= int(f.nids) {
		return false
	}
	c, j := f.chunks[id/bruteRows], id%bruteRows
	return c != nil && c.live[j/64]&(1<<(j%64)) != 0
}

// Point returns the coordinates of caller index id (normalised under
// Cosine), or nil if the index does not hold it. The slice aliases the
// index's storage and must not be modified.
func (f *BruteForce[T]) Point(id int) []T {
	if !f.Has(id) {
		return nil
	}
	c, j := f.chunks[id/bruteRows], id%bruteRows
	return c.rows[j*f.dim : (j+1)*f.dim : (j+1)*f.dim]
}

// LiveIDs appends the caller indices the index holds, ascending, to dst.
func (f *BruteForce[T]) LiveIDs(dst []int64) []int64 {
	for ci, c := range f.chunks {
		if c == nil {
			continue
		}
		for w, word := range c.live {
			for word != 0 {
				b := bits.TrailingZeros64(word)
				dst = append(dst, int64(ci*bruteRows+w*64+b))
				word &= word - 1
			}
		}
	}
	return dst
}

// DistanceEvals returns the distance evaluations spent building this
// version (none: a BruteForce measures nothing to build) and answering queries on
// it so far, a screened pair counting as one.
func (f *BruteForce[T]) DistanceEvals() (build, query int64) {
	return 0, f.queryEvals.Load()
}

// Stats returns the index's counts in a Tree's Stats form: a BruteForce has no
// levels, so those fields are zero.
func (f *BruteForce[T]) Stats() Stats {
	return Stats{Points: f.n, Nodes: f.n, Dim: f.dim, QueryEvals: f.queryEvals.Load(), NodesPerLevel: map[int]int{}}
}

// Memory returns the bytes the index refers to, in a Tree's Memory form:
// Points counts the rows, Nodes the screening copy (float32 panels and
// norms), IDs the live-row bitmaps, IDMap the list of chunks; Kids and
// Groups are zero.
func (f *BruteForce[T]) Memory() Memory {
	var m Memory
	var zero T
	m.IDMap = int64(cap(f.chunks)) * int64(unsafe.Sizeof((*bruteChunk[T])(nil)))
	for _, c := range f.chunks {
		if c == nil {
			continue
		}
		m.Points += int64(cap(c.rows)) * int64(unsafe.Sizeof(zero))
		m.Nodes += int64(cap(c.panels))*4 + int64(cap(c.norms))*8
		m.IDs += int64(cap(c.live)) * 8
	}
	return m
}

// Flat returns the index's points as a Flat (every caller index it holds,
// ascending, with its point), for a search elsewhere (a GPU's) whose
// answers are then the index's.
func (f *BruteForce[T]) Flat() *Flat[T] {
	live := f.LiveIDs(nil)
	fl := &Flat[T]{dim: f.dim, metric: f.metric, dist: f.dist, ids: make([]int32, len(live))}
	fl.pts = make([]T, 0, len(live)*f.dim)
	for i, id := range live {
		fl.ids[i] = int32(id)
		fl.pts = append(fl.pts, f.Point(int(id))...)
	}
	return fl
}

// Queries returns the query points of b as the index searches them, for
// its Flat, as Tree.Queries does.
func (f *BruteForce[T]) Queries(b Batch[T]) (Query[T], error) {
	return queriesOf(b, f, f.metric)
}
