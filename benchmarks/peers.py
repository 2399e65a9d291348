"""One adapter per peer: the same three questions asked of every library.

- ``fit(X)``: build the index (timed as build seconds).
- ``knn(Q, k)``: the k nearest neighbours, sorted, as (dist, ind) arrays.
  ``Q=None`` means every fitted point queried, each point's neighbours
  among the *others* (scikit-learn's ``kneighbors(X=None)``). A peer without
  such a mode is queried with the data and k+1, and its self match is
  dropped inside the timed call (the row's own index where it appears, else
  the last column: with duplicates the point itself may tie with a copy).
- ``radius(Q, r)``: all neighbours within r, in the peer's own output form;
  ``radius_rows`` turns it into counts and index arrays afterwards (not
  timed). With Q=None a peer without an X=None mode lists the point itself,
  which the untimed normalisation removes.

Imports happen inside the adapters, so a worker needs only numpy and the
one peer it runs.
"""

from __future__ import annotations

import os

import numpy as np


class Unavailable(Exception):
    """The peer cannot run here (not installed, or no such operation)."""


def drop_self(dist, ind, k):
    """From a (m x k+1) self-inclusive answer over the fitted points, drop
    each row's own index (or its last column when the row does not name
    itself because duplicates of the point filled the row)."""
    m = len(ind)
    mask = ind == np.arange(m)[:, None]
    mask[~mask.any(axis=1), -1] = True
    keep = ~mask
    return dist[keep].reshape(m, k), ind[keep].reshape(m, k)


class Peer:
    name = "?"
    dtype = np.float64
    threads_note = ""  # how the thread count applies to this peer
    self_mode = "native"  # how knn(None, k) excludes self

    def __init__(self, threads: int, options: dict):
        self.threads = threads
        self.options = options

    def version(self) -> str:
        return ""

    def fit(self, X):
        raise NotImplementedError

    def knn(self, Q, k):
        raise NotImplementedError

    def radius(self, Q, r):
        raise Unavailable("no radius query")

    def radius_rows(self, out, Q_is_none):
        """(counts, list of index arrays) from the peer's radius output."""
        raise NotImplementedError

    def variants(self):
        """Labels of the configurations measured on one build."""
        return [self.label]

    def use_variant(self, label):
        pass


class _NeighborsAPI(Peer):
    """A peer with scikit-learn's NearestNeighbors interface in self.nn."""

    def knn(self, Q, k):
        return self.nn.kneighbors(Q, k)

    def radius(self, Q, r):
        return self.nn.radius_neighbors(Q, r, return_distance=False)

    def radius_rows(self, out, Q_is_none):
        return np.array([len(a) for a in out], dtype=np.int64), list(out)


class Pcct(_NeighborsAPI):
    """pcct's NearestNeighbors with one ``algorithm``: "auto" (the default
    estimator, label "pcct"), "cover_tree" or "brute". On a cover tree one
    build also serves the corrected search and an approximate search
    (``eps``, through CoverTree.query, as cKDTree's: k+1 neighbours of the
    data with the self match dropped for all points), each its own label.
    A pcct without the parameters measures what it has."""

    threads_note = "n_jobs=T (goroutines), GOMAXPROCS=T"
    # The approximate variant's eps (cKDTree's meaning: the j-th neighbour
    # within 1+eps times the true j-th distance).
    EPS = 0.5

    def __init__(self, threads, options):
        super().__init__(threads, options)
        import inspect

        from pcct import NearestNeighbors

        self._cls = NearestNeighbors
        self.kw = {"n_jobs": threads}
        params = inspect.signature(NearestNeighbors).parameters
        self.has_search = "search" in params
        self.algorithm = options.get("algorithm", "auto")
        if "algorithm" in params:
            self.kw["algorithm"] = self.algorithm
        elif self.algorithm != "auto":
            raise Unavailable(f"this pcct has no algorithm={self.algorithm!r}")
        self.eps = 0.0

    def variants(self):
        if self.algorithm == "cover_tree" and self.has_search:
            return [self.label, "pcct corrected", f"pcct eps={self.EPS:g}"]
        return [self.label]

    def variant_eps(self, label):
        """The eps of a variant (0: exact)."""
        return self.EPS if label.startswith("pcct eps=") else 0.0

    def use_variant(self, label):
        self.eps = self.variant_eps(label)
        if self.has_search:
            self.nn.set_params(search="corrected" if label == "pcct corrected" else "depth_first")

    def knn(self, Q, k):
        if not self.eps:
            return self.nn.kneighbors(Q, k)
        tree = self.nn.tree_
        if Q is None:
            d, i = tree.query(self.X, k + 1, eps=self.eps)
            return drop_self(d, i, k)
        return tree.query(Q, k, eps=self.eps)

    def algorithm_used(self):
        """The index the fit built ("cover_tree" or "brute")."""
        return getattr(self.nn, "effective_algorithm_", "cover_tree")

    def version(self):
        import pcct

        return getattr(pcct, "__version__", "?")

    def fit(self, X):
        self.X = X
        self.nn = self._cls(**self.kw).fit(X)

    def evaluations(self):
        return int(self.nn.tree_.stats()["query_distance_evaluations"])

    def build_evaluations(self):
        return int(self.nn.tree_.stats().get("build_distance_evaluations", -1))

    def index_bytes(self):
        """The bytes the tree refers to, as pcct counts them (stats()["bytes"]),
        or None for a pcct without the count."""
        b = self.nn.tree_.stats().get("bytes")
        return None if b is None else int(b)


