"""scipy.spatial.cKDTree's calls on two trees, for :class:`pcct.CoverTree`:
``count_neighbors``, ``query_pairs``, ``query_ball_tree`` and
``sparse_distance_matrix``, answered by Go's dual-tree traversals
(``_join.py``), with scipy's semantics and output types.

Where pcct differs from scipy: the distance is the tree's own metric (no
``p``); indices are ids (after deletions, rows follow the live ids); a
negative radius finds nothing (scipy's Euclidean trees compare squared
distances, so there a negative radius acts as its absolute value); and
pairs come ordered (scipy's order is unspecified).
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from . import _join

__all__ = ["CKDTreeMixin"]

_PAIR_OUTPUTS = ("set", "ndarray")
_MATRIX_OUTPUTS = ("dok_matrix", "coo_matrix", "dict", "ndarray")

# Bytes a pair takes in Python beyond its arrays: a tuple in a set, an
# entry of a dict or of a dok matrix.
_PYTHON_PAIR_BYTES = 200


def _one_radius(r, name="r"):
    """A radius for a listing join: a real number, not NaN."""
    if isinstance(r, bool) or not isinstance(r, numbers.Real):
        if np.ndim(r) != 0 or isinstance(r, (str, bytes)) or r is None:
            raise ValueError(f"{name} must be a single number, got {r!r}.")
    r = float(r)
    if r != r:
        raise ValueError(f"{name} is NaN; give a number.")
    return r


def _same_params(a, b):
    """Whether two metric_params dicts hold equal parameters."""
    a, b = a or {}, b or {}
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


class CKDTreeMixin:
    """The joins of two trees, shaped like scipy's cKDTree methods."""

    def _check_other(self, other, what):
        """The version of ``other``, a CoverTree that can be joined with this
        one (same metric, dtype and dimension), pinned for the call."""
        from .tree import CoverTree

        self._need_tree(what)
        if isinstance(other, CoverTree):
            other._need_tree(what)
        else:
            raise TypeError(
                f"{what} needs another pcct.CoverTree, got {type(other).__name__}. Build one "
                "over the other points: CoverTree(Y, metric=...)."
            )
        mine = (self.metric, self.p, self.dtype, self.n_features)
        theirs = (other.metric, other.p, other.dtype, other.n_features)
        if mine != theirs or not _same_params(self.metric_params, other.metric_params):
            raise ValueError(
                f"{what}: the other tree differs from this one (metric, p, dtype, features: "
                f"{theirs} against {mine}, or the metric's parameters); build both with the "
                "same metric from data of the same dtype and dimension."
            )
        return other._version

    def count_neighbors(self, other, r, cumulative=True):
        """Count the pairs of points within distance r of each other, one
        from this tree and one from ``other`` (scipy's
        ``cKDTree.count_neighbors``: the two-point correlation).

        A dual-tree traversal: pairs of subtrees wholly within (or beyond)
        a radius are counted at once by their sizes, and no pair is ever
        listed, so neither time nor memory grows with the number of pairs.
        Every radius is counted in one traversal.

        Parameters
        ----------
        other : CoverTree
            The other points, in a tree with the same metric, dtype and
            dimension. It may be this tree: every ordered pair then counts,
            each point with itself included (as in scipy).
        r : float or array-like of float
            The radius, or several. A pair (x, y) counts within r when
            d(x, y) <= r. A negative radius counts nothing, +inf every pair.
        cumulative : bool, default=True
            With True, the counts of pairs within each radius (the radii in
            any order). With False, r holds the edges of bins and must be
            non-decreasing: entry i counts the pairs with
            r[i-1] < d <= r[i] (entry 0: d <= r[0]).

        Returns
        -------
        result : int or ndarray of int64
            An int for one radius, an array of the shape of r otherwise.
        """
        v = self._check_other(other, "count_neighbors")
        radii = np.asarray(r, dtype=np.float64) if not isinstance(r, (str, bytes)) else None
        if radii is None or radii.ndim > 1:
            raise ValueError(f"r must be a number or a 1-D array of numbers, got {r!r}.")
        if np.isnan(radii).any():
            raise ValueError("r holds NaN; every radius must be a number.")
        if not cumulative and radii.ndim == 1 and np.any(np.diff(radii) < 0):
            raise ValueError("r must be non-decreasing for non-cumulative counting.")
        counts = _join.count_pairs(self._version, v, radii.ravel(), jobs=self._jobs())
        if not cumulative:
            counts = np.diff(counts, prepend=0)
        if radii.ndim == 0:
            return int(counts[0])
        return counts

    def query_pairs(self, r, output_type="set"):
        """Find every pair of points of this tree within distance r (d <=
        r) of each other (scipy's ``cKDTree.query_pairs``).

        Parameters
        ----------
        r : float
            The radius. A negative radius finds nothing.
        output_type : {"set", "ndarray"}, default="set"
            A set of tuples ``(i, j)``, or an int64 array of shape
            (n_pairs, 2).

        Returns
        -------
        pairs : set or ndarray
            The pairs of ids (i, j) with i < j; duplicates of one point
            pair with each other (distance 0). The array is ordered by i,
            then j.
        """
        self._need_tree("query_pairs")
        if output_type not in _PAIR_OUTPUTS:
            raise ValueError(f"output_type must be 'set' or 'ndarray', got {output_type!r}.")
        r = _one_radius(r)
        extra = _PYTHON_PAIR_BYTES if output_type == "set" else 0
        i, j, _ = _join.list_pairs(self._version, None, r, mode=_join.SELF, dists=False,
                                   jobs=self._jobs(), what="query_pairs", extra=extra)
        if output_type == "ndarray":
            return np.stack((i, j), axis=1) if i.size else np.empty((0, 2), dtype=np.int64)
        return set(zip(i.tolist(), j.tolist()))

    def query_ball_tree(self, other, r):
        """Find, for each point of this tree, the points of ``other`` within
        distance r (d <= r) (scipy's ``cKDTree.query_ball_tree``).

        Parameters
        ----------
        other : CoverTree
            A tree with the same metric, dtype and dimension (may be this
            one: each point is then among its own neighbours).
        r : float
            The radius. A negative radius finds nothing.

        Returns
        -------
        results : list of lists
            ``results[i]`` lists the ids of the points of ``other`` within r
            of the point with id ``self.ids()[i]`` (id i while nothing was
            deleted), ascending.
        """
        v = self._check_other(other, "query_ball_tree")
        r = _one_radius(r)
        me = self._version
        i, j, _ = _join.list_pairs(me, v, r, mode=_join.WITH, dists=False, jobs=self._jobs(),
                                   what="query_ball_tree", extra=_PYTHON_PAIR_BYTES // 4)
        live = me.live_ids()
        bounds = np.searchsorted(i, live, side="right")
        starts = np.concatenate(([0], bounds[:-1])) if live.size else bounds
        js = j.tolist()
        return [js[a:b] for a, b in zip(starts.tolist(), bounds.tolist())]

    def sparse_distance_matrix(self, other, max_distance, output_type="dok_matrix"):
        """The distances between the points of this tree and those of
        ``other`` that are at most ``max_distance`` apart (scipy's
        ``cKDTree.sparse_distance_matrix``).

        Parameters
        ----------
        other : CoverTree
            A tree with the same metric, dtype and dimension (may be this
            one).
        max_distance : float
            Pairs further apart are left out. A negative value keeps none.
        output_type : {"dok_matrix", "coo_matrix", "dict", "ndarray"}, default="dok_matrix"
            A scipy sparse matrix of shape (``self.n_ids``, ``other.n_ids``)
            (rows and columns are ids), a dict ``{(i, j): distance}``, or a
            structured array with fields ``i``, ``j`` (int64) and ``v``
            (float64).

        Returns
        -------
        result : dok_matrix, coo_matrix, dict or ndarray
            Every pair within ``max_distance``, ordered by i, then j. Zero
            distances (duplicates, a point with itself) are stored
            explicitly, as in scipy.
        """
        if output_type not in _MATRIX_OUTPUTS:
            raise ValueError(
                "output_type must be one of 'dok_matrix', 'coo_matrix', 'dict' or 'ndarray', "
                f"got {output_type!r}."
            )
        v = self._check_other(other, "sparse_distance_matrix")
        r = _one_radius(max_distance, "max_distance")
        me = self._version
        extra = 0 if output_type in ("ndarray", "coo_matrix") else _PYTHON_PAIR_BYTES
        i, j, d = _join.list_pairs(me, v, r, mode=_join.WITH, dists=True, jobs=self._jobs(),
                                   what="sparse_distance_matrix", extra=extra)
        d = d.astype(np.float64, copy=False)
        if output_type == "ndarray":
            out = np.empty(i.size, dtype=[("i", np.int64), ("j", np.int64), ("v", np.float64)])
            out["i"], out["j"], out["v"] = i, j, d
            return out
        if output_type == "dict":
            return dict(zip(zip(i.tolist(), j.tolist()), d.tolist()))
        coo = sp.coo_matrix((d, (i, j)), shape=(me.n_ids, v.n_ids))
        return coo if output_type == "coo_matrix" else coo.todok()
