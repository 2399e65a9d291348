package core

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
)

// SparseIndex answers exact k-nearest and radius queries over sparse rows
// (SparseRows: TF-IDF vectors, bags of words, one-hot features) under the
// Euclidean, Manhattan or cosine distance, without densifying them. It
// holds either a cover tree or a brute-force index:
//
//   - The cover tree is a Tree over one-coordinate points that name the
//     rows (their positions in the index's row store), whose metric (a
//     Custom Distancer) looks the rows up and merges their sorted columns.
//     Build, search, Insert and Delete are the Tree's own, so it is exactly
//     as exact as a tree over dense rows, and Check applies to it.
//   - The brute-force index keeps the rows in segments with an inverted
//     index per segment (column -> rows), computes for each query every
//     row's |q|^2 + |x|^2 - 2 q.x (or, for Manhattan, |q|_1 + |x|_1 less a
//     correction on the shared columns) from the postings of the query's
//     columns, bounds the rounding of that value, and measures exactly, with
//     the tree's kernel, every row whose bound reaches the k-th smallest
//     upper bound (or the radius). Rows sharing no column with the query
//     cost one multiply-add.
//
// Either way a distance is computed by the kernel of sparse.go, which adds
// the same terms in the same order as the dense kernel, so the answers
// (and their distances, bit for bit) are those of a Tree or BruteForce over
// the same rows densified: ordered by distance, then caller index. Cosine
// rows are stored scaled to unit length, as dense ones are, and a zero row
// is refused under it.
//
// A SparseIndex never changes once made: Insert and Delete return new
// versions, and every version stays valid, so keeping one is an O(1)
// snapshot. It is safe for concurrent use. The versions made from one
// build share its row store, which only grows: deleted rows stay in it
// (the brute-force index forgets them from its segments).
type SparseIndex[T Float] struct {
	metric Metric // Euclidean, Manhattan or Cosine
	space  *sparseSpace[T]
	tree   *Tree[float64] // nil for brute force
	segs   []*sparseSeg   // brute force: ids ascending across segments
	nids   int32
	n      int
	seed   uint64

	buildEvals int64
	queryEvals atomic.Int64
}

// Cost-model constants of a sparse index, in nanoseconds, measured as
// those of auto.go on the 2-core development machine (see sparseModel;
// one thread, TF-IDF-like rows of about 20 values in 5,000 columns, while
// other work loaded the machine): a distance evaluation of the cover tree
// (lookups and a merge of two rows) cost about 500 ns, about
// sparseMergeCost per stored value of the two rows beside the tree's own
// costs, and the brute-force screen about 6 ns per row and query, postings
// included: sparseRowCost per row and sparsePosting per posting of the
// query's columns.
const (
	sparseMergeCost = 10.0
	sparseRowCost   = 4.0
	sparsePosting   = 2.0
)

// sparseFirstLook is the size of the sample tree chooseSparse builds first:
// where that tree measures more than half its points per query, the data
// leave a tree nothing to prune, and brute force is chosen without the
// larger samples of Choose.
const sparseFirstLook = 256

// sparseMaxSegments is the number of segments past which an insertion into
// a brute-force index merges them into one.
const sparseMaxSegments = 8

