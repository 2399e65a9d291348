package main

/*
#include <stdint.h>
*/
import "C"

import (
	"errors"
	"runtime/cgo"
	"strings"
	"unsafe"

	"github.com/pcct-dev/pcct/core"
)

// A sparse handle holds a core.SparseIndex of either dtype: a cover tree
// or a brute-force index over sparse (CSR) rows. Its exports take the rows
// as three buffers: indptr (nrows+1 int64), indices (nnz int32) and data
// (nnz values of the dtype), with ncols columns. Radius results and
// encodings are the same result handles as a tree's (pcct_radius_fill,
// pcct_bytes_fill, pcct_result_free).

// sparseIndex is what a sparse handle holds; one field is set.
type sparseIndex struct {
	s32 *core.SparseIndex[float32]
	s64 *core.SparseIndex[float64]
}

// csrArgs describes the caller's sparse rows.
type csrArgs struct {
	indptr            *C.int64_t
	indices           *C.int32_t
	data              unsafe.Pointer
	nrows, ncols, nnz C.int64_t
	ids               *C.int64_t // fitted points by caller index, when indptr is NULL
	first, count      C.int64_t  // fitted points first.., when indptr and ids are NULL
	jobs, strategy    C.int32_t
	control           *C.int64_t
	radii             *C.double // one radius (nradii 1) or one per query
	nradii, limit     C.int64_t
}

// rows views the caller's buffers as core.SparseRows.
func sparseRows[T core.Float](a csrArgs) (core.SparseRows[T], error) {
	r := core.SparseRows[T]{Cols: int(a.ncols)}
	if a.nrows < 0 || a.ncols < 1 || a.nnz < 0 || a.ncols > 1<<31-1 {
		return r, argErrorf("pcct: invalid sparse shape (%d, %d) with %d values", a.nrows, a.ncols, a.nnz)
	}
	var err error
	if r.Indptr, err = slice[int64](unsafe.Pointer(a.indptr), int64(a.nrows)+1); err != nil {
		return r, err
	}
	if r.Indices, err = slice[int32](unsafe.Pointer(a.indices), int64(a.nnz)); err != nil {
		return r, err
	}
	r.Data, err = slice[T](a.data, int64(a.nnz))
	return r, err
}

// sparseBatch returns the batch the arguments describe: the caller's rows
// (indptr not NULL), the fitted points of ids, or those first..first+count-1.
func sparseBatch[T core.Float](a csrArgs) (core.SparseBatch[T], int, error) {
	b := core.SparseBatch[T]{Jobs: int(a.jobs), Strategy: core.Strategy(a.strategy), Monitor: monitor(a.control),
		MaxAnswers: int64(a.limit)}
	var nq int
	switch {
	case a.indptr != nil:
		r, err := sparseRows[T](a)
		if err != nil {
			return b, 0, err
		}
		b.Rows, nq = &r, r.Len()
	case a.ids != nil:
		ids, err := slice[int64](unsafe.Pointer(a.ids), int64(a.count))
		if err != nil {
			return b, 0, err
		}
		b.IDs, nq = ids, len(ids)
	default:
		if a.first < 0 || a.count < 0 {
			return b, 0, argErrorf("pcct: invalid fitted range %d, %d", a.first, a.count)
		}
		b.First, b.Count, nq = int(a.first), int(a.count), int(a.count)
	}
	if a.radii != nil && a.nradii > 0 {
		rs, err := slice[float64](unsafe.Pointer(a.radii), int64(a.nradii))
		if err != nil {
			return b, 0, err
		}
		if a.nradii > 1 {
			b.Radii = rs
		}
	}
	return b, nq, nil
}

// radius returns the one radius of the arguments (when not per query).
func (a csrArgs) radius() float64 {
	if a.radii == nil || a.nradii < 1 {
		return 0
	}
	return float64(*a.radii)
}

