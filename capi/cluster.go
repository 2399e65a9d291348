package main

/*
#include <stdint.h>
*/
import "C"

import (
	"errors"
	"unsafe"

	"github.com/pcct-dev/pcct/cluster"
	"github.com/pcct-dev/pcct/core"
)

// The exports of package cluster (minimum spanning tree, single linkage,
// DBSCAN, HDBSCAN) and of the level covers. Each takes a tree handle (any
// version, a snapshot included) and writes into buffers the caller
// allocated: n values per point, where n is the tree's number of live
// points, indexed by position among the live caller indices in ascending
// order.

// clusterError converts an error of package cluster or core into a
// status: a stop request or a bad argument, unless it is a recovered
// panic.
func clusterError(err error) error {
	if err == nil || errors.Is(err, cluster.ErrInternal) || errors.Is(err, core.ErrStopped) {
		return err
	}
	return argError{err}
}

func clusterOptions(jobs C.int32_t, control *C.int64_t) cluster.Options {
	return cluster.Options{Jobs: int(jobs), Monitor: monitor(control)}
}

// livePoints returns the number of points the tree holds.
func livePoints(t *tree) int {
	if t.f32 != nil {
		return t.f32.Len()
	}
	return t.f64.Len()
}

// checkPoints checks that a buffer for n values per point matches the
// tree's number of points.
func checkPoints(n C.int64_t, live int) error {
	if int64(n) != int64(live) {
		return argErrorf("pcct: buffers for %d points, but the tree holds %d", n, live)
	}
	return nil
}

// pcct_mst computes an exact minimum spanning tree of the tree's points
// and writes its edges, sorted by distance, to i and j (caller indices,
// i < j) and dist (float64): n-1 values each for n points; m is their
// capacity and must be n-1.
//
//export pcct_mst
func pcct_mst(h C.uintptr_t, jobs C.int32_t, control *C.int64_t, i, j *C.int64_t, dist *C.double, m C.int64_t) C.int64_t {
	return guard(func() error {
		return withTree(h, func(t *tree) error {
			if err := needTree(t, "clustering"); err != nil {
				return err
			}
			live := livePoints(t)
			if int64(m) != int64(max(live-1, 0)) {
				return argErrorf("pcct: buffers for %d edges, but the tree's %d points have %d", m, live, max(live-1, 0))
			}
			var edges []cluster.Edge
			var err error
			o := clusterOptions(jobs, control)
			if t.f32 != nil {
				edges, err = cluster.MinimumSpanningTree(t.f32, o)
			} else {
				edges, err = cluster.MinimumSpanningTree(t.f64, o)
			}
			if err != nil {
				return clusterError(err)
			}
			return writeEdges(edges, i, j, dist, m)
		})
	})
}

// writeMerges writes merges as rows of 4 float64 (a, b, distance, size),
// scipy's linkage matrix, into z, which holds m rows.
func writeMerges(merges []cluster.Merge, z *C.double, m C.int64_t) error {
	if int64(m) != int64(len(merges)) {
		return argErrorf("pcct: a linkage buffer of %d rows for %d merges", m, len(merges))
	}
	zs, err := slice[float64](unsafe.Pointer(z), 4*int64(m))
	if err != nil {
		return err
	}
	for r, x := range merges {
		zs[4*r], zs[4*r+1], zs[4*r+2], zs[4*r+3] = float64(x.A), float64(x.B), x.Dist, float64(x.Size)
	}
	return nil
}

// pcct_single_linkage writes the single-linkage hierarchy of the tree's n
// points into z: n-1 rows of 4 float64 in scipy's linkage format (m is the
// number of rows and must be n-1). Leaf i is the point at position i
// among the live caller indices in ascending order.
//
//export pcct_single_linkage
func pcct_single_linkage(h C.uintptr_t, jobs C.int32_t, control *C.int64_t, z *C.double, m C.int64_t) C.int64_t {
	return guard(func() error {
		return withTree(h, func(t *tree) error {
			if err := needTree(t, "clustering"); err != nil {
				return err
			}
			if live := livePoints(t); int64(m) != int64(max(live-1, 0)) {
				return argErrorf("pcct: a linkage buffer of %d rows, but the tree's %d points make %d merges", m, live, max(live-1, 0))
			}
			var merges []cluster.Merge
			var err error
			o := clusterOptions(jobs, control)
			if t.f32 != nil {
				merges, err = cluster.SingleLinkage(t.f32, o)
			} else {
				merges, err = cluster.SingleLinkage(t.f64, o)
			}
			if err != nil {
				return clusterError(err)
			}
			return writeMerges(merges, z, m)
		})
	})
}

