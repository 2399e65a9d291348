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
"""

from __future__ import annotations

import ctypes

import numpy as np
import scipy.sparse as sp

from . import _lib, _run
from ._handle import ptr

__all__ = ["kneighbors", "radius", "chunk_rows", "CHUNK_ROWS", "split_object", "csr"]

# Radius batches are cut into chunks of at least this many rows (more with
# many jobs), which bounds the results Go holds before Python copies them.
# k-NN batches, builds and updates are one call each: Ctrl-C reaches them
# through their control words (see _run.py).
CHUNK_ROWS = 4096

# The largest n_jobs the C ABI takes (an int32).
_MAX_JOBS = 2**31 - 1


def chunk_rows(jobs):
    """Rows per call of a radius batch on ``jobs`` goroutines."""
    return max(CHUNK_ROWS, 256 * jobs)


def _query_rows(version, X, ids):
    """(ids, number of queries): X=None without ids after deletions queries
    the live ids."""
    if X is None and ids is None and not version.contiguous:
        ids = version.live_ids()
    if ids is not None:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
    nq = X.shape[0] if X is not None else (version.n_samples if ids is None else ids.size)
    return ids, nq


def kneighbors(version, X, k, *, jobs, strategy, ids=None, verbose=False):
    """The k nearest neighbours of each query: (dist, ind), each of shape
    (n_queries, k), distances in the tree's dtype and int64 ids; one call
    into Go."""
    lib = _lib.lib()  # raises in a forked child
    h = version.handle
    ids, nq = _query_rows(version, X, ids)
    dist = np.empty((nq, k), dtype=version.dtype)
    ind = np.empty((nq, k), dtype=np.int64)
    jobs = min(jobs, _MAX_JOBS)
    d = version.n_features

    def work(control):
        if X is not None:
            st = lib.pcct_kneighbors(
                h, ptr(X), nq, d, k, jobs, strategy, control, ptr(dist), ptr(ind)
            )
        elif ids is None:
            st = lib.pcct_kneighbors_fitted(
                h, 0, nq, k, jobs, strategy, control, ptr(dist), ptr(ind)
            )
        else:
            st = lib.pcct_kneighbors_ids(
                h, ptr(ids), nq, k, jobs, strategy, control, ptr(dist), ptr(ind)
            )
        _lib.check(st)

    _run.run(work, total=nq, desc="pcct kneighbors", unit="queries", verbose=verbose,
             cost=version.work_bound(nq))
    return dist, ind


def radius(version, X, r, *, sort, jobs, ids=None, counts_only=False, verbose=False, step=None):
    """The points within distance r (d <= r) of each query: (counts, dist,
    ind) with the answers of all queries concatenated; dist and ind are
    None with counts_only. Long batches run in chunks of ``step`` rows
    (default :func:`chunk_rows`), which bounds the results Go holds before
    they are copied."""
    lib = _lib.lib()
    h = version.handle
    ids, nq = _query_rows(version, X, ids)
    counts = np.zeros(nq, dtype=np.int64)
    if version.n_samples == 0:
        # An empty tree (every point deleted): no neighbours anywhere.
        if counts_only:
            return counts, None, None
        return counts, np.empty(0, dtype=version.dtype), np.empty(0, dtype=np.int64)
    step = chunk_rows(jobs) if step is None else step
    jobs = min(jobs, _MAX_JOBS)
    d = version.n_features
    dtype = version.dtype

    def work(control):
        dists, inds = [], []
        result = _lib.c_uintptr(0)
        total = ctypes.c_int64(0)
        for lo in range(0, nq, step):
            hi = min(lo + step, nq)
            if X is not None:
                st = lib.pcct_radius(
                    h, ptr(X[lo:hi]), hi - lo, d, r, int(sort), jobs, control,
                    ptr(counts[lo:hi]), ctypes.byref(result), ctypes.byref(total),
                )
            elif ids is None:
                st = lib.pcct_radius_fitted(
                    h, lo, hi - lo, r, int(sort), jobs, control, ptr(counts[lo:hi]),
                    ctypes.byref(result), ctypes.byref(total),
                )
            else:
                st = lib.pcct_radius_ids(
                    h, ptr(ids[lo:hi]), hi - lo, r, int(sort), jobs, control,
                    ptr(counts[lo:hi]), ctypes.byref(result), ctypes.byref(total),
                )
            _lib.check(st)
            handle = result.value
            if counts_only:
                _lib.check(lib.pcct_result_free(handle))
                continue
            try:
                dd = np.empty(total.value, dtype=dtype)
                ii = np.empty(total.value, dtype=np.int64)
            except BaseException:
                _lib.free_result(handle)
                raise
            _lib.check(lib.pcct_radius_fill(handle, ptr(dd), ptr(ii)))
            dists.append(dd)
            inds.append(ii)
        return dists, inds

    dists, inds = _run.run(work, total=nq, desc="pcct radius_neighbors", unit="queries",
                           verbose=verbose, cost=version.work_bound(nq))
    if counts_only:
        return counts, None, None
    if len(dists) == 1:
        return counts, dists[0], inds[0]
    dist = np.concatenate(dists) if dists else np.empty(0, dtype=dtype)
    ind = np.concatenate(inds) if inds else np.empty(0, dtype=np.int64)
    return counts, dist, ind


# -- shapes of the answers -------------------------------------------------------


def split_object(values, counts):
    """Split a concatenated array into an object array of per-query arrays."""
    out = np.empty(len(counts), dtype=object)
    if len(counts) == 0:
        return out
    bounds = np.cumsum(counts)[:-1]
    for i, part in enumerate(np.split(values, bounds)):
        out[i] = part
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
