package core

import (
	"fmt"
	"math"
	"slices"
)

// Flat is a point set searched by brute force with core's kernels: the
// points as a tree stores and searches them (normalised for Cosine), each
// with its caller index. A search that only approximates distances (a
// GPU's) selects candidate rows with a proven margin, and KNearestAmong or
// WithinAmong measures them exactly: the answers are then a tree's, bit
// for bit (same kernel, same ties by caller index), with no tree needed.
// A Flat never changes and is safe for concurrent use.
type Flat[T Float] struct {
	pts    []T
	dim    int
	ids    []int32
	metric Metric
	dist   distFunc[T]
}

// NewFlat returns the n = len(points)/dim points (copied, and normalised
// under Cosine) with caller indices ids, or 0..n-1 if ids is nil.
func NewFlat[T Float](points []T, dim int, m Metric, ids []int32) (*Flat[T], error) {
	n, err := checkPoints(points, dim)
	if err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if err := checkDim(m, dim); err != nil {
		return nil, err
	}
	if ids == nil {
		if n > math.MaxInt32 {
			return nil, fmt.Errorf("core: %d points exceed the limit of %d", n, math.MaxInt32)
		}
		ids = make([]int32, n)
		for i := range ids {
			ids[i] = int32(i)
		}
	} else if len(ids) != n {
		return nil, fmt.Errorf("core: %d caller indices for %d points", len(ids), n)
	}
	pts, err := prepare(m, points, dim)
	if err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	if len(pts) > 0 && &pts[0] == &points[0] {
		pts = slices.Clone(pts)
	}
	m = m.Canonical()
	return &Flat[T]{pts: pts, dim: dim, ids: slices.Clone(ids), metric: m, dist: fastKernel[T](m, dim)}, nil
}

// Flat returns the tree's points as a Flat: every caller index the tree
// holds, ascending, with its stored point. Its answers are the tree's.
func (t *Tree[T]) Flat() *Flat[T] {
	live := t.LiveIDs(nil)
	f := &Flat[T]{dim: t.s.dim, metric: t.metric, dist: t.dist, ids: make([]int32, len(live))}
	f.pts = make([]T, 0, len(live)*f.dim)
	for i, id := range live {
		f.ids[i] = int32(id)
		f.pts = append(f.pts, t.point(t.s.nodeOf(int32(id)))...)
	}
	return f
}

// Len returns the number of points.
func (f *Flat[T]) Len() int { return len(f.ids) }

// Dim returns the dimension of the points.
func (f *Flat[T]) Dim() int { return f.dim }

// Metric returns the distance function.
func (f *Flat[T]) Metric() Metric { return f.metric }

// Points returns the points as they are searched (normalised for Cosine),
// row-major. The slice must not be modified.
func (f *Flat[T]) Points() []T { return f.pts }

// IDs returns the caller index of each row. The slice must not be
// modified.
func (f *Flat[T]) IDs() []int32 { return f.ids }

// Prepare returns query points as the set searches them: checked for
// finite coordinates and normalised for Cosine (then in a new slice).
func (f *Flat[T]) Prepare(q []T) ([]T, error) {
	if len(q)%f.dim != 0 {
		return nil, fmt.Errorf("core: %d query values do not make rows of dimension %d", len(q), f.dim)
	}
	for i, v := range q {
		if x := float64(v); math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("core: query %d has a non-finite coordinate %v at column %d", i/f.dim, x, i%f.dim)
		}
	}
	pts, err := prepare(f.metric, q, f.dim)
	if err != nil {
		return nil, fmt.Errorf("core: query: %w", err)
	}
	return pts, nil
}

// KernelRadius converts a radius in the metric's distance into one in the
// kernel's (they differ for Cosine, which searches with the Euclidean
// distance between normalised points).
func (f *Flat[T]) KernelRadius(r float64) float64 {
	if f.metric.Kind == Cosine {
		return math.Sqrt(2 * r)
	}
	return r
}

// outDist converts a kernel distance to the metric's.
func (f *Flat[T]) outDist(d float64) float64 {
	if f.metric.Kind == Cosine {
		return min(d*d/2, 2)
	}
	return d
}

