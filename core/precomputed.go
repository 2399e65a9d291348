package core

import (
	"fmt"
	"math"
	"slices"
)

// DistanceRows are rows of precomputed distances from queries to the Cols
// points of a fitted set (scikit-learn's metric="precomputed"): no metric
// is evaluated, the selection runs on the given values. The rows are dense
// or sparse (CSR); in sparse rows a column that is not stored is not a
// neighbour, and a stored zero is a neighbour at distance 0.
//
// Distances must be >= 0 and not NaN; the functions that take
// DistanceRows return an error naming the first entry that is not.
type DistanceRows[T Float] struct {
	// Cols is the number of fitted points: every column is in [0, Cols).
	Cols int
	// Dense holds the rows row-major, Cols values each, or is nil for
	// sparse rows.
	Dense []T
	// Indptr, Indices and Data hold sparse rows in CSR form (when Dense
	// is nil): row i's columns are Indices[Indptr[i]:Indptr[i+1]] and
	// its distances Data[Indptr[i]:Indptr[i+1]], in any order; a column
	// may appear once per row.
	Indptr  []int64
	Indices []int64
	Data    []T
	// Self, when >= 0, leaves column Self+i out of row i: the rows are
	// those of the fitted points Self, Self+1, ..., each queried against
	// the others (kneighbors() without X). -1 leaves nothing out.
	Self int
}

// Len returns the number of rows.
func (r DistanceRows[T]) Len() int {
	if r.Dense != nil || r.Indptr == nil {
		if r.Cols == 0 {
			return 0
		}
		return len(r.Dense) / r.Cols
	}
	return len(r.Indptr) - 1
}

// check validates the shape of the rows (not their values, which the
// scans check as they read them).
func (r DistanceRows[T]) check() error {
	if r.Cols < 0 || int64(r.Cols) > math.MaxInt32 {
		return fmt.Errorf("core: %d fitted points: between 0 and %d are supported", r.Cols, math.MaxInt32)
	}
	if r.Dense != nil || r.Indptr == nil {
		if r.Cols == 0 && len(r.Dense) > 0 || r.Cols > 0 && len(r.Dense)%r.Cols != 0 {
			return fmt.Errorf("core: %d dense distances are not rows of %d", len(r.Dense), r.Cols)
		}
		return nil
	}
	if len(r.Indptr) == 0 {
		return fmt.Errorf("core: sparse rows need at least one row pointer")
	}
	if len(r.Indices) != len(r.Data) {
		return fmt.Errorf("core: %d sparse columns but %d distances", len(r.Indices), len(r.Data))
	}
	if r.Indptr[0] != 0 || r.Indptr[len(r.Indptr)-1] != int64(len(r.Data)) {
		return fmt.Errorf("core: sparse row pointers run from %d to %d, not 0 to %d",
			r.Indptr[0], r.Indptr[len(r.Indptr)-1], len(r.Data))
	}
	for i := 1; i < len(r.Indptr); i++ {
		if r.Indptr[i] < r.Indptr[i-1] {
			return fmt.Errorf("core: sparse row pointers decrease at row %d", i-1)
		}
	}
	return nil
}

// row calls fn(col, d) for each distance of row i, columns ascending for
// dense rows and in stored order for sparse ones, skipping the left-out
// column. It returns an error for a value that is not a distance or a
// column out of range.
func (r DistanceRows[T]) row(i int, fn func(col int32, d float64)) error {
	skip := -1
	if r.Self >= 0 {
		skip = r.Self + i
	}
	if r.Dense != nil || r.Indptr == nil {
		vals := r.Dense[i*r.Cols : (i+1)*r.Cols]
		for j, v := range vals {
			d := float64(v)
			if !(d >= 0) {
				return fmt.Errorf("core: distance %v in row %d, column %d: distances must be >= 0", d, i, j)
			}
			if j != skip {
				fn(int32(j), d)
			}
		}
		return nil
	}
	lo, hi := r.Indptr[i], r.Indptr[i+1]
	for e := lo; e < hi; e++ {
		j, d := r.Indices[e], float64(r.Data[e])
		if j < 0 || j >= int64(r.Cols) {
			return fmt.Errorf("core: column %d in row %d: the fitted points are 0..%d", j, i, r.Cols-1)
		}
		if !(d >= 0) {
			return fmt.Errorf("core: distance %v in row %d, column %d: distances must be >= 0", d, i, j)
		}
		if int(j) != skip {
			fn(int32(j), d)
		}
	}
	return nil
}

