"""Validation at pcct's boundary: metrics, parameters, arrays, ids, k and
radius.

Every check that turns a user's value into what the library takes lives
here, with scikit-learn's wording (name the problem and the way out), so
that :class:`pcct.CoverTree`, the estimators and the transformers refuse
bad input with the same messages. Nothing here calls into Go: this module
imports no other part of pcct but its exceptions.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
import sys
import warnings

import numpy as np

from .exceptions import InvalidParameterError

__all__ = [
    "METRICS",
    "METRIC_NAMES",
    "SEARCHES",
    "DTYPES",
    "DTYPE_OF_CODE",
    "COSINE",
    "HAVERSINE",
    "metric_hint",
    "is_distance_metric",
    "from_distance_metric",
    "metric_vector",
    "BOOLEAN_METRICS",
    "CUSTOM",
    "check_savable",
    "metric_error",
    "parse_metric",
    "parse_tree_metric",
    "check_p_applies",
    "check_metric_domain",
    "parse_search",
    "ALGORITHMS",
    "parse_device",
    "device_code",
    "check_device",
    "DEVICES",
    "effective_n_jobs",
    "clean_points",
    "cpu_count",
    "check_seed",
    "check_ids",
    "check_new_ids",
    "check_k",
    "check_radius",
    "check_ranks",
    "check_bound",
    "check_eps",
    "check_n_neighbors",
    "check_mode",
    "check_estimator_params",
    "delete_error",
    "as_float",
    "POINTS_DTYPE",
]

# What check_array and validate_data are asked for: any numeric dtype (so
# that strings are refused, as scikit-learn's estimators refuse them), then
# converted by as_float.
POINTS_DTYPE = "numeric"

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
    # scikit-learn's other BallTree metrics that are true metrics (core's
    # extkernels.go), computed as its DistanceMetric computes them.
    "seuclidean": 6,
    "mahalanobis": 7,
    "canberra": 8,
    "hamming": 9,
    "jaccard": 10,
    "rogerstanimoto": 11,
    "sokalmichener": 12,
    "sokalsneath": 13,
}
# C ABI metric code -> canonical name.
METRIC_NAMES = {
    0: "euclidean",
    1: "manhattan",
    2: "chebyshev",
    3: "minkowski",
    4: "cosine",
    5: "haversine",
    6: "seuclidean",
    7: "mahalanobis",
    8: "canberra",
    9: "hamming",
    10: "jaccard",
    11: "rogerstanimoto",
    12: "sokalmichener",
    13: "sokalsneath",
    14: "a Python function",
}
# The Minkowski power each non-Minkowski metric is (p given with it must
# agree). Cosine (served as the Euclidean distance between normalised
# vectors), haversine and the metrics from code 6 on take no power: only
# the default p=2 is accepted.
_METRIC_P = {0: 2.0, 1: 1.0, 2: math.inf, **{c: 2.0 for c in range(4, 15)}}
_MINKOWSKI = 3
COSINE, HAVERSINE = 4, 5
SEUCLIDEAN, MAHALANOBIS = 6, 7
# A Python function as the metric (capi/callback.go, _callback.py).
CUSTOM = 14
# Metrics that read coordinates as booleans (not zero: true); their trees
# store the points as 0 and 1.
BOOLEAN_METRICS = {10, 11, 12, 13}
# The entries of metric_params each metric takes, besides "p" (and "w"
# when it is None).
_METRIC_KEYS = {"minkowski": {"w"}, "seuclidean": {"V"}, "mahalanobis": {"V", "VI"}}

# k-NN search strategies -> C ABI strategy code.
SEARCHES = {"depth_first": 0, "corrected": 1}

# The estimators' algorithm parameter: the index that answers (as the C
# ABI's core.Algorithm codes, in _handle.ALGORITHMS). scikit-learn's other
# names, with what they become here.
ALGORITHMS = ("auto", "cover_tree", "brute")
_OTHER_ALGORITHMS = {
    "kd_tree": "pcct's tree is a cover tree: use 'cover_tree', or 'auto'",
    "ball_tree": "pcct's tree is a cover tree: use 'cover_tree', or 'auto'",
}

# Devices -> C ABI device code (capi/gpu.go).
DEVICES = {"cpu": 0, "cuda": 1, "auto": 2}
# Metric codes the GPU kernels compute (Minkowski only as p = 1, 2 or inf).
_GPU_METRICS = {0, 1, 2, 4}

# The dtypes the library stores, and their C ABI codes.
DTYPES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1}
DTYPE_OF_CODE = {0: np.dtype(np.float32), 1: np.dtype(np.float64)}

# Graph modes of kneighbors_graph, radius_neighbors_graph and the
# transformers.
MODES = ("connectivity", "distance")

# Why scikit-learn's other metric names are refused, with what to do instead.
_NOT_SERVED = {
    "sqeuclidean": "it is not a metric (it breaks the triangle inequality); use "
    "'euclidean', which ranks neighbours the same way, and square the distances",
    "correlation": "it is not a metric; subtract each row's mean and use 'cosine', "
    "which then gives the same distance",
    "precomputed": "a cover tree needs the points themselves; "
    "pcct.NearestNeighbors and the transformers take metric='precomputed' (a distance matrix)",
    "nan_euclidean": "pcct refuses NaN; impute missing values first",
    "wminkowski": "scikit-learn removed it; use 'minkowski' with metric_params={'w': w}",
    "braycurtis": "it is not a metric (the triangle inequality fails: on 0/1 vectors "
    "d(100, 110) + d(110, 010) = 2/3 < d(100, 010) = 1); use 'canberra', or "
    "'manhattan' on rows scaled to sum 1",
    "dice": "it is not a metric (the triangle inequality fails, as for 'braycurtis'); "
    "use 'jaccard', the metric that ranks boolean vectors the same way",
    "russellrao": "it is not a metric: it puts a vector with zeros at a positive "
    "distance from itself; use 'jaccard' or 'hamming'",
    "kulsinski": "it is not a metric; use 'jaccard' or 'rogerstanimoto'",
    "kulczynski1": "it is not a metric; use 'jaccard'",
    "yule": "it is not a metric; use 'rogerstanimoto'",
    "matching": "use 'hamming' on boolean (0/1) data, which is the same distance",
}


def _is_int(v):
    return isinstance(v, numbers.Integral)


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


# -- metrics -------------------------------------------------------------------


# scikit-learn's DistanceMetric classes (less their 64/32 suffix) -> the
# metric name pcct serves them under.
_DISTANCE_METRICS = {
    "EuclideanDistance": "euclidean",
    "ManhattanDistance": "manhattan",
    "ChebyshevDistance": "chebyshev",
    "MinkowskiDistance": "minkowski",
    "SEuclideanDistance": "seuclidean",
    "MahalanobisDistance": "mahalanobis",
    "HaversineDistance": "haversine",
    "CanberraDistance": "canberra",
    "HammingDistance": "hamming",
    "JaccardDistance": "jaccard",
    "RogersTanimotoDistance": "rogerstanimoto",
    "SokalMichenerDistance": "sokalmichener",
    "SokalSneathDistance": "sokalsneath",
    # Not metrics: refused by name, with the reason.
    "BrayCurtisDistance": "braycurtis",
    "DiceDistance": "dice",
    "RussellRaoDistance": "russellrao",
    "MatchingDistance": "matching",
    "PyFuncDistance": "pyfunc",
}


def is_distance_metric(metric):
    """Whether metric is a scikit-learn DistanceMetric object.

    ``sklearn.metrics`` is not imported for it: no such object exists
    before that package is (its classes live in a module of it), and
    importing it took 55 ms, most of a process's first ``fit``.
    """
    metrics = sys.modules.get("sklearn.metrics")
    cls = getattr(metrics, "DistanceMetric", None)
    return cls is not None and isinstance(metric, cls)


def from_distance_metric(metric, owner):
    """(name, metric_params) of a scikit-learn DistanceMetric object, read
    from its pickled state (p, the vector of V or w, the matrix VI); the
    name stays unknown (and is refused) for classes pcct does not serve."""
    cls = type(metric).__name__
    name = _DISTANCE_METRICS.get(cls.removesuffix("64").removesuffix("32"))
    if name is None or name in _NOT_SERVED:
        return (name or cls), {}
    try:
        p, vec, mat = metric.__getstate__()[:3]
        p = float(p)
        vec, mat = np.asarray(vec, dtype=np.float64), np.asarray(mat, dtype=np.float64)
    except Exception as e:  # pragma: no cover - scikit-learn changed its state
        raise ValueError(
            f"{owner} could not read the parameters of {metric!r} ({e!r}); pass "
            "metric='name' and metric_params instead."
        ) from None
    if name == "pyfunc":
        # Its function and keyword arguments: served as a Python function.
        state = metric.__getstate__()
        return state[3], dict(state[4] or {})
    if name == "minkowski":
        return name, {"p": p, **({"w": vec} if vec.size else {})}
    if name == "seuclidean":
        return name, {"V": vec}
    if name == "mahalanobis":
        return name, {"VI": mat}
    return name, {}


def metric_hint(metric):
    """Why pcct does not serve this metric, and what to use instead."""
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
    if code != _MINKOWSKI:
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
    return _MINKOWSKI, p


def metric_vector(code, p, params, n_features, owner):
    """The parameter vector the library takes for the metric ``code`` (with
    power ``p``) from its ``params`` (a dict: "w" for minkowski, "V" for
    seuclidean, "V" or "VI" for mahalanobis), checked for points of
    ``n_features`` coordinates: a C-contiguous float64 array, or None for a
    metric without one. ValueError, saying what is wrong, otherwise."""
    params = params or {}
    if code == _MINKOWSKI or (code in (0, 1, 2) and params.get("w") is not None):
        w = params.get("w")
        if w is None:
            return None
        w = _param_array(w, "w", (n_features,), owner)
        if not np.all(w > 0) or math.isinf(p):
            raise ValueError(
                f"{owner}: the weights w of a Minkowski distance must be > 0, with a finite p "
                "(a weight of 0 puts distinct points at distance 0: drop that column instead)."
            )
        return w
    if code == SEUCLIDEAN:
        if params.get("V") is None:
            raise ValueError(
                f"{owner}: metric='seuclidean' needs the variances V, one per feature: pass "
                "metric_params={'V': X.var(axis=0, ddof=1)}."
            )
        v = _param_array(params["V"], "V", (n_features,), owner)
        if not np.all(v > 0):
            raise ValueError(f"{owner}: the variances V of 'seuclidean' must be > 0 (a constant "
                             "feature has variance 0: drop it).")
        return v
    if code == MAHALANOBIS:
        if (params.get("V") is None) == (params.get("VI") is None):
            raise ValueError(
                f"{owner}: metric='mahalanobis' needs one of V (a covariance matrix) or VI "
                "(its inverse), of shape (n_features, n_features): e.g. metric_params="
                "{'V': np.cov(X, rowvar=False)}."
            )
        shape = (n_features, n_features)
        if params.get("VI") is not None:
            vi = _param_array(params["VI"], "VI", shape, owner)
        else:
            v = _param_array(params["V"], "V", shape, owner)
            try:
                vi = np.linalg.inv(v)
            except np.linalg.LinAlgError:
                raise ValueError(f"{owner}: the covariance matrix V of 'mahalanobis' is "
                                 "singular; remove linearly dependent features.") from None
        if not np.allclose(vi, vi.T, rtol=1e-12, atol=0):
            raise ValueError(f"{owner}: the matrix VI of 'mahalanobis' must be symmetric.")
        vi = (vi + vi.T) / 2  # exactly symmetric
        try:
            np.linalg.cholesky(vi)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"{owner}: the matrix VI of 'mahalanobis' must be positive definite (with a "
                "singular one, distinct points are 0 apart and it is not a metric)."
            ) from None
        return np.ascontiguousarray(vi.ravel())
    return None


def _param_array(a, name, shape, owner):
    """A metric parameter as a finite float64 array of the given shape."""
    try:
        a = np.array(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: metric parameter {name} must be an array of numbers.") from None
    if a.shape != shape:
        raise ValueError(f"{owner}: metric parameter {name} has shape {a.shape}; the data need "
                         f"{shape}.")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{owner}: metric parameter {name} holds NaN or infinity.")
    return np.ascontiguousarray(a)


def parse_tree_metric(metric, p, metric_params, owner="CoverTree"):
    """(code, p, params) for a CoverTree's metric, power and metric_params
    (a dict of "w" for minkowski, "V" for seuclidean, "V" or "VI" for
    mahalanobis, or None). A weighted Minkowski metric keeps its code
    whatever p (see :func:`parse_metric` for the rest). metric may be a
    scikit-learn DistanceMetric, which brings its own parameters."""
    if is_distance_metric(metric):
        if metric_params:
            raise ValueError("metric_params cannot be given with a DistanceMetric object, "
                             "which holds its parameters.")
        metric, metric_params = from_distance_metric(metric, owner)
        p = None if callable(metric) else metric_params.pop("p", None)
    if callable(metric):
        if p not in (None, 2):
            raise ValueError(f"p applies to metric='minkowski'; got p={p!r} with a Python "
                             "function as metric (pass it through metric_params).")
        if metric_params is not None and not isinstance(metric_params, dict):
            raise ValueError(f"metric_params must be a dict or None, got {metric_params!r}.")
        return CUSTOM, 2.0, dict(metric_params or {})  # the function's keyword arguments
    code, p = parse_metric(metric, p, owner)
    if metric_params is None:
        return code, p, {}
    if not isinstance(metric_params, dict):
        raise ValueError(f"metric_params must be a dict or None, got {metric_params!r}.")
    takes = _METRIC_KEYS.get(metric, set())
    unknown = sorted(set(metric_params) - takes)
    if unknown:
        raise ValueError(
            f"Unsupported metric_params {unknown} for metric={metric!r}: it takes "
            + (", ".join(repr(k) for k in sorted(takes)) if takes else "none")
            + " (p is a parameter of its own)."
        )
    params = dict(metric_params)
    if metric == "minkowski" and params.get("w") is not None:
        code = _MINKOWSKI
    return code, p, params


def check_savable(code, owner):
    """TypeError for saving to a file what has a Python function as metric
    (the file format holds no Python objects; pickling keeps the function
    by reference)."""
    if code == CUSTOM:
        raise TypeError(
            f"This {owner} has a Python function as metric, which pcct's file format cannot "
            "hold: pickle it instead (the function is pickled by reference, so it must be "
            "importable where the pickle is loaded)."
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


def check_metric_domain(code, X, name="X"):
    """Check what a metric needs of the points beyond finiteness: no zero
    vector for cosine (the library refuses them too); 2 columns of
    (latitude, longitude) in radians for haversine, with latitudes within
    [-pi/2, pi/2] (degrees are the usual mistake)."""
    if code == COSINE:
        if X.size:
            zero = np.flatnonzero(~X.any(axis=1))
            if zero.size:
                raise ValueError(
                    f"{name} has a zero vector at row {int(zero[0])} ({zero.size} in all): the "
                    "cosine distance is not defined for it. (scikit-learn puts a zero vector "
                    "at distance 1 from every point; pcct refuses it.)"
                )
        return
    if code != HAVERSINE:
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


# -- CoverTree's parameters ------------------------------------------------------


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
    """Number of goroutines for n_jobs, as scikit-learn counts them, at most
    the CPUs this process may use.

    None means 1, -1 all CPUs, -k (cpus + 1 - k), at least 1. More jobs than
    CPUs would not run faster (Go caps its workers at GOMAXPROCS too), so a
    larger n_jobs, however large, means all the CPUs.
    """
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise ValueError(
            f"n_jobs must be an int or None, got {n_jobs!r}: None means 1 job, -1 all CPUs."
        )
    n_jobs = int(n_jobs)
    if n_jobs == 1:
        return 1  # without counting the CPUs (joblib reads the cgroup's files)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning: use None for 1 job, -1 for all CPUs.")
    if n_jobs > 0:
        return min(n_jobs, cpu_count())
    return max(cpu_count() + 1 + n_jobs, 1)


def cpu_count():
    """The CPUs this process may use, as scikit-learn counts them (joblib's
    count, which honours cgroup quotas and the affinity mask)."""
    try:
        mask = frozenset(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not on Linux
        mask = None
    return _cpu_count(mask)


@functools.lru_cache(maxsize=4)
def _cpu_count(mask):
    """joblib's count, once per affinity mask: it reads the cgroup's files
    (0.06 ms a call, twice a fit with n_jobs other than 1, where a fit of
    100 points takes 0.15 ms)."""
    try:
        from joblib import cpu_count as joblib_cpu_count

        return max(int(joblib_cpu_count()), 1)
    except Exception:  # pragma: no cover - joblib ships with scikit-learn
        return os.cpu_count() or 1


def check_seed(seed):
    """The seed of a tree's random insertion order, as an unsigned 64-bit
    value (ValueError if it is not an int)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be an int, got {seed!r}.")
    return int(seed) % 2**64