// Candidates lists, for each query of a batch, rows of a Flat among which
// the query's exact answer lies: query i's are Rows[Offsets[i]:Offsets[i+1]].
type Candidates struct {
	// Offsets has one entry per query and a final one: len(queries)+1
	// non-decreasing values, the first 0 and the last len(Rows).
	Offsets []int64
	// Rows holds the candidate rows, query after query, none twice for
	// one query.
	Rows []int32
}

// Query describes a batch of queries on a Flat.
type Query[T Float] struct {
	// Points holds the queries, row-major, as Prepare returns them.
	Points []T
	// Exclude, if not nil, holds for each query a caller index left out
	// of its answer (-1 for none): a fitted point queried against its
	// own set.
	Exclude []int32
	// Jobs is the number of goroutines that measure candidates.
	Jobs int
	// Monitor, if not nil, counts the queries answered and can stop the
	// batch.
	Monitor *Monitor
}

func (q Query[T]) count(f *Flat[T], c Candidates) (int, error) {
	if len(q.Points)%f.dim != 0 {
		return 0, fmt.Errorf("core: %d query values do not make rows of dimension %d", len(q.Points), f.dim)
	}
	nq := len(q.Points) / f.dim
	if q.Exclude != nil && len(q.Exclude) != nq {
		return 0, fmt.Errorf("core: %d excluded indices for %d queries", len(q.Exclude), nq)
	}
	if len(c.Offsets) != nq+1 {
		return 0, fmt.Errorf("core: %d candidate offsets for %d queries, want %d", len(c.Offsets), nq, nq+1)
	}
	if c.Offsets[0] != 0 || c.Offsets[nq] != int64(len(c.Rows)) {
		return 0, fmt.Errorf("core: candidate offsets run from %d to %d, want 0 to %d", c.Offsets[0], c.Offsets[nq], len(c.Rows))
	}
	for i := range nq {
		if c.Offsets[i+1] < c.Offsets[i] {
			return 0, fmt.Errorf("core: candidate offsets decrease at query %d", i)
		}
	}
	for _, r := range c.Rows {
		if r < 0 || int(r) >= len(f.ids) {
			return 0, fmt.Errorf("core: candidate row %d is out of range [0, %d)", r, len(f.ids))
		}
	}
	return nq, nil
}

// each runs fn for every query on q.Jobs goroutines, like a tree's query
// batches: blocks of queries, stop requests between blocks, panics
// recovered into errors.
func (q Query[T]) each(f *Flat[T], nq int, fn func(s *scratch, i int, p []T, ex int32) error) error {
	return runBlocksOn(q.Jobs, q.Monitor, nq, blockSize, nil, func(s *scratch, lo, hi int) error {
		for i := lo; i < hi; i++ {
			ex := int32(-1)
			if q.Exclude != nil {
				ex = q.Exclude[i]
			}
			if err := fn(s, i, q.Points[i*f.dim:(i+1)*f.dim], ex); err != nil {
				return err
			}
		}
		return nil
	})
}

// KNearestAmong measures each query against its candidate rows with the
// set's kernel and writes the k nearest, nearest first, ties by caller
// index, to dist and idx (k values per query). When the candidates of
// every query include all rows at distance <= its true k-th distance, the
// answer is a tree's KNearestBatch on the same points, bit for bit. It
// returns an error if a query has fewer than k candidates besides its
// excluded index.
func (f *Flat[T]) KNearestAmong(q Query[T], k int, c Candidates, dist []T, idx []int64) error {
	nq, err := q.count(f, c)
	if err != nil {
		return err
	}
	avail := len(f.ids)
	if q.Exclude != nil {
		avail--
	}
	if k < 1 || k > avail {
		return fmt.Errorf("core: k=%d neighbours requested, but only %d points are available", k, avail)
	}
	if len(dist) < nq*k || len(idx) < nq*k {
		return fmt.Errorf("core: output of %d distances and %d indices is too small for %d queries of k=%d", len(dist), len(idx), nq, k)
	}
	return q.each(f, nq, func(s *scratch, i int, p []T, ex int32) error {
		s.heap.reset(k)
		for _, r := range c.Rows[c.Offsets[i]:c.Offsets[i+1]] {
			if id := f.ids[r]; id != ex {
				s.heap.offer(f.dist(p, f.pts[int(r)*f.dim:int(r+1)*f.dim]), id)
			}
		}
		n := len(s.heap.e)
		if n < k {
			return fmt.Errorf("core: query %d has %d candidates, fewer than k=%d", i, n, k)
		}
		ds := slices.Grow(s.rd[:0], n)[:n]
		ids := slices.Grow(s.rid[:0], n)[:n]
		s.heap.drain(ds, ids)
		s.rd, s.rid = ds[:0], ids[:0]
		o := i * k
		for j := range n {
			dist[o+j] = T(f.outDist(ds[j]))
			idx[o+j] = int64(ids[j])
		}
		orderRounded(dist[o:o+n], idx[o:o+n])
		return nil
	})
}