// BuildSparse returns an index over the sparse rows, with caller indices
// 0..n-1, built as algo says (Auto: see chooseSparse). Of opts it uses
// Metric (Euclidean, Manhattan or Cosine; Minkowski with p = 1 or 2 is
// one of them), Seed, Jobs and Monitor. It copies the rows. The Choice
// reports the evidence Auto chose from (for CoverTree and Brute, just the
// algorithm).
func BuildSparse[T Float](rows SparseRows[T], algo Algorithm, opts Options) (x *SparseIndex[T], c Choice, err error) {
	defer catch(&err)
	if err := opts.Metric.Validate(); err != nil {
		return nil, Choice{}, err
	}
	if err := checkSparseMetric(opts.Metric); err != nil {
		return nil, Choice{}, err
	}
	if err := rows.check(); err != nil {
		return nil, Choice{}, err
	}
	n := rows.Len()
	if n == 0 {
		return nil, Choice{}, errors.New("core: no points")
	}
	if n > math.MaxInt32-1 {
		return nil, Choice{}, fmt.Errorf("core: %d points exceed the limit of %d", n, math.MaxInt32-1)
	}
	if algo != Auto && algo != CoverTree && algo != Brute {
		return nil, Choice{}, fmt.Errorf("core: unknown algorithm %d", int(algo))
	}
	m := opts.Metric.Canonical()
	x = &SparseIndex[T]{metric: m, space: newSparseSpace[T](m.Kind, rows.Cols), seed: opts.Seed}
	prep, err := prepareRows(m, rows, true)
	if err != nil {
		return nil, Choice{}, err
	}
	first, err := x.space.store.append(prep)
	if err != nil {
		return nil, Choice{}, err
	}
	ids, pos := make([]int32, n), make([]int32, n)
	for i := range n {
		ids[i], pos[i] = int32(i), first+int32(i)
	}
	c = Choice{Algorithm: algo}
	if algo == Auto {
		if c, err = x.choose(pos, rows, opts); err != nil {
			return nil, Choice{}, err
		}
	}
	if c.Algorithm == CoverTree {
		budget := int64(0)
		if algo == Auto {
			budget = max(c.BuildBudget, int64(3*c.BuildEvals*float64(n)), 1)
		}
		err = x.buildTree(pos, opts, budget)
		if errors.Is(err, ErrCostly) && algo == Auto {
			c.Algorithm, c.GaveUp, err = Brute, true, nil
		}
		if err != nil {
			return nil, Choice{}, err
		}
	}
	if c.Algorithm == Brute {
		if opts.Monitor.stopped() {
			return nil, Choice{}, ErrStopped
		}
		x.tree = nil
		x.segs = []*sparseSeg{newSparseSeg(&x.space.store, ids, pos)}
		x.n, x.nids = n, int32(n)
		opts.Monitor.add(n)
	}
	return x, c, nil
}

// prepareRows returns the rows as the index stores them (see
// prepareSparse); copyRows copies rows that need no change.
func prepareRows[T Float](m Metric, rows SparseRows[T], copyRows bool) ([]sparseRow[T], error) {
	out := make([]sparseRow[T], rows.Len())
	for i := range out {
		r, err := prepareSparse(m, rows, i, copyRows)
		if err != nil {
			return nil, fmt.Errorf("core: %w", err)
		}
		out[i] = r
	}
	return out, nil
}

// treeMetric returns the Custom metric of the index's cover tree.
func (x *SparseIndex[T]) treeMetric() Metric {
	return NewCustom[float64]("sparse "+x.metric.String(), x.space)
}

// codes returns the tree points naming the store positions pos.
func codes(pos []int32) []float64 {
	out := make([]float64, len(pos))
	for i, p := range pos {
		out[i] = float64(p)
	}
	return out
}

// buildTree builds the index's cover tree over the rows at positions pos
// (caller indices 0..len(pos)-1), within maxEvals distance evaluations
// when positive.
func (x *SparseIndex[T]) buildTree(pos []int32, opts Options, maxEvals int64) error {
	t, err := Build(codes(pos), 1, Options{Metric: x.treeMetric(), Seed: opts.Seed, Jobs: opts.Jobs,
		Monitor: opts.Monitor, MaxEvals: maxEvals})
	if err != nil {
		return err
	}
	x.setTree(t)
	return nil
}

func (x *SparseIndex[T]) setTree(t *Tree[float64]) {
	x.tree, x.segs = t, nil
	x.n, x.nids = t.Len(), int32(t.IDs())
	x.buildEvals, _ = t.DistanceEvals()
}

