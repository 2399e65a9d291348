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


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "chebyshev"])
def test_distances_overflowing_float64_are_refused(metric):
    """Point sets whose distances could overflow float64 are refused at fit
    and at insert (ValueError, the estimator unchanged); a set just inside
    the range gives exact answers."""
    with pytest.raises(ValueError, match="too wide a range"):
        NearestNeighbors(n_neighbors=2, metric=metric).fit(np.array([[-1e308], [0.0], [1e308]]))
    nn = NearestNeighbors(n_neighbors=2, metric=metric).fit(np.array([[0.0], [1e308], [5e307]]))
    d, i = nn.kneighbors([[1e308]])
    assert i.tolist() == [[1, 2]]
    assert d.tolist() == [[0.0, 5e307]]
    with pytest.raises(ValueError, match="too wide a range"):
        nn.insert([[-1e308]])
    assert nn.n_samples_fit_ == 3 and nn.n_ids_ == 3
    assert nn.kneighbors([[1e308]])[1].tolist() == [[1, 2]]
    assert nn.insert([[-1e307]]).tolist() == [3]
