package main

/*
#include <stdint.h>
*/
import "C"

import (
	"unsafe"

	"github.com/pcct-dev/pcct/core"
)

// pcct_tree_build_metric is pcct_tree_build with a metric that takes a
// vector of nparams parameters at params: the variances V of seuclidean
// (kind 6, one per coordinate), the matrix VI of mahalanobis (kind 7, d x
// d, row-major), or the weights w of minkowski (kind 3, one per
// coordinate, with power p). nparams = 0 means none. It is
// pcct_index_build_metric with algorithm 1.
//
//export pcct_tree_build_metric
func pcct_tree_build_metric(x unsafe.Pointer, dtype C.int32_t, n, d C.int64_t, metric C.int32_t, p C.double, params *C.double, nparams C.int64_t, seed C.uint64_t, jobs C.int32_t, control *C.int64_t, out *C.uintptr_t) C.int64_t {
	return pcct_index_build_metric(x, dtype, n, d, metric, p, params, nparams, seed, jobs, C.int32_t(core.CoverTree), control, out, nil)
}

// pcct_index_build_metric is pcct_index_build with a metric's parameter
// vector, as pcct_tree_build_metric takes it.
//
//export pcct_index_build_metric
func pcct_index_build_metric(x unsafe.Pointer, dtype C.int32_t, n, d C.int64_t, metric C.int32_t, p C.double, params *C.double, nparams C.int64_t, seed C.uint64_t, jobs, algorithm C.int32_t, control *C.int64_t, out *C.uintptr_t, choice *C.double) C.int64_t {
	return guard(func() error {
		ps, err := slice[float64](unsafe.Pointer(params), int64(nparams))
		if err != nil {
			return err
		}
		m, err := metricWith(core.MetricKind(metric), float64(p), ps)
		if err != nil {
			return err
		}
		return buildWith(x, dtype, n, d, m, seed, jobs, algorithm, control, out, choice)
	})
}

// metricWith returns the valid metric of kind k with power p and the
// parameter vector ps (see pcct_tree_build_metric).
func metricWith(k core.MetricKind, p float64, ps []float64) (core.Metric, error) {
	var m core.Metric
	switch {
	case len(ps) == 0:
		m = core.Metric{Kind: k, P: p}
	case k == core.SEuclidean:
		m = core.NewSEuclidean(ps)
	case k == core.Mahalanobis:
		m = core.NewMahalanobis(ps)
	case k == core.Minkowski:
		m = core.NewWeightedMinkowski(p, ps)
	default:
		return core.Metric{}, argErrorf("pcct: the %v metric takes no parameters", k)
	}
	if err := m.Validate(); err != nil {
		return core.Metric{}, argError{err}
	}
	return m, nil
}
