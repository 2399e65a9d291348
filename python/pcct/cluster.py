"""Clustering on the cover tree: the exact minimum spanning tree, single
linkage, DBSCAN and HDBSCAN.

The algorithms run in Go (package ``cluster``) on a tree built over the
data, or on a tree you already have: every function and estimator here
accepts, in place of ``X``, a :class:`pcct.CoverTree` or a fitted
:class:`pcct.NearestNeighbors`, and then clusters the tree's current points
(after its insertions and deletions; a snapshot stays as it was). Results
then follow the tree's live ids in ascending order (``tree.ids()``), which
are the row numbers of ``X`` for a tree that was never updated.

- :func:`minimum_spanning_tree`: the exact minimum spanning tree by a
  Boruvka search on the tree (March, Ram and Gray, KDD 2010), as n-1
  edges; its total weight is that of
  ``scipy.sparse.csgraph.minimum_spanning_tree`` on the full distance
  matrix, without the matrix.
- :func:`single_linkage`: the single-linkage hierarchy as a scipy linkage
  matrix (``scipy.cluster.hierarchy.linkage(X, method="single")``), for
  ``fcluster`` and ``dendrogram``.
- :class:`DBSCAN` and :func:`dbscan`: the same core points and labels as
  :class:`sklearn.cluster.DBSCAN`.
- :class:`HDBSCAN`: the labels and probabilities of
  :class:`sklearn.cluster.HDBSCAN`.

Nothing here holds a matrix of pairwise distances: memory stays within a
small multiple of the data.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _cluster, _handle
from ._validation import (
    CUSTOM,
    METRIC_NAMES,
    METRICS,
    _invalid,
    _options,
    check_estimator_params,
    check_metric_domain,
    effective_n_jobs,
    metric_hint,
    parse_metric,
)
from .exceptions import InvalidParameterError

__all__ = [
    "SpanningTree",
    "minimum_spanning_tree",
    "single_linkage",
    "dbscan",
    "DBSCAN",
    "HDBSCAN",
]

# HDBSCAN's outlier encodings for non-finite rows, as scikit-learn's.
_INFINITE_LABEL, _MISSING_LABEL = -2, -3


class SpanningTree(NamedTuple):
    """The edges of a minimum spanning tree (see :func:`minimum_spanning_tree`),
    sorted by distance."""

    i: np.ndarray
    """int64: one end of each edge, the smaller id."""
    j: np.ndarray
    """int64: the other end, the larger id."""
    distance: np.ndarray
    """float64: the distance between the two points."""


# -- input ------------------------------------------------------------------


def _tree_of(X):
    """The CoverTree behind X if X is a tree or a fitted NearestNeighbors,
    else None; TypeError for a brute-force index, which has no tree."""
    from ._base import NeighborsBase
    from .tree import CoverTree

    if isinstance(X, NeighborsBase):
        check_is_fitted(X)
        X = X.tree_
    if isinstance(X, CoverTree):
        X._need_tree("clustering")
        return X
    return None


def _same_metric(tree, code, p, owner):
    """Raise ValueError unless the tree measures with the metric (code, p)."""
    if tree._code == code and (code != 3 or tree.p == p):
        return
    mine = METRIC_NAMES[code] + (f" (p={p:g})" if code == 3 else "")
    theirs = tree.metric + (f" (p={tree.p:g})" if tree._code == 3 else "")
    raise ValueError(
        f"X is a tree built with the {theirs} metric, but {owner} was given the {mine} "
        "metric. Pass the tree's metric, or fit on the points to build a new tree."
    )


def _version_for(X, code, p, n_jobs, owner, *, min_samples=1, ensure_all_finite=True):
    """The tree version to run on and the checked array (None for a tree):
    X's current version if X is a tree, else a new tree over X."""
    tree = _tree_of(X)
    if tree is not None:
        if code is None:
            code, p = tree._code, tree.p
        _same_metric(tree, code, p, owner)
        version = tree._version
        if version.n_samples < min_samples:
            raise ValueError(
                f"Found a tree with {version.n_samples} point(s) while a minimum of "
                f"{min_samples} is required by {owner}."
            )
        return version, None
    if code is None:
        code, p = 0, 2.0
    X = check_array(X, dtype=[np.float64, np.float32], order="C", ensure_min_samples=min_samples,
                    ensure_all_finite=ensure_all_finite, estimator=owner)
    check_metric_domain(code, X)
    version, _ = _handle.build(X, code, p, 0, effective_n_jobs(n_jobs))
    return version, X