// choose decides between a cover tree and brute force for the rows at
// positions pos: Choose's samples are measured over them (first one of
// sparseFirstLook rows, which settles it where the rows leave a tree
// nothing to prune, as TF-IDF rows do), and the sparse cost model
// (sparseModel) weighs the estimates and orders the samples.
func (x *SparseIndex[T]) choose(pos []int32, rows SparseRows[T], opts Options) (Choice, error) {
	copts := Options{Metric: x.treeMetric(), Seed: opts.Seed, Jobs: opts.Jobs}
	n := len(pos)
	cm := sparseModel{nnz: float64(len(rows.Data)) / float64(n), cols: rows.Cols}
	if n > 4*sparseFirstLook {
		rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
		sample := make([]int32, sparseFirstLook)
		for i, j := range rng.Perm(n)[:sparseFirstLook] {
			sample[i] = pos[j]
		}
		c, _, err := choose(codes(sample), 1, copts, cm, sparseFirstLook)
		if err != nil {
			return Choice{}, err
		}
		if c.SampleEvals > 0.5*sparseFirstLook {
			// Unprunable at this size: extrapolate linearly (a tree of all
			// the points measures as large a share).
			scale := float64(n) / sparseFirstLook
			c.Growth = 1
			c.Evals = min(c.SampleEvals*scale, float64(n))
			c.BuildEvals = min(c.BuildEvals*scale, float64(n))
			return decide(c, n, cm), nil
		}
	}
	c, _, err := choose(codes(pos), 1, copts, cm, n)
	return c, err
}

// sparseVisit and sparseBuildVisit are the nanoseconds of a tree's own
// work for an evaluation of a query and of a build, beside the merge of
// the two rows: the dense model's figures when this model was measured
// (the dense ones have since been measured again, on code whose searches
// and builds had become cheaper; the sparse searches were not).
const (
	sparseVisit      = 25.0
	sparseBuildVisit = 60.0
)

// sparseModel is the cost model of sparse rows with nnz stored values
// each on average, over cols columns: a tree's build and queries at the
// tree's own costs and a merge of the two rows for each evaluation, and
// brute force screening every row and reading the postings of the
// query's columns (nnz * n*nnz/cols of them) for each query.
type sparseModel struct {
	nnz  float64
	cols int
}

func (s sparseModel) merge() float64 { return 2 * s.nnz * sparseMergeCost }

func (s sparseModel) tree(evals, buildEvals float64, n int) (build, queries float64) {
	nf := float64(n)
	return nf * buildEvals * s.buildEval(), workloadPasses * nf * evals * (sparseVisit + s.merge()) * 1e-9
}

func (s sparseModel) brute(n int) float64 {
	nf := float64(n)
	postings := s.nnz * min(nf*s.nnz/float64(s.cols), nf)
	return workloadPasses * nf * (nf*sparseRowCost + postings*sparsePosting + 10*(sparseVisit+s.merge())) * 1e-9
}

func (s sparseModel) buildEval() float64 { return (sparseBuildVisit + s.merge()) * 1e-9 }

// Len returns the number of points, duplicates included.
func (x *SparseIndex[T]) Len() int { return x.n }

// IDs returns the number of caller indices ever issued: every index held
// is below it.
func (x *SparseIndex[T]) IDs() int { return int(x.nids) }

// Cols returns the number of columns of the rows.
func (x *SparseIndex[T]) Cols() int { return x.space.cols }

// Metric returns the distance function.
func (x *SparseIndex[T]) Metric() Metric { return x.metric }

// Algorithm returns CoverTree or Brute: how the index answers queries.
func (x *SparseIndex[T]) Algorithm() Algorithm {
	if x.tree != nil {
		return CoverTree
	}
	return Brute
}

// Tree returns the cover tree of an index whose Algorithm is CoverTree
// (its points are codes naming the rows, its metric looks them up), or nil.
// It is for inspection (Check, Stats); queries go through the index.
func (x *SparseIndex[T]) Tree() *Tree[float64] { return x.tree }

