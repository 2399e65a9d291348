"""CoverTree: a thin Python class over one Go compressed cover tree."""

from __future__ import annotations

import ctypes
import math
import numbers
import weakref

import numpy as np
from sklearn.utils.validation import check_array

from . import _lib

__all__ = ["CoverTree", "METRICS", "parse_metric", "effective_n_jobs"]

# Metric names (scikit-learn's spellings and aliases) -> C ABI metric code.
METRICS = {
    "euclidean": 0,
    "l2": 0,
    "manhattan": 1,
    "cityblock": 1,
    "l1": 1,
    "chebyshev": 2,
    "infinity": 2,
    "minkowski": 3,
}
_METRIC_NAMES = {0: "euclidean", 1: "manhattan", 2: "chebyshev", 3: "minkowski"}

_DTYPES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1}
_DTYPE_OF_CODE = {0: np.dtype(np.float32), 1: np.dtype(np.float64)}

# Query batches are cut into chunks of at least this many rows (more with
# many jobs): Python sees Ctrl-C only between calls into Go.
CHUNK_ROWS = 4096

_STAT_FIELDS = (
    "points",
    "dim",
    "dtype",
    "nodes",
    "levels",
    "min_level",
    "max_level",
    "depth",
    "max_fanout",
    "build_distance_evaluations",
    "query_distance_evaluations",
    "metric",
)


def parse_metric(metric, p):
    """Return (code, p) for a metric name and Minkowski power.

    Minkowski with p = 1, 2 or inf becomes manhattan, euclidean or
    chebyshev. Raises ValueError for an unknown metric or p < 1.
    """
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(
            f"Unsupported metric {metric!r}. pcct supports: "
            + ", ".join(repr(m) for m in sorted(METRICS))
            + "."
        )
    code = METRICS[metric]
    if code != 3:
        return code, 2.0
    if p is None:
        p = 2
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise ValueError(f"p must be a real number >= 1, got {p!r}.")
    p = float(p)
    if math.isnan(p) or p < 1:
        raise ValueError(
            f"p = {p:g} is not supported: a Minkowski distance with 0 < p < 1 is not "
            "a metric (it breaks the triangle inequality a cover tree relies on). "
            "Use p >= 1."
        )
    if p == 1:
        return 1, 1.0
    if p == 2:
        return 0, 2.0
    if math.isinf(p):
        return 2, p
    return 3, p


def effective_n_jobs(n_jobs):
    """Number of goroutines for n_jobs, as scikit-learn counts them.

    None means 1, -1 all CPUs, -k (cpus + 1 - k), at least 1.
    """
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise ValueError(f"n_jobs must be an int or None, got {n_jobs!r}.")
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning.")
    if n_jobs > 0:
        return min(n_jobs, 2**31 - 1)
    return max(_cpu_count() + 1 + n_jobs, 1)


def _cpu_count():
    try:
        from joblib import cpu_count  # scikit-learn's own count (cgroups, affinity)

        return max(int(cpu_count()), 1)
    except Exception:  # pragma: no cover - joblib ships with scikit-learn
        import os

        return os.cpu_count() or 1


def _ptr(a):
    return ctypes.c_void_p(a.ctypes.data) if a.size else None


