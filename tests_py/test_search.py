"""search="depth_first" and search="corrected": both exact, both equal to
brute force, on generated and real data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors as SkNN

from conftest import METRICS, check_kneighbors, load_dataset, reference_distances
from pcct import CoverTree, InvalidParameterError, NearestNeighbors

SEARCHES = ["depth_first", "corrected"]


def _manifold(n, rng):
    X = rng.normal(size=(n, 2)) @ rng.normal(size=(2, 6)) + 0.01 * rng.normal(size=(n, 6))
    X[: n // 10] = X[n // 10 : n // 5]  # duplicates
    return X


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("metric,p", METRICS, ids=[m for m, _ in METRICS])
def test_both_searches_equal_brute_force(metric, p, dtype):
    rng = np.random.default_rng(41)
    X = _manifold(1500, rng).astype(dtype)
    Q = _manifold(200, rng).astype(dtype)
    sk = SkNN(n_neighbors=9, metric=metric, p=p, algorithm="brute").fit(X)
    ref_q = reference_distances(Q, X, metric, p)
    ref_x = reference_distances(X, X, metric, p)
    answers = {}
    for search in SEARCHES:
        nn = NearestNeighbors(n_neighbors=9, metric=metric, p=p, search=search, n_jobs=2).fit(X)
        dist, ind = nn.kneighbors(Q)
        check_kneighbors(dist, ind, ref_q, 9, dtype, sk=sk.kneighbors(Q), scale=10)
        dist_t, ind_t = nn.kneighbors()
        check_kneighbors(dist_t, ind_t, ref_x, 9, dtype, exclude_self=True, sk=sk.kneighbors(), scale=10)
        # After deletions too (the id-list path).
        nn.delete(np.arange(0, 1500, 4))
        live = nn.ids_
        dist_d, ind_d = nn.kneighbors(Q)
        pos = np.searchsorted(live, ind_d)
        assert np.all(live[pos] == ind_d)
        check_kneighbors(dist_d, pos, ref_q[:, live], 9, dtype, scale=10)
        answers[search] = (dist, ind, dist_t, ind_t, dist_d, ind_d)
    # Exact searches: the same answers, to the bit (ties ordered by id).
    for a, b in zip(answers["depth_first"], answers["corrected"]):
        assert a.tobytes() == b.tobytes()


def test_search_is_passed_to_the_library():
    """The two algorithms do different work: their distance counts differ."""
    rng = np.random.default_rng(42)
    X = _manifold(4000, rng)
    Q = _manifold(500, rng)
    evals = {}
    for search in SEARCHES:
        tree = CoverTree(X, search=search)
        before = tree.stats()["query_distance_evaluations"]
        tree.query(Q, k=10)
        evals[search] = tree.stats()["query_distance_evaluations"] - before
        est = NearestNeighbors(n_neighbors=10, search=search).fit(X)
        before = est.tree_.stats()["query_distance_evaluations"]
        est.kneighbors(Q)
        assert est.tree_.stats()["query_distance_evaluations"] - before == evals[search]
    assert evals["depth_first"] != evals["corrected"]
    assert 0 < evals["depth_first"] < len(Q) * len(X) / 4


@pytest.mark.parametrize("name", ["letter", "bunny", "zipcodes"])
def test_both_searches_on_real_data(name, dataset_cache):
    X = load_dataset(name, dataset_cache)
    rng = np.random.default_rng(43)
    X = X[rng.permutation(len(X))[:3000]]
    Q = X[:200] + 0.01 * rng.normal(size=(200, X.shape[1])) * X.std(axis=0)
    ref = reference_distances(Q, X, "euclidean", 2)
    sk = SkNN(n_neighbors=10, algorithm="brute").fit(X).kneighbors(Q)
    out = []
    for search in SEARCHES:
        dist, ind = NearestNeighbors(n_neighbors=10, search=search).fit(X).kneighbors(Q)
        check_kneighbors(dist, ind, ref, 10, np.float64, sk=sk, scale=float(np.abs(X).max()))
        out.append((dist, ind))
    np.testing.assert_array_equal(out[0][1], out[1][1])
    np.testing.assert_array_equal(out[0][0], out[1][0])


def test_bad_search_values():
    X = np.eye(3)
    for bad in ("bfs", "Corrected", "depth-first", None, 1):
        with pytest.raises(InvalidParameterError, match="The 'search' parameter of NearestNeighbors must be a str among"):
            NearestNeighbors(search=bad).fit(X)
        with pytest.raises(ValueError, match="Unsupported search"):
            CoverTree(X, search=bad)
    # Changed after fit: refused at query time, before any work.
    nn = NearestNeighbors(n_neighbors=1).fit(X)
    nn.set_params(search="fast")
    with pytest.raises(InvalidParameterError, match="'search' parameter"):
        nn.kneighbors()
    nn.set_params(search="corrected")
    assert nn.kneighbors()[1].shape == (3, 1)


@pytest.mark.parametrize("search", SEARCHES)
def test_both_searches_on_small_one_dimensional_sets(search):
    """Many small 1-D sets (lines are where level bounds are tightest), every
    metric: the distances equal the exact ones, ties ordered by index."""
    rng = np.random.default_rng(44)
    for trial in range(60):
        n = int(rng.integers(5, 400))
        X = rng.normal(size=(n, 1)) * 10
        if trial % 3 == 0:
            X = np.round(X)  # duplicates and exact ties
        Q = np.vstack([rng.normal(size=(5, 1)) * 10, X[:3]])
        for metric, p in METRICS:
            k = min(7, n - 1)
            nn = NearestNeighbors(n_neighbors=k, metric=metric, p=p, search=search).fit(X)
            ref = reference_distances(Q, X, metric, p)
            dist, ind = nn.kneighbors(Q)
            check_kneighbors(dist, ind, ref, k, np.float64, scale=40)
            dist, ind = nn.kneighbors()
            check_kneighbors(dist, ind, reference_distances(X, X, metric, p), k, np.float64,
                             exclude_self=True, scale=40)
