package core

import (
	"errors"
	"fmt"
	"math"
)

// Options configures how a Tree is built.
type Options struct {
	// Metric is the distance function; the zero value is Euclidean.
	Metric Metric
	// Seed fixes the random insertion order (the grids' offsets, for the
	// grid construction), so the same data and seed give the same tree.
	Seed uint64
	// Base is the level base b: a child is within b^(l+1) of its parent and
	// nodes at levels >= i are more than b^i apart. Zero means DefaultBase
	// (2, as in the papers); values in (1, 2) give more levels with fewer
	// children each.
	Base float64
	// Jobs is the number of goroutines a build or update uses; values below
	// 1 mean 1 and values above GOMAXPROCS mean GOMAXPROCS. The tree does
	// not depend on it.
	Jobs int
	// Monitor, if not nil, counts the points inserted and can stop the
	// build, which then returns ErrStopped.
	Monitor *Monitor
	// MaxEvals, if positive, bounds the distance evaluations Build may
	// spend: past it Build gives up and returns ErrCostly. On data a cover
	// tree cannot prune (uniform points in 32 dimensions, say) the build
	// costs about n^2/2 evaluations, and so would every query; a caller
	// that can answer otherwise (by brute force) sets a budget of a few
	// hundred times n log n and falls back when it is exceeded.
	MaxEvals int64
	// Engine, if not nil, computes Build's large distance batches (a new
	// node against a large cell's points, in the first levels), on a GPU
	// for instance; the grid construction of one to three dimensions has
	// none and does not use it. Build uses its distances only to decide with the
	// engine's error bound and measures every undecided pair on the CPU,
	// so the tree does not depend on it. Insert and Delete measure no
	// batch large enough to need one.
	Engine Engine

	engineMin    int     // tests: the fewest points sent to the engine (0: netEngineMin)
	listCap      int     // tests: the friend-list entries a build may hold (0: netListCap per point)
	batched      *int    // tests: set to the points a build inserted in batches past listCap
	netOnly      bool    // tests: build level by level even where the grid construction applies
	noProjection bool    // tests: no projection screen in the batch construction (buildproj.go)
	parallelMin  int     // tests: the fewest points the batch construction measures in parallel (0: batchParallelMin)
	scalarCloser bool    // tests: the batch construction's closer pass measures one distance at a time (closest)
	built        *string // tests: set to the construction Build used ("grid" or "levels")
	sample       int     // tests: the rows the grid construction's first grid is narrowed from (0: gridSample)
}

// ErrCostly is returned by Build when it exceeds Options.MaxEvals.
var ErrCostly = errors.New("core: the build exceeded its budget of distance evaluations: the data leave a cover tree little to prune")

func (o Options) jobs() int { return workers(o.Jobs) }

func (o Options) base() (float64, error) {
	switch {
	case o.Base == 0:
		return DefaultBase, nil
	case o.Base > 1 && o.Base <= 16:
		return o.Base, nil
	}
	return 0, fmt.Errorf("core: level base must be in (1, 16], got %v", o.Base)
}

// check validates a build's points and options, returning the number of
// points and the level scale.
func (o Options) check(data any, dim int) (int, scale, error) {
	var n int
	var err error
	switch d := data.(type) {
	case []float32:
		n, err = checkPoints(d, dim)
	case []float64:
		n, err = checkPoints(d, dim)
	}
	if err != nil {
		return 0, scale{}, err
	}
	if err := o.Metric.Validate(); err != nil {
		return 0, scale{}, err
	}
	if err := checkDim(o.Metric, dim); err != nil {
		return 0, scale{}, err
	}
	base, err := o.base()
	if err != nil {
		return 0, scale{}, err
	}
	if n > math.MaxInt32-1 {
		return 0, scale{}, fmt.Errorf("core: %d points exceed the limit of %d", n, math.MaxInt32-1)
	}
	return n, newScale(base), nil
}

// checkPoints validates a row-major point set and returns its row count.
func checkPoints[T Float](data []T, dim int) (int, error) {
	if dim < 1 {
		return 0, fmt.Errorf("core: dimension must be >= 1, got %d", dim)
	}
	if len(data) == 0 {
		return 0, errors.New("core: no points")
	}
	if len(data)%dim != 0 {
		return 0, fmt.Errorf("core: %d values do not make rows of dimension %d", len(data), dim)
	}
	if !allFinite(data) {
		for i, v := range data {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, fmt.Errorf("core: point %d has a non-finite coordinate %v at column %d", i/dim, f, i%dim)
			}
		}
	}
	return len(data) / dim, nil
}

// allFinite reports whether every value of data is finite: 0 * v is 0 for a
// finite v and NaN for an infinite or NaN one, and a sum of those is NaN
// if one is. Four sums run side by side and no value needs a branch.
func allFinite[T Float](data []T) bool {
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(data); i += 4 {
		x := data[i : i+4 : i+4]
		s0 += x[0] * 0
		s1 += x[1] * 0
		s2 += x[2] * 0
		s3 += x[3] * 0
	}
	for ; i < len(data); i++ {
		s0 += data[i] * 0
	}
	return s0+s1+s2+s3 == 0
}

// newTree returns an empty tree.
func newTree[T Float](dim int, m Metric, sc scale, seed uint64) *Tree[T] {
	m = m.Canonical()
	return &Tree[T]{
		s:      newStore[T](dim),
		root:   -1,
		metric: m,
		dist:   fastKernel[T](m, dim),
		scale:  sc,
		seed:   seed,
	}
}