func sparseOf(h C.uintptr_t) (*sparseIndex, error) {
	if h == 0 {
		return nil, argErrorf("pcct: null sparse index handle")
	}
	v, err := handleValue(h)
	if err != nil {
		return nil, err
	}
	s, ok := v.(*sparseIndex)
	if !ok {
		return nil, argErrorf("pcct: handle %d is not a sparse index", uintptr(h))
	}
	return s, nil
}

// coreArg marks a core error as the caller's (a ValueError), but for a
// recovered panic and a stop.
func coreArg(err error) error {
	if err == nil || errors.Is(err, core.ErrStopped) || errors.Is(err, core.ErrTooManyAnswers) {
		return err
	}
	if strings.HasPrefix(err.Error(), "core: internal error") {
		return err // a recovered panic: a bug, not the caller's
	}
	return argError{err}
}

// pcct_sparse_build builds an index over the caller's sparse rows (see
// csrArgs) of dtype, under metric (euclidean, manhattan or cosine codes;
// minkowski with p 1 or 2), as algorithm says (0 auto, 1 cover tree, 2
// brute force), and stores its handle in *out. choice, if not NULL,
// receives what pcct_index_build's does.
//
//export pcct_sparse_build
func pcct_sparse_build(dtype C.int32_t, indptr *C.int64_t, indices *C.int32_t, data unsafe.Pointer, nrows, ncols, nnz C.int64_t, metric C.int32_t, p C.double, seed C.uint64_t, jobs, algorithm C.int32_t, control *C.int64_t, out *C.uintptr_t, choice *C.double) C.int64_t {
	return guard(func() error {
		if out == nil {
			return argErrorf("pcct: null output handle")
		}
		m, err := metricOf(metric, p)
		if err != nil {
			return err
		}
		since := heapAllocs()
		a := csrArgs{indptr: indptr, indices: indices, data: data, nrows: nrows, ncols: ncols, nnz: nnz}
		opts := core.Options{Metric: m, Seed: uint64(seed), Jobs: int(jobs), Monitor: monitor(control)}
		algo := core.Algorithm(algorithm)
		s := &sparseIndex{}
		var c core.Choice
		switch dtype {
		case dtypeFloat32:
			r, err := sparseRows[float32](a)
			if err != nil {
				return err
			}
			s.s32, c, err = core.BuildSparse(r, algo, opts)
			if err != nil {
				return coreArg(err)
			}
		case dtypeFloat64:
			r, err := sparseRows[float64](a)
			if err != nil {
				return err
			}
			s.s64, c, err = core.BuildSparse(r, algo, opts)
			if err != nil {
				return coreArg(err)
			}
		default:
			return argErrorf("pcct: unknown dtype code %d", dtype)
		}
		writeChoice(choice, c)
		*out = C.uintptr_t(cgo.NewHandle(s))
		releaseAllocated(since)
		return nil
	})
}

// Fields written by pcct_sparse_info, in order.
const (
	sparseInfoPoints = iota
	sparseInfoCols
	sparseInfoDtype
	sparseInfoIDs
	sparseInfoAlgorithm
	sparseInfoMetric
	sparseInfoBuildEvals
	sparseInfoQueryEvals
	sparseInfoCount
)

// pcct_sparse_info writes up to n of the sparse index's figures into out
// (points, columns, dtype, ids issued, algorithm, metric kind, build and
// query distance evaluations) and the number written into *written.
//
//export pcct_sparse_info
func pcct_sparse_info(h C.uintptr_t, out *C.int64_t, n C.int64_t, written *C.int64_t) C.int64_t {
	return guard(func() error {
		s, err := sparseOf(h)
		if err != nil {
			return err
		}
		var v [sparseInfoCount]int64
		fill := func(n, cols, ids int, a core.Algorithm, m core.Metric, be, qe int64) {
			v = [sparseInfoCount]int64{int64(n), int64(cols), 0, int64(ids), int64(a), int64(m.Kind), be, qe}
		}
		if s.s32 != nil {
			be, qe := s.s32.DistanceEvals()
			fill(s.s32.Len(), s.s32.Cols(), s.s32.IDs(), s.s32.Algorithm(), s.s32.Metric(), be, qe)
			v[sparseInfoDtype] = dtypeFloat32
		} else {
			be, qe := s.s64.DistanceEvals()
			fill(s.s64.Len(), s.s64.Cols(), s.s64.IDs(), s.s64.Algorithm(), s.s64.Metric(), be, qe)
			v[sparseInfoDtype] = dtypeFloat64
		}
		k := min(int(n), sparseInfoCount)
		if k > 0 {
			dst, err := slice[int64](unsafe.Pointer(out), int64(k))
			if err != nil {
				return err
			}
			copy(dst, v[:k])
		}
		if written != nil {
			*written = C.int64_t(k)
		}
		return nil
	})
}

