"""CoverTree.cover and centers_near: the covers' separation and covering
conditions, their weights, and the centers near a point against a scan, on
a built tree, after insertions and deletions and on a snapshot; bad input."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import reference_distances
from pcct import CoverTree, LevelCover


def _tree_and_points(metric="euclidean", p=2, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.integers(0, 6, (150, 3)).astype(float),   # ties, duplicates
                   3 * rng.normal(size=(150, 3))])
    if metric == "cosine":
        X = X + 20
    X = X.astype(dtype)
    return CoverTree(X, metric=metric, p=p, n_jobs=2), X


def _check_cover(tree, X, level, metric, p):
    """The cover at level against its definition, with the points X by id."""
    c = tree.cover(level)
    assert isinstance(c, LevelCover)
    ids, levels, parents = tree.structure().ids, tree.structure().levels, tree.structure().parents
    want = set(ids[(levels >= level) | (parents == -1)].tolist())
    assert set(c.ids.tolist()) == want
    assert c.counts.sum() == tree.n_samples and c.counts.dtype == np.int64
    np.testing.assert_allclose(c.weights.sum(), 1.0)
    np.testing.assert_array_equal(c.distances, 0.0)
    # The points are the centers' own (normalised under cosine).
    P = X[c.ids].astype(np.float64)
    if metric == "cosine":
        P = P / np.linalg.norm(P, axis=1, keepdims=True)
    np.testing.assert_allclose(c.points, P, rtol=1e-6 if X.dtype == np.float32 else 1e-15)
    # Separation: pairwise more than 2**level apart (in the tree's own
    # distance, the Euclidean one between unit vectors under cosine).
    D = reference_distances(P, P, "euclidean" if metric == "cosine" else metric, p)
    off = ~np.eye(len(P), dtype=bool)
    assert (D[off] > 2.0**level * (1 - 1e-12)).all()
    # Covering: every live point within 2**(level+1) of some center, and the
    # radii bound the points each center stands for.
    live = tree.ids()
    Q = X[live].astype(np.float64)
    if metric == "cosine":
        Q = Q / np.linalg.norm(Q, axis=1, keepdims=True)
        Dq = reference_distances(Q, P, "euclidean", 2)
    else:
        Dq = reference_distances(Q, P, metric, p)
    assert (Dq.min(axis=1) < 2.0 ** (level + 1) * (1 + 1e-9)).all()
    return c


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("metric,p", [("euclidean", 2), ("manhattan", 1), ("chebyshev", np.inf),
                                      ("minkowski", 3), ("cosine", 2)])
def test_cover_invariants(metric, p, dtype):
    tree, X = _tree_and_points(metric, p, dtype)
    s = tree.stats()
    for level in range(s["min_level"] - 1, s["max_level"] + 2):
        _check_cover(tree, X, level, metric, p)
    top = tree.cover(s["max_level"] + 5)
    assert len(top.ids) == 1 and top.counts[0] == tree.n_samples


def test_cover_after_updates_and_on_snapshots():
    tree, X = _tree_and_points()
    rng = np.random.default_rng(1)
    snap = tree.snapshot()
    before = {lv: snap.cover(lv) for lv in (-2, 0, 2)}
    new = rng.normal(size=(100, 3))
    tree.insert(new)
    tree.delete(np.arange(0, 400, 4))
    Xall = np.vstack([X, new])
    for level in (-2, 0, 1, 2, 3):
        _check_cover(tree, Xall, level, "euclidean", 2)
    for level, c in before.items():  # the snapshot answers as before
        again = snap.cover(level)
        for a, b in zip(c, again):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("metric,p", [("euclidean", 2), ("manhattan", 1), ("cosine", 2)])
def test_centers_near_matches_a_scan(metric, p):
    tree, X = _tree_and_points(metric, p, seed=2)
    rng = np.random.default_rng(3)
    for level in (-1, 0, 1, 2):
        c = tree.cover(level)
        for _ in range(5):
            q = X[rng.integers(len(X))] + rng.normal(size=3) * 0.5
            for r in (0.0, 1.0, 4.0, np.inf):
                r = r / 100 if metric == "cosine" else r
                near = tree.centers_near(q, level, r)
                d = reference_distances(q[None, :], X[c.ids], metric, p)[0]
                keep = d <= r
                order = np.lexsort((c.ids[keep], d[keep]))
                np.testing.assert_array_equal(near.ids, c.ids[keep][order])
                np.testing.assert_allclose(near.distances, d[keep][order], rtol=1e-9, atol=1e-12)
                idx = {i: k for k, i in enumerate(c.ids.tolist())}
                sel = [idx[i] for i in near.ids.tolist()]
                np.testing.assert_array_equal(near.counts, c.counts[sel])
                np.testing.assert_allclose(near.weights, c.weights[sel])


def test_cover_bad_input():
    tree, _ = _tree_and_points()
    with pytest.raises(ValueError, match="level must be an int"):
        tree.cover(1.5)
    with pytest.raises(ValueError, match="level must be an int"):
        tree.centers_near([0, 0, 0], "1", 1.0)
    with pytest.raises(ValueError, match=">= 0"):
        tree.centers_near([0, 0, 0], 0, -1.0)
    with pytest.raises(ValueError, match="features"):
        tree.centers_near([0, 0], 0, 1.0)
    with pytest.raises(ValueError, match="one point"):
        tree.centers_near([[0, 0, 0]], 0, 1.0)
    with pytest.raises(ValueError, match="NaN|infinity"):
        tree.centers_near([0, np.nan, 0], 0, 1.0)
    empty = CoverTree([[1.0, 2.0]])
    empty.delete([0])
    c = empty.cover(0)
    assert c.ids.size == 0 and c.points.shape == (0, 2)
    assert empty.centers_near([0.0, 0.0], 0, 1.0).ids.size == 0