// pcct_dbscan runs DBSCAN(eps, min_samples) on the tree's n points and
// writes each point's label (int64, -1 for noise) to labels and whether
// it is a core point (uint8) to core; weights, if not NULL, holds n
// float64 sample weights. n is the length of each buffer.
//
//export pcct_dbscan
func pcct_dbscan(h C.uintptr_t, eps C.double, minSamples C.int64_t, weights *C.double, jobs C.int32_t, control *C.int64_t, labels *C.int64_t, core *C.uint8_t, n C.int64_t) C.int64_t {
	return guard(func() error {
		return withTree(h, func(t *tree) error {
			if err := needTree(t, "clustering"); err != nil {
				return err
			}
			if err := checkPoints(n, livePoints(t)); err != nil {
				return err
			}
			var res cluster.DBSCANResult
			w, err := dbscanWeights(weights, int64(n))
			if err != nil {
				return err
			}
			o := clusterOptions(jobs, control)
			if t.f32 != nil {
				res, err = cluster.DBSCAN(t.f32, float64(eps), int(minSamples), w, o)
			} else {
				res, err = cluster.DBSCAN(t.f64, float64(eps), int(minSamples), w, o)
			}
			if err != nil {
				return clusterError(err)
			}
			return writeDBSCAN(res, labels, core, int64(n))
		})
	})
}

// dbscanWeights returns the n sample weights at weights, or nil if it is
// NULL.
func dbscanWeights(weights *C.double, n int64) ([]float64, error) {
	if weights == nil {
		return nil, nil
	}
	return slice[float64](unsafe.Pointer(weights), n)
}

// writeDBSCAN writes a DBSCAN result to the caller's arrays of n entries:
// each point's label (int64, -1 for noise) to labels and whether it is a
// core point (uint8) to core.
func writeDBSCAN(res cluster.DBSCANResult, labels *C.int64_t, core *C.uint8_t, n int64) error {
	ls, err := slice[int64](unsafe.Pointer(labels), n)
	if err != nil {
		return err
	}
	cs, err := slice[uint8](unsafe.Pointer(core), n)
	if err != nil {
		return err
	}
	for p := range res.Labels {
		ls[p] = int64(res.Labels[p])
		cs[p] = 0
		if res.Core[p] {
			cs[p] = 1
		}
	}
	return nil
}

// hdbscanOptions converts the parameters of sklearn.cluster.HDBSCAN
// (min_samples 0 meaning min_cluster_size, max_cluster_size 0 no bound,
// method 0 "eom" and 1 "leaf").
func hdbscanOptions(minClusterSize, minSamples C.int64_t, epsilon C.double, maxClusterSize C.int64_t, alpha C.double, method, allowSingle, jobs C.int32_t, control *C.int64_t) cluster.HDBSCANOptions {
	return cluster.HDBSCANOptions{
		MinClusterSize:          int(minClusterSize),
		MinSamples:              int(minSamples),
		ClusterSelectionEpsilon: float64(epsilon),
		MaxClusterSize:          int(maxClusterSize),
		Alpha:                   float64(alpha),
		Method:                  cluster.Selection(method),
		AllowSingleCluster:      allowSingle != 0,
		Options:                 clusterOptions(jobs, control),
	}
}

// pcct_hdbscan_tree writes the minimum spanning tree of HDBSCAN's mutual
// reachability distance over the tree's n points (min_samples and alpha
// as in sklearn.cluster.HDBSCAN) as scikit-learn's Prim's algorithm finds
// it: n-1 edges, in the order taken, from the point i (a position among
// the live ids) to the point j, with their weights, into i, j and dist
// (m = n-1 values each).
//
//export pcct_hdbscan_tree
func pcct_hdbscan_tree(h C.uintptr_t, minSamples C.int64_t, alpha C.double, jobs C.int32_t, control *C.int64_t, i, j *C.int64_t, dist *C.double, m C.int64_t) C.int64_t {
	return guard(func() error {
		return withTree(h, func(t *tree) error {
			if err := needTree(t, "clustering"); err != nil {
				return err
			}
			live := livePoints(t)
			if int64(m) != int64(max(live-1, 0)) {
				return argErrorf("pcct: buffers for %d edges, but the tree's %d points have %d", m, live, max(live-1, 0))
			}
			o := hdbscanOptions(2, minSamples, 0, 0, alpha, 0, 0, jobs, control)
			var edges []cluster.Edge
			var err error
			if t.f32 != nil {
				edges, err = cluster.ReachabilityTree(t.f32, o)
			} else {
				edges, err = cluster.ReachabilityTree(t.f64, o)
			}
			if err != nil {
				return clusterError(err)
			}
			return writeEdges(edges, i, j, dist, m)
		})
	})
}