// pcct_sparse_live_ids writes the live caller indices, ascending, into out
// (room for n) and their number into *written.
//
//export pcct_sparse_live_ids
func pcct_sparse_live_ids(h C.uintptr_t, out *C.int64_t, n C.int64_t, written *C.int64_t) C.int64_t {
	return guard(func() error {
		s, err := sparseOf(h)
		if err != nil {
			return err
		}
		var ids []int64
		if s.s32 != nil {
			ids = s.s32.LiveIDs(nil)
		} else {
			ids = s.s64.LiveIDs(nil)
		}
		k := min(int(n), len(ids))
		if k > 0 {
			dst, err := slice[int64](unsafe.Pointer(out), int64(k))
			if err != nil {
				return err
			}
			copy(dst, ids[:k])
		}
		if written != nil {
			*written = C.int64_t(len(ids))
		}
		return nil
	})
}

// pcct_sparse_free releases a sparse index handle. Freeing 0 is a no-op.
//
//export pcct_sparse_free
func pcct_sparse_free(h C.uintptr_t) C.int64_t {
	return guard(func() error {
		if h == 0 {
			return nil
		}
		if _, err := sparseOf(h); err != nil {
			return err
		}
		cgo.Handle(h).Delete()
		return nil
	})
}

// pcct_sparse_insert stores in *out a new version of the index holding its
// points and the caller's rows, with the caller indices *first onwards.
//
//export pcct_sparse_insert
func pcct_sparse_insert(h C.uintptr_t, indptr *C.int64_t, indices *C.int32_t, data unsafe.Pointer, nrows, ncols, nnz C.int64_t, jobs C.int32_t, control *C.int64_t, out *C.uintptr_t, first *C.int64_t) C.int64_t {
	return guard(func() error {
		if out == nil || first == nil {
			return argErrorf("pcct: null output")
		}
		s, err := sparseOf(h)
		if err != nil {
			return err
		}
		a := csrArgs{indptr: indptr, indices: indices, data: data, nrows: nrows, ncols: ncols, nnz: nnz}
		opts := core.UpdateOptions{Jobs: int(jobs), Monitor: monitor(control)}
		ns := &sparseIndex{}
		var f int
		if s.s32 != nil {
			r, err := sparseRows[float32](a)
			if err != nil {
				return err
			}
			if ns.s32, f, err = s.s32.Insert(r, opts); err != nil {
				return coreArg(err)
			}
		} else {
			r, err := sparseRows[float64](a)
			if err != nil {
				return err
			}
			if ns.s64, f, err = s.s64.Insert(r, opts); err != nil {
				return coreArg(err)
			}
		}
		*first = C.int64_t(f)
		*out = C.uintptr_t(cgo.NewHandle(ns))
		return nil
	})
}

// pcct_sparse_delete stores in *out a new version of the index without the
// points of the n caller indices ids.
//
//export pcct_sparse_delete
func pcct_sparse_delete(h C.uintptr_t, ids *C.int64_t, n C.int64_t, jobs C.int32_t, control *C.int64_t, out *C.uintptr_t) C.int64_t {
	return guard(func() error {
		if out == nil {
			return argErrorf("pcct: null output")
		}
		s, err := sparseOf(h)
		if err != nil {
			return err
		}
		is, err := slice[int64](unsafe.Pointer(ids), int64(n))
		if err != nil {
			return err
		}
		opts := core.UpdateOptions{Jobs: int(jobs), Monitor: monitor(control)}
		ns := &sparseIndex{}
		if s.s32 != nil {
			ns.s32, err = s.s32.Delete(is, opts)
		} else {
			ns.s64, err = s.s64.Delete(is, opts)
		}
		if err != nil {
			return coreArg(err)
		}
		*out = C.uintptr_t(cgo.NewHandle(ns))
		return nil
	})
}

