"""Joins of two tree versions (Go's dual-tree traversals): the pairs of
points within a distance, counted for many radii at once or listed, as
scipy's cKDTree gives them (``count_neighbors``, ``query_pairs``,
``query_ball_tree``, ``sparse_distance_matrix``).

Both versions are pinned for the whole call. A join is one call into Go,
made in a worker thread when it is long (see ``_run.py``), so that Ctrl-C
stops it; joins report no progress. A listing join is given a limit on the
pairs Go may hold (what fits in memory): past it Go stops, the pairs are
counted without being listed, and MemoryError names their number.
"""

from __future__ import annotations

import ctypes

import numpy as np

from . import _lib, _memory, _run
from ._handle import ptr

__all__ = ["count_pairs", "list_pairs", "PAIRS_ADVICE", "SELF", "WITH"]

# pcct_pairs modes: the pairs i < j within one tree, or (i, j) across two.
SELF, WITH = 0, 1

# Bytes a listed pair takes in Go at its peak (key, distance and the sort's
# copy), before Python's arrays.
_GO_BYTES_PER_PAIR = 40

# The largest n_jobs the C ABI takes (an int32).
_MAX_JOBS = 2**31 - 1

PAIRS_ADVICE = ("Count the pairs without listing them (CoverTree.count_neighbors takes no "
                "memory per pair), use a smaller radius, or join parts of the data.")


def _cost(a, b):
    """The brute-force work bound of a join of versions a and b."""
    return float(max(a.n_samples, 1)) * max(b.n_samples, 1) * a.n_features


def count_pairs(a, b, radii, *, jobs):
    """For each radius of ``radii`` (a float64 array, any order), the number
    of pairs (x, y), x a point of version a and y one of b, with d(x, y) <=
    r: an int64 array. No pair is listed. b may be a itself (every ordered
    pair then counts, a point with itself included)."""
    lib = _lib.lib()
    radii = np.ascontiguousarray(radii, dtype=np.float64)
    counts = np.zeros(radii.size, dtype=np.int64)
    if radii.size == 0:
        return counts
    jobs = min(jobs, _MAX_JOBS)

    def work(control):
        _lib.check(lib.pcct_count_pairs(a.handle, b.handle, ptr(radii), radii.size, jobs, control,
                                        ptr(counts)))

    _run.run(work, total=0, desc="pcct count_neighbors", unit="pairs", cost=_cost(a, b))
    return counts


def list_pairs(a, b, r, *, mode, dists, jobs, what, extra=0):
    """The pairs within distance r: with mode SELF, (i, j), i < j, of
    version a's points (b is ignored); with mode WITH, (i, j) with i a point
    of a and j one of b. Returns (i, j, d): int64 arrays ordered by i, then
    j, and the distances in the trees' dtype (None without ``dists``).

    The pairs may not outgrow the memory available (``extra`` bytes per
    pair for what the caller builds from them): Go stops past what fits,
    and MemoryError, naming ``what`` and the number of pairs, is raised.
    """
    lib = _lib.lib()
    jobs = min(jobs, _MAX_JOBS)
    other = a if mode == SELF else b
    per_pair = _GO_BYTES_PER_PAIR + 16 + (a.dtype.itemsize if dists else 0) + extra
    budget = _memory.pair_budget(per_pair, most=a.n_samples * other.n_samples)

    def work(control):
        result = _lib.c_uintptr(0)
        total = ctypes.c_int64(0)
        limit = 0 if budget is None else max(budget, 1)
        _lib.check(lib.pcct_pairs(a.handle, other.handle, mode, r, int(dists), jobs, control,
                                  limit, ctypes.byref(result), ctypes.byref(total)))
        handle = result.value
        try:
            i = np.empty(total.value, dtype=np.int64)
            j = np.empty(total.value, dtype=np.int64)
            d = np.empty(total.value, dtype=a.dtype) if dists else None
        except BaseException:
            _lib.free_result(handle)
            raise
        _lib.check(lib.pcct_pairs_fill(handle, ptr(i), ptr(j), ptr(d) if dists else None))
        return i, j, d

    try:
        i, j, d = _run.run(work, total=0, desc=f"pcct {what}", unit="pairs",
                           cost=_cost(a, other))
    except _lib.AnswerLimitError:
        n = int(count_pairs(a, other, np.array([r]), jobs=jobs)[0])
        if mode == SELF:
            n = (n - a.n_samples) // 2  # ordered pairs, each point with itself
        raise _memory.too_large(what, n, per_pair, _memory.available_bytes() or 0,
                                PAIRS_ADVICE) from None
    if a.labels is None and other.labels is None:
        return i, j, d
    # Caller-chosen ids: translate, and order the pairs by them again.
    i, j = a.public(i), other.public(j)
    if mode == SELF:
        i, j = np.minimum(i, j), np.maximum(i, j)
    order = np.lexsort((j, i))
    return i[order], j[order], (d[order] if dists else None)
