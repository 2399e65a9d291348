"""Versions of a Go cover tree: the handles, their lifetime, and the calls
that make new versions (build, insert, delete, decode) or read one (stats,
live ids, structure, encode).

A tree in the Go library is reached through a handle (a
``runtime/cgo.Handle``). A handle may also hold a brute-force index (a
``core.Brute``): it answers the same calls (but structure), and its
``algorithm`` says which it is. Every handle names one immutable version: updates
make a new version and never change an old one. :class:`TreeVersion` owns
one handle and frees it through ``weakref.finalize`` once nothing refers to
it, so a :class:`pcct.CoverTree`, its snapshots and the estimators share a
version simply by holding the same object.

The queries on a version are in ``_search.py``.
"""

from __future__ import annotations

import ctypes
import struct
import threading
import weakref
import zlib
from typing import NamedTuple

import numpy as np

from . import _lib, _run
from ._validation import DTYPE_OF_CODE, DTYPES

__all__ = ["TreeVersion", "LabelledVersion", "PendingVersion", "STAT_FIELDS", "SHAPE_FIELDS",
           "ALGORITHMS", "CHOICE_FIELDS", "ptr", "raw_stats", "raw_shape", "build",
           "read_encoding_header"]

# The fields of pcct_tree_stats, in order.
STAT_FIELDS = (
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
    "bytes_nodes",
    "bytes_points",
    "bytes_kids",
    "bytes_groups",
    "bytes_ids",
    "bytes_id_map",
    "algorithm",
    "search_layout_bytes",
    "search_layout_built",
)

# Index algorithms -> C ABI code (core.Algorithm); "auto" chooses from the
# data, and the version then says which was built.
ALGORITHMS = {"auto": 0, "cover_tree": 1, "brute": 2}
_ALGORITHM_NAMES = {code: name for name, code in ALGORITHMS.items()}

# The evidence pcct_index_build reports for "auto" (core.Choice), after the
# algorithm code, in order.
CHOICE_FIELDS = (
    "sample",
    "sample_evaluations_per_query",
    "growth",
    "evaluations_per_query",
    "build_evaluations_per_point",
    "tree_seconds",
    "brute_seconds",
    "build_budget",
    "gave_up",
)

# The largest n_jobs the C ABI takes (an int32).
_MAX_JOBS = 2**31 - 1


def ptr(a):
    """The data pointer of a numpy array for ctypes (None when empty)."""
    return ctypes.c_void_p(a.ctypes.data) if a.size else None


def encoded_bytes(export, handle):
    """The bytes an encoding export (pcct_tree_encode, pcct_sparse_encode)
    makes of ``handle``, as a bytearray."""
    result = _lib.c_uintptr(0)
    size = ctypes.c_int64(0)
    _lib.check(export(handle, ctypes.byref(result), ctypes.byref(size)))
    try:
        buf = bytearray(size.value)
    except BaseException:
        _lib.free_result(result.value)
        raise
    view = np.frombuffer(buf, dtype=np.uint8)
    _lib.check(_lib.lib().pcct_bytes_fill(result.value, ptr(view)))
    return buf


def raw_stats(handle):
    """The tree's statistics as the C ABI reports them (a list of ints, in
    the order of :data:`STAT_FIELDS`)."""
    lib = _lib.lib()
    out = (ctypes.c_int64 * len(STAT_FIELDS))()
    written = ctypes.c_int64(0)
    _lib.check(lib.pcct_tree_stats(handle, out, len(STAT_FIELDS), ctypes.byref(written)))
    return [int(out[i]) for i in range(min(written.value, len(STAT_FIELDS)))]


# The fields of pcct_tree_shape, in order: what a new version reads of its
# index, without the walk over every node that the statistics take.
SHAPE_FIELDS = ("points", "dim", "dtype", "ids_issued", "algorithm")


