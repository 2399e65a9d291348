package core

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// Sparse rows (scipy.sparse's CSR format): points with many coordinates of
// which few are not zero, such as TF-IDF vectors of text. A SparseIndex
// holds them without densifying, and measures distances between two sparse
// rows by merging their sorted columns. The kernels here add the same
// terms into the same accumulators as the dense kernels of metric.go do
// (a zero coordinate adds an exact zero there), so a distance between two
// sparse rows equals, bit for bit, the dense kernel's between the same rows
// densified.

// SparseRows are rows in compressed sparse row (CSR) form: row i's columns
// are Indices[Indptr[i]:Indptr[i+1]], strictly increasing, and its values
// Data[Indptr[i]:Indptr[i+1]]. A column not listed is zero; a listed zero is
// allowed. Values must be finite.
type SparseRows[T Float] struct {
	// Cols is the number of columns (features): every column is in
	// [0, Cols).
	Cols int
	// Indptr holds Len()+1 offsets into Indices and Data, from 0 to their
	// length, never decreasing.
	Indptr  []int64
	Indices []int32
	Data    []T
}

// Len returns the number of rows.
func (r SparseRows[T]) Len() int {
	if len(r.Indptr) == 0 {
		return 0
	}
	return len(r.Indptr) - 1
}

// check validates the rows: their shape, sorted columns in range, finite
// values.
func (r SparseRows[T]) check() error {
	if r.Cols < 1 || int64(r.Cols) > math.MaxInt32 {
		return fmt.Errorf("core: sparse rows need between 1 and %d columns, got %d", math.MaxInt32, r.Cols)
	}
	if len(r.Indptr) == 0 {
		return fmt.Errorf("core: sparse rows need at least one row pointer")
	}
	if len(r.Indices) != len(r.Data) {
		return fmt.Errorf("core: %d sparse columns but %d values", len(r.Indices), len(r.Data))
	}
	if r.Indptr[0] != 0 || r.Indptr[len(r.Indptr)-1] != int64(len(r.Data)) {
		return fmt.Errorf("core: sparse row pointers run from %d to %d, not 0 to %d",
			r.Indptr[0], r.Indptr[len(r.Indptr)-1], len(r.Data))
	}
	for i := 0; i+1 < len(r.Indptr); i++ {
		lo, hi := r.Indptr[i], r.Indptr[i+1]
		if hi < lo {
			return fmt.Errorf("core: sparse row pointers decrease at row %d", i)
		}
		prev := int32(-1)
		for e := lo; e < hi; e++ {
			c := r.Indices[e]
			if c < 0 || int(c) >= r.Cols {
				return fmt.Errorf("core: column %d in sparse row %d: the columns are 0..%d", c, i, r.Cols-1)
			}
			if c <= prev {
				return fmt.Errorf("core: the columns of sparse row %d are not strictly increasing (%d after %d)", i, c, prev)
			}
			prev = c
			if f := float64(r.Data[e]); math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("core: sparse row %d has a non-finite value %v at column %d", i, f, c)
			}
		}
	}
	return nil
}

// sparseRow is one stored (or prepared query) row: its columns, values and
// the sums the brute-force screen starts from.
type sparseRow[T Float] struct {
	idx []int32
	val []T
	sq  float64 // sum of squares, in column order
	nrm float64 // sqrt(sq)
	l1  float64 // sum of absolute values, in column order
}

// newSparseRow returns the row with its sums.
func newSparseRow[T Float](idx []int32, val []T) sparseRow[T] {
	r := sparseRow[T]{idx: idx, val: val}
	for _, v := range val {
		x := float64(v)
		r.sq += x * x
		r.l1 += math.Abs(x)
	}
	r.nrm = math.Sqrt(r.sq)
	return r
}

