"""Queries on one version of a tree: the calls into Go for k nearest and
radius neighbours, and the shapes scikit-learn gives their answers.

This is the one query path. :class:`pcct.CoverTree` and the estimators'
mixins (``_base.py``) both run their queries through :func:`kneighbors` and
:func:`radius`, on a version they pin for the whole call, so an update
made meanwhile never mixes two versions in one answer. A call runs in a
worker thread when it is long (see ``_run.py``), so that Ctrl-C stops it
and a progress bar can follow it.

Where the query points come from:

- ``X`` given: the rows of ``X`` (checked, C-contiguous, in the tree's
  dtype);
- ``X is None``: the tree's own points, each left out of its own answer:
  every live id in ascending order, or the ids of ``ids``.

Answers name points by their ids (``TreeVersion.public``). Ties, and
unsorted radius answers, come in the order the points were inserted: the
order of the ids pcct issues, and with caller-chosen ids the order faiss
breaks ties in.
"""

from __future__ import annotations

import ctypes

import numpy as np
import scipy.sparse as sp

from . import _lib, _memory, _run
from ._handle import ptr

__all__ = ["kneighbors", "kneighbors_bound", "radius", "count", "chunk_rows", "CHUNK_ROWS",
           "split_object", "csr",
           "KNN_ADVICE", "RADIUS_ADVICE"]

# Radius batches are cut into chunks of at least this many rows (more with
# many jobs), which bounds the results Go holds before Python copies them.
# k-NN batches, builds and updates are one call each: Ctrl-C reaches them
# through their control words (see _run.py).
CHUNK_ROWS = 4096

# The largest n_jobs the C ABI takes (an int32).
_MAX_JOBS = 2**31 - 1


# What to do instead of a query whose answer does not fit in memory.
KNN_ADVICE = ("Ask for fewer neighbours, or query the rows of X in chunks (a few "
              "thousand at a time) and use each chunk's answer before the next.")
RADIUS_ADVICE = ("Count the neighbours without listing them (CoverTree.query_radius(X, r, "
                 "count_only=True) takes no memory per pair), use a smaller radius, or "
                 "query the rows of X in chunks (a few thousand at a time) and use each "
                 "chunk's answer before the next.")

# Bytes a radius answer takes in Go before it is copied out (a float64 and
# an int32, with room for the growth of Go's heap).
_GO_BYTES_PER_ANSWER = 24


def radius_bytes_per_pair(dtype, extra=0):
    """Bytes one radius answer takes at its peak: in Go (while its chunk is
    copied out), in the chunk's numpy arrays and in their concatenation;
    ``extra`` for what the caller builds from them (a graph)."""
    return _GO_BYTES_PER_ANSWER + 2 * (np.dtype(dtype).itemsize + 8) + extra


def chunk_rows(jobs):
    """Rows per call of a radius batch on ``jobs`` goroutines."""
    return max(CHUNK_ROWS, 256 * jobs)


def _query_rows(version, X, ids):
    """(ids, number of queries): X=None without ids after deletions (or with
    caller-chosen ids) queries the live points in the order of their ids.
    ``ids`` are the Go tree's caller indices (``TreeVersion.query_ids``)."""
    if X is None and ids is None and not version.contiguous:
        ids = version.query_ids()
    if ids is not None:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
    nq = X.shape[0] if X is not None else (version.n_samples if ids is None else ids.size)
    return ids, nq