func writeEdges(edges []cluster.Edge, i, j *C.int64_t, dist *C.double, m C.int64_t) error {
	is, err := slice[int64](unsafe.Pointer(i), int64(m))
	if err != nil {
		return err
	}
	js, err := slice[int64](unsafe.Pointer(j), int64(m))
	if err != nil {
		return err
	}
	ds, err := slice[float64](unsafe.Pointer(dist), int64(m))
	if err != nil {
		return err
	}
	for k, e := range edges {
		is[k], js[k], ds[k] = int64(e.I), int64(e.J), e.Dist
	}
	return nil
}

// pcct_hdbscan_labels condenses the single-linkage hierarchy of n points
// that n-1 spanning tree edges (i, j, dist, taken in this order) define,
// selects clusters with the parameters of sklearn.cluster.HDBSCAN (see
// hdbscanOptions) and writes each point's label (int64, -1 for noise) to
// labels and its probability (float64) to probs; hierarchy, if not NULL,
// receives the hierarchy as n-1 rows of 4 float64 (left, right, distance,
// size).
//
//export pcct_hdbscan_labels
func pcct_hdbscan_labels(i, j *C.int64_t, dist *C.double, n, minClusterSize C.int64_t, epsilon C.double, maxClusterSize C.int64_t, method, allowSingle C.int32_t, labels *C.int64_t, probs, hierarchy *C.double) C.int64_t {
	return guard(func() error {
		if n < 1 {
			return argErrorf("pcct: a hierarchy needs at least one point, got %d", n)
		}
		m := int64(n) - 1
		is, err := slice[int64](unsafe.Pointer(i), m)
		if err != nil {
			return err
		}
		js, err := slice[int64](unsafe.Pointer(j), m)
		if err != nil {
			return err
		}
		ds, err := slice[float64](unsafe.Pointer(dist), m)
		if err != nil {
			return err
		}
		edges := make([]cluster.Edge, m)
		for k := range edges {
			if is[k] < 0 || js[k] < 0 || is[k] >= int64(n) || js[k] >= int64(n) {
				return argErrorf("pcct: edge %d = (%d, %d) names a point outside 0..%d", k, is[k], js[k], n-1)
			}
			edges[k] = cluster.Edge{I: int(is[k]), J: int(js[k]), Dist: ds[k]}
		}
		o := hdbscanOptions(minClusterSize, 1, epsilon, maxClusterSize, 1, method, allowSingle, 1, nil)
		res, err := cluster.LabelTree(int(n), edges, o)
		if err != nil {
			return clusterError(err)
		}
		ls, err := slice[int64](unsafe.Pointer(labels), int64(n))
		if err != nil {
			return err
		}
		ps, err := slice[float64](unsafe.Pointer(probs), int64(n))
		if err != nil {
			return err
		}
		for p := range res.Labels {
			ls[p], ps[p] = int64(res.Labels[p]), res.Probabilities[p]
		}
		if hierarchy != nil {
			return writeMerges(res.Hierarchy, hierarchy, C.int64_t(m))
		}
		return nil
	})
}