class CoverTree:
    """Compressed cover tree for exact nearest-neighbour search.

    A lower-level companion of :class:`pcct.NearestNeighbors`, shaped like
    :class:`sklearn.neighbors.KDTree`. The tree is built in Go over a copy
    of ``X``; it is immutable and safe to query from several threads.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points. float32 and float64 are kept as they are; other numeric
        input (int, bool, float16, ...) is converted to float64.
    metric : str, default="minkowski"
        One of "minkowski" (power ``p``; p=2, the default, is Euclidean),
        "euclidean" ("l2"), "manhattan" ("cityblock", "l1") or "chebyshev"
        ("infinity").
    p : float, default=2
        Power of the Minkowski metric (p >= 1, may be ``inf``); ignored by
        the other metrics.
    n_jobs : int, default=None
        Number of goroutines answering each batch of queries: None means 1,
        -1 all CPUs, -k all CPUs but k-1.
    seed : int, default=0
        Seed of the random insertion order; the same data and seed give the
        same tree.

    Attributes
    ----------
    n_samples : int
        Number of points.
    n_features : int
        Dimension of the points.
    dtype : numpy.dtype
        float32 or float64: the precision of the points, of the queries and
        of the distances returned.
    metric : str
        The metric's canonical name ("euclidean", "manhattan", "chebyshev"
        or "minkowski").
    p : float
        The Minkowski power (2.0 for euclidean, 1.0 for manhattan, inf for
        chebyshev).
    data : ndarray of shape (n_samples, n_features)
        The points as given (after conversion), kept for pickling.

    Examples
    --------
    >>> import numpy as np
    >>> from pcct import CoverTree
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    >>> tree = CoverTree(X)
    >>> dist, ind = tree.query([[0.1, 0.0]], k=2)
    >>> ind
    array([[0, 1]])
    """

    def __init__(self, X, metric="minkowski", p=2, n_jobs=None, seed=0):
        code, p = parse_metric(metric, p)
        self.n_jobs = n_jobs
        self._jobs()  # validate early
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"seed must be an int, got {seed!r}.")
        X = check_array(
            X,
            dtype=[np.float64, np.float32],
            order="C",
            input_name="X",
            estimator="CoverTree",
        )
        self._build(X, code, p, int(seed) % 2**64)

    def _build(self, X, code, p, seed):
        lib = _lib.lib()
        handle = _lib.c_uintptr(0)
        n, d = X.shape
        _lib.check(
            lib.pcct_tree_build(
                _ptr(X), _DTYPES[X.dtype], n, d, code, p, seed, ctypes.byref(handle)
            )
        )
        self._handle = handle.value
        self._finalizer = weakref.finalize(self, _lib.free_tree, self._handle)
        self.data = X
        self.n_samples = n
        self.n_features = d
        self.dtype = X.dtype
        self.metric = _METRIC_NAMES[code]
        self.p = p
        self._code = code
        self.seed = seed

    @classmethod
    def _from_checked(cls, X, code, p, n_jobs, seed):
        """Build from an already validated C-contiguous float array."""
        self = cls.__new__(cls)
        self.n_jobs = n_jobs
        self._build(X, code, p, seed)
        return self

    def __reduce__(self):
        return (
            CoverTree._from_checked,
            (self.data, self._code, self.p, self.n_jobs, self.seed),
        )

    def __repr__(self):
        metric = self.metric if self.metric != "minkowski" else f"minkowski(p={self.p:g})"
        return (
            f"CoverTree(n_samples={self.n_samples}, n_features={self.n_features}, "
            f"dtype={self.dtype.name}, metric={metric})"
        )

    def _jobs(self):
        return effective_n_jobs(self.n_jobs)

    def _handle_or_raise(self):
        lib = _lib.lib()  # raises in a forked child
        return lib, self._handle

    # -- conversion ------------------------------------------------------

    def _check_queries(self, X):
        X = check_array(
            X,
            dtype=self.dtype,
            order="C",
            input_name="X",
            estimator="CoverTree",
        )
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but CoverTree is expecting "
                f"{self.n_features} features as input."
            )
        return X

    def _chunk(self, jobs):
        return max(CHUNK_ROWS, 256 * jobs)

    # -- queries on checked input (used by NearestNeighbors) -------------

    def _kneighbors(self, X, k, jobs, first=0, count=None):
        """k nearest neighbours of the rows of X (checked, C-contiguous, in
        the tree's dtype), or of the fitted points first..first+count-1 (each
        left out of its own answer) when X is None."""
        lib, h = self._handle_or_raise()
        nq = X.shape[0] if X is not None else (self.n_samples - first if count is None else count)
        dist = np.empty((nq, k), dtype=self.dtype)
        ind = np.empty((nq, k), dtype=np.int64)
        step = self._chunk(jobs)
        jobs = min(jobs, 2**31 - 1)
        for lo in range(0, nq, step):
            hi = min(lo + step, nq)
            if X is None:
                st = lib.pcct_kneighbors_fitted(
                    h, first + lo, hi - lo, k, jobs, _ptr(dist[lo:hi]), _ptr(ind[lo:hi])
                )
            else:
                st = lib.pcct_kneighbors(
                    h, _ptr(X[lo:hi]), hi - lo, self.n_features, k, jobs,
                    _ptr(dist[lo:hi]), _ptr(ind[lo:hi]),
                )
            _lib.check(st)
        return dist, ind

    def _radius(self, X, r, sort, jobs, first=0, count=None, counts_only=False):
        """Points within distance r (d <= r) of the rows of X, or of fitted
        points when X is None. Returns (counts, dist, ind) with the answers
        of all queries concatenated; dist and ind are None with counts_only."""
        lib, h = self._handle_or_raise()
        nq = X.shape[0] if X is not None else (self.n_samples - first if count is None else count)
        counts = np.empty(nq, dtype=np.int64)
        dists, inds = [], []
        step = self._chunk(jobs)
        jobs = min(jobs, 2**31 - 1)
        result = _lib.c_uintptr(0)
        total = ctypes.c_int64(0)
        for lo in range(0, nq, step):
            hi = min(lo + step, nq)
            if X is None:
                st = lib.pcct_radius_fitted(
                    h, first + lo, hi - lo, r, int(sort), jobs, _ptr(counts[lo:hi]),
                    ctypes.byref(result), ctypes.byref(total),
                )
            else:
                st = lib.pcct_radius(
                    h, _ptr(X[lo:hi]), hi - lo, self.n_features, r, int(sort), jobs,
                    _ptr(counts[lo:hi]), ctypes.byref(result), ctypes.byref(total),
                )
            _lib.check(st)
            handle = result.value
            if counts_only:
                _lib.check(lib.pcct_result_free(handle))
                continue
            try:
                d = np.empty(total.value, dtype=self.dtype)
                i = np.empty(total.value, dtype=np.int64)
            except BaseException:
                _lib.free_result(handle)
                raise
            _lib.check(lib.pcct_radius_fill(handle, _ptr(d), _ptr(i)))
            dists.append(d)
            inds.append(i)
        if counts_only:
            return counts, None, None
        if len(dists) == 1:
            return counts, dists[0], inds[0]
        dist = np.concatenate(dists) if dists else np.empty(0, dtype=self.dtype)
        ind = np.concatenate(inds) if inds else np.empty(0, dtype=np.int64)
        return counts, dist, ind

    # -- public API --------------------------------------------------------

    def query(self, X, k=1, return_distance=True):
        """Find the k nearest neighbours of each row of X.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query points, converted to the tree's dtype.
        k : int, default=1
            Number of neighbours, 1 <= k <= n_samples.
        return_distance : bool, default=True
            Whether to return the distances too.

        Returns
        -------
        dist : ndarray of shape (n_queries, k), the tree's dtype
            Distances, nearest first; only with ``return_distance=True``.
        ind : ndarray of shape (n_queries, k), int64
            Indices of the neighbours; ties in distance are ordered by index.
        """
        X = self._check_queries(X)
        k = _check_k(k, self.n_samples)
        dist, ind = self._kneighbors(X, k, self._jobs())
        return (dist, ind) if return_distance else ind

    def query_radius(self, X, r, return_distance=False, count_only=False, sort_results=False):
        """Find the points within distance r (d <= r) of each row of X.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query points, converted to the tree's dtype.
        r : float
            Radius, >= 0, the same for every query.
        return_distance : bool, default=False
            Whether to return the distances too.
        count_only : bool, default=False
            Return only the number of neighbours of each query.
        sort_results : bool, default=False
            Order each query's neighbours by distance, then index (needs
            ``return_distance=True``).

        Returns
        -------
        count : ndarray of shape (n_queries,), int64
            With ``count_only=True``.
        ind : ndarray of shape (n_queries,), dtype object
            Each element an int64 array of indices.
        dist : ndarray of shape (n_queries,), dtype object
            Each element an array of distances; only with
            ``return_distance=True``. As in KDTree, returned after ``ind``.
        """
        if count_only and return_distance:
            raise ValueError("count_only and return_distance cannot both be true")
        if sort_results and not return_distance:
            raise ValueError("return_distance must be True if sort_results is True")
        X = self._check_queries(X)
        r = _check_radius(r)
        counts, dist, ind = self._radius(X, r, sort_results, self._jobs(), counts_only=count_only)
        if count_only:
            return counts
        ind_obj = split_object(ind, counts)
        if return_distance:
            return ind_obj, split_object(dist, counts)
        return ind_obj

    def stats(self):
        """Return the tree's shape and work counters.

        Returns
        -------
        stats : dict
            points, nodes (distinct points), dim, dtype, metric, levels
            (distinct levels), min_level, max_level, depth, max_fanout,
            build_distance_evaluations, query_distance_evaluations (all
            queries so far), and nodes_per_level (level -> node count).
        """
        lib, h = self._handle_or_raise()
        out = (ctypes.c_int64 * len(_STAT_FIELDS))()
        written = ctypes.c_int64(0)
        _lib.check(lib.pcct_tree_stats(h, out, len(_STAT_FIELDS), ctypes.byref(written)))
        s = {name: int(out[i]) for i, name in enumerate(_STAT_FIELDS[: written.value])}
        if "dtype" in s:
            s["dtype"] = _DTYPE_OF_CODE.get(s["dtype"], s["dtype"]).name
        if "metric" in s:
            s["metric"] = _METRIC_NAMES.get(s["metric"], s["metric"])
        nlev = ctypes.c_int64(0)
        _lib.check(lib.pcct_tree_level_counts(h, None, None, 0, ctypes.byref(nlev)))
        m = nlev.value
        levels = (ctypes.c_int64 * max(m, 1))()
        counts = (ctypes.c_int64 * max(m, 1))()
        _lib.check(lib.pcct_tree_level_counts(h, levels, counts, m, ctypes.byref(nlev)))
        s["nodes_per_level"] = {int(levels[i]): int(counts[i]) for i in range(min(m, nlev.value))}
        return s


def split_object(values, counts):
    """Split a concatenated array into an object array of per-query arrays."""
    out = np.empty(len(counts), dtype=object)
    if len(counts) == 0:
        return out
    bounds = np.cumsum(counts)[:-1]
    for i, part in enumerate(np.split(values, bounds)):
        out[i] = part
    return out


def _check_k(k, n):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise ValueError(f"k must be an integer, got {k!r}.")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}.")
    if k > n:
        raise ValueError(f"k must be less than or equal to the number of training points ({n}), got {k}.")
    return int(k)


def _check_radius(r):
    if isinstance(r, bool) or not isinstance(r, numbers.Real):
        if np.ndim(r) == 0:
            r = float(r)
        else:
            raise ValueError("r must be a single number: pcct uses one radius for all queries.")
    r = float(r)
    if math.isnan(r) or r < 0:
        raise ValueError(f"radius == {r}, must be >= 0.")
    return r