def kneighbors(version, X, k, *, jobs, strategy, ids=None, verbose=False, what="kneighbors",
               extra=0, device=0, eps=0.0):
    """The k nearest neighbours of each query: (dist, ind), each of shape
    (n_queries, k), distances in the tree's dtype and int64 ids; one call
    into Go, on ``device`` (a code of ``_validation.DEVICES``). With ``eps``
    > 0 the j-th neighbour returned is at most 1+eps times as far as the
    true j-th (cKDTree's approximate search; the GPU answers exactly).
    MemoryError, naming ``what``, before anything is allocated if the
    answer (plus ``extra`` bytes per pair the caller will build from it)
    cannot fit in memory."""
    lib = _lib.lib()  # raises in a forked child
    h = version.handle
    ids, nq = _query_rows(version, X, ids)
    _memory.check_pairs(what, nq * k, version.dtype.itemsize + 8 + extra, KNN_ADVICE)
    dist = np.empty((nq, k), dtype=version.dtype)
    ind = np.empty((nq, k), dtype=np.int64)
    jobs = min(jobs, _MAX_JOBS)
    d = version.n_features

    def work(control):
        if X is not None:
            st = lib.pcct_kneighbors_on(
                h, device, ptr(X), nq, d, k, jobs, strategy, eps, control, ptr(dist), ptr(ind)
            )
        elif ids is None:
            st = lib.pcct_kneighbors_fitted_on(
                h, device, 0, nq, k, jobs, strategy, eps, control, ptr(dist), ptr(ind)
            )
        else:
            st = lib.pcct_kneighbors_ids_on(
                h, device, ptr(ids), nq, k, jobs, strategy, eps, control, ptr(dist), ptr(ind)
            )
        _lib.check(st)

    _run.run(work, total=nq, desc="pcct kneighbors", unit="queries", verbose=verbose,
             cost=version.work_bound(nq))
    version.answered(nq)
    return dist, version.public(ind)


def kneighbors_bound(version, X, k, bound, *, jobs, ids=None, verbose=False,
                     what="query", eps=0.0):
    """The k nearest neighbours nearer than ``bound`` (d < bound, as scipy's
    cKDTree takes ``distance_upper_bound``) of each query: (dist, ind) of
    shape (n_queries, k); slots without such a neighbour hold +inf and -1,
    so k may exceed the number of points. The search prunes with the bound
    from its first step; ``eps`` > 0 makes it approximate as cKDTree's. One
    call into Go, on the CPU."""
    lib = _lib.lib()
    h = version.handle
    ids, nq = _query_rows(version, X, ids)
    _memory.check_pairs(what, nq * k, version.dtype.itemsize + 8, KNN_ADVICE)
    dist = np.empty((nq, k), dtype=version.dtype)
    ind = np.empty((nq, k), dtype=np.int64)
    jobs = min(jobs, _MAX_JOBS)

    def work(control):
        _lib.check(lib.pcct_kneighbors_bound(
            h, ptr(X) if X is not None else None, ptr(ids) if ids is not None else None, 0, nq,
            version.n_features, k, bound, eps, jobs, control, ptr(dist), ptr(ind),
        ))

    _run.run(work, total=nq, desc="pcct kneighbors", unit="queries", verbose=verbose,
             cost=version.work_bound(nq))
    version.answered(nq)
    return dist, version.public(ind)


def _radii(r):
    """The per-query radii of r (a C-contiguous float64 array), or None for
    one radius for all queries."""
    return None if np.ndim(r) == 0 else r


def _rows(r, rows):
    """The radius of the queries ``rows``: r itself, or its entries."""
    return r if _radii(r) is None else np.ascontiguousarray(r[rows])


def count(version, X, r, *, jobs, ids=None, verbose=False):
    """The number of points within distance r (d <= r) of each query, as an
    int64 array, without listing them: Go counts whole subtrees within r by
    their sizes, so neither time nor memory grows with the answers. One
    call into Go. r is one radius, or an array of one per query."""
    lib = _lib.lib()
    h = version.handle
    ids, nq = _query_rows(version, X, ids)
    counts = np.zeros(nq, dtype=np.int64)
    if version.n_samples == 0 or nq == 0:
        return counts
    jobs = min(jobs, _MAX_JOBS)
    radii = _radii(r)

    def work(control):
        # No X and no ids: the fitted points 0..nq-1 (none deleted).
        q = ptr(X) if X is not None else None
        i = ptr(ids) if ids is not None else None
        if radii is None:
            st = lib.pcct_radius_count(h, q, i, 0, nq, version.n_features, r, jobs, control,
                                       ptr(counts))
        else:
            st = lib.pcct_radius_count_each(h, q, i, 0, nq, version.n_features, ptr(radii),
                                            jobs, control, ptr(counts))
        _lib.check(st)

    _run.run(work, total=nq, desc="pcct radius count", unit="queries", verbose=verbose,
             cost=version.work_bound(nq))
    version.answered(nq)
    return counts