// pcct_labels_at_cut writes to labels (n int64) the flat clustering of a
// single-linkage hierarchy of n points (n-1 rows of 4 float64, as
// pcct_hdbscan writes it) cut at distance cut, clusters smaller than
// min_cluster_size being noise (-1): scikit-learn's
// HDBSCAN.dbscan_clustering.
//
//export pcct_labels_at_cut
func pcct_labels_at_cut(hierarchy *C.double, n C.int64_t, cut C.double, minClusterSize C.int64_t, labels *C.int64_t) C.int64_t {
	return guard(func() error {
		if n < 1 {
			return argErrorf("pcct: a hierarchy needs at least one point, got %d", n)
		}
		zs, err := slice[float64](unsafe.Pointer(hierarchy), 4*(int64(n)-1))
		if err != nil {
			return err
		}
		merges := make([]cluster.Merge, n-1)
		for r := range merges {
			a, b, size := int64(zs[4*r]), int64(zs[4*r+1]), int64(zs[4*r+3])
			if a < 0 || b < 0 || a > 2*(int64(n)-1) || b > 2*(int64(n)-1) {
				return argErrorf("pcct: row %d of the hierarchy names a cluster outside 0..%d", r, 2*(int64(n)-1))
			}
			merges[r] = cluster.Merge{A: int(a), B: int(b), Dist: zs[4*r+2], Size: int(size)}
		}
		ls, err := slice[int64](unsafe.Pointer(labels), int64(n))
		if err != nil {
			return err
		}
		for p, l := range cluster.LabelsAtCut(merges, float64(cut), int(minClusterSize)) {
			ls[p] = int64(l)
		}
		return nil
	})
}

// pcct_tree_cover writes the cover of the tree at a level (every node of
// level >= level, parents first): for up to m centers, each center's
// smallest caller index to ids, the number of points it stands for to
// counts and the bound on their distance from it to radii; the number of
// centers goes to *written. Call it with m = 0 to learn the size.
//
//export pcct_tree_cover
func pcct_tree_cover(h C.uintptr_t, level C.int64_t, ids, counts *C.int64_t, radii *C.double, m C.int64_t, written *C.int64_t) C.int64_t {
	return guard(func() error {
		return withTree(h, func(t *tree) error {
			if err := needTree(t, "a level cover"); err != nil {
				return err
			}
			if t.f32 != nil {
				return writeCenters(t.f32.Cover(int(level)), ids, counts, radii, nil, m, written)
			}
			return writeCenters(t.f64.Cover(int(level)), ids, counts, radii, nil, m, written)
		})
	})
}

// pcct_centers_near writes the centers of the cover at a level within
// max_dist of the point q (d values in the tree's dtype), nearest first:
// for up to m centers, the smallest caller index, the count, the radius
// and the distance from q to ids, counts, radii and dists; the number of
// such centers goes to *written. Call it with m = 0 to learn the size.
//
//export pcct_centers_near
func pcct_centers_near(h C.uintptr_t, q unsafe.Pointer, d C.int64_t, level C.int64_t, maxDist C.double, ids, counts *C.int64_t, radii, dists *C.double, m C.int64_t, written *C.int64_t) C.int64_t {
	return guard(func() error {
		return withTree(h, func(t *tree) error {
			if err := needTree(t, "a level cover"); err != nil {
				return err
			}
			if t.f32 != nil {
				return centersNear(t.f32, q, d, level, maxDist, ids, counts, radii, dists, m, written)
			}
			return centersNear(t.f64, q, d, level, maxDist, ids, counts, radii, dists, m, written)
		})
	})
}

func centersNear[T core.Float](t *core.Tree[T], q unsafe.Pointer, d, level C.int64_t, maxDist C.double, ids, counts *C.int64_t, radii, dists *C.double, m C.int64_t, written *C.int64_t) error {
	if int(d) != t.Dim() {
		return argErrorf("X has %d features, but this tree was fitted with %d features", d, t.Dim())
	}
	pt, err := slice[T](q, int64(d))
	if err != nil {
		return err
	}
	cs, err := t.CentersNear(pt, int(level), float64(maxDist))
	if err != nil {
		return argError{err}
	}
	return writeCenters(cs, ids, counts, radii, dists, m, written)
}

func writeCenters[T core.Float](cs []core.Center[T], ids, counts *C.int64_t, radii, dists *C.double, m C.int64_t, written *C.int64_t) error {
	if written != nil {
		*written = C.int64_t(len(cs))
	}
	k := min(int64(m), int64(len(cs)))
	is, err := slice[int64](unsafe.Pointer(ids), k)
	if err != nil {
		return err
	}
	ns, err := slice[int64](unsafe.Pointer(counts), k)
	if err != nil {
		return err
	}
	rs, err := slice[float64](unsafe.Pointer(radii), k)
	if err != nil {
		return err
	}
	var ds []float64
	if dists != nil {
		if ds, err = slice[float64](unsafe.Pointer(dists), k); err != nil {
			return err
		}
	}
	for i := range k {
		c := cs[i]
		is[i], ns[i], rs[i] = int64(c.Node.IDs()[0]), int64(c.Count), c.Radius
		if ds != nil {
			ds[i] = c.Dist
		}
	}
	return nil
}
