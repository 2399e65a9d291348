"""CoverTree: a Python class over persistent versions of a Go compressed
cover tree."""

from __future__ import annotations

import ctypes
import math
import numbers
import threading
import weakref
from typing import NamedTuple

import numpy as np
from sklearn.utils.validation import check_array

from . import _lib, _run

__all__ = [
    "CoverTree",
    "TreeStructure",
    "ReadOnlyError",
    "METRICS",
    "SEARCHES",
    "parse_metric",
    "parse_search",
    "effective_n_jobs",
]

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
    "cosine": 4,
    "haversine": 5,
}
_METRIC_NAMES = {
    0: "euclidean",
    1: "manhattan",
    2: "chebyshev",
    3: "minkowski",
    4: "cosine",
    5: "haversine",
}
# The Minkowski power each non-Minkowski metric is (p given with it must
# agree). Cosine (served as the Euclidean distance between normalised
# vectors) and haversine take no power: only the default p=2 is accepted.
_METRIC_P = {0: 2.0, 1: 1.0, 2: math.inf, 4: 2.0, 5: 2.0}
_COSINE, _HAVERSINE = 4, 5

# k-NN search strategies -> C ABI strategy code.
SEARCHES = {"depth_first": 0, "corrected": 1}

_DTYPES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1}
_DTYPE_OF_CODE = {0: np.dtype(np.float32), 1: np.dtype(np.float64)}

# Radius batches are cut into chunks of at least this many rows (more with
# many jobs), which bounds the results Go holds before Python copies them.
# k-NN batches, builds and updates are one call each: Ctrl-C reaches them
# through their control words (see _run.py).
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
    "ids_issued",
)


class ReadOnlyError(TypeError):
    """An update (insert, delete, fit) was attempted on a read-only snapshot.

    Snapshots (:meth:`CoverTree.snapshot`, :meth:`NearestNeighbors.snapshot`)
    answer queries as of the moment they were taken and never change. Like
    the ``TypeError`` Python raises for item assignment to a tuple, this
    says that the object does not support the operation at all; update the
    live tree or estimator instead.
    """



# Why scikit-learn's other metric names are refused, with what to do instead.
_NOT_SERVED = {
    "sqeuclidean": "it is not a metric (it breaks the triangle inequality); use "
    "'euclidean', which ranks neighbours the same way, and square the distances",
    "correlation": "it is not a metric; subtract each row's mean and use 'cosine', "
    "which then gives the same distance",
    "precomputed": "a cover tree needs the points themselves; use "
    "sklearn.neighbors.NearestNeighbors(metric='precomputed')",
    "nan_euclidean": "pcct refuses NaN; impute missing values first",
    "seuclidean": "weighted metrics are not implemented; scale the columns "
    "(X / X.std(axis=0)) and use 'euclidean'",
    "mahalanobis": "it is not implemented; whiten the data (e.g. with "
    "sklearn.decomposition.PCA(whiten=True)) and use 'euclidean'",
    "wminkowski": "weighted metrics are not implemented; scale the columns "
    "and use 'minkowski'",
}


def metric_hint(metric):
    """Why pcct does not serve this metric, and what to use instead."""
    if callable(metric):
        return ("Python callables are not supported: pcct computes every distance in Go, "
                "without calling back into Python")
    if isinstance(metric, str) and metric in _NOT_SERVED:
        return f"{metric!r} is not served: {_NOT_SERVED[metric]}"
    if isinstance(metric, str):
        return ("pcct does not implement it (and a cover tree needs a true metric, one "
                "with the triangle inequality)")
    return "a metric is named by a string"


def metric_error(metric, owner="CoverTree"):
    """The message for a metric pcct does not serve: why, and what it
    supports."""
    supported = ", ".join(repr(m) for m in sorted(METRICS))
    return f"Unsupported metric {metric!r} for {owner}: {metric_hint(metric)}. pcct supports: {supported}."


def parse_metric(metric, p, owner="CoverTree"):
    """Return (code, p) for a metric name and Minkowski power.

    Minkowski with p = 1, 2 or inf becomes manhattan, euclidean or
    chebyshev. Raises ValueError for an unknown metric, p < 1, or a p that
    contradicts a non-Minkowski metric (p only applies to "minkowski"; a p
    equal to the metric's own power, or None, is accepted).
    """
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(metric_error(metric, owner))
    code = METRICS[metric]
    if code != 3:
        check_p_applies(metric, p, owner, "p")
        return code, _METRIC_P[code]
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