# -- ids, k and radius -----------------------------------------------------------


def check_ids(ids, name="ids"):
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


def check_new_ids(ids, n_rows, live):
    """Caller-chosen ids for ``n_rows`` new points (faiss's add_with_ids): a
    C-contiguous int64 array of n_rows distinct ids >= 0, none of them
    among ``live`` (the live ids, ascending). A deleted id may be given
    again. ValueError naming the first bad id otherwise."""
    a = check_ids(ids)
    if a.size != n_rows:
        raise ValueError(f"ids has {a.size} values for {n_rows} points: give one id per row.")
    if a.size == 0:
        return a
    if a.min() < 0:
        raise ValueError(
            f"ids must be >= 0, got {int(a[np.argmax(a < 0)])}: negative values mark missing "
            "neighbours in the answers."
        )
    order = np.argsort(a, kind="stable")
    repeat = np.flatnonzero(np.diff(a[order]) == 0)
    if repeat.size:
        raise ValueError(f"id {int(a[order[repeat[0]]])} is given more than once. Nothing was inserted.")
    if live.size:
        pos = np.minimum(np.searchsorted(live, a), live.size - 1)
        taken = live[pos] == a
        if taken.any():
            raise ValueError(
                f"id {int(a[np.argmax(taken)])} is already in the tree: delete it first to "
                "replace its point. Nothing was inserted."
            )
    return a