def raw_shape(handle):
    """The index's counts a version needs, as the C ABI reports them (a
    list of ints, in the order of :data:`SHAPE_FIELDS`)."""
    lib = _lib.lib()
    out = (ctypes.c_int64 * len(SHAPE_FIELDS))()
    written = ctypes.c_int64(0)
    _lib.check(lib.pcct_tree_shape(handle, out, len(SHAPE_FIELDS), ctypes.byref(written)))
    return [int(out[i]) for i in range(min(written.value, len(SHAPE_FIELDS)))]


def build(X, code, p, seed, jobs, verbose=False, algorithm="cover_tree", ids=None, params=None,
          pymetric=None):
    """A new version holding the rows of X (checked, C-contiguous float32 or
    float64), with ids 0..n-1, or ``ids`` (checked: see
    ``_validation.check_new_ids``), under the metric (code, p) with its
    parameter vector ``params`` (``_validation.metric_vector``, or None),
    or the Python function of ``pymetric`` (a ``_callback.PyMetric``),
    built as ``algorithm`` says (a key of :data:`ALGORITHMS`; a Python
    function builds a cover tree only); in a worker thread when it is long,
    so that Ctrl-C stops it. Returns (version, choice): with "auto", choice
    is the evidence the library chose from (a dict of
    :data:`CHOICE_FIELDS`), else None."""
    n, d = X.shape
    dtype = DTYPES[X.dtype]
    jobs = min(jobs, _MAX_JOBS)
    algo = ALGORITHMS[algorithm]
    lib = _lib.lib()

    def work(control):
        handle = _lib.c_uintptr(0)
        choice = (ctypes.c_double * (1 + len(CHOICE_FIELDS)))()
        if pymetric is not None:
            if algo != ALGORITHMS["cover_tree"]:  # pragma: no cover - refused by the callers
                raise ValueError("pcct: a Python function metric needs a cover tree")
            st = lib.pcct_tree_build_callback(
                ptr(X), dtype, n, d, pymetric.pointer, pymetric.name.encode(), seed, jobs,
                control, ctypes.byref(handle),
            )
        elif params is None:
            st = lib.pcct_index_build(
                ptr(X), dtype, n, d, code, p, seed, jobs, algo, control, ctypes.byref(handle),
                choice,
            )
        else:
            st = lib.pcct_index_build_metric(
                ptr(X), dtype, n, d, code, p, ptr(params), params.size, seed, jobs, algo,
                control, ctypes.byref(handle), choice,
            )
        _lib.check(st)
        if ids is None:
            return TreeVersion(handle.value, keep=pymetric), list(choice)
        labels = ids.copy()
        labels.setflags(write=False)
        return TreeVersion(handle.value, labels, int(ids.max()) + 1, keep=pymetric), list(choice)

    version, choice = _run.run(work, total=n, desc="pcct fit", unit="points", verbose=verbose,
                               cost=float(n) * n * d)
    if algorithm != "auto":
        return version, None
    return version, choice_dict(choice)


def choice_dict(choice):
    """The ``algorithm_choice_`` dict of the figures Go wrote for an
    "auto" fit (``choice[0]`` is the algorithm chosen)."""
    out = dict(zip(CHOICE_FIELDS, choice[1:]))
    for name in ("sample", "build_budget"):
        out[name] = int(out[name])
    # The tree chosen exceeded its build budget: brute force took over.
    out["gave_up"] = bool(out["gave_up"])
    return out


def _free(handle, keep):
    """Free a version's handle (its finalizer); ``keep``, what Go calls back
    into, is held until then."""
    _lib.free_tree(handle)


def saved_labels(state):
    """(labels, n_ids) of a saved state: the caller-chosen ids, read-only
    int64, and one past the largest id issued; (None, None) where the ids
    were Go's own. ValueError if they are out of range, KeyError if n_ids
    is missing (the callers turn both into their invalid-state error)."""
    labels = state.get("labels")
    if labels is None:
        return None, None
    labels = np.array(labels, dtype=np.int64)
    n_ids = int(state["n_ids"])
    if labels.ndim != 1 or (labels.size and (labels.min() < 0 or labels.max() >= n_ids)):
        raise ValueError("ids out of range")
    labels.setflags(write=False)
    return labels, n_ids


