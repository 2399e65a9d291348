"""One radius per query (radius_neighbors(X, radius=array), KDTree's
query_radius(X, r=array)), and the order of unsorted radius answers
(ascending id, scikit-learn's brute-force order), checked against
scikit-learn on grids (duplicates, exact ties on the radius), random and
real data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KDTree
from sklearn.neighbors import NearestNeighbors as SkNN

from pcct import CoverTree, NearestNeighbors
from conftest import load_dataset, subsample_keeping_duplicates


def grid(rng, n, d, top=5):
    return rng.integers(0, top, size=(n, d)).astype(np.float64)


def per_query(sk, Q, radii, sort_results):
    """scikit-learn's answers with each query's own radius: one call per
    distinct radius, each query's row taken from the call of its radius."""
    dist = np.empty(len(Q), dtype=object)
    ind = np.empty(len(Q), dtype=object)
    for r in np.unique(radii):
        rows = np.flatnonzero(radii == r)
        d, j = sk.radius_neighbors(Q[rows], radius=r, sort_results=sort_results)
        for k, i in enumerate(rows):
            dist[i], ind[i] = d[k], j[k]
    return dist, ind


@pytest.mark.parametrize("kind", ["grid", "random"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_radius_array_matches_sklearn(kind, dtype):
    rng = np.random.default_rng(1)
    if kind == "grid":
        X, Q = grid(rng, 400, 3), grid(rng, 60, 3)
        choices = [0.0, 1.0, 2.0, 3.0]  # exact ties on the radius
    else:
        X, Q = rng.normal(size=(400, 3)), rng.normal(size=(60, 3))
        choices = [0.0, 0.3, 0.7, 1.2]
    X, Q = X.astype(dtype), Q.astype(dtype)
    radii = rng.choice(choices, size=len(Q))
    nn = NearestNeighbors(n_jobs=2).fit(X)
    sk = SkNN(algorithm="brute").fit(X)
    dist, ind = nn.radius_neighbors(Q, radius=radii)
    sk_dist, sk_ind = per_query(sk, Q, radii, False)
    for i in range(len(Q)):
        # Unsorted answers come by ascending id: scikit-learn's brute order.
        np.testing.assert_array_equal(ind[i], sk_ind[i])
        np.testing.assert_allclose(dist[i], sk_dist[i], rtol=1e-6, atol=1e-6)
    sdist, sind = nn.radius_neighbors(Q, radius=radii, sort_results=True)
    for i in range(len(Q)):
        order = np.lexsort((ind[i], dist[i]))
        np.testing.assert_array_equal(sind[i], ind[i][order])
        np.testing.assert_array_equal(sdist[i], dist[i][order])
    # One radius for all: the array of equal radii gives the same answers.
    r = choices[2]
    d1, i1 = nn.radius_neighbors(Q, radius=r)
    d2, i2 = nn.radius_neighbors(Q, radius=np.full(len(Q), r))
    for a, b in zip(i1, i2):
        np.testing.assert_array_equal(a, b)


def test_radius_array_fitted_points_and_graph():
    rng = np.random.default_rng(2)
    X = grid(rng, 300, 2)
    radii = rng.choice([0.0, 1.0, 1.5, 2.0], size=len(X))
    nn = NearestNeighbors().fit(X)
    sk = SkNN(algorithm="brute").fit(X)
    dist, ind = nn.radius_neighbors(radius=radii)
    _, sk_ind = per_query(sk, X, radii, False)
    for i in range(len(X)):
        j = sk_ind[i]
        np.testing.assert_array_equal(ind[i], j[j != i])  # X=None: not its own neighbour
    G = nn.radius_neighbors_graph(radius=radii, mode="distance")
    assert G.shape == (len(X), len(X))
    for i in range(len(X)):
        row = G.getrow(i)
        np.testing.assert_array_equal(row.indices, ind[i])
    counts = nn.tree_.query_radius(X, radii, count_only=True)
    np.testing.assert_array_equal(counts, [len(a) + 1 for a in ind])


def test_query_radius_array_matches_kdtree():
    rng = np.random.default_rng(3)
    X, Q = grid(rng, 500, 3), grid(rng, 80, 3)
    radii = rng.choice([0.0, 1.0, 2.0, 2.5], size=len(Q))
    tree, kd = CoverTree(X, n_jobs=2), KDTree(X)
    ind, dist = tree.query_radius(Q, radii, return_distance=True, sort_results=True)
    kind, kdist = kd.query_radius(Q, radii, return_distance=True, sort_results=True)
    for i in range(len(Q)):
        np.testing.assert_allclose(dist[i], kdist[i], rtol=1e-12)
        assert set(ind[i]) == set(kind[i])
        # Ties by id (KDTree leaves them in its own order).
        same = np.diff(dist[i]) == 0
        assert np.all(np.diff(ind[i])[same] > 0)
    np.testing.assert_array_equal(tree.query_radius(Q, radii, count_only=True),
                                  kd.query_radius(Q, radii, count_only=True))


def test_unsorted_order_after_deletions():
    rng = np.random.default_rng(4)
    X = grid(rng, 300, 2)
    nn = NearestNeighbors().fit(X)
    nn.delete([1, 2, 3, 100])
    nn.insert(grid(rng, 50, 2))
    _, ind = nn.radius_neighbors(X[:40], radius=2.0)
    for row in ind:
        assert np.all(np.diff(row) > 0)


@pytest.mark.parametrize("name", ["letter", "zipcodes"])
def test_radius_array_real_data(name, dataset_cache):
    X = load_dataset(name, dataset_cache)
    rng = np.random.default_rng(5)
    X = subsample_keeping_duplicates(X, 3000, rng)
    Q = X[rng.choice(len(X), 200, replace=False)]
    nn = NearestNeighbors(n_jobs=2).fit(X)
    sk = SkNN(algorithm="brute").fit(X)
    scale = np.median(nn.kneighbors(Q, 10)[0][:, -1])
    # Radii off the data's distances: scikit-learn's brute force computes
    # Euclidean distances as |x|^2 - 2 x.y + |y|^2, whose rounding (a point
    # a few ulps from itself) decides the boundary differently.
    radii = rng.choice([0.37 * scale, 1.37 * scale, 2.11 * scale], size=len(Q))
    _, ind = nn.radius_neighbors(Q, radius=radii)
    _, sk_ind = per_query(sk, Q, radii, False)
    for a, b in zip(ind, sk_ind):
        np.testing.assert_array_equal(a, b)


def test_radius_array_errors():
    X = np.arange(20, dtype=float).reshape(10, 2)
    nn = NearestNeighbors().fit(X)
    with pytest.raises(ValueError, match="there are 3 queries"):
        nn.radius_neighbors(X[:3], radius=[1.0, 2.0])
    with pytest.raises(ValueError, match="there are 10 queries"):
        nn.radius_neighbors(radius=np.ones(3))
    with pytest.raises(ValueError, match=r"radius\[1\] == -1.0, must be >= 0"):
        nn.radius_neighbors(X[:3], radius=[1.0, -1.0, 2.0])
    with pytest.raises(ValueError, match=r"radius\[0\] == nan"):
        nn.radius_neighbors(X[:1], radius=[np.nan])
    with pytest.raises(ValueError, match="must hold numbers"):
        nn.radius_neighbors(X[:2], radius=["a", "b"])
    with pytest.raises(ValueError, match="one radius per query"):
        CoverTree(X).query_radius(X, np.ones((10, 1)))