def delete_error(live, n_ids, ids):
    """The ValueError for the first id of ids that is not live or repeats
    (None if every id is fine). live: the live ids, ascending; n_ids: the
    number of ids issued."""
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


def check_k(k, n):
    """k of :meth:`CoverTree.query`: an int in [1, n]."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise ValueError(f"k must be an integer, got {k!r}.")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}.")
    if k > n:
        raise ValueError(f"k must be less than or equal to the number of training points ({n}), got {k}.")
    return int(k)


def check_eps(eps):
    """eps of an approximate k-nearest query: a real number >= 0 (inf
    allowed); ValueError otherwise."""
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or math.isnan(eps) or eps < 0:
        raise ValueError(
            f"eps must be a number >= 0 (0 for exact answers), got {eps!r}."
        )
    return float(eps)


def check_radius(r, name="r", n_queries=None):
    """A query radius: one real number >= 0, or, where ``n_queries`` is
    given, an array-like of one radius >= 0 per query (returned as a
    C-contiguous float64 array). ValueError otherwise."""
    if n_queries is not None and not isinstance(r, (str, bytes)) and np.ndim(r) == 1:
        return _check_radii(r, name, n_queries)
    if isinstance(r, bool) or not isinstance(r, numbers.Real):
        if isinstance(r, (str, bytes)):
            raise ValueError(f"{name} must be a number, got the string {r!r}.")
        if np.ndim(r) == 0 and r is not None:
            r = float(r)
        else:
            per_query = ("or an array of one radius per query" if n_queries is not None
                         else "pcct uses one radius for all queries here")
            raise ValueError(f"{name} must be a single number, {per_query}; got {r!r}.")
    r = float(r)
    if math.isnan(r) or r < 0:
        raise ValueError(f"radius == {r}, must be >= 0.")
    return r


def _check_radii(r, name, n_queries):
    """One radius per query: a float64 array of shape (n_queries,), each
    >= 0."""
    a = np.asarray(r)
    if a.dtype.kind not in "iuf" or a.dtype == np.bool_:
        raise ValueError(f"{name} must hold numbers, one radius per query; got dtype {a.dtype}.")
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.shape != (n_queries,):
        raise ValueError(
            f"{name} has shape {a.shape}, but there are {n_queries} queries: give one radius "
            "per query (shape (n_queries,)) or a single number."
        )
    bad = np.flatnonzero(~(a >= 0))
    if bad.size:
        raise ValueError(f"{name}[{int(bad[0])}] == {a[bad[0]]}, must be >= 0.")
    return a


def check_ranks(k):
    """The ranks of a list-like k (scipy's cKDTree: ``k=[1, 5, 10]``, the
    neighbours of those ranks, counting from 1) as an int64 array, or None
    for an int k (checked by :func:`check_k`)."""
    if isinstance(k, (str, bytes)) or np.ndim(k) == 0:
        return None
    a = np.asarray(k)
    if a.ndim != 1 or a.size == 0 or a.dtype.kind not in "iu" or (a < 1).any():
        raise ValueError(
            f"k must be an int >= 1 or a non-empty list of ranks, ints >= 1 counting from 1 "
            f"(k=[1, 5] asks for the nearest and the 5th nearest); got {k!r}."
        )
    return a.astype(np.int64)


def check_bound(bound, name="distance_upper_bound"):
    """A distance bound: a real number, not NaN (inf allowed; one <= 0
    admits no neighbour)."""
    if isinstance(bound, bool) or isinstance(bound, (str, bytes)) or np.ndim(bound) != 0:
        raise ValueError(f"{name} must be a single number, got {bound!r}.")
    try:
        bound = float(bound)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {bound!r}.") from None
    if math.isnan(bound):
        raise ValueError(f"{name} is NaN; give a number (inf for no bound).")
    return bound


def check_n_neighbors(n_neighbors, default, query_is_train, n_queries, n_fit):
    """n_neighbors of an estimator's k-neighbours query, checked as
    scikit-learn checks it (default: the constructor's value)."""
    if isinstance(n_neighbors, (bool, np.bool_)):
        raise TypeError(
            "n_neighbors does not take %s value, enter integer value" % type(n_neighbors)
        )
    if n_neighbors is None:
        n_neighbors = default
    elif n_neighbors <= 0:
        raise ValueError("Expected n_neighbors > 0. Got %d" % n_neighbors)
    elif not _is_int(n_neighbors):
        raise TypeError(
            "n_neighbors does not take %s value, enter integer value" % type(n_neighbors)
        )
    if n_neighbors is None:
        raise ValueError(
            "n_neighbors is None: pass n_neighbors to kneighbors or set it in the constructor."
        )
    n_neighbors = int(n_neighbors)
    if query_is_train and n_neighbors >= n_fit:
        raise ValueError(
            f"Expected n_neighbors < n_samples_fit, but n_neighbors = {n_neighbors}, "
            f"n_samples_fit = {n_fit}, n_samples = {n_queries}"
        )
    if not query_is_train and n_neighbors > n_fit:
        raise ValueError(
            f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {n_neighbors}, "
            f"n_samples_fit = {n_fit}, n_samples = {n_queries}"
        )
    return n_neighbors


def clean_points(X, dtype=None, n_features=None):
    """Whether X is already what check_array (numeric, finite, 2-D, C order)
    and as_float would return for dense points: a plain numpy array of
    float32 or float64 (of ``dtype``, if given), 2-D, C-contiguous, with at
    least one row and one column (``n_features``, if given) and finite
    values. Callers pass such points on as they are (the checks cost about
    0.1 to 0.2 ms a call, most of a small fit's or a single query's time);
    anything else, bad input included, takes the full checks and their
    messages. The finite test, a pass over X, comes last, after the tests
    that cost nothing."""
    return (
        type(X) is np.ndarray
        and X.ndim == 2
        and (X.dtype in DTYPES if dtype is None else X.dtype == dtype)
        and X.flags.c_contiguous
        and X.shape[0] > 0
        and X.shape[1] > 0
        and (n_features is None or X.shape[1] == n_features)
        # One pass, no temporary: a sum is finite only if every value is
        # (an overflowing sum of finite values takes the full check).
        and bool(np.isfinite(X.sum()))
    )


def as_float(X, dtype=None, name="X"):
    """Points checked by check_array (numeric, finite, 2-D) as float32 or
    float64, C-contiguous: in ``dtype``, or, when it is None, float32 and
    float64 kept and anything else in float64.

    A value too large for the target dtype (1e39 for a model fitted in
    float32) is a ValueError saying so, rather than the infinity the
    conversion would make.
    """
    if dtype is None:
        if X.dtype in DTYPES:
            return X
        dtype = np.float64
    dtype = np.dtype(dtype)
    if X.dtype == dtype:
        return X
    if X.dtype.kind == "f" and X.dtype.itemsize > dtype.itemsize and X.size:
        top = np.finfo(dtype).max
        big = np.abs(X)
        at = int(np.argmax(big))
        if big.flat[at] > top:
            row, col = np.unravel_index(at, X.shape)
            raise ValueError(
                f"{name} has the value {float(X[row, col]):g} at row {row}, column {col}, "
                f"beyond the range of {dtype.name} (+-{float(top):.3g}), the dtype this model "
                f"holds its points in. Refit on float64 data (X.astype(numpy.float64)) to "
                "use such values."
            )
    return np.ascontiguousarray(X, dtype=dtype)


def check_mode(mode):
    """The mode of a neighbours graph: "connectivity" or "distance"."""
    if mode not in MODES:
        raise ValueError(
            'Unsupported mode, must be one of "connectivity", '
            f'or "distance" but got "{mode}" instead'
        )
    return mode


# -- estimator parameters ----------------------------------------------------------


def _invalid(owner, name, expected, value):
    return InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {value!r} instead."
    )