// prepareSparse returns row i of r as an index with metric m stores it or
// searches with it: under Cosine scaled to unit length (a new row) as
// prepare scales a dense row, else the caller's row, copied when copyRow
// is set (without, it borrows the caller's buffers for the call). A zero
// row under Cosine is an error.
func prepareSparse[T Float](m Metric, r SparseRows[T], i int, copyRow bool) (sparseRow[T], error) {
	lo, hi := r.Indptr[i], r.Indptr[i+1]
	idx, val := r.Indices[lo:hi:hi], r.Data[lo:hi:hi]
	if m.Kind == Cosine {
		var ss float64
		for _, v := range val {
			ss += float64(v) * float64(v)
		}
		norm := math.Sqrt(ss)
		if ss > 0x1p900 || ss < 0x1p-900 {
			norm = sparseScaledNorm(idx, val, nil, nil, 2)
		}
		if norm == 0 {
			return sparseRow[T]{}, fmt.Errorf("point %d is the zero vector, which has no cosine distance", i)
		}
		out := make([]T, len(val))
		for j, v := range val {
			out[j] = T(float64(v) / norm)
		}
		val, copyRow = out, false
		idx = append([]int32(nil), idx...)
	}
	if copyRow {
		idx = append([]int32(nil), idx...)
		val = append([]T(nil), val...)
	}
	return newSparseRow(idx, val), nil
}

// sparseMerge calls term(col, a_col - b_col) for every column of the union
// of a's and b's columns, ascending, with the difference computed in
// float64 as the dense kernels compute it.
func sparseMerge[T Float](ai []int32, av []T, bi []int32, bv []T, term func(c int32, d float64)) {
	i, j := 0, 0
	for i < len(ai) || j < len(bi) {
		switch {
		case j >= len(bi) || (i < len(ai) && ai[i] < bi[j]):
			term(ai[i], float64(av[i]))
			i++
		case i >= len(ai) || bi[j] < ai[i]:
			term(bi[j], -float64(bv[j]))
			j++
		default:
			term(ai[i], float64(av[i])-float64(bv[j]))
			i++
			j++
		}
	}
}

