"""Every true metric of scikit-learn's BallTree beyond the Lp family,
cosine and haversine: seuclidean (V), mahalanobis (V or VI), minkowski with
weights w, canberra, hamming and the boolean jaccard, rogerstanimoto,
sokalmichener and sokalsneath. Checked against scikit-learn's brute force
(its DistanceMetric computes the same terms in the same order, so
distances agree to the last bits and ties are real ties), on random,
grid and real data, both dtypes; and the refusals of the names that are
not metrics."""

from __future__ import annotations

import io
import pickle
import warnings

import numpy as np
import pytest
from sklearn.metrics import DistanceMetric
from sklearn.neighbors import VALID_METRICS
from sklearn.neighbors import NearestNeighbors as SkNN

import pcct
from pcct import CoverTree, NearestNeighbors
from conftest import check_kneighbors, check_radius, load_dataset, subsample_keeping_duplicates

BOOLEAN = ["jaccard", "rogerstanimoto", "sokalmichener", "sokalsneath", "hamming"]


def params_for(metric, X, rng):
    """metric_params for X's features, as a user would give them."""
    d = X.shape[1]
    if metric == "seuclidean":
        return {"V": X.var(axis=0, ddof=1) + 0.1}
    if metric == "mahalanobis-V":
        return {"V": np.cov(X, rowvar=False) + np.eye(d)}
    if metric == "mahalanobis":
        return {"VI": np.linalg.inv(np.cov(X, rowvar=False) + np.eye(d))}
    if metric.startswith("wminkowski"):
        return {"w": rng.uniform(0.25, 2.0, d), "p": float(metric[len("wminkowski"):])}
    return None


def sk_name(metric):
    if metric.startswith("wminkowski"):
        return "minkowski"
    return "mahalanobis" if metric == "mahalanobis-V" else metric


def reference(metric, params, Q, X):
    """scikit-learn's distances (its DistanceMetric) in float64."""
    kw = dict(params or {})
    if sk_name(metric) == "minkowski":
        kw = {"p": kw["p"], "w": kw["w"]}
    return DistanceMetric.get_metric(sk_name(metric), **kw).pairwise(
        np.asarray(Q, np.float64), np.asarray(X, np.float64))


def sk_algorithm(metric):
    """scikit-learn's brute force where it takes the metric, else its ball tree."""
    if metric == "mahalanobis-V" or sk_name(metric) not in VALID_METRICS["brute"]:
        return "ball_tree"
    return "brute"


def make_data(metric, kind, rng, n=400, nq=40):
    d = 8 if metric in BOOLEAN else 4
    if metric in BOOLEAN:
        X = (rng.random((n, d)) < 0.4).astype(np.float64)
        Q = (rng.random((nq, d)) < 0.4).astype(np.float64)
        X[:, 0] = Q[:, 0] = 1  # no all-zero row: scikit-learn's sokalsneath is 0/0 there
        if kind == "grid" and metric == "hamming":
            X = rng.integers(0, 3, (n, d)).astype(np.float64)
            Q = rng.integers(0, 3, (nq, d)).astype(np.float64)
        return X, Q
    if kind == "grid":
        return (rng.integers(-2, 3, (n, d)).astype(np.float64),
                rng.integers(-2, 3, (nq, d)).astype(np.float64))
    return rng.normal(size=(n, d)), rng.normal(size=(nq, d))


