package core

import (
	"fmt"
	"math"
	"slices"
)

// Candidates lists, for each query of a batch, caller indices among which
// the query's exact answer lies: query i's candidates are
// IDs[Offsets[i]:Offsets[i+1]]. A search that only approximates distances
// (a GPU's brute force, say) selects candidates with a proven margin, and
// KNearestAmong or WithinAmong turns them into the exact answer.
type Candidates struct {
	// Offsets has one entry per query and a final one: len(queries)+1
	// non-decreasing values, the first 0.
	Offsets []int64
	// IDs holds the candidates, query after query, each a caller index
	// the tree holds, none twice for one query.
	IDs []int32
}

// check validates c for nq queries against t.
func (c Candidates) check(t interface{ Has(int) bool }, nq int) error {
	if len(c.Offsets) != nq+1 {
		return fmt.Errorf("core: %d candidate offsets for %d queries, want %d", len(c.Offsets), nq, nq+1)
	}
	if c.Offsets[0] != 0 || c.Offsets[nq] != int64(len(c.IDs)) {
		return fmt.Errorf("core: candidate offsets run from %d to %d, want 0 to %d", c.Offsets[0], c.Offsets[nq], len(c.IDs))
	}
	for i := range nq {
		if c.Offsets[i+1] < c.Offsets[i] {
			return fmt.Errorf("core: candidate offsets decrease at query %d", i)
		}
	}
	for _, id := range c.IDs {
		if !t.Has(int(id)) {
			return fmt.Errorf("core: candidate %d is not in the tree", id)
		}
	}
	return nil
}

// KNearestAmong is KNearestBatch restricted to candidates: it measures
// query i against its candidates with the tree's own kernel and writes the
// k nearest, nearest first, ties by caller index. When the candidates of
// every query include all its points at distance <= its true k-th
// distance, the answer is KNearestBatch's, bit for bit. Each fitted point
// queried (Batch.Points nil) is left out of its own answer, as there. It
// returns an error if a query has fewer than k candidates besides itself.
func (t *Tree[T]) KNearestAmong(b Batch[T], k int, c Candidates, dist []T, idx []int64) error {
	nq, err := b.count(t)
	if err != nil {
		return err
	}
	if err := t.checkK(b, k); err != nil {
		return err
	}
	if len(dist) < nq*k || len(idx) < nq*k {
		return fmt.Errorf("core: output of %d distances and %d indices is too small for %d queries of k=%d", len(dist), len(idx), nq, k)
	}
	if err := c.check(t, nq); err != nil {
		return err
	}
	if b, err = b.prepared(t); err != nil {
		return err
	}
	return t.run(b, nq, func(s *scratch, i int, q []T) error {
		s.heap.reset(k)
		for _, id := range c.IDs[c.Offsets[i]:c.Offsets[i+1]] {
			if id == s.exclude {
				continue
			}
			s.heap.offer(t.dist(q, t.point(t.s.nodeOf(id))), id)
			s.evals++
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
			dist[o+j] = T(t.outDist(ds[j]))
			idx[o+j] = int64(ids[j])
		}
		orderRounded(dist[o:o+n], idx[o:o+n])
		return nil
	})
}

// WithinAmong is WithinBatch restricted to candidates: it measures query i
// against its candidates with the tree's own kernel and keeps those within
// distance r. When the candidates of every query include all its points
// within r, the answer is WithinBatch's, bit for bit.
func (t *Tree[T]) WithinAmong(b Batch[T], r float64, sorted bool, c Candidates) (*RadiusResult[T], error) {
	nq, err := b.count(t)
	if err != nil {
		return nil, err
	}
	if math.IsNaN(r) || r < 0 {
		return nil, fmt.Errorf("core: radius must be >= 0, got %v", r)
	}
	if err := c.check(t, nq); err != nil {
		return nil, err
	}
	if b, err = b.prepared(t); err != nil {
		return nil, err
	}
	sr := t.inRadius(r)
	res := &RadiusResult[T]{
		sorted: sorted,
		counts: make([]int64, nq),
		dist:   make([][]float64, nq),
		idx:    make([][]int32, nq),
	}
	err = t.run(b, nq, func(s *scratch, i int, q []T) error {
		var ds []float64
		var ids []int32
		for _, id := range c.IDs[c.Offsets[i]:c.Offsets[i+1]] {
			if id == s.exclude {
				continue
			}
			d := t.dist(q, t.point(t.s.nodeOf(id)))
			s.evals++
			if d <= sr {
				ds = append(ds, t.outDist(d))
				ids = append(ids, id)
			}
		}
		if sorted {
			sortPairs(ds, ids)
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

// Rows returns the points a brute-force engine needs to answer queries on
// the tree: every caller index the tree holds, ascending, and their points
// as the tree stores and searches them (normalised for Cosine), row-major
// in a new slice.
func (t *Tree[T]) Rows() (ids []int32, points []T) {
	live := t.LiveIDs(nil)
	ids = make([]int32, len(live))
	dim := t.s.dim
	points = make([]T, 0, len(live)*dim)
	for i, id := range live {
		ids[i] = int32(id)
		points = append(points, t.point(t.s.nodeOf(int32(id)))...)
	}
	return ids, points
}

// PreparedQueries returns the query points of b as the tree searches them:
// normalised for Cosine (a new slice), and checked for finite coordinates;
// for fitted points (Points nil) it returns their stored coordinates,
// row-major in a new slice, and the caller index each query leaves out of
// its answer.
func (t *Tree[T]) PreparedQueries(b Batch[T]) (points []T, exclude []int32, err error) {
	nq, err := b.count(t)
	if err != nil {
		return nil, nil, err
	}
	if b.Points != nil {
		pts, err := prepare(t.metric, b.Points, t.s.dim)
		if err != nil {
			return nil, nil, fmt.Errorf("core: query: %w", err)
		}
		return pts, nil, nil
	}
	points = make([]T, 0, nq*t.s.dim)
	exclude = make([]int32, nq)
	for i := range nq {
		q, ex := b.query(t, i)
		points = append(points, q...)
		exclude[i] = ex
	}
	return points, exclude, nil
}

// SearchRadius converts a radius in the tree's metric into a radius in its
// kernel's distance (they differ for Cosine, which searches with the
// Euclidean distance between normalised points).
func (t *Tree[T]) SearchRadius(r float64) float64 { return t.inRadius(r) }