// Has reports whether the index holds caller index id.
func (x *SparseIndex[T]) Has(id int) bool {
	if id < 0 || id >= int(x.nids) {
		return false
	}
	if x.tree != nil {
		return x.tree.Has(id)
	}
	si, _ := locate(x.segs, int32(id))
	return si >= 0
}

// LiveIDs appends the caller indices the index holds, ascending, to dst.
func (x *SparseIndex[T]) LiveIDs(dst []int64) []int64 {
	if x.tree != nil {
		return x.tree.LiveIDs(dst)
	}
	for _, g := range x.segs {
		for i, id := range g.ids {
			if g.isLive(i) {
				dst = append(dst, int64(id))
			}
		}
	}
	return dst
}

// DistanceEvals returns the distance evaluations spent making this version
// and answering queries on it (for brute force: the exact ones only).
func (x *SparseIndex[T]) DistanceEvals() (build, query int64) {
	if x.tree != nil {
		return x.tree.DistanceEvals()
	}
	return x.buildEvals, x.queryEvals.Load()
}

// row returns the stored row of caller index id, which must be live.
func (x *SparseIndex[T]) row(id int32) *sparseRow[T] {
	if x.tree != nil {
		return x.space.store.row(int32(x.tree.Point(int(id))[0]))
	}
	si, i := locate(x.segs, id)
	return x.space.store.row(x.segs[si].pos[i])
}

// Row returns the stored columns and values of caller index id (scaled to
// unit length under Cosine), or nil slices if the index does not hold it.
// They alias the index's storage and must not be modified.
func (x *SparseIndex[T]) Row(id int) ([]int32, []T) {
	if !x.Has(id) {
		return nil, nil
	}
	r := x.row(int32(id))
	return r.idx, r.val
}

// derive returns a copy of x sharing its storage, for an update.
func (x *SparseIndex[T]) derive() *SparseIndex[T] {
	return &SparseIndex[T]{metric: x.metric, space: x.space, tree: x.tree, segs: x.segs,
		nids: x.nids, n: x.n, seed: x.seed, buildEvals: x.buildEvals}
}

// Insert returns a new version of x that also holds the rows, with the
// caller indices first, first+1, ..., where first is x.IDs(). x is
// unchanged. The rows must have x's number of columns.
func (x *SparseIndex[T]) Insert(rows SparseRows[T], opts UpdateOptions) (nx *SparseIndex[T], first int, err error) {
	defer catch(&err)
	if err := rows.check(); err != nil {
		return nil, 0, err
	}
	if rows.Cols != x.space.cols {
		return nil, 0, fmt.Errorf("core: the rows have %d columns, the index %d", rows.Cols, x.space.cols)
	}
	n := rows.Len()
	if int64(x.nids)+int64(n) > math.MaxInt32 {
		return nil, 0, fmt.Errorf("core: %d more points would exceed the limit of %d ids", n, math.MaxInt32)
	}
	if opts.Monitor.stopped() {
		return nil, 0, ErrStopped
	}
	prep, err := prepareRows(x.metric, rows, true)
	if err != nil {
		return nil, 0, err
	}
	if n == 0 {
		return x, int(x.nids), nil
	}
	// Rows of an insertion that then fails stay in the store, unused.
	p0, err := x.space.store.append(prep)
	if err != nil {
		return nil, 0, err
	}
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = p0 + int32(i)
	}
	nx = x.derive()
	if x.tree != nil {
		t, f, err := x.tree.Insert(codes(pos), opts)
		if err != nil {
			return nil, 0, err
		}
		nx.setTree(t)
		nx.buildEvals, _ = t.DistanceEvals()
		return nx, f, nil
	}
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = x.nids + int32(i)
	}
	nx.segs = append(slices.Clip(x.segs), newSparseSeg(&x.space.store, ids, pos))
	if len(nx.segs) > sparseMaxSegments {
		nx.segs = []*sparseSeg{mergeSegs(&x.space.store, nx.segs)}
	}
	nx.n += n
	nx.nids += int32(n)
	opts.Monitor.add(n)
	return nx, int(x.nids), nil
}