class LabelledVersion:
    """The ids of a version of a Go index (a tree's, or a sparse index's):
    Go's caller indices, or, where the caller chose ids at an insertion,
    ``labels``, the id of every caller index, translated at the boundary.

    A subclass sets ``labels``, ``n_ids``, ``n_samples``, ``_n_go`` (the
    caller indices Go issued), ``_ids = _order = None``, and defines
    ``_go_live_ids()``.
    """

    __slots__ = ()

    @property
    def contiguous(self):
        """Whether the live ids are exactly 0..n_samples-1 (none deleted,
        none chosen by the caller)."""
        return self.labels is None and self.n_samples == self.n_ids

    def live_ids(self):
        """The live ids, ascending, as a read-only int64 array (cached)."""
        ids = self._ids
        if ids is None:
            go = self._go_live_ids()
            if self.labels is None:
                ids, order = go, go
            else:
                lab = self.labels[go]
                perm = np.argsort(lab, kind="stable")
                ids, order = lab[perm], go[perm]
            ids.setflags(write=False)
            order.setflags(write=False)
            self._ids, self._order = ids, order
        return ids

    def query_ids(self):
        """The Go caller indices of the live points in the order of
        :meth:`live_ids` (what a query of the fitted points runs on)."""
        self.live_ids()
        return self._order

    def public(self, ind):
        """The ids of Go caller indices (an int64 array; entries below 0,
        the marks of missing neighbours, are kept)."""
        if self.labels is None:
            return ind
        out = np.array(ind, dtype=np.int64, copy=True)
        found = out >= 0
        out[found] = self.labels[out[found]]
        return out

    def internal(self, ids, action="Nothing was changed"):
        """The Go caller indices of the live points with these ids (a 1-D
        int64 array); ValueError naming the first id that is not live."""
        if self.labels is None:
            return ids
        live = self.live_ids()
        pos = np.searchsorted(live, ids)
        ok = pos < live.size
        ok[ok] = live[pos[ok]] == ids[ok]
        if not ok.all():
            bad = int(ids[np.argmin(ok)])
            raise ValueError(f"id {bad} is not in the tree. {action}.")
        return self._order[pos]

    def inserted_labels(self, ids, n):
        """(labels, n_ids) of the version an insertion of n points makes,
        with the caller's ids (or None: the next unused ones); (None, None)
        while the ids are Go's caller indices."""
        if self.labels is None and ids is None:
            return None, None
        # Go numbers the new points from self._n_go on.
        old = self.labels if self.labels is not None else np.arange(self._n_go, dtype=np.int64)
        new = ids if ids is not None else np.arange(self.n_ids, self.n_ids + n, dtype=np.int64)
        labels = np.concatenate([old, new])
        labels.setflags(write=False)
        return labels, (max(self.n_ids, int(new.max()) + 1) if n else self.n_ids)