// WithinAmong measures each query against its candidate rows with the
// set's kernel and keeps those within distance r (d <= r), sorted by
// (distance, caller index) with sorted, else by caller index. When the candidates of every query
// include all rows within r, the answer is a tree's WithinBatch on the
// same points, bit for bit.
func (f *Flat[T]) WithinAmong(q Query[T], r float64, sorted bool, c Candidates) (*RadiusResult[T], error) {
	nq, err := q.count(f, c)
	if err != nil {
		return nil, err
	}
	if math.IsNaN(r) || r < 0 {
		return nil, fmt.Errorf("core: radius must be >= 0, got %v", r)
	}
	sr := f.KernelRadius(r)
	res := &RadiusResult[T]{
		sorted: sorted,
		counts: make([]int64, nq),
		dist:   make([][]float64, nq),
		idx:    make([][]int32, nq),
	}
	err = q.each(f, nq, func(s *scratch, i int, p []T, ex int32) error {
		var ds []float64
		var ids []int32
		for _, row := range c.Rows[c.Offsets[i]:c.Offsets[i+1]] {
			id := f.ids[row]
			if id == ex {
				continue
			}
			if d := f.dist(p, f.pts[int(row)*f.dim:int(row+1)*f.dim]); d <= sr {
				ds = append(ds, f.outDist(d))
				ids = append(ids, id)
			}
		}
		if sorted {
			sortPairs(ds, ids, &s.ans)
		} else {
			sortByIndex(ds, ids, &s.ans)
		}
		res.dist[i], res.idx[i], res.counts[i] = ds, ids, int64(len(ds))
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, n := range res.counts {
		res.total += n
	}
	return res, nil
}

// AllRows returns candidates that list every row for each of nq queries:
// with them, KNearestAmong and WithinAmong are exact brute-force searches
// on the CPU (the reference the GPU's answers are tested against).
func (f *Flat[T]) AllRows(nq int) Candidates {
	n := len(f.ids)
	c := Candidates{Offsets: make([]int64, nq+1), Rows: make([]int32, nq*n)}
	for i := range nq {
		c.Offsets[i+1] = int64((i + 1) * n)
		for j := range n {
			c.Rows[i*n+j] = int32(j)
		}
	}
	return c
}

// Queries returns the query points of b as the tree searches them, ready
// for a Flat of the tree (normalised for Cosine, checked), and, for the
// tree's own points (Points nil), the caller index each leaves out of its
// answer.
func (t *Tree[T]) Queries(b Batch[T]) (Query[T], error) {
	return queriesOf(b, t, t.metric)
}

// queriesOf is Queries for the points pts of an index with metric m.
func queriesOf[T Float](b Batch[T], pts pointSet[T], m Metric) (Query[T], error) {
	nq, err := b.count(pts)
	if err != nil {
		return Query[T]{}, err
	}
	dim := pts.Dim()
	q := Query[T]{Jobs: b.Jobs, Monitor: b.Monitor}
	if b.Points != nil {
		if q.Points, err = prepare(m, b.Points, dim); err != nil {
			return Query[T]{}, fmt.Errorf("core: query: %w", err)
		}
		return q, nil
	}
	q.Points = make([]T, 0, nq*dim)
	q.Exclude = make([]int32, nq)
	for i := range nq {
		p, ex := b.query(pts, i)
		q.Points = append(q.Points, p...)
		q.Exclude[i] = ex
	}
	return q, nil
}
