"""NearestNeighbors: scikit-learn's unsupervised neighbours estimator on a
compressed cover tree."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from .tree import METRICS, CoverTree, effective_n_jobs, parse_metric, split_object

__all__ = ["NearestNeighbors", "InvalidParameterError"]


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter has a wrong type or value.

    Like scikit-learn's InvalidParameterError, it is both a ValueError and
    a TypeError.
    """


def _invalid(name, expected, value):
    return InvalidParameterError(
        f"The {name!r} parameter of NearestNeighbors must be {expected}. "
        f"Got {value!r} instead."
    )


def _is_int(v):
    return isinstance(v, numbers.Integral)


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _csr(data, indices, indptr, shape):
    """A CSR matrix, or a CSR array where scikit-learn is configured for
    sparse arrays (``sklearn.set_config(sparse_interface="sparray")``)."""
    try:
        from sklearn import get_config

        sparray = get_config().get("sparse_interface") == "sparray"
    except Exception:  # pragma: no cover
        sparray = False
    cls = sp.csr_array if sparray else sp.csr_matrix
    return cls((data, indices, indptr), shape=shape)


class NearestNeighbors(BaseEstimator):
    """Unsupervised learner for exact nearest-neighbour searches, backed by a
    parallel compressed cover tree.

    A drop-in for :class:`sklearn.neighbors.NearestNeighbors` with the same
    methods and results (up to the order of tied neighbours, which pcct
    breaks by index). The tree is built and searched in Go, with ``n_jobs``
    goroutines per batch of queries.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours to use by default for :meth:`kneighbors`.
    radius : float, default=1.0
        Range of parameter space to use by default for
        :meth:`radius_neighbors`.
    metric : str, default="minkowski"
        The distance: "minkowski" (with power ``p``; the default p=2 is the
        Euclidean distance), "euclidean" ("l2"), "manhattan" ("cityblock",
        "l1") or "chebyshev" ("infinity"). Only true metrics are supported:
        a cover tree relies on the triangle inequality. As in scikit-learn,
        the default is "minkowski", so ``NearestNeighbors(p=1)`` means the
        Manhattan distance.
    p : float, default=2
        Power of the Minkowski metric, p >= 1 (``np.inf`` allowed). Used only
        with ``metric="minkowski"``; p=1, 2 and inf give manhattan,
        euclidean and chebyshev.
    metric_params : dict, default=None
        Additional keyword arguments for the metric. Only ``"p"`` (which
        overrides ``p``) is supported, and ``"w"`` if it is None.
    n_jobs : int, default=None
        Number of parallel goroutines for the neighbour searches. None
        means 1, -1 means all CPUs, -k means all CPUs but k - 1.

    Attributes
    ----------
    effective_metric_ : str
        The distance used: ``metric``, except that "minkowski" with p = 1, 2
        or inf becomes "manhattan", "euclidean" or "chebyshev".
    effective_metric_params_ : dict
        Metric parameters used: ``{"p": p, "w": None}`` for a Minkowski
        metric with another p, else ``metric_params`` without "p".
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.
    n_samples_fit_ : int
        Number of samples in the fitted data.
    tree_ : CoverTree
        The cover tree over the fitted data.

    See Also
    --------
    sklearn.neighbors.NearestNeighbors : The scikit-learn estimator this
        one mirrors.
    pcct.CoverTree : The tree itself, with a KDTree-like interface.

    Notes
    -----
    float32 and float64 data are kept in their precision; other numeric
    data is converted to float64. Queries are converted to the fitted
    dtype, and distances are returned in it.

    The Go runtime inside pcct does not survive ``fork()``: in a process
    forked after pcct was used, every call raises RuntimeError. Use the
    'spawn' or 'forkserver' start method of :mod:`multiprocessing`.

    Examples
    --------
    >>> import numpy as np
    >>> from pcct import NearestNeighbors
    >>> samples = [[0, 0, 2], [1, 0, 0], [0, 0, 1]]
    >>> neigh = NearestNeighbors(n_neighbors=2, radius=0.4)
    >>> neigh.fit(samples)
    NearestNeighbors(n_neighbors=2, radius=0.4)
    >>> neigh.kneighbors([[0, 0, 1.3]], 2, return_distance=False)
    array([[2, 0]])
    >>> nbrs = neigh.radius_neighbors([[0, 0, 1.3]], 0.4, return_distance=False)
    >>> np.asarray(nbrs[0][0])
    array(2)
    """

    def __init__(
        self,
        *,
        n_neighbors=5,
        radius=1.0,
        metric="minkowski",
        p=2,
        metric_params=None,
        n_jobs=None,
    ):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.n_jobs = n_jobs

    # -- validation --------------------------------------------------------

    def _check_params(self):
        """Check the constructor parameters; return (metric code, p,
        effective_metric_, effective_metric_params_)."""
        k = self.n_neighbors
        if k is not None and (isinstance(k, bool) or not _is_int(k) or k < 1):
            raise _invalid("n_neighbors", "an int in the range [1, inf) or None", k)
        r = self.radius
        if r is not None and (not _is_real(r) or math.isnan(r) or r < 0):
            raise _invalid("radius", "a float in the range [0.0, inf] or None", r)
        if not isinstance(self.metric, str) or self.metric not in METRICS:
            raise _invalid(
                "metric",
                "a str among {" + ", ".join(repr(m) for m in sorted(METRICS)) + "}",
                self.metric,
            )
        p = self.p
        if p is not None and (not _is_real(p) or not p > 0):
            raise _invalid("p", "a float in the range (0.0, inf] or None", p)
        params = self.metric_params
        if params is not None and not isinstance(params, dict):
            raise _invalid("metric_params", "an instance of 'dict' or None", params)
        nj = self.n_jobs
        if nj is not None and (isinstance(nj, bool) or not _is_int(nj)):
            raise _invalid("n_jobs", "an instance of 'int' or None", nj)

        params = {} if params is None else dict(params)
        unknown = sorted(set(params) - {"p", "w"})
        if unknown:
            raise ValueError(
                f"Unsupported metric_params {unknown}: pcct's metrics take only 'p' "
                "(the Minkowski power)."
            )
        if params.get("w") is not None:
            raise ValueError(
                "Weighted Minkowski distances (metric_params['w']) are not supported by pcct."
            )
        if "p" in params and self.p is not None:
            warnings.warn(
                "Parameter p is found in metric_params. "
                "The corresponding parameter from __init__ is ignored.",
                SyntaxWarning,
                stacklevel=3,
            )
        effective_p = params.get("p", self.p)
        effective_metric = self.metric
        if self.metric == "minkowski":
            params.pop("w", None)
            mp = params.pop("p", effective_p)
            mp = 2 if mp is None else mp
            if not _is_real(mp) or math.isnan(mp) or mp < 1:
                raise ValueError(
                    f"NearestNeighbors does not support p = {mp} for the Minkowski "
                    "metric: with 0 < p < 1 it is not a distance metric (it breaks the "
                    "triangle inequality a cover tree relies on). Set p >= 1."
                )
            if mp == 1:
                effective_metric = "manhattan"
            elif mp == 2:
                effective_metric = "euclidean"
            elif mp == np.inf:
                effective_metric = "chebyshev"
            else:
                params["p"] = mp
                params["w"] = None
            code, tp = parse_metric("minkowski", mp)
        else:
            params.pop("w", None)
            code, tp = parse_metric(self.metric, None)
        return code, tp, effective_metric, params

    def _check_n_neighbors(self, n_neighbors, query_is_train, n_queries):
        if n_neighbors is None:
            n_neighbors = self.n_neighbors
        elif n_neighbors <= 0:
            raise ValueError("Expected n_neighbors > 0. Got %d" % n_neighbors)
        elif not _is_int(n_neighbors):
            raise TypeError(
                "n_neighbors does not take %s value, enter integer value" % type(n_neighbors)
            )
        if n_neighbors is None:
            raise ValueError(
                "n_neighbors is None: pass n_neighbors to kneighbors or set it in the constructor."
            )
        n_neighbors = int(n_neighbors)
        n_fit = self.n_samples_fit_
        if query_is_train and n_neighbors >= n_fit:
            raise ValueError(
                f"Expected n_neighbors < n_samples_fit, but n_neighbors = {n_neighbors}, "
                f"n_samples_fit = {n_fit}, n_samples = {n_queries}"
            )
        if not query_is_train and n_neighbors > n_fit:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {n_neighbors}, "
                f"n_samples_fit = {n_fit}, n_samples = {n_queries}"
            )
        return n_neighbors

    def _check_queries(self, X):
        """Validate query points: same features as fit, fitted dtype, C order."""
        return validate_data(
            self,
            X,
            reset=False,
            dtype=self.tree_.dtype,
            order="C",
            ensure_all_finite=True,
        )

    # -- fit ---------------------------------------------------------------

    def fit(self, X, y=None):
        """Fit the nearest neighbours estimator from the training dataset.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. float32 and float64 are kept; other numeric types
            are converted to float64.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : NearestNeighbors
            The fitted nearest neighbours estimator.
        """
        code, p, effective_metric, effective_params = self._check_params()
        effective_n_jobs(self.n_jobs)  # n_jobs=0 fails here, not at query time
        X = validate_data(
            self,
            X,
            dtype=[np.float64, np.float32],
            order="C",
            ensure_all_finite=True,
        )
        self.tree_ = CoverTree._from_checked(X, code, p, self.n_jobs, 0)
        self._fit_X = X
        self.effective_metric_ = effective_metric
        self.effective_metric_params_ = effective_params
        self.n_samples_fit_ = X.shape[0]
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    # -- k nearest neighbours ----------------------------------------------

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Find the k nearest neighbours of points.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            The query points. If None, the neighbours of each fitted point
            are returned, and a point is not its own neighbour (a duplicate
            of it can be).
        n_neighbors : int, default=None
            Number of neighbours of each point; default: the value passed to
            the constructor.
        return_distance : bool, default=True
            Whether to return the distances.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries, n_neighbors)
            Distances to the neighbours, nearest first, in the fitted dtype;
            only with ``return_distance=True``.
        neigh_ind : ndarray of shape (n_queries, n_neighbors)
            Indices of the neighbours in the fitted data (int64); ties in
            distance are ordered by index.
        """
        check_is_fitted(self)
        query_is_train = X is None
        if not query_is_train:
            X = self._check_queries(X)
        nq = self.n_samples_fit_ if query_is_train else X.shape[0]
        k = self._check_n_neighbors(n_neighbors, query_is_train, nq)
        dist, ind = self.tree_._kneighbors(X, k, effective_n_jobs(self.n_jobs))
        if return_distance:
            return dist, ind
        return ind

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """Compute the (weighted) graph of k-neighbours of points.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            The query points. If None, the fitted points, each not its own
            neighbour.
        n_neighbors : int, default=None
            Number of neighbours of each point; default: the value passed to
            the constructor.
        mode : {"connectivity", "distance"}, default="connectivity"
            "connectivity" gives ones; "distance" gives the distances.

        Returns
        -------
        A : sparse matrix of shape (n_queries, n_samples_fit)
            CSR matrix; ``A[i, j]`` is the weight of the edge from query i to
            fitted point j.
        """
        check_is_fitted(self)
        if mode not in ("connectivity", "distance"):
            raise ValueError(
                'Unsupported mode, must be one of "connectivity", '
                f'or "distance" but got "{mode}" instead'
            )
        dist, ind = self.kneighbors(X, n_neighbors, return_distance=True)
        n_queries, k = ind.shape
        data = np.ones(n_queries * k) if mode == "connectivity" else dist.ravel()
        indptr = np.arange(0, n_queries * k + 1, k)
        return _csr(data, ind.ravel(), indptr, (n_queries, self.n_samples_fit_))

    # -- radius neighbours ---------------------------------------------------

    def _radius_flat(self, X, radius, sort_results, counts_only=False):
        check_is_fitted(self)
        if X is not None:
            X = self._check_queries(X)
        if radius is None:
            radius = self.radius
        if isinstance(radius, bool) or not isinstance(radius, numbers.Real):
            if np.ndim(radius) == 0 and radius is not None:
                radius = float(radius)
            else:
                raise ValueError(
                    f"radius must be a single number, got {radius!r}: pcct uses one "
                    "radius for all queries."
                )
        radius = float(radius)
        if math.isnan(radius) or radius < 0:
            raise ValueError(f"radius == {radius}, must be >= 0.")
        counts, dist, ind = self.tree_._radius(
            X, radius, sort_results, effective_n_jobs(self.n_jobs), counts_only=counts_only
        )
        return counts, dist, ind

    def radius_neighbors(self, X=None, radius=None, return_distance=True, sort_results=False):
        """Find the neighbours within a given radius of points.

        Returns every fitted point at distance <= radius of each query.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            The query points. If None, the fitted points, each not its own
            neighbour.
        radius : float, default=None
            Limiting distance of neighbours; default: the value passed to
            the constructor.
        return_distance : bool, default=True
            Whether to return the distances.
        sort_results : bool, default=False
            If True, each query's neighbours are sorted by distance (ties by
            index); needs ``return_distance=True``. Otherwise their order is
            unspecified.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries,), dtype object
            Each element an array of distances (fitted dtype); only with
            ``return_distance=True``.
        neigh_ind : ndarray of shape (n_queries,), dtype object
            Each element an int64 array of indices of fitted points.
        """
        check_is_fitted(self)
        if sort_results and not return_distance:
            raise ValueError("return_distance must be True if sort_results is True.")
        counts, dist, ind = self._radius_flat(X, radius, sort_results)
        neigh_ind = split_object(ind, counts)
        if return_distance:
            return split_object(dist, counts), neigh_ind
        return neigh_ind

    def radius_neighbors_graph(self, X=None, radius=None, mode="connectivity", sort_results=False):
        """Compute the (weighted) graph of neighbours within a radius.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            The query points. If None, the fitted points, each not its own
            neighbour.
        radius : float, default=None
            Radius of neighbourhoods; default: the value passed to the
            constructor.
        mode : {"connectivity", "distance"}, default="connectivity"
            "connectivity" gives ones; "distance" gives the distances.
        sort_results : bool, default=False
            If True, the entries of each row are sorted by increasing
            distance (ties by index). Only used with ``mode="distance"``.

        Returns
        -------
        A : sparse matrix of shape (n_queries, n_samples_fit)
            CSR matrix; ``A[i, j]`` is the weight of the edge from query i to
            fitted point j.
        """
        check_is_fitted(self)
        if mode not in ("connectivity", "distance"):
            raise ValueError(
                'Unsupported mode, must be one of "connectivity", '
                f'or "distance" but got "{mode}" instead'
            )
        sort = sort_results and mode == "distance"
        counts, dist, ind = self._radius_flat(X, radius, sort)
        data = np.ones(len(ind)) if mode == "connectivity" else dist
        indptr = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(counts)))
        return _csr(data, ind, indptr, (len(counts), self.n_samples_fit_))
