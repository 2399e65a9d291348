"""Sharded exact nearest-neighbour search on a Dask distributed cluster.

:class:`NearestNeighbors` splits the fitted points into shards, builds one
pcct tree per shard on the cluster's workers, and keeps each tree on its
worker: a query sends the query points to the shards, each shard answers
with its own k nearest neighbours (or its points within the radius), and a
merge by distance, then id, gives the exact answer over all the points.

Install with ``pip install 'pcct[dask]'`` (dask and distributed). The
estimator uses the current :class:`distributed.Client` (the one most
recently created, or the one of a ``with client:`` block).

How the trees stay put
----------------------
Each shard is one Dask future pinned to one worker (``workers=[address]``,
``allow_other_workers=False``), and every task that reads it is pinned
there too, so a tree never travels through the network (nor through the
scheduler) when it is queried. The future holds one immutable version of
the shard: an update makes a new version (pcct's trees are persistent, so
the two share all unchanged nodes) and replaces the estimator's futures
only once every shard has succeeded, so an update is atomic and a
:meth:`NearestNeighbors.snapshot` is just the set of futures of the moment.

Faults
------
A worker that dies (or leaves the cluster) takes its shards with it, and
pcct keeps no copy of the data to rebuild them from. A call that needs a
lost shard raises :class:`ShardLostError` naming the shard and its worker,
including a call that was running when the worker died; no call ever
returns an answer computed without every shard. The estimator then has to
be fitted again.
"""

from __future__ import annotations

import copy
import math
import numbers
import operator
import threading
import time
import uuid
from dataclasses import dataclass, replace

import numpy as np
from sklearn.base import BaseEstimator

try:
    import dask.array as da
    import distributed
except ImportError as e:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "pcct.dask needs dask and distributed, which are not installed "
        f"({e}). Install them with: pip install 'pcct[dask]'"
    ) from e

from ._validation import (
    check_estimator_params,
    check_ids,
    check_metric_domain,
    check_n_neighbors,
    check_radius,
    effective_n_jobs,
)
from .exceptions import InvalidParameterError, ReadOnlyError
from .neighbors import NearestNeighbors as _LocalNearestNeighbors

__all__ = ["NearestNeighbors", "ShardLostError"]

# The most query rows sent to the shards in one task when the queries are a
# numpy array (a dask array keeps its own row chunks).
_QUERY_BLOCK = 65_536


class ShardLostError(RuntimeError):
    """A shard's tree is gone: its worker died or left the cluster.

    Attributes
    ----------
    shard : int
        The index of the lost shard.
    worker : str
        The address of the worker that held it.
    """

    def __init__(self, shard, worker, n_shards, during):
        self.shard = shard
        self.worker = worker
        super().__init__(
            f"shard {shard} of {n_shards} (on worker {worker}) was lost during {during}: "
            "its worker died or left the cluster, and the shard's tree went with it. "
            "No partial answer is returned. pcct.dask keeps no copy of the data to "
            "rebuild the shard from: fit the estimator again."
        )


# -- the shard: one immutable version, living on one worker -----------------


class _Shard:
    """One shard's tree and the global ids of its points (on a worker).

    ``est`` is a fitted :class:`pcct.NearestNeighbors` whose ids are local
    (0, 1, ... in the order the shard received its points); ``gids[j]`` is
    the global id of local id j. Global ids reach a shard in increasing
    order, so ``gids`` is increasing and maps back by binary search. A
    shard is never changed: an update returns a new one.
    """

    __slots__ = ("est", "gids", "version")

    def __init__(self, est, gids, version):
        self.est = est
        self.gids = gids
        self.version = version


def _with_context(exc, context):
    """The exception exc with `context` put before its message (same type
    where the type allows it)."""
    try:
        new = type(exc)(f"{context}: {exc}")
    except Exception:
        new = RuntimeError(f"{context}: {type(exc).__name__}: {exc}")
    new.__cause__ = exc
    return new


def _shard_build(X, params, first_id, index, lo, hi):
    try:
        est = _LocalNearestNeighbors(**params).fit(X)
    except (ValueError, TypeError) as e:
        raise _with_context(e, f"shard {index} (rows {lo} to {hi - 1})") from None
    gids = np.arange(first_id, first_id + est.n_samples_fit_, dtype=np.int64)
    return _Shard(est, gids, 0)


def _writable_copy(est):
    """A writable estimator sharing est's current tree version (O(1))."""
    new = copy.copy(est)
    new.tree_ = copy.copy(est.tree_)
    return new


