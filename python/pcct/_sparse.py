"""Sparse feature input: the estimators fitted on a scipy.sparse matrix of
points (TF-IDF vectors, bags of words, one-hot features), without
densifying it.

The index is a Go ``core.SparseIndex`` (``core/sparseindex.go``): a cover
tree over the sparse rows, or brute force through per-segment inverted
indexes, both measuring distances by merging the rows' sorted columns,
with answers equal to those of the dense index over the same rows. It
serves the Euclidean, Manhattan and cosine distances (and Minkowski with
p = 1 or 2).

Rows reach Go as three buffers (CSR: ``indptr`` as int64, ``indices`` as
int32, ``data`` in the fitted dtype), without a copy when the matrix is
already a canonical CSR matrix with those dtypes. :class:`SparseIndex` has
the interface of the other indexes that ``_base.py`` uses (``_version``,
``_kneighbors``, ``_radius``, the counts and ids, updates, snapshots); it
pickles (as its rows, built again on first use after unpickling) but is
not saved to pcct's file format.
"""

from __future__ import annotations

import ctypes
import struct
import threading
import weakref
import zlib
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from . import _lib, _memory, _run, _search
from ._handle import (
    ALGORITHMS, CHOICE_FIELDS, LabelledVersion, choice_dict, encoded_bytes, ptr, saved_labels,
)
from ._validation import DTYPE_OF_CODE, DTYPES, METRIC_NAMES

__all__ = ["SPARSE_METRIC_NAMES", "SparseIndex", "SparseVersion", "check_metric", "to_csr",
           "build"]

# The metric codes (_validation.METRICS) that take sparse rows; Minkowski
# (3) only with p = 1 or 2, unweighted.
_SPARSE_CODES = {0, 1, 4}
SPARSE_METRIC_NAMES = ("euclidean", "l2", "manhattan", "cityblock", "l1", "cosine",
                       "minkowski with p=1 or p=2")

# The largest n_jobs the C ABI takes (an int32).
_MAX_JOBS = 2**31 - 1

# The figures pcct_sparse_info writes, in order.
_INFO = ("points", "cols", "dtype", "ids", "algorithm", "metric", "build_evals", "query_evals")
_ALGORITHM_NAMES = {code: name for name, code in ALGORITHMS.items()}


def check_metric(code, p, params, owner):
    """Refuse, with the way out, a metric that does not take sparse rows."""
    if code in _SPARSE_CODES or (code == 3 and p in (1.0, 2.0) and params.get("w") is None):
        return
    name = METRIC_NAMES.get(code, str(code))
    if code == 3:
        name = f"minkowski with p={p:g}" + (" and weights" if params.get("w") is not None else "")
    raise ValueError(
        f"{owner} takes sparse input with the metrics {', '.join(SPARSE_METRIC_NAMES)}; got "
        f"metric={name!r}. Use one of these, or densify X (X.toarray()) for the other metrics."
    )


def takes_sparse(metric, p, metric_params):
    """Whether the estimator parameters name a metric that takes sparse
    points (for the estimator tags; fit checks them fully)."""
    if not isinstance(metric, str):
        return False
    params = metric_params or {}
    if metric == "minkowski":
        q = params.get("p", p)
        return (2 if q is None else q) in (1, 2) and params.get("w") is None
    return metric in ("euclidean", "l2", "manhattan", "cityblock", "l1", "cosine")


def to_csr(X, dtype=None, name="X"):
    """A checked scipy.sparse matrix (any format, numeric, finite: as
    ``validate_data(accept_sparse=True)`` leaves it) as a canonical CSR
    matrix (columns sorted, none repeated: repeated entries are summed, as
    scipy's ``toarray`` sums them) with int32 indices, its data in
    ``dtype`` (None: float32 and float64 kept, others float64). Copies only
    what must change."""
    X = X.tocsr() if X.format != "csr" else X
    if dtype is None:
        dtype = X.dtype if X.dtype in DTYPES else np.dtype(np.float64)
    dtype = np.dtype(dtype)
    if X.dtype != dtype:
        if X.dtype.kind == "f" and X.dtype.itemsize > dtype.itemsize and X.nnz:
            top = np.finfo(dtype).max
            at = int(np.argmax(np.abs(X.data)))
            if abs(X.data[at]) > top:
                row = int(np.searchsorted(X.indptr, at, side="right")) - 1
                raise ValueError(
                    f"{name} has the value {float(X.data[at]):g} in row {row}, column "
                    f"{int(X.indices[at])}, beyond the range of {dtype.name} "
                    f"(+-{float(top):.3g}), the dtype this model holds its points in. Refit on "
                    "float64 data (X.astype(numpy.float64)) to use such values."
                )
        X = X.astype(dtype)
    if X.shape[1] > 2**31 - 1:
        raise ValueError(f"{name} has {X.shape[1]} columns: pcct takes at most {2**31 - 1}.")
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()  # sorts the columns too
        if not np.isfinite(X.data).all():
            raise ValueError(
                f"{name} stores some (row, column) entry more than once, and their sum is not "
                "finite. Sum the duplicates (X.sum_duplicates()) and check the values."
            )
    return X