def _options(values):
    return "{" + ", ".join(repr(v) for v in sorted(values)) + "}"


def _check_n_neighbors_param(owner, v):
    if v is not None and (isinstance(v, bool) or not _is_int(v) or v < 1):
        raise _invalid(owner, "n_neighbors", "an int in the range [1, inf) or None", v)


def _check_radius_param(owner, v):
    if v is not None and (not _is_real(v) or math.isnan(v) or v < 0):
        raise _invalid(owner, "radius", "a float in the range [0.0, inf] or None", v)


def _check_metric_param(owner, v):
    if is_distance_metric(v):
        v = from_distance_metric(v, owner)[0]
    if callable(v):
        return  # a Python function (slow: see _callback.py)
    if not isinstance(v, str) or v not in METRICS:
        raise InvalidParameterError(
            f"The 'metric' parameter of {owner} must be a str among {_options(METRICS)}. "
            f"Got {v!r} instead: {metric_hint(v)}."
        )


def _check_p_param(owner, v):
    if v is not None and (not _is_real(v) or not v > 0):
        raise _invalid(owner, "p", "a float in the range (0.0, inf] or None", v)


def _check_metric_params_param(owner, v):
    if v is not None and not isinstance(v, dict):
        raise _invalid(owner, "metric_params", "an instance of 'dict' or None", v)