// mergeSegs returns one segment holding the live rows of segs.
func mergeSegs[T Float](store *rowStore[T], segs []*sparseSeg) *sparseSeg {
	var ids, pos []int32
	for _, g := range segs {
		for i, id := range g.ids {
			if g.isLive(i) {
				ids = append(ids, id)
				pos = append(pos, g.pos[i])
			}
		}
	}
	return newSparseSeg(store, ids, pos)
}

// Delete returns a new version of x without the points of caller indices
// ids. It returns an error, and deletes nothing, if an index is not held
// or is given twice. x is unchanged.
func (x *SparseIndex[T]) Delete(ids []int64, opts UpdateOptions) (nx *SparseIndex[T], err error) {
	defer catch(&err)
	if x.tree != nil {
		t, err := x.tree.Delete(ids, opts)
		if err != nil {
			return nil, err
		}
		nx = x.derive()
		nx.setTree(t)
		return nx, nil
	}
	if opts.Monitor.stopped() {
		return nil, ErrStopped
	}
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if id < 0 || id > math.MaxInt32 || !x.Has(int(id)) {
			return nil, fmt.Errorf("core: caller index %d is not in the tree", id)
		}
		if seen[id] {
			return nil, fmt.Errorf("core: caller index %d is given twice", id)
		}
		seen[id] = true
	}
	nx = x.derive()
	segs := slices.Clone(x.segs)
	copied := make([]bool, len(segs))
	for _, id := range ids {
		si, i := locate(segs, int32(id))
		g := segs[si]
		if !copied[si] {
			c := *g
			c.live = slices.Clone(g.live)
			g, segs[si], copied[si] = &c, &c, true
		}
		g.live[i/64] &^= 1 << (i % 64)
		g.nlive--
	}
	nx.segs = segs[:0]
	for _, g := range segs {
		if g.nlive > 0 {
			nx.segs = append(nx.segs, g)
		}
	}
	nx.n -= len(ids)
	opts.Monitor.add(len(ids))
	return nx, nil
}

// SparseBatch describes a batch of queries on a SparseIndex: sparse query
// rows, or the index's own points. Its fields mean what Batch's mean.
type SparseBatch[T Float] struct {
	// Rows holds the query rows, with the index's number of columns. If
	// Rows is nil the queries are the index's own points with the caller
	// indices IDs, or First, First+1, ..., First+Count-1 if IDs is nil,
	// each left out of its own answer.
	Rows         *SparseRows[T]
	IDs          []int64
	First, Count int
	Jobs         int
	Strategy     Strategy // the cover tree's k-nearest search; brute force ignores it
	Monitor      *Monitor
	MaxAnswers   int64
	Radii        []float64
}

// queries checks b and returns the number of queries and, for query rows,
// the rows prepared for searching (borrowing b's buffers).
func (x *SparseIndex[T]) queries(b SparseBatch[T]) (int, []sparseRow[T], error) {
	if b.Rows == nil {
		nq, err := x.fitted(b)
		return nq, nil, err
	}
	if err := b.Rows.check(); err != nil {
		return 0, nil, err
	}
	if b.Rows.Cols != x.space.cols {
		return 0, nil, fmt.Errorf("core: the query rows have %d columns, the index %d", b.Rows.Cols, x.space.cols)
	}
	rows, err := prepareRows(x.metric, *b.Rows, false)
	if err != nil {
		return 0, nil, fmt.Errorf("core: query: %w", err)
	}
	return len(rows), rows, nil
}