def _shard_insert(shard, X, first_id, index, lo, hi):
    est = _writable_copy(shard.est)
    try:
        local = est.insert(X)
    except (ValueError, TypeError) as e:
        raise _with_context(e, f"shard {index} (rows {lo} to {hi - 1} of the insertion)") from None
    expected = np.arange(len(shard.gids), len(shard.gids) + len(local))
    if not np.array_equal(local, expected):  # pragma: no cover - a library bug
        raise RuntimeError(f"pcct: shard {index} issued local ids {local[:5]}..., expected {expected[:5]}...")
    gids = np.concatenate((shard.gids, np.arange(first_id, first_id + len(local), dtype=np.int64)))
    return _Shard(est, gids, shard.version + 1)


def _shard_dead_ids(shard, gids, positions):
    """The (position, id) of the first of `gids` that is not live in the
    shard (by position in the call), or None if all are live."""
    local = np.searchsorted(shard.gids, gids)
    if np.any(local >= len(shard.gids)) or not np.array_equal(shard.gids[local], gids):
        raise RuntimeError(f"pcct: ids routed to the wrong shard ({gids[:5]}...)")  # a bug
    bad = np.flatnonzero(~np.isin(local, shard.est.ids_, assume_unique=True))
    if bad.size == 0:
        return None
    first = bad[np.argmin(positions[bad])]
    return int(positions[first]), int(gids[first])


def _shard_delete(shard, gids):
    est = _writable_copy(shard.est)
    est.delete(np.searchsorted(shard.gids, gids))
    return _Shard(est, shard.gids, shard.version + 1)


def _shard_live_ids(shard):
    return shard.gids[shard.est.ids_]


def _shard_kneighbors(shard, Q, k):
    """The shard's k nearest (or all its points, if fewer): (dist, global
    ids). Only shards with live points are asked."""
    dist, ind = shard.est.kneighbors(Q, n_neighbors=min(k, shard.est.n_samples_fit_))
    return dist, shard.gids[ind]


def _shard_radius(shard, Q, radius, sort_results):
    """The shard's points within radius: (counts, dist, global ids), flat."""
    g = shard.est.radius_neighbors_graph(Q, radius, mode="distance", sort_results=sort_results)
    counts = np.diff(g.indptr).astype(np.int64)
    return counts, np.asarray(g.data), shard.gids[g.indices]


def _merge_kneighbors(k, *parts):
    """Merge per-shard k-NN answers: the k smallest by (distance, id)."""
    dist = np.concatenate([p[0] for p in parts], axis=1)
    ind = np.concatenate([p[1] for p in parts], axis=1)
    if dist.shape[1] == k and len(parts) == 1:
        return dist, ind
    order = np.lexsort((ind, dist), axis=1)[:, :k]
    return np.take_along_axis(dist, order, axis=1), np.take_along_axis(ind, order, axis=1)


def _merge_radius(sort_results, *parts):
    """Merge per-shard radius answers into one flat (counts, dist, ids)."""
    counts = np.sum([p[0] for p in parts], axis=0).astype(np.int64)
    dist = np.concatenate([p[1] for p in parts])
    ind = np.concatenate([p[2] for p in parts])
    query = np.concatenate([np.repeat(np.arange(len(p[0])), p[0]) for p in parts])
    if sort_results:
        order = np.lexsort((ind, dist, query))
    else:
        order = np.lexsort((ind, query))  # by id, as pcct.NearestNeighbors lists them
    return counts, dist[order], ind[order]


def _split(values, counts):
    """An object array of per-query arrays cut from a flat array."""
    out = np.empty(len(counts), dtype=object)
    for i, part in enumerate(np.split(values, np.cumsum(counts)[:-1]) if len(counts) else []):
        out[i] = part
    return out


def _radius_objects(counts, dist, ind, return_distance):
    """Object arrays of per-query arrays, as scikit-learn returns them."""
    if not return_distance:
        return _split(ind, counts)
    return _split(dist, counts), _split(ind, counts)


# -- client side -------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _State:
    """Everything a fitted estimator knows about its shards, at one moment.

    Replaced as a whole by every update, so a query that took it answers
    from one consistent set of shard versions.
    """

    client: object
    shards: tuple  # Future of _Shard, one per shard
    workers: tuple  # the address each shard is pinned to
    sizes: tuple  # live points per shard
    versions: tuple  # update count per shard
    n_ids: int
    n_features: int
    dtype: np.dtype
    starts: np.ndarray  # first global id of each contiguous range of ids ...
    owners: np.ndarray  # ... and the shard that holds it


def _key(what):
    return f"pcct-{what}-{uuid.uuid4().hex}"


