"""CoverTree: the KDTree-shaped lower-level class."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KDTree

import pcct._lib
import pcct._search
from conftest import METRICS, check_kneighbors, check_radius, reference_distances
from pcct import CoverTree, NearestNeighbors

rng = np.random.default_rng(3)


def _data(n=2000, d=4):
    # Points near a 2-D plane in 4-D, with a few duplicates.
    X = rng.normal(size=(n, 2)) @ rng.normal(size=(2, d)) + 0.01 * rng.normal(size=(n, d))
    k = n // 20
    X[:k] = X[k : 2 * k]
    return X


@pytest.mark.parametrize("metric,p", METRICS, ids=[m for m, _ in METRICS])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_query_matches_kdtree(metric, p, dtype):
    X = _data().astype(dtype)
    Q = _data(300).astype(dtype)
    tree = CoverTree(X, metric=metric, p=p, n_jobs=2)
    kd = KDTree(X.astype(np.float64), metric="minkowski", p=p)
    ref = reference_distances(Q, X, metric, p)
    dist, ind = tree.query(Q, k=7)
    check_kneighbors(dist, ind, ref, 7, dtype, sk=kd.query(Q.astype(np.float64), k=7))
    np.testing.assert_array_equal(tree.query(Q, k=7, return_distance=False), ind)

    r = float(np.median(dist[:, 3]))
    ind_r = tree.query_radius(Q, r)
    check_radius(None, ind_r, ref, r, dtype, sk=(None, kd.query_radius(Q.astype(np.float64), r)))
    ind_r, dist_r = tree.query_radius(Q, r, return_distance=True, sort_results=True)
    check_radius(dist_r, ind_r, ref, r, dtype, sorted_=True)
    counts = tree.query_radius(Q, r, count_only=True)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, [len(a) for a in ind_r])
    np.testing.assert_array_equal(counts, kd.query_radius(Q.astype(np.float64), r, count_only=True))


def test_attributes_and_repr():
    X = _data(100, 3)
    tree = CoverTree(X, metric="l1")
    assert (tree.n_samples, tree.n_features, tree.dtype, tree.metric) == (100, 3, np.float64, "manhattan")
    assert repr(tree) == "CoverTree(n_samples=100, n_features=3, dtype=float64, metric=manhattan)"
    t3 = CoverTree(X.astype(np.float32), metric="minkowski", p=3)
    assert t3.metric == "minkowski" and t3.p == 3.0 and t3.dtype == np.float32
    assert "minkowski(p=3)" in repr(t3)
    assert CoverTree(X, metric="minkowski", p=np.inf).metric == "chebyshev"
    assert CoverTree(X).metric == "euclidean"


def test_stats():
    X = _data(3000, 4)
    tree = CoverTree(X)
    s = tree.stats()
    expected_keys = {"points", "nodes", "dim", "dtype", "levels", "min_level", "max_level",
                     "depth", "max_fanout", "build_distance_evaluations",
                     "query_distance_evaluations", "nodes_per_level", "metric", "ids_issued"}
    assert expected_keys <= set(s)
    assert s["points"] == 3000 and s["dim"] == 4 and s["dtype"] == "float64"
    assert s["ids_issued"] == 3000
    assert s["metric"] == "euclidean"
    n_distinct = len(np.unique(X, axis=0))
    assert s["nodes"] == n_distinct < 3000
    assert sum(s["nodes_per_level"].values()) == s["nodes"]
    assert len(s["nodes_per_level"]) == s["levels"]
    assert min(s["nodes_per_level"]) == s["min_level"] and max(s["nodes_per_level"]) == s["max_level"]
    assert s["nodes_per_level"][s["max_level"]] == 1  # the root
    assert 1 <= s["depth"] and 1 <= s["max_fanout"] < s["nodes"]
    assert s["build_distance_evaluations"] > 0
    # Query counters grow with queries, and an exact tree does far less work
    # than brute force on this low-dimensional data.
    before = s["query_distance_evaluations"]
    tree.query(X[:500], k=5)
    used = tree.stats()["query_distance_evaluations"] - before
    assert 0 < used < 500 * 3000 / 4
    assert CoverTree(X.astype(np.float32)).stats()["dtype"] == "float32"


def test_seed_changes_tree_not_answers():
    X = _data(1500, 3)
    a, b = CoverTree(X, seed=1), CoverTree(X, seed=2)
    for x, y in zip(a.query(X[:200], k=5), b.query(X[:200], k=5)):
        np.testing.assert_array_equal(x, y)
    assert CoverTree(X, seed=1).stats()["nodes_per_level"] == a.stats()["nodes_per_level"]


def test_chunked_queries_equal_one_call(monkeypatch):
    """Radius batches are cut into chunks of rows (which bounds the results
    Go holds at once); the answers do not change, with queries and with
    X=None."""
    X = _data(2500, 3)
    Q = _data(1000, 3)
    est = NearestNeighbors(n_neighbors=6, n_jobs=2).fit(X)
    whole_k = est.kneighbors(Q), est.kneighbors()
    whole_r = (est.radius_neighbors(Q, radius=0.3, sort_results=True),
               est.radius_neighbors(radius=0.3, sort_results=True))
    whole_g = est.radius_neighbors_graph(radius=0.3, mode="distance", sort_results=True)
    calls = []
    real = pcct._lib.lib()

    class Counting:
        """Counts the query calls into Go."""

        def __getattr__(self, name):
            fn = getattr(real, name)
            if not name.startswith(("pcct_kneighbors", "pcct_radius")) or name == "pcct_radius_fill":
                return fn

            def wrapper(*args):
                calls.append(name)
                return fn(*args)

            return wrapper

    monkeypatch.setattr(pcct._search, "CHUNK_ROWS", 97)
    monkeypatch.setattr(est.tree_, "_chunk", lambda jobs: 97)
    monkeypatch.setattr(pcct._lib, "lib", lambda: Counting())
    chunked_k = est.kneighbors(Q), est.kneighbors()
    chunked_r = (est.radius_neighbors(Q, radius=0.3, sort_results=True),
                 est.radius_neighbors(radius=0.3, sort_results=True))
    chunked_g = est.radius_neighbors_graph(radius=0.3, mode="distance", sort_results=True)
    for w, c in zip(whole_k, chunked_k):
        np.testing.assert_array_equal(w[0], c[0])
        np.testing.assert_array_equal(w[1], c[1])
    for w, c in zip(whole_r, chunked_r):
        for a, b in zip(w[0], c[0]):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(w[1], c[1]):
            np.testing.assert_array_equal(a, b)
    assert (whole_g != chunked_g).nnz == 0
    np.testing.assert_array_equal(whole_g.indptr, chunked_g.indptr)
    # k-NN batches are one call (Ctrl-C reaches Go through the control
    # words); radius batches take ceil(1000/97) = 11 and ceil(2500/97) = 26
    # calls.
    assert calls.count("pcct_kneighbors_on") == 1
    assert calls.count("pcct_kneighbors_fitted_on") == 1
    assert calls.count("pcct_radius_on") == 11
    assert calls.count("pcct_radius_fitted_on") == 2 * 26


def test_chunk_size_grows_with_jobs():
    tree = CoverTree(_data(50, 2))
    assert tree._chunk(1) == pcct._search.CHUNK_ROWS
    assert tree._chunk(64) >= 64 * 64


def test_query_radius_object_arrays_with_equal_lengths():
    # Equal-length rows must still give a 1-D object array of arrays.
    X = np.arange(10, dtype=float).reshape(-1, 1)
    ind = CoverTree(X).query_radius([[0.0], [9.0]], 1.0)
    assert ind.shape == (2,) and ind.dtype == object
    assert sorted(ind[0].tolist()) == [0, 1] and sorted(ind[1].tolist()) == [8, 9]