class _Rows:
    """The C ABI arguments describing CSR rows (see capi/sparse.go),
    holding the arrays they point into."""

    def __init__(self, X):
        self.keep = (np.ascontiguousarray(X.indptr, dtype=np.int64),
                     np.ascontiguousarray(X.indices, dtype=np.int32),
                     np.ascontiguousarray(X.data))
        self.nrows, self.ncols = X.shape
        self.nnz = X.nnz
        # An empty matrix still has its row pointers.
        self.args = (ctypes.c_void_p(self.keep[0].ctypes.data), ptr(self.keep[1]),
                     ptr(self.keep[2]), self.nrows, self.ncols, self.nnz)


_NO_ROWS = (None, None, None, 0, 1, 0)


def _free(handle):
    _lib.free_sparse(handle)


class SparseVersion(LabelledVersion):
    """One immutable version of a Go sparse index; owns (and frees) its
    handle.

    Its ids are Go's caller indices, unless the caller chose some at an
    insertion: the version then carries ``labels``, the id of every Go
    caller index, and translates at the boundary, as ``_handle.TreeVersion``
    does."""

    __slots__ = ("handle", "n_samples", "n_features", "n_ids", "dtype", "algorithm", "metric",
                 "labels", "_n_go", "_ids", "_order", "_queries", "_lock", "_finalizer",
                 "__weakref__")

    def __init__(self, handle, labels=None, n_ids=None):
        self.handle = handle
        self._finalizer = weakref.finalize(self, _free, handle)
        info = dict(zip(_INFO, self._info()))
        self.n_samples = info["points"]
        self.n_features = info["cols"]
        self.dtype = DTYPE_OF_CODE[info["dtype"]]
        self._n_go = info["ids"]
        if labels is not None and len(labels) != self._n_go:
            raise ValueError(
                f"pcct: {len(labels)} ids for the {self._n_go} points the index has held"
            )
        self.labels = labels
        self.n_ids = self._n_go if labels is None else int(n_ids)
        self.algorithm = _ALGORITHM_NAMES[info["algorithm"]]
        self.metric = info["metric"]
        self._ids = self._order = None
        self._queries = 0
        self._lock = threading.Lock()

    def _info(self):
        out = (ctypes.c_int64 * len(_INFO))()
        written = ctypes.c_int64(0)
        _lib.check(_lib.lib().pcct_sparse_info(self.handle, out, len(_INFO),
                                               ctypes.byref(written)))
        return [int(out[i]) for i in range(written.value)]

    def evaluations(self):
        """(build, query) distance evaluations of this version."""
        info = dict(zip(_INFO, self._info()))
        return info["build_evals"], info["query_evals"]

    def answered(self, n):
        with self._lock:
            self._queries += n

    def work_bound(self, rows):
        """The work bound of a call over ``rows`` rows (see ``_run``)."""
        return float(rows) * max(self.n_samples, 1) * 16

    def _go_live_ids(self):
        """The Go index's live caller indices, ascending."""
        n = self.n_samples
        if n == self._n_go:
            return np.arange(n, dtype=np.int64)
        ids = np.empty(n, dtype=np.int64)
        written = ctypes.c_int64(0)
        _lib.check(_lib.lib().pcct_sparse_live_ids(self.handle, ptr(ids), n,
                                                   ctypes.byref(written)))
        return ids

    # -- queries -------------------------------------------------------------

    def _source(self, X, ids):
        """(rows args, ids, first, count, number of queries, keep-alive)."""
        if X is not None:
            rows = _Rows(X)
            return rows.args, None, 0, X.shape[0], X.shape[0], rows
        if ids is None and not self.contiguous:
            ids = self.query_ids()
        if ids is not None:
            ids = np.ascontiguousarray(ids, dtype=np.int64)
            return _NO_ROWS, ptr(ids), 0, ids.size, ids.size, ids
        return _NO_ROWS, None, 0, self.n_samples, self.n_samples, None

    def kneighbors(self, X, k, *, jobs, strategy=0, ids=None, verbose=False,
                   what="kneighbors", extra=0):
        """(dist, ind) of the k nearest neighbours of each row of the CSR
        matrix X, or of each fitted point (X None, each not its own
        neighbour; ``ids`` select them)."""
        lib = _lib.lib()
        rows, idp, first, count, nq, keep = self._source(X, ids)
        _memory.check_pairs(what, nq * k, self.dtype.itemsize + 8 + extra, _search.KNN_ADVICE)
        dist = np.empty((nq, k), dtype=self.dtype)
        ind = np.empty((nq, k), dtype=np.int64)
        if nq == 0:
            return dist, ind

        def work(control):
            _lib.check(lib.pcct_sparse_kneighbors(
                self.handle, *rows, idp, first, count, k, min(jobs, _MAX_JOBS), strategy,
                control, ptr(dist), ptr(ind)))

        _run.run(work, total=nq, desc="pcct kneighbors", unit="queries", verbose=verbose,
                 cost=self.work_bound(nq))
        del keep
        self.answered(nq)
        return dist, self.public(ind)

    def count(self, X, r, *, jobs, ids=None, verbose=False):
        """The number of fitted points within r (one radius or one per
        query) of each query, without listing them."""
        lib = _lib.lib()
        rows, idp, first, count, nq, keep = self._source(X, ids)
        counts = np.zeros(nq, dtype=np.int64)
        if nq == 0 or self.n_samples == 0:
            return counts
        radii = np.ascontiguousarray(np.atleast_1d(np.asarray(r, dtype=np.float64)))

        def work(control):
            _lib.check(lib.pcct_sparse_radius_count(
                self.handle, *rows, idp, first, count, ptr(radii), radii.size,
                min(jobs, _MAX_JOBS), control, ptr(counts)))

        _run.run(work, total=nq, desc="pcct radius count", unit="queries", verbose=verbose,
                 cost=self.work_bound(nq))
        del keep
        return counts

    def radius(self, X, r, *, sort, jobs, ids=None, verbose=False, what="radius_neighbors",
               extra=0):
        """(counts, dist, ind) of the fitted points within r (d <= r; one
        radius or one per query) of each query, concatenated, each query's
        by (distance, id) with ``sort``, else by id; in chunks of rows,
        each call given a limit on the answers it may hold (see
        ``_search.radius``)."""
        lib = _lib.lib()
        if X is None and ids is None and not self.contiguous:
            ids = self.query_ids()
        nq = X.shape[0] if X is not None else (self.n_samples if ids is None else len(ids))
        counts = np.zeros(nq, dtype=np.int64)
        if nq == 0 or self.n_samples == 0:
            return counts, np.empty(0, dtype=self.dtype), np.empty(0, dtype=np.int64)
        radii = np.ascontiguousarray(np.atleast_1d(np.asarray(r, dtype=np.float64)))
        step = _search.chunk_rows(jobs)
        per_pair = _search.radius_bytes_per_pair(self.dtype, extra)
        budget = _memory.pair_budget(per_pair, most=nq * self.n_samples)

        def work(control):
            dists, inds = [], []
            result = _lib.c_uintptr(0)
            total = ctypes.c_int64(0)
            held = 0
            for lo in range(0, nq, step):
                hi = min(lo + step, nq)
                if X is not None:
                    part = _Rows(X[lo:hi])
                    src, idp, first, count = part.args, None, 0, hi - lo
                elif ids is not None:
                    part = np.ascontiguousarray(ids[lo:hi], dtype=np.int64)
                    src, idp, first, count = _NO_ROWS, ptr(part), 0, hi - lo
                else:
                    part = None
                    src, idp, first, count = _NO_ROWS, None, lo, hi - lo
                rr = radii if radii.size == 1 else np.ascontiguousarray(radii[lo:hi])
                limit = 0 if budget is None else max(budget - held, 1)
                _lib.check(lib.pcct_sparse_radius(
                    self.handle, *src, idp, first, count, ptr(rr), rr.size, int(sort),
                    min(jobs, _MAX_JOBS), control, limit, ptr(counts[lo:hi]),
                    ctypes.byref(result), ctypes.byref(total)))
                del part
                held += total.value
                dd, ii = _search.take_radius_result(result.value, total.value, self.dtype)
                dists.append(dd)
                inds.append(ii)
            return dists, inds

        try:
            dists, inds = _run.run(work, total=nq, desc="pcct radius_neighbors", unit="queries",
                                   verbose=verbose, cost=self.work_bound(nq))
        except _lib.AnswerLimitError:
            pairs = int(self.count(X, r, jobs=jobs, ids=ids).sum())
            raise _memory.too_large(what, pairs, per_pair, _memory.available_bytes() or 0,
                                    _search.RADIUS_ADVICE) from None
        self.answered(nq)
        dist, ind = _search.join_parts(dists, inds, self.dtype)
        return counts, dist, self.public(ind)

    # -- new versions ----------------------------------------------------------

    def insert(self, X, jobs, verbose=False, ids=None):
        """(new version, ids of the new rows) holding this version's points
        and the rows of the CSR matrix X (checked, in the dtype), with the
        ids ``ids`` (checked: ``_validation.check_new_ids``) or the next
        unused ones."""
        lib = _lib.lib()
        rows = _Rows(X)
        n = X.shape[0]
        labels, n_ids = self.inserted_labels(ids, n)

        def work(control):
            out = _lib.c_uintptr(0)
            first = ctypes.c_int64(0)
            _lib.check(lib.pcct_sparse_insert(self.handle, *rows.args, min(jobs, _MAX_JOBS),
                                              control, ctypes.byref(out), ctypes.byref(first)))
            version = SparseVersion(out.value, labels, n_ids)
            if labels is None:
                return version, np.arange(first.value, first.value + n, dtype=np.int64)
            return version, labels[first.value:].copy()

        return _run.run(work, total=n, desc="pcct insert", unit="points", verbose=verbose,
                        cost=self.work_bound(n))

    def delete(self, ids, jobs, verbose=False):
        """A new version without the points of ``ids`` (C-contiguous int64);
        ValueError if one is not live or repeats."""
        lib = _lib.lib()
        go = np.ascontiguousarray(self.internal(ids, "Nothing was deleted"))

        def work(control):
            out = _lib.c_uintptr(0)
            _lib.check(lib.pcct_sparse_delete(self.handle, ptr(go), go.size,
                                              min(jobs, _MAX_JOBS), control, ctypes.byref(out)))
            return SparseVersion(out.value, self.labels, self.n_ids)

        return _run.run(work, total=ids.size, desc="pcct delete", unit="points",
                        verbose=verbose, cost=self.work_bound(ids.size))

    def encode(self):
        """The version's rows and ids in the Go library's sparse format."""
        return bytes(encoded_bytes(_lib.lib().pcct_sparse_encode, self.handle))

    @classmethod
    def decode(cls, buf, dtype_code, jobs, labels=None, n_ids=None):
        """A version built again from :meth:`encode`'s bytes, with the ids
        ``labels`` and ``n_ids`` it had."""
        view = np.frombuffer(buf, dtype=np.uint8)
        handle = _lib.c_uintptr(0)

        def work(control):
            _lib.check(_lib.lib().pcct_sparse_decode(ptr(view), view.size, dtype_code,
                                                      min(jobs, _MAX_JOBS), control,
                                                      ctypes.byref(handle)))
            return cls(handle.value, labels, n_ids)

        return _run.run(work, total=0, desc="pcct load", unit="points", cost=None)


