"""pcct equals scikit-learn's brute force on real datasets.

For each dataset, dtype and metric: kneighbors, radius_neighbors and both
graphs, with query points and with X=None, compared with
sklearn.neighbors.NearestNeighbors(algorithm="brute") and with exact float64
distances (ties aside). Rows are subsampled by whole groups of duplicates,
so the duplicates the data holds stay in.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors as SkNN

from conftest import (
    METRICS,
    check_kneighbors,
    check_radius,
    load_dataset,
    reference_distances,
    subsample_keeping_duplicates,
)
from pcct import NearestNeighbors

DATASETS = ["letter", "pendigits", "magic", "bunny", "zipcodes"]
N_FIT = 1500  # fitted rows per dataset (whole duplicate groups)
N_QUERY = 200
K = 10


def _prepare(name, cache, dtype, n_fit=N_FIT):
    X = load_dataset(name, cache)
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # the same rows every run
    perm = rng.permutation(len(X))
    # Queries: rows outside the fitted set, plus a few fitted rows (distance 0).
    fit = subsample_keeping_duplicates(X[perm[: len(X) // 2]], n_fit, rng)
    other = X[perm[len(X) // 2 :]][: N_QUERY - 20]
    queries = np.vstack([other, fit[rng.choice(len(fit), 20, replace=False)]])
    return fit.astype(dtype), queries.astype(dtype)


def _pattern(g):
    """The stored entries of a CSR graph as ones (a distance of 0 to a
    duplicate is an entry, not an absent edge)."""
    p = g.copy()
    p.data = np.ones_like(p.data, dtype=np.int8)
    return p


def _as_object_rows(g, dtype):
    """The rows of a CSR graph as object arrays of indices and values."""
    rows = np.split(g.indices, g.indptr[1:-1])
    data = np.split(g.data, g.indptr[1:-1])
    obj_i = np.empty(len(rows), dtype=object)
    obj_d = np.empty(len(rows), dtype=object)
    for j, (a, b) in enumerate(zip(rows, data)):
        obj_i[j] = a.astype(np.int64)
        obj_d[j] = b.astype(dtype)
    return obj_d, obj_i


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("metric,p", METRICS, ids=[m for m, _ in METRICS])
@pytest.mark.parametrize("name", DATASETS)
def test_matches_sklearn_brute(name, metric, p, dtype, dataset_cache):
    # Minkowski p=3 costs a pow per coordinate in every implementation.
    X, Q = _prepare(name, dataset_cache, dtype, n_fit=600 if metric == "minkowski" else N_FIT)
    scale = float(np.abs(X).max())
    ours = NearestNeighbors(n_neighbors=K, metric=metric, p=p, n_jobs=2).fit(X)
    sk = SkNN(n_neighbors=K, metric=metric, p=p, algorithm="brute").fit(X)
    assert ours.n_samples_fit_ == len(X)
    assert ours.effective_metric_ == sk.effective_metric_
    assert ours.effective_metric_params_ == sk.effective_metric_params_

    ref_q = reference_distances(Q, X, metric, p)
    ref_x = reference_distances(X, X, metric, p)

    # kneighbors with queries and with X=None.
    dist, ind = ours.kneighbors(Q)
    check_kneighbors(dist, ind, ref_q, K, dtype, sk=sk.kneighbors(Q), scale=scale)
    dist_t, ind_t = ours.kneighbors()
    check_kneighbors(dist_t, ind_t, ref_x, K, dtype, exclude_self=True, sk=sk.kneighbors(),
                     scale=scale)
    np.testing.assert_array_equal(ours.kneighbors(Q, return_distance=False), ind)

    # kneighbors_graph holds the same neighbours.
    for Xq, d_, i_ in ((Q, dist, ind), (None, dist_t, ind_t)):
        for mode in ("connectivity", "distance"):
            g = ours.kneighbors_graph(Xq, mode=mode)
            nq = len(i_)
            assert g.format == "csr" and g.shape == (nq, len(X)) and g.nnz == nq * K
            np.testing.assert_array_equal(g.indptr, np.arange(0, nq * K + 1, K))
            np.testing.assert_array_equal(g.indices.reshape(nq, K), i_)
            np.testing.assert_array_equal(g.data.reshape(nq, K),
                                          np.ones_like(d_) if mode == "connectivity" else d_)

    # radius: about the distance to the 5th neighbour, so rows have a handful.
    r = float(np.median(np.sort(ref_q, axis=1)[:, 4]))
    sk_q = sk.radius_neighbors(Q, radius=r)
    sk_x = sk.radius_neighbors(radius=r)
    for sort_results in (False, True):
        d_r, i_r = ours.radius_neighbors(Q, radius=r, sort_results=sort_results)
        check_radius(d_r, i_r, ref_q, r, dtype, sorted_=sort_results, sk=sk_q, scale=scale)
    d_rt, i_rt = ours.radius_neighbors(radius=r, sort_results=True)
    check_radius(d_rt, i_rt, ref_x, r, dtype, exclude_self=True, sorted_=True, sk=sk_x,
                 scale=scale)
    i_only = ours.radius_neighbors(Q, radius=r, return_distance=False)
    for a, b in zip(i_only, ours.radius_neighbors(Q, radius=r)[1]):
        assert set(a.tolist()) == set(b.tolist())

    # radius 0: exactly the duplicates.
    d0, i0 = ours.radius_neighbors(radius=0.0)
    for i in range(len(X)):
        expected = np.flatnonzero((ref_x[i] == 0) & (np.arange(len(X)) != i))
        np.testing.assert_array_equal(np.sort(i0[i]), expected)
        assert np.all(d0[i] == 0)

    # radius_neighbors_graph in both modes, X given and X=None.
    for Xq, ref, excl, sk_res in ((Q, ref_q, False, sk_q), (None, ref_x, True, sk_x)):
        for mode in ("connectivity", "distance"):
            g = ours.radius_neighbors_graph(Xq, radius=r, mode=mode, sort_results=True)
            assert g.format == "csr" and g.shape == (len(ref), len(X))
            obj_d, obj_i = _as_object_rows(g, dtype)
            check_radius(obj_d if mode == "distance" else None, obj_i, ref, r, dtype,
                         exclude_self=excl, sorted_=(mode == "distance"), sk=sk_res,
                         scale=scale)
            if mode == "connectivity":
                assert np.all(g.data == 1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("metric,p", [("euclidean", 2), ("manhattan", 1)], ids=["l2", "l1"])
@pytest.mark.parametrize("name", DATASETS)
def test_graphs_match_sklearn(name, metric, p, dtype, dataset_cache):
    """The graphs have scikit-learn's type, shape, dtype and entries (ties
    and points within float tolerance of the radius aside)."""
    X, Q = _prepare(name, dataset_cache, dtype)
    scale = float(np.abs(X).max())
    ours = NearestNeighbors(n_neighbors=K, metric=metric, p=p).fit(X)
    sk = SkNN(n_neighbors=K, metric=metric, p=p, algorithm="brute").fit(X)
    ref_q = reference_distances(Q, X, metric, p)
    ref_x = reference_distances(X, X, metric, p)
    r = float(np.median(np.sort(ref_q, axis=1)[:, 4]))
    for Xq, ref in ((Q, ref_q), (None, ref_x)):
        for mode in ("connectivity", "distance"):
            g, gs = ours.kneighbors_graph(Xq, mode=mode), sk.kneighbors_graph(Xq, mode=mode)
            assert type(g) is type(gs) and g.shape == gs.shape and g.nnz == gs.nnz
            # Row by row: the same sorted weights.
            np.testing.assert_allclose(np.sort(g.data.reshape(g.shape[0], K), axis=1),
                                       np.sort(gs.data.reshape(g.shape[0], K), axis=1),
                                       rtol=1e-5, atol=1e-5 * scale)
            # Every edge weighs its true distance.
            if mode == "distance":
                rr, cc = g.nonzero()
                np.testing.assert_allclose(np.asarray(g[rr, cc]).ravel(), ref[rr, cc],
                                           rtol=1e-5, atol=1e-6 * scale)

            g, gs = (ours.radius_neighbors_graph(Xq, radius=r, mode=mode),
                     sk.radius_neighbors_graph(Xq, radius=r, mode=mode))
            assert type(g) is type(gs) and g.shape == gs.shape
            diff = abs(_pattern(g) - _pattern(gs))
            if diff.nnz:  # only points on the boundary, within float tolerance
                rr, cc = diff.nonzero()
                assert np.all(np.abs(ref[rr, cc] - r) <= 1e-5 * max(r, scale))
            common = g.multiply(_pattern(gs))
            common_s = gs.multiply(_pattern(g))
            np.testing.assert_allclose(common.toarray(), common_s.toarray(),
                                       rtol=1e-5, atol=1e-5 * scale)