def _is_dask(X):
    return isinstance(X, da.Array)


def _water_fill(sizes, m):
    """Split m new points over shards of the given sizes, smallest first,
    so that the shards end up as even as possible."""
    sizes = np.asarray(sizes, dtype=np.int64)
    lo, hi = int(sizes.min()), int(sizes.min()) + m
    while lo < hi:  # the least level L with sum(max(0, L - size)) >= m
        mid = (lo + hi) // 2
        if np.maximum(0, mid - sizes).sum() >= m:
            hi = mid
        else:
            lo = mid + 1
    alloc = np.maximum(0, lo - 1 - sizes)
    rest = m - int(alloc.sum())
    for s in np.flatnonzero(sizes <= lo - 1)[:rest]:
        alloc[s] += 1
    return alloc


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


class NearestNeighbors(BaseEstimator):
    """Exact nearest-neighbour search over shards on a Dask cluster.

    The points are split into ``n_shards`` shards, and each shard gets a
    pcct tree, built and kept on one worker of the current
    :class:`distributed.Client`. Queries go to every shard; the shards'
    answers are merged by distance, then id, so the answers are those of
    :class:`pcct.NearestNeighbors` fitted on all the points. Points are
    inserted and deleted without a refit, and :meth:`snapshot` keeps
    answering as of the moment it was taken.

    **Ids** are global, as in :class:`pcct.NearestNeighbors`: :meth:`fit`
    gives the rows the ids 0..n-1, :meth:`insert` gives the next unused ids,
    and a deleted id is never reused. Every index returned is an id.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours to use by default for :meth:`kneighbors`.
    radius : float, default=1.0
        Range of parameter space to use by default for
        :meth:`radius_neighbors`.
    metric : str, default="euclidean"
        The distance, as in :class:`pcct.NearestNeighbors`: "euclidean",
        "manhattan", "chebyshev", "minkowski" (with ``p``), "cosine",
        "haversine", or an alias of one of them.
    p : float, default=2
        Power of the Minkowski metric, used only with ``metric="minkowski"``.
    metric_params : dict, default=None
        Additional keyword arguments for the metric (only ``"p"``).
    n_jobs : int, default=None
        Goroutines per shard, for its build, updates and queries, on the
        worker that holds it. None means 1, -1 means all the CPUs of that
        worker's machine. With several workers per machine, keep the total
        at most the machine's cores.
    search : {"depth_first", "corrected"}, default="depth_first"
        The k-nearest-neighbour algorithm of every shard (both exact).
    n_shards : int, default=None
        Number of shards. None means one per worker of the cluster at
        :meth:`fit`. Shards are given to the workers in turn.

    Attributes
    ----------
    effective_metric_ : str
        The distance used (as in :class:`pcct.NearestNeighbors`).
    effective_metric_params_ : dict
        Metric parameters used.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    n_samples_fit_ : int
        Number of points held, over all shards.
    n_ids_ : int
        Number of ids issued; every id is below it.
    ids_ : ndarray of shape (n_samples_fit_,), int64
        The live ids, ascending (gathered from the shards).
    n_shards_ : int
        Number of shards.
    shard_workers_ : list of str
        The address of the worker each shard lives on.

    See Also
    --------
    pcct.NearestNeighbors : The same estimator on one machine.

    Notes
    -----
    A call waits for the cluster's answer and raises the first error of any
    shard: a bad query raises the ``ValueError`` that
    :class:`pcct.NearestNeighbors` would raise, and a lost worker raises
    :class:`ShardLostError`. Dask arrays in give dask arrays out (with the
    queries' row chunks), computed and held on the workers; numpy in gives
    numpy out.

    Examples
    --------
    >>> from distributed import Client                    # doctest: +SKIP
    >>> client = Client("tcp://scheduler:8786")            # doctest: +SKIP
    >>> import dask.array as da, pcct.dask                 # doctest: +SKIP
    >>> X = da.from_zarr("points.zarr")                    # doctest: +SKIP
    >>> nn = pcct.dask.NearestNeighbors(n_neighbors=10, n_jobs=-1).fit(X)  # doctest: +SKIP
    >>> dist, ind = nn.kneighbors(X[:1000])                # doctest: +SKIP
    >>> dist.compute()                                     # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        n_neighbors=5,
        radius=1.0,
        metric="euclidean",
        p=2,
        metric_params=None,
        n_jobs=None,
        search="depth_first",
        n_shards=None,
    ):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.n_jobs = n_jobs
        self.search = search
        self.n_shards = n_shards

    # -- fitted attributes ---------------------------------------------------

    def _fitted(self):
        state = self.__dict__.get("_state")
        if state is None:
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        return state

    @property
    def n_samples_fit_(self):
        """Number of points held, over all shards."""
        return int(sum(self._fitted().sizes))

    @property
    def n_ids_(self):
        """Number of ids issued so far; every id is below it."""
        return self._fitted().n_ids

    @property
    def n_features_in_(self):
        """Number of features seen during fit."""
        return self._fitted().n_features

    @property
    def n_shards_(self):
        """Number of shards."""
        return len(self._fitted().shards)

    @property
    def shard_workers_(self):
        """The address of the worker each shard lives on."""
        return list(self._fitted().workers)

    @property
    def ids_(self):
        """The live ids, ascending (a read-only int64 array)."""
        state = self._fitted()
        parts = self._run(
            state,
            [self._submit(state, s, _shard_live_ids, key=_key(f"ids-{s}")) for s in range(len(state.shards))],
            "ids_",
        )
        ids = np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
        ids.setflags(write=False)
        return ids

    def shard_info(self):
        """Describe every shard: where it lives, its points and its version.

        Returns
        -------
        info : list of dict
            One dict per shard, in shard order, with ``"shard"`` (index),
            ``"worker"`` (address), ``"n_samples"`` (live points) and
            ``"version"`` (the number of updates the shard has had since
            :meth:`fit`; a snapshot keeps the versions it was taken at).
        """
        state = self._fitted()
        return [
            {"shard": s, "worker": w, "n_samples": n, "version": v}
            for s, (w, n, v) in enumerate(zip(state.workers, state.sizes, state.versions))
        ]

    # -- validation -----------------------------------------------------------

    def _local_params(self):
        """The parameters of each shard's pcct.NearestNeighbors."""
        params = self.get_params(deep=False)
        del params["n_shards"]
        return params

    def _check_writable(self, what):
        if getattr(self, "_read_only", False):
            raise ReadOnlyError(
                f"This {type(self).__name__} is a read-only snapshot: {what} is not "
                "allowed. Update (or refit) the live estimator the snapshot was taken "
                "from, or clone() this one."
            )

    @staticmethod
    def _as_array(X, name="X"):
        """X as a dask array (kept) or a numpy array, 2-D."""
        if _is_dask(X):
            arr = X
        else:
            if hasattr(X, "__dask_graph__"):
                raise TypeError(
                    f"{name} is a {type(X).__name__}: pcct.dask takes dask arrays (or numpy "
                    "arrays). Convert a dask DataFrame with .to_dask_array(lengths=True)."
                )
            import scipy.sparse as sp

            if sp.issparse(X):
                raise TypeError(
                    "pcct.dask takes dense data only: a sparse matrix was passed. Use "
                    "X.toarray() if it fits in memory, or pcct.NearestNeighbors, which takes "
                    "sparse points."
                )
            arr = np.asarray(X)
        if arr.ndim != 2:
            raise ValueError(
                f"Expected a 2D array, got a {arr.ndim}D array instead: {name} must have "
                "shape (n_samples, n_features). Reshape your data either using "
                "array.reshape(-1, 1) if your data has a single feature or "
                "array.reshape(1, -1) if it contains a single sample."
            )
        if _is_dask(arr) and any(math.isnan(c) for c in arr.chunks[0]):
            arr = arr.compute_chunk_sizes()
        return arr

    def _check_queries(self, state, X):
        if X is None:
            raise ValueError(
                "pcct.dask.NearestNeighbors keeps no copy of the fitted points, so it "
                "cannot query them by themselves (X=None): pass the points as X (each "
                "is then among its own neighbours, at distance 0)."
            )
        X = self._as_array(X)
        if X.shape[1] != state.n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but NearestNeighbors is expecting "
                f"{state.n_features} features as input."
            )
        return X

    def _client(self, state):
        client = state.client
        if client.status in ("closing", "closed"):
            raise RuntimeError(
                "The Dask client this estimator was fitted with is closed, and its "
                "cluster's workers held the shards' trees: fit the estimator again "
                "with a running client."
            )
        return client

    # -- running tasks and watching the shards ------------------------------

    def _submit(self, state, s, fn, *args, key):
        """Run fn(shard s, *args) on shard s's worker, and nowhere else."""
        return self._client(state).submit(
            fn, state.shards[s], *args, key=key, workers=[state.workers[s]],
            allow_other_workers=False, pure=False,
        )

    def _run(self, state, futures, during, results=True):
        """Wait for futures and return their results (or the futures).

        Raises the first error of any of them, and ShardLostError as soon as
        a shard is gone (its future lost or cancelled, or its worker no
        longer in the cluster). On any exception, the futures are cancelled.
        """
        client = self._client(state)
        pending = list(futures)
        delay, last_check = 0.002, time.monotonic()
        try:
            while True:
                now = time.monotonic()
                self._check_shards(state, client, during, workers=now - last_check > 0.5)
                if now - last_check > 0.5:
                    last_check = now
                for f in pending:
                    if f.status == "error":
                        raise f.exception()
                    if f.status in ("cancelled", "lost"):
                        self._check_shards(state, client, during, workers=True)
                        raise RuntimeError(
                            f"a task of {during} was {f.status} on the cluster ({f.key}); "
                            "no partial answer is returned."
                        )
                pending = [f for f in pending if f.status != "finished"]
                if not pending:
                    break
                try:
                    distributed.wait(pending, timeout=delay, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    pass
                except Exception:
                    # A future was cancelled or lost under us: name the cause.
                    self._check_shards(state, client, during, workers=True)
                    if not any(f.status in ("cancelled", "lost", "error") for f in pending):
                        raise
                delay = min(delay * 2, 0.2)
        except BaseException:
            client.cancel(list(futures))
            raise
        return client.gather(list(futures)) if results else list(futures)

    def _check_shards(self, state, client, during, workers=False):
        """Raise ShardLostError for the first shard that is gone; with
        workers=True, also ask the scheduler whether each shard's worker is
        still in the cluster."""
        for s, f in enumerate(state.shards):
            if f.status in ("lost", "cancelled"):
                raise ShardLostError(s, state.workers[s], len(state.shards), during)
            if f.status == "error":  # the build itself failed (fit)
                raise f.exception()
        if not workers:
            return
        try:
            alive = set(client.nthreads())
        except Exception as e:
            raise RuntimeError(
                f"the Dask scheduler did not answer during {during} ({e!r}); "
                "no partial answer is returned."
            ) from e
        for s, w in enumerate(state.workers):
            if w not in alive:
                raise ShardLostError(s, w, len(state.shards), during)

    # -- fit ------------------------------------------------------------------

    def fit(self, X, y=None):
        """Build one tree per shard on the cluster's workers.

        Parameters
        ----------
        X : dask array or array-like of shape (n_samples, n_features)
            Training data. A dask array is computed on the cluster, its rows
            split into ``n_shards`` contiguous shards; a numpy array is
            split the same way and sent to the shards' workers. float32 and
            float64 are kept; other numeric types become float64.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : NearestNeighbors
            The fitted estimator. The points get the ids 0..n_samples-1.

        Raises
        ------
        ValueError
            For invalid parameters or data (a shard's data error names the
            shard and its rows).
        ShardLostError
            If a worker dies during the build.
        """
        self._check_writable("fit")
        X = self._as_array(X)
        n, d = X.shape
        if n == 0 or d == 0:
            raise ValueError(
                f"Found array with {n} sample(s) and {d} feature(s) (shape={X.shape}) while "
                "a minimum of 1 is required by NearestNeighbors."
            )
        # Parameters are checked here, as pcct.NearestNeighbors checks them,
        # before any work is sent to the cluster (and the feature count a
        # metric needs: haversine takes 2).
        code, _, effective_metric, effective_params = check_estimator_params(self)
        effective_n_jobs(self.n_jobs)
        check_metric_domain(code, np.full((1, d), 0.5))
        n_shards = self.n_shards
        if n_shards is not None and (not _is_int(n_shards) or n_shards < 1):
            raise InvalidParameterError(
                f"The 'n_shards' parameter of NearestNeighbors must be an int in the range "
                f"[1, inf) or None. Got {n_shards!r} instead."
            )
        try:
            client = distributed.get_client()
        except ValueError:
            raise RuntimeError(
                "pcct.dask.NearestNeighbors needs a running Dask client: create one first, "
                "e.g. distributed.Client() for a cluster on this machine or "
                "distributed.Client('tcp://scheduler-host:8786') for a real one."
            ) from None
        workers = sorted(client.nthreads())
        if not workers:
            raise RuntimeError("The Dask cluster has no workers: pcct.dask needs at least one.")
        n_shards = min(len(workers) if n_shards is None else int(n_shards), n)
        bounds = np.linspace(0, n, n_shards + 1).round().astype(np.int64)
        placed = [workers[s % len(workers)] for s in range(n_shards)]
        params = self._local_params()
        if _is_dask(X):
            parts = [client.compute(X[bounds[s]:bounds[s + 1]]) for s in range(n_shards)]
        else:
            parts = [
                client.scatter(X[bounds[s]:bounds[s + 1]], workers=[placed[s]], hash=False)
                for s in range(n_shards)
            ]
        futures = [
            client.submit(
                _shard_build, parts[s], params, int(bounds[s]), s, int(bounds[s]),
                int(bounds[s + 1]), key=_key(f"shard-{s}"), workers=[placed[s]],
                allow_other_workers=False, pure=False,
            )
            for s in range(n_shards)
        ]
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        state = _State(
            client=client,
            shards=tuple(futures),
            workers=tuple(placed),
            sizes=tuple(int(bounds[s + 1] - bounds[s]) for s in range(n_shards)),
            versions=(0,) * n_shards,
            n_ids=n,
            n_features=d,
            dtype=np.dtype(dtype),
            starts=bounds[:-1].copy(),
            owners=np.arange(n_shards, dtype=np.int64),
        )
        self._run(state, futures, "fit", results=False)
        self._state = state
        self._lock = threading.Lock()
        self.effective_metric_ = effective_metric
        self.effective_metric_params_ = effective_params
        return self

    # -- updates ----------------------------------------------------------------

    def insert(self, X):
        """Add points without a refit, spread over the smallest shards.

        The new rows get the next unused ids, in order, and go to the
        shards with the fewest points (each shard gets a contiguous run of
        rows). Every shard involved makes a new version; the estimator
        switches to them only when all have succeeded, so a failed
        insertion changes nothing.

        Parameters
        ----------
        X : dask array or array-like of shape (n_points, n_features)
            The new points, validated as in :meth:`fit`.

        Returns
        -------
        ids : ndarray of shape (n_points,), int64
            The ids of the new points, in the order of the rows of ``X``.
        """
        state = self._fitted()
        self._check_writable("insert")
        X = self._as_array(X)
        if X.shape[1] != state.n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but NearestNeighbors is expecting "
                f"{state.n_features} features as input."
            )
        m = X.shape[0]
        if m == 0:
            raise ValueError(
                "Found array with 0 sample(s) (shape=(0, %d)) while a minimum of 1 is "
                "required by NearestNeighbors." % X.shape[1]
            )
        with self._lock:
            state = self._state
            client = self._client(state)
            self._check_shards(state, client, "insert", workers=True)
            alloc = _water_fill(state.sizes, m)
            shards, sizes, versions = list(state.shards), list(state.sizes), list(state.versions)
            starts, owners, futures = [state.starts], [state.owners], []
            lo = 0
            for s in np.flatnonzero(alloc):
                hi = lo + int(alloc[s])
                rows = X[lo:hi]
                part = (client.compute(rows) if _is_dask(rows)
                        else client.scatter(rows, workers=[state.workers[s]], hash=False))
                first = state.n_ids + lo
                f = self._submit(state, s, _shard_insert, part, first, int(s), lo, hi,
                                 key=_key(f"shard-{s}-insert"))
                futures.append(f)
                shards[s], sizes[s], versions[s] = f, sizes[s] + (hi - lo), versions[s] + 1
                starts.append(np.array([first]))
                owners.append(np.array([s]))
                lo = hi
            self._run(state, futures, "insert", results=False)
            self._state = replace(
                state, shards=tuple(shards), sizes=tuple(sizes), versions=tuple(versions),
                n_ids=state.n_ids + m, starts=np.concatenate(starts), owners=np.concatenate(owners),
            )
        return np.arange(state.n_ids, state.n_ids + m, dtype=np.int64)

    def delete(self, ids):
        """Remove points by id, without a refit.

        Each id goes to the shard that holds it. As in
        :class:`pcct.NearestNeighbors`, an id that is not live or is given
        twice raises ``ValueError`` naming the first such id, and then
        nothing is deleted from any shard.

        Parameters
        ----------
        ids : array-like of int
            The ids to delete.

        Returns
        -------
        self : NearestNeighbors
        """
        state = self._fitted()
        self._check_writable("delete")
        ids = check_ids(ids)
        with self._lock:
            state = self._state
            self._check_shards(state, self._client(state), "delete")
            n_ids = state.n_ids
            # The first repeated or never-issued id, found here; the shards
            # then look for a deleted id before it. Nothing is deleted until
            # every shard has said that all its ids are live.
            first_bad, error = len(ids), None
            _, first_seen = np.unique(ids, return_index=True)
            repeated = np.ones(len(ids), dtype=bool)
            repeated[first_seen] = False
            for pos in np.flatnonzero(repeated | (ids < 0) | (ids >= n_ids))[:1]:
                first_bad, i = int(pos), int(ids[pos])
                if 0 <= i < n_ids:
                    error = ValueError(f"id {i} is given more than once. Nothing was deleted.")
                else:
                    error = ValueError(
                        f"id {i} is not in the index: the ids issued so far are 0 to "
                        f"{n_ids - 1}. Nothing was deleted."
                    )
            head = ids[:first_bad]
            owner = state.owners[np.searchsorted(state.starts, head, side="right") - 1]
            touched = [int(s) for s in np.unique(owner)]
            where = {s: np.flatnonzero(owner == s) for s in touched}
            checks = [
                self._submit(state, s, _shard_dead_ids, head[where[s]], where[s],
                             key=_key(f"shard-{s}-check"))
                for s in touched
            ]
            dead = [r for r in self._run(state, checks, "delete") if r is not None]
            if dead:
                pos, gid = min(dead)
                raise ValueError(f"id {gid} is not in the index: it was deleted. Nothing was deleted.")
            if error is not None:
                raise error
            futures = [
                self._submit(state, s, _shard_delete, head[where[s]], key=_key(f"shard-{s}-delete"))
                for s in touched
            ]
            self._run(state, futures, "delete", results=False)
            shards, sizes, versions = list(state.shards), list(state.sizes), list(state.versions)
            for s, f in zip(touched, futures):
                shards[s] = f
                sizes[s] -= len(where[s])
                versions[s] += 1
            self._state = replace(state, shards=tuple(shards), sizes=tuple(sizes),
                                  versions=tuple(versions))
        return self

    def snapshot(self):
        """Return a read-only estimator that answers as this one does now.

        It holds the current version of every shard (O(1): no tree is
        copied; the versions stay on their workers while the snapshot
        lives). Later updates of this estimator do not change its answers.

        Returns
        -------
        snapshot : NearestNeighbors
            A fitted estimator whose :meth:`insert`, :meth:`delete` and
            :meth:`fit` raise :class:`pcct.ReadOnlyError`.
        """
        self._fitted()
        snap = type(self).__new__(type(self))
        snap.__dict__.update(self.__dict__)
        snap._lock = threading.Lock()
        snap._read_only = True
        return snap

    def __getstate__(self):
        raise TypeError(
            "A fitted pcct.dask.NearestNeighbors cannot be pickled: its trees live on "
            "the cluster's workers. Pickle the parameters (get_params()) and fit again, "
            "or use pcct.NearestNeighbors, which pickles with its tree."
        ) if "_state" in self.__dict__ else super().__getstate__()

    # -- queries ------------------------------------------------------------------

    def _query_blocks(self, state, X, during):
        """The query rows as futures of numpy blocks, and the block sizes."""
        client = self._client(state)
        self._check_shards(state, client, during)
        if _is_dask(X):
            X = X.rechunk({1: -1})
            blocks = client.compute(list(X.to_delayed().ravel()))
            sizes = [int(c) for c in X.chunks[0]]
            return blocks, sizes
        n = X.shape[0]
        count = max(1, -(-n // _QUERY_BLOCK))
        bounds = np.linspace(0, n, count + 1).round().astype(np.int64)
        parts = [X[bounds[i]:bounds[i + 1]] for i in range(count)]
        workers = sorted(set(state.workers))
        try:
            blocks = client.scatter(parts, workers=workers, broadcast=len(workers) > 1, hash=False)
        except Exception:
            self._check_shards(state, client, during, workers=True)
            raise
        return blocks, [len(p) for p in parts]

    def _query(self, state, X, part_fn, part_args, merge_fn, merge_args, during):
        """Send every query block to every live shard, merge per block."""
        client = self._client(state)
        blocks, sizes = self._query_blocks(state, X, during)
        active = [s for s in range(len(state.shards)) if state.sizes[s] > 0]
        merged, all_futures = [], list(blocks)
        for b, block in enumerate(blocks):
            parts = [
                self._submit(state, s, part_fn, block, *part_args, key=_key(f"shard-{s}-{during}"))
                for s in active
            ]
            m = client.submit(merge_fn, *merge_args, *parts, key=_key(f"merge-{during}"), pure=False)
            merged.append(m)
            all_futures += parts + [m]
        self._run(state, all_futures, during, results=False)
        return merged, sizes

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Find the k nearest neighbours of points, over all shards.

        Parameters
        ----------
        X : dask array or array-like of shape (n_queries, n_features)
            The query points (required: the fitted points are not kept).
        n_neighbors : int, default=None
            Number of neighbours of each point; default: the value passed to
            the constructor. At most ``n_samples_fit_``.
        return_distance : bool, default=True
            Whether to return the distances.

        Returns
        -------
        neigh_dist : ndarray or dask array of shape (n_queries, n_neighbors)
            Distances, nearest first, in the fitted dtype; only with
            ``return_distance=True``.
        neigh_ind : ndarray or dask array of shape (n_queries, n_neighbors)
            Ids of the neighbours (int64); ties in distance are ordered by
            id. Dask arrays when ``X`` is one (same row chunks, already
            computed on the workers), numpy arrays otherwise.
        """
        state = self._fitted()
        X = self._check_queries(state, X)
        k = check_n_neighbors(n_neighbors, self.n_neighbors, False, X.shape[0], sum(state.sizes))
        if X.shape[0] == 0:
            dist = np.empty((0, k), dtype=state.dtype)
            ind = np.empty((0, k), dtype=np.int64)
        else:
            merged, sizes = self._query(state, X, _shard_kneighbors, (k,), _merge_kneighbors, (k,),
                                        "kneighbors")
            dist, ind = self._assemble(state, X, merged, [
                lambda n: ((n, k), state.dtype), lambda n: ((n, k), np.dtype(np.int64))], sizes)
        return (dist, ind) if return_distance else ind

    def _assemble(self, state, X, merged, shapes, sizes):
        """The merged blocks as dask arrays (dask queries) or numpy arrays."""
        client = self._client(state)
        outs = []
        for j, shape in enumerate(shapes):
            if _is_dask(X):
                pieces = []
                for m, n in zip(merged, sizes):
                    f = client.submit(operator.getitem, m, j, key=_key("part"), pure=False)
                    shp, dtype = shape(n)
                    pieces.append(da.from_delayed(f, shp, dtype=dtype))
                outs.append(da.concatenate(pieces, axis=0))
            else:
                outs.append(None)
        if _is_dask(X):
            return outs
        results = client.gather(merged)
        return tuple(np.concatenate([r[j] for r in results], axis=0) for j in range(len(shapes)))

    def radius_neighbors(self, X=None, radius=None, return_distance=True, sort_results=False):
        """Find the neighbours within a radius of points, over all shards.

        Parameters
        ----------
        X : dask array or array-like of shape (n_queries, n_features)
            The query points (required: the fitted points are not kept).
        radius : float, default=None
            Limiting distance of neighbours; default: the value passed to
            the constructor.
        return_distance : bool, default=True
            Whether to return the distances.
        sort_results : bool, default=False
            If True, each query's neighbours are sorted by distance (ties by
            id); needs ``return_distance=True``. Otherwise they come by
            ascending id, as in :class:`pcct.NearestNeighbors`.

        Returns
        -------
        neigh_dist : ndarray or dask array of shape (n_queries,), dtype object
            Each element an array of distances; only with
            ``return_distance=True``.
        neigh_ind : ndarray or dask array of shape (n_queries,), dtype object
            Each element an int64 array of ids.
        """
        state = self._fitted()
        if sort_results and not return_distance:
            raise ValueError("return_distance must be True if sort_results is True.")
        X = self._check_queries(state, X)
        r = check_radius(self.radius if radius is None else radius, "radius")
        sort = bool(sort_results)
        if X.shape[0] == 0:
            out = _radius_objects(np.zeros(0, dtype=np.int64), np.empty(0, state.dtype),
                                  np.empty(0, np.int64), return_distance)
            return out
        merged, sizes = self._query(state, X, _shard_radius, (r, sort), _merge_radius, (sort,),
                                    "radius_neighbors")
        client = self._client(state)
        if _is_dask(X):
            objs = [client.submit(_radius_split, m, key=_key("part"), pure=False) for m in merged]
            outs = []
            for j in range(2):
                pieces = [
                    da.from_delayed(client.submit(operator.getitem, o, j, key=_key("part"), pure=False),
                                    (n,), dtype=object)
                    for o, n in zip(objs, sizes)
                ]
                outs.append(da.concatenate(pieces, axis=0))
            return tuple(outs) if return_distance else outs[1]
        results = client.gather(merged)
        counts = np.concatenate([c for c, _, _ in results])
        dist = np.concatenate([d for _, d, _ in results])
        ind = np.concatenate([i for _, _, i in results])
        return _radius_objects(counts, dist, ind, return_distance)


def _radius_split(merged):
    """One merged radius block as (dist, ind) object arrays."""
    return _radius_objects(*merged, True)