def _check_n_jobs_param(owner, v):
    if v is not None and (isinstance(v, bool) or not _is_int(v)):
        raise _invalid(owner, "n_jobs", "an instance of 'int' or None", v)


def _check_verbose_param(owner, v):
    if not isinstance(v, (bool, np.bool_, numbers.Integral)):
        raise _invalid(owner, "verbose", "an instance of 'bool' or 'int'", v)


def _check_search_param(owner, v):
    search_code(v, owner)


def _check_algorithm_param(owner, v):
    if not isinstance(v, str) or v not in ALGORITHMS:
        hint = _OTHER_ALGORITHMS.get(v) if isinstance(v, str) else None
        raise InvalidParameterError(
            f"The 'algorithm' parameter of {owner} must be a str among "
            f"{_options(ALGORITHMS)}. Got {v!r} instead" + (f": {hint}." if hint else ".")
        )


def _check_device_param(owner, v):
    device_code(v, owner)


def _check_mode_param(owner, v):
    if not isinstance(v, str) or v not in MODES:
        raise _invalid(owner, "mode", f"a str among {_options(MODES)}", v)


# The check of each estimator parameter, in the order they are checked
# (scikit-learn's _parameter_constraints, written out).
_PARAM_CHECKS = {
    "n_neighbors": _check_n_neighbors_param,
    "radius": _check_radius_param,
    "mode": _check_mode_param,
    "metric": _check_metric_param,
    "p": _check_p_param,
    "metric_params": _check_metric_params_param,
    "n_jobs": _check_n_jobs_param,
    "verbose": _check_verbose_param,
    "search": _check_search_param,
    "algorithm": _check_algorithm_param,
    "device": _check_device_param,
}