# Queries counted to estimate the size of a radius answer.
_SAMPLE = 64


def _check_radius_size(version, X, ids, nq, r, jobs, budget, per_pair, what):
    """Raise MemoryError at once if a radius answer is likely not to fit:
    count a sample of the queries (cheap: see :func:`count`) and, if their
    answers extrapolate to a quarter of the budget or more, count them all.
    Go's limit on the answers still guards what the sample misses."""
    rows = np.unique(np.linspace(0, nq - 1, num=min(nq, _SAMPLE)).astype(np.int64))
    if rows.size == 0:
        return
    if X is not None:
        sample = count(version, X[rows], _rows(r, rows), jobs=jobs)
    else:
        sample = count(version, None, _rows(r, rows), jobs=jobs,
                       ids=rows if ids is None else ids[rows])
    if sample.mean() * nq * 4 < budget:
        return
    pairs = int(count(version, X, r, jobs=jobs, ids=ids).sum())
    if pairs > budget:
        raise _memory.too_large(what, pairs, per_pair, _memory.available_bytes() or 0,
                                RADIUS_ADVICE)


def radius(version, X, r, *, sort, jobs, ids=None, counts_only=False, verbose=False, step=None,
           what="radius_neighbors", extra=0, device=0):
    """The points within distance r (d <= r) of each query: (counts, dist,
    ind) with the answers of all queries concatenated, each query's by
    (distance, id) with ``sort``, else by id; dist and ind are None with
    counts_only (see :func:`count`). r is one radius, or an array of one
    per query (answered on the CPU whatever the device). Long batches run in chunks of
    ``step`` rows (default :func:`chunk_rows`), which bounds the results Go
    holds before they are copied; each chunk runs on ``device``.

    The answers may not outgrow the memory available: Go is given a limit
    on the answers it may hold (what fits, at :func:`radius_bytes_per_pair`
    bytes each, ``extra`` included), and a batch that finds more stops
    before taking more memory; its answers are then counted and
    MemoryError, naming ``what`` and their number, is raised.
    """
    if counts_only:
        return count(version, X, r, jobs=jobs, ids=ids, verbose=verbose), None, None
    lib = _lib.lib()
    h = version.handle
    ids, nq = _query_rows(version, X, ids)
    counts = np.zeros(nq, dtype=np.int64)
    if version.n_samples == 0:
        # An empty tree (every point deleted): no neighbours anywhere.
        return counts, np.empty(0, dtype=version.dtype), np.empty(0, dtype=np.int64)
    step = chunk_rows(jobs) if step is None else step
    jobs = min(jobs, _MAX_JOBS)
    d = version.n_features
    dtype = version.dtype
    radii = _radii(r)
    per_pair = radius_bytes_per_pair(dtype, extra)
    # Each query finds at most every point (duplicates included); the
    # answer is sampled only where that many would not fit.
    most = nq * version.n_samples
    budget = _memory.pair_budget(per_pair, most=most)
    if budget is not None and most > budget:
        _check_radius_size(version, X, ids, nq, r, jobs, budget, per_pair, what)

    def work(control):
        dists, inds = [], []
        result = _lib.c_uintptr(0)
        total = ctypes.c_int64(0)
        held = 0
        for lo in range(0, nq, step):
            hi = min(lo + step, nq)
            # 0 means no limit: a chunk gets at least 1.
            limit = 0 if budget is None else max(budget - held, 1)
            if radii is not None:
                st = lib.pcct_radius_each(
                    h, ptr(X[lo:hi]) if X is not None else None,
                    ptr(ids[lo:hi]) if ids is not None else None, lo, hi - lo, d,
                    ptr(radii[lo:hi]), int(sort), jobs, control, limit, ptr(counts[lo:hi]),
                    ctypes.byref(result), ctypes.byref(total),
                )
            elif X is not None:
                st = lib.pcct_radius_on(
                    h, device, ptr(X[lo:hi]), hi - lo, d, r, int(sort), jobs, control, limit,
                    ptr(counts[lo:hi]), ctypes.byref(result), ctypes.byref(total),
                )
            elif ids is None:
                st = lib.pcct_radius_fitted_on(
                    h, device, lo, hi - lo, r, int(sort), jobs, control, limit, ptr(counts[lo:hi]),
                    ctypes.byref(result), ctypes.byref(total),
                )
            else:
                st = lib.pcct_radius_ids_on(
                    h, device, ptr(ids[lo:hi]), hi - lo, r, int(sort), jobs, control, limit,
                    ptr(counts[lo:hi]), ctypes.byref(result), ctypes.byref(total),
                )
            _lib.check(st)
            held += total.value
            dd, ii = take_radius_result(result.value, total.value, dtype)
            dists.append(dd)
            inds.append(ii)
        return dists, inds

    try:
        dists, inds = _run.run(work, total=nq, desc="pcct radius_neighbors", unit="queries",
                               verbose=verbose, cost=version.work_bound(nq))
        version.answered(nq)
    except _lib.AnswerLimitError:
        pairs = int(count(version, X, r, jobs=jobs, ids=ids, verbose=verbose).sum())
        raise _memory.too_large(what, pairs, per_pair, _memory.available_bytes() or 0,
                                RADIUS_ADVICE) from None
    dist, ind = join_parts(dists, inds, dtype)
    return counts, dist, version.public(ind)


