package main

/*
#include <stdint.h>
*/
import "C"

import (
	"unsafe"

	"github.com/pcct-dev/pcct/cluster"
	"github.com/pcct-dev/pcct/core"
)

// pcct_dbscan_points runs DBSCAN(eps, min_samples) on the n x d points at
// x (dtype float32 or float64, row-major) under the metric (metric, p),
// with no tree kept: Euclidean points in one to three dimensions on a
// grid, in four to 64 on a k-d tree, others on a cover tree built for the
// call (cluster.DBSCANPoints). It
// writes each row's label (int64, -1 for noise) to labels and whether it
// is a core point (uint8) to core; weights, if not NULL, holds n float64
// sample weights.
//
//export pcct_dbscan_points
func pcct_dbscan_points(x unsafe.Pointer, dtype C.int32_t, n, d C.int64_t, metric C.int32_t, p C.double, eps C.double, minSamples C.int64_t, weights *C.double, jobs C.int32_t, control *C.int64_t, labels *C.int64_t, core_ *C.uint8_t) C.int64_t {
	return guard(func() error {
		m, err := metricOf(metric, p)
		if err != nil {
			return err
		}
		if err := checkShape(int64(n), int64(d)); err != nil {
			return err
		}
		w, err := dbscanWeights(weights, int64(n))
		if err != nil {
			return err
		}
		o := clusterOptions(jobs, control)
		var res cluster.DBSCANResult
		switch dtype {
		case dtypeFloat32:
			res, err = dbscanPoints[float32](x, int64(n), int64(d), m, float64(eps), int(minSamples), w, o)
		case dtypeFloat64:
			res, err = dbscanPoints[float64](x, int64(n), int64(d), m, float64(eps), int(minSamples), w, o)
		default:
			return argErrorf("pcct: unknown dtype code %d", dtype)
		}
		if err != nil {
			return clusterError(err)
		}
		return writeDBSCAN(res, labels, core_, int64(n))
	})
}

func dbscanPoints[T core.Float](x unsafe.Pointer, n, d int64, m core.Metric, eps float64, minSamples int, w []float64, o cluster.Options) (cluster.DBSCANResult, error) {
	data, err := slice[T](x, n*d)
	if err != nil {
		return cluster.DBSCANResult{}, err
	}
	return cluster.DBSCANPoints(data, int(d), m, eps, minSamples, w, o)
}

// pcct_mst_points writes the minimum spanning tree of the n x d points at
// x (dtype float32 or float64, row-major) under the metric (metric, p),
// with no tree kept, to i and j (row numbers, i < j) and dist (float64):
// n-1 values each, sorted by distance, the edges pcct_mst gives for a
// tree built over the rows. Euclidean rows of one to three features are
// spanned on a k-d tree, others on a cover tree built for the call
// (cluster.MinimumSpanningTreePoints).
//
//export pcct_mst_points
func pcct_mst_points(x unsafe.Pointer, dtype C.int32_t, n, d C.int64_t, metric C.int32_t, p C.double, jobs C.int32_t, control *C.int64_t, i, j *C.int64_t, dist *C.double) C.int64_t {
	return guard(func() error {
		edges, err := mstOfPoints(x, dtype, n, d, metric, p, jobs, control)
		if err != nil {
			return err
		}
		return writeEdges(edges, i, j, dist, n-1)
	})
}

// mstOfPoints checks the arguments of pcct_mst_points and
// pcct_single_linkage_points and returns the spanning tree's n-1 edges
// (errors as the C ABI reports them).
func mstOfPoints(x unsafe.Pointer, dtype C.int32_t, n, d C.int64_t, metric C.int32_t, p C.double, jobs C.int32_t, control *C.int64_t) ([]cluster.Edge, error) {
	m, err := metricOf(metric, p)
	if err != nil {
		return nil, err
	}
	if err := checkShape(int64(n), int64(d)); err != nil {
		return nil, err
	}
	o := clusterOptions(jobs, control)
	var edges []cluster.Edge
	switch dtype {
	case dtypeFloat32:
		edges, err = mstPoints[float32](x, int64(n), int64(d), m, o)
	case dtypeFloat64:
		edges, err = mstPoints[float64](x, int64(n), int64(d), m, o)
	default:
		return nil, argErrorf("pcct: unknown dtype code %d", dtype)
	}
	if err != nil {
		return nil, clusterError(err)
	}
	if int64(len(edges)) != int64(n)-1 {
		return nil, argErrorf("pcct: %d edges for %d points", len(edges), int64(n))
	}
	return edges, nil
}

func mstPoints[T core.Float](x unsafe.Pointer, n, d int64, m core.Metric, o cluster.Options) ([]cluster.Edge, error) {
	data, err := slice[T](x, n*d)
	if err != nil {
		return nil, err
	}
	return cluster.MinimumSpanningTreePoints(data, int(d), m, o)
}

// pcct_single_linkage_points writes the single-linkage hierarchy of the
// n x d points at x (dtype float32 or float64, row-major) under the
// metric (metric, p), with no tree kept, into z: n-1 rows of 4 float64 in
// scipy's linkage format, leaf i being row i; the rows pcct_single_linkage
// gives for a tree built over the rows (the spanning tree of
// pcct_mst_points, then cluster.Linkage).
//
//export pcct_single_linkage_points
func pcct_single_linkage_points(x unsafe.Pointer, dtype C.int32_t, n, d C.int64_t, metric C.int32_t, p C.double, jobs C.int32_t, control *C.int64_t, z *C.double) C.int64_t {
	return guard(func() error {
		edges, err := mstOfPoints(x, dtype, n, d, metric, p, jobs, control)
		if err != nil {
			return err
		}
		merges, err := cluster.Linkage(int(n), edges)
		if err != nil {
			return clusterError(err)
		}
		return writeMerges(merges, z, n-1)
	})
}
