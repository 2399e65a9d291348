"""``metric="precomputed"``: the estimators fitted on a square matrix of
distances instead of points, as scikit-learn takes it.

The fitted "index" is the matrix itself (dense, or a CSR graph whose
missing entries are not neighbours): queries are rows of distances to the
fitted points, and Go selects the answers from them
(``core/precomputed.go``: the k smallest per row, or those within a radius,
ties by column, in parallel over rows). No metric is evaluated and no tree
is built: scikit-learn answers precomputed distances by brute force too.

:class:`PrecomputedIndex` has the interface of the other indexes that
``_base.py`` uses (``_version``, ``_kneighbors``, ``_radius``, the counts
and ids); it cannot be updated, saved to a file, or clustered.
"""

from __future__ import annotations

import ctypes

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array

from . import _lib, _memory, _run, _search
from ._handle import ptr
from ._validation import DTYPES, _PARAM_CHECKS, as_float

__all__ = ["PRECOMPUTED", "PrecomputedIndex", "check_params", "check_matrix", "check_query"]

# The metric code of "precomputed" in the estimators (no C ABI metric: the
# library is given distances, not points).
PRECOMPUTED = -1

SPARSE_FORMATS = ("csr", "csc", "coo", "lil")


def check_params(est):
    """Check an estimator's parameters for metric="precomputed" and return
    what ``check_estimator_params`` returns: (code, p, effective_metric_,
    effective_metric_params_)."""
    owner = type(est).__name__
    params = est.get_params(deep=False)
    for name, check in _PARAM_CHECKS.items():
        if name in params and name != "metric":
            check(owner, params[name])
    p = params.get("p")
    if p is not None and p != 2:
        raise ValueError(
            f"The 'p' parameter of {owner} only applies to metric='minkowski', but got p={p!r} "
            "with metric='precomputed', whose distances are given. Leave p at its default."
        )
    if params.get("metric_params"):
        raise ValueError(
            f"metric_params do not apply to metric='precomputed' (the distances are given); "
            f"got {sorted(params['metric_params'])}. Leave metric_params at None."
        )
    if params.get("algorithm") == "cover_tree":
        raise ValueError(
            f"{owner}(algorithm='cover_tree') cannot serve metric='precomputed': a cover tree "
            "needs the points themselves, and a precomputed matrix holds only their "
            "distances. Use algorithm='auto' or 'brute', which scan the given distances (as "
            "scikit-learn does), or fit on the points with their metric to get a tree."
        )
    if params.get("device") == "cuda":
        raise ValueError(
            f"{owner}(device='cuda') does not apply to metric='precomputed': the distances "
            "are given, and selecting among them runs on the CPU. Use device='auto' or 'cpu'."
        )
    return PRECOMPUTED, 2.0, "precomputed", {}


def _check_sparse(X, input_name):
    """A sparse distance matrix as CSR, checked as scikit-learn checks one
    (formats whose explicit zeros are ambiguous refused, no negative or
    non-finite distance), and without a column stored twice in a row."""
    if X.format not in SPARSE_FORMATS:
        raise TypeError(
            f"Sparse matrix in {X.format!r} format is not supported due to its handling of "
            "explicit zeros"
        )
    X = check_array(X, accept_sparse="csr", ensure_non_negative=True, input_name=input_name,
                    dtype=(np.float64, np.float32))
    if not X.has_canonical_format:
        Y = X.copy()
        Y.sum_duplicates()
        if Y.nnz != X.nnz:
            raise ValueError(
                "The precomputed distance matrix stores some (row, column) entry more than "
                "once: which of its distances is meant is ambiguous. Remove the duplicates "
                "(e.g. keep the smallest of each) before passing it."
            )
    return X


def check_matrix(X, dtype=None):
    """A precomputed distance matrix (the fitted one or queries): dense
    C-contiguous, or CSR, in ``dtype`` (None: float32 and float64 kept,
    others float64), checked as scikit-learn's ``_check_precomputed``
    checks it (non-negative and finite; sparse formats CSR, CSC, COO and
    LIL)."""
    if sp.issparse(X):
        X = _check_sparse(X, "precomputed distance matrix")
        if dtype is not None and X.dtype != dtype:
            X = X.astype(dtype)
        return X
    X = check_array(X, ensure_non_negative=True, input_name="X", order="C",
                    dtype=(np.float64, np.float32))
    return as_float(X, dtype)


def check_query(X, dtype, n_fit):
    """Query rows of distances to the ``n_fit`` fitted points."""
    X = check_matrix(X, dtype)
    if X.shape[1] != n_fit:
        raise ValueError(
            "Precomputed metric requires shape (n_queries, n_indexed). Got "
            f"({X.shape[0]}, {X.shape[1]}) for {n_fit} indexed."
        )
    return X