def device_code(device, owner):
    """The C ABI code of an estimator's ``device`` parameter
    (InvalidParameterError if unknown)."""
    if not isinstance(device, str) or device not in DEVICES:
        raise _invalid(owner, "device", f"a str among {_options(DEVICES)}", device)
    return DEVICES[device]


def parse_device(device, owner="CoverTree"):
    """Return the device code of a device name (ValueError if unknown)."""
    if not isinstance(device, str) or device not in DEVICES:
        raise ValueError(
            f"Unsupported device {device!r} for {owner}: use one of "
            f"{', '.join(repr(d) for d in DEVICES)}."
        )
    return DEVICES[device]


def check_device(device, code, p, owner, weighted=False):
    """For device "cuda": raise ValueError, saying why, if no GPU is usable
    or the GPU has no kernel for the metric (code, p; a weighted Minkowski
    metric has none). Other devices pass: "auto" falls back to the CPU."""
    if device != "cuda":
        return
    gpu_metric = not weighted and (
        code in _GPU_METRICS or (code == _MINKOWSKI and p in (1.0, 2.0, math.inf)))
    if not gpu_metric:
        raise ValueError(
            f"{owner}(device='cuda') needs a metric the GPU computes (euclidean, "
            f"cosine, manhattan, chebyshev, or minkowski with p=1, 2 or inf and no "
            f"weights); got {METRIC_NAMES[code]!r}. Use device='cpu', or 'auto', which runs "
            "it on the CPU."
        )
    from ._lib import gpu_info

    usable, why = gpu_info()
    if not usable:
        raise ValueError(
            f"{owner}(device='cuda') needs a usable GPU, and there is none: {why}. "
            "Use device='auto' (the GPU where there is one, else the CPU) or 'cpu'."
        )


