"""Bases and mixins of pcct's estimators, as scikit-learn's
``neighbors/_base.py`` has them: the one query path that
:class:`pcct.NearestNeighbors` and the transformers share.

- :class:`NeighborsBase`: parameter checks, ``fit`` (the one place that
  builds the index the queries run on: :meth:`NeighborsBase._fit_index`),
  the fitted attributes that follow the tree's current version, saving.
- :class:`KNeighborsMixin`: ``kneighbors`` and ``kneighbors_graph``.
- :class:`RadiusNeighborsMixin`: ``radius_neighbors`` and
  ``radius_neighbors_graph``.
- :class:`UpdatesMixin`: ``insert``, ``delete`` and ``snapshot``.

Every query validates its input here, pins one version of the fitted tree
for the whole call, and runs on it through the tree's ``_kneighbors`` and
``_radius`` (which call ``_search.py``). A new kind of index (another
algorithm, another device) plugs in at :meth:`NeighborsBase._fit_index`,
which chooses what ``tree_`` is, and by giving that object the same
``_version``, ``_kneighbors`` and ``_radius``; nothing else here needs to
know which index answers. The ``algorithm`` parameter chooses between a
:class:`CoverTree` and a :class:`BruteForceIndex` there.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import EfficiencyWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _format, _precomputed, _search, _sparse
from ._validation import (
    clean_points,
    POINTS_DTYPE,
    as_float,
    CUSTOM,
    check_estimator_params,
    check_savable,
    check_ids,
    check_metric_domain,
    check_mode,
    check_n_neighbors,
    check_radius,
    effective_n_jobs,
    search_code,
    device_code,
    check_device,
)
from .exceptions import ReadOnlyError
from .tree import build_index

__all__ = ["NeighborsBase", "KNeighborsMixin", "RadiusNeighborsMixin", "UpdatesMixin"]

# A tree whose build measured more than this share of the points per point
# prunes little; its queries will too.
_UNPRUNABLE_SHARE = 1 / 8


def _warn_if_unprunable(tree, n):
    """Warn (EfficiencyWarning) when a cover tree asked for by name cost
    a good share of all pairs to build: the data leave it little to prune,
    and brute force answers faster. "auto" decides this itself."""
    if n < 4096:
        return
    per_point = tree.stats()["build_distance_evaluations"] / n
    if per_point > n * _UNPRUNABLE_SHARE:
        warnings.warn(
            f"The cover tree measured {per_point:,.0f} distances per point to build over "
            f"{n:,} points: these data leave a tree little to prune, and its queries will "
            "measure most points too. algorithm='auto' (the default) or 'brute' answers "
            "faster.",
            EfficiencyWarning,
            stacklevel=3,
        )

# Bytes per (query, neighbour) pair that a graph adds to the answer's
# arrays: its data (ones, or the distances copied) and scipy's copy of the
# indices.
_GRAPH_BYTES = 16


class NeighborsBase(BaseEstimator):
    """Base of pcct's neighbours estimators.

    Subclasses define ``__init__`` with their parameters (among
    n_neighbors, radius, mode, metric, p, metric_params, n_jobs, search,
    verbose, device) and call :meth:`_fit` from ``fit``.
    """

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
        if self._precomputed():
            return _precomputed.check_params(self)
        return check_estimator_params(self)

    def _precomputed(self):
        """Whether the metric is "precomputed": X is a square matrix of
        distances, queries rows of distances to the fitted points."""
        return isinstance(self.metric, str) and self.metric == "precomputed"

    def _strategy(self):
        """The C ABI code of the search parameter."""
        return search_code(self.search, type(self).__name__)

    def _device(self):
        """The C ABI code of the device parameter ("auto" for estimators
        without one)."""
        return device_code(getattr(self, "device", "auto"), type(self).__name__)

    def _check_writable(self, what):
        if getattr(self, "_read_only", False):
            raise ReadOnlyError(
                f"This {type(self).__name__} is a read-only snapshot: {what} is not "
                "allowed. Update (or refit) the live estimator the snapshot was taken "
                "from, or clone() this one."
            )

    def _check_queries(self, X):
        """Validate query points: same features as fit, fitted dtype, C order
        (with metric="precomputed": rows of distances to the fitted points,
        dense or CSR)."""
        if self.tree_._code == _precomputed.PRECOMPUTED:
            return _precomputed.check_query(X, self.tree_.dtype, self.tree_.n_samples)
        if isinstance(self.tree_, _sparse.SparseIndex):
            # Sparse or dense queries of a sparse fit, as CSR rows.
            X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=POINTS_DTYPE,
                              ensure_all_finite=True)
            return _sparse.to_csr(sp.csr_matrix(X) if not sp.issparse(X) else X,
                                  self.tree_.dtype)
        if not hasattr(self, "feature_names_in_") and clean_points(
            X, self.tree_.dtype, getattr(self, "n_features_in_", -1)
        ):
            # What validate_data would return unchanged (fitted without
            # feature names, so none are checked): its checks cost 0.2 ms
            # a call, 5% of a few thousand low-dimensional queries.
            check_metric_domain(self.tree_._code, X)
            return X
        if sp.issparse(X):
            # Sparse queries of a dense fit: their rows densified, as
            # scikit-learn's brute force takes them.
            X = X.toarray()
        X = as_float(validate_data(
            self,
            X,
            reset=False,
            dtype=POINTS_DTYPE,
            order="C",
            ensure_all_finite=True,
        ), self.tree_.dtype)
        check_metric_domain(self.tree_._code, X)
        return X

    def _verbose(self):
        return bool(self.verbose)

    def _jobs(self):
        return effective_n_jobs(self.n_jobs)

    # -- fit ---------------------------------------------------------------

    def _fit(self, X):
        """Fit on X: check the parameters and X, build the index, set the
        fitted attributes. Returns self."""
        self._check_writable("fit")
        code, p, effective_metric, effective_params = self._check_params()
        self._jobs()  # n_jobs=0 fails here, not at query time
        # validate_data sets n_features_in_ and feature_names_in_: put them
        # back if the fit fails or is interrupted, so that a fitted
        # estimator stays consistent with its tree.
        saved = {a: self.__dict__[a] for a in ("n_features_in_", "feature_names_in_")
                 if a in self.__dict__}
        try:
            if code == _precomputed.PRECOMPUTED:
                return self._fit_precomputed(X)
            if sp.issparse(X):
                tree, choice = self._fit_sparse(X, code, p, effective_params)
                n = X.shape[0]
            else:
                tree, choice, n = self._fit_dense(X, code, p, effective_metric, effective_params)
        except BaseException:
            for a in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(a, None)
            self.__dict__.update(saved)
            raise
        self.tree_ = tree
        if tree._algorithm == "cover_tree" and getattr(self, "algorithm", "cover_tree") == "cover_tree":
            _warn_if_unprunable(tree, n)
        self.effective_metric_ = effective_metric
        self.effective_metric_params_ = effective_params
        self.effective_algorithm_ = tree._algorithm
        self.algorithm_choice_ = choice
        return self

    def _fit_dense(self, X, code, p, effective_metric, effective_params):
        """Check dense points X and build their index: (index, choice,
        number of points)."""
        if clean_points(X):
            # What validate_data would return unchanged, and all it would
            # do for a plain array (no feature names): its checks cost 0.1
            # ms, a third of a 100-point fit.
            self.n_features_in_ = X.shape[1]
            self.__dict__.pop("feature_names_in_", None)
        else:
            X = as_float(validate_data(
                self,
                X,
                dtype=POINTS_DTYPE,
                order="C",
                ensure_all_finite=True,
            ))
        check_metric_domain(code, X)
        check_device(getattr(self, "device", "auto"), code, p, type(self).__name__,
                     weighted=effective_params.get("w") is not None)
        tree, choice = self._fit_index(X, code, p, effective_params,
                                       effective_metric if code == CUSTOM else None)
        return tree, choice, X.shape[0]

    def _fit_sparse(self, X, code, p, effective_params):
        """Check sparse points X (any scipy.sparse format, taken as CSR)
        and build their index (see ``_sparse.py``): (index, choice)."""
        owner = type(self).__name__
        _sparse.check_metric(code, p, effective_params, owner)
        if getattr(self, "device", "auto") == "cuda":
            raise ValueError(
                f"{owner}(device='cuda') does not take sparse input: sparse rows are searched "
                "on the CPU. Use device='auto' or 'cpu', or densify X (X.toarray()) for the GPU."
            )
        X = validate_data(self, X, accept_sparse="csr", dtype=POINTS_DTYPE,
                          ensure_all_finite=True)
        X = _sparse.to_csr(X)
        version, choice = _sparse.build(X, code, p, 0, self._jobs(), self._verbose(),
                                        getattr(self, "algorithm", "cover_tree"))
        return _sparse.SparseIndex(version, code, self._jobs(), p), choice

    def _fit_precomputed(self, X):
        """Fit on a square distance matrix (metric="precomputed"), dense or
        sparse, checked as scikit-learn checks it; the index is the matrix
        itself. Returns self."""
        X = validate_data(self, X, accept_sparse=_precomputed.SPARSE_FORMATS,
                          dtype=POINTS_DTYPE, ensure_all_finite=True, order="C")
        X = _precomputed.check_matrix(X)
        if X.shape[0] != X.shape[1]:
            raise ValueError(
                "Precomputed matrix must be square. Input is a {}x{} matrix.".format(*X.shape)
            )
        self.tree_ = _precomputed.PrecomputedIndex(X)
        self.effective_metric_ = "precomputed"
        self.effective_metric_params_ = {}
        self.effective_algorithm_ = self.tree_._algorithm
        self.algorithm_choice_ = None
        return self

    def _fit_index(self, X, code, p, metric_params=None, func=None):
        """The index the queries will run on, over the checked rows of X
        (C-contiguous float32 or float64) with the metric (code, p) and its
        parameters (``effective_metric_params_``: V, VI or w), or the
        Python function ``func`` with its keyword arguments: a
        :class:`CoverTree` or a :class:`BruteForceIndex`, as the
        ``algorithm`` parameter says or (for "auto") as the library
        chooses (a Python function is served by a cover tree only); it
        copies X into Go (no Python copy is kept). Returns (index, the
        evidence "auto" chose from or None)."""
        return build_index(X, code, p, self.n_jobs, 0, self.search, self._verbose(),
                           getattr(self, "algorithm", "cover_tree"),
                           metric_params=metric_params, func=func)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        # Sparse input: points under the metrics that take them (see
        # _sparse.py), or a graph of precomputed distances.
        tags.input_tags.sparse = self._precomputed() or _sparse.takes_sparse(
            self.metric, getattr(self, "p", None), getattr(self, "metric_params", None))
        tags.input_tags.pairwise = self._precomputed()
        return tags

    # -- saving --------------------------------------------------------------

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
        check_is_fitted(self)
        tree = self.tree_
        if tree._code == _precomputed.PRECOMPUTED:
            raise TypeError(
                f"This {type(self).__name__} was fitted with metric='precomputed': pcct's file "
                "format holds a tree's points, and it holds a distance matrix. Pickle the "
                "estimator instead, or save the matrix (numpy.save, scipy.sparse.save_npz) "
                "and fit again."
            )
        if isinstance(tree, _sparse.SparseIndex):
            body, state = tree._saved()  # the sparse rows and ids
        else:
            check_savable(tree._code, type(self).__name__)
            body = tree._version.encode()  # one version for the whole file
            state = tree._state()
        attrs = {
            "effective_metric_": self.effective_metric_,
            "effective_metric_params_": self.effective_metric_params_,
            "n_features_in_": self.n_features_in_,
            "read_only": bool(getattr(self, "_read_only", False)),
            "algorithm_choice_": getattr(self, "algorithm_choice_", None),
        }
        if hasattr(self, "feature_names_in_"):
            attrs["feature_names_in_"] = [str(f) for f in self.feature_names_in_]
        header = {
            "dtype": tree.dtype.name,
            "tree": state,
            "estimator": {"class": type(self).__name__, "params": self.get_params(deep=False),
                          "attributes": attrs},
        }
        _format.write(file, "estimator", body, header, type(self).__name__)

    @classmethod
    def _from_saved(cls, info, tree):
        """The estimator of a saved file's header ``info`` over its restored
        ``tree`` (ValueError, KeyError or TypeError if they are damaged)."""
        params = dict(info["params"])
        attrs = info["attributes"]
        est = cls(**params)
        code, p, effective_metric, effective_params = est._check_params()
        # The header's parameters must describe the tree the file holds.
        if code != tree._code or (tree.metric == "minkowski" and p != tree.p):
            raise ValueError(
                f"the parameters name metric {effective_metric!r}, but the tree holds "
                f"{tree.metric!r}" + (f" with p={tree.p:g}" if tree.metric == "minkowski" else "")
            )
        if (attrs["effective_metric_"], attrs["effective_metric_params_"]) != (
                effective_metric, effective_params):
            raise ValueError(
                f"effective_metric_ {attrs['effective_metric_']!r} with "
                f"{attrs['effective_metric_params_']!r} does not follow from the parameters "
                f"({effective_metric!r} with {effective_params!r})"
            )
        est.tree_ = tree
        est.effective_algorithm_ = tree._algorithm
        est.algorithm_choice_ = attrs.get("algorithm_choice_")
        if est.algorithm_choice_ is not None:
            est.algorithm_choice_ = {str(k): float(v) for k, v in est.algorithm_choice_.items()}
        est.effective_metric_ = str(attrs["effective_metric_"])
        est.effective_metric_params_ = dict(attrs["effective_metric_params_"])
        est.n_features_in_ = int(attrs["n_features_in_"])
        if "feature_names_in_" in attrs:
            est.feature_names_in_ = np.asarray(attrs["feature_names_in_"], dtype=object)
        if est.n_features_in_ != tree.n_features:
            raise ValueError("n_features_in_ differs from the tree's dimension")
        if attrs.get("read_only"):
            est._read_only = True
        return est


class UpdatesMixin:
    """``insert``, ``delete`` and ``snapshot`` of a fitted estimator."""

    def _check_updatable(self, what):
        if self.tree_._code == _precomputed.PRECOMPUTED:
            raise TypeError(
                f"{what}() is not possible with metric='precomputed': the fitted matrix holds "
                "the distances between the fitted points only, and a new point would need a "
                "new row and column. Refit (fit) on the updated distance matrix instead."
            )

    def insert(self, X, ids=None):
        """Add points to the fitted estimator, without a refit.

        The tree is not changed in place: a new version holding the old and
        the new points replaces it, built on ``n_jobs`` goroutines. Ctrl-C
        stops it within a fraction of a second (``KeyboardInterrupt``), and
        an interrupted insertion changes nothing. Snapshots taken before
        keep answering as they did.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_points, n_features)
            The new points, validated like the data of :meth:`fit` (finite,
            2-D, at least one row, ``n_features_in_`` features, the same
            feature names if fit had them) and converted to the fitted
            dtype.
        ids : array-like of int, default=None
            Ids of your choosing for the new points (faiss's
            ``add_with_ids``): one per row, int64, >= 0, distinct, none of
            them live (a deleted id may be given again). Every answer then
            names the points by these ids, ``ids_`` lists them and the
            graphs have a column for each id below ``n_ids_``. None: the
            next unused ids.

        Returns
        -------
        ids : ndarray of shape (n_points,), int64
            The ids of the new points, in the order of the rows of ``X``:
            ``ids``, or the next ``n_points`` unused ids (``n_ids_`` before
            the call onwards).

        Raises
        ------
        ReadOnlyError
            If the estimator is a snapshot.
        ValueError
            If ``X`` or ``ids`` is invalid (nothing is inserted then).
        """
        check_is_fitted(self)
        self._check_writable("insert")
        self._check_updatable("insert")
        X = self._check_queries(X)
        return self.tree_._insert_checked(X, self._jobs(), self._verbose(), ids=ids)

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
        self : object
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
        self._check_updatable("delete")
        self.tree_._delete_checked(check_ids(ids), self._jobs(), self._verbose())
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
        snapshot : object
            A fitted estimator of the same class, with the same parameters
            and fitted attributes. Its :meth:`insert`, :meth:`delete` and
            :meth:`fit` raise :class:`ReadOnlyError`; its parameters may
            still be changed with ``set_params`` (e.g. ``n_neighbors``). It
            pickles and saves as read-only; ``clone(snapshot)`` is an
            ordinary, unfitted estimator.
        """
        check_is_fitted(self)
        snap = type(self).__new__(type(self))
        snap.__dict__.update(self.__dict__)
        snap.tree_ = self.tree_.snapshot()
        snap._read_only = True
        return snap


