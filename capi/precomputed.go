package main

/*
#include <stdint.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/pcct-dev/pcct/core"
)

// rowsArgs describes the caller's distance rows (scikit-learn's
// metric="precomputed"): nrows rows of distances to ncols fitted points,
// of dtype (0: float32, 1: float64). Dense rows: dense points at
// nrows*ncols values, row-major. Sparse rows (dense NULL): CSR arrays
// indptr (nrows+1 int64), indices (nnz int64) and data (nnz values).
// self >= 0 leaves column self+i out of row i; -1 leaves nothing out.
type rowsArgs struct {
	dtype             C.int32_t
	dense, data       unsafe.Pointer
	indptr, indices   *C.int64_t
	nrows, ncols, nnz C.int64_t
	self              C.int64_t
}

// distanceRows views the caller's buffers as core.DistanceRows.
func distanceRows[T core.Float](a rowsArgs) (core.DistanceRows[T], error) {
	r := core.DistanceRows[T]{Cols: int(a.ncols), Self: int(a.self)}
	if a.nrows < 0 || a.ncols < 0 || a.self < -1 {
		return r, argErrorf("pcct: invalid precomputed shape (%d, %d) or self %d", a.nrows, a.ncols, a.self)
	}
	var err error
	if a.dense != nil {
		if a.ncols > 0 && a.nrows > (maxBytes/8)/a.ncols {
			return r, argErrorf("pcct: precomputed shape (%d, %d) is too large", a.nrows, a.ncols)
		}
		r.Dense, err = slice[T](a.dense, int64(a.nrows*a.ncols))
		return r, err
	}
	if a.nrows == 0 && a.ncols == 0 {
		return r, nil
	}
	if r.Indptr, err = slice[int64](unsafe.Pointer(a.indptr), int64(a.nrows)+1); err != nil {
		return r, err
	}
	if r.Indices, err = slice[int64](unsafe.Pointer(a.indices), int64(a.nnz)); err != nil {
		return r, err
	}
	r.Data, err = slice[T](a.data, int64(a.nnz))
	return r, err
}

// precomputedError converts a core error about precomputed rows into an
// argument error; a short row gets scikit-learn's wording.
func precomputedError(err error, self C.int64_t) error {
	if err == nil || errors.Is(err, core.ErrStopped) {
		return err
	}
	var short *core.ShortRowError
	if errors.As(err, &short) {
		msg := fmt.Sprintf("%d neighbors per samples are required, but some samples have only %d "+
			"neighbors in precomputed graph matrix. Decrease number of neighbors used or recompute "+
			"the graph with more neighbors.", short.K, short.Fewest)
		if self >= 0 {
			msg += " (Without query points, a sample is not its own neighbor: its diagonal entry does not count.)"
		}
		return argError{errors.New(msg)}
	}
	if strings.HasPrefix(err.Error(), "core: internal error") {
		return err // a recovered panic: a bug, not the caller's
	}
	return argError{err}
}

// withRows runs fn on the caller's rows in the dtype they have.
func withRows(a rowsArgs, f32 func(core.DistanceRows[float32]) error, f64 func(core.DistanceRows[float64]) error) error {
	switch a.dtype {
	case dtypeFloat32:
		r, err := distanceRows[float32](a)
		if err != nil {
			return err
		}
		return precomputedError(f32(r), a.self)
	case dtypeFloat64:
		r, err := distanceRows[float64](a)
		if err != nil {
			return err
		}
		return precomputedError(f64(r), a.self)
	}
	return argErrorf("pcct: unknown dtype code %d", a.dtype)
}

// pcct_precomputed_kneighbors writes the k nearest columns of each of the
// caller's distance rows (see rowsArgs), nearest first and ties by column,
// into ind (nrows*k int64) and their distances into dist (nrows*k values
// of the rows' dtype), on jobs goroutines. A row with fewer than k
// candidates fails the call with an argument error.
//
//export pcct_precomputed_kneighbors
func pcct_precomputed_kneighbors(dtype C.int32_t, dense unsafe.Pointer, indptr, indices *C.int64_t, data unsafe.Pointer, nrows, ncols, nnz, self, k C.int64_t, jobs C.int32_t, control *C.int64_t, dist unsafe.Pointer, ind *C.int64_t) C.int64_t {
	return guard(func() error {
		a := rowsArgs{dtype: dtype, dense: dense, data: data, indptr: indptr, indices: indices, nrows: nrows, ncols: ncols, nnz: nnz, self: self}
		if k < 1 || (nrows > 0 && k > (maxBytes/8)/nrows) {
			return argErrorf("pcct: invalid number of neighbours %d", k)
		}
		is, err := slice[int64](unsafe.Pointer(ind), int64(nrows*k))
		if err != nil {
			return err
		}
		return withRows(a, func(r core.DistanceRows[float32]) error {
			ds, err := slice[float32](dist, int64(nrows*k))
			if err != nil {
				return err
			}
			return core.PrecomputedKNearest(r, int(k), int(jobs), monitor(control), ds, is)
		}, func(r core.DistanceRows[float64]) error {
			ds, err := slice[float64](dist, int64(nrows*k))
			if err != nil {
				return err
			}
			return core.PrecomputedKNearest(r, int(k), int(jobs), monitor(control), ds, is)
		})
	})
}

// pcct_precomputed_radius_count writes into counts (nrows int64) the
// number of columns of each of the caller's distance rows (see rowsArgs)
// within its radius: radii holds nradii doubles, one for all rows or one
// per row.
//
//export pcct_precomputed_radius_count
func pcct_precomputed_radius_count(dtype C.int32_t, dense unsafe.Pointer, indptr, indices *C.int64_t, data unsafe.Pointer, nrows, ncols, nnz, self C.int64_t, radii *C.double, nradii C.int64_t, jobs C.int32_t, control *C.int64_t, counts *C.int64_t) C.int64_t {
	return guard(func() error {
		a := rowsArgs{dtype: dtype, dense: dense, data: data, indptr: indptr, indices: indices, nrows: nrows, ncols: ncols, nnz: nnz, self: self}
		rs, err := slice[float64](unsafe.Pointer(radii), int64(nradii))
		if err != nil {
			return err
		}
		cs, err := slice[int64](unsafe.Pointer(counts), int64(nrows))
		if err != nil {
			return err
		}
		return withRows(a, func(r core.DistanceRows[float32]) error {
			return core.PrecomputedRadiusCount(r, rs, int(jobs), monitor(control), cs)
		}, func(r core.DistanceRows[float64]) error {
			return core.PrecomputedRadiusCount(r, rs, int(jobs), monitor(control), cs)
		})
	})
}

// pcct_precomputed_radius writes the answers that
// pcct_precomputed_radius_count counted (its counts, total in all) into
// ind (total int64) and dist (total values of the rows' dtype), row after
// row, each row's by (distance, column) when sorted is not 0, else by
// column.
//
//export pcct_precomputed_radius
func pcct_precomputed_radius(dtype C.int32_t, dense unsafe.Pointer, indptr, indices *C.int64_t, data unsafe.Pointer, nrows, ncols, nnz, self C.int64_t, radii *C.double, nradii C.int64_t, sorted, jobs C.int32_t, control *C.int64_t, counts *C.int64_t, total C.int64_t, dist unsafe.Pointer, ind *C.int64_t) C.int64_t {
	return guard(func() error {
		a := rowsArgs{dtype: dtype, dense: dense, data: data, indptr: indptr, indices: indices, nrows: nrows, ncols: ncols, nnz: nnz, self: self}
		rs, err := slice[float64](unsafe.Pointer(radii), int64(nradii))
		if err != nil {
			return err
		}
		cs, err := slice[int64](unsafe.Pointer(counts), int64(nrows))
		if err != nil {
			return err
		}
		is, err := slice[int64](unsafe.Pointer(ind), int64(total))
		if err != nil {
			return err
		}
		return withRows(a, func(r core.DistanceRows[float32]) error {
			ds, err := slice[float32](dist, int64(total))
			if err != nil {
				return err
			}
			return core.PrecomputedRadius(r, rs, sorted != 0, int(jobs), monitor(control), cs, ds, is)
		}, func(r core.DistanceRows[float64]) error {
			ds, err := slice[float64](dist, int64(total))
			if err != nil {
				return err
			}
			return core.PrecomputedRadius(r, rs, sorted != 0, int(jobs), monitor(control), cs, ds, is)
		})
	})
}