// pcct_sparse_kneighbors writes the k nearest neighbours of each query
// (the caller's rows when indptr is not NULL, else the fitted points of
// ids, or first..first+count-1 when ids is NULL, each left out of its own
// answer) into ind and dist (count*k values; count is nrows for rows),
// nearest first, ties by caller index; a cover tree searches with
// strategy (core.Strategy).
//
//export pcct_sparse_kneighbors
func pcct_sparse_kneighbors(h C.uintptr_t, indptr *C.int64_t, indices *C.int32_t, data unsafe.Pointer, nrows, ncols, nnz C.int64_t, ids *C.int64_t, first, count, k C.int64_t, jobs, strategy C.int32_t, control *C.int64_t, dist unsafe.Pointer, ind *C.int64_t) C.int64_t {
	return guard(func() error {
		s, err := sparseOf(h)
		if err != nil {
			return err
		}
		a := csrArgs{indptr: indptr, indices: indices, data: data, nrows: nrows, ncols: ncols, nnz: nnz,
			ids: ids, first: first, count: count, jobs: jobs, strategy: strategy, control: control}
		if s.s32 != nil {
			return sparseKNN(s.s32, a, k, dist, ind)
		}
		return sparseKNN(s.s64, a, k, dist, ind)
	})
}

func sparseKNN[T core.Float](x *core.SparseIndex[T], a csrArgs, k C.int64_t, dist unsafe.Pointer, ind *C.int64_t) error {
	b, nq, err := sparseBatch[T](a)
	if err != nil {
		return err
	}
	if k < 1 || (nq > 0 && int64(k) > (maxBytes/8)/int64(nq)) {
		return argErrorf("pcct: invalid number of neighbours %d", k)
	}
	ds, err := slice[T](dist, int64(nq)*int64(k))
	if err != nil {
		return err
	}
	is, err := slice[int64](unsafe.Pointer(ind), int64(nq)*int64(k))
	if err != nil {
		return err
	}
	return coreArg(x.KNearestBatch(b, int(k), ds, is))
}

// pcct_sparse_radius_count writes into counts the number of fitted points
// within the radius of each query (queries as pcct_sparse_kneighbors
// takes them): radii holds nradii doubles, one for all queries or one per
// query.
//
//export pcct_sparse_radius_count
func pcct_sparse_radius_count(h C.uintptr_t, indptr *C.int64_t, indices *C.int32_t, data unsafe.Pointer, nrows, ncols, nnz C.int64_t, ids *C.int64_t, first, count C.int64_t, radii *C.double, nradii C.int64_t, jobs C.int32_t, control *C.int64_t, counts *C.int64_t) C.int64_t {
	return guard(func() error {
		s, err := sparseOf(h)
		if err != nil {
			return err
		}
		a := csrArgs{indptr: indptr, indices: indices, data: data, nrows: nrows, ncols: ncols, nnz: nnz,
			ids: ids, first: first, count: count, jobs: jobs, control: control, radii: radii, nradii: nradii}
		if s.s32 != nil {
			return sparseCount(s.s32, a, counts)
		}
		return sparseCount(s.s64, a, counts)
	})
}

func sparseCount[T core.Float](x *core.SparseIndex[T], a csrArgs, counts *C.int64_t) error {
	b, nq, err := sparseBatch[T](a)
	if err != nil {
		return err
	}
	cs, err := slice[int64](unsafe.Pointer(counts), int64(nq))
	if err != nil {
		return err
	}
	return coreArg(x.CountWithinBatch(b, a.radius(), cs))
}