def check_metric_domain(code, X, name="X"):
    """Check what a metric needs of the points beyond finiteness: no zero
    vector for cosine (the library refuses them too); 2 columns of
    (latitude, longitude) in radians for haversine, with latitudes within
    [-pi/2, pi/2] (degrees are the usual mistake)."""
    if code == _COSINE:
        if X.size:
            zero = np.flatnonzero(~X.any(axis=1))
            if zero.size:
                raise ValueError(
                    f"{name} has a zero vector at row {int(zero[0])} ({zero.size} in all): the "
                    "cosine distance is not defined for it. (scikit-learn puts a zero vector "
                    "at distance 1 from every point; pcct refuses it.)"
                )
        return
    if code != _HAVERSINE:
        return
    if X.shape[1] != 2:
        raise ValueError(
            f"{name} has {X.shape[1]} features, but the haversine metric needs 2: "
            "(latitude, longitude) in radians."
        )
    if X.shape[0]:
        lat = np.abs(X[:, 0])
        worst = float(lat.max())
        if worst > math.pi / 2 * (1 + 1e-6):
            row = int(np.argmax(lat))
            raise ValueError(
                f"{name} has latitude {float(X[row, 0]):g} at row {row}: the haversine metric "
                "takes (latitude, longitude) in radians, with latitudes in [-pi/2, pi/2]. "
                "Convert degrees with numpy.radians."
            )


def check_p_applies(metric, p, owner, name):
    """Raise ValueError if p was set for a metric other than "minkowski".

    scikit-learn's default metric is "minkowski", so there ``p=1`` means the
    Manhattan distance. pcct's default metric is "euclidean", and a p given
    with it would silently be ignored: code ported from scikit-learn that
    sets p would get the wrong distance. p = 2 (the default), None, or the
    metric's own power (1 for manhattan, inf for chebyshev) are accepted.
    """
    if p is None or isinstance(p, bool) or not isinstance(p, numbers.Real):
        if p is None:
            return
        raise ValueError(f"{name} must be a real number >= 1, got {p!r}.")
    p = float(p)
    if p == 2 or p == _METRIC_P[METRICS[metric]]:
        return
    raise ValueError(
        f"The {name!r} parameter of {owner} only applies to metric='minkowski' "
        f"(scikit-learn's default metric), but got {name}={p:g} with "
        f"metric={metric!r}; pcct's default metric is 'euclidean'. Set "
        f"metric='minkowski' to use the Minkowski distance with p={p:g}, or leave "
        f"{name} at its default."
    )


def parse_search(search, owner="CoverTree"):
    """Return the strategy code of a search name (ValueError if unknown)."""
    if not isinstance(search, str) or search not in SEARCHES:
        raise ValueError(
            f"Unsupported search {search!r} for {owner}: use one of "
            + ", ".join(repr(s) for s in sorted(SEARCHES))
            + "."
        )
    return SEARCHES[search]


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


def _raw_stats(handle):
    """The tree's statistics as the C ABI reports them (a list of ints)."""
    lib = _lib.lib()
    out = (ctypes.c_int64 * len(_STAT_FIELDS))()
    written = ctypes.c_int64(0)
    _lib.check(lib.pcct_tree_stats(handle, out, len(_STAT_FIELDS), ctypes.byref(written)))
    return [int(out[i]) for i in range(min(written.value, len(_STAT_FIELDS)))]