def _function_metric(metric, p, owner):
    """(code, p) of a function's metric argument; (None, None) for None."""
    if metric is None:
        if p is not None and p != 2:
            raise ValueError(
                f"p={p!r} was given without a metric; set metric='minkowski' to use it."
            )
        return None, None
    return parse_metric(metric, p, owner)


# -- functions ----------------------------------------------------------------


def minimum_spanning_tree(X, metric=None, p=None, n_jobs=None):
    """Return an exact minimum spanning tree of the points.

    The tree is found by Boruvka's algorithm on a cover tree: in each round
    every component finds its shortest edge to another component by a
    pruned search of the tree from its points, which skips subtrees lying
    wholly inside the component. On an array of Euclidean rows with one to
    three features the same search runs on a k-d tree made for the call,
    with no cover tree, and returns the same edges. Identical points are
    joined by edges of length 0. No distance matrix is formed: memory grows linearly with the
    number of points.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), CoverTree or NearestNeighbors
        The points, or a tree (or fitted estimator) whose current points to
        span; the edges then name its ids.
    metric : str, default=None
        A metric pcct supports (see :class:`pcct.CoverTree`); None means
        "euclidean" for an array and the tree's own metric for a tree.
    p : float, default=None
        The power of the Minkowski metric (only with ``metric="minkowski"``).
    n_jobs : int, default=None
        Goroutines building the tree and searching it: None means 1, -1
        all CPUs.

    Returns
    -------
    edges : SpanningTree
        A named tuple of three arrays of n_samples - 1 values, sorted by
        distance: ``i`` and ``j`` (int64, ``i < j``, row numbers or ids)
        and ``distance`` (float64). Where several spanning trees are
        minimal (equal distances), ties are broken by id, so the answer
        does not depend on ``n_jobs``. The total of ``distance`` is the
        weight of every minimum spanning tree, such as
        ``scipy.sparse.csgraph.minimum_spanning_tree`` finds on the full
        distance matrix.

    See Also
    --------
    single_linkage : The hierarchy the spanning tree defines.

    Examples
    --------
    >>> import numpy as np
    >>> from pcct.cluster import minimum_spanning_tree
    >>> X = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 1.0], [3.0, 2.0]])
    >>> mst = minimum_spanning_tree(X)
    >>> mst.i.tolist(), mst.j.tolist(), mst.distance.tolist()
    ([0, 1, 0], [2, 3, 1], [1.0, 2.0, 3.0])
    """
    code, p = _function_metric(metric, p, "minimum_spanning_tree")
    jobs = effective_n_jobs(n_jobs)
    if _tree_of(X) is None and (code is None or code == 0):
        X = check_array(X, dtype=[np.float64, np.float32], order="C",
                        estimator="minimum_spanning_tree")
        if X.shape[1] <= 3:
            # Euclidean rows of one to three features: Go spans them on a
            # k-d tree made for the call, with the edges a cover tree's
            # search gives.
            return SpanningTree(*_cluster.mst_points(X, 0, 2.0, jobs))
    version, _ = _version_for(X, code, p, n_jobs, "minimum_spanning_tree")
    return SpanningTree(*_cluster.mst(version, jobs))