class _Rows:
    """The C ABI arguments describing distance rows (see
    capi/precomputed.go), holding the arrays they point into."""

    def __init__(self, D, dtype):
        self.nrows, self.ncols = D.shape
        self.dtype_code = DTYPES[np.dtype(dtype)]
        if sp.issparse(D):
            self.keep = (np.ascontiguousarray(D.indptr, dtype=np.int64),
                         np.ascontiguousarray(D.indices, dtype=np.int64),
                         np.ascontiguousarray(D.data, dtype=dtype))
            self.dense = None
            self.indptr, self.indices, self.data = (ptr(a) for a in self.keep)
            # An empty CSR matrix still has its row pointers.
            self.indptr = ctypes.c_void_p(self.keep[0].ctypes.data)
            self.nnz = D.nnz
        else:
            self.keep = (D,)
            self.dense = ctypes.c_void_p(D.ctypes.data)
            self.indptr = self.indices = self.data = None
            self.nnz = 0

    def args(self, self_col):
        return (self.dtype_code, self.dense, self.indptr, self.indices, self.data, self.nrows,
                self.ncols, self.nnz, self_col)


class PrecomputedIndex:
    """The fitted distance matrix of an estimator with
    ``metric="precomputed"``: n x n, dense or CSR. It never changes (it
    cannot be updated), so it is its own version and its own snapshot.
    Like scikit-learn, it keeps the matrix it was given (no copy) when that
    is already C-contiguous float32 or float64 (dense) or CSR."""

    _algorithm = "brute"
    _code = PRECOMPUTED
    metric = "precomputed"
    contiguous = True

    def __init__(self, D):
        self.matrix = D
        self.dtype = np.dtype(D.dtype)

    # -- what _base.py reads -----------------------------------------------

    @property
    def _version(self):
        return self

    @property
    def n_samples(self):
        return self.matrix.shape[0]

    n_ids = n_samples
    n_features = n_samples

    def ids(self):
        a = np.arange(self.n_samples, dtype=np.int64)
        a.flags.writeable = False
        return a

    live_ids = ids

    def snapshot(self):
        return self

    def public(self, ind):
        return ind

    def _work(self, nq):
        return float(nq) * max(self.n_samples, 1)

    # -- queries -------------------------------------------------------------

    def _kneighbors(self, X, k, jobs, strategy=None, version=None, ids=None, verbose=None,
                    what="kneighbors", extra=0, device=0, eps=0.0):
        """(dist, ind) of the k nearest fitted points of each row of X
        (distances to the fitted points), or of each fitted point (X None,
        a point not its own neighbour)."""
        D = self.matrix if X is None else X
        nq = D.shape[0]
        _memory.check_pairs(what, nq * k, self.dtype.itemsize + 8 + extra, _search.KNN_ADVICE)
        dist = np.empty((nq, k), dtype=self.dtype)
        ind = np.empty((nq, k), dtype=np.int64)
        if nq == 0:
            return dist, ind
        rows = _Rows(D, self.dtype)
        lib = _lib.lib()

        def work(control):
            _lib.check(lib.pcct_precomputed_kneighbors(
                *rows.args(0 if X is None else -1), k, jobs, control, ptr(dist), ptr(ind)))

        _run.run(work, total=nq, desc="pcct kneighbors", unit="queries", verbose=bool(verbose),
                 cost=self._work(nq))
        return dist, ind

    def _radius(self, X, r, sort, jobs, version=None, ids=None, counts_only=False, verbose=None,
                what="radius_neighbors", extra=0, device=0):
        """(counts, dist, ind) of the fitted points within r (d <= r; one
        radius, or one per query) of each query, concatenated: each
        query's by (distance, id) with ``sort``, else by id."""
        D = self.matrix if X is None else X
        nq = D.shape[0]
        counts = np.zeros(nq, dtype=np.int64)
        radii = np.ascontiguousarray(np.atleast_1d(np.asarray(r, dtype=np.float64)))
        if nq == 0:
            return counts, np.empty(0, dtype=self.dtype), np.empty(0, dtype=np.int64)
        rows = _Rows(D, self.dtype)
        args = rows.args(0 if X is None else -1)
        lib = _lib.lib()
        per_pair = _search.radius_bytes_per_pair(self.dtype, extra)

        def work(control):
            _lib.check(lib.pcct_precomputed_radius_count(
                *args, ptr(radii), radii.size, jobs, control, ptr(counts)))
            if counts_only:
                return None, None
            total = int(counts.sum())
            _memory.check_pairs(what, total, per_pair, _search.RADIUS_ADVICE)
            dist = np.empty(total, dtype=self.dtype)
            ind = np.empty(total, dtype=np.int64)
            _lib.check(lib.pcct_precomputed_radius(
                *args, ptr(radii), radii.size, int(sort), jobs, control, ptr(counts), total,
                ptr(dist), ptr(ind)))
            return dist, ind

        # Go counts each query once per pass: two passes unless counting.
        dist, ind = _run.run(work, total=nq if counts_only else 2 * nq,
                             desc="pcct radius_neighbors", unit="queries",
                             verbose=bool(verbose), cost=self._work(nq))
        return counts, dist, ind