def take_radius_result(handle, n, dtype):
    """(dist, ind): the n pairs of a radius answer that Go holds at handle,
    copied into new arrays of the dtype and int64; Go's copy is freed
    (also when the arrays cannot be allocated)."""
    try:
        dd = np.empty(n, dtype=dtype)
        ii = np.empty(n, dtype=np.int64)
    except BaseException:
        _lib.free_result(handle)
        raise
    _lib.check(_lib.lib().pcct_radius_fill(handle, ptr(dd), ptr(ii)))
    return dd, ii


def join_parts(dists, inds, dtype):
    """The chunks' distances and indices of a radius answer, each joined
    into one array (empty ones of the dtype and int64 for no chunk)."""
    if len(dists) == 1:
        return dists[0], inds[0]
    dist = np.concatenate(dists) if dists else np.empty(0, dtype=dtype)
    ind = np.concatenate(inds) if inds else np.empty(0, dtype=np.int64)
    return dist, ind


# -- shapes of the answers -------------------------------------------------------


def split_object(values, counts):
    """Split a concatenated array into an object array of per-query arrays."""
    out = np.empty(len(counts), dtype=object)
    if len(counts) == 0:
        return out
    # Views by slicing: np.split made each through array_split's general
    # path (under cProfile 0.28 of 0.79 s over 50 answers to 1,000 queries
    # of 26 neighbours each).
    a = 0
    for i, b in enumerate(np.cumsum(counts).tolist()):
        out[i] = values[a:b]
        a = b
    return out


def csr(data, indices, indptr, shape):
    """A CSR matrix, or a CSR array where scikit-learn is configured for
    sparse arrays (``sklearn.set_config(sparse_interface="sparray")``)."""
    try:
        from sklearn import get_config

        sparray = get_config().get("sparse_interface") == "sparray"
    except Exception:  # pragma: no cover
        sparray = False
    cls = sp.csr_array if sparray else sp.csr_matrix
    return cls((data, indices, indptr), shape=shape)
