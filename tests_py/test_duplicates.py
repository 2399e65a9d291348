"""Random data with many exact duplicates (integer grids), against
scikit-learn's brute force: every tie is a tie in exact arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors as SkNN

from conftest import METRICS, check_kneighbors, check_radius, reference_distances
from pcct import NearestNeighbors

CASES = [
    # (rows, dims, values per coordinate): from "all one point" to mild.
    (500, 3, 1),
    (800, 2, 3),
    (1200, 3, 5),
    (1000, 6, 3),
    (1000, 1, 50),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("metric,p", METRICS, ids=[m for m, _ in METRICS])
@pytest.mark.parametrize("n,d,values", CASES, ids=[f"{n}x{d}of{v}" for n, d, v in CASES])
def test_integer_grid(n, d, values, metric, p, dtype):
    rng = np.random.default_rng(n * 31 + d * 7 + values)
    X = rng.integers(0, values, size=(n, d)).astype(dtype)
    Q = rng.integers(-1, values + 1, size=(100, d)).astype(dtype)
    k = min(12, n - 1)
    ours = NearestNeighbors(n_neighbors=k, metric=metric, p=p, n_jobs=2).fit(X)
    sk = SkNN(n_neighbors=k, metric=metric, p=p, algorithm="brute").fit(X)
    ref_q = reference_distances(Q, X, metric, p)
    ref_x = reference_distances(X, X, metric, p)

    dist, ind = ours.kneighbors(Q)
    check_kneighbors(dist, ind, ref_q, k, dtype, sk=sk.kneighbors(Q), scale=values)
    dist, ind = ours.kneighbors()
    check_kneighbors(dist, ind, ref_x, k, dtype, exclude_self=True, sk=sk.kneighbors(), scale=values)

    # Exact ties are ordered by index: the answer is fully determined.
    order = np.lexsort((np.broadcast_to(np.arange(n), ref_q.shape), ref_q), axis=1)[:, :k]
    np.testing.assert_array_equal(ours.kneighbors(Q, return_distance=False), order)

    for r in (0.0, 1.0, 2.0):
        d_r, i_r = ours.radius_neighbors(Q, radius=r, sort_results=True)
        check_radius(d_r, i_r, ref_q, r, dtype, sorted_=True, sk=sk.radius_neighbors(Q, radius=r))
    r = 1.0
    d_r, i_r = ours.radius_neighbors(radius=r)
    gs = sk.radius_neighbors_graph(radius=r, mode="distance")
    sk_rows = np.empty(n, dtype=object)
    for j in range(n):
        sk_rows[j] = gs.indices[gs.indptr[j]:gs.indptr[j + 1]].astype(np.int64)
    check_radius(d_r, i_r, ref_x, r, dtype, exclude_self=True, sk=(None, sk_rows))
    g = ours.radius_neighbors_graph(radius=r, mode="distance")
    assert g.shape == gs.shape and g.nnz == gs.nnz
    # Integer data: distances at the radius are exact, so the graphs have the
    # same entries (a duplicate's entry holds distance 0).
    g.sort_indices()
    gs.sort_indices()
    np.testing.assert_array_equal(g.indptr, gs.indptr)
    np.testing.assert_array_equal(g.indices, gs.indices)
    np.testing.assert_allclose(g.data, gs.data, rtol=1e-6, atol=1e-6)


def test_all_points_identical():
    X = np.ones((50, 4))
    est = NearestNeighbors(n_neighbors=49).fit(X)
    d, i = est.kneighbors()
    assert np.all(d == 0)
    for row, ind in enumerate(i):
        np.testing.assert_array_equal(ind, np.delete(np.arange(50), row))
    dr, ir = est.radius_neighbors(radius=0.0)
    assert all(len(a) == 49 for a in ir)
    st = est.tree_.stats()
    assert st["points"] == 50 and st["nodes"] == 1
