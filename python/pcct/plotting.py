"""Pictures of a cover tree, drawn with matplotlib (an optional dependency:
``pip install matplotlib``, or ``pip install 'pcct[plot]'``).

- :func:`plot_levels`: a bar chart of the number of nodes at each level.
- :func:`plot_tree`: 2-D data with each point coloured by its node's level
  and a line from every node to its parent.

Both accept a :class:`pcct.CoverTree` or a fitted
:class:`pcct.NearestNeighbors`, draw into ``ax`` (a new figure's axes by
default) and return the axes.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import NeighborsBase
from .tree import BruteForceIndex, CoverTree

__all__ = ["plot_levels", "plot_tree"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(
            "pcct.plotting needs matplotlib, which is not installed: "
            "pip install matplotlib (or pip install 'pcct[plot]')."
        ) from e
    return plt


def _tree_of(obj, caller):
    tree = None
    if isinstance(obj, CoverTree):
        tree = obj
    elif isinstance(obj, NeighborsBase):
        check_is_fitted(obj)
        tree = obj.tree_
    if tree is None:
        raise TypeError(
            f"{caller} takes a pcct.CoverTree or a fitted pcct.NearestNeighbors, "
            f"not {type(obj).__name__}."
        )
    if isinstance(tree, BruteForceIndex):
        raise TypeError(
            f"{caller} draws a cover tree, and this is a brute-force index (the "
            "estimator's effective_algorithm_ is 'brute'): fit with "
            "algorithm='cover_tree' to draw the tree."
        )
    return tree


def _axes(ax, plt):
    if ax is None:
        _, ax = plt.subplots()
    return ax


def plot_levels(tree, ax=None, **bar_kwargs):
    """Draw the number of nodes at each level of the tree as a bar chart.

    A node is a distinct point; its level i bounds the distance to its
    children (at most ``2**(i+1)``) and separates the nodes of levels >= i
    (more than ``2**i`` apart). Most nodes sit at the lowest levels, so the
    count axis is logarithmic.

    Parameters
    ----------
    tree : CoverTree or NearestNeighbors
        A tree, or a fitted estimator (its ``tree_`` is drawn).
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure's axes by default.
    **bar_kwargs
        Passed to :meth:`matplotlib.axes.Axes.bar`.

    Returns
    -------
    ax : matplotlib.axes.Axes

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    """
    plt = _pyplot()
    tree = _tree_of(tree, "plot_levels")
    stats = tree.stats()
    per_level = stats["nodes_per_level"]
    ax = _axes(ax, plt)
    levels = np.array(sorted(per_level), dtype=np.int64)
    counts = np.array([per_level[lv] for lv in levels], dtype=np.int64)
    bar_kwargs.setdefault("color", "tab:blue")
    ax.bar(levels, counts, **bar_kwargs)
    if counts.size and counts.max() > 10 * max(counts.min(), 1):
        ax.set_yscale("log")
    ax.set_xlabel("level i (children within 2**(i+1) of their parent)")
    ax.set_ylabel("nodes")
    ax.set_title(
        f"{stats['nodes']:,} nodes for {stats['points']:,} points, depth {stats['depth']}, "
        f"widest fan-out {stats['max_fanout']}"
    )
    return ax


def plot_tree(tree, X, ax=None, links=True, cmap="viridis", s=None):
    """Draw a tree over 2-D data: points coloured by level, parent links.

    Python keeps no copy of the data (the points live in Go), so ``X``
    must be passed: row ``i`` of ``X`` is the point with id ``i``. For an
    estimator, that is the data given to ``fit`` followed by the rows of
    each ``insert``, in order (deleted ids' rows are simply not drawn).

    Parameters
    ----------
    tree : CoverTree or NearestNeighbors
        A tree over 2-D points, or a fitted estimator (its ``tree_``).
    X : array-like of shape (n_ids, 2)
        The points by id (at least ``tree.n_ids`` rows).
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure's axes by default.
    links : bool, default=True
        Draw a line from each node to its parent.
    cmap : str or Colormap, default="viridis"
        Colours of the levels (a colour bar shows the scale).
    s : float, default=None
        Marker size of a node of the lowest level holding one point; nodes
        of higher levels, and nodes holding duplicates, are drawn larger.
        Default: smaller for more points.

    Returns
    -------
    ax : matplotlib.axes.Axes

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If the tree's points are not 2-D, or ``X`` has the wrong shape.
    """
    plt = _pyplot()
    from matplotlib.collections import LineCollection

    tree = _tree_of(tree, "plot_tree")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or tree.n_features != 2:
        raise ValueError(
            f"plot_tree draws 2-D data: the tree has {tree.n_features} features and X has "
            f"shape {X.shape}."
        )
    if X.shape[0] < tree.n_ids:
        raise ValueError(
            f"X has {X.shape[0]} rows, but the tree has issued {tree.n_ids} ids: row i of X "
            "must be the point with id i (the fitted rows, then the inserted ones)."
        )
    ids, counts, levels, parents = tree.structure()
    ax = _axes(ax, plt)
    if ids.size == 0:
        ax.set_title("empty tree")
        return ax
    if s is None:
        s = float(np.clip(4000 / ids.size, 4, 60))
    pts = X[ids]
    if links and ids.size > 1:
        child = parents >= 0
        segments = np.stack([X[ids[child]], X[parents[child]]], axis=1)
        ax.add_collection(LineCollection(segments, colors="0.6", linewidths=0.6, zorder=1))
    order = np.argsort(levels, kind="stable")  # the few high levels drawn last, on top
    lo, hi = int(levels.min()), int(levels.max())
    grow = 1 + 4 * (levels - lo) / max(hi - lo, 1)  # higher levels drawn larger
    sc = ax.scatter(
        pts[order, 0], pts[order, 1], c=levels[order], cmap=cmap,
        s=(s * grow * np.sqrt(counts))[order], zorder=2, edgecolors="none",
    )
    root = parents < 0
    ax.scatter(pts[root, 0], pts[root, 1], marker="*", s=12 * s, c="crimson", zorder=3,
               label="root")
    ax.figure.colorbar(sc, ax=ax, label="level")
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ax.legend(loc="best")
    ax.set_title(f"cover tree: {ids.size:,} nodes, {len(set(levels.tolist()))} levels")
    return ax