class TreeVersion(LabelledVersion):
    """One immutable version of a Go tree; owns (and frees) its handle.

    Updates never change a version: they make a new one. A CoverTree holds
    its current version; a snapshot is another CoverTree holding the same
    version object, so the handle lives while anything refers to it.

    **Ids.** The Go tree numbers its points 0, 1, ... in the order they
    came (its caller indices). Those are the ids, unless the caller chose
    its own at an insertion (``insert(X, ids=...)``, faiss's
    ``add_with_ids``): the version then carries ``labels``, the id of every
    caller index, and translates at the boundary: answers going out
    (:meth:`public`) and ids coming in (:meth:`internal`).

    Attributes
    ----------
    handle : int
        The Go handle.
    n_samples : int
        Live points.
    n_ids : int
        One past the largest id ever issued (every id is below it).
    n_features : int
        Dimension of the points.
    dtype : numpy.dtype
        float32 or float64.
    labels : ndarray of int64 or None
        The id of each of the Go tree's caller indices (read-only), or None
        when the ids are the caller indices themselves.
    keep : object or None
        The Python function the tree's metric calls back into
        (``_callback.PyMetric``), or None.
    algorithm : str
        "cover_tree" or "brute": the index the handle holds.
    """

    __slots__ = ("handle", "n_samples", "n_ids", "n_features", "dtype", "labels", "keep",
                 "algorithm", "_n_go", "_ids", "_order", "_queries", "_lock", "_finalizer",
                 "__weakref__")

    def __init__(self, handle, labels=None, n_ids=None, keep=None):
        self.handle = handle
        # What Go calls back into (a _callback.PyMetric), kept alive while
        # this version lives; the finalizer holds it too, so the handle is
        # freed before it.
        self.keep = keep
        self._finalizer = weakref.finalize(self, _free, handle, keep)
        self._ids = None
        self._order = None
        s = raw_shape(handle)
        self.n_samples = s[0]
        self.n_features = s[1]
        self.dtype = DTYPE_OF_CODE[s[2]]
        self._n_go = s[3]  # caller indices issued by Go
        if labels is not None and len(labels) != self._n_go:
            raise ValueError(
                f"pcct: {len(labels)} ids for the {self._n_go} points the tree has held"
            )
        self.labels = labels
        self.n_ids = self._n_go if labels is None else int(n_ids)
        self.algorithm = _ALGORITHM_NAMES.get(s[4], "cover_tree")
        self._queries = 0  # queries answered on this version, for stats()
        self._lock = threading.Lock()

    def answered(self, n):
        """Count n more queries answered on this version."""
        with self._lock:
            self._queries += n

    def work_bound(self, rows):
        """The brute-force work bound of a call over ``rows`` rows (see
        ``_run.THREAD_WORK``): rows x points x features."""
        return float(rows) * max(self.n_samples, 1) * self.n_features

    def _go_live_ids(self):
        """The Go tree's live caller indices, ascending."""
        n = self.n_samples
        if self.n_samples == self._n_go:
            return np.arange(n, dtype=np.int64)
        ids = np.empty(n, dtype=np.int64)
        written = ctypes.c_int64(0)
        _lib.check(_lib.lib().pcct_tree_live_ids(self.handle, ptr(ids), n, ctypes.byref(written)))
        if written.value != n:  # pragma: no cover - a library bug
            raise RuntimeError(f"pcct: the tree reported {n} points but lists {written.value} ids")
        return ids

    def metric(self):
        """(metric kind, Minkowski power) of the tree, as the library has
        them."""
        kind = ctypes.c_int32(0)
        p = ctypes.c_double(0)
        _lib.check(_lib.lib().pcct_tree_metric(self.handle, ctypes.byref(kind), ctypes.byref(p)))
        return kind.value, p.value

    # -- new versions ----------------------------------------------------------

    def insert(self, X, jobs, verbose=False, ids=None):
        """A new version holding this one's points and the rows of X
        (checked, C-contiguous, in the tree's dtype), with the ids ``ids``
        (checked: see ``_validation.check_new_ids``) or, when None, the
        next unused ones; returns (version, the new points' ids)."""
        n = X.shape[0]
        jobs = min(jobs, _MAX_JOBS)
        lib = _lib.lib()
        labels, n_ids = self.inserted_labels(ids, n)

        def work(control):
            out = _lib.c_uintptr(0)
            first = ctypes.c_int64(0)
            _lib.check(
                lib.pcct_tree_insert(
                    self.handle, ptr(X), n, self.n_features, jobs, control,
                    ctypes.byref(out), ctypes.byref(first),
                )
            )
            version = TreeVersion(out.value, labels, n_ids, self.keep)
            if labels is None:
                return version, np.arange(first.value, first.value + n, dtype=np.int64)
            return version, labels[first.value:].copy()

        return _run.run(work, total=n, desc="pcct insert", unit="points", verbose=verbose,
                        cost=float(n) * (self.n_samples + n) * self.n_features)

    def delete(self, ids, jobs, verbose=False):
        """A new version without the points of ``ids`` (a C-contiguous int64
        array of ids); ValueError if one is not live."""
        jobs = min(jobs, _MAX_JOBS)
        lib = _lib.lib()
        go = np.ascontiguousarray(self.internal(ids, "Nothing was deleted"))

        def work(control):
            out = _lib.c_uintptr(0)
            _lib.check(
                lib.pcct_tree_delete(self.handle, ptr(go), go.size, jobs, control,
                                     ctypes.byref(out))
            )
            return TreeVersion(out.value, self.labels, self.n_ids, self.keep)

        return _run.run(work, total=ids.size, desc="pcct delete", unit="points",
                        verbose=verbose, cost=self.work_bound(ids.size))

    def points(self, ids):
        """The stored coordinates of the live points with these ids (a
        C-contiguous int64 array): an array of shape (len(ids),
        n_features) in the tree's dtype."""
        go = np.ascontiguousarray(self.internal(ids, "No point was read"))
        out = np.empty((go.size, self.n_features), dtype=self.dtype)
        _lib.check(_lib.lib().pcct_tree_points(self.handle, ptr(go), go.size, ptr(out)))
        return out

    # -- reading a version -------------------------------------------------------

    def stats(self):
        """The statistics of pcct_tree_stats as a dict (dtype and metric as
        codes), with ``nodes_per_level`` (level -> node count)."""
        lib = _lib.lib()
        h = self.handle
        s = dict(zip(STAT_FIELDS, raw_stats(h)))
        s["queries"] = self._queries
        nlev = ctypes.c_int64(0)
        _lib.check(lib.pcct_tree_level_counts(h, None, None, 0, ctypes.byref(nlev)))
        m = nlev.value
        levels = (ctypes.c_int64 * max(m, 1))()
        counts = (ctypes.c_int64 * max(m, 1))()
        _lib.check(lib.pcct_tree_level_counts(h, levels, counts, m, ctypes.byref(nlev)))
        s["nodes_per_level"] = {int(levels[i]): int(counts[i]) for i in range(min(m, nlev.value))}
        return s

    def structure(self):
        """Every node as four int64 arrays: ids, counts, levels, parents."""
        lib = _lib.lib()
        h = self.handle
        n = ctypes.c_int64(0)
        _lib.check(lib.pcct_tree_structure(h, None, None, None, None, 0, ctypes.byref(n)))
        m = n.value
        arrays = [np.empty(m, dtype=np.int64) for _ in range(4)]
        _lib.check(lib.pcct_tree_structure(h, *(ptr(a) for a in arrays), m, ctypes.byref(n)))
        if n.value != m:  # pragma: no cover - a version never changes
            raise RuntimeError(f"pcct: the tree listed {n.value} nodes, then {m}")
        arrays[0], arrays[3] = self.public(arrays[0]), self.public(arrays[3])
        return arrays

    # -- encoding --------------------------------------------------------------------

    def encode(self):
        """The version in the Go library's binary format, as a bytearray."""
        return encoded_bytes(_lib.lib().pcct_tree_encode, self.handle)

    @classmethod
    def decode(cls, buf, dtype_code, labels=None, n_ids=None, pymetric=None):
        """A new version from bytes written by :meth:`encode`, with the ids
        ``labels`` and ``n_ids`` it had and, for a tree of a Python
        function, its ``pymetric`` (see :class:`TreeVersion`).

        buf may be any object with the buffer protocol (bytes, bytearray,
        memoryview); it is read, not copied. ValueError if it is damaged.
        """
        view = np.frombuffer(buf, dtype=np.uint8)
        handle = _lib.c_uintptr(0)
        if pymetric is None:
            st = _lib.lib().pcct_tree_decode(ptr(view), view.size, dtype_code,
                                             ctypes.byref(handle))
        else:
            st = _lib.lib().pcct_tree_decode_callback(
                ptr(view), view.size, dtype_code, pymetric.pointer, pymetric.name.encode(),
                ctypes.byref(handle))
        _lib.check(st)
        # Its finalizer frees the handle if it fails.
        return cls(handle.value, labels, n_ids, pymetric)


