package main

/*
#include <stdint.h>
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"

	"github.com/pcct-dev/pcct/core"
)

// A tree handle holds a cover tree (core.Tree) or a brute-force index
// (core.BruteForce) of either dtype; the exports that ask both the same questions
// see them as an index.

// index is what the queries and the common exports need of a Tree or a
// BruteForce.
type index[T core.Float] interface {
	Dim() int
	Len() int
	IDs() int
	Metric() core.Metric
	Stats() core.Stats
	Memory() core.Memory
	LiveIDs(dst []int64) []int64
	Has(id int) bool
	Point(id int) []T
	Encode() []byte
	KNearestBatch(b core.Batch[T], k int, dist []T, idx []int64) error
	WithinBatch(b core.Batch[T], r float64, sorted bool) (*core.RadiusResult[T], error)
	CountWithinBatch(b core.Batch[T], r float64, counts []int64) error
}

// i32 returns the handle's float32 index, or nil.
func (t *tree) i32() index[float32] {
	switch {
	case t.f32 != nil:
		return t.f32
	case t.b32 != nil:
		return t.b32
	}
	return nil
}

// i64 returns the handle's float64 index, or nil.
func (t *tree) i64() index[float64] {
	switch {
	case t.f64 != nil:
		return t.f64
	case t.b64 != nil:
		return t.b64
	}
	return nil
}

// algorithm returns how the handle's index answers queries.
func (t *tree) algorithm() core.Algorithm {
	if t.b32 != nil || t.b64 != nil {
		return core.Brute
	}
	return core.CoverTree
}

// size returns the handle's nodes (distinct points of a tree, points of a
// brute-force index).
func (t *tree) size() int {
	switch {
	case t.f32 != nil:
		return t.f32.Nodes()
	case t.f64 != nil:
		return t.f64.Nodes()
	case t.b32 != nil:
		return t.b32.Len()
	}
	return t.b64.Len()
}

// Fields written by pcct_index_build's choice output, in order.
const (
	choiceAlgorithm = iota
	choiceSample
	choiceSampleEvals
	choiceGrowth
	choiceEvals
	choiceBuildEvals
	choiceTreeCost
	choiceBruteCost
	choiceBuildBudget
	choiceGaveUp
	choiceCount
)

// pcct_index_build is pcct_tree_build with a choice of index: algorithm 0
// chooses from the data (core.Choose), 1 builds a cover tree, 2 a
// brute-force index. The handle it stores in out answers every tree export
// but pcct_tree_structure, which needs a tree. If choice is not NULL it
// receives choiceCount values: the algorithm built (1 or 2), then, when it
// was chosen, the evidence (core.Choice): sample size, its evaluations per
// query, their growth exponent, the estimated evaluations per query and
// per point built, the estimated seconds of each index, the build budget,
// and 1 if the tree chosen exceeded it and brute force took over, else 0.
//
//export pcct_index_build
func pcct_index_build(x unsafe.Pointer, dtype C.int32_t, n, d C.int64_t, metric C.int32_t, p C.double, seed C.uint64_t, jobs, algorithm C.int32_t, control *C.int64_t, out *C.uintptr_t, choice *C.double) C.int64_t {
	return guard(func() error {
		m, err := metricOf(metric, p)
		if err != nil {
			return err
		}
		return buildWith(x, dtype, n, d, m, seed, jobs, algorithm, control, out, choice)
	})
}

// buildWith is pcct_index_build with the metric m.
func buildWith(x unsafe.Pointer, dtype C.int32_t, n, d C.int64_t, m core.Metric, seed C.uint64_t, jobs, algorithm C.int32_t, control *C.int64_t, out *C.uintptr_t, choice *C.double) error {
	if out == nil {
		return argErrorf("pcct: null output handle")
	}
	if err := checkShape(int64(n), int64(d)); err != nil {
		return err
	}
	algo := core.Algorithm(algorithm)
	if algo != core.Auto && algo != core.CoverTree && algo != core.Brute {
		return argErrorf("pcct: unknown algorithm code %d", algorithm)
	}
	since := heapAllocs()
	opts := core.Options{Metric: m, Seed: uint64(seed), Jobs: int(jobs), Monitor: monitor(control)}
	t := &tree{}
	var c core.Choice
	err := offCaller(jobs, int64(n), func() error {
		var err error
		switch dtype {
		case dtypeFloat32:
			t.f32, t.b32, c, err = buildIndex[float32](x, int64(n), int64(d), algo, opts)
		case dtypeFloat64:
			t.f64, t.b64, c, err = buildIndex[float64](x, int64(n), int64(d), algo, opts)
		default:
			return argErrorf("pcct: unknown dtype code %d", dtype)
		}
		return err
	})
	if err != nil {
		return err
	}
	writeChoice(choice, c)
	*out = C.uintptr_t(cgo.NewHandle(t))
	releaseAllocated(since)
	return nil
}

// writeChoice writes the choiceCount values of c into choice, unless it is
// NULL.
func writeChoice(choice *C.double, c core.Choice) {
	if choice == nil {
		return
	}
	vals := [choiceCount]float64{
		choiceAlgorithm: float64(c.Algorithm), choiceSample: float64(c.Sample),
		choiceSampleEvals: c.SampleEvals, choiceGrowth: c.Growth, choiceEvals: c.Evals,
		choiceBuildEvals: c.BuildEvals, choiceTreeCost: c.TreeCost, choiceBruteCost: c.BruteCost,
		choiceBuildBudget: float64(c.BuildBudget), choiceGaveUp: b2f(c.GaveUp),
	}
	copy(unsafe.Slice((*float64)(unsafe.Pointer(choice)), choiceCount), vals[:])
}

func buildIndex[T core.Float](x unsafe.Pointer, n, d int64, algo core.Algorithm, opts core.Options) (*core.Tree[T], *core.BruteForce[T], core.Choice, error) {
	data, err := slice[T](x, n*d)
	if err != nil {
		return nil, nil, core.Choice{}, err
	}
	tr, fl, c, err := core.BuildIndex(data, int(d), algo, opts)
	if err != nil {
		return nil, nil, core.Choice{}, argError{err}
	}
	return tr, fl, c, nil
}

// pcct_screen_kernel copies the name of the kernel that screens Euclidean
// distances in a brute-force index on this CPU into buf (at most
// capacity-1 bytes and a NUL) and returns its full length.
//
//export pcct_screen_kernel
func pcct_screen_kernel(buf *C.char, capacity C.int64_t) C.int64_t {
	return copyString(core.ScreenKernel(), buf, capacity)
}

// copyString copies s into buf (at most capacity-1 bytes and a NUL) and
// returns its full length.
func copyString(s string, buf *C.char, capacity C.int64_t) C.int64_t {
	if buf != nil && capacity > 0 {
		dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(capacity))
		n := copy(dst[:len(dst)-1], s)
		dst[n] = 0
	}
	return C.int64_t(len(s))
}

// b2f is 1 for true, 0 for false.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