_COLUMNS_DOC = """columns : {"ids", "live"}, default=None
            What the columns of the graph are. "ids": column j is the point
            with id j, so there are ``n_ids_`` columns, and those of deleted
            ids are empty. "live": column j is the live point with id
            ``ids_[j]``, so there are ``n_samples_fit_`` columns; with
            ``X=None`` the graph is then square, row and column i both the
            point with id ``ids_[i]``, as estimators with
            ``metric="precomputed"`` (DBSCAN, Isomap, KNeighborsClassifier)
            need. None means "ids", with a warning when the graph of
            ``X=None`` is not square (after deletions)."""


def _graph(what, data, ind, indptr, version, query_is_train, columns):
    """The CSR graph of a query's answers (ind: ids), with columns as
    :data:`_COLUMNS_DOC` says."""
    n_rows = len(indptr) - 1
    if columns is None:
        columns = "ids"
        if query_is_train and not version.contiguous:
            warnings.warn(
                f"After deletions, {what}() has one row per live point ({version.n_samples}) "
                f"but one column per id issued ({version.n_ids}): it is not square, and "
                "estimators with metric='precomputed' (DBSCAN, Isomap, KNeighborsClassifier, "
                "...) refuse it. Pass columns='live' for the square graph over the live "
                "points (row and column i are the point with id ids_[i]), or columns='ids' "
                "to keep a column per id without this warning.",
                UserWarning,
                stacklevel=4,  # the user's call (through the method's _..._graph)
            )
    if columns == "ids":
        return _search.csr(data, ind, indptr, (n_rows, version.n_ids))
    if columns == "live":
        if not version.contiguous:
            ind = np.searchsorted(version.live_ids(), ind)
        return _search.csr(data, ind, indptr, (n_rows, version.n_samples))
    raise ValueError(f"columns must be 'ids' or 'live' (or None), got {columns!r}.")