# The start of the Go library's binary format (core/encode.go): magic,
# format version, float size, dimension, metric kind, Minkowski power, level
# base, seed, ids issued, nodes, build evaluations. The last 4 bytes are a
# CRC-32 (IEEE, as zlib computes it) of everything before them.
_TREE_MAGIC = b"PCCTTREE"
_TREE_HEADER = struct.Struct("<8sIIIIddQIIQ")
# A brute-force index's format (core/bruteencode.go): magic, format version,
# float size, dimension, metric kind, Minkowski power, ids issued, points;
# the same CRC-32 at the end.
_BRUTE_MAGIC = b"PCCTBRUT"
_BRUTE_HEADER = struct.Struct("<8sIIIIdII")


class EncodingHeader(NamedTuple):
    """What the header of an encoded tree (or brute-force index) says."""

    dtype_code: int
    dim: int
    metric: int
    p: float
    ids_issued: int
    nodes: int
    algorithm: str = "cover_tree"


def read_encoding_header(buf):
    """Check an encoded tree's (or brute-force index's) magic and checksum
    and read its header, in Python, without the Go library; ValueError
    (with the Go decoder's wording) if the bytes are not a whole, undamaged
    encoding."""
    view = memoryview(buf).cast("B")
    flat = bytes(view[:8]) == _BRUTE_MAGIC
    header = _BRUTE_HEADER if flat else _TREE_HEADER
    if len(view) < header.size + 4 or bytes(view[:8]) not in (_TREE_MAGIC, _BRUTE_MAGIC):
        raise ValueError("core: decode: not a pcct tree (bad magic)")
    if zlib.crc32(view[:-4]) != struct.unpack_from("<I", view, len(view) - 4)[0]:
        raise ValueError("core: decode: checksum mismatch: the data is truncated or damaged")
    if flat:
        _, _, size, dim, metric, p, ids, nodes = header.unpack_from(view)
    else:
        _, _, size, dim, metric, p, _, _, ids, nodes, _ = header.unpack_from(view)
    codes = {4: 0, 8: 1}
    if size not in codes:
        raise ValueError(f"core: decode: the tree holds {size}-byte floats")
    return EncodingHeader(codes[size], dim, metric, p, ids, nodes,
                          "brute" if flat else "cover_tree")


