"""CoverTree.structure() (the nodes, through pcct_tree_structure) checked
against the compressed cover tree's conditions, and the matplotlib helpers
of pcct.plotting."""

from __future__ import annotations

import sys
from collections import Counter

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from pcct import CoverTree, NearestNeighbors, TreeStructure

rng = np.random.default_rng(50)


def _data():
    X = rng.normal(size=(700, 2))
    X[100:140] = X[0]  # duplicates share a node
    X[200:205] = np.round(X[200:205])
    return X


def _check_structure(tree, X, metric="euclidean"):
    s = tree.structure()
    assert isinstance(s, TreeStructure)
    ids, counts, levels, parents = s
    for a in s:
        assert a.dtype == np.int64 and a.shape == ids.shape
    stats = tree.stats()
    assert ids.size == stats["nodes"]
    assert counts.sum() == tree.n_samples and counts.min() >= 1
    assert len(set(ids.tolist())) == ids.size
    assert set(ids.tolist()) <= set(tree.ids().tolist())
    # The root first; every parent listed before its children.
    assert parents[0] == -1 and (parents == -1).sum() == 1
    position = {int(i): k for k, i in enumerate(ids)}
    assert all(position[int(p)] < k for k, p in enumerate(parents) if p >= 0)
    level_of = dict(zip(ids.tolist(), levels.tolist()))
    child = parents >= 0
    # A child's level is below its parent's.
    assert np.all(levels[child] < np.array([level_of[int(p)] for p in parents[child]]))
    # Cover: d(child, parent) <= 2^(level(child) + 1).
    D = cdist(X[ids], X[ids], metric)
    pi = np.array([position[int(p)] for p in parents[child]])
    ci = np.flatnonzero(child)
    d = D[ci, pi]
    assert np.all(d <= 2.0 ** (levels[child] + 1) * (1 + 1e-12))
    # Separation: nodes of level >= i are more than 2^i apart, so any two
    # nodes are more than 2^min(levels) apart.
    low = np.minimum.outer(levels, levels).astype(float)
    off = ~np.eye(ids.size, dtype=bool)
    assert np.all(D[off] > 2.0 ** low[off] * (1 - 1e-12))
    # The statistics agree.
    assert stats["nodes_per_level"] == dict(Counter(levels.tolist()))
    assert stats["max_level"] == levels.max() and stats["min_level"] == levels.min()
    depth = np.zeros(ids.size, dtype=int)
    for k in range(1, ids.size):
        depth[k] = depth[position[int(parents[k])]] + 1
    assert stats["depth"] == depth.max()
    fanout = Counter(zip(parents[child].tolist(), levels[child].tolist()))
    assert stats["max_fanout"] == max(fanout.values())
    return s


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_structure_satisfies_the_cover_tree_conditions(dtype):
    X = _data().astype(dtype)
    tree = CoverTree(X)
    ids, counts, levels, parents = _check_structure(tree, X.astype(np.float64))
    # The 41 copies of X[0] share one node, named by the smallest id.
    k = int(np.flatnonzero(ids == 0)[0])
    assert counts[k] == 41
    assert not np.isin(np.arange(100, 140), ids).any()


def test_structure_follows_updates_and_snapshots():
    X = _data()
    nn = NearestNeighbors(algorithm="cover_tree").fit(X[:400])
    snap = nn.snapshot()
    nn.insert(X[400:])
    nn.delete(np.arange(0, 700, 5))
    s = _check_structure(nn.tree_, X)
    assert not np.isin(np.arange(0, 700, 5), s.ids).any()
    s0 = _check_structure(snap.tree_, X)
    assert s0.counts.sum() == 400


@pytest.mark.parametrize("metric,scipy_metric", [("manhattan", "cityblock"), ("chebyshev", "chebyshev")])
def test_structure_with_other_metrics(metric, scipy_metric):
    X = _data()[:300]
    _check_structure(CoverTree(X, metric=metric), X, scipy_metric)


def test_structure_of_an_empty_tree():
    tree = CoverTree(np.eye(2))
    tree.delete([0, 1])
    s = tree.structure()
    assert all(a.size == 0 for a in s)


# -- plotting -------------------------------------------------------------------


@pytest.fixture
def plt():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_levels(plt):
    from pcct.plotting import plot_levels

    X = _data()
    nn = NearestNeighbors(algorithm="cover_tree").fit(X)
    ax = plot_levels(nn)
    per_level = nn.tree_.stats()["nodes_per_level"]
    heights = [p.get_height() for p in ax.patches]
    assert heights == [per_level[k] for k in sorted(per_level)]
    assert "nodes" in ax.get_title()
    _, ax2 = plt.subplots()
    assert plot_levels(nn.tree_, ax=ax2, color="black") is ax2


def test_plot_tree(plt):
    from matplotlib.collections import LineCollection

    from pcct.plotting import plot_tree

    X = _data()
    nn = NearestNeighbors(algorithm="cover_tree").fit(X[:500])
    nn.insert(X[500:])
    nn.delete([3, 4])
    ax = plot_tree(nn, X)
    nodes = nn.tree_.stats()["nodes"]
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(lines) == 1 and len(lines[0].get_segments()) == nodes - 1
    scatter = [c for c in ax.collections if not isinstance(c, LineCollection)]
    assert scatter[0].get_offsets().shape == (nodes, 2)
    assert scatter[1].get_offsets().shape == (1, 2)  # the root
    ax = plot_tree(CoverTree(X), X, links=False)
    assert not any(isinstance(c, LineCollection) for c in ax.collections)


def test_plot_tree_errors(plt):
    from pcct.plotting import plot_levels, plot_tree

    X3 = rng.random((50, 3))
    with pytest.raises(ValueError, match="plot_tree draws 2-D data: the tree has 3 features"):
        plot_tree(CoverTree(X3), X3)
    X = _data()
    nn = NearestNeighbors(algorithm="cover_tree").fit(X[:100])
    nn.insert(X[100:120])
    with pytest.raises(ValueError, match="X has 100 rows, but the tree has issued 120 ids"):
        plot_tree(nn, X[:100])
    with pytest.raises(TypeError, match="takes a pcct.CoverTree or a fitted pcct.NearestNeighbors"):
        plot_levels(X)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        plot_levels(NearestNeighbors())


def test_plotting_without_matplotlib_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    from pcct import plotting

    tree = CoverTree(np.eye(2))
    with pytest.raises(ImportError, match=r"pcct.plotting needs matplotlib.*pip install matplotlib"):
        plotting.plot_levels(tree)
    with pytest.raises(ImportError, match="needs matplotlib"):
        plotting.plot_tree(tree, np.eye(2))