class _Version:
    """One immutable version of a Go tree; owns (and frees) its handle.

    Updates never change a version: they make a new one. A CoverTree holds
    its current version; a snapshot is another CoverTree holding the same
    version object, so the handle lives while anything refers to it.
    """

    __slots__ = ("handle", "n_samples", "n_ids", "_ids", "_finalizer", "__weakref__")

    def __init__(self, handle):
        self.handle = handle
        self._finalizer = weakref.finalize(self, _lib.free_tree, handle)
        self._ids = None
        s = _raw_stats(handle)
        self.n_samples = s[0]
        self.n_ids = s[12] if len(s) > 12 else s[0]

    @property
    def contiguous(self):
        """Whether the live ids are exactly 0..n_samples-1 (none deleted)."""
        return self.n_samples == self.n_ids

    def live_ids(self):
        """The live ids, ascending, as a read-only int64 array (cached)."""
        ids = self._ids
        if ids is None:
            n = self.n_samples
            if self.contiguous:
                ids = np.arange(n, dtype=np.int64)
            else:
                ids = np.empty(n, dtype=np.int64)
                written = ctypes.c_int64(0)
                _lib.check(
                    _lib.lib().pcct_tree_live_ids(self.handle, _ptr(ids), n, ctypes.byref(written))
                )
                if written.value != n:  # pragma: no cover - a library bug
                    raise RuntimeError(
                        f"pcct: the tree reported {n} points but lists {written.value} ids"
                    )
            ids.setflags(write=False)
            self._ids = ids
        return ids

    def encode(self):
        """The version in the Go library's binary format, as a bytearray."""
        lib = _lib.lib()
        result = _lib.c_uintptr(0)
        size = ctypes.c_int64(0)
        _lib.check(lib.pcct_tree_encode(self.handle, ctypes.byref(result), ctypes.byref(size)))
        try:
            buf = bytearray(size.value)
        except BaseException:
            _lib.free_result(result.value)
            raise
        view = np.frombuffer(buf, dtype=np.uint8)
        _lib.check(lib.pcct_bytes_fill(result.value, _ptr(view)))
        return buf

    @classmethod
    def decode(cls, buf, dtype_code):
        """A new version from bytes written by :meth:`encode`.

        buf may be any object with the buffer protocol (bytes, bytearray,
        memoryview); it is read, not copied. ValueError if it is damaged.
        """
        view = np.frombuffer(buf, dtype=np.uint8)
        handle = _lib.c_uintptr(0)
        _lib.check(
            _lib.lib().pcct_tree_decode(_ptr(view), view.size, dtype_code, ctypes.byref(handle))
        )
        return cls(handle.value)


def _check_ids(ids, name="ids"):
    """ids as a C-contiguous 1-D int64 array (ValueError if not integers)."""
    if isinstance(ids, numbers.Integral) and not isinstance(ids, bool):
        ids = [ids]
    a = np.asarray(ids)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array-like of integers, got an array of shape {a.shape}.")
    if a.size == 0:
        return np.empty(0, dtype=np.int64)
    if a.dtype == object:
        if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in a):
            raise ValueError(f"{name} must hold integers.")
        try:
            return np.ascontiguousarray(a.astype(np.int64))
        except OverflowError:
            raise ValueError(f"{name} holds an integer out of the int64 range.") from None
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers, got dtype {a.dtype}.")
    if a.dtype.kind == "u" and a.size and a.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} holds an integer out of the int64 range.")
    return np.ascontiguousarray(a, dtype=np.int64)


class TreeStructure(NamedTuple):
    """The nodes of a cover tree, parents before children (see
    :meth:`CoverTree.structure`). Each field is an int64 array with one
    entry per node."""

    ids: np.ndarray
    """The node's id: the smallest id among the identical points it holds."""
    counts: np.ndarray
    """How many points (ids) the node holds: more than 1 for duplicates."""
    levels: np.ndarray
    """The node's level i: its children lie within 2**(i+1) of it, and
    nodes of level >= i are more than 2**i apart."""
    parents: np.ndarray
    """The id of the node's parent, -1 for the root."""