def build(X, code, p, seed, jobs, verbose=False, algorithm="auto"):
    """A new version over the rows of the CSR matrix X (from
    :func:`to_csr`), under the metric (code, p), built as ``algorithm``
    says; returns (version, choice), choice as ``_handle.build`` gives it."""
    lib = _lib.lib()
    rows = _Rows(X)
    n = X.shape[0]
    algo = ALGORITHMS[algorithm]

    def work(control):
        handle = _lib.c_uintptr(0)
        choice = (ctypes.c_double * (1 + len(CHOICE_FIELDS)))()
        _lib.check(lib.pcct_sparse_build(
            DTYPES[X.dtype], *rows.args, code, p, seed, min(jobs, _MAX_JOBS), algo, control,
            ctypes.byref(handle), choice))
        return SparseVersion(handle.value), list(choice)

    version, choice = _run.run(work, total=n, desc="pcct fit", unit="points", verbose=verbose,
                               cost=float(n) * n * 16)
    if algorithm != "auto":
        return version, None
    return version, choice_dict(choice)


class SparseIndex:
    """The fitted index of an estimator given sparse points: the current
    :class:`SparseVersion` (updates replace it; snapshots share it). It
    pickles as its rows and ids (``SparseVersion.encode``) and is built
    again from them on first use after unpickling."""

    sparse = True

    def __init__(self, version, code, jobs=1, p=2.0):
        self._current = version
        self._pending = None
        self._code = code
        self.p = float(p)
        self._jobs_decode = jobs
        self._lock = threading.Lock()

    # -- what _base.py reads -----------------------------------------------

    @property
    def _version(self):
        with self._lock:
            return self._current_locked()

    @property
    def _algorithm(self):
        return self._version.algorithm

    @property
    def metric(self):
        return METRIC_NAMES[self._code]

    @property
    def dtype(self):
        return self._version.dtype

    @property
    def n_samples(self):
        return self._version.n_samples

    @property
    def n_ids(self):
        return self._version.n_ids

    @property
    def n_features(self):
        if self._current is None and getattr(self, "_n_features", None) is not None:
            return self._n_features  # a saved index, not built yet
        return self._version.n_features

    @property
    def contiguous(self):
        return self._version.contiguous

    def ids(self):
        return self._version.live_ids()

    def live_ids(self):
        return self._version.live_ids()

    def public(self, ind):
        return self._version.public(ind)

    def snapshot(self):
        """An index holding the current version, read-only by its owner."""
        return SparseIndex(self._version, self._code, self._jobs_decode, self.p)

    def stats(self):
        """The figures ``_base`` reads: distance evaluations."""
        build, query = self._version.evaluations()
        return {"build_distance_evaluations": build, "query_distance_evaluations": query,
                "points": self.n_samples, "algorithm": self._algorithm}

    def _kneighbors(self, X, k, jobs, strategy=0, version=None, ids=None, verbose=None,
                    what="kneighbors", extra=0, device=0, eps=0.0):
        v = self._version if version is None else version
        return v.kneighbors(X, k, jobs=jobs, strategy=strategy or 0, ids=ids,
                            verbose=bool(verbose), what=what, extra=extra)

    def _radius(self, X, r, sort, jobs, version=None, ids=None, counts_only=False, verbose=None,
                what="radius_neighbors", extra=0, device=0):
        v = self._version if version is None else version
        if counts_only:
            return v.count(X, r, jobs=jobs, ids=ids, verbose=bool(verbose)), None, None
        return v.radius(X, r, sort=sort, jobs=jobs, ids=ids, verbose=bool(verbose), what=what,
                        extra=extra)

    # -- updates ---------------------------------------------------------------

    def _insert_checked(self, X, jobs, verbose=None, ids=None):
        """Insert checked CSR rows of the index's dtype, with the caller's
        ids (checked here) or the next unused ones."""
        from ._validation import check_new_ids

        with self._lock:
            v = self._current_locked()
            if ids is not None:
                ids = check_new_ids(ids, X.shape[0], v.live_ids())
            new, new_ids = v.insert(X, jobs, bool(verbose), ids)
            self._current = new
        return new_ids

    def _delete_checked(self, ids, jobs, verbose=None):
        if ids.size == 0:
            return
        from ._validation import delete_error

        with self._lock:
            v = self._current_locked()
            try:
                new = v.delete(ids, jobs, bool(verbose))
            except ValueError as e:
                raise delete_error(v.live_ids(), v.n_ids, ids) or e from None
            self._current = new

    def _current_locked(self):
        """The current version (decoded now if unpickled); the caller holds
        the lock."""
        if self._current is None:
            buf, dtype_code, labels, n_ids = self._pending
            self._current = SparseVersion.decode(buf, dtype_code, self._jobs_decode, labels,
                                                 n_ids)
            self._pending = None
        return self._current

    # -- pickling and saving ------------------------------------------------------

    def _encoded(self):
        """(encoding, dtype code, labels, n_ids) of the current version."""
        with self._lock:
            if self._current is None:
                return self._pending
            v = self._current
            return (v.encode(), DTYPES[v.dtype], v.labels, None if v.labels is None else v.n_ids)

    def __getstate__(self):
        return {"pending": self._encoded(), "code": self._code, "p": self.p,
                "jobs": self._jobs_decode}

    def __setstate__(self, state):
        self._current = None
        self._pending = state["pending"]
        self._code = state["code"]
        self.p = state.get("p", 2.0)
        self._jobs_decode = state["jobs"]
        self._lock = threading.Lock()

    def _saved(self):
        """(body, state) for pcct's file format: the encoding, and what
        :meth:`_restore` checks it against."""
        buf, dtype_code, labels, n_ids = self._encoded()
        state = {"format": 1, "sparse": True, "dtype": DTYPE_OF_CODE[dtype_code].name,
                 "metric": self._code, "p": self.p, "n_jobs": self._jobs_decode}
        if labels is not None:
            state.update(labels=labels, n_ids=n_ids)
        return buf, state

    @classmethod
    def _restore(cls, buf, state):
        """The index of a saved file (:meth:`_saved`), built again on first
        use; ValueError if the encoding is damaged or disagrees with the
        state (checked in Python, without Go)."""
        try:
            dtype_code = DTYPES[np.dtype(state["dtype"])]
            code, p = int(state["metric"]), float(state["p"])
            jobs = int(state["n_jobs"])
            labels, n_ids = saved_labels(state)
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise ValueError(f"pcct: not a valid saved sparse index state ({e!r}).") from None
        head = read_sparse_header(buf)
        kind = {0: 0, 1: 1, 4: 4, 3: 1 if p == 1 else 0}.get(code)
        if (head.dtype_code, head.metric) != (dtype_code, kind):
            raise ValueError(
                "pcct: the encoded sparse index does not match its saved state (dtype "
                f"{head.dtype_code}, metric {head.metric} in the encoding; {dtype_code}, {kind} "
                "in the state)."
            )
        if labels is not None and labels.size != head.ids:
            raise ValueError(f"pcct: {labels.size} ids for the {head.ids} the index has issued")
        self = cls(None, code, jobs, p)
        self._pending = (bytes(buf), dtype_code, labels, n_ids)
        self._n_features = head.cols
        return self

    def __repr__(self):
        return f"SparseIndex(metric={self.metric!r}, algorithm={self._algorithm!r})"


