"""Calls into Go for the applications on a tree version (package cluster:
minimum spanning tree, single linkage, DBSCAN, HDBSCAN) and for the level
covers.

Each function takes a :class:`pcct._handle.TreeVersion`, allocates the
output arrays, makes one call (in a worker thread when it is long, so that
Ctrl-C stops it) and returns numpy arrays. Results are indexed by position
among the version's live ids, ascending. No algorithm runs here.
"""

from __future__ import annotations

import ctypes

import numpy as np

from . import _lib, _run
from ._handle import ptr
from ._validation import DTYPES

__all__ = [
    "mst",
    "single_linkage",
    "dbscan",
    "dbscan_points",
    "mst_points",
    "single_linkage_points",
    "hdbscan",
    "labels_at_cut",
    "cover",
    "centers_near",
    "points",
    "SELECTION_METHODS",
]

# HDBSCAN's cluster_selection_method -> C ABI code.
SELECTION_METHODS = {"eom": 0, "leaf": 1}

# The largest n_jobs the C ABI takes (an int32).
_MAX_JOBS = 2**31 - 1


def _run_call(version, work, desc):
    # The brute-force bound of the work: every point against every point.
    return _run.run(work, total=0, desc=desc, unit="nodes", verbose=False,
                    cost=version.work_bound(version.n_samples))


def mst(version, jobs):
    """The minimum spanning tree's edges: (i, j, distance) arrays of
    n_samples - 1 values, i < j being ids, sorted by distance."""
    m = max(version.n_samples - 1, 0)
    i = np.empty(m, dtype=np.int64)
    j = np.empty(m, dtype=np.int64)
    d = np.empty(m, dtype=np.float64)
    lib = _lib.lib()

    def work(control):
        _lib.check(lib.pcct_mst(version.handle, min(jobs, _MAX_JOBS), control, ptr(i), ptr(j),
                                ptr(d), m))
        return i, j, d

    return _run_call(version, work, "pcct minimum spanning tree")


def single_linkage(version, jobs):
    """scipy's linkage matrix ((n_samples - 1, 4) float64) of the points in
    the order of the live ids."""
    m = max(version.n_samples - 1, 0)
    z = np.empty((m, 4), dtype=np.float64)
    lib = _lib.lib()

    def work(control):
        _lib.check(lib.pcct_single_linkage(version.handle, min(jobs, _MAX_JOBS), control,
                                           ptr(z), m))
        return z

    return _run_call(version, work, "pcct single linkage")


def dbscan(version, eps, min_samples, sample_weight, jobs):
    """DBSCAN labels (int64) and core flags (bool) per live point."""
    n = version.n_samples
    labels = np.empty(n, dtype=np.int64)
    core = np.empty(n, dtype=np.uint8)
    lib = _lib.lib()

    weights = None if sample_weight is None else ptr(sample_weight)

    def work(control):
        _lib.check(lib.pcct_dbscan(version.handle, eps, min_samples, weights,
                                   min(jobs, _MAX_JOBS), control, ptr(labels), ptr(core), n))
        return labels, core.astype(bool)

    return _run_call(version, work, "pcct DBSCAN")


def dbscan_points(X, code, p, eps, min_samples, sample_weight, jobs):
    """DBSCAN labels (int64) and core flags (bool) of the rows of X (checked,
    C-contiguous float32 or float64), with no tree kept: Euclidean rows of
    one to three features on a grid, of four to 64 on a k-d tree, others on
    a cover tree built for the call."""
    n, d = X.shape
    labels = np.empty(n, dtype=np.int64)
    core = np.empty(n, dtype=np.uint8)
    lib = _lib.lib()
    weights = None if sample_weight is None else ptr(sample_weight)

    def work(control):
        _lib.check(lib.pcct_dbscan_points(ptr(X), DTYPES[X.dtype], n, d, code, p, eps,
                                          min_samples, weights, min(jobs, _MAX_JOBS), control,
                                          ptr(labels), ptr(core)))
        return labels, core.astype(bool)

    # The brute-force bound of the work: every row against every row.
    return _run.run(work, total=0, desc="pcct DBSCAN", unit="nodes", verbose=False,
                    cost=float(n) * n * d)


def mst_points(X, code, p, jobs):
    """The minimum spanning tree's edges of the rows of X (checked,
    C-contiguous float32 or float64), with no tree kept: (i, j, distance)
    arrays of n - 1 values, i < j being row numbers, sorted by distance, as
    :func:`mst` gives them for a tree over X. Euclidean rows of one to three
    features are spanned on a k-d tree, others on a cover tree built for
    the call."""
    n, d = X.shape
    m = max(n - 1, 0)
    i = np.empty(m, dtype=np.int64)
    j = np.empty(m, dtype=np.int64)
    dist = np.empty(m, dtype=np.float64)
    lib = _lib.lib()

    def work(control):
        _lib.check(lib.pcct_mst_points(ptr(X), DTYPES[X.dtype], n, d, code, p,
                                       min(jobs, _MAX_JOBS), control, ptr(i), ptr(j), ptr(dist)))
        return i, j, dist

    # The brute-force bound of the work: every row against every row.
    return _run.run(work, total=0, desc="pcct minimum spanning tree", unit="nodes",
                    verbose=False, cost=float(n) * n * d)


