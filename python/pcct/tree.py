"""CoverTree: a Python class over persistent versions of a Go compressed
cover tree, shaped like scikit-learn's KDTree; and BruteForceIndex, the
same interface over a brute-force index.

The versions and their handles are in ``_handle.py``, the queries in
``_search.py``, the checks of parameters and input in ``_validation.py``;
this module holds the classes users see.
"""

from __future__ import annotations

import math
import threading
from typing import NamedTuple

import numpy as np
from sklearn.utils.validation import check_array

from . import _cluster, _format, _handle, _search
from ._lib import ForkedChildError
from ._callback import PyMetric
from ._ckdtree import CKDTreeMixin
from ._handle import TreeVersion
from ._validation import (
    DTYPE_OF_CODE,
    DTYPES,
    METRIC_NAMES,
    METRICS,
    POINTS_DTYPE,
    as_float,
    CUSTOM,
    check_ids,
    check_savable,
    check_new_ids,
    check_k,
    check_metric_domain,
    clean_points,
    check_bound,
    check_eps,
    check_radius,
    check_ranks,
    check_seed,
    delete_error,
    effective_n_jobs,
    metric_vector,
    parse_tree_metric,
    parse_search,
    parse_device,
    check_device,
)
from .exceptions import ReadOnlyError

__all__ = ["CoverTree", "BruteForceIndex", "TreeStructure", "LevelCover", "ReadOnlyError", "build_index"]

_MINKOWSKI = METRICS["minkowski"]


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


class LevelCover(NamedTuple):
    """The centers of a cover of the tree at a level (see
    :meth:`CoverTree.cover` and :meth:`CoverTree.centers_near`), one entry
    per center."""

    ids: np.ndarray
    """int64: the center's id (the smallest id among identical points)."""
    points: np.ndarray
    """The centers' coordinates, (n_centers, n_features) in the tree's
    dtype, as the tree stores them (unit vectors under the cosine metric)."""
    counts: np.ndarray
    """int64: the points the center stands for (its own and those below it
    that are not under another center); they sum to n_samples."""
    weights: np.ndarray
    """float64: counts / n_samples, the fraction of the points in the
    center's cell; they sum to 1."""
    radii: np.ndarray
    """float64: a bound on the distance from the center to each of its
    points (below 2**(level+1))."""
    distances: np.ndarray
    """float64: the distance from the query point (centers_near), nearest
    first; zeros for cover."""