// fitted checks the index's own points that b queries (b.IDs, or
// b.First.. b.First+b.Count-1) and returns their number.
func (x *SparseIndex[T]) fitted(b SparseBatch[T]) (int, error) {
	if b.IDs == nil {
		if b.First < 0 || b.Count < 0 || b.First > int(x.nids) || b.Count > int(x.nids)-b.First {
			return 0, fmt.Errorf("core: fitted points %d..%d are out of range [0, %d)", b.First, b.First+b.Count, x.nids)
		}
		for id := b.First; id < b.First+b.Count; id++ {
			if !x.Has(id) {
				return 0, fmt.Errorf("core: caller index %d is not in the index", id)
			}
		}
		return b.Count, nil
	}
	for _, id := range b.IDs {
		if id < 0 || id > math.MaxInt32 || !x.Has(int(id)) {
			return 0, fmt.Errorf("core: caller index %d is not in the index", id)
		}
	}
	return len(b.IDs), nil
}

// treeBatch returns the tree's batch for b (rows: the prepared query rows,
// lent codes until release is called).
func (x *SparseIndex[T]) treeBatch(b SparseBatch[T], rows []sparseRow[T]) (Batch[float64], func()) {
	tb := Batch[float64]{IDs: b.IDs, First: b.First, Count: b.Count, Jobs: b.Jobs,
		Strategy: b.Strategy, Monitor: b.Monitor, MaxAnswers: b.MaxAnswers}
	if b.Radii != nil {
		tb.Radii = make([]float64, len(b.Radii))
		for i, r := range b.Radii {
			tb.Radii[i] = inRadius(x.metric, r)
		}
	}
	if rows == nil {
		return tb, func() {}
	}
	var release func()
	tb.Points, release = x.space.register(rows)
	return tb, release
}

// query returns query i of the batch and the caller index to leave out.
func (x *SparseIndex[T]) query(b SparseBatch[T], rows []sparseRow[T], i int) (*sparseRow[T], int32) {
	if rows != nil {
		return &rows[i], -1
	}
	id := int32(b.First + i)
	if b.IDs != nil {
		id = int32(b.IDs[i])
	}
	return x.row(id), id
}

// scratches returns one brute-force scratch per worker of jobs.
func scratches(jobs int) []sparseScratch { return make([]sparseScratch, workers(jobs)) }

// KNearestBatch writes the k nearest neighbours of every query of b to
// dist and idx, row i holding query i's, nearest first, ties ordered by
// caller index. dist and idx must have room for k values per query.
func (x *SparseIndex[T]) KNearestBatch(b SparseBatch[T], k int, dist []T, idx []int64) (err error) {
	defer catch(&err)
	nq, rows, err := x.queries(b)
	if err != nil {
		return err
	}
	avail := x.n
	if b.Rows == nil {
		avail--
	}
	if k < 1 || k > avail {
		return fmt.Errorf("core: k=%d neighbours requested, but only %d points are available", k, avail)
	}
	if len(dist) < nq*k || len(idx) < nq*k {
		return fmt.Errorf("core: output of %d distances and %d indices is too small for %d queries of k=%d", len(dist), len(idx), nq, k)
	}
	write := func(o int, ds []float64) {
		for j, d := range ds {
			dist[o+j] = T(outDist(x.metric, d))
		}
		orderRounded(dist[o:o+len(ds)], idx[o:o+len(ds)])
	}
	if x.tree != nil {
		tb, release := x.treeBatch(b, rows)
		defer release()
		d64 := make([]float64, nq*k)
		if err := x.tree.KNearestBatch(tb, k, d64, idx); err != nil {
			return err
		}
		for i := range nq {
			write(i*k, d64[i*k:(i+1)*k])
		}
		return nil
	}
	sc := scratches(b.Jobs)
	return forRows(nq, b.Jobs, b.Monitor, func(w, lo, hi int) error {
		s := &sc[w]
		var evals int64
		for i := lo; i < hi; i++ {
			q, ex := x.query(b, rows, i)
			evals += bruteKNearest(x, q, ex, k, s)
			s.rd = slices.Grow(s.rd[:0], k)[:k]
			s.rid = slices.Grow(s.rid[:0], k)[:k]
			s.top.drain(s.rd, s.rid)
			for j, id := range s.rid {
				idx[i*k+j] = int64(id)
			}
			write(i*k, s.rd)
		}
		x.queryEvals.Add(evals)
		return nil
	})
}