def single_linkage(X, metric=None, p=None, n_jobs=None):
    """Return the single-linkage hierarchy of the points as a linkage
    matrix.

    The matrix has scipy's format: it is what
    ``scipy.cluster.hierarchy.linkage(X, method="single", metric=...)``
    returns, computed from the exact minimum spanning tree
    (:func:`minimum_spanning_tree`, on a k-d tree for an array of Euclidean
    rows with one to three features) instead of the full distance matrix,
    so ``fcluster``, ``dendrogram`` and ``cophenet`` work on it.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), CoverTree or NearestNeighbors
        The points (at least 2), or a tree (or fitted estimator): leaf ``i``
        is then its ``i``-th live id in ascending order.
    metric : str, default=None
        A metric pcct supports; None means "euclidean" for an array and the
        tree's own metric for a tree.
    p : float, default=None
        The power of the Minkowski metric.
    n_jobs : int, default=None
        Goroutines: None means 1, -1 all CPUs.

    Returns
    -------
    Z : ndarray of shape (n_samples - 1, 4)
        Row ``k`` merges clusters ``Z[k, 0] < Z[k, 1]`` (a number below n
        is a point, ``n + j`` the cluster of row ``j``) at distance
        ``Z[k, 2]`` into a cluster of ``Z[k, 3]`` points; rows are ordered
        by distance. The merge distances are scipy's; where several merges
        happen at one distance the clusters may be numbered otherwise,
        which changes neither ``fcluster``'s flat clusterings nor the
        cophenetic distances.

    Examples
    --------
    >>> import numpy as np
    >>> from pcct.cluster import single_linkage
    >>> from scipy.cluster.hierarchy import fcluster
    >>> X = np.array([[0.0], [0.5], [5.0], [5.2]])
    >>> Z = single_linkage(X)
    >>> Z[:, 2].tolist()
    [0.20000000000000018, 0.5, 4.5]
    >>> fcluster(Z, t=1.0, criterion="distance").tolist()
    [2, 2, 1, 1]
    """
    code, p = _function_metric(metric, p, "single_linkage")
    jobs = effective_n_jobs(n_jobs)
    if _tree_of(X) is None and (code is None or code == 0):
        X = check_array(X, dtype=[np.float64, np.float32], order="C", ensure_min_samples=2,
                        estimator="single_linkage")
        if X.shape[1] <= 3:
            # The spanning tree of Euclidean rows of one to three features
            # on a k-d tree made for the call (see minimum_spanning_tree).
            return _cluster.single_linkage_points(X, 0, 2.0, jobs)
    version, _ = _version_for(X, code, p, n_jobs, "single_linkage", min_samples=2)
    return _cluster.single_linkage(version, jobs)