class CoverTree:
    """Compressed cover tree for exact nearest-neighbour search.

    A lower-level companion of :class:`pcct.NearestNeighbors`, shaped like
    :class:`sklearn.neighbors.KDTree`. The tree is built in Go over a copy
    of ``X`` (Python keeps no copy), is safe to query from several threads,
    and can be updated: :meth:`insert` and :meth:`delete` make a new
    version of the tree (the old one is freed unless a :meth:`snapshot`
    holds it).

    Every point has an *id*: the points of ``X`` get ids 0..n-1, the points
    of each :meth:`insert` the next unused ids. Deleted ids are never
    reused. Every index a query returns is an id.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points. float32 and float64 are kept as they are; other numeric
        input (int, bool, float16, ...) is converted to float64.
    metric : str, default="euclidean"
        One of "euclidean" ("l2"), "manhattan" ("cityblock", "l1"),
        "chebyshev" ("infinity"), "minkowski" (power ``p``), "cosine"
        (1 - cosine similarity; zero vectors are refused) or "haversine"
        (great-circle distance on the unit sphere between (latitude,
        longitude) pairs in radians).
    p : float, default=2
        Power of the Minkowski metric (p >= 1, may be ``inf``). It applies
        only to ``metric="minkowski"``: with another metric, a p other than
        2 or the metric's own power (1 for manhattan, inf for chebyshev)
        raises ValueError rather than being ignored.
    n_jobs : int, default=None
        Number of goroutines building and updating the tree and answering
        each batch of queries: None means 1, -1 all CPUs, -k all CPUs but
        k-1.
    seed : int, default=0
        Seed of the random insertion order; the same data and seed give the
        same tree.
    search : {"depth_first", "corrected"}, default="depth_first"
        The k-nearest-neighbour algorithm; both are exact and give the same
        answers. "depth_first" is branch and bound: from the root, the
        children of a node are measured together and opened nearest first,
        and a subtree is skipped when its radius puts it beyond the k-th
        distance found so far; it measures 1.4 to 2.3 times fewer distances
        than "corrected" on the benchmark data, hence the default.
        "corrected" is Elkin and Kurlin's corrected algorithm: level by
        level, with the lambda-point bound and the break condition, whose
        number of iterations has a proven bound.
    verbose : bool, default=False
        Show a progress bar (tqdm if installed, else a line on stderr) for
        the build, updates and queries.

    Attributes
    ----------
    n_samples : int
        Number of points held (live ids).
    n_ids : int
        Number of ids issued so far (every id is below it).
    n_features : int
        Dimension of the points.
    dtype : numpy.dtype
        float32 or float64: the precision of the points, of the queries and
        of the distances returned.
    metric : str
        The metric's canonical name ("euclidean", "manhattan", "chebyshev",
        "minkowski", "cosine" or "haversine").
    p : float
        The Minkowski power (2.0 for euclidean, 1.0 for manhattan, inf for
        chebyshev; 2.0, unused, for cosine and haversine).
    read_only : bool
        True for a snapshot: :meth:`insert` and :meth:`delete` raise
        :class:`ReadOnlyError`.

    Notes
    -----
    A CoverTree pickles as the tree's binary encoding (no Python copy of the
    points is kept or stored); :meth:`save` and :func:`pcct.load` write and
    read the same encoding in a file. Copies (:func:`copy.copy`,
    :func:`copy.deepcopy`) share the current version and cost O(1).

    Ctrl-C stops the build, an update or a long batch of queries within a
    fraction of a second and raises ``KeyboardInterrupt``; the tree is then
    as it was before the call.

    Examples
    --------
    >>> import numpy as np
    >>> from pcct import CoverTree
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    >>> tree = CoverTree(X)
    >>> dist, ind = tree.query([[0.1, 0.0]], k=2)
    >>> ind
    array([[0, 1]])
    >>> tree.insert([[0.2, 0.0]])
    array([3])
    >>> tree.delete([0]).query([[0.1, 0.0]], k=2)[1]
    array([[3, 1]])
    """

    def __init__(self, X, metric="euclidean", p=2, n_jobs=None, seed=0, search="depth_first",
                 verbose=False):
        code, p = parse_metric(metric, p)
        parse_search(search)
        self.n_jobs = n_jobs
        jobs = self._jobs()  # validate early
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"seed must be an int, got {seed!r}.")
        X = check_array(
            X,
            dtype=[np.float64, np.float32],
            order="C",
            input_name="X",
            estimator="CoverTree",
        )
        check_metric_domain(code, X)
        self._init(X.dtype, X.shape[1], code, p, int(seed) % 2**64, search, False, verbose)
        self._version = self._build(X, jobs)

    def _init(self, dtype, n_features, code, p, seed, search, read_only, verbose=False):
        self.dtype = np.dtype(dtype)
        self.n_features = int(n_features)
        self.metric = _METRIC_NAMES[code]
        self.p = float(p)
        self._code = code
        self.seed = seed
        self.search = search
        self.verbose = verbose
        self._read_only = bool(read_only)
        self._lock = threading.Lock()

    def _build(self, X, jobs, verbose=None):
        n, d = X.shape
        dtype = _DTYPES[X.dtype]
        jobs = min(jobs, 2**31 - 1)
        lib = _lib.lib()

        def work(control):
            handle = _lib.c_uintptr(0)
            _lib.check(
                lib.pcct_tree_build(
                    _ptr(X), dtype, n, d, self._code, self.p, self.seed, jobs, control,
                    ctypes.byref(handle),
                )
            )
            return _Version(handle.value)

        return _run.run(work, total=n, desc="pcct fit", unit="points",
                        verbose=self._verbose(verbose), cost=float(n) * n * d)

    @classmethod
    def _from_checked(cls, X, code, p, n_jobs, seed, search="depth_first", verbose=False):
        """Build from an already validated C-contiguous float array."""
        self = cls.__new__(cls)
        self.n_jobs = n_jobs
        self._init(X.dtype, X.shape[1], code, p, seed, search, False, verbose)
        self._version = self._build(X, self._jobs())
        return self

    # -- properties ----------------------------------------------------------

    @property
    def n_samples(self):
        """Number of points held (live ids)."""
        return self._version.n_samples

    @property
    def n_ids(self):
        """Number of ids issued so far; every id is below it."""
        return self._version.n_ids

    @property
    def read_only(self):
        """True for a snapshot, which cannot be updated."""
        return self._read_only

    # -- copies, snapshots, pickling ---------------------------------------

    def _copy(self, read_only):
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._lock = threading.Lock()
        new._read_only = bool(read_only)
        return new

    def __copy__(self):
        return self._copy(self._read_only)

    def __deepcopy__(self, memo):
        # Versions are immutable: sharing one is a deep copy.
        return self._copy(self._read_only)

    def snapshot(self):
        """Return a read-only tree that answers as this one does now.

        The snapshot shares the current version of the tree (O(1) time and
        memory): later :meth:`insert` and :meth:`delete` calls on this tree
        make new versions and leave the snapshot's answers unchanged. The
        version is freed when neither the tree nor any snapshot holds it.

        Returns
        -------
        snapshot : CoverTree
            A tree with ``read_only=True``: its :meth:`insert` and
            :meth:`delete` raise :class:`ReadOnlyError`. It has the same
            parameters (metric, n_jobs, search, ...) and can be queried,
            pickled and saved like any tree.
        """
        return self._copy(True)

    def _state(self):
        return {
            "format": 1,
            "dtype": self.dtype.name,
            "n_features": self.n_features,
            "metric": self._code,
            "p": self.p,
            "seed": self.seed,
            "n_jobs": self.n_jobs,
            "search": self.search,
            "verbose": self.verbose,
            "read_only": self._read_only,
        }

    @classmethod
    def _restore(cls, buf, state):
        """A tree from its binary encoding and the state of :meth:`_state`;
        ValueError if the two disagree or the encoding is damaged."""
        try:
            dtype = np.dtype(state["dtype"])
            code = int(state["metric"])
            p = float(state["p"])
            dtype_code = _DTYPES[dtype]
            n_features = int(state["n_features"])
            seed = int(state["seed"])
            search = state["search"]
            parse_search(search)
            read_only = bool(state["read_only"])
            n_jobs = state["n_jobs"]
            verbose = state.get("verbose", False)
            effective_n_jobs(n_jobs)
            if code not in _METRIC_NAMES:
                raise ValueError(f"metric code {code}")
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"pcct: not a valid saved CoverTree state ({e!r}).") from None
        version = _Version.decode(buf, dtype_code)
        s = _raw_stats(version.handle)
        if (s[1], s[2], s[11]) != (n_features, dtype_code, code):
            raise ValueError(
                "pcct: the encoded tree does not match its saved state "
                f"(dim {s[1]}, dtype {s[2]}, metric {s[11]} in the tree; "
                f"{n_features}, {dtype_code}, {code} in the state)."
            )
        self = cls.__new__(cls)
        self.n_jobs = n_jobs
        self._init(dtype, n_features, code, p, seed, search, read_only, verbose)
        self._version = version
        return self

    def __reduce__(self):
        return (_restore_tree, (self._version.encode(), self._state()))

    def save(self, file):
        """Save the tree to a file, to be read back by :func:`pcct.load`.

        The file holds a short header (the kind "tree", the dtype, the
        parameters) and the tree's binary encoding, with a CRC-32 of the
        whole: a truncated or damaged file makes :func:`pcct.load` raise
        ValueError. Only the tree is stored, not a copy of the data; ids,
        deleted ids and the read-only flag are kept.

        Parameters
        ----------
        file : str, os.PathLike or binary file object
            Where to write: a path (the file is created or replaced) or an
            object with a ``write`` method.
        """
        from ._io import save

        save(self, file)

    def __repr__(self):
        metric = self.metric if self.metric != "minkowski" else f"minkowski(p={self.p:g})"
        extra = ""
        if self.search != "depth_first":
            extra += f", search={self.search}"
        if self._read_only:
            extra += ", read_only=True"
        return (
            f"CoverTree(n_samples={self.n_samples}, n_features={self.n_features}, "
            f"dtype={self.dtype.name}, metric={metric}{extra})"
        )

    def _jobs(self):
        return effective_n_jobs(self.n_jobs)

    def _strategy(self):
        return parse_search(self.search)

    def _verbose(self, verbose=None):
        return bool(self.verbose if verbose is None else verbose)

    # -- conversion ------------------------------------------------------

    def _check_queries(self, X, name="X"):
        X = check_array(
            X,
            dtype=self.dtype,
            order="C",
            input_name=name,
            estimator="CoverTree",
        )
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but CoverTree is expecting "
                f"{self.n_features} features as input."
            )
        check_metric_domain(self._code, X, name)
        return X

    def _chunk(self, jobs):
        return max(CHUNK_ROWS, 256 * jobs)

    def _cost(self, rows, version=None):
        """The brute-force work bound of a call over ``rows`` rows (see
        ``_run.THREAD_WORK``)."""
        v = self._version if version is None else version
        return float(rows) * max(v.n_samples, 1) * self.n_features

    # -- updates -------------------------------------------------------------

    def _check_writable(self, what):
        if self._read_only:
            raise ReadOnlyError(
                f"This {type(self).__name__} is a read-only snapshot: {what} is not "
                "allowed. Update the live tree the snapshot was taken from."
            )

    def insert(self, X):
        """Insert points; return their ids.

        The tree is not changed in place: a new version holding the old and
        the new points replaces it (snapshots keep the old one). The
        insertion runs on ``n_jobs`` goroutines. Ctrl-C stops it within a
        fraction of a second (``KeyboardInterrupt``) and leaves the tree
        unchanged.

        Parameters
        ----------
        X : array-like of shape (n_points, n_features)
            The new points, validated like the constructor's ``X`` and
            converted to the tree's dtype.

        Returns
        -------
        ids : ndarray of shape (n_points,), int64
            The ids of the new points: the next ``n_points`` unused ids,
            ascending, in the order of the rows of ``X``.

        Raises
        ------
        ReadOnlyError
            If the tree is a snapshot.
        ValueError
            If ``X`` is empty, not finite, has the wrong number of features,
            or spans too wide a range for float64 distances.
        """
        self._check_writable("insert")
        X = self._check_queries(X)
        return self._insert_checked(X, self._jobs())

    def _insert_checked(self, X, jobs, verbose=None):
        """Insert checked C-contiguous rows of the tree's dtype."""
        n = X.shape[0]
        jobs = min(jobs, 2**31 - 1)
        lib = _lib.lib()
        with self._lock:
            v = self._version

            def work(control):
                out = _lib.c_uintptr(0)
                first = ctypes.c_int64(0)
                _lib.check(
                    lib.pcct_tree_insert(
                        v.handle, _ptr(X), n, self.n_features, jobs, control,
                        ctypes.byref(out), ctypes.byref(first),
                    )
                )
                return _Version(out.value), first.value

            new, start = _run.run(
                work, total=n, desc="pcct insert", unit="points",
                verbose=self._verbose(verbose), cost=float(n) * (v.n_samples + n) * self.n_features,
            )
            self._version = new
        return np.arange(start, start + n, dtype=np.int64)

    def delete(self, ids):
        """Delete points by id.

        The tree is not changed in place: a new version without those
        points replaces it (snapshots keep the old one). Deleted ids are
        never reused.

        Parameters
        ----------
        ids : array-like of int
            The ids to delete (an int is one id). Each must be live and
            appear once; otherwise ValueError is raised, naming the first
            offending id, and nothing is deleted.

        Returns
        -------
        self : CoverTree
            The tree itself.

        Raises
        ------
        ReadOnlyError
            If the tree is a snapshot.
        ValueError
            If an id is not held by the tree (never issued, or deleted) or
            is given twice.
        """
        self._check_writable("delete")
        self._delete_checked(_check_ids(ids), self._jobs())
        return self

    def _delete_checked(self, ids, jobs, verbose=None):
        """Delete a checked C-contiguous int64 array of ids."""
        if ids.size == 0:
            return
        jobs = min(jobs, 2**31 - 1)
        lib = _lib.lib()
        with self._lock:
            v = self._version

            def work(control):
                out = _lib.c_uintptr(0)
                _lib.check(
                    lib.pcct_tree_delete(v.handle, _ptr(ids), ids.size, jobs, control,
                                         ctypes.byref(out))
                )
                return _Version(out.value)

            try:
                new = _run.run(work, total=ids.size, desc="pcct delete", unit="points",
                               verbose=self._verbose(verbose), cost=self._cost(ids.size, v))
            except ValueError as e:
                raise _delete_error(v, ids) or e from None
            self._version = new

    def ids(self):
        """Return the live ids, ascending.

        Row i of ``kneighbors(X=None)`` in :class:`NearestNeighbors` (and
        of the graphs with ``X=None``) is the point with id ``ids()[i]``.

        Returns
        -------
        ids : ndarray of shape (n_samples,), int64
            A read-only array (shared with the tree's version, so cheap to
            call again).
        """
        return self._version.live_ids()

    # -- queries on checked input (used by NearestNeighbors) -------------

    def _kneighbors(self, X, k, jobs, strategy=None, version=None, ids=None, verbose=None):
        """k nearest neighbours of the rows of X (checked, C-contiguous, in
        the tree's dtype), or, when X is None, of the tree's own points
        ``ids`` (default: every live id, ascending), each left out of its
        own answer. Answers on ``version`` (default: the current one), in
        one call into Go (in a worker thread when it is long, so that
        Ctrl-C stops it)."""
        lib = _lib.lib()  # raises in a forked child
        v = self._version if version is None else version
        strategy = self._strategy() if strategy is None else strategy
        h = v.handle
        if X is None and ids is None and not v.contiguous:
            ids = v.live_ids()
        if ids is not None:
            ids = np.ascontiguousarray(ids, dtype=np.int64)
        nq = X.shape[0] if X is not None else (v.n_samples if ids is None else ids.size)
        dist = np.empty((nq, k), dtype=self.dtype)
        ind = np.empty((nq, k), dtype=np.int64)
        jobs = min(jobs, 2**31 - 1)
        d = self.n_features

        def work(control):
            if X is not None:
                st = lib.pcct_kneighbors(
                    h, _ptr(X), nq, d, k, jobs, strategy, control, _ptr(dist), _ptr(ind)
                )
            elif ids is None:
                st = lib.pcct_kneighbors_fitted(
                    h, 0, nq, k, jobs, strategy, control, _ptr(dist), _ptr(ind)
                )
            else:
                st = lib.pcct_kneighbors_ids(
                    h, _ptr(ids), nq, k, jobs, strategy, control, _ptr(dist), _ptr(ind)
                )
            _lib.check(st)

        _run.run(work, total=nq, desc="pcct kneighbors", unit="queries",
                 verbose=self._verbose(verbose), cost=self._cost(nq, v))
        return dist, ind

    def _radius(self, X, r, sort, jobs, version=None, ids=None, counts_only=False, verbose=None):
        """Points within distance r (d <= r) of the rows of X, or of the
        tree's own points (as in _kneighbors) when X is None. Returns
        (counts, dist, ind) with the answers of all queries concatenated;
        dist and ind are None with counts_only. Long batches run in chunks
        of rows (which bounds the results Go holds before they are copied)
        in a worker thread, so that Ctrl-C stops them."""
        lib = _lib.lib()
        v = self._version if version is None else version
        h = v.handle
        if X is None and ids is None and not v.contiguous:
            ids = v.live_ids()
        if ids is not None:
            ids = np.ascontiguousarray(ids, dtype=np.int64)
        nq = X.shape[0] if X is not None else (v.n_samples if ids is None else ids.size)
        counts = np.zeros(nq, dtype=np.int64)
        if v.n_samples == 0:
            # An empty tree (every point deleted): no neighbours anywhere.
            if counts_only:
                return counts, None, None
            return counts, np.empty(0, dtype=self.dtype), np.empty(0, dtype=np.int64)
        step = self._chunk(jobs)
        jobs = min(jobs, 2**31 - 1)
        d = self.n_features

        def work(control):
            dists, inds = [], []
            result = _lib.c_uintptr(0)
            total = ctypes.c_int64(0)
            for lo in range(0, nq, step):
                hi = min(lo + step, nq)
                if X is not None:
                    st = lib.pcct_radius(
                        h, _ptr(X[lo:hi]), hi - lo, d, r, int(sort), jobs, control,
                        _ptr(counts[lo:hi]), ctypes.byref(result), ctypes.byref(total),
                    )
                elif ids is None:
                    st = lib.pcct_radius_fitted(
                        h, lo, hi - lo, r, int(sort), jobs, control, _ptr(counts[lo:hi]),
                        ctypes.byref(result), ctypes.byref(total),
                    )
                else:
                    st = lib.pcct_radius_ids(
                        h, _ptr(ids[lo:hi]), hi - lo, r, int(sort), jobs, control,
                        _ptr(counts[lo:hi]), ctypes.byref(result), ctypes.byref(total),
                    )
                _lib.check(st)
                handle = result.value
                if counts_only:
                    _lib.check(lib.pcct_result_free(handle))
                    continue
                try:
                    dd = np.empty(total.value, dtype=self.dtype)
                    ii = np.empty(total.value, dtype=np.int64)
                except BaseException:
                    _lib.free_result(handle)
                    raise
                _lib.check(lib.pcct_radius_fill(handle, _ptr(dd), _ptr(ii)))
                dists.append(dd)
                inds.append(ii)
            return dists, inds

        dists, inds = _run.run(work, total=nq, desc="pcct radius_neighbors", unit="queries",
                               verbose=self._verbose(verbose), cost=self._cost(nq, v))
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
            Ids of the neighbours; ties in distance are ordered by id.
        """
        X = self._check_queries(X)
        v = self._version
        k = _check_k(k, v.n_samples)
        dist, ind = self._kneighbors(X, k, self._jobs(), version=v)
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
            Order each query's neighbours by distance, then id (needs
            ``return_distance=True``).

        Returns
        -------
        count : ndarray of shape (n_queries,), int64
            With ``count_only=True``.
        ind : ndarray of shape (n_queries,), dtype object
            Each element an int64 array of ids.
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
            points (live), ids_issued, nodes (distinct points), dim, dtype,
            metric, levels (distinct levels), min_level, max_level, depth,
            max_fanout, build_distance_evaluations (the build and every
            update that made this version), query_distance_evaluations (all
            queries on this version so far), and nodes_per_level (level ->
            node count).

        See Also
        --------
        structure : Every node, with its level and parent.
        pcct.plotting.plot_levels : A bar chart of ``nodes_per_level``.
        """
        lib = _lib.lib()
        v = self._version
        h = v.handle
        raw = _raw_stats(h)
        s = dict(zip(_STAT_FIELDS, raw))
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

    def structure(self):
        """Return every node of the tree: its id, point count, level and
        parent.

        A node is one distinct point; identical points share a node, which
        is named by its smallest id. Nodes are listed parents before
        children (depth first from the root), so ``parents[i]`` is always an
        id listed before node i.

        Returns
        -------
        structure : TreeStructure
            A named tuple of four int64 arrays of length ``nodes`` (see
            :meth:`stats`): ``ids`` (the node's smallest id), ``counts``
            (the ids it holds, more than 1 for duplicates), ``levels`` (the
            node's level i: its children are within ``2**(i+1)`` of it) and
            ``parents`` (the parent node's id, -1 for the root). An empty
            tree (every point deleted) gives empty arrays.

        See Also
        --------
        stats : Counts of nodes per level, depth and fan-out.
        pcct.plotting.plot_tree : Draws the tree over 2-D data.

        Examples
        --------
        >>> import numpy as np
        >>> from pcct import CoverTree
        >>> tree = CoverTree(np.array([[0.0], [0.0], [4.0]]))
        >>> ids, counts, levels, parents = tree.structure()
        >>> ids.tolist(), counts.tolist(), levels.tolist(), parents.tolist()
        ([2, 0], [1, 2], [2, 1], [-1, 2])
        """
        lib = _lib.lib()
        h = self._version.handle
        n = ctypes.c_int64(0)
        _lib.check(lib.pcct_tree_structure(h, None, None, None, None, 0, ctypes.byref(n)))
        m = n.value
        arrays = [np.empty(m, dtype=np.int64) for _ in range(4)]
        _lib.check(lib.pcct_tree_structure(h, *(_ptr(a) for a in arrays), m, ctypes.byref(n)))
        if n.value != m:  # pragma: no cover - a version never changes
            raise RuntimeError(f"pcct: the tree listed {n.value} nodes, then {m}")
        return TreeStructure(*arrays)


def _restore_tree(buf, state):
    """Unpickle a CoverTree (see CoverTree.__reduce__)."""
    return CoverTree._restore(buf, state)


def _delete_error(version, ids):
    """The ValueError for the first id of ids that is not live or repeats
    (None if every id is fine, which the library then disputes)."""
    live = version.live_ids()
    n_ids = version.n_ids
    seen = set()
    for i in ids.tolist():
        if i in seen:
            return ValueError(f"id {i} is given more than once. Nothing was deleted.")
        seen.add(i)
        if i < 0 or i >= n_ids:
            return ValueError(
                f"id {i} is not in the tree: the ids issued so far are 0 to {n_ids - 1}. "
                "Nothing was deleted."
            )
        j = np.searchsorted(live, i)
        if j == live.size or live[j] != i:
            return ValueError(
                f"id {i} is not in the tree: it was deleted. Nothing was deleted."
            )
    return None


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