class PendingVersion:
    """A version that exists only as encoded bytes until it is first used.

    Unpickling keeps the bytes (checked by :func:`read_encoding_header`,
    without Go) and decodes them into a :class:`TreeVersion` on first use,
    so that a process that cannot run Go (a child forked after the parent
    started it) can still unpickle a tree, and then fails inside the task,
    with advice, rather than in the unpickling machinery of a pool. Copies
    of a tree share one PendingVersion, so the bytes are decoded once.
    """

    __slots__ = ("_buf", "_dtype_code", "labels", "n_ids", "keep", "_check", "_lock",
                 "_version")

    def __init__(self, buf, dtype_code, check=None, labels=None, n_ids=None, keep=None):
        self._buf = buf
        self._dtype_code = dtype_code
        self.labels, self.n_ids = labels, n_ids  # caller-chosen ids (TreeVersion's)
        self.keep = keep  # a Python function's metric (TreeVersion's)
        self._check = check  # called with the decoded version; raises if it disagrees
        self._lock = threading.Lock()
        self._version = None

    def get(self):
        """The decoded version (decoding it now if needed)."""
        with self._lock:
            if self._version is None:
                version = TreeVersion.decode(self._buf, self._dtype_code, self.labels,
                                             self.n_ids, self.keep)
                if self._check is not None:
                    self._check(version)
                self._version, self._buf, self._check = version, None, None
            return self._version

    def encoded(self):
        """The bytes, if not decoded yet (else None: encode the version)."""
        with self._lock:
            return self._buf