// checkRadii checks the radius r (or b.Radii) of nq queries.
func (b SparseBatch[T]) checkRadii(nq int, r float64) error {
	_, err := Batch[T]{Radii: b.Radii}.checkRadii(nq, r)
	return err
}

// WithinBatch finds, for every query of b, every point within distance r
// (d <= r), or b.Radii[i] for query i. With sorted, each query's answers
// are ordered by distance, then caller index; otherwise by caller index.
func (x *SparseIndex[T]) WithinBatch(b SparseBatch[T], r float64, sorted bool) (res *RadiusResult[T], err error) {
	defer catch(&err)
	nq, rows, err := x.queries(b)
	if err != nil {
		return nil, err
	}
	if err := b.checkRadii(nq, r); err != nil {
		return nil, err
	}
	res = newRadiusResult[T](nq, sorted)
	if x.tree != nil {
		tb, release := x.treeBatch(b, rows)
		defer release()
		tr, err := x.tree.WithinBatch(tb, inRadius(x.metric, r), sorted)
		if err != nil {
			return nil, err
		}
		for i := range nq {
			ds := tr.dist[i]
			for j, d := range ds {
				ds[j] = outDist(x.metric, d)
			}
			res.dist[i], res.idx[i], res.counts[i] = ds, tr.idx[i], tr.counts[i]
		}
		return res.summed(), nil
	}
	var found atomic.Int64
	sc := scratches(b.Jobs)
	err = forRows(nq, b.Jobs, b.Monitor, func(w, lo, hi int) error {
		s := &sc[w]
		var evals int64
		defer func() { x.queryEvals.Add(evals) }()
		for i := lo; i < hi; i++ {
			q, ex := x.query(b, rows, i)
			ri := r
			if b.Radii != nil {
				ri = b.Radii[i]
			}
			c, e := bruteWithin(x, q, ex, inRadius(x.metric, ri), s)
			evals += e
			if b.MaxAnswers > 0 {
				if f := found.Add(c); f > b.MaxAnswers {
					return &TooManyAnswersError{Limit: b.MaxAnswers, Found: f}
				}
			}
			ds, ids := s.ans.take(s.rd, s.rid)
			for j, d := range ds {
				ds[j] = outDist(x.metric, d)
			}
			if sorted {
				sortPairs(ds, ids, &s.ans)
			}
			res.dist[i], res.idx[i], res.counts[i] = ds, ids, c
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res.summed(), nil
}

// CountWithinBatch writes to counts[i] the number of points within
// distance r (d <= r, or b.Radii[i]) of query i of b: what WithinBatch
// would find, without listing it.
func (x *SparseIndex[T]) CountWithinBatch(b SparseBatch[T], r float64, counts []int64) (err error) {
	defer catch(&err)
	nq, rows, err := x.queries(b)
	if err != nil {
		return err
	}
	if err := b.checkRadii(nq, r); err != nil {
		return err
	}
	if len(counts) < nq {
		return fmt.Errorf("core: output of %d counts is too small for %d queries", len(counts), nq)
	}
	if x.tree != nil {
		tb, release := x.treeBatch(b, rows)
		defer release()
		return x.tree.CountWithinBatch(tb, inRadius(x.metric, r), counts)
	}
	sc := scratches(b.Jobs)
	return forRows(nq, b.Jobs, b.Monitor, func(w, lo, hi int) error {
		s := &sc[w]
		var evals int64
		for i := lo; i < hi; i++ {
			q, ex := x.query(b, rows, i)
			ri := r
			if b.Radii != nil {
				ri = b.Radii[i]
			}
			var e int64
			counts[i], e = bruteWithin(x, q, ex, inRadius(x.metric, ri), s)
			evals += e
		}
		x.queryEvals.Add(evals)
		return nil
	})
}
