package main

/*
#include <stdint.h>
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"runtime/cgo"
	"unsafe"

	"github.com/pcct-dev/pcct/core"
)

// version is the library's version, reported by pcct_version.
const version = "0.1.0"

// maxBytes bounds the size of any buffer the caller can pass: 2^48 bytes,
// the x86-64 and arm64 user address space.
const maxBytes = 1 << 48

// tree is what a tree handle holds: a cover tree or a brute-force index
// (see index.go), of one of the two dtypes; one field is set.
type tree struct {
	f32 *core.Tree[float32]
	f64 *core.Tree[float64]
	b32 *core.BruteForce[float32]
	b64 *core.BruteForce[float64]
	// gpu is the tree's copy on the GPU, made by the first GPU search.
	gpu gpuIndex
}

func (t *tree) dtype() int32 {
	if t.f32 != nil || t.b32 != nil {
		return dtypeFloat32
	}
	return dtypeFloat64
}

func treeOf(h C.uintptr_t) (*tree, error) {
	if h == 0 {
		return nil, argErrorf("pcct: null tree handle")
	}
	v, err := handleValue(h)
	if err != nil {
		return nil, err
	}
	t, ok := v.(*tree)
	if !ok {
		return nil, argErrorf("pcct: handle %d is not a tree", uintptr(h))
	}
	return t, nil
}

// handleValue returns what handle h holds, or an argument error for a
// handle that was never made or was already freed (cgo panics on those).
func handleValue(h C.uintptr_t) (v any, err error) {
	defer func() {
		if recover() != nil {
			v, err = nil, argErrorf("pcct: handle %d is invalid or was already freed", uintptr(h))
		}
	}()
	return cgo.Handle(h).Value(), nil
}

// slice views C memory of n values of type T as a Go slice for the length
// of one call.
func slice[T any](p unsafe.Pointer, n int64) ([]T, error) {
	if n == 0 {
		return []T{}, nil
	}
	var zero T
	if n < 0 || uint64(n) > maxBytes/uint64(max(unsafe.Sizeof(zero), 1)) {
		return nil, argErrorf("pcct: a buffer of %d values is impossibly large", n)
	}
	if p == nil {
		return nil, argErrorf("pcct: null buffer for %d values", n)
	}
	return unsafe.Slice((*T)(p), n), nil
}

func checkShape(n, d int64) error {
	if n < 0 || d < 1 {
		return argErrorf("pcct: invalid shape (%d, %d)", n, d)
	}
	if d > 0 && n > math.MaxInt64/d {
		return argErrorf("pcct: shape (%d, %d) is too large", n, d)
	}
	return nil
}

func metricOf(kind C.int32_t, p C.double) (core.Metric, error) {
	m := core.Metric{Kind: core.MetricKind(kind), P: float64(p)}
	if err := m.Validate(); err != nil {
		return core.Metric{}, argError{err}
	}
	return m, nil
}

// pcct_tree_build builds a tree over n points of dimension d stored
// row-major at x with the given dtype (0 float32, 1 float64), metric kind
// (0 euclidean, 1 manhattan, 2 chebyshev, 3 minkowski with power p, 4
// cosine, 5 haversine, and the kinds of core's extkernels.go: 6
// seuclidean, 7 mahalanobis, 8 canberra, 9 hamming, 10 jaccard, 11
// rogerstanimoto, 12 sokalmichener, 13 sokalsneath; those with parameters
// are built by pcct_tree_build_metric) and seed, on jobs goroutines, and
// stores its handle in out: pcct_index_build with algorithm 1. The points
// are copied. control, which may be NULL, is the call's pair of control
// words (see monitor): points inserted, and a stop request.
//
//export pcct_tree_build
func pcct_tree_build(x unsafe.Pointer, dtype C.int32_t, n, d C.int64_t, metric C.int32_t, p C.double, seed C.uint64_t, jobs C.int32_t, control *C.int64_t, out *C.uintptr_t) C.int64_t {
	return pcct_index_build(x, dtype, n, d, metric, p, seed, jobs, C.int32_t(core.CoverTree), control, out, nil)
}

// pcct_tree_free releases a tree handle. Freeing 0 is a no-op.
//
//export pcct_tree_free
func pcct_tree_free(h C.uintptr_t) C.int64_t {
	return guard(func() error {
		if h == 0 {
			return nil
		}
		t, err := treeOf(h)
		if err != nil {
			return err
		}
		t.releaseGPU()
		cgo.Handle(h).Delete()
		// What the version alone held becomes garbage (chunks it shares with
		// other versions stay): return it if it may be large.
		releaseAfter(int64(t.size()) * transientPerNode)
		return nil
	})
}

// Fields written by pcct_tree_stats, in order.
const (
	statPoints = iota
	statDim
	statDtype
	statNodes
	statLevels
	statMinLevel
	statMaxLevel
	statDepth
	statMaxFanout
	statBuildEvals
	statQueryEvals
	statMetric
	statIDs
	statBytesNodes
	statBytesPoints
	statBytesKids
	statBytesGroups
	statBytesIDs
	statBytesIDMap
	statAlgorithm
	statBytesSearchLayout
	statSearchLayoutBuilt
	statCount
)

// pcct_tree_stats writes up to n of the tree's statistics to out, in the
// order: points, dim, dtype, nodes, distinct levels, min level, max level,
// depth, max fan-out, build distance evaluations, query distance
// evaluations, metric kind, caller indices issued, then the bytes the tree
// refers to (core.Memory): node records, coordinates, child lists, level
// groups, caller indices held, caller-index map; then the algorithm (1 a
// cover tree, 2 a brute-force index, which has no levels: those fields and
// the tree-only byte counts are 0); then the bytes of the search layout
// the version holds (core.Memory.SearchLayout: 0 until its k-nearest
// queries made it, and for a brute-force index) and whether it holds one
// (1) or not (0). It returns the number of fields available in *written.
//
//export pcct_tree_stats
func pcct_tree_stats(h C.uintptr_t, out *C.int64_t, n C.int64_t, written *C.int64_t) C.int64_t {
	return guard(func() error {
		t, err := treeOf(h)
		if err != nil {
			return err
		}
		var s core.Stats
		var m core.Metric
		var ids int
		var mem core.Memory
		if i := t.i32(); i != nil {
			s, m, ids, mem = i.Stats(), i.Metric(), i.IDs(), i.Memory()
		} else {
			i := t.i64()
			s, m, ids, mem = i.Stats(), i.Metric(), i.IDs(), i.Memory()
		}
		vals := [statCount]int64{
			statPoints: int64(s.Points), statDim: int64(s.Dim), statDtype: int64(t.dtype()),
			statNodes: int64(s.Nodes), statLevels: int64(s.Levels), statMinLevel: int64(s.MinLevel),
			statMaxLevel: int64(s.MaxLevel), statDepth: int64(s.Depth), statMaxFanout: int64(s.MaxFanout),
			statBuildEvals: s.BuildEvals, statQueryEvals: s.QueryEvals, statMetric: int64(m.Kind),
			statIDs: int64(ids), statBytesNodes: mem.Nodes, statBytesPoints: mem.Points,
			statBytesKids: mem.Kids, statBytesGroups: mem.Groups, statBytesIDs: mem.IDs,
			statBytesIDMap: mem.IDMap, statAlgorithm: int64(t.algorithm()),
			statBytesSearchLayout: mem.SearchLayout,
		}
		if mem.SearchLayoutBuilt {
			vals[statSearchLayoutBuilt] = 1
		}
		return putFields(out, n, written, vals[:])
	})
}

// putFields writes the first n of vals to out and the number of them there
// are to *written (if not nil).
func putFields(out *C.int64_t, n C.int64_t, written *C.int64_t, vals []int64) error {
	dst, err := slice[C.int64_t](unsafe.Pointer(out), min(int64(n), int64(len(vals))))
	if err != nil {
		return err
	}
	for i := range dst {
		dst[i] = C.int64_t(vals[i])
	}
	if written != nil {
		*written = C.int64_t(len(vals))
	}
	return nil
}

// Fields written by pcct_tree_shape, in order.
const (
	shapePoints = iota
	shapeDim
	shapeDtype
	shapeIDs
	shapeAlgorithm
	shapeCount
)

// pcct_tree_shape writes up to n of the fields a new version needs to out,
// in the order: points, dim, dtype, caller indices issued, algorithm (as
// pcct_tree_stats writes them). Unlike pcct_tree_stats, which walks every
// node for the levels and the bytes, it reads counts the index keeps: an
// insertion of one point into a tree of 1,000 had spent more on its new
// version's statistics than on the insertion. It returns the number of
// fields available in *written.
//
//export pcct_tree_shape
func pcct_tree_shape(h C.uintptr_t, out *C.int64_t, n C.int64_t, written *C.int64_t) C.int64_t {
	return guard(func() error {
		t, err := treeOf(h)
		if err != nil {
			return err
		}
		var points, dim, ids int
		if i := t.i32(); i != nil {
			points, dim, ids = i.Len(), i.Dim(), i.IDs()
		} else {
			i := t.i64()
			points, dim, ids = i.Len(), i.Dim(), i.IDs()
		}
		vals := [shapeCount]int64{
			shapePoints: int64(points), shapeDim: int64(dim), shapeDtype: int64(t.dtype()),
			shapeIDs: int64(ids), shapeAlgorithm: int64(t.algorithm()),
		}
		return putFields(out, n, written, vals[:])
	})
}

// pcct_tree_level_counts writes the tree's levels (ascending) and the
// number of nodes at each into levels and counts, which hold n values each,
// and the number of distinct levels into *written.
//
//export pcct_tree_level_counts
func pcct_tree_level_counts(h C.uintptr_t, levels, counts *C.int64_t, n C.int64_t, written *C.int64_t) C.int64_t {
	return guard(func() error {
		t, err := treeOf(h)
		if err != nil {
			return err
		}
		var s core.Stats
		if i := t.i32(); i != nil {
			s = i.Stats()
		} else {
			s = t.i64().Stats()
		}
		ls, cs := s.LevelHistogram()
		if written != nil {
			*written = C.int64_t(len(ls))
		}
		m := min(int64(n), int64(len(ls)))
		dl, err := slice[C.int64_t](unsafe.Pointer(levels), m)
		if err != nil {
			return err
		}
		dc, err := slice[C.int64_t](unsafe.Pointer(counts), m)
		if err != nil {
			return err
		}
		for i := range m {
			dl[i], dc[i] = C.int64_t(ls[i]), C.int64_t(cs[i])
		}
		return nil
	})
}

// source says what a batch of queries is: n points of dimension d in C
// memory at q; or, when q is nil, n of the tree's own points, by the
// caller indices at ids or, when ids is nil too, first..first+n-1.
type source struct {
	q     unsafe.Pointer
	ids   *C.int64_t
	first int64
	n, d  int64
	jobs  C.int32_t
	// strategy is the k-nearest-neighbour search: 0 depth-first, 1
	// corrected (core.Strategy).
	strategy C.int32_t
	// eps allows approximate k-nearest neighbours (core.Batch.Eps).
	eps float64
	// control is the caller's pair of control words, or nil (see monitor).
	control *C.int64_t
	// device is where the queries run: deviceCPU, deviceCUDA or deviceAuto.
	device C.int32_t
	// limit, if positive, bounds the answers a radius batch may hold
	// (core.Batch.MaxAnswers).
	limit int64
	// radii, if not nil, holds one radius per query (core.Batch.Radii).
	radii *C.double
}

// batch builds the core.Batch that src describes.
func batch[T core.Float](t index[T], src source) (core.Batch[T], error) {
	b := core.Batch[T]{Jobs: int(src.jobs), Strategy: core.Strategy(src.strategy), Eps: src.eps, Monitor: monitor(src.control), MaxAnswers: src.limit}
	if src.n < 0 {
		return b, argErrorf("pcct: negative query count %d", src.n)
	}
	if src.radii != nil {
		radii, err := slice[float64](unsafe.Pointer(src.radii), src.n)
		if err != nil {
			return b, err
		}
		b.Radii = radii
	}
	if src.q == nil {
		if src.ids != nil {
			ids, err := slice[int64](unsafe.Pointer(src.ids), src.n)
			if err != nil {
				return b, err
			}
			b.IDs = ids
			return b, nil
		}
		if src.first < 0 {
			return b, argErrorf("pcct: invalid range first=%d count=%d", src.first, src.n)
		}
		b.First, b.Count = int(src.first), int(src.n)
		return b, nil
	}
	if err := checkShape(src.n, src.d); err != nil {
		return b, err
	}
	if int(src.d) != t.Dim() {
		return b, argErrorf("X has %d features, but this tree was fitted with %d features", src.d, t.Dim())
	}
	pts, err := slice[T](src.q, src.n*src.d)
	if err != nil {
		return b, err
	}
	b.Points = pts
	return b, nil
}

func kneighbors[T core.Float](w *tree, t index[T], src source, k int64, dist unsafe.Pointer, ind *C.int64_t) error {
	b, err := batch(t, src)
	if err != nil {
		return err
	}
	nq := src.n
	if k < 1 || nq > math.MaxInt64/k {
		return argErrorf("pcct: invalid k=%d for %d queries", k, nq)
	}
	ds, err := slice[T](dist, nq*k)
	if err != nil {
		return err
	}
	is, err := slice[int64](unsafe.Pointer(ind), nq*k)
	if err != nil {
		return err
	}
	if ct, ok := t.(gpuSource[T]); ok {
		ix, err := onGPU(w, ct, src, nq, int(k))
		if err != nil {
			return err
		}
		if ix != nil {
			q, err := ct.Queries(b)
			if err != nil {
				return argError{err}
			}
			err = ix.KNearest(q, int(k), ds, is)
			if !cpuAfter(src, err) {
				return gpuError(err)
			}
		}
	}
	if err := t.KNearestBatch(b, int(k), ds, is); err != nil {
		return argError{err}
	}
	return nil
}

func kneighborsExport(h C.uintptr_t, src source, k C.int64_t, dist unsafe.Pointer, ind *C.int64_t) C.int64_t {
	return guard(func() error {
		return withTree(h, func(t *tree) error {
			if i := t.i32(); i != nil {
				return kneighbors(t, i, src, int64(k), dist, ind)
			}
			return kneighbors(t, t.i64(), src, int64(k), dist, ind)
		})
	})
}

// pcct_kneighbors writes the k nearest neighbours of nq query points of
// dimension d (row-major at q, in the tree's dtype) into dist (nq*k values
// of the tree's dtype) and ind (nq*k int64), nearest first, ties by index.
// jobs goroutines answer the queries with the search strategy (0
// depth-first, 1 corrected). control, which may be NULL, is the call's pair
// of control words (see monitor): queries answered, and a stop request.
//
//export pcct_kneighbors
func pcct_kneighbors(h C.uintptr_t, q unsafe.Pointer, nq, d, k C.int64_t, jobs, strategy C.int32_t, control *C.int64_t, dist unsafe.Pointer, ind *C.int64_t) C.int64_t {
	if q == nil && nq > 0 {
		return status(argErrorf("pcct: null query buffer"))
	}
	return kneighborsExport(h, source{q: q, n: int64(nq), d: int64(d), jobs: jobs, strategy: strategy, control: control}, k, dist, ind)
}

// pcct_kneighbors_fitted is pcct_kneighbors for the tree's own points with
// caller indices first..first+count-1, each left out of its own answer.
//
//export pcct_kneighbors_fitted
func pcct_kneighbors_fitted(h C.uintptr_t, first, count, k C.int64_t, jobs, strategy C.int32_t, control *C.int64_t, dist unsafe.Pointer, ind *C.int64_t) C.int64_t {
	return kneighborsExport(h, source{first: int64(first), n: int64(count), jobs: jobs, strategy: strategy, control: control}, k, dist, ind)
}

// pcct_kneighbors_ids is pcct_kneighbors for the tree's own points with the
// count caller indices at ids, each left out of its own answer.
//
//export pcct_kneighbors_ids
func pcct_kneighbors_ids(h C.uintptr_t, ids *C.int64_t, count, k C.int64_t, jobs, strategy C.int32_t, control *C.int64_t, dist unsafe.Pointer, ind *C.int64_t) C.int64_t {
	if ids == nil && count > 0 {
		return status(argErrorf("pcct: null index buffer"))
	}
	return kneighborsExport(h, source{ids: ids, n: int64(count), jobs: jobs, strategy: strategy, control: control}, k, dist, ind)
}

func withTree(h C.uintptr_t, fn func(*tree) error) error {
	t, err := treeOf(h)
	if err != nil {
		return err
	}
	err = fn(t)
	runtime.KeepAlive(t)
	return err
}

// radiusResult is what a radius result handle holds until it is filled.
type radiusResult struct {
	f32 *core.RadiusResult[float32]
	f64 *core.RadiusResult[float64]
}

func radius[T core.Float](w *tree, t index[T], src source, r float64, sorted bool, counts *C.int64_t) (*core.RadiusResult[T], error) {
	b, err := batch(t, src)
	if err != nil {
		return nil, err
	}
	cs, err := slice[int64](unsafe.Pointer(counts), src.n)
	if err != nil {
		return nil, err
	}
	var res *core.RadiusResult[T]
	if ct, ok := t.(gpuSource[T]); ok {
		ix, err := onGPU(w, ct, src, src.n, 10)
		if err != nil {
			return nil, err
		}
		if ix != nil {
			q, err := ct.Queries(b)
			if err != nil {
				return nil, argError{err}
			}
			res, err = ix.Within(q, r, sorted)
			if !cpuAfter(src, err) {
				if err != nil {
					return nil, gpuError(err)
				}
				copy(cs, res.Counts())
				return res, nil
			}
		}
	}
	res, err = t.WithinBatch(b, r, sorted)
	if err != nil {
		return nil, argError{err}
	}
	copy(cs, res.Counts())
	return res, nil
}

func count[T core.Float](t index[T], src source, r float64, counts *C.int64_t) error {
	b, err := batch(t, src)
	if err != nil {
		return err
	}
	cs, err := slice[int64](unsafe.Pointer(counts), src.n)
	if err != nil {
		return err
	}
	if err := t.CountWithinBatch(b, r, cs); err != nil {
		return argError{err}
	}
	return nil
}

// pcct_radius_count writes to counts (n int64) the number of points within
// distance r (d <= r) of each query, without listing them: of n query points
// of dimension d at q; or, when q is NULL, of the tree's own points with the
// n caller indices at ids, or first..first+n-1 when ids is NULL too, each
// left out of its own answer. Its memory does not grow with the answers.
// control, which may be NULL, is the call's pair of control words (see
// monitor).
//
//export pcct_radius_count
func pcct_radius_count(h C.uintptr_t, q unsafe.Pointer, ids *C.int64_t, first, n, d C.int64_t, r C.double, jobs C.int32_t, control *C.int64_t, counts *C.int64_t) C.int64_t {
	return guard(func() error {
		src := source{q: q, ids: ids, first: int64(first), n: int64(n), d: int64(d), jobs: jobs, control: control}
		return withTree(h, func(t *tree) error {
			if i := t.i32(); i != nil {
				return count(i, src, float64(r), counts)
			}
			return count(t.i64(), src, float64(r), counts)
		})
	})
}

func radiusExport(h C.uintptr_t, src source, r C.double, sorted C.int32_t, counts *C.int64_t, result *C.uintptr_t, total *C.int64_t) C.int64_t {
	return guard(func() error {
		if result == nil || total == nil {
			return argErrorf("pcct: null output")
		}
		return withTree(h, func(t *tree) error {
			var rr radiusResult
			var err error
			if i := t.i32(); i != nil {
				rr.f32, err = radius(t, i, src, float64(r), sorted != 0, counts)
				if err == nil {
					*total = C.int64_t(rr.f32.Total())
				}
			} else {
				rr.f64, err = radius(t, t.i64(), src, float64(r), sorted != 0, counts)
				if err == nil {
					*total = C.int64_t(rr.f64.Total())
				}
			}
			if err != nil {
				return err
			}
			*result = C.uintptr_t(cgo.NewHandle(&rr))
			return nil
		})
	})
}

// pcct_radius finds every point within distance r of each of nq query
// points (d <= r), sorted by (distance, index) when sorted != 0. It writes
// each query's answer count to counts (nq int64), the total to *total, and
// a result handle to *result, to be passed to pcct_radius_fill (or
// pcct_result_free). control, which may be NULL, is the call's pair of
// control words (see monitor). A positive limit bounds the answers held:
// a batch that finds more fails with error kind 5 (too many answers)
// before it takes more memory; pcct_radius_count then tells how many.
//
//export pcct_radius
func pcct_radius(h C.uintptr_t, q unsafe.Pointer, nq, d C.int64_t, r C.double, sorted, jobs C.int32_t, control *C.int64_t, limit C.int64_t, counts *C.int64_t, result *C.uintptr_t, total *C.int64_t) C.int64_t {
	if q == nil && nq > 0 {
		return status(argErrorf("pcct: null query buffer"))
	}
	return radiusExport(h, source{q: q, n: int64(nq), d: int64(d), jobs: jobs, control: control, limit: int64(limit)}, r, sorted, counts, result, total)
}

// pcct_radius_fitted is pcct_radius for the tree's own points with caller
// indices first..first+count-1, each left out of its own answer.
//
//export pcct_radius_fitted
func pcct_radius_fitted(h C.uintptr_t, first, count C.int64_t, r C.double, sorted, jobs C.int32_t, control *C.int64_t, limit C.int64_t, counts *C.int64_t, result *C.uintptr_t, total *C.int64_t) C.int64_t {
	return radiusExport(h, source{first: int64(first), n: int64(count), jobs: jobs, control: control, limit: int64(limit)}, r, sorted, counts, result, total)
}

// pcct_radius_ids is pcct_radius for the tree's own points with the count
// caller indices at ids, each left out of its own answer.
//
//export pcct_radius_ids
func pcct_radius_ids(h C.uintptr_t, ids *C.int64_t, count C.int64_t, r C.double, sorted, jobs C.int32_t, control *C.int64_t, limit C.int64_t, counts *C.int64_t, result *C.uintptr_t, total *C.int64_t) C.int64_t {
	if ids == nil && count > 0 {
		return status(argErrorf("pcct: null index buffer"))
	}
	return radiusExport(h, source{ids: ids, n: int64(count), jobs: jobs, control: control, limit: int64(limit)}, r, sorted, counts, result, total)
}

// pcct_radius_fill copies a radius result into dist (total values of the
// tree's dtype) and ind (total int64), query after query, and frees the
// result handle.
//
//export pcct_radius_fill
func pcct_radius_fill(result C.uintptr_t, dist unsafe.Pointer, ind *C.int64_t) C.int64_t {
	return guard(func() error {
		rr, err := resultOf(result)
		if err != nil {
			return err
		}
		if rr.f32 != nil {
			err = fill(rr.f32, dist, ind)
		} else {
			err = fill(rr.f64, dist, ind)
		}
		if err != nil {
			return err
		}
		cgo.Handle(result).Delete()
		if rr.f32 != nil {
			releaseAfter(rr.f32.Total() * transientPerAnswer)
		} else {
			releaseAfter(rr.f64.Total() * transientPerAnswer)
		}
		return nil
	})
}

func fill[T core.Float](r *core.RadiusResult[T], dist unsafe.Pointer, ind *C.int64_t) error {
	ds, err := slice[T](dist, r.Total())
	if err != nil {
		return err
	}
	is, err := slice[int64](unsafe.Pointer(ind), r.Total())
	if err != nil {
		return err
	}
	return r.Fill(ds, is)
}

func resultOf(h C.uintptr_t) (*radiusResult, error) {
	if h == 0 {
		return nil, argErrorf("pcct: null result handle")
	}
	v, err := handleValue(h)
	if err != nil {
		return nil, err
	}
	rr, ok := v.(*radiusResult)
	if !ok {
		return nil, argErrorf("pcct: handle %d is not a radius result", uintptr(h))
	}
	return rr, nil
}

// freeResult releases a result handle of any kind (radius, pairs or
// encoding).
func freeResult(h C.uintptr_t) error {
	v, err := handleValue(h)
	if err != nil {
		return err
	}
	switch v.(type) {
	case *radiusResult, *encoded, *pairResult:
		cgo.Handle(h).Delete()
		return nil
	}
	return argErrorf("pcct: handle %d is not a result", uintptr(h))
}

// pcct_result_free releases a radius result or an encoding that will not
// be filled.
// Freeing 0 is a no-op.
//
//export pcct_result_free
func pcct_result_free(result C.uintptr_t) C.int64_t {
	return guard(func() error {
		if result == 0 {
			return nil
		}
		return freeResult(result)
	})
}

// pcct_version copies "pcct <version> (<go version>)" into buf (at most
// capacity-1 bytes and a NUL) and returns its full length.
//
//export pcct_version
func pcct_version(buf *C.char, capacity C.int64_t) C.int64_t {
	return copyString(fmt.Sprintf("pcct %s (%s)", version, runtime.Version()), buf, capacity)
}

// pcct_test_panic panics inside a guarded call, so tests can check that a
// Go panic reaches Python as an exception instead of killing the process:
// in the calling goroutine with off = 0, else in a goroutine of its own as
// offCaller runs builds and updates on several threads.
//
//export pcct_test_panic
func pcct_test_panic(off C.int32_t) C.int64_t {
	return guard(func() error {
		boom := func() error {
			var m map[string]int
			m["boom"]++ // a nil-map write: a genuine runtime panic
			return nil
		}
		if off != 0 {
			return runOff(boom)
		}
		return boom()
	})
}

// pcct_tree_metric stores the tree's metric kind (see pcct_tree_build) and,
// for Minkowski, its power in *kind and *p.
//
//export pcct_tree_metric
func pcct_tree_metric(h C.uintptr_t, kind *C.int32_t, p *C.double) C.int64_t {
	return guard(func() error {
		if kind == nil || p == nil {
			return argErrorf("pcct: null output")
		}
		return withTree(h, func(t *tree) error {
			var m core.Metric
			if i := t.i32(); i != nil {
				m = i.Metric()
			} else {
				m = t.i64().Metric()
			}
			*kind, *p = C.int32_t(m.Kind), C.double(m.P)
			return nil
		})
	})
}

// pcct_tree_structure writes, for up to n nodes (parents before children),
// the node's smallest caller index, its number of caller points, its level
// and its parent's smallest caller index (-1 for the root) into ids,
// counts, levels and parents, and the number of nodes into *written. Call
// it with n = 0 to learn the size. A brute-force index has no structure:
// that is an argument error.
//
//export pcct_tree_structure
func pcct_tree_structure(h C.uintptr_t, ids, counts, levels, parents *C.int64_t, n C.int64_t, written *C.int64_t) C.int64_t {
	return guard(func() error {
		return withTree(h, func(t *tree) error {
			var nodes []core.NodeInfo
			switch {
			case t.f32 != nil:
				nodes = t.f32.Structure()
			case t.f64 != nil:
				nodes = t.f64.Structure()
			default:
				return argErrorf("pcct: a brute-force index has no tree structure")
			}
			if written != nil {
				*written = C.int64_t(len(nodes))
			}
			m := min(int64(n), int64(len(nodes)))
			outs := make([][]int64, 4)
			for i, p := range []*C.int64_t{ids, counts, levels, parents} {
				s, err := slice[int64](unsafe.Pointer(p), m)
				if err != nil {
					return err
				}
				outs[i] = s
			}
			for i := range m {
				nd := nodes[i]
				outs[0][i], outs[1][i], outs[2][i], outs[3][i] = int64(nd.ID), int64(nd.Count), int64(nd.Level), int64(nd.Parent)
			}
			return nil
		})
	})
}
