"""Shared fixtures and reference computations for the pcct test suite."""

from __future__ import annotations

import signal

import numpy as np
import pytest
from scipy.spatial.distance import cdist

import pcct_datasets

# (name, metric, p): every metric family pcct serves, minkowski with a p that
# stays minkowski (p=3) and spelled as its aliases elsewhere.
METRICS = [
    ("euclidean", 2),
    ("manhattan", 1),
    ("chebyshev", np.inf),
    ("minkowski", 3),
]


def reference_distances(Q, X, metric, p):
    """Exact float64 distances between the rows of Q and X (pcct computes
    float32 distances in float64 too, then rounds)."""
    Q = np.asarray(Q, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if metric in ("euclidean", "l2"):
        return cdist(Q, X, "euclidean")
    if metric in ("manhattan", "cityblock", "l1"):
        return cdist(Q, X, "cityblock")
    if metric in ("chebyshev", "infinity"):
        return cdist(Q, X, "chebyshev")
    if metric == "cosine":
        from sklearn.metrics.pairwise import cosine_distances

        return np.clip(cosine_distances(Q, X), 0.0, 2.0)
    if metric == "haversine":
        from sklearn.metrics.pairwise import haversine_distances

        return haversine_distances(Q, X)
    if metric == "minkowski":
        if p == 1:
            return cdist(Q, X, "cityblock")
        if p == 2:
            return cdist(Q, X, "euclidean")
        if np.isinf(p):
            return cdist(Q, X, "chebyshev")
        return cdist(Q, X, "minkowski", p=p)
    raise AssertionError(metric)


def subsample_keeping_duplicates(X, n, rng):
    """About n rows of X chosen by whole groups of identical rows, so that
    every chosen row keeps all its duplicates."""
    if len(X) <= n:
        return X
    _, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    order = rng.permutation(len(counts))
    keep_groups = order[np.cumsum(counts[order]) <= n]
    mask = np.isin(inverse, keep_groups)
    return X[mask]


def tolerance(dtype, scale):
    """(rtol, atol) for comparing distances with a float64 reference."""
    if np.dtype(dtype) == np.float32:
        return 2e-6, 1e-6 * scale
    return 1e-11, 1e-11 * scale


def check_kneighbors(dist, ind, ref, k, dtype, exclude_self=False, sk=None, scale=1.0):
    """Check a k-NN answer against the exact distance matrix ref.

    - shapes and dtypes; rows sorted; indices distinct and in range;
    - every returned index's true distance equals the returned distance;
    - the returned distances equal the k smallest true distances;
    - where a distance is not tied with its neighbours in the sorted order,
      the index equals the exact answer (ties ordered by index);
    - with exclude_self, query i never lists point i;
    - against scikit-learn's answer sk = (dist, ind): equal distances, and
      equal indices at untied positions.
    """
    nq, n = ref.shape
    rtol, atol = tolerance(dtype, scale)
    assert dist.shape == (nq, k) and ind.shape == (nq, k)
    assert dist.dtype == np.dtype(dtype)
    assert ind.dtype == np.int64
    assert ind.min() >= 0 and ind.max() < n
    assert np.all(np.diff(dist.astype(np.float64), axis=1) >= 0), "rows are not sorted"
    assert all(len(set(row)) == k for row in ind), "an index repeats within a row"
    rows = np.arange(nq)[:, None]
    ref = ref.copy()
    if exclude_self:
        assert not np.any(ind == rows), "a point is its own neighbour with X=None"
        ref[np.arange(nq), np.arange(nq)] = np.inf
    np.testing.assert_allclose(ref[rows, ind], dist, rtol=rtol, atol=atol,
                               err_msg="returned distance differs from the true distance")
    order = np.argsort(ref, axis=1, kind="stable")[:, : k + 1]
    true_sorted = ref[rows, order]
    np.testing.assert_allclose(dist, true_sorted[:, :k], rtol=rtol, atol=atol,
                               err_msg="not the k smallest distances")
    # Untied positions: separated from the previous and the next true distance.
    tol = atol + rtol * np.abs(true_sorted)
    prev = np.concatenate([np.full((nq, 1), -np.inf), true_sorted[:, :k - 1]], axis=1)
    nxt = true_sorted[:, 1 : k + 1] if n > k else np.full((nq, k), np.inf)
    if nxt.shape[1] < k:
        nxt = np.concatenate([nxt, np.full((nq, k - nxt.shape[1]), np.inf)], axis=1)
    here = true_sorted[:, :k]
    untied = (here - prev > 2 * tol[:, :k]) & (nxt - here > 2 * tol[:, :k])
    np.testing.assert_array_equal(ind[untied], order[:, :k][untied])
    if sk is not None:
        sk_dist, sk_ind = sk
        np.testing.assert_allclose(sk_dist, dist.astype(np.float64), rtol=max(rtol, 1e-6),
                                   atol=max(atol, 1e-6 * scale),
                                   err_msg="distances differ from scikit-learn's")
        np.testing.assert_array_equal(ind[untied], sk_ind[untied])
    return untied


def _dense(ind_rows, n):
    """Object array of index arrays -> dense boolean membership matrix."""
    counts = np.array([len(a) for a in ind_rows], dtype=np.int64)
    flat = np.concatenate([np.asarray(a, dtype=np.int64) for a in ind_rows]) if len(ind_rows) else np.empty(0, np.int64)
    rows = np.repeat(np.arange(len(ind_rows)), counts)
    G = np.zeros((len(ind_rows), n), dtype=bool)
    G[rows, flat] = True
    return G, rows, flat, counts


def check_radius(dist, ind, ref, r, dtype, exclude_self=False, sorted_=False, sk=None, scale=1.0):
    """Check a radius answer (object arrays) against the exact distances.

    Every point with true distance < r - tol is in the answer, none with
    true distance > r + tol is; no index repeats; returned distances equal
    the true ones; with sorted_, each row is ordered by distance (exact ties
    by index); scikit-learn's answer sk = (dist, ind) agrees except on points
    within tol of the boundary.
    """
    nq, n = ref.shape
    rtol, atol = tolerance(dtype, scale)
    tol = atol + rtol * r
    assert ind.shape == (nq,) and ind.dtype == object
    assert all(np.asarray(a).dtype == np.int64 for a in ind)
    G, rows, flat, counts = _dense(ind, n)
    assert G.sum() == len(flat), "an index repeats within a row"
    inside = ref < r - tol
    allowed = ref <= r + tol
    if exclude_self:
        assert not G[np.arange(nq), np.arange(nq)].any(), "a point is its own neighbour with X=None"
        inside[np.arange(nq), np.arange(nq)] = False
        allowed[np.arange(nq), np.arange(nq)] = False
    missing = inside & ~G
    assert not missing.any(), f"missing neighbours at {np.argwhere(missing)[:5].tolist()}"
    extra = G & ~allowed
    assert not extra.any(), f"extra neighbours at {np.argwhere(extra)[:5].tolist()}"
    if dist is not None:
        assert all(np.asarray(a).dtype == np.dtype(dtype) for a in dist)
        d = np.concatenate([np.asarray(a) for a in dist]) if nq else np.empty(0)
        assert len(d) == len(flat)
        true = ref[rows, flat]
        np.testing.assert_allclose(d, true, rtol=rtol, atol=atol)
        if sorted_ and len(d) > 1:
            same_row = rows[1:] == rows[:-1]
            assert np.all(np.diff(d.astype(np.float64))[same_row] >= 0), "rows are not sorted"
            # Exact ties (also in float64, before a float32 rounding) by index.
            tied = same_row & (d[1:] == d[:-1]) & (true[1:] == true[:-1])
            assert np.all(flat[1:][tied] > flat[:-1][tied]), "ties not ordered by index"
    if sk is not None:
        S, _, _, _ = _dense(sk[1], n)
        boundary = allowed & ~inside
        assert not ((G ^ S) & ~boundary).any(), "differs from scikit-learn's answer"


@pytest.fixture(scope="session")
def dataset_cache():
    return {}


def load_dataset(name, cache):
    if name not in cache:
        try:
            cache[name] = pcct_datasets.load(name)
        except FileNotFoundError as e:
            cache[name] = e
    X = cache[name]
    if isinstance(X, Exception):
        pytest.skip(f"dataset {name!r} is absent: {X}")
    return X


@pytest.fixture(autouse=True, scope="session")
def _sigint_handled():
    """The Ctrl-C tests simulate SIGINT with ``_thread.interrupt_main``,
    which does nothing where SIGINT is ignored, as it is for a job that a
    shell starts in the background (the tests then wait out a long call):
    give such a session Python's usual handler."""
    old = signal.getsignal(signal.SIGINT)
    if old == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if old == signal.SIG_IGN:
        signal.signal(signal.SIGINT, old)
