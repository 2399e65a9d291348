package main

/*
#include <stdint.h>
*/
import "C"

import (
	"math"
	"runtime/cgo"
	"unsafe"

	"github.com/pcct-dev/pcct/core"
)

// Joins of two trees (core's dual-tree traversals), and k-nearest
// neighbours below a distance bound.

// pairResult is what a pair result handle holds until it is filled.
type pairResult struct {
	pairs *core.PairList
	dtype int32
}

// needTree returns an argument error unless handle t holds a cover tree,
// which what (a dual-tree join, a bounded search) needs.
func needTree(t *tree, what string) error {
	if t.algorithm() != core.CoverTree {
		return argErrorf("pcct: %s needs a cover tree, and this index is brute force (algorithm='brute'); build a CoverTree", what)
	}
	return nil
}

// bothTrees returns the trees of handles h and o, which must both hold
// cover trees of the same dtype.
func bothTrees(h, o C.uintptr_t) (*tree, *tree, error) {
	a, err := treeOf(h)
	if err != nil {
		return nil, nil, err
	}
	b, err := treeOf(o)
	if err != nil {
		return nil, nil, err
	}
	if err := needTree(a, "a join"); err != nil {
		return nil, nil, err
	}
	if err := needTree(b, "a join"); err != nil {
		return nil, nil, err
	}
	if a.dtype() != b.dtype() {
		return nil, nil, argErrorf("pcct: the two trees hold different dtypes (float32 and float64); build both from data of one dtype")
	}
	return a, b, nil
}

func joinOptions(jobs C.int32_t, control *C.int64_t, limit int64) core.JoinOptions {
	return core.JoinOptions{Jobs: int(jobs), Monitor: monitor(control), MaxPairs: limit}
}

// pcct_count_pairs writes to counts (nr int64) the number of pairs (a, b),
// a a point of tree h and b one of tree other, with d(a, b) <= radii[i],
// for each of the nr radii (any order; negative ones count nothing): a
// dual-tree traversal that lists no pair. other may be h itself. control,
// which may be NULL, is the call's pair of control words (see monitor).
//
//export pcct_count_pairs
func pcct_count_pairs(h, other C.uintptr_t, radii *C.double, nr C.int64_t, jobs C.int32_t, control *C.int64_t, counts *C.int64_t) C.int64_t {
	return guard(func() error {
		a, b, err := bothTrees(h, other)
		if err != nil {
			return err
		}
		rs, err := slice[float64](unsafe.Pointer(radii), int64(nr))
		if err != nil {
			return err
		}
		cs, err := slice[int64](unsafe.Pointer(counts), int64(nr))
		if err != nil {
			return err
		}
		opts := joinOptions(jobs, control, 0)
		var got []int64
		if a.f32 != nil {
			got, err = a.f32.CountPairs(b.f32, rs, opts)
		} else {
			got, err = a.f64.CountPairs(b.f64, rs, opts)
		}
		if err != nil {
			return argError{err}
		}
		copy(cs, got)
		return nil
	})
}

// pcct_pairs lists pairs of caller indices within distance r (d <= r):
// with mode 0, the pairs (i, j), i < j, of tree h's points (other is
// ignored); with mode 1, the pairs (i, j) with i a point of h and j one of
// other (which may be h), with their distances if dists != 0. It stores
// the number of pairs in *total and a result handle in *result, to be
// passed to pcct_pairs_fill (or pcct_result_free). limit, if positive,
// bounds the pairs the call may hold (error kind 5 beyond it). control,
// which may be NULL, is the call's pair of control words.
//
//export pcct_pairs
func pcct_pairs(h, other C.uintptr_t, mode C.int32_t, r C.double, dists, jobs C.int32_t, control *C.int64_t, limit C.int64_t, result *C.uintptr_t, total *C.int64_t) C.int64_t {
	return guard(func() error {
		if result == nil || total == nil {
			return argErrorf("pcct: null output")
		}
		if mode == 0 {
			other = h
		} else if mode != 1 {
			return argErrorf("pcct: unknown pair mode %d", mode)
		}
		a, b, err := bothTrees(h, other)
		if err != nil {
			return err
		}
		opts := joinOptions(jobs, control, int64(limit))
		var p *core.PairList
		switch {
		case a.f32 != nil && mode == 0:
			p, err = a.f32.Pairs(float64(r), opts)
		case a.f32 != nil:
			p, err = a.f32.PairsWith(b.f32, float64(r), dists != 0, opts)
		case mode == 0:
			p, err = a.f64.Pairs(float64(r), opts)
		default:
			p, err = a.f64.PairsWith(b.f64, float64(r), dists != 0, opts)
		}
		if err != nil {
			return argError{err}
		}
		*total = C.int64_t(p.Len())
		*result = C.uintptr_t(cgo.NewHandle(&pairResult{pairs: p, dtype: a.dtype()}))
		return nil
	})
}