class SparseHeader(NamedTuple):
    """What the header of an encoded sparse index says."""

    dtype_code: int
    metric: int
    algorithm: str
    cols: int
    ids: int
    rows: int


# The start of the Go library's sparse format (core/sparseencode.go):
# magic, format version, float size, metric kind, algorithm, columns, ids
# issued, live rows, seed; a CRC-32 (IEEE) of everything before them in
# the last 4 bytes.
_SPARSE_MAGIC = b"PCCTSPRS"
_SPARSE_HEADER = struct.Struct("<8sIIIIQQQQ")


def read_sparse_header(buf):
    """Check an encoded sparse index's magic and checksum and read its
    header, in Python; ValueError (with the Go decoder's wording) if the
    bytes are not a whole, undamaged encoding."""
    view = memoryview(buf).cast("B")
    if len(view) < _SPARSE_HEADER.size + 4 or bytes(view[:8]) != _SPARSE_MAGIC:
        raise ValueError("core: decode: not a pcct sparse index (bad magic)")
    if zlib.crc32(view[:-4]) != struct.unpack_from("<I", view, len(view) - 4)[0]:
        raise ValueError("core: decode: checksum mismatch: the data is truncated or damaged")
    _, _, size, metric, algorithm, cols, ids, rows, _ = _SPARSE_HEADER.unpack_from(view)
    if size not in (4, 8) or algorithm not in _ALGORITHM_NAMES:
        raise ValueError(f"core: decode: {size}-byte floats, algorithm {algorithm}")
    return SparseHeader({4: 0, 8: 1}[size], metric, _ALGORITHM_NAMES[algorithm], cols, ids, rows)


def is_sparse(X):
    """Whether X is a scipy.sparse matrix or array."""
    return sp.issparse(X)