class Sklearn(_NeighborsAPI):
    threads_note = "n_jobs=T; BLAS/OpenMP limited to T threads (threadpoolctl)"

    def __init__(self, threads, options):
        super().__init__(threads, options)
        from sklearn.neighbors import NearestNeighbors

        self._cls = NearestNeighbors
        self.algorithm = options["algorithm"]
        self.name = f"sklearn {self.algorithm}"

    def version(self):
        import sklearn

        return sklearn.__version__

    def fit(self, X):
        self.nn = self._cls(algorithm=self.algorithm, n_jobs=self.threads).fit(X)



class CKDTree(Peer):
    name = "scipy cKDTree"
    threads_note = "workers=T (queries; the build is sequential)"
    self_mode = "k+1, self dropped (timed)"

    def version(self):
        import scipy

        return scipy.__version__

    def __init__(self, threads, options):
        super().__init__(threads, options)
        from scipy.spatial import cKDTree

        self._cls = cKDTree

    def fit(self, X):
        self.X = X
        self.tree = self._cls(X)

    def knn(self, Q, k):
        if Q is None:
            d, i = self.tree.query(self.X, k + 1, workers=self.threads)
            return drop_self(d.reshape(len(self.X), k + 1), i.reshape(len(self.X), k + 1), k)
        d, i = self.tree.query(Q, k, workers=self.threads)
        return d.reshape(len(Q), k), i.reshape(len(Q), k)

    def radius(self, Q, r):
        return self.tree.query_ball_point(self.X if Q is None else Q, r, workers=self.threads,
                                          return_sorted=False)

    def radius_rows(self, out, Q_is_none):
        rows = [np.asarray(a, dtype=np.int64) for a in out]
        if Q_is_none:
            rows = [a[a != i] for i, a in enumerate(rows)]
        return np.array([len(a) for a in rows], dtype=np.int64), rows


class Faiss(Peer):
    name = "faiss IndexFlatL2"
    dtype = np.float32
    threads_note = "faiss.omp_set_num_threads(T); float32 (faiss computes in float32)"
    self_mode = "k+1, self dropped (timed)"

    def __init__(self, threads, options):
        super().__init__(threads, options)
        import faiss

        self.faiss = faiss
        faiss.omp_set_num_threads(threads)

    def version(self):
        return self.faiss.__version__

    def fit(self, X):
        self.X = np.ascontiguousarray(X, dtype=np.float32)
        self.index = self.faiss.IndexFlatL2(X.shape[1])
        self.index.add(self.X)

    def knn(self, Q, k):
        if Q is None:
            D, I = self.index.search(self.X, k + 1)
            return drop_self(np.sqrt(D), I, k)
        D, I = self.index.search(np.ascontiguousarray(Q, dtype=np.float32), k)
        return np.sqrt(D), I

    def radius(self, Q, r):
        q = self.X if Q is None else np.ascontiguousarray(Q, dtype=np.float32)
        return self.index.range_search(q, float(r) * float(r))

    def radius_rows(self, out, Q_is_none):
        lims, _, I = out
        rows = [I[lims[i]:lims[i + 1]].astype(np.int64) for i in range(len(lims) - 1)]
        if Q_is_none:
            rows = [a[a != i] for i, a in enumerate(rows)]
        return np.array([len(a) for a in rows], dtype=np.int64), rows


