"""Tiny data sets and coordinates from 1e-150 to 1e150: exact answers."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import reference_distances
from pcct import NearestNeighbors


@pytest.mark.parametrize("seed", range(4))
def test_random_scales_and_sizes(seed):
    """k = n (every point ranked) and radius counts, for random tiny data sets
    at scales where squares neither overflow nor underflow in float64."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        n, d = int(rng.integers(1, 25)), int(rng.integers(1, 5))
        e = int(rng.integers(-150, 150))
        scale = 10.0**e
        kind = rng.integers(0, 3)
        if kind == 0:
            X = rng.normal(size=(n, d)) * scale
        elif kind == 1:
            X = rng.integers(0, 3, size=(n, d)) * scale  # duplicates and ties
        else:
            X = np.round(rng.normal(size=(n, d)), 1) * scale
        dtype = np.float32 if (abs(e) < 30 and rng.random() < 0.5) else np.float64
        X = X.astype(dtype)
        # scipy's reference for p=3 over/underflows sooner.
        metrics = [("euclidean", 2), ("manhattan", 1), ("chebyshev", np.inf)]
        if abs(e) < 90:
            metrics.append(("minkowski", 3))
        metric, p = metrics[rng.integers(0, len(metrics))]
        Q = np.vstack([X, (rng.normal(size=(3, d)) * scale).astype(dtype)])
        nn = NearestNeighbors(n_neighbors=n, metric=metric, p=p).fit(X)
        dist, ind = nn.kneighbors(Q)
        ref = reference_distances(Q, X, metric, p)
        rtol = 2e-6 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(dist.astype(np.float64), np.sort(ref, axis=1), rtol=rtol, atol=0,
                                   err_msg=f"n={n} d={d} scale=1e{e} {metric} {dtype.__name__}")
        np.testing.assert_allclose(ref[np.arange(len(Q))[:, None], ind], dist, rtol=rtol, atol=0)
        r = float(np.median(np.sort(ref, axis=1)[:, : max(1, n // 2)]))
        counts = np.array([len(a) for a in nn.radius_neighbors(Q, radius=r, return_distance=False)])
        expected = (ref <= r).sum(axis=1)
        boundary = (np.abs(ref - r) <= rtol * r).sum(axis=1)
        assert np.all(np.abs(counts - expected) <= boundary)


@pytest.mark.xfail(reason="core: distances that overflow to +inf break the tree "
                          "(a point is not found at distance 0); reported to core", strict=False)
@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "chebyshev"])
def test_distances_overflowing_to_inf(metric):
    X = np.array([[-1e308], [0.0], [1e308]])
    d, i = NearestNeighbors(n_neighbors=2, metric=metric).fit(X).kneighbors([[1e308]])
    assert i.tolist() == [[2, 1]]
    assert d.tolist() == [[0.0, 1e308]]