// forRowsBlock is the most rows forRows scans between two looks at the
// stop request.
const forRowsBlock = 32

// forRows calls scan(w, lo, hi) over blocks of the n rows on jobs
// goroutines (w numbers the goroutine, as forRange does), counting the rows
// on mon and stopping when mon asks. It returns the error of a failed
// block, or ErrStopped.
func forRows(n, jobs int, mon *Monitor, scan func(w, lo, hi int) error) error {
	errs := make([]error, workers(jobs))
	forRange(n, jobs, func(w, lo, hi int) {
		// forRange gives one worker the whole range: check the stop
		// request between blocks of forRowsBlock rows all the same.
		for b := lo; b < hi; b += forRowsBlock {
			if errs[w] != nil {
				return
			}
			if mon.stopped() {
				errs[w] = ErrStopped
				return
			}
			e := min(b+forRowsBlock, hi)
			if errs[w] = scan(w, b, e); errs[w] == nil {
				mon.add(e - b)
			}
		}
	})
	for _, err := range errs {
		if err != nil && err != ErrStopped {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ShortRowError is returned by PrecomputedKNearest when rows hold fewer
// candidates than the neighbours asked for (sparse rows, whose missing
// columns are not neighbours, or rows shorter than k).
type ShortRowError struct {
	K      int // neighbours asked for
	Row    int // the first short row
	Fewest int // the fewest candidates of any row
}

func (e *ShortRowError) Error() string {
	return fmt.Sprintf("core: %d neighbors per row are required, but some rows have only %d (the first is row %d)",
		e.K, e.Fewest, e.Row)
}

// PrecomputedKNearest writes the k nearest columns of each row, nearest
// first and ties by column, into ind[i*k:(i+1)*k] and their distances into
// dist, on jobs goroutines. If a row has fewer than k candidates it
// returns a *ShortRowError (after scanning every row, so that Fewest is
// the minimum over all of them); what it wrote is then undefined. Stopped
// through mon it returns ErrStopped.
func PrecomputedKNearest[T Float](rows DistanceRows[T], k, jobs int, mon *Monitor, dist []T, ind []int64) (err error) {
	defer catch(&err)
	if err := rows.check(); err != nil {
		return err
	}
	n := rows.Len()
	if k < 1 {
		return fmt.Errorf("core: k = %d: at least 1 neighbour must be asked for", k)
	}
	if len(dist) != n*k || len(ind) != n*k {
		return fmt.Errorf("core: %d rows of %d neighbours need %d slots, got %d and %d", n, k, n*k, len(dist), len(ind))
	}
	type scratch struct {
		h      topK
		d      []float64
		id     []int32
		first  int // first short row, or -1
		fewest int
	}
	ws := make([]scratch, workers(jobs))
	for w := range ws {
		ws[w].first, ws[w].fewest = -1, k
	}
	err = forRows(n, jobs, mon, func(w, lo, hi int) error {
		s := &ws[w]
		if s.d == nil {
			s.d, s.id = make([]float64, k), make([]int32, k)
		}
		for i := lo; i < hi; i++ {
			s.h.reset(k)
			if err := rows.row(i, func(col int32, d float64) { s.h.offer(d, col) }); err != nil {
				return err
			}
			got := s.h.drain(s.d, s.id)
			if got < k {
				if s.first < 0 || i < s.first {
					s.first = i
				}
				s.fewest = min(s.fewest, got)
				continue
			}
			for j := range k {
				dist[i*k+j] = T(s.d[j])
				ind[i*k+j] = int64(s.id[j])
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	short := ShortRowError{K: k, Row: -1, Fewest: k}
	for _, s := range ws {
		if s.first >= 0 && (short.Row < 0 || s.first < short.Row) {
			short.Row = s.first
		}
		short.Fewest = min(short.Fewest, s.fewest)
	}
	if short.Row >= 0 {
		return &short
	}
	return nil
}

// radiusOf returns the radius of row i: radii[i], or radii[0] for all rows
// when there is one.
func radiusOf(radii []float64, i int) float64 {
	if len(radii) == 1 {
		return radii[0]
	}
	return radii[i]
}

func checkRadii(radii []float64, n int) error {
	if len(radii) != 1 && len(radii) != n {
		return fmt.Errorf("core: %d radii for %d rows: give one, or one per row", len(radii), n)
	}
	for i, r := range radii {
		if !(r >= 0) {
			return fmt.Errorf("core: radius %v (entry %d) must be >= 0", r, i)
		}
	}
	return nil
}

// checkRadiusArgs checks the rows, radii and counts of a radius call over
// distance rows, and returns the number of rows.
func checkRadiusArgs[T Float](rows DistanceRows[T], radii []float64, counts []int64) (int, error) {
	if err := rows.check(); err != nil {
		return 0, err
	}
	n := rows.Len()
	if err := checkRadii(radii, n); err != nil {
		return 0, err
	}
	if len(counts) != n {
		return 0, fmt.Errorf("core: %d counts for %d rows", len(counts), n)
	}
	return n, nil
}

// PrecomputedRadiusCount writes into counts[i] the number of columns of
// row i within distance radii[i] (d <= r; one radius for all rows when
// radii has one entry), on jobs goroutines.
func PrecomputedRadiusCount[T Float](rows DistanceRows[T], radii []float64, jobs int, mon *Monitor, counts []int64) (err error) {
	defer catch(&err)
	n, err := checkRadiusArgs(rows, radii, counts)
	if err != nil {
		return err
	}
	return forRows(n, jobs, mon, func(_, lo, hi int) error {
		for i := lo; i < hi; i++ {
			r := radiusOf(radii, i)
			var c int64
			if err := rows.row(i, func(_ int32, d float64) {
				if d <= r {
					c++
				}
			}); err != nil {
				return err
			}
			counts[i] = c
		}
		return nil
	})
}

// PrecomputedRadius writes the columns of each row within its radius (as
// PrecomputedRadiusCount counts them, whose counts it takes) into ind and
// their distances into dist: row i's at offset counts[0]+...+counts[i-1],
// ordered by (distance, column) when sorted is true, else by column. It
// returns an error if a row's answers do not match its count.
func PrecomputedRadius[T Float](rows DistanceRows[T], radii []float64, sorted bool, jobs int, mon *Monitor, counts []int64, dist []T, ind []int64) (err error) {
	defer catch(&err)
	n, err := checkRadiusArgs(rows, radii, counts)
	if err != nil {
		return err
	}
	offsets := make([]int64, n+1)
	for i, c := range counts {
		if c < 0 {
			return fmt.Errorf("core: count %d of row %d is negative", c, i)
		}
		offsets[i+1] = offsets[i] + c
	}
	if int64(len(dist)) != offsets[n] || int64(len(ind)) != offsets[n] {
		return fmt.Errorf("core: %d answers need as many slots, got %d and %d", offsets[n], len(dist), len(ind))
	}
	ws := make([][]entry, workers(jobs))
	return forRows(n, jobs, mon, func(w, lo, hi int) error {
		for i := lo; i < hi; i++ {
			r := radiusOf(radii, i)
			es := ws[w][:0]
			if err := rows.row(i, func(col int32, d float64) {
				if d <= r {
					es = append(es, entry{d: d, id: col})
				}
			}); err != nil {
				return err
			}
			ws[w] = es
			if int64(len(es)) != counts[i] {
				return fmt.Errorf("core: row %d has %d answers within %v, but its count is %d", i, len(es), r, counts[i])
			}
			if sorted {
				slices.SortFunc(es, func(a, b entry) int {
					switch {
					case less(a.d, a.id, b.d, b.id):
						return -1
					case less(b.d, b.id, a.d, a.id):
						return 1
					}
					return 0
				})
			} else if rows.Dense == nil && rows.Indptr != nil {
				slices.SortFunc(es, func(a, b entry) int { return int(a.id) - int(b.id) })
			}
			at := offsets[i]
			for j, e := range es {
				dist[at+int64(j)] = T(e.d)
				ind[at+int64(j)] = int64(e.id)
			}
		}
		return nil
	})
}