class Mlpack(Peer):
    name = "mlpack cover"
    threads_note = "1 thread: mlpack's knn is sequential"
    self_mode = "k+1, self dropped (timed); see the note on mlpack"

    def __init__(self, threads, options):
        super().__init__(threads, options)
        import mlpack

        self.mlpack = mlpack
        self.algorithm = options.get("algorithm", "dual_tree")

    def version(self):
        return self.mlpack.__version__

    def fit(self, X):
        # mlpack's Python binding builds and searches in one call; a 2-point
        # query returns the model (the cover tree on X) for little more than
        # the build. (A 1-row query matrix crashes mlpack 4.8.0.)
        self.X = X
        out = self.mlpack.knn(reference=X, tree_type="cover", k=1, query=X[:2].copy(),
                              algorithm=self.algorithm)
        self.model = out["output_model"]

    def knn(self, Q, k):
        # The monochromatic search (a model and no query) would leave the
        # point itself out, but with a saved model it crashes mlpack 4.8.0
        # (segfault); so the data are queried with k+1 like cKDTree.
        if Q is None:
            out = self.mlpack.knn(input_model=self.model, k=k + 1, query=self.X,
                                  algorithm=self.algorithm)
            return drop_self(out["distances"], out["neighbors"], k)
        out = self.mlpack.knn(input_model=self.model, k=k, query=Q, algorithm=self.algorithm)
        return out["distances"], out["neighbors"]

    def radius(self, Q, r):
        raise Unavailable("mlpack's Python package has no range-search binding")


class Covertreex(Peer):
    name = "covertreex"
    dtype = np.float32
    threads_note = "its own defaults (numba/rust threads not set by this harness)"
    self_mode = "k+1, self dropped (timed)"

    def __init__(self, threads, options):
        super().__init__(threads, options)
        import sys

        try:
            import covertreex
        except ImportError as e:
            if sys.version_info < (3, 12):
                raise Unavailable(
                    f"not installed: covertreex publishes only CPython 3.12/3.13 wheels "
                    f"(Requires-Python >= 3.12) and this is Python {sys.version.split()[0]}; "
                    "set PCCT_BENCH_COVERTREEX_PYTHON to a Python >= 3.12 with numpy and "
                    "covertreex to include it") from e
            raise

        self.cx = covertreex
        self.engine = options.get("engine") or os.environ.get("PCCT_BENCH_COVERTREEX_ENGINE")

    def version(self):
        return getattr(self.cx, "__version__", "?")

    def fit(self, X):
        self.X = np.ascontiguousarray(X, dtype=np.float32)
        kw = {"engine": self.engine} if self.engine else {}
        self.tree = self.cx.cover_tree(self.X, **kw)

    def knn(self, Q, k):
        if Q is None:
            ind, dist = self.tree.knn(k + 1, queries=self.X, return_distances=True)
            return drop_self(np.asarray(dist), np.asarray(ind), k)
        ind, dist = self.tree.knn(k, queries=np.ascontiguousarray(Q, dtype=np.float32),
                                  return_distances=True)
        return np.asarray(dist), np.asarray(ind)

    def radius(self, Q, r):
        raise Unavailable("covertreex has no radius query")


# label -> (class, options); the order is the order of the tables.
PEERS = {
    "pcct": (Pcct, {}),
    "pcct cover_tree": (Pcct, {"algorithm": "cover_tree"}),
    "pcct brute": (Pcct, {"algorithm": "brute"}),
    "sklearn kd_tree": (Sklearn, {"algorithm": "kd_tree"}),
    "sklearn ball_tree": (Sklearn, {"algorithm": "ball_tree"}),
    "sklearn brute": (Sklearn, {"algorithm": "brute"}),
    "scipy cKDTree": (CKDTree, {}),
    "faiss IndexFlatL2": (Faiss, {}),
    "mlpack cover": (Mlpack, {}),
    "covertreex": (Covertreex, {}),
}


def make(label: str, threads: int) -> Peer:
    cls, options = PEERS[label]
    try:
        peer = cls(threads, dict(options))
    except ImportError as e:
        raise Unavailable(f"not installed: {e}") from e
    peer.label = label
    return peer