def _check_sample_weight(sample_weight, n):
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.ndim == 0:
        w = np.full(n, float(w))
    w = np.ascontiguousarray(w, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
    if not np.isfinite(w).all():
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if w.size and not w.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return w


def dbscan(X, eps=0.5, *, min_samples=5, metric="euclidean", metric_params=None, p=None,
           sample_weight=None, n_jobs=None):
    """Perform DBSCAN clustering, as :func:`sklearn.cluster.dbscan` does.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), CoverTree or NearestNeighbors
        The points, or a tree (or fitted estimator) to cluster.
    eps, min_samples, metric, metric_params, p, n_jobs
        See :class:`DBSCAN`.
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each point (see :meth:`DBSCAN.fit`).

    Returns
    -------
    core_samples : ndarray of shape (n_core_samples,)
        Indices of the core samples.
    labels : ndarray of shape (n_samples,)
        Cluster labels of each point, -1 for noise.
    """
    est = DBSCAN(eps=eps, min_samples=min_samples, metric=metric, metric_params=metric_params,
                 p=p, n_jobs=n_jobs)
    est.fit(X, sample_weight=sample_weight)
    return est.core_sample_indices_, est.labels_


def _with_outliers(slt, finite, outliers):
    """scikit-learn's single-linkage tree with the non-finite rows put
    back (its remap_single_linkage_tree): leaves renumbered to row numbers,
    clusters shifted past the outliers, and each outlier joined last at
    distance inf, in that tree's own numbering."""
    n_finite, n_out = finite.size, outliers.size
    tree = slt.copy()
    for col in (0, 1):
        nodes = tree[:, col].astype(np.int64)
        leaf = nodes < n_finite
        nodes[leaf] = finite[nodes[leaf]]
        nodes[~leaf] += n_out
        tree[:, col] = nodes
    last_id = tree[-1, :2].max() if len(tree) else -1
    last_size = tree[-1, 3] if len(tree) else 1
    extra = np.empty((n_out, 4))
    extra[:, 0] = outliers
    extra[:, 1] = last_id + 1 + np.arange(n_out)
    extra[:, 2] = np.inf
    extra[:, 3] = last_size + 1 + np.arange(n_out)
    return np.vstack([tree, extra])


# -- estimators ----------------------------------------------------------------


def _check_int(owner, name, v, lo, allow_none=False):
    if v is None and allow_none:
        return
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
        expected = f"an int in the range [{lo}, inf)" + (" or None" if allow_none else "")
        raise _invalid(owner, name, expected, v)


def _check_real(owner, name, v, lo, closed):
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and not math.isnan(v)
    if ok:
        ok = v >= lo if closed else v > lo
    if not ok:
        bracket = "[" if closed else "("
        raise _invalid(owner, name, f"a float in the range {bracket}{lo}, inf)", v)


class DBSCAN(ClusterMixin, BaseEstimator):
    """Density-based clustering (DBSCAN) on a compressed cover tree.

    A drop-in for :class:`sklearn.cluster.DBSCAN` (Ester, Kriegel, Sander
    and Xu, 1996) with the same core points, noise and labels: core points
    have at least ``min_samples`` points within ``eps`` (themselves
    included); core points within ``eps`` of each other share a cluster; a
    point within ``eps`` of core points of several clusters joins the
    lowest-numbered, as scikit-learn assigns it; clusters are numbered in
    the order of their first core point.

    scikit-learn stores every point's ``eps``-neighbourhood at once, which
    takes memory in proportion to the neighbourhoods' total size and can
    exhaust it on dense data. Here the neighbourhoods are only counted,
    each count keeping at most 32 of the points and subtrees it met within
    ``eps``: a core point is joined to the core points its count kept, the
    clusters of core points are the components of a spanning forest of
    their edges within ``eps`` (the search of :func:`minimum_spanning_tree`,
    stopped at ``eps``), and each border point's cluster is read from what
    its count kept (or, where that overflowed, from one pruned search).

    Parameters
    ----------
    eps : float, default=0.5
        The largest distance between two points for one to be in the
        other's neighbourhood (``d <= eps``). Not a bound on the distances
        within a cluster.
    min_samples : int, default=5
        The number of points (or total weight) in a neighbourhood for its
        point to be a core point, the point itself included.
    metric : str, default="euclidean"
        A metric pcct supports: "euclidean", "manhattan", "chebyshev",
        "minkowski" (with ``p``), "cosine" or "haversine" (and their
        aliases). Callables and "precomputed" are not supported.
    metric_params : dict, default=None
        Only ``{"p": ...}`` for "minkowski".
    p : float, default=None
        The power of the Minkowski metric (only with ``metric="minkowski"``;
        None means 2).
    n_jobs : int, default=None
        Goroutines building and searching the tree: None means 1, -1 all
        CPUs.

    Attributes
    ----------
    core_sample_indices_ : ndarray of shape (n_core_samples,)
        Indices of core samples.
    components_ : ndarray of shape (n_core_samples, n_features)
        Copy of each core sample found by training (for a tree, as the tree
        stores it: unit vectors under the cosine metric).
    labels_ : ndarray of shape (n_samples,)
        Cluster labels for each point given to :meth:`fit`; noisy samples
        are given the label -1.
    ids_ : ndarray of shape (n_samples,)
        The id of each point of ``labels_``: its row number for an array,
        the tree's live ids, ascending, for a tree.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has feature
        names that are all strings.

    See Also
    --------
    HDBSCAN : Clusters of varying density, without ``eps``.
    sklearn.cluster.DBSCAN : scikit-learn's, the reference for the labels.

    Notes
    -----
    No neighbourhood is listed: a point is proved a core point without
    counting when a subtree of the tree no wider than ``eps`` holds
    ``min_samples`` points, and otherwise by a count that adds whole
    subtrees lying within ``eps`` and stops at ``min_samples`` (when no
    weight is negative), so dense data costs little more than sparse, and
    memory stays a few numbers per point. On an array of Euclidean rows
    (``metric="euclidean"``, or "minkowski" with ``p=2``) no cover tree is
    built: rows of one to three features are clustered on a grid, rows of
    four to 64 on a k-d tree made for the call, by the same counts, and a
    pair is within ``eps`` when the sum of its squared differences, in
    float64, is at most ``eps * eps``, as scikit-learn's k-d tree decides
    it (the tree's counts compare the square root of that sum with
    ``eps``, which can decide a pair at exactly ``eps`` otherwise).

    Examples
    --------
    >>> from pcct.cluster import DBSCAN
    >>> import numpy as np
    >>> X = np.array([[1, 2], [2, 2], [2, 3],
    ...               [8, 7], [8, 8], [25, 80]])
    >>> clustering = DBSCAN(eps=3, min_samples=2).fit(X)
    >>> clustering.labels_
    array([ 0,  0,  0,  1,  1, -1])
    >>> clustering
    DBSCAN(eps=3, min_samples=2)
    """

    def __init__(self, eps=0.5, *, min_samples=5, metric="euclidean", metric_params=None, p=None,
                 n_jobs=None):
        self.eps = eps
        self.min_samples = min_samples
        self.metric = metric
        self.metric_params = metric_params
        self.p = p
        self.n_jobs = n_jobs

    def fit(self, X, y=None, sample_weight=None):
        """Perform DBSCAN clustering from features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), CoverTree or NearestNeighbors
            The points, or a tree (or fitted estimator) whose current points
            to cluster; the tree's metric must be this estimator's.
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample: a point with weight ``min_samples`` is a
            core point by itself, and a negative weight may keep its
            neighbours from being core points.

        Returns
        -------
        self : DBSCAN
            The fitted estimator.
        """
        owner = type(self).__name__
        _check_real(owner, "eps", self.eps, 0.0, closed=False)
        _check_int(owner, "min_samples", self.min_samples, 1)
        code, p, _, params = check_estimator_params(self)
        if code == CUSTOM:
            raise InvalidParameterError(
                f"The 'metric' parameter of {owner} must be a str among {_options(METRICS)} "
                f"(or a DistanceMetric of one). Got {self.metric!r} instead: {owner} takes no "
                "Python function."
            )
        jobs = effective_n_jobs(self.n_jobs)
        if math.isinf(self.eps):
            raise ValueError("eps must be finite; with eps=inf every point is one neighbourhood.")
        tree = _tree_of(X)
        if tree is None and any(params.get(k) is not None for k in ("V", "VI", "w")):
            raise ValueError(
                f"{owner} builds its tree with the metric alone: the parameters V, VI and w "
                "are not supported here. Build a CoverTree(X, metric=..., metric_params=...) "
                "and fit on it, or pass a metric without them."
            )
        eps, min_samples = float(self.eps), int(self.min_samples)
        if tree is None:
            # No tree is kept: Go clusters Euclidean rows on a grid (one to
            # three features) or a k-d tree (four to 64), others on a cover
            # tree built for the call.
            X = validate_data(self, X, dtype=[np.float64, np.float32], order="C")
            check_metric_domain(code, X)
            w = _check_sample_weight(sample_weight, X.shape[0])
            labels, core = _cluster.dbscan_points(X, code, p, eps, min_samples, w, jobs)
            ids = np.arange(X.shape[0], dtype=np.int64)
        else:
            version, _ = _version_for(X, code, p, self.n_jobs, owner)
            self.n_features_in_ = version.n_features
            w = _check_sample_weight(sample_weight, version.n_samples)
            labels, core = _cluster.dbscan(version, eps, min_samples, w, jobs)
            ids = version.live_ids()
        self.core_sample_indices_ = np.flatnonzero(core)
        self.labels_ = labels
        self.ids_ = ids
        if tree is None:
            self.components_ = X[self.core_sample_indices_].copy()
        else:
            self.components_ = _cluster.points(version, np.ascontiguousarray(
                ids[self.core_sample_indices_]))
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Compute clusters from X and return the cluster labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), CoverTree or NearestNeighbors
            The points, or a tree (or fitted estimator).
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample (see :meth:`fit`).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster labels. Noisy samples are given the label -1.
        """
        self.fit(X, sample_weight=sample_weight)
        return self.labels_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags


class HDBSCAN(ClusterMixin, BaseEstimator):
    """Hierarchical density-based clustering (HDBSCAN) on a compressed cover
    tree.

    A drop-in for :class:`sklearn.cluster.HDBSCAN` (Campello, Moulavi and
    Sander, 2013) with the same labels and probabilities. A point's core
    distance is the distance to its ``min_samples``-th nearest point (itself
    first), found by the tree's k-nearest-neighbour search; the mutual
    reachability distance of two points is the largest of their core
    distances and their distance divided by ``alpha``. Its exact minimum
    spanning tree comes from the Boruvka search of
    :func:`minimum_spanning_tree` (scikit-learn runs Prim's algorithm over
    every pair of points, O(n^2) distances, and for metrics outside its
    k-d and ball trees, such as "cosine", builds the full distance matrix).
    The hierarchy is then condensed and its clusters selected exactly as
    scikit-learn does.

    Parameters
    ----------
    min_cluster_size : int, default=5
        The minimum number of samples in a group for it to be a cluster;
        smaller groups are noise.
    min_samples : int, default=None
        The number of samples in a neighbourhood for a point to be a core
        point, the point itself included; None means ``min_cluster_size``.
    cluster_selection_epsilon : float, default=0.0
        Clusters that split below this distance are merged.
    max_cluster_size : int, default=None
        Clusters larger than this are not selected by the "eom" method
        (None: no limit).
    metric : str, default="euclidean"
        A metric pcct supports: "euclidean", "manhattan", "chebyshev",
        "minkowski" (power in ``metric_params["p"]``), "cosine" or
        "haversine" (and their aliases).
    metric_params : dict, default=None
        Only ``{"p": ...}`` for "minkowski".
    alpha : float, default=1.0
        A distance scaling parameter as used in robust single linkage: the
        distance between points is divided by it in the mutual
        reachability distance.
    cluster_selection_method : {"eom", "leaf"}, default="eom"
        "eom" selects the clusters of greatest excess of mass; "leaf" the
        leaves of the condensed tree, the finest clusters.
    allow_single_cluster : bool, default=False
        Whether the selection may return a single cluster of all points.
    n_jobs : int, default=None
        Goroutines building and searching the tree: None means 1, -1 all
        CPUs.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster labels for each point; -1 for noise, -2 for a row with an
        infinite value, -3 for a row with a missing (NaN) value.
    probabilities_ : ndarray of shape (n_samples,)
        The strength with which each point is a member of its cluster, in
        [0, 1]; 0 for noise and infinite rows, NaN for missing ones.
    single_linkage_tree_ : ndarray of shape (n_samples - 1, 4)
        The single-linkage tree of the mutual reachability distance, as
        scikit-learn builds it (its ``_single_linkage_tree_``, as rows of
        float64): row ``j`` joins clusters ``left`` and ``right`` at
        ``distance`` into a cluster of ``size`` points. Rows with
        non-finite values join last, at distance ``inf``, as in
        scikit-learn.
    ids_ : ndarray of shape (n_samples,)
        The id of each point of ``labels_``: its row number for an array,
        the tree's live ids, ascending, for a tree.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has feature
        names that are all strings.

    See Also
    --------
    DBSCAN : Density-based clustering at one distance.
    sklearn.cluster.HDBSCAN : scikit-learn's, the reference for the labels.

    Notes
    -----
    Mutual reachability distances often tie (a point's core distance
    bounds all its short edges, and integer data ties distances too), so
    several spanning trees can be minimal. scikit-learn takes the one
    Prim's algorithm finds from the first point and sorts its edges with
    numpy's default sort, which does not keep the order of equal values.
    pcct replays Prim's choices over every edge that can be in a minimum
    spanning tree (found from the exact tree of its Boruvka search) and
    sorts them with the same sort, so labels, probabilities and the
    single-linkage tree are identical to scikit-learn's, on tied data as
    well. ``store_centers`` is not supported.

    Examples
    --------
    >>> import numpy as np
    >>> from pcct.cluster import HDBSCAN
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 0.3, (30, 2)), rng.normal(5, 0.3, (30, 2))])
    >>> hdb = HDBSCAN(min_cluster_size=10).fit(X)
    >>> np.unique(hdb.labels_).tolist()
    [0, 1]
    """

    def __init__(self, min_cluster_size=5, min_samples=None, cluster_selection_epsilon=0.0,
                 max_cluster_size=None, metric="euclidean", metric_params=None, alpha=1.0,
                 cluster_selection_method="eom", allow_single_cluster=False, n_jobs=None):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.max_cluster_size = max_cluster_size
        self.metric = metric
        self.metric_params = metric_params
        self.alpha = alpha
        self.cluster_selection_method = cluster_selection_method
        self.allow_single_cluster = allow_single_cluster
        self.n_jobs = n_jobs

    def _check_params(self):
        """Check the parameters; return the metric's (code, p)."""
        owner = type(self).__name__
        _check_int(owner, "min_cluster_size", self.min_cluster_size, 2)
        _check_int(owner, "min_samples", self.min_samples, 1, allow_none=True)
        _check_real(owner, "cluster_selection_epsilon", self.cluster_selection_epsilon, 0.0,
                    closed=True)
        _check_int(owner, "max_cluster_size", self.max_cluster_size, 1, allow_none=True)
        if not isinstance(self.metric, str) or self.metric not in METRICS:
            raise InvalidParameterError(
                f"The 'metric' parameter of {owner} must be a str among {_options(METRICS)}. "
                f"Got {self.metric!r} instead: {metric_hint(self.metric)}."
            )
        if self.metric in ("seuclidean", "mahalanobis"):
            raise ValueError(
                f"{owner} takes no V or VI, which metric={self.metric!r} needs: scale the "
                "columns (by their standard deviations for seuclidean; whiten them for "
                "mahalanobis) and use metric='euclidean', or fit on a CoverTree built with "
                "that metric."
            )
        if self.metric_params is not None and not isinstance(self.metric_params, dict):
            raise _invalid(owner, "metric_params", "an instance of 'dict' or None",
                           self.metric_params)
        _check_real(owner, "alpha", self.alpha, 0.0, closed=False)
        methods = _cluster.SELECTION_METHODS
        if not isinstance(self.cluster_selection_method, str) or \
                self.cluster_selection_method not in methods:
            raise _invalid(owner, "cluster_selection_method", f"a str among {_options(methods)}",
                           self.cluster_selection_method)
        if not isinstance(self.allow_single_cluster, (bool, np.bool_)):
            raise _invalid(owner, "allow_single_cluster", "an instance of 'bool'",
                           self.allow_single_cluster)
        if self.n_jobs is not None and (isinstance(self.n_jobs, bool)
                                        or not isinstance(self.n_jobs, numbers.Integral)):
            raise _invalid(owner, "n_jobs", "an instance of 'int' or None", self.n_jobs)
        if math.isinf(self.cluster_selection_epsilon) or math.isinf(self.alpha):
            raise ValueError("cluster_selection_epsilon and alpha must be finite.")
        params = dict(self.metric_params or {})
        unknown = sorted(set(params) - {"p"})
        if unknown:
            raise ValueError(
                f"Unsupported metric_params {unknown}: pcct's metrics take only 'p' "
                "(the Minkowski power)."
            )
        return parse_metric(self.metric, params.get("p"), owner)

    def fit(self, X, y=None):
        """Find clusters based on hierarchical density-based clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), CoverTree or NearestNeighbors
            The points (rows with NaN or infinite values are labelled -3 or
            -2, as by scikit-learn, and left out), or a tree (or fitted
            estimator) whose current points to cluster; the tree's metric
            must be this estimator's.
        y : None
            Ignored.

        Returns
        -------
        self : HDBSCAN
            The fitted estimator.
        """
        code, p = self._check_params()
        jobs = effective_n_jobs(self.n_jobs)
        owner = type(self).__name__
        tree = _tree_of(X)
        infinite = missing = finite = None
        if tree is None:
            X = validate_data(self, X, dtype=[np.float64, np.float32], order="C",
                              ensure_all_finite=False)
            n_rows = X.shape[0]
            if not np.isfinite(X).all():
                sums = X.sum(axis=1, dtype=np.float64)
                missing = np.flatnonzero(np.isnan(sums))
                infinite = np.flatnonzero(np.isinf(sums))
                finite = np.flatnonzero(np.isfinite(X).all(axis=1))
                X = np.ascontiguousarray(X[finite])
            n = X.shape[0]
        else:
            version, _ = _version_for(X, code, p, self.n_jobs, owner)
            self.n_features_in_ = version.n_features
            n = n_rows = version.n_samples
        if n == 1:
            raise ValueError("n_samples=1 while HDBSCAN requires more than one sample")
        if n == 0:
            raise ValueError(f"Found array with 0 finite sample(s) while a minimum of 2 is "
                             f"required by {owner}.")
        min_samples = self.min_cluster_size if self.min_samples is None else self.min_samples
        if min_samples > n:
            raise ValueError(
                f"min_samples ({min_samples}) must be at most the number of samples in X ({n})"
            )
        if tree is None:
            check_metric_domain(code, X)
            version, _ = _handle.build(X, code, p, 0, jobs)
        labels, probs, slt = _cluster.hdbscan(
            version,
            min_cluster_size=int(self.min_cluster_size),
            min_samples=int(min_samples),
            cluster_selection_epsilon=float(self.cluster_selection_epsilon),
            max_cluster_size=int(self.max_cluster_size or 0),
            alpha=float(self.alpha),
            method=self.cluster_selection_method,
            allow_single_cluster=bool(self.allow_single_cluster),
            jobs=jobs,
        )
        if finite is not None:
            # scikit-learn appends the outliers in the iteration order of a
            # set of their row numbers.
            outliers = np.array(list(set(np.hstack([infinite, missing]).tolist())), dtype=np.int64)
            slt = _with_outliers(slt, finite, outliers)
            full = np.full(n_rows, -1, dtype=np.int64)
            full[finite] = labels
            full[infinite] = _INFINITE_LABEL
            full[missing] = _MISSING_LABEL
            p_full = np.zeros(n_rows)
            p_full[finite] = probs
            p_full[missing] = np.nan
            labels, probs = full, p_full
        self.single_linkage_tree_ = slt
        self.labels_ = labels
        self.probabilities_ = probs
        self.ids_ = version.live_ids() if tree is not None else np.arange(n_rows)
        return self

    def fit_predict(self, X, y=None):
        """Cluster X and return the associated cluster labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), CoverTree or NearestNeighbors
            The points, or a tree (or fitted estimator).
        y : None
            Ignored.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Cluster labels.
        """
        self.fit(X)
        return self.labels_

    def dbscan_clustering(self, cut_distance, min_cluster_size=5):
        """Return the clustering given by DBSCAN without border points.

        As scikit-learn's: the flat clustering of a cut at ``cut_distance``
        through the single-linkage tree of the mutual reachability distance
        (DBSCAN* at ``eps = cut_distance``), clusters smaller than
        ``min_cluster_size`` being noise.

        Parameters
        ----------
        cut_distance : float
            The mutual reachability distance of the cut.
        min_cluster_size : int, default=5
            Clusters smaller than this are noise.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster labels: -1 for noise, -2 and -3 for infinite and
            missing rows.
        """
        check_is_fitted(self, "labels_")
        owner = type(self).__name__
        _check_real(owner, "cut_distance", cut_distance, 0.0, closed=True)
        _check_int(owner, "min_cluster_size", min_cluster_size, 1)
        labels = _cluster.labels_at_cut(self.single_linkage_tree_, float(cut_distance),
                                        int(min_cluster_size))
        outliers = self.labels_ < -1
        labels[outliers] = self.labels_[outliers]
        return labels

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = True
        return tags