// pcct_pairs_fill copies a pair result into i and j (total int64 each)
// and, when the pairs have distances and dist is not NULL, their distances
// into dist (total values of the trees' dtype); then it frees the handle.
//
//export pcct_pairs_fill
func pcct_pairs_fill(result C.uintptr_t, i, j *C.int64_t, dist unsafe.Pointer) C.int64_t {
	return guard(func() error {
		if result == 0 {
			return argErrorf("pcct: null result handle")
		}
		v, err := handleValue(result)
		if err != nil {
			return err
		}
		pr, ok := v.(*pairResult)
		if !ok {
			return argErrorf("pcct: handle %d is not a pair result", uintptr(result))
		}
		p := pr.pairs
		n := int64(p.Len())
		is, err := slice[int64](unsafe.Pointer(i), n)
		if err != nil {
			return err
		}
		js, err := slice[int64](unsafe.Pointer(j), n)
		if err != nil {
			return err
		}
		for k := range is {
			is[k], js[k] = p.At(k)
		}
		if dist != nil && p.HasDists() {
			if pr.dtype == dtypeFloat32 {
				err = fillDists[float32](p, dist)
			} else {
				err = fillDists[float64](p, dist)
			}
			if err != nil {
				return err
			}
		}
		cgo.Handle(result).Delete()
		releaseAfter(n * transientPerAnswer)
		return nil
	})
}

func fillDists[T core.Float](p *core.PairList, dist unsafe.Pointer) error {
	ds, err := slice[T](dist, int64(p.Len()))
	if err != nil {
		return err
	}
	for k := range ds {
		ds[k] = T(p.Dist(k))
	}
	return nil
}

// pcct_kneighbors_bound writes the k nearest neighbours nearer than bound
// (d < bound) of n queries into dist (n*k values of the tree's dtype) and
// ind (n*k int64), nearest first, ties by index; slots without such a
// neighbour get +Inf and -1, so k may exceed the number of points. The
// queries are n points of dimension d at q; or, when q is NULL, the tree's
// own points with the caller indices at ids, or first..first+n-1 when ids
// is NULL too, each left out of its own answer. eps > 0 makes the search
// approximate as cKDTree's (core.Tree.KNearestBoundBatch). They run on the
// CPU. control, which may be NULL, is the call's pair of control words.
//
//export pcct_kneighbors_bound
func pcct_kneighbors_bound(h C.uintptr_t, q unsafe.Pointer, ids *C.int64_t, first, n, d, k C.int64_t, bound, eps C.double, jobs C.int32_t, control *C.int64_t, dist unsafe.Pointer, ind *C.int64_t) C.int64_t {
	return guard(func() error {
		src := source{q: q, ids: ids, first: int64(first), n: int64(n), d: int64(d), eps: float64(eps), jobs: jobs, control: control}
		return withTree(h, func(t *tree) error {
			if err := needTree(t, "a search below a distance bound"); err != nil {
				return err
			}
			if t.f32 != nil {
				return kneighborsBound(t.f32, src, int64(k), float64(bound), dist, ind)
			}
			return kneighborsBound(t.f64, src, int64(k), float64(bound), dist, ind)
		})
	})
}

func kneighborsBound[T core.Float](t *core.Tree[T], src source, k int64, bound float64, dist unsafe.Pointer, ind *C.int64_t) error {
	b, err := batch(t, src)
	if err != nil {
		return err
	}
	if k < 1 || src.n > math.MaxInt64/k {
		return argErrorf("pcct: invalid k=%d for %d queries", k, src.n)
	}
	ds, err := slice[T](dist, src.n*k)
	if err != nil {
		return err
	}
	is, err := slice[int64](unsafe.Pointer(ind), src.n*k)
	if err != nil {
		return err
	}
	if err := t.KNearestBoundBatch(b, int(k), bound, ds, is); err != nil {
		return argError{err}
	}
	return nil
}