METRICS = ["seuclidean", "mahalanobis", "mahalanobis-V", "wminkowski1", "wminkowski2",
           "wminkowski3", "canberra"] + BOOLEAN


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("kind", ["grid", "random"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_against_sklearn(metric, kind, dtype):
    rng = np.random.default_rng(abs(hash((metric, kind))) % 2**32)
    X, Q = make_data(metric, kind, rng)
    X, Q = X.astype(dtype), Q.astype(dtype)
    params = params_for(metric, X.astype(np.float64), rng)
    nn = NearestNeighbors(n_neighbors=6, metric=sk_name(metric), metric_params=params,
                          n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # p in metric_params, as in scikit-learn
        nn.fit(X)
    ref = reference(metric, params, Q, X)
    # scikit-learn's brute force needs VI for mahalanobis and has no
    # sokalmichener; its ball tree takes them (the same DistanceMetric).
    algo = sk_algorithm(metric)
    sk = SkNN(n_neighbors=6, algorithm=algo, metric=sk_name(metric), metric_params=params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk.fit(X)
        sk_ans = sk.kneighbors(Q)
    dist, ind = nn.kneighbors(Q)
    scale = max(float(np.median(ref)), 1.0)
    check_kneighbors(dist, ind, ref, 6, dtype, sk=sk_ans, scale=scale)
    assert nn.effective_metric_ == sk.effective_metric_
    assert sorted(nn.effective_metric_params_) == sorted(sk.effective_metric_params_)
    r = float(np.quantile(ref, 0.05))
    rd, ri = nn.radius_neighbors(Q, r, sort_results=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk_r = sk.radius_neighbors(Q, r)
    check_radius(rd, ri, ref, r, dtype, sorted_=True, sk=sk_r, scale=scale)
    # The fitted points themselves (X=None).
    self_ref = reference(metric, params, X, X)
    d0, i0 = nn.kneighbors(n_neighbors=3)
    check_kneighbors(d0, i0, self_ref, 3, dtype, exclude_self=True, scale=scale)


@pytest.mark.parametrize("metric,name", [("seuclidean", "letter"), ("canberra", "letter"),
                                         ("mahalanobis", "magic"), ("jaccard", "letter"),
                                         ("wminkowski3", "zipcodes")])
def test_real_data(metric, name, dataset_cache):
    X = load_dataset(name, dataset_cache)
    rng = np.random.default_rng(3)
    X = subsample_keeping_duplicates(X, 2500, rng)
    if metric == "jaccard":
        X = (X > np.median(X, axis=0)).astype(np.float64)
        X[:, 0] = 1
    Q = X[rng.choice(len(X), 150, replace=False)]
    params = params_for(metric, X, rng)
    nn = NearestNeighbors(n_neighbors=5, metric=sk_name(metric), metric_params=params, n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        nn.fit(X)
    ref = reference(metric, params, Q, X)
    sk = SkNN(n_neighbors=5, algorithm=sk_algorithm(metric), metric=sk_name(metric),
              metric_params=params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk_ans = sk.fit(X).kneighbors(Q)
    dist, ind = nn.kneighbors(Q)
    check_kneighbors(dist, ind, ref, 5, np.float64, sk=sk_ans,
                     scale=max(float(np.median(ref)), 1.0))


def test_tree_with_params_pickles_saves_and_joins():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 3))
    V = X.var(axis=0, ddof=1)
    tree = CoverTree(X, metric="seuclidean", metric_params={"V": V})
    assert "seuclidean" in repr(tree) and tree.metric_params["V"] is not None
    Q = rng.normal(size=(10, 3))
    want = tree.query(Q, k=4)
    buf = io.BytesIO()
    tree.save(buf)
    buf.seek(0)
    for copy in (pickle.loads(pickle.dumps(tree)), pcct.load(buf)):
        np.testing.assert_array_equal(copy.query(Q, k=4)[1], want[1])
        np.testing.assert_array_equal(copy.metric_params["V"], V)
    ref = reference("seuclidean", {"V": V}, X, X)
    assert tree.count_neighbors(tree, 1.0) == (ref <= 1.0).sum()
    with pytest.raises(ValueError, match="differs from this one"):
        tree.count_neighbors(CoverTree(X, metric="seuclidean", metric_params={"V": V * 2}), 1.0)
    nn = NearestNeighbors(metric="mahalanobis", metric_params={"V": np.cov(X, rowvar=False)})
    nn.fit(X)
    buf = io.BytesIO()
    nn.save(buf)
    buf.seek(0)
    back = pcct.load(buf)
    np.testing.assert_array_equal(back.kneighbors(Q)[1], nn.kneighbors(Q)[1])
    np.testing.assert_array_equal(CoverTree((X > 0).astype(float), metric="jaccard").points([0]),
                                  (X[[0]] > 0).astype(float))
    assert CoverTree(X * 3, metric="jaccard").points([0]).tolist() == [(X[0] != 0).astype(float).tolist()]


@pytest.mark.parametrize("metric,why", [
    ("braycurtis", "not a metric"),
    ("dice", "not a metric"),
    ("russellrao", "not a metric"),
    ("kulsinski", "not a metric"),
    ("yule", "not a metric"),
    ("sqeuclidean", "not a metric"),
    ("correlation", "not a metric"),
    ("matching", "use 'hamming'"),
])
def test_non_metrics_refused(metric, why):
    X = np.random.default_rng(5).random((20, 3))
    with pytest.raises(ValueError, match=why):
        NearestNeighbors(metric=metric).fit(X)
    with pytest.raises(ValueError, match=why):
        CoverTree(X, metric=metric)


@pytest.mark.parametrize("metric,params,match", [
    ("seuclidean", None, "needs the variances V"),
    ("seuclidean", {"V": [1.0, 2.0]}, r"shape \(2,\)"),
    ("seuclidean", {"V": [1.0, 0.0, 2.0]}, "must be > 0"),
    ("seuclidean", {"V": [1.0, np.nan, 2.0]}, "NaN"),
    ("mahalanobis", None, "needs one of V"),
    ("mahalanobis", {"V": np.eye(3), "VI": np.eye(3)}, "needs one of V"),
    ("mahalanobis", {"VI": np.ones((3, 3))}, "positive definite"),
    ("mahalanobis", {"VI": np.triu(np.ones((3, 3)))}, "symmetric"),
    ("mahalanobis", {"V": np.zeros((3, 3))}, "singular"),
    ("minkowski", {"w": [1.0, 0.0, 1.0]}, "must be > 0"),
    ("minkowski", {"w": [1.0, 1.0]}, r"shape \(2,\)"),
    ("canberra", {"V": [1.0, 1.0, 1.0]}, "Unsupported metric_params"),
    ("euclidean", {"w": [1.0, 1.0, 1.0]}, "applies to metric='minkowski'"),
])
def test_bad_metric_params(metric, params, match):
    X = np.random.default_rng(6).random((20, 3))
    with pytest.raises(ValueError, match=match):
        NearestNeighbors(metric=metric, metric_params=params).fit(X)


def test_gpu_refuses_them():
    X = np.random.default_rng(7).random((20, 3))
    with pytest.raises(ValueError, match="needs a metric the GPU computes"):
        NearestNeighbors(metric="canberra", device="cuda").fit(X)
    with pytest.raises(ValueError, match="needs a metric the GPU computes"):
        NearestNeighbors(metric="minkowski", p=2, metric_params={"w": [1, 2, 3]},
                         device="cuda").fit(X)


def test_sokalsneath_zero_vectors():
    """Two all-zero vectors are 0 apart in pcct (a metric needs it);
    scikit-learn computes 0/0 there."""
    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    d, i = CoverTree(X, metric="sokalsneath").query([[0.0, 0.0]], k=3)
    assert d.tolist() == [[0.0, 0.0, 1.0]] and i.tolist() == [[0, 1, 2]]


@pytest.mark.parametrize("name,kw", [
    ("euclidean", {}), ("manhattan", {}), ("chebyshev", {}), ("minkowski", {"p": 3}),
    ("minkowski", {"p": 1.5, "w": [1.0, 2.0, 0.5, 1.0]}), ("seuclidean", {"V": [1.0, 2.0, 3.0, 0.5]}),
    ("mahalanobis", "VI"), ("canberra", {}), ("hamming", {}),
])
def test_distance_metric_objects(name, kw):
    """A scikit-learn DistanceMetric object as metric: served by the metric
    it names, with its parameters, as scikit-learn's ball tree serves it."""
    rng = np.random.default_rng(8)
    X, Q = rng.normal(size=(300, 4)), rng.normal(size=(30, 4))
    if name == "hamming":
        X, Q = rng.integers(0, 3, (300, 4)).astype(float), rng.integers(0, 3, (30, 4)).astype(float)
    if kw == "VI":
        kw = {"VI": np.linalg.inv(np.cov(X, rowvar=False))}
    dm = DistanceMetric.get_metric(name, **kw)
    nn = NearestNeighbors(n_neighbors=5, metric=dm).fit(X)
    sk = SkNN(n_neighbors=5, metric=dm, algorithm="ball_tree").fit(X)
    ref = dm.pairwise(Q, X)
    check_kneighbors(*nn.kneighbors(Q), ref, 5, np.float64, sk=sk.kneighbors(Q))
    assert nn.effective_metric_ == name
    tree = CoverTree(X, metric=dm)
    np.testing.assert_array_equal(tree.query(Q, k=5)[1], nn.kneighbors(Q)[1])
    back = pickle.loads(pickle.dumps(nn))
    np.testing.assert_array_equal(back.kneighbors(Q)[1], nn.kneighbors(Q)[1])


def test_distance_metric_objects_refused():
    X = np.random.default_rng(9).random((20, 3))
    with pytest.raises(ValueError, match="'braycurtis' is not served: it is not a metric"):
        NearestNeighbors(metric=DistanceMetric.get_metric("braycurtis")).fit(X)
    with pytest.raises(ValueError, match="cannot be given with a DistanceMetric"):
        CoverTree(X, metric=DistanceMetric.get_metric("seuclidean", V=np.ones(3)),
                  metric_params={"V": np.ones(3)})


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_brute_force_index_matches_tree(metric, dtype):
    """A BruteForceIndex (and algorithm='brute') serves every one of these
    metrics with its parameters, with the cover tree's answers bit for bit:
    k nearest, one radius per query (sorted and by id), and after pickling
    and saving (the parameters travel with the encoding)."""
    rng = np.random.default_rng(abs(hash((metric, "brute"))) % 2**32)
    X, Q = make_data(metric, "grid", rng, n=300, nq=25)
    X, Q = X.astype(dtype), Q.astype(dtype)
    params = params_for(metric, X.astype(np.float64), rng)
    kw = dict(metric=sk_name(metric), metric_params=params and dict(params))
    if metric.startswith("wminkowski"):
        kw["p"] = kw["metric_params"].pop("p")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        tree = CoverTree(X, **kw)
        brute = pcct.BruteForceIndex(X, **kw)
        nn = NearestNeighbors(n_neighbors=5, algorithm="brute", **kw).fit(X)
    assert type(brute) is pcct.BruteForceIndex and nn.effective_algorithm_ == "brute"
    want = tree.query(Q, k=5)
    ref = reference(metric, params, Q, X)
    check_kneighbors(want[0], want[1], ref, 5, dtype, scale=max(float(np.median(ref)), 1.0))
    buf = io.BytesIO()
    brute.save(buf)
    buf.seek(0)
    for index in (brute, pickle.loads(pickle.dumps(brute)), pcct.load(buf), nn.tree_):
        got = index.query(Q, k=5)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(nn.kneighbors(Q)[1], want[1])
    radii = want[0][:, rng.integers(0, 5, size=len(Q))].diagonal().astype(np.float64)
    for sort in (True, False):
        ti, td = tree.query_radius(Q, radii, return_distance=True, sort_results=sort)
        bi, bd = brute.query_radius(Q, radii, return_distance=True, sort_results=sort)
        assert sum(len(a) for a in ti) >= len(Q)  # each query finds its radius's neighbour
        for a, b, c, d in zip(ti, bi, td, bd):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(c, d)


def test_dbscan_refuses_metric_parameters():
    X = np.random.default_rng(9).random((30, 3))
    with pytest.raises(ValueError, match="the parameters V, VI and w are not supported here"):
        pcct.cluster.DBSCAN(eps=0.5, metric="seuclidean", metric_params={"V": np.ones(3)}).fit(X)
