package core

import (
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// Neighbor is one answer to a query: a caller index and its distance.
type Neighbor struct {
	Index int
	Dist  float64
}

// Batch describes a set of queries and how to run them.
type Batch[T Float] struct {
	// Points holds the query points, row-major, with the tree's dimension.
	// If Points is nil the queries are the tree's own points with the
	// caller indices IDs, or First, First+1, ..., First+Count-1 if IDs is
	// nil, each left out of its own answer (scikit-learn's
	// kneighbors(X=None)).
	Points []T
	// IDs, or First and Count, select the tree's own points when Points is
	// nil.
	IDs          []int64
	First, Count int
	// Jobs is the number of goroutines that answer queries; values below 1
	// mean 1 and values above GOMAXPROCS mean GOMAXPROCS.
	Jobs int
	// Strategy selects the k-nearest-neighbour algorithm; every one is
	// exact. The zero value is DepthFirst.
	Strategy Strategy
	// Eps >= 0 allows approximate k-nearest neighbours, as scipy's cKDTree
	// does: the j-th neighbour returned is at most 1+Eps times as far as
	// the true j-th (subtrees are pruned against the k-th distance so far
	// divided by 1+Eps), so the search stops sooner. Zero, the default,
	// is exact. Only DepthFirst takes Eps > 0; a BruteForce is always exact.
	Eps float64
	// Monitor, if not nil, counts the queries answered and can stop the
	// batch (which then returns ErrStopped).
	Monitor *Monitor
	// MaxAnswers, if positive, bounds the answers WithinBatch may hold: once
	// the queries answered so far found more, it stops and returns a
	// *TooManyAnswersError, having kept no more than that many answers (plus
	// one query's) in memory. A caller sets it from the memory it can spare
	// and counts the answers with CountWithinBatch to report the size.
	MaxAnswers int64
	// Radii, if not nil, gives each query its own radius (>= 0, one per
	// query) in WithinBatch and CountWithinBatch, whose r is then
	// ignored.
	Radii []float64
}

// ErrTooManyAnswers is the error a TooManyAnswersError matches with
// errors.Is.
var ErrTooManyAnswers = errors.New("core: too many answers")

// TooManyAnswersError reports that a batch of radius queries found more
// answers than its Batch.MaxAnswers allowed.
type TooManyAnswersError struct {
	Limit int64 // Batch.MaxAnswers
	Found int64 // answers found when the batch stopped (at least Limit+1)
}

func (e *TooManyAnswersError) Error() string {
	return fmt.Sprintf("core: the radius queries found more than %d answers (%d when they stopped)", e.Limit, e.Found)
}

// Is reports whether target is ErrTooManyAnswers.
func (e *TooManyAnswersError) Is(target error) bool { return target == ErrTooManyAnswers }

// Strategy selects a k-nearest-neighbour search algorithm. Every strategy
// returns the same, exact answers.
type Strategy int

const (
	// DepthFirst is branch and bound (the default): from the root, the
	// children of a node are measured as a block and opened nearest first,
	// and a subtree is skipped when its radius puts it beyond the k-th
	// distance found so far. It finds close neighbours early, so its bound
	// is tight soon: on the five real data sets of the benchmarks (k=10,
	// every point queried) it measures 1.15 to 1.7 times fewer distances
	// than Corrected, and runs 1.7 to 2.6 times faster.
	DepthFirst Strategy = iota
	// Corrected is the corrected algorithm of Elkin and Kurlin: level by
	// level, with the lambda-point bound, pruning, and the break to a scan
	// of distinctive descendants. Its number of iterations has a proven
	// bound in terms of the data's expansion constants.
	Corrected
)

// String returns the strategy's name.
func (s Strategy) String() string {
	switch s {
	case Corrected:
		return "corrected"
	case DepthFirst:
		return "depth-first"
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// pointSet is what a batch of queries reads the fitted points from: a Tree
// or a BruteForce.
type pointSet[T Float] interface {
	Dim() int
	Len() int
	IDs() int
	Has(id int) bool
	Point(id int) []T
}

// count returns the number of queries in b, after checking them.
func (b Batch[T]) count(t pointSet[T]) (int, error) {
	if b.Points == nil {
		if b.IDs != nil {
			for _, id := range b.IDs {
				if !t.Has(int(id)) {
					return 0, fmt.Errorf("core: caller index %d is not in the tree", id)
				}
			}
			return len(b.IDs), nil
		}
		if b.First < 0 || b.Count < 0 || b.First > t.IDs() || b.Count > t.IDs()-b.First {
			return 0, fmt.Errorf("core: fitted points %d..%d are out of range [0, %d)", b.First, b.First+b.Count, t.IDs())
		}
		for id := b.First; id < b.First+b.Count; id++ {
			if !t.Has(id) {
				return 0, fmt.Errorf("core: caller index %d is not in the tree", id)
			}
		}
		return b.Count, nil
	}
	dim := t.Dim()
	if len(b.Points)%dim != 0 {
		return 0, fmt.Errorf("core: %d query values do not make rows of dimension %d", len(b.Points), dim)
	}
	for i, v := range b.Points {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("core: query %d has a non-finite coordinate %v at column %d", i/dim, f, i%dim)
		}
	}
	return len(b.Points) / dim, nil
}

// prepared returns b with its query points as an index with metric m and
// dimension dim searches them (normalised under Cosine).
func (b Batch[T]) prepared(m Metric, dim int) (Batch[T], error) {
	if b.Points != nil {
		pts, err := prepare(m, b.Points, dim)
		if err != nil {
			return b, fmt.Errorf("core: query: %w", err)
		}
		b.Points = pts
	}
	return b, nil
}

// query returns the i-th query point of b and the caller index to exclude.
func (b Batch[T]) query(t pointSet[T], i int) ([]T, int32) {
	if b.Points == nil {
		id := b.First + i
		if b.IDs != nil {
			id = int(b.IDs[i])
		}
		return t.Point(id), int32(id)
	}
	dim := t.Dim()
	o := i * dim
	return b.Points[o : o+dim : o+dim], -1
}

// blockSize is the number of queries a worker takes at a time.
const blockSize = 32

// run answers the queries of b on b.Jobs goroutines, calling fn for each
// with a per-worker scratch whose exclude field is set. A panic in a worker
// becomes an error.
func (t *Tree[T]) run(b Batch[T], nq int, fn func(s *scratch, i int, q []T) error) error {
	return t.runOrdered(b, nq, nil, fn)
}

// runOrdered is run, taking the queries in the given order (a permutation
// of 0..nq-1; nil means 0, 1, ...): each worker answers a block of
// consecutive entries, so queries near each other in the order share a
// worker and follow one another.
func (t *Tree[T]) runOrdered(b Batch[T], nq int, order []int32, fn func(s *scratch, i int, q []T) error) error {
	return runBlocks(b, nq, blockSize, &t.queryEvals, func(s *scratch, lo, hi int) error {
		// Which blocks a worker takes depends on the scheduler: each
		// block guesses from its own queries alone, so that the work
		// done, and the distance evaluations counted, do not.
		s.guess.forget()
		for j := lo; j < hi; j++ {
			i := j
			if order != nil {
				i = int(order[j])
			}
			q, ex := b.query(t, i)
			s.exclude, s.seq = ex, j
			if err := fn(s, i, q); err != nil {
				return err
			}
		}
		return nil
	})
}

// runBlocks answers queries 0..nq-1 in blocks of at most block queries on
// b.Jobs goroutines, calling fn(s, lo, hi) for each block with the
// worker's scratch. It adds the workers' distance evaluations to evals,
// reports each block done to b.Monitor and stops between blocks when it
// asks. A panic in a worker becomes an error.
func runBlocks[T Float](b Batch[T], nq, block int, evals *atomic.Int64, fn func(s *scratch, lo, hi int) error) error {
	return runBlocksOn(b.Jobs, b.Monitor, nq, block, evals, fn)
}

// runBlocksOn is runBlocks for a job count and a monitor of any query
// kind; evals may be nil.
func runBlocksOn(jobs int, mon *Monitor, nq, block int, evals *atomic.Int64, fn func(s *scratch, lo, hi int) error) error {
	blocks := (nq + block - 1) / block
	jobs = min(workers(jobs), max(blocks, 1))
	var next atomic.Int64
	work := func() (err error) {
		s := &scratch{}
		defer func() {
			if evals != nil {
				evals.Add(s.evals)
			}
			if r := recover(); r != nil {
				err = fmt.Errorf("core: query worker panicked: %v\n%s", r, debug.Stack())
			}
		}()
		for {
			if mon.stopped() {
				return ErrStopped
			}
			lo := int(next.Add(1)-1) * block
			if lo >= nq {
				return nil
			}
			hi := min(lo+block, nq)
			if err := fn(s, lo, hi); err != nil {
				return err
			}
			mon.add(hi - lo)
		}
	}
	if jobs == 1 {
		// On the caller's goroutine: a goroutine to wait for costs two
		// thread hand-offs, which dominate a small batch (a single query
		// through the C ABI took 120 us with them, most of it waiting).
		return work()
	}
	var g errgroup.Group
	for range jobs {
		g.Go(work)
	}
	return g.Wait()
}

// checkEps checks b.Eps: at least 0 (+Inf allowed), and only with the
// DepthFirst strategy.
func (b Batch[T]) checkEps() error {
	if !(b.Eps >= 0) {
		return fmt.Errorf("core: eps must be >= 0, got %v", b.Eps)
	}
	if b.Eps > 0 && b.Strategy != DepthFirst {
		return fmt.Errorf("core: eps > 0 (approximate search) needs the depth-first strategy, not %v", b.Strategy)
	}
	return nil
}

// checkK checks a neighbour count against the n points of an index
// available to b.
func checkK[T Float](b Batch[T], n, k int) error {
	avail := n
	if b.Points == nil {
		avail-- // each point is left out of its own answer
	}
	if k < 1 || k > avail {
		return fmt.Errorf("core: k=%d neighbours requested, but only %d points are available", k, avail)
	}
	return nil
}

// KNearestBatch writes the k nearest neighbours of every query in b to dist
// and idx, row i holding query i's neighbours nearest first, ties ordered by
// caller index. dist and idx must have room for k values per query.
func (t *Tree[T]) KNearestBatch(b Batch[T], k int, dist []T, idx []int64) error {
	nq, err := b.count(t)
	if err != nil {
		return err
	}
	if err := checkK(b, t.n, k); err != nil {
		return err
	}
	if b.Strategy != Corrected && b.Strategy != DepthFirst {
		return fmt.Errorf("core: unknown search strategy %d", int(b.Strategy))
	}
	if err := b.checkEps(); err != nil {
		return err
	}
	shrink := 1 / (1 + b.Eps)
	if len(dist) < nq*k || len(idx) < nq*k {
		return fmt.Errorf("core: output of %d distances and %d indices is too small for %d queries of k=%d", len(dist), len(idx), nq, k)
	}
	if b, err = b.prepared(t.metric, t.s.dim); err != nil {
		return err
	}
	search := func(s *scratch, i int, q []T) {
		if b.Strategy == DepthFirst {
			t.knnDepthFirst(s, q, k, shrink)
		} else {
			t.knn(s, q, k)
		}
	}
	var order []int32
	var f *flatTree[T]
	if b.Strategy == DepthFirst {
		f = t.layout(nq, b.Jobs)
	}
	if f != nil {
		var homes, spots []int32
		order, homes, spots = f.plan(t, b, nq)
		seed := int32(k+1) * seedFactor
		guessing := f.guesses()
		search = func(s *scratch, i int, q []T) {
			home := int32(-1)
			if homes != nil {
				home = homes[i]
			}
			var near []int32
			if spots != nil {
				s.near = f.around(spots[i], s.near[:0])
				near = s.near
			}
			guess := math.Inf(1)
			if guessing {
				guess = s.guess.at(s.seq)
			}
			f.knn(s, q, k, home, seed, near, shrink, guess)
			if guessing {
				s.guess.learn(s.seq, s.heap.worst())
			}
		}
	}
	return t.runOrdered(b, nq, order, func(s *scratch, i int, q []T) error {
		search(s, i, q)
		n := len(s.heap.e)
		// Reuse the candidate buffers for draining.
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

// KNearest returns the k nearest neighbours of q, nearest first, ties
// ordered by caller index.
func (t *Tree[T]) KNearest(q []T, k int) ([]Neighbor, error) {
	if k < 1 || k > t.n {
		return nil, fmt.Errorf("core: k=%d neighbours requested, but only %d points are available", k, t.n)
	}
	if len(q) != t.s.dim {
		return nil, fmt.Errorf("core: query has %d coordinates, the tree %d", len(q), t.s.dim)
	}
	dist := make([]T, k)
	idx := make([]int64, k)
	if err := t.KNearestBatch(Batch[T]{Points: q}, k, dist, idx); err != nil {
		return nil, err
	}
	return neighbors(dist, idx), nil
}

// Within returns every point within distance r of q (d <= r), ordered by
// distance, then caller index.
func (t *Tree[T]) Within(q []T, r float64) ([]Neighbor, error) {
	if len(q) != t.s.dim {
		return nil, fmt.Errorf("core: query has %d coordinates, the tree %d", len(q), t.s.dim)
	}
	res, err := t.WithinBatch(Batch[T]{Points: q}, r, true)
	if err != nil {
		return nil, err
	}
	dist := make([]T, res.Total())
	idx := make([]int64, res.Total())
	res.Fill(dist, idx)
	return neighbors(dist, idx), nil
}

func neighbors[T Float](dist []T, idx []int64) []Neighbor {
	out := make([]Neighbor, len(dist))
	for i := range out {
		out[i] = Neighbor{Index: int(idx[i]), Dist: float64(dist[i])}
	}
	return out
}

// RadiusResult holds the answers to a batch of radius queries until they
// are copied out with Fill.
type RadiusResult[T Float] struct {
	sorted bool
	counts []int64
	dist   [][]float64
	idx    [][]int32
	total  int64
}

// Counts returns the number of answers of each query.
func (r *RadiusResult[T]) Counts() []int64 { return r.counts }

// Total returns the number of answers of all queries together.
func (r *RadiusResult[T]) Total() int64 { return r.total }

// Fill writes the answers of all queries, query after query, into dist and
// idx, which must hold Total() values each.
func (r *RadiusResult[T]) Fill(dist []T, idx []int64) error {
	if int64(len(dist)) < r.total || int64(len(idx)) < r.total {
		return fmt.Errorf("core: output of %d distances and %d indices is too small for %d answers", len(dist), len(idx), r.total)
	}
	o := 0
	for i := range r.dist {
		start := o
		for j, d := range r.dist[i] {
			dist[o] = T(d)
			idx[o] = int64(r.idx[i][j])
			o++
		}
		if r.sorted {
			orderRounded(dist[start:o], idx[start:o])
		}
	}
	return nil
}

// WithinBatch finds, for every query in b, every point within distance r
// (d <= r), or b.Radii[i] for query i. With sorted, each query's answers
// are ordered by distance, then caller index; otherwise by caller index
// alone (scikit-learn's brute force lists them so).
func (t *Tree[T]) WithinBatch(b Batch[T], r float64, sorted bool) (*RadiusResult[T], error) {
	nq, r, b, err := radiusBatch(b, t, t.metric, r, nil)
	if err != nil {
		return nil, err
	}
	sr := t.inRadius(r)
	res := newRadiusResult[T](nq, sorted)
	var found atomic.Int64
	f := t.layout(nq, b.Jobs)
	err = t.run(b, nq, func(s *scratch, i int, q []T) error {
		switch {
		case f != nil && f.kdNodes != nil:
			f.kdWithin(s, q, b.searchRadius(t.metric, i, sr))
		case f != nil:
			f.within(s, q, b.searchRadius(t.metric, i, sr))
		default:
			t.radius(s, q, b.searchRadius(t.metric, i, sr))
		}
		if b.MaxAnswers > 0 {
			if f := found.Add(int64(len(s.rd))); f > b.MaxAnswers {
				return &TooManyAnswersError{Limit: b.MaxAnswers, Found: f}
			}
		}
		ds, ids := s.ans.take(s.rd, s.rid)
		for j, d := range ds {
			ds[j] = t.outDist(d)
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
	return res.summed(), nil
}

// radiusBatch checks a batch of radius queries with radius r (or b.Radii)
// on an index holding pts under metric m, and the room in counts (when not
// nil); it returns the number of queries, the radius of queries without
// their own (checkRadii) and the batch prepared for searching.
func radiusBatch[T Float](b Batch[T], pts pointSet[T], m Metric, r float64, counts []int64) (int, float64, Batch[T], error) {
	nq, err := b.count(pts)
	if err != nil {
		return 0, 0, b, err
	}
	if r, err = b.checkRadii(nq, r); err != nil {
		return 0, 0, b, err
	}
	if counts != nil && len(counts) < nq {
		return 0, 0, b, fmt.Errorf("core: output of %d counts is too small for %d queries", len(counts), nq)
	}
	b, err = b.prepared(m, pts.Dim())
	return nq, r, b, err
}

// newRadiusResult returns an empty result for nq queries.
func newRadiusResult[T Float](nq int, sorted bool) *RadiusResult[T] {
	return &RadiusResult[T]{
		sorted: sorted,
		counts: make([]int64, nq),
		dist:   make([][]float64, nq),
		idx:    make([][]int32, nq),
	}
}

// summed sets the result's total from its counts, and returns it.
func (r *RadiusResult[T]) summed() *RadiusResult[T] {
	r.total = 0
	for _, c := range r.counts {
		r.total += c
	}
	return r
}

// CountWithinBatch writes to counts[i] the number of points within distance
// r (d <= r, or b.Radii[i]) of query i of b: what WithinBatch would find, without listing
// it. Subtrees lying wholly within r count by their weights, unopened, so a
// radius covering everything costs a few distance evaluations per query,
// and memory does not grow with the answers. counts must have room for one
// value per query.
func (t *Tree[T]) CountWithinBatch(b Batch[T], r float64, counts []int64) error {
	nq, r, b, err := radiusBatch(b, t, t.metric, r, counts)
	if err != nil {
		return err
	}
	sr := t.inRadius(r)
	f := t.layout(nq, b.Jobs)
	return t.run(b, nq, func(s *scratch, i int, q []T) error {
		if f != nil {
			counts[i] = f.countWithin(s, q, b.searchRadius(t.metric, i, sr))
		} else {
			counts[i] = t.countWithin(s, q, b.searchRadius(t.metric, i, sr))
		}
		return nil
	})
}

// sortPairs sorts parallel slices by (distance, index), in a's buffers.
func sortPairs(d []float64, id []int32, a *answerArena) {
	a.perm = resize(a.perm, len(d))
	perm := a.perm
	for i := range perm {
		perm[i] = i
	}
	slices.SortFunc(perm, func(a, b int) int {
		switch {
		case less(d[a], id[a], d[b], id[b]):
			return -1
		case less(d[b], id[b], d[a], id[a]):
			return 1
		}
		return 0
	})
	a.d2, a.id2 = append(a.d2[:0], d...), append(a.id2[:0], id...)
	for i, p := range perm {
		d[i], id[i] = a.d2[p], a.id2[p]
	}
}

// orderRounded restores the (distance, index) order of a row after its
// distances were rounded to T: float64 distances that differ may round to
// equal float32 ones, which must then be ordered by index.
func orderRounded[T Float](dist []T, idx []int64) {
	for j := 1; j < len(dist); j++ {
		for i := j; i > 0 && dist[i] == dist[i-1] && idx[i] < idx[i-1]; i-- {
			dist[i], dist[i-1] = dist[i-1], dist[i]
			idx[i], idx[i-1] = idx[i-1], idx[i]
		}
	}
}