class KNeighborsMixin:
    """``kneighbors`` and ``kneighbors_graph`` of a fitted estimator."""

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Find the k nearest neighbours of points.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
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

    def _kneighbors_checked(self, X, n_neighbors, what="kneighbors", extra=0):
        """Validate a k-neighbours query and run it on one version of the
        tree: (dist, ind, version). ``what`` and ``extra`` describe the
        caller for the memory check (see ``_search.kneighbors``)."""
        tree = self.tree_
        v = tree._version  # one version answers the whole call
        query_is_train = X is None
        if not query_is_train:
            X = self._check_queries(X)
        nq = v.n_samples if query_is_train else X.shape[0]
        k = check_n_neighbors(n_neighbors, self.n_neighbors, query_is_train, nq, v.n_samples)
        dist, ind = tree._kneighbors(X, k, self._jobs(), self._strategy(), version=v,
                                     verbose=self._verbose(), what=what, extra=extra,
                                     device=self._device())
        return dist, ind, v

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity", columns=None):
        """Compute the (weighted) graph of k-neighbours of points.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The query points. If None, the live fitted points in ascending
            id order (row i is id ``ids_[i]``), each not its own neighbour.
        n_neighbors : int, default=None
            Number of neighbours of each point; default: the value passed to
            the constructor.
        mode : {"connectivity", "distance"}, default="connectivity"
            "connectivity" gives ones; "distance" gives the distances.
        %s

        Returns
        -------
        A : sparse matrix of shape (n_queries, n_ids_) or (n_queries, n_samples_fit_)
            CSR matrix; ``A[i, j]`` is the weight of the edge from query i to
            the point of column j: the point with id j (``columns="ids"``;
            until the first deletion the ids are the row numbers of the
            fitted data, as in scikit-learn) or with id ``ids_[j]``
            (``columns="live"``).
        """
        return self._kneighbors_graph(X, n_neighbors, mode, columns, "kneighbors_graph")

    kneighbors_graph.__doc__ %= _COLUMNS_DOC

    def _kneighbors_graph(self, X, n_neighbors, mode, columns, what):
        """kneighbors_graph, naming ``what`` in its errors and warnings."""
        check_is_fitted(self)
        check_mode(mode)
        dist, ind, v = self._kneighbors_checked(X, n_neighbors, what, _GRAPH_BYTES)
        k = ind.shape[1]
        n_queries = ind.shape[0]
        data = np.ones(n_queries * k) if mode == "connectivity" else dist.ravel()
        indptr = np.arange(0, n_queries * k + 1, k)
        return _graph(what, data, ind.ravel(), indptr, v, X is None, columns)