// pcct_sparse_radius finds the fitted points within the radius of each
// query (as pcct_sparse_radius_count), sorted by (distance, index) when
// sorted != 0, else by index; it writes the counts, the total and a result
// handle for pcct_radius_fill. A positive limit bounds the answers held,
// as pcct_radius's does.
//
//export pcct_sparse_radius
func pcct_sparse_radius(h C.uintptr_t, indptr *C.int64_t, indices *C.int32_t, data unsafe.Pointer, nrows, ncols, nnz C.int64_t, ids *C.int64_t, first, count C.int64_t, radii *C.double, nradii C.int64_t, sorted, jobs C.int32_t, control *C.int64_t, limit C.int64_t, counts *C.int64_t, result *C.uintptr_t, total *C.int64_t) C.int64_t {
	return guard(func() error {
		if result == nil || total == nil {
			return argErrorf("pcct: null output")
		}
		s, err := sparseOf(h)
		if err != nil {
			return err
		}
		a := csrArgs{indptr: indptr, indices: indices, data: data, nrows: nrows, ncols: ncols, nnz: nnz,
			ids: ids, first: first, count: count, jobs: jobs, control: control, radii: radii, nradii: nradii, limit: limit}
		var rr radiusResult
		if s.s32 != nil {
			rr.f32, err = sparseRadius(s.s32, a, sorted != 0, counts, total)
		} else {
			rr.f64, err = sparseRadius(s.s64, a, sorted != 0, counts, total)
		}
		if err != nil {
			return err
		}
		*result = C.uintptr_t(cgo.NewHandle(&rr))
		return nil
	})
}

func sparseRadius[T core.Float](x *core.SparseIndex[T], a csrArgs, sorted bool, counts, total *C.int64_t) (*core.RadiusResult[T], error) {
	b, nq, err := sparseBatch[T](a)
	if err != nil {
		return nil, err
	}
	cs, err := slice[int64](unsafe.Pointer(counts), int64(nq))
	if err != nil {
		return nil, err
	}
	r, err := x.WithinBatch(b, a.radius(), sorted)
	if err != nil {
		return nil, coreArg(err)
	}
	copy(cs, r.Counts())
	*total = C.int64_t(r.Total())
	releaseAfter(r.Total() * transientPerAnswer)
	return r, nil
}

// pcct_sparse_encode serializes the sparse index (core.SparseIndex.Encode)
// into a result handle for pcct_bytes_fill, and its size into *size.
//
//export pcct_sparse_encode
func pcct_sparse_encode(h C.uintptr_t, result *C.uintptr_t, size *C.int64_t) C.int64_t {
	return guard(func() error {
		if result == nil || size == nil {
			return argErrorf("pcct: null output")
		}
		s, err := sparseOf(h)
		if err != nil {
			return err
		}
		var b []byte
		if s.s32 != nil {
			b = s.s32.Encode()
		} else {
			b = s.s64.Encode()
		}
		*size = C.int64_t(len(b))
		*result = C.uintptr_t(cgo.NewHandle(&encoded{b}))
		return nil
	})
}

// pcct_sparse_decode builds the sparse index encoded in buf (size bytes)
// again, of dtype, on jobs goroutines, and stores its handle in *out.
//
//export pcct_sparse_decode
func pcct_sparse_decode(buf unsafe.Pointer, size C.int64_t, dtype, jobs C.int32_t, control *C.int64_t, out *C.uintptr_t) C.int64_t {
	return guard(func() error {
		if out == nil {
			return argErrorf("pcct: null output handle")
		}
		b, err := slice[byte](buf, int64(size))
		if err != nil {
			return err
		}
		opts := core.Options{Jobs: int(jobs), Monitor: monitor(control)}
		s := &sparseIndex{}
		switch dtype {
		case dtypeFloat32:
			s.s32, err = core.DecodeSparse[float32](b, opts)
		case dtypeFloat64:
			s.s64, err = core.DecodeSparse[float64](b, opts)
		default:
			return argErrorf("pcct: unknown dtype code %d", dtype)
		}
		if err != nil {
			return coreArg(err)
		}
		*out = C.uintptr_t(cgo.NewHandle(s))
		return nil
	})
}