// sparseSums returns the sum of squared (p=2) or absolute (p=1)
// differences between rows a and b of cols columns, each term added to the
// accumulator the dense kernels (sqEuclidean, manhattan) add it to: column
// c to accumulator c mod 4, but the columns after the last whole block of
// four to accumulator 0.
func sparseSums[T Float](a, b *sparseRow[T], cols int, p int) float64 {
	lim := int32(cols &^ 3)
	var s [4]float64
	ai, av, bi, bv := a.idx, a.val, b.idx, b.val
	i, j := 0, 0
	for i < len(ai) || j < len(bi) {
		var c int32
		var d float64
		switch {
		case j >= len(bi) || (i < len(ai) && ai[i] < bi[j]):
			c, d = ai[i], float64(av[i])
			i++
		case i >= len(ai) || bi[j] < ai[i]:
			c, d = bi[j], -float64(bv[j])
			j++
		default:
			c, d = ai[i], float64(av[i])-float64(bv[j])
			i++
			j++
		}
		k := c & 3
		if c >= lim {
			k = 0
		}
		if p == 2 {
			s[k] += d * d
		} else {
			s[k] += math.Abs(d)
		}
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

// sparseScaledNorm is scaledNorm on sparse rows: the L2 (p=2) distance
// between a and b (b nil: a's norm) computed as m * sqrt(sum (|d_i|/m)^2)
// with m the largest difference, in column order.
func sparseScaledNorm[T Float](ai []int32, av []T, bi []int32, bv []T, p float64) float64 {
	var m float64
	sparseMerge(ai, av, bi, bv, func(_ int32, d float64) {
		if a := math.Abs(d); a > m || math.IsNaN(a) {
			m = a
		}
	})
	if m == 0 || math.IsInf(m, 0) || math.IsNaN(m) {
		return m
	}
	var s float64
	sparseMerge(ai, av, bi, bv, func(_ int32, d float64) {
		r := math.Abs(d) / m
		s += r * r
	})
	return m * math.Sqrt(s)
}

// sparseDistance returns the search distance between two prepared rows
// under metric kind k (Euclidean, Cosine: the Euclidean distance between
// the stored rows; Manhattan), equal to the dense kernel's.
func sparseDistance[T Float](k MetricKind, a, b *sparseRow[T], cols int) float64 {
	if k == Manhattan {
		return sparseSums(a, b, cols, 1)
	}
	s := sparseSums(a, b, cols, 2)
	if s < 0x1p-900 || s > 0x1p900 {
		return sparseScaledNorm(a.idx, a.val, b.idx, b.val, 2)
	}
	return math.Sqrt(s)
}

// checkSparseMetric reports whether metric m serves sparse rows.
func checkSparseMetric(m Metric) error {
	switch m.Canonical().Kind {
	case Euclidean, Manhattan, Cosine:
		return nil
	}
	return fmt.Errorf("core: the %s metric does not take sparse rows; sparse rows take euclidean, manhattan and cosine", m)
}

// rowStoreChunk is the number of rows of a rowStore chunk.
const rowStoreChunk = 1024

// rowStore holds every row a SparseIndex's lineage (the index, its
// updates, their updates) ever stored, by position. Positions are never
// reused nor rows changed, so every version reads its own rows, whatever
// the others append: appends are serialised, and a row is published (by
// the atomic count) only once written.
type rowStore[T Float] struct {
	mu     sync.Mutex
	chunks atomic.Pointer[[]*[rowStoreChunk]sparseRow[T]]
	n      atomic.Int64
}

// row returns the row at position pos, which must be published.
func (s *rowStore[T]) row(pos int32) *sparseRow[T] {
	cs := *s.chunks.Load()
	return &cs[pos/rowStoreChunk][pos%rowStoreChunk]
}

// append stores rows and returns the position of the first.
func (s *rowStore[T]) append(rows []sparseRow[T]) (int32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := s.n.Load()
	if first+int64(len(rows)) > math.MaxInt32 {
		return 0, fmt.Errorf("core: a sparse index stores at most %d rows over its life", math.MaxInt32)
	}
	var cs []*[rowStoreChunk]sparseRow[T]
	if p := s.chunks.Load(); p != nil {
		cs = *p
	}
	grown := false
	for int64(len(cs))*rowStoreChunk < first+int64(len(rows)) {
		if !grown {
			cs = append([]*[rowStoreChunk]sparseRow[T](nil), cs...)
			grown = true
		}
		cs = append(cs, new([rowStoreChunk]sparseRow[T]))
	}
	for j, r := range rows {
		p := first + int64(j)
		cs[p/rowStoreChunk][p%rowStoreChunk] = r
	}
	s.chunks.Store(&cs)
	s.n.Store(first + int64(len(rows)))
	return int32(first), nil
}

// querySlotCount is the number of query batches a sparse tree answers at
// once; more wait for a slot.
const querySlotCount = 64

// sparseSpace is the metric of a sparse tree: the tree's points are
// one-coordinate "rows" holding a code, a position in the store (>= 0) or
// a query row of a batch being answered (< 0: -(1 + slot<<32 + j)), and
// its Distance looks the rows up and merges them. Codes are integers below
// 2^53, exact in float64.
type sparseSpace[T Float] struct {
	kind  MetricKind // Euclidean (for Cosine too: rows are unit vectors) or Manhattan
	cols  int
	store rowStore[T]

	mu    sync.Mutex
	free  *sync.Cond
	used  [querySlotCount]bool
	slots [querySlotCount]atomic.Pointer[[]sparseRow[T]]
}

func newSparseSpace[T Float](kind MetricKind, cols int) *sparseSpace[T] {
	s := &sparseSpace[T]{kind: kind, cols: cols}
	if kind == Cosine {
		s.kind = Euclidean
	}
	s.free = sync.NewCond(&s.mu)
	return s
}

// resolve returns the row a code names.
func (s *sparseSpace[T]) resolve(code float64) *sparseRow[T] {
	if code >= 0 {
		return s.store.row(int32(code))
	}
	c := int64(-code) - 1
	rows := *s.slots[c>>32].Load()
	return &rows[c&(1<<32-1)]
}

// Distance is the Distancer of a sparse tree.
func (s *sparseSpace[T]) Distance(a, b []float64) float64 {
	return sparseDistance(s.kind, s.resolve(a[0]), s.resolve(b[0]), s.cols)
}

// register lends the query rows a slot until release is called, and
// returns their codes.
func (s *sparseSpace[T]) register(rows []sparseRow[T]) (codes []float64, release func()) {
	s.mu.Lock()
	slot := -1
	for slot < 0 {
		for i, u := range s.used {
			if !u {
				slot = i
				break
			}
		}
		if slot < 0 {
			s.free.Wait()
		}
	}
	s.used[slot] = true
	s.mu.Unlock()
	s.slots[slot].Store(&rows)
	codes = make([]float64, len(rows))
	for j := range rows {
		codes[j] = -float64(1 + int64(slot)<<32 + int64(j))
	}
	return codes, func() {
		s.slots[slot].Store(nil)
		s.mu.Lock()
		s.used[slot] = false
		s.mu.Unlock()
		s.free.Signal()
	}
}