class RadiusNeighborsMixin:
    """``radius_neighbors`` and ``radius_neighbors_graph`` of a fitted
    estimator."""

    def _radius_flat(self, X, radius, sort_results, counts_only=False, what="radius_neighbors",
                     extra=0):
        """(counts, dist, ind, version) of a radius query (``what`` and
        ``extra``: see ``_search.radius``)."""
        check_is_fitted(self)
        tree = self.tree_
        v = tree._version
        if X is not None:
            X = self._check_queries(X)
        # A radius given to the call may be one per query; the
        # constructor's is one number.
        nq = v.n_samples if X is None else X.shape[0]
        radius = (check_radius(self.radius, "radius") if radius is None
                  else check_radius(radius, "radius", n_queries=nq))
        counts, dist, ind = tree._radius(
            X, radius, sort_results, self._jobs(), version=v,
            counts_only=counts_only, verbose=self._verbose(), what=what, extra=extra,
            device=self._device(),
        )
        return counts, dist, ind, v

    def radius_neighbors(self, X=None, radius=None, return_distance=True, sort_results=False):
        """Find the neighbours within a given radius of points.

        Returns every fitted point at distance <= radius of each query.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The query points. If None, the live fitted points in ascending
            id order (row i is id ``ids_[i]``), each not its own neighbour.
        radius : float or array-like of shape (n_queries,), default=None
            Limiting distance of neighbours: one for every query, or one per
            query (as scipy's and scikit-learn's trees take it; answered on
            the CPU whatever the device). Default: the value passed to the
            constructor.
        return_distance : bool, default=True
            Whether to return the distances.
        sort_results : bool, default=False
            If True, each query's neighbours are sorted by distance (ties by
            id); needs ``return_distance=True``. Otherwise they come by
            ascending id, as scikit-learn's brute force lists them.

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
        neigh_ind = _search.split_object(ind, counts)
        if return_distance:
            return _search.split_object(dist, counts), neigh_ind
        return neigh_ind

    def radius_neighbors_graph(self, X=None, radius=None, mode="connectivity", sort_results=False,
                               columns=None):
        """Compute the (weighted) graph of neighbours within a radius.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The query points. If None, the live fitted points in ascending
            id order (row i is id ``ids_[i]``), each not its own neighbour.
        radius : float or array-like of shape (n_queries,), default=None
            Radius of neighbourhoods, one for every query or one per query;
            default: the value passed to the constructor.
        mode : {"connectivity", "distance"}, default="connectivity"
            "connectivity" gives ones; "distance" gives the distances.
        sort_results : bool, default=False
            If True, the entries of each row are sorted by increasing
            distance (ties by id). Only used with ``mode="distance"``.
        %s

        Returns
        -------
        A : sparse matrix of shape (n_queries, n_ids_) or (n_queries, n_samples_fit_)
            CSR matrix; ``A[i, j]`` is the weight of the edge from query i to
            the point of column j: the point with id j (``columns="ids"``)
            or with id ``ids_[j]`` (``columns="live"``).
        """
        return self._radius_neighbors_graph(X, radius, mode, sort_results, columns,
                                            "radius_neighbors_graph")

    radius_neighbors_graph.__doc__ %= _COLUMNS_DOC

    def _radius_neighbors_graph(self, X, radius, mode, sort_results, columns, what):
        """radius_neighbors_graph, naming ``what`` in its errors and
        warnings."""
        check_is_fitted(self)
        check_mode(mode)
        sort = sort_results and mode == "distance"
        counts, dist, ind, v = self._radius_flat(X, radius, sort, what=what, extra=_GRAPH_BYTES)
        data = np.ones(len(ind)) if mode == "connectivity" else dist
        indptr = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(counts)))
        return _graph(what, data, ind, indptr, v, X is None, columns)