class CoverTree(CKDTreeMixin):
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
        "chebyshev" ("infinity"), "minkowski" (power ``p``, weights ``w``
        in ``metric_params``), "cosine" (1 - cosine similarity; zero
        vectors are refused), "haversine" (great-circle distance on the
        unit sphere between (latitude, longitude) pairs in radians),
        "seuclidean" (variances ``V``), "mahalanobis" (``V`` or ``VI``),
        "canberra", "hamming", or on boolean data "jaccard",
        "rogerstanimoto", "sokalmichener", "sokalsneath" (computed as
        scikit-learn's DistanceMetric computes them); or a scikit-learn
        DistanceMetric object, or a Python function
        ``f(a, b, **metric_params) -> float`` (slow: Go calls it for every
        distance; see the README).
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
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where queries run. "cpu": the tree's search. "cuda": an exact brute
        force on the GPU (the CUDA build of pcct on a machine with an NVIDIA
        driver and GPU; otherwise ValueError, saying why), which returns the
        same indices and distances as the CPU. "auto": the GPU when one is
        usable and the batch is large enough to pay (about 2^31 coordinate
        comparisons: queries x points x features), else the CPU. The GPU
        computes euclidean, cosine, manhattan and chebyshev; other metrics
        run on the CPU under "auto" and raise ValueError under "cuda".
        Builds and updates run on the CPU. See :func:`pcct.gpu_available`.
    ids : array-like of int, default=None
        Ids of your choosing for the rows of ``X`` (as faiss's
        ``add_with_ids``): int64, >= 0, distinct. Every answer then names
        the points by them. None: the row numbers 0..n-1.
    metric_params : dict, default=None
        The metric's parameters: ``"w"`` (minkowski weights, one per
        feature, > 0), ``"V"`` (seuclidean: variances, one per feature, >
        0; mahalanobis: covariance matrix) or ``"VI"`` (mahalanobis: its
        inverse, symmetric positive definite).

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
        "minkowski", "cosine", "haversine", "seuclidean", ...).
    metric_params : dict or None
        The metric's parameters, as given.
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
                 verbose=False, device="auto", ids=None, metric_params=None):
        code, p, mparams = parse_tree_metric(metric, p, metric_params)
        if code == CUSTOM and self._algorithm != "cover_tree":
            raise ValueError(
                f"{type(self).__name__} cannot use a Python function as its metric: Go "
                "calls one back through a cover tree only. Build a CoverTree with it."
            )
        parse_search(search)
        parse_device(device)
        check_device(device, code, p, "CoverTree", weighted=mparams.get("w") is not None)
        self.n_jobs = n_jobs
        jobs = self._jobs()  # validate early
        seed = check_seed(seed)
        if not clean_points(X):  # else already what the checks would return
            X = as_float(check_array(
                X,
                dtype=POINTS_DTYPE,
                order="C",
                input_name="X",
                estimator="CoverTree",
            ))
        check_metric_domain(code, X)
        vector = metric_vector(code, p, mparams, X.shape[1], "CoverTree")
        if ids is not None:
            ids = check_new_ids(ids, X.shape[0], np.empty(0, dtype=np.int64))
        func = _metric_function(metric) if code == CUSTOM else None
        self._init(X.dtype, X.shape[1], code, p, seed, search, False, verbose, device, mparams,
                   func)
        self._version = self._build(X, jobs, ids=ids, params=vector)

    def _init(self, dtype, n_features, code, p, seed, search, read_only, verbose=False,
              device="auto", metric_params=None, func=None):
        self.dtype = np.dtype(dtype)
        self.n_features = int(n_features)
        self.metric = func if code == CUSTOM else METRIC_NAMES[code]
        # A Python function's callback for Go (see _callback.py).
        self._pymetric = PyMetric(func, metric_params, dtype) if code == CUSTOM else None
        self.p = float(p)
        self.metric_params = metric_params or None
        self._code = code
        self.seed = seed
        self.search = search
        self.verbose = verbose
        self.device = device
        self._read_only = bool(read_only)
        self._lock = threading.Lock()

    # The index the class holds (a key of _handle.ALGORITHMS).
    _algorithm = "cover_tree"

    def _build(self, X, jobs, verbose=None, ids=None, params=None):
        version, _ = _handle.build(X, self._code, self.p, self.seed, jobs,
                                   self._verbose(verbose), self._algorithm, ids, params,
                                   self._pymetric)
        return version

    def _need_tree(self, what):
        """Raise TypeError unless this index is a cover tree, which ``what``
        (a join, a bounded search) needs."""
        if self._algorithm != "cover_tree":
            raise TypeError(
                f"A {type(self).__name__} has no tree, which {what} needs. Build a CoverTree "
                "(or fit the estimator with algorithm='cover_tree') over the points."
            )

    @classmethod
    def _from_checked(cls, X, code, p, n_jobs, seed, search="depth_first", verbose=False,
                      device="auto", metric_params=None, func=None):
        """Build from an already validated C-contiguous float array, with the
        metric's parameters (checked for X's features here), or the Python
        function ``func`` (code CUSTOM) with its keyword arguments."""
        self = cls.__new__(cls)
        self.n_jobs = n_jobs
        mparams = _index_params(code, metric_params)
        vector = metric_vector(code, p, mparams, X.shape[1], type(self).__name__)
        self._init(X.dtype, X.shape[1], code, p, seed, search, False, verbose, device, mparams,
                   _metric_function(func) if code == CUSTOM else None)
        self._version = self._build(X, self._jobs(), params=vector)
        return self

    @classmethod
    def _wrap(cls, version, dtype, n_features, code, p, n_jobs, seed, search, verbose,
              metric_params=None):
        """An index of this class over an existing version, built with the
        metric's parameters ``metric_params`` (not a Python function's)."""
        self = cls.__new__(cls)
        self.n_jobs = n_jobs
        self._init(dtype, n_features, code, p, seed, search, False, verbose,
                   metric_params=metric_params)
        self._version = version
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
            "device": self.device,
            "read_only": self._read_only,
            "metric_params": self.metric_params,
            **({"function": self.metric} if self._code == CUSTOM else {}),
            **self._ids_state(),
            "algorithm": self._algorithm,
        }

    def _ids_state(self):
        """The caller-chosen ids of the current version, for :meth:`_state`:
        ``labels`` (the id of each of the Go tree's points) and ``n_ids``;
        nothing when the ids are the Go tree's own."""
        v = self._v  # a TreeVersion or a PendingVersion: both carry them
        return {} if v.labels is None else {"labels": v.labels, "n_ids": v.n_ids}

    @classmethod
    def _restore(cls, buf, state, lazy=False):
        """A tree from its binary encoding and the state of :meth:`_state`;
        ValueError if the two disagree or the encoding is damaged.

        With ``lazy`` (unpickling), the encoding's checksum and header are
        checked in Python and the tree is decoded by Go on first use, so
        that unpickling needs no Go runtime (see
        :class:`pcct._handle.PendingVersion`).
        """
        try:
            dtype = np.dtype(state["dtype"])
            code = int(state["metric"])
            p = float(state["p"])
            dtype_code = DTYPES[dtype]
            n_features = int(state["n_features"])
            seed = int(state["seed"])
            search = state["search"]
            parse_search(search)
            read_only = bool(state["read_only"])
            n_jobs = state["n_jobs"]
            verbose = state.get("verbose", False)
            device = state.get("device", "auto")
            parse_device(device)
            effective_n_jobs(n_jobs)
            if code not in METRIC_NAMES:
                raise ValueError(f"metric code {code}")
            metric_params = state.get("metric_params")
            if metric_params is not None and not isinstance(metric_params, dict):
                raise ValueError(f"metric_params {metric_params!r}")
            func = state["function"] if code == CUSTOM else None
            if code == CUSTOM and not callable(func):
                raise ValueError(f"metric function {func!r}")
            labels, n_ids = _handle.saved_labels(state)
            algorithm = state.get("algorithm", "cover_tree")
            if algorithm not in _INDEX_CLASSES:
                raise ValueError(f"algorithm {algorithm!r}")
            if code == CUSTOM and algorithm != "cover_tree":
                raise ValueError("a Python function metric on a brute-force index")
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise ValueError(f"pcct: not a valid saved CoverTree state ({e!r}).") from None
        cls = _INDEX_CLASSES[algorithm]
        expected = (n_features, dtype_code, code, p if code == _MINKOWSKI else None)

        def check(found):
            if found != expected:
                raise ValueError(
                    "pcct: the encoded tree does not match its saved state "
                    f"(dim {found[0]}, dtype {found[1]}, metric {found[2]} with p={found[3]} "
                    f"in the tree; {expected[0]}, {expected[1]}, {expected[2]} with "
                    f"p={expected[3]} in the state)."
                )

        head = _handle.read_encoding_header(buf)
        check((head.dim, head.dtype_code, head.metric, head.p if head.metric == _MINKOWSKI else None))
        if head.algorithm != algorithm:
            raise ValueError(
                f"pcct: the encoding holds a {head.algorithm} index, but its saved state "
                f"says {algorithm}."
            )

        def check_decoded(version):
            kind, vp = version.metric()
            check((version.n_features, DTYPES[version.dtype], kind,
                   vp if kind == _MINKOWSKI else None))

        self = cls.__new__(cls)
        self.n_jobs = n_jobs
        self._init(dtype, n_features, code, p, seed, search, read_only, verbose, device,
                   metric_params, func)
        if lazy:
            version = _handle.PendingVersion(buf, dtype_code, check_decoded, labels, n_ids,
                                             self._pymetric)
        else:
            version = TreeVersion.decode(buf, dtype_code, labels, n_ids, self._pymetric)
            check_decoded(version)
        self._version = version
        return self

    @property
    def _version(self):
        """The current version (decoding a pending one first)."""
        v = self._v
        if type(v) is _handle.PendingVersion:
            v = v.get()
            self._v = v
        return v

    @_version.setter
    def _version(self, version):
        self._v = version

    def __reduce__(self):
        v = self._v
        buf = v.encoded() if type(v) is _handle.PendingVersion else None
        if buf is None:
            buf = self._version.encode()
        return (_restore_tree, (buf, self._state()))

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
        check_savable(self._code, type(self).__name__)
        _format.write(file, "tree", self._version.encode(),
                      {"dtype": self.dtype.name, "tree": self._state()}, type(self).__name__)

    def __repr__(self):
        metric = self.metric if self.metric != "minkowski" else f"minkowski(p={self.p:g})"
        if self._code == CUSTOM:
            metric = getattr(self.metric, "__name__", repr(self.metric))
        elif self.metric_params:
            metric += "(" + ", ".join(sorted(self.metric_params)) + ")"
        extra = ""
        if self.search != "depth_first":
            extra += f", search={self.search}"
        if self.device != "auto":
            extra += f", device={self.device}"
        if self._read_only:
            extra += ", read_only=True"
        try:
            n_samples = self.n_samples
        except ForkedChildError:
            n_samples = "unknown: not decoded in this forked process"
        return (
            f"{type(self).__name__}(n_samples={n_samples}, n_features={self.n_features}, "
            f"dtype={self.dtype.name}, metric={metric}{extra})"
        )

    def _jobs(self):
        return effective_n_jobs(self.n_jobs)

    def _strategy(self):
        return parse_search(self.search)

    def _device(self):
        return parse_device(self.device)

    def _verbose(self, verbose=None):
        return bool(self.verbose if verbose is None else verbose)

    # -- conversion ------------------------------------------------------

    def _check_queries(self, X, name="X"):
        if clean_points(X, self.dtype, self.n_features):
            # Already what check_array would return (it costs about 0.1 ms
            # a call, most of a single query's time); anything else, bad
            # input included, goes through it for its checks and messages.
            check_metric_domain(self._code, X, name)
            return X
        X = as_float(check_array(
            X,
            dtype=POINTS_DTYPE,
            order="C",
            input_name=name,
            estimator="CoverTree",
        ), self.dtype, name)
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but CoverTree is expecting "
                f"{self.n_features} features as input."
            )
        check_metric_domain(self._code, X, name)
        return X

    def _chunk(self, jobs):
        return _search.chunk_rows(jobs)

    # -- updates -------------------------------------------------------------

    def _check_writable(self, what):
        if self._read_only:
            raise ReadOnlyError(
                f"This {type(self).__name__} is a read-only snapshot: {what} is not "
                "allowed. Update the live tree the snapshot was taken from."
            )

    def insert(self, X, ids=None):
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
        ids : array-like of int, default=None
            Ids of your choosing for the new points, as faiss's
            ``add_with_ids`` takes them: one per row, int64, >= 0, distinct,
            and none of them live in the tree (a deleted id may be given
            again: delete and insert replace a point). Every answer then
            names the points by these ids. None: the next unused ids (one
            past the largest id ever issued, and up).

        Returns
        -------
        ids : ndarray of shape (n_points,), int64
            The ids of the new points, in the order of the rows of ``X``.

        Raises
        ------
        ReadOnlyError
            If the tree is a snapshot.
        ValueError
            If ``X`` is empty, not finite, has the wrong number of features,
            or spans too wide a range for float64 distances; or if ``ids``
            has the wrong length, a negative or repeated id, or an id the
            tree holds. Nothing is inserted then.
        """
        self._check_writable("insert")
        X = self._check_queries(X)
        return self._insert_checked(X, self._jobs(), ids=ids)

    def _insert_checked(self, X, jobs, verbose=None, ids=None):
        """Insert checked C-contiguous rows of the tree's dtype, with the
        caller's ids (unchecked) or the next unused ones."""
        with self._lock:
            v = self._version
            if ids is not None:
                ids = check_new_ids(ids, X.shape[0], v.live_ids())
            new, new_ids = v.insert(X, jobs, self._verbose(verbose), ids)
            self._version = new
        return new_ids

    def points(self, ids):
        """Return the stored points of these ids (faiss's ``reconstruct``).

        Parameters
        ----------
        ids : int or array-like of int
            Live ids.

        Returns
        -------
        X : ndarray of shape (len(ids), n_features), the tree's dtype
            Row i is the point with id ``ids[i]``, as the tree stores it:
            the coordinates given, except under ``metric="cosine"``, whose
            tree stores the points scaled to unit length. For one int id, a
            1-D array.

        Raises
        ------
        ValueError
            If an id is not live (never issued, or deleted), naming it.
        """
        one = np.ndim(ids) == 0
        X = self._version.points(check_ids(ids))
        return X[0] if one else X

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
        self._delete_checked(check_ids(ids), self._jobs())
        return self

    def _delete_checked(self, ids, jobs, verbose=None):
        """Delete a checked C-contiguous int64 array of ids."""
        if ids.size == 0:
            return
        with self._lock:
            v = self._version
            try:
                new = v.delete(ids, jobs, self._verbose(verbose))
            except ValueError as e:
                raise delete_error(v.live_ids(), v.n_ids, ids) or e from None
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

    def _kneighbors(self, X, k, jobs, strategy=None, version=None, ids=None, verbose=None,
                    what="query", extra=0, device=None, eps=0.0):
        """k nearest neighbours of the rows of X (checked, C-contiguous, in
        the tree's dtype), or, when X is None, of the tree's own points
        ``ids`` (default: every live id, ascending), each left out of its
        own answer, on ``version`` (default: the current one). See
        :func:`pcct._search.kneighbors`."""
        v = self._version if version is None else version
        strategy = self._strategy() if strategy is None else strategy
        device = self._device() if device is None else device
        return _search.kneighbors(v, X, k, jobs=jobs, strategy=strategy, ids=ids,
                                  verbose=self._verbose(verbose), what=what, extra=extra,
                                  device=device, eps=eps)

    def _radius(self, X, r, sort, jobs, version=None, ids=None, counts_only=False, verbose=None,
                what="query_radius", extra=0, device=None):
        """Points within distance r (d <= r) of the rows of X, or of the
        tree's own points (as in _kneighbors) when X is None: (counts, dist,
        ind), the answers of all queries concatenated. See
        :func:`pcct._search.radius`."""
        v = self._version if version is None else version
        device = self._device() if device is None else device
        return _search.radius(v, X, r, sort=sort, jobs=jobs, ids=ids, counts_only=counts_only,
                              verbose=self._verbose(verbose), step=self._chunk(jobs), what=what,
                              extra=extra, device=device)

    # -- public API --------------------------------------------------------

    def _check_points(self, X):
        """Query points as checked rows, and whether X was one point (a 1-D
        array of n_features values, answered without the query axis)."""
        one = not hasattr(X, "tocsr") and np.ndim(X) == 1
        if one:
            X = np.asarray(X)[np.newaxis, :]
        return self._check_queries(X), one

    def query(self, X, k=1, return_distance=True, eps=0.0, distance_upper_bound=None):
        """Find the k nearest neighbours of each row of X.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features) or (n_features,)
            Query points, converted to the tree's dtype. A 1-D array is one
            point: the answers then have no query axis.
        k : int or list of int, default=1
            The number of neighbours, 1 <= k <= n_samples; or, as in scipy's
            cKDTree, a list of ranks counting from 1 (``[1, 5, 10]``: the
            nearest, the 5th and the 10th nearest), answered in that order.
        return_distance : bool, default=True
            Whether to return the distances too.
        eps : float, default=0.0
            Approximate search, as in :meth:`scipy.spatial.cKDTree.query`:
            the j-th neighbour returned is at most ``1 + eps`` times as far
            as the true j-th (subtrees are skipped once they cannot hold a
            point nearer than the k-th distance found so far divided by
            ``1 + eps``). 0, the default, is exact. It needs
            ``search="depth_first"`` unless ``distance_upper_bound`` is
            given; a brute-force index always answers exactly.
        distance_upper_bound : float, default=None
            As in scipy's cKDTree: only neighbours nearer than this (d <
            bound) are returned, and the search prunes with it from its
            first step. A query with fewer such neighbours gets distance
            ``inf`` and index ``n_ids`` (one past every id, scipy's ``n``)
            in its remaining slots, so k may then exceed ``n_samples``.
            Answered on the CPU whatever the device, by a cover tree only
            (a :class:`BruteForceIndex` raises TypeError), depth first
            whatever ``search`` says. With ``eps`` > 0 as well, subtrees are
            pruned against the bound divided by ``1 + eps`` too, as scipy
            does: a slot may then stay empty where the true neighbour lies
            within a factor ``1 + eps`` of the bound.

        Returns
        -------
        dist : ndarray of shape (n_queries, k), the tree's dtype
            Distances, nearest first; only with ``return_distance=True``.
        ind : ndarray of shape (n_queries, k), int64
            Ids of the neighbours; ties in distance are ordered by id.
        """
        X, one = self._check_points(X)
        eps = check_eps(eps)
        if eps > 0 and self.search != "depth_first" and distance_upper_bound is None:
            raise ValueError(
                f"eps={eps:g} (approximate search) needs search='depth_first', not "
                f"{self.search!r}: set_params or build the tree with search='depth_first'."
            )
        v = self._version
        ranks = check_ranks(k)
        kmax = int(ranks.max()) if ranks is not None else k
        if distance_upper_bound is None:
            kmax = check_k(kmax, v.n_samples)
            dist, ind = self._kneighbors(X, kmax, self._jobs(), version=v, eps=eps)
        else:
            bound = check_bound(distance_upper_bound)
            self._need_tree("a search below distance_upper_bound")
            kmax = check_k(kmax, math.inf)  # any k: slots beyond the points are empty
            dist, ind = _search.kneighbors_bound(v, X, kmax, bound, jobs=self._jobs(),
                                                 verbose=self._verbose(), eps=eps)
            ind[ind < 0] = v.n_ids
        if ranks is not None:
            dist, ind = dist[:, ranks - 1], ind[:, ranks - 1]
        if one:
            dist, ind = dist[0], ind[0]
        return (dist, ind) if return_distance else ind

    def query_radius(self, X, r, return_distance=False, count_only=False, sort_results=False):
        """Find the points within distance r (d <= r) of each row of X.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features) or (n_features,)
            Query points, converted to the tree's dtype. A 1-D array is one
            point: the answers then have no query axis.
        r : float or array-like of shape (n_queries,)
            The radius, >= 0: one for every query, or one per query (as in
            KDTree; answered on the CPU whatever the device).
        return_distance : bool, default=False
            Whether to return the distances too.
        count_only : bool, default=False
            Return only the number of neighbours of each query.
        sort_results : bool, default=False
            Order each query's neighbours by distance, then id (needs
            ``return_distance=True``). Otherwise they come by ascending id.

        Returns
        -------
        count : ndarray of shape (n_queries,), int64
            With ``count_only=True`` (an int for one 1-D point).
        ind : ndarray of shape (n_queries,), dtype object
            Each element an int64 array of ids (for one 1-D point, that
            array).
        dist : ndarray of shape (n_queries,), dtype object
            Each element an array of distances; only with
            ``return_distance=True``. As in KDTree, returned after ``ind``.
        """
        if count_only and return_distance:
            raise ValueError("count_only and return_distance cannot both be true")
        if sort_results and not return_distance:
            raise ValueError("return_distance must be True if sort_results is True")
        X, one = self._check_points(X)
        r = check_radius(r, n_queries=X.shape[0])
        counts, dist, ind = self._radius(X, r, sort_results, self._jobs(), counts_only=count_only)
        if count_only:
            return int(counts[0]) if one else counts
        if one:
            return (ind, dist) if return_distance else ind
        ind_obj = _search.split_object(ind, counts)
        if return_distance:
            return ind_obj, _search.split_object(dist, counts)
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
            queries on this version so far), queries (the queries answered
            on this version through Python: k-nearest, radius and counts),
            evaluations_per_query (their ratio: the floor a faster search
            would have to beat), algorithm ("cover_tree", or "brute" for a
            :class:`BruteForceIndex`, which has no levels and counts each
            point screened as an evaluation), nodes_per_level (level ->
            node count), and the memory the version refers to: bytes (in
            all), bytes_per_point (bytes / points), and where they go:
            bytes_nodes (the node records, each with its smallest id),
            bytes_points (the coordinates), bytes_kids (child lists),
            bytes_groups (per-level summaries of the children), bytes_ids
            (the ids of nodes that hold several: identical points) and
            bytes_id_map (from id to node). Versions share what they did not
            change (snapshots, versions before and after an update), so
            their bytes overlap; the Go runtime's own overhead and freed
            memory not yet returned are not counted. search_layout_built
            says whether the version holds its search layout, a copy of the
            tree laid out for k-nearest queries: the version makes it once
            its k-nearest queries (in one call or several) reach 1/64 of its
            nodes, keeps it for every later query and frees it with the
            version; an update makes a new version, which starts without
            one. search_layout_bytes is its size (0 until made, and for a
            :class:`BruteForceIndex`), counted in bytes once made.

        See Also
        --------
        structure : Every node, with its level and parent.
        pcct.plotting.plot_levels : A bar chart of ``nodes_per_level``.
        """
        s = self._version.stats()
        s["dtype"] = DTYPE_OF_CODE.get(s["dtype"], s["dtype"]).name
        s["metric"] = METRIC_NAMES.get(s["metric"], s["metric"])
        s["algorithm"] = self._version.algorithm
        s["evaluations_per_query"] = s["query_distance_evaluations"] / max(s["queries"], 1)
        s["search_layout_built"] = bool(s["search_layout_built"])
        s["bytes"] = sum(v for k, v in s.items() if k.startswith("bytes_")) + s["search_layout_bytes"]
        s["bytes_per_point"] = s["bytes"] / max(s["points"], 1)
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
        return TreeStructure(*self._version.structure())


    def _centers(self, version, ids, counts, radii, dists):
        n = version.n_samples
        weights = counts / n if n else np.zeros(0)
        return LevelCover(ids, _cluster.points(version, ids), counts, weights, radii, dists)

    def cover(self, level):
        """Return the cover of the tree at a level: its nodes of that level
        and above, each with the share of the points it stands for.

        The nodes of level >= ``level`` (the root always among them) form a
        ``2**level``-net of the points: they are pairwise more than
        ``2**level`` apart, and every point lies within ``2**(level+1)`` of
        the center that stands for it, its nearest ancestor among them in
        the tree (or itself). Weighted by the share of the points under
        each, the centers summarise the data at that scale: a weighted
        epsilon-cover, coarser as the level grows; above the root's level
        the root alone stands for everything. The work is proportional to
        the number of centers.

        Parameters
        ----------
        level : int
            The level i (see :meth:`structure` and ``stats()['min_level']``
            and ``['max_level']``).

        Returns
        -------
        cover : LevelCover
            A named tuple, one entry per center, parents before children:
            ``ids``, ``points``, ``counts``, ``weights`` (counts /
            n_samples), ``radii`` (a bound on the distance from the center
            to its points) and ``distances`` (zeros).

        See Also
        --------
        centers_near : The centers of a cover near a point.

        Examples
        --------
        >>> import numpy as np
        >>> from pcct import CoverTree
        >>> tree = CoverTree(np.array([[0.0], [0.1], [4.0], [4.2]]))
        >>> c = tree.cover(1)
        >>> len(c.ids), c.counts.tolist(), float(c.weights.sum())
        (2, [2, 2], 1.0)
        """
        level = _check_level(level)
        version = self._version
        ids, counts, radii = _cluster.cover(version, level)
        return self._centers(version, ids, counts, radii, np.zeros(ids.size))

    def centers_near(self, c, level, max_distance):
        """Return the centers of the cover at a level within a distance of
        a point, nearest first.

        Parameters
        ----------
        c : array-like of shape (n_features,)
            The point.
        level : int
            The cover's level (see :meth:`cover`).
        max_distance : float
            The largest distance (``d <= max_distance``), in the metric's
            units; may be ``inf``.

        Returns
        -------
        centers : LevelCover
            The centers of ``cover(level)`` within ``max_distance`` of
            ``c``, ordered by distance (ties by id), with their distances
            in ``distances``. The search prunes with the tree's subtree
            radii, so it measures only the centers within reach and the
            nodes above them.

        Examples
        --------
        >>> import numpy as np
        >>> from pcct import CoverTree
        >>> tree = CoverTree(np.array([[0.0], [0.1], [4.0], [4.2]]))
        >>> near = tree.centers_near([3.0], 1, 2.0)
        >>> near.counts.tolist(), bool(near.distances[0] <= 2.0)
        ([2], True)
        """
        level = _check_level(level)
        max_distance = check_radius(max_distance, "max_distance")
        q = np.asarray(c)
        if q.ndim != 1:
            raise ValueError(
                f"c must be one point, a 1-D array-like of {self.n_features} coordinates; "
                f"got an array of shape {q.shape}."
            )
        q = self._check_queries(q.reshape(1, -1), name="c")[0]
        version = self._version
        ids, counts, radii, dists = _cluster.centers_near(version, q, level, max_distance)
        return self._centers(version, ids, counts, radii, dists)


def _check_level(level):
    """A cover level as an int (ValueError if it is not an integer)."""
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)):
        raise ValueError(f"level must be an int, got {level!r}.")
    return int(max(min(int(level), 2**62), -(2**62)))


class BruteForceIndex(CoverTree):
    """Brute-force index for exact nearest-neighbour search.

    The points, kept in Go, and every query measured against all of them:
    where a cover tree cannot prune (high dimension, data without
    low-dimensional structure) this is faster, and it costs no build.
    Euclidean and cosine distances are screened in bulk by a vector kernel
    with a proven error bound, then the candidates the bound cannot rule
    out are measured exactly. The answers are a :class:`CoverTree`'s, bit
    for bit: exact, ties ordered by id. :class:`pcct.NearestNeighbors`
    builds one for ``algorithm="brute"``, or when ``algorithm="auto"``
    finds it faster.

    It has :class:`CoverTree`'s interface and behaviour (ids, queries,
    :meth:`insert`, :meth:`delete`, :meth:`snapshot`, pickling and
    :meth:`save`, thread safety, Ctrl-C), but no tree: :meth:`structure`,
    :meth:`cover`, scipy's joins (:meth:`count_neighbors`,
    :meth:`query_pairs`, :meth:`query_ball_tree`,
    :meth:`sparse_distance_matrix`) and :meth:`query` with
    ``distance_upper_bound`` raise TypeError, :meth:`stats` reports no
    levels, and ``search`` and ``seed`` do not apply. An insertion appends the points and a deletion
    marks them (their memory is kept until the index is rebuilt); both
    copy only the blocks of 1,024 points they touch, and a snapshot shares
    everything.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points (float32 and float64 kept; other numeric input converted
        to float64).
    metric : str or DistanceMetric, default="euclidean"
        As for :class:`CoverTree`, but for a Python function (ValueError:
        Go calls one back through a cover tree only).
    p : float, default=2
        As for :class:`CoverTree`.
    n_jobs : int, default=None
        Number of goroutines answering each batch of queries (and packing
        the points): None means 1, -1 all CPUs.
    verbose : bool, default=False
        Show a progress bar for long calls.
    ids : array-like of int, default=None
        As for :class:`CoverTree`.
    metric_params : dict, default=None
        As for :class:`CoverTree`.

    Examples
    --------
    >>> import numpy as np
    >>> from pcct import BruteForceIndex
    >>> index = BruteForceIndex(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]))
    >>> index.query([[0.1, 0.0]], k=2)[1]
    array([[0, 1]])
    """

    _algorithm = "brute"

    def __init__(self, X, metric="euclidean", p=2, n_jobs=None, verbose=False, ids=None,
                 metric_params=None):
        super().__init__(X, metric=metric, p=p, n_jobs=n_jobs, verbose=verbose, ids=ids,
                         metric_params=metric_params)

    def structure(self):
        """A brute-force index has no tree structure: always raises.

        Raises
        ------
        TypeError
            Always; build a :class:`CoverTree` (or fit with
            ``algorithm="cover_tree"``) to inspect a tree.
        """
        raise TypeError(
            "A BruteForceIndex has no tree structure. Build a CoverTree (or fit the "
            "estimator with algorithm='cover_tree') to inspect one."
        )

    def cover(self, level):
        """A brute-force index has no levels: always raises.

        Raises
        ------
        TypeError
            Always; build a :class:`CoverTree` (or fit with
            ``algorithm="cover_tree"``) for its level covers.
        """
        raise TypeError(
            "A BruteForceIndex has no levels, hence no level covers. Build a CoverTree "
            "(or fit the estimator with algorithm='cover_tree') to take its covers."
        )

    def centers_near(self, c, level, max_distance):
        """A brute-force index has no levels: always raises (see :meth:`cover`).

        Raises
        ------
        TypeError
            Always.
        """
        self.cover(level)


# The class of each index algorithm.
_INDEX_CLASSES = {"cover_tree": CoverTree, "brute": BruteForceIndex}


def build_index(X, code, p, n_jobs, seed, search, verbose, algorithm, metric_params=None,
                func=None):
    """The index an estimator fits over the checked rows of X (C-contiguous
    float32 or float64): a :class:`CoverTree` or a
    :class:`BruteForceIndex`, as ``algorithm`` ("auto", "cover_tree" or
    "brute") asks or, for "auto", as the library chooses, with the
    metric's parameters ``metric_params`` (V, VI or w, checked for X's
    features here). A Python function ``func`` (code CUSTOM; its keyword
    arguments in ``metric_params``) is served by a cover tree only: "auto"
    builds one, "brute" is a ValueError. Returns (index, choice), choice
    being the evidence of "auto" (else None)."""
    if code == CUSTOM:
        if algorithm == "brute":
            raise ValueError(
                "algorithm='brute' cannot use a Python function as the metric: Go calls one "
                "back through a cover tree only. Use algorithm='cover_tree' or 'auto' (which "
                "builds a cover tree for it)."
            )
        tree = CoverTree._from_checked(X, code, p, n_jobs, seed, search, verbose,
                                       metric_params=metric_params, func=func)
        return tree, None
    mparams = _index_params(code, metric_params)
    vector = metric_vector(code, p, mparams, X.shape[1], "CoverTree")
    version, choice = _handle.build(X, code, p, seed, effective_n_jobs(n_jobs), bool(verbose),
                                    algorithm, params=vector)
    cls = _INDEX_CLASSES[version.algorithm]
    index = cls._wrap(version, X.dtype, X.shape[1], code, p, n_jobs, seed, search, verbose,
                      mparams)
    return index, choice


def _index_params(code, metric_params):
    """The metric parameters an index keeps of an estimator's
    ``metric_params``: a Python function's keyword arguments, else V, VI
    and w where given."""
    if code == CUSTOM:
        return dict(metric_params or {})
    return {k: v for k, v in (metric_params or {}).items()
            if k in ("w", "V", "VI") and v is not None}


def _metric_function(metric):
    """The Python function of a metric: the callable itself, or that of a
    DistanceMetric("pyfunc")."""
    if callable(metric):
        return metric
    return metric.__getstate__()[3]


def _restore_tree(buf, state):
    """Unpickle a CoverTree or BruteForceIndex (see CoverTree.__reduce__):
    checked, then decoded on first use."""
    return CoverTree._restore(buf, state, lazy=True)