def search_code(search, owner):
    """The C ABI code of an estimator's ``search`` parameter
    (InvalidParameterError if unknown)."""
    if not isinstance(search, str) or search not in SEARCHES:
        raise _invalid(owner, "search", f"a str among {_options(SEARCHES)}", search)
    return SEARCHES[search]


@functools.lru_cache(maxsize=64)
def _param_names(cls):
    """The constructor parameters of an estimator class, as
    ``get_params`` lists them."""
    return tuple(cls._get_param_names())


def check_estimator_params(est):
    """Check an estimator's constructor parameters (those of ``_PARAM_CHECKS``
    it has) and resolve its metric, as scikit-learn does.

    Returns
    -------
    code : int
        The C ABI metric code.
    p : float
        The Minkowski power the library takes.
    effective_metric : str
        ``effective_metric_``: "minkowski" with p = 1, 2 or inf becomes
        "manhattan", "euclidean" or "chebyshev".
    effective_params : dict
        ``effective_metric_params_``.
    """
    owner = type(est).__name__
    # get_params(deep=False), without reading the constructor's signature
    # again at every fit (under cProfile, 2,000 fits of 100 x 3 points
    # spent 0.19 of their 0.91 s in _get_param_names).
    params = {name: getattr(est, name) for name in _param_names(type(est))}
    for name, check in _PARAM_CHECKS.items():
        if name in params:
            check(owner, params[name])

    metric, p = params["metric"], params["p"]
    mparams = {} if params["metric_params"] is None else dict(params["metric_params"])
    if is_distance_metric(metric):
        # A DistanceMetric carries its parameters: they replace
        # metric_params, and p (whose default would otherwise disagree).
        metric, mparams = from_distance_metric(metric, owner)
        p = None
    if callable(metric):
        # A Python function: metric_params are its keyword arguments, as in
        # scikit-learn; effective_metric_ is the function.
        if p not in (None, 2):
            raise ValueError(
                f"The 'p' parameter of {owner} only applies to metric='minkowski', but got "
                f"p={p!r} with a Python function as metric; pass it to the function through "
                "metric_params instead."
            )
        return CUSTOM, 2.0, metric, mparams
    takes = _METRIC_KEYS.get(metric, set())
    unknown = sorted(set(mparams) - {"p", "w"} - takes)
    if unknown:
        extra = ", ".join(repr(k) for k in sorted(takes - {"w"}))
        raise ValueError(
            f"Unsupported metric_params {unknown} for metric={metric!r}: it takes "
            + (f"{extra} and " if extra else "")
            + "'p' (the Minkowski power"
            + (", with 'w', its weights)." if metric == "minkowski" else ").")
        )
    if mparams.get("w") is not None and metric != "minkowski":
        raise ValueError(
            f"metric_params['w'] (weights) applies to metric='minkowski', not {metric!r}."
        )
    if "p" in mparams and p is not None:
        warnings.warn(
            "Parameter p is found in metric_params. "
            "The corresponding parameter from __init__ is ignored.",
            SyntaxWarning,
            stacklevel=5,  # the user's call of fit (through _fit and _check_params)
        )
    effective_p = mparams.get("p", p)
    effective_metric = metric
    if metric == "minkowski":
        w = mparams.pop("w", None)
        mp = mparams.pop("p", effective_p)
        mp = 2 if mp is None else mp
        if not _is_real(mp) or math.isnan(mp) or mp < 1:
            raise ValueError(
                f"{owner} does not support p = {mp} for the Minkowski "
                "metric: with 0 < p < 1 it is not a distance metric (it breaks the "
                "triangle inequality a cover tree relies on). Set p >= 1."
            )
        if w is not None:
            # Weighted: its own kernel, whatever p (scikit-learn keeps the
            # name "minkowski" then).
            mparams["p"], mparams["w"] = mp, w
            return _MINKOWSKI, float(mp), effective_metric, mparams
        if mp == 1:
            effective_metric = "manhattan"
        elif mp == 2:
            effective_metric = "euclidean"
        elif mp == np.inf:
            effective_metric = "chebyshev"
        else:
            mparams["p"] = mp
            mparams["w"] = None
        code, tp = parse_metric("minkowski", mp)
    else:
        # p only applies to "minkowski" (scikit-learn's default metric):
        # refuse a p that would silently be ignored.
        if "p" in mparams:
            check_p_applies(metric, mparams["p"], owner, "metric_params['p']")
        else:
            check_p_applies(metric, p, owner, "p")
        mparams.pop("w", None)
        code, tp = parse_metric(metric, None)
    return code, tp, effective_metric, mparams
