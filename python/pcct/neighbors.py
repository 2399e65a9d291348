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

from .tree import (
    METRICS,
    SEARCHES,
    CoverTree,
    ReadOnlyError,
    _check_ids,
    check_metric_domain,
    check_p_applies,
    effective_n_jobs,
    metric_hint,
    parse_metric,
    split_object,
)

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
    breaks by index), except that the default metric is "euclidean" (see
    ``p``). The tree is built, updated and searched in Go, with ``n_jobs``
    goroutines.

    Unlike scikit-learn's, the fitted estimator can be updated: :meth:`insert`
    adds points and :meth:`delete` removes them, without a refit, and
    :meth:`snapshot` returns a read-only estimator that keeps answering as
    of the moment it was taken.

    **Ids.** Every fitted point has an id: :meth:`fit` assigns 0..n-1,
    :meth:`insert` assigns the next unused ids, and deleted ids are never
    reused. Every index returned by :meth:`kneighbors`,
    :meth:`radius_neighbors` and the graphs is an id. Until the first
    deletion the ids are simply the row numbers of the fitted data, as in
    scikit-learn.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours to use by default for :meth:`kneighbors`.
    radius : float, default=1.0
        Range of parameter space to use by default for
        :meth:`radius_neighbors`.
    metric : str, default="euclidean"
        The distance: "euclidean" ("l2"), "manhattan" ("cityblock", "l1"),
        "chebyshev" ("infinity"), "minkowski" (with power ``p``), "cosine"
        or "haversine". Only true metrics are supported (a cover tree
        relies on the triangle inequality), and cosine, which is served
        exactly: the points are normalised, searched with the Euclidean
        distance, and ``1 - cos`` is returned. Zero vectors have no cosine
        distance and are refused (scikit-learn puts them at distance 1 from
        everything). "haversine" is the great-circle distance on the unit
        sphere between (latitude, longitude) pairs in radians: 2 features,
        latitudes in [-pi/2, pi/2]; multiply by the Earth's radius (about
        6371 km) for distances on Earth. Any other name, and a Python
        callable, raises ValueError at :meth:`fit`, saying what is
        supported.
    p : float, default=2
        Power of the Minkowski metric, p >= 1 (``np.inf`` allowed), used only
        with ``metric="minkowski"``; p=1, 2 and inf give manhattan,
        euclidean and chebyshev. scikit-learn's default metric is
        "minkowski", so there ``NearestNeighbors(p=1)`` means the Manhattan
        distance; here the default metric is "euclidean", and :meth:`fit`
        raises ValueError if p (or ``metric_params["p"]``) is set with a
        metric it does not apply to, instead of silently ignoring it. (p=2,
        None, or the metric's own power, 1 for manhattan and inf for
        chebyshev, are accepted with any metric.)
    metric_params : dict, default=None
        Additional keyword arguments for the metric. Only ``"p"`` (which
        overrides ``p``) is supported, and ``"w"`` if it is None.
    n_jobs : int, default=None
        Number of parallel goroutines for building and updating the tree
        and for the neighbour searches. None means 1, -1 means all CPUs, -k
        means all CPUs but k - 1.
    search : {"depth_first", "corrected"}, default="depth_first"
        The k-nearest-neighbour algorithm; both are exact and return the
        same answers. "depth_first" is branch and bound: from the root, the
        children of a node are measured together and opened nearest first,
        and a subtree is skipped when its radius puts it beyond the k-th
        distance found so far. It is the default because it measures 1.4 to
        2.3 times fewer distances on the benchmark data. "corrected" is the
        corrected algorithm of Elkin and Kurlin: level by level, with the
        lambda-point bound and the break condition, and a proven bound on
        its number of iterations. Radius searches are not affected.
    verbose : bool, default=False
        Show a progress bar while the tree is built or updated and while a
        batch of queries runs: tqdm's (a widget in Jupyter when ipywidgets
        is installed) or, without tqdm, a line on stderr. The bar follows
        the count of points inserted or queries answered that the Go
        library updates as it works.

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
        Number of points held: those fitted and inserted, less those
        deleted.
    n_ids_ : int
        Number of ids issued (by :meth:`fit` and :meth:`insert`); every id
        is below it. The graphs have ``n_ids_`` columns. Equal to
        ``n_samples_fit_`` until the first deletion.
    ids_ : ndarray of shape (n_samples_fit_,), int64
        The live ids, ascending (read-only). Row i of ``kneighbors()`` (X=None)
        and of the graphs with X=None belongs to the point with id
        ``ids_[i]``.
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

    Python keeps no copy of the fitted data: the points live in the Go
    tree. Pickling stores the tree's binary encoding; :meth:`save` and
    :func:`pcct.load` do the same with a file.

    An update makes a new version of the tree and never disturbs queries
    running on the old one; concurrent updates of one estimator are
    serialized.

    Ctrl-C stops :meth:`fit`, :meth:`insert`, :meth:`delete` and long
    batches of queries within a fraction of a second and raises
    ``KeyboardInterrupt``; the estimator is then as it was before the call
    (a stopped update makes no new version). The call runs in a worker
    thread while the calling thread waits; small calls, and calls from
    threads other than the main one, go to Go directly.

    Queries release the GIL: several Python threads may query one fitted
    estimator at once.

    The Go runtime inside pcct does not survive ``fork()``: in a process
    forked after pcct was used, every call raises RuntimeError. Use the
    'spawn' or 'forkserver' start method of :mod:`multiprocessing`, or
    joblib's default 'loky' backend.

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

    Updates, without a refit (indices are ids; deleted ids are not reused):

    >>> neigh.insert([[0, 0, 1.25]])
    array([3])
    >>> neigh.delete([2]).kneighbors([[0, 0, 1.3]], 2, return_distance=False)
    array([[3, 0]])
    >>> neigh.ids_
    array([0, 1, 3])
    """

    def __init__(
        self,
        *,
        n_neighbors=5,
        radius=1.0,
        metric="euclidean",
        p=2,
        metric_params=None,
        n_jobs=None,
        search="depth_first",
        verbose=False,
    ):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.n_jobs = n_jobs
        self.search = search
        self.verbose = verbose

    # -- fitted attributes that follow the tree's current version ----------

    # Before fit each raises NotFittedError, an AttributeError, so that
    # hasattr() is False as for scikit-learn's fitted attributes.

    @property
    def n_samples_fit_(self):
        """Number of points held (fitted and inserted, less deleted)."""
        check_is_fitted(self)
        return self.tree_.n_samples

    @property
    def n_ids_(self):
        """Number of ids issued so far; every id is below it."""
        check_is_fitted(self)
        return self.tree_.n_ids

    @property
    def ids_(self):
        """The live ids, ascending (a read-only int64 array)."""
        check_is_fitted(self)
        return self.tree_.ids()

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
            raise InvalidParameterError(
                "The 'metric' parameter of NearestNeighbors must be a str among "
                "{" + ", ".join(repr(m) for m in sorted(METRICS)) + "}. "
                f"Got {self.metric!r} instead: {metric_hint(self.metric)}."
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
        v = self.verbose
        if not isinstance(v, (bool, np.bool_, numbers.Integral)):
            raise _invalid("verbose", "an instance of 'bool' or 'int'", v)
        self._strategy()

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
            # p only applies to "minkowski" (scikit-learn's default metric):
            # refuse a p that would silently be ignored.
            if "p" in params:
                check_p_applies(self.metric, params["p"], "NearestNeighbors", "metric_params['p']")
            else:
                check_p_applies(self.metric, self.p, "NearestNeighbors", "p")
            params.pop("w", None)
            code, tp = parse_metric(self.metric, None)
        return code, tp, effective_metric, params

    def _strategy(self):
        """The C ABI code of the search parameter."""
        s = self.search
        if not isinstance(s, str) or s not in SEARCHES:
            raise _invalid(
                "search", "a str among {" + ", ".join(repr(m) for m in sorted(SEARCHES)) + "}", s
            )
        return SEARCHES[s]

    def _check_writable(self, what):
        if getattr(self, "_read_only", False):
            raise ReadOnlyError(
                f"This {type(self).__name__} is a read-only snapshot: {what} is not "
                "allowed. Update (or refit) the live estimator the snapshot was taken "
                "from, or clone() this one."
            )

    def _check_n_neighbors(self, n_neighbors, query_is_train, n_queries, n_fit):
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
        X = validate_data(
            self,
            X,
            reset=False,
            dtype=self.tree_.dtype,
            order="C",
            ensure_all_finite=True,
        )
        check_metric_domain(self.tree_._code, X)
        return X

    def _verbose(self):
        return bool(self.verbose)

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
            The fitted nearest neighbours estimator. The points get the ids
            0..n_samples-1 (their row numbers).

        Raises
        ------
        ReadOnlyError
            If the estimator is a snapshot.
        """
        self._check_writable("fit")
        code, p, effective_metric, effective_params = self._check_params()
        effective_n_jobs(self.n_jobs)  # n_jobs=0 fails here, not at query time
        # validate_data sets n_features_in_ and feature_names_in_: put them
        # back if the fit fails or is interrupted, so that a fitted
        # estimator stays consistent with its tree.
        saved = {a: self.__dict__[a] for a in ("n_features_in_", "feature_names_in_")
                 if a in self.__dict__}
        try:
            X = validate_data(
                self,
                X,
                dtype=[np.float64, np.float32],
                order="C",
                ensure_all_finite=True,
            )
            check_metric_domain(code, X)
            # The tree copies X into Go: no Python copy is kept.
            tree = CoverTree._from_checked(X, code, p, self.n_jobs, 0, self.search,
                                           self._verbose())
        except BaseException:
            for a in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(a, None)
            self.__dict__.update(saved)
            raise
        self.tree_ = tree
        self.effective_metric_ = effective_metric
        self.effective_metric_params_ = effective_params
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    # -- dynamic updates -----------------------------------------------------

    def insert(self, X):
        """Add points to the fitted estimator, without a refit.

        The tree is not changed in place: a new version holding the old and
        the new points replaces it, built on ``n_jobs`` goroutines. Ctrl-C
        stops it within a fraction of a second (``KeyboardInterrupt``), and
        an interrupted insertion changes nothing. Snapshots taken before
        keep answering as they did.

        Parameters
        ----------
        X : array-like of shape (n_points, n_features)
            The new points, validated like the data of :meth:`fit` (finite,
            2-D, at least one row, ``n_features_in_`` features, the same
            feature names if fit had them) and converted to the fitted
            dtype.

        Returns
        -------
        ids : ndarray of shape (n_points,), int64
            The ids of the new points, in the order of the rows of ``X``:
            the next ``n_points`` unused ids (``n_ids_`` before the call
            onwards).

        Raises
        ------
        ReadOnlyError
            If the estimator is a snapshot.
        ValueError
            If ``X`` is invalid.
        """
        check_is_fitted(self)
        self._check_writable("insert")
        X = self._check_queries(X)
        return self.tree_._insert_checked(X, effective_n_jobs(self.n_jobs), self._verbose())

    def delete(self, ids):
        """Remove points from the fitted estimator, by id.

        The tree is not changed in place: a new version without those points
        replaces it. Deleted ids are never reused: later insertions get new
        ids, and no query returns a deleted id.

        Parameters
        ----------
        ids : array-like of int
            The ids to delete (an int is one id). Each must be live and
            appear once.

        Returns
        -------
        self : NearestNeighbors
            The estimator itself.

        Raises
        ------
        ReadOnlyError
            If the estimator is a snapshot.
        ValueError
            If an id is not live (never issued, or already deleted) or is
            given twice. The message names the first such id, and nothing
            is deleted.
        """
        check_is_fitted(self)
        self._check_writable("delete")
        self.tree_._delete_checked(_check_ids(ids), effective_n_jobs(self.n_jobs), self._verbose())
        return self

    def snapshot(self):
        """Return a read-only copy that answers as this estimator does now.

        The snapshot shares the tree's current version (O(1) time and
        memory, whatever the data size). Later :meth:`insert`,
        :meth:`delete` or :meth:`fit` calls on this estimator do not change
        the snapshot's answers, and queries on it may run in other threads
        while this estimator is updated.

        Returns
        -------
        snapshot : NearestNeighbors
            A fitted estimator with the same parameters and fitted
            attributes. Its :meth:`insert`, :meth:`delete` and :meth:`fit`
            raise :class:`ReadOnlyError`; its parameters may still be
            changed with ``set_params`` (e.g. ``n_neighbors``). It pickles
            and saves as read-only; ``clone(snapshot)`` is an ordinary,
            unfitted estimator.
        """
        check_is_fitted(self)
        snap = type(self).__new__(type(self))
        snap.__dict__.update(self.__dict__)
        snap.tree_ = self.tree_.snapshot()
        snap._read_only = True
        return snap

    def save(self, file):
        """Save the fitted estimator to a file, read back by :func:`pcct.load`.

        The file holds a short header (the kind "estimator", the dtype, the
        parameters and fitted attributes, as JSON) and the tree's binary
        encoding, with a CRC-32 of the whole: a truncated or damaged file
        makes :func:`pcct.load` raise ValueError. Loading runs no pickle.
        Ids, deleted ids and the read-only flag of a snapshot are kept.

        Parameters
        ----------
        file : str, os.PathLike or binary file object
            Where to write: a path (the file is created or replaced) or an
            object with a ``write`` method.
        """
        from ._io import save

        save(self, file)

    # -- k nearest neighbours ----------------------------------------------

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Find the k nearest neighbours of points.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            The query points. If None, the neighbours of each fitted point
            (every live point, in ascending id order: row i is the point
            with id ``ids_[i]``) are returned, and a point is not its own
            neighbour (a duplicate of it can be).
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
            Ids of the neighbours (int64): the row numbers of the fitted
            data until the first deletion. Ties in distance are ordered by
            id.
        """
        check_is_fitted(self)
        dist, ind, _ = self._kneighbors_checked(X, n_neighbors)
        if return_distance:
            return dist, ind
        return ind

    def _kneighbors_checked(self, X, n_neighbors):
        """Validate a k-neighbours query and run it on one version of the
        tree: (dist, ind, version)."""
        tree = self.tree_
        v = tree._version  # one version answers the whole call
        query_is_train = X is None
        if not query_is_train:
            X = self._check_queries(X)
        nq = v.n_samples if query_is_train else X.shape[0]
        k = self._check_n_neighbors(n_neighbors, query_is_train, nq, v.n_samples)
        dist, ind = tree._kneighbors(X, k, effective_n_jobs(self.n_jobs), self._strategy(),
                                     version=v, verbose=self._verbose())
        return dist, ind, v

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """Compute the (weighted) graph of k-neighbours of points.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            The query points. If None, the live fitted points in ascending
            id order (row i is id ``ids_[i]``), each not its own neighbour.
        n_neighbors : int, default=None
            Number of neighbours of each point; default: the value passed to
            the constructor.
        mode : {"connectivity", "distance"}, default="connectivity"
            "connectivity" gives ones; "distance" gives the distances.

        Returns
        -------
        A : sparse matrix of shape (n_queries, n_ids_)
            CSR matrix; ``A[i, j]`` is the weight of the edge from query i to
            the point with id j. Columns are ids, so there are ``n_ids_`` of
            them (``n_samples_fit_`` until the first deletion); the columns
            of deleted ids are empty.
        """
        check_is_fitted(self)
        if mode not in ("connectivity", "distance"):
            raise ValueError(
                'Unsupported mode, must be one of "connectivity", '
                f'or "distance" but got "{mode}" instead'
            )
        dist, ind, v = self._kneighbors_checked(X, n_neighbors)
        k = ind.shape[1]
        n_queries = ind.shape[0]
        data = np.ones(n_queries * k) if mode == "connectivity" else dist.ravel()
        indptr = np.arange(0, n_queries * k + 1, k)
        return _csr(data, ind.ravel(), indptr, (n_queries, v.n_ids))

    # -- radius neighbours ---------------------------------------------------

    def _radius_flat(self, X, radius, sort_results, counts_only=False):
        """(counts, dist, ind, version) of a radius query."""
        check_is_fitted(self)
        tree = self.tree_
        v = tree._version
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
        counts, dist, ind = tree._radius(
            X, radius, sort_results, effective_n_jobs(self.n_jobs), version=v,
            counts_only=counts_only, verbose=self._verbose(),
        )
        return counts, dist, ind, v

    def radius_neighbors(self, X=None, radius=None, return_distance=True, sort_results=False):
        """Find the neighbours within a given radius of points.

        Returns every fitted point at distance <= radius of each query.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            The query points. If None, the live fitted points in ascending
            id order (row i is id ``ids_[i]``), each not its own neighbour.
        radius : float, default=None
            Limiting distance of neighbours; default: the value passed to
            the constructor.
        return_distance : bool, default=True
            Whether to return the distances.
        sort_results : bool, default=False
            If True, each query's neighbours are sorted by distance (ties by
            id); needs ``return_distance=True``. Otherwise their order is
            unspecified.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries,), dtype object
            Each element an array of distances (fitted dtype); only with
            ``return_distance=True``.
        neigh_ind : ndarray of shape (n_queries,), dtype object
            Each element an int64 array of ids of fitted points.
        """
        check_is_fitted(self)
        if sort_results and not return_distance:
            raise ValueError("return_distance must be True if sort_results is True.")
        counts, dist, ind, _ = self._radius_flat(X, radius, sort_results)
        neigh_ind = split_object(ind, counts)
        if return_distance:
            return split_object(dist, counts), neigh_ind
        return neigh_ind

    def radius_neighbors_graph(self, X=None, radius=None, mode="connectivity", sort_results=False):
        """Compute the (weighted) graph of neighbours within a radius.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            The query points. If None, the live fitted points in ascending
            id order (row i is id ``ids_[i]``), each not its own neighbour.
        radius : float, default=None
            Radius of neighbourhoods; default: the value passed to the
            constructor.
        mode : {"connectivity", "distance"}, default="connectivity"
            "connectivity" gives ones; "distance" gives the distances.
        sort_results : bool, default=False
            If True, the entries of each row are sorted by increasing
            distance (ties by id). Only used with ``mode="distance"``.

        Returns
        -------
        A : sparse matrix of shape (n_queries, n_ids_)
            CSR matrix; ``A[i, j]`` is the weight of the edge from query i to
            the point with id j. Columns are ids, so there are ``n_ids_`` of
            them (``n_samples_fit_`` until the first deletion); the columns
            of deleted ids are empty.
        """
        check_is_fitted(self)
        if mode not in ("connectivity", "distance"):
            raise ValueError(
                'Unsupported mode, must be one of "connectivity", '
                f'or "distance" but got "{mode}" instead'
            )
        sort = sort_results and mode == "distance"
        counts, dist, ind, v = self._radius_flat(X, radius, sort)
        data = np.ones(len(ind)) if mode == "connectivity" else dist
        indptr = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(counts)))
        return _csr(data, ind, indptr, (len(counts), v.n_ids))