def single_linkage_points(X, code, p, jobs):
    """scipy's linkage matrix ((n - 1, 4) float64) of the rows of X
    (checked, C-contiguous float32 or float64, at least 2 rows), leaf i
    being row i, with no tree kept, as :func:`single_linkage` gives it for a
    tree over X."""
    n, d = X.shape
    z = np.empty((n - 1, 4), dtype=np.float64)
    lib = _lib.lib()

    def work(control):
        _lib.check(lib.pcct_single_linkage_points(ptr(X), DTYPES[X.dtype], n, d, code, p,
                                                  min(jobs, _MAX_JOBS), control, ptr(z)))
        return z

    # The brute-force bound of the work: every row against every row.
    return _run.run(work, total=0, desc="pcct single linkage", unit="nodes",
                    verbose=False, cost=float(n) * n * d)


# scikit-learn's dtype of Prim's spanning tree edges (MST_edge_dtype).
_MST_EDGE = np.dtype([("current_node", np.int64), ("next_node", np.int64),
                      ("distance", np.float64)])


def hdbscan(version, *, min_cluster_size, min_samples, cluster_selection_epsilon,
            max_cluster_size, alpha, method, allow_single_cluster, jobs):
    """HDBSCAN labels (int64), probabilities (float64) and the
    single-linkage tree ((n - 1, 4) float64: left, right, distance, size)
    of the live points.

    Go finds the spanning tree of the mutual reachability distance that
    scikit-learn's Prim's algorithm finds, edges in Prim's order; they are
    sorted here exactly as scikit-learn sorts them (numpy's default argsort
    of the same array, whose order of tied weights is numpy's), and Go
    builds, condenses and labels the hierarchy in that order.
    """
    n = version.n_samples
    mst = np.empty(max(n - 1, 0), dtype=_MST_EDGE)
    i = np.empty(mst.size, dtype=np.int64)
    j = np.empty(mst.size, dtype=np.int64)
    d = np.empty(mst.size, dtype=np.float64)
    lib = _lib.lib()

    def work(control):
        _lib.check(lib.pcct_hdbscan_tree(version.handle, min_samples, alpha,
                                         min(jobs, _MAX_JOBS), control, ptr(i), ptr(j), ptr(d),
                                         mst.size))

    _run_call(version, work, "pcct HDBSCAN")
    mst["current_node"], mst["next_node"], mst["distance"] = i, j, d
    mst = mst[np.argsort(mst["distance"])]
    i = np.ascontiguousarray(mst["current_node"])
    j = np.ascontiguousarray(mst["next_node"])
    d = np.ascontiguousarray(mst["distance"])
    labels = np.empty(n, dtype=np.int64)
    probs = np.empty(n, dtype=np.float64)
    tree = np.empty((mst.size, 4), dtype=np.float64)
    _lib.check(lib.pcct_hdbscan_labels(
        ptr(i), ptr(j), ptr(d), n, min_cluster_size, cluster_selection_epsilon,
        max_cluster_size, SELECTION_METHODS[method], int(bool(allow_single_cluster)),
        ptr(labels), ptr(probs), ptr(tree),
    ))
    return labels, probs, tree


def labels_at_cut(tree, cut, min_cluster_size):
    """The flat clustering of a single-linkage tree ((n - 1, 4) float64)
    cut at a distance (int64 labels, -1 for noise)."""
    tree = np.ascontiguousarray(tree, dtype=np.float64)
    n = tree.shape[0] + 1
    labels = np.empty(n, dtype=np.int64)
    _lib.check(_lib.lib().pcct_labels_at_cut(ptr(tree), n, cut, min_cluster_size, ptr(labels)))
    return labels


def cover(version, level):
    """The cover at a level: ids, counts (int64) and radii (float64) of
    its centers, parents first."""
    lib = _lib.lib()
    h = version.handle
    written = ctypes.c_int64(0)
    _lib.check(lib.pcct_tree_cover(h, level, None, None, None, 0, ctypes.byref(written)))
    m = written.value
    ids = np.empty(m, dtype=np.int64)
    counts = np.empty(m, dtype=np.int64)
    radii = np.empty(m, dtype=np.float64)
    _lib.check(lib.pcct_tree_cover(h, level, ptr(ids), ptr(counts), ptr(radii), m,
                                   ctypes.byref(written)))
    if written.value != m:  # pragma: no cover - a version never changes
        raise RuntimeError(f"pcct: the cover listed {m} centers, then {written.value}")
    return ids, counts, radii


def centers_near(version, q, level, max_distance):
    """The centers of the cover at a level within max_distance of the point
    q (a C-contiguous row in the tree's dtype), nearest first: ids, counts,
    radii and distances."""
    lib = _lib.lib()
    h = version.handle
    d = q.shape[0]
    written = ctypes.c_int64(0)
    _lib.check(lib.pcct_centers_near(h, ptr(q), d, level, max_distance, None, None, None, None,
                                     0, ctypes.byref(written)))
    m = written.value
    ids = np.empty(m, dtype=np.int64)
    counts = np.empty(m, dtype=np.int64)
    radii = np.empty(m, dtype=np.float64)
    dists = np.empty(m, dtype=np.float64)
    _lib.check(lib.pcct_centers_near(h, ptr(q), d, level, max_distance, ptr(ids), ptr(counts),
                                     ptr(radii), ptr(dists), m, ctypes.byref(written)))
    if written.value != m:  # pragma: no cover - a version never changes
        raise RuntimeError(f"pcct: {m} centers were near the point, then {written.value}")
    return ids, counts, radii, dists


def points(version, ids):
    """The points of ids (a C-contiguous int64 array) as the tree stores
    them, in its dtype: an (len(ids), n_features) array."""
    out = np.empty((ids.size, version.n_features), dtype=version.dtype)
    _lib.check(_lib.lib().pcct_tree_points(version.handle, ptr(ids), ids.size, ptr(out)))
    return out
