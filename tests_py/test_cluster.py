"""pcct.cluster against scipy and scikit-learn: the minimum spanning tree's
weight, single linkage, DBSCAN and HDBSCAN labels, on random data with
duplicates and ties and on the real datasets, both dtypes, every metric;
trees after updates and snapshots; bad input."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import scipy.cluster.hierarchy as sch
import sklearn.cluster as skc
from sklearn.utils.estimator_checks import parametrize_with_checks
from scipy.sparse.csgraph import minimum_spanning_tree as csgraph_mst
from scipy.spatial.distance import pdist

from conftest import load_dataset, reference_distances
from pcct import CoverTree, InvalidParameterError, NearestNeighbors
from pcct.cluster import (
    DBSCAN,
    HDBSCAN,
    dbscan,
    minimum_spanning_tree,
    single_linkage,
)

# (metric, p, scipy's/scikit-learn's name and parameters)
METRICS = [
    ("euclidean", None),
    ("manhattan", None),
    ("chebyshev", None),
    ("minkowski", 3),
    ("cosine", None),
    ("haversine", None),
]
DTYPES = [np.float64, np.float32]


def _data(kind, n, d, seed, metric="euclidean"):
    """Random points with the troubles clustering meets: 'blobs' (Gaussian
    clusters, a fifth of the rows repeated), 'grid' (small integers: ties
    and duplicates everywhere), 'uniform'."""
    rng = np.random.default_rng(seed)
    if metric == "haversine":
        d = 2
    if kind == "grid":
        X = rng.integers(0, 5, size=(n, d)).astype(float)
    elif kind == "uniform":
        X = rng.random((n, d))
    else:
        centers = rng.random((4, d)) * 10
        X = centers[rng.integers(0, 4, n)] + 0.4 * rng.normal(size=(n, d))
        dup = rng.random(n) < 0.2
        X[1:][dup[1:]] = X[:-1][dup[1:]]
    if metric == "haversine":
        lo, hi = X.min(axis=0), X.max(axis=0)
        X = (X - lo) / np.maximum(hi - lo, 1e-12) - 0.5
        X = X * np.array([np.pi * 0.9, 2 * np.pi * 0.9])
    if metric == "cosine":
        X = X + 0.5
    return X


def _dist(X, metric, p):
    return reference_distances(X, X, metric, 2 if p is None else p)


def _kw(metric, p):
    return {"metric": metric} | ({"p": p} if p is not None else {})


def _spanning(n, i, j):
    """Whether the n-1 edges (i, j) connect the n points."""
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(i, j):
        ra, rb = find(int(a)), find(int(b))
        if ra == rb:
            return False
        parent[ra] = rb
    return len(i) == n - 1


# -- minimum spanning tree ------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("metric,p", METRICS, ids=[m for m, _ in METRICS])
@pytest.mark.parametrize("kind", ["blobs", "grid", "uniform"])
def test_mst_weight_equals_scipy(kind, metric, p, dtype):
    X = _data(kind, 300, 3, 1, metric).astype(dtype)
    mst = minimum_spanning_tree(X, n_jobs=2, **_kw(metric, p))
    n = len(X)
    assert mst.i.dtype == np.int64 and mst.j.dtype == np.int64
    assert mst.distance.dtype == np.float64
    assert len(mst.i) == n - 1 and (mst.i < mst.j).all()
    assert (np.diff(mst.distance) >= 0).all()
    assert _spanning(n, mst.i, mst.j)
    D = _dist(X, metric, p)
    # Each edge's length is its points' distance; the total is scipy's on the
    # full matrix.
    tol = 1e-6 if (dtype == np.float32 and metric == "cosine") else 1e-12
    np.testing.assert_allclose(mst.distance, D[mst.i, mst.j], rtol=tol, atol=tol)
    assert _csgraph_weight(X, metric, p) == pytest.approx(mst.distance.sum(), rel=1e-9,
                                                          abs=tol * n)


def _csgraph_weight(X, metric, p):
    """The minimum spanning tree weight on the full distance matrix:
    scipy's, on the distinct rows (scipy reads a distance below 1e-8 as
    "no edge", and identical rows join at 0), or, where distinct rows can
    be 0 apart (parallel vectors under cosine), Prim's algorithm here."""
    if metric == "cosine":
        return _prim_weight(_dist(X, metric, p))
    return csgraph_mst(_dist(np.unique(X, axis=0), metric, p)).sum()


def _prim_weight(D):
    n = len(D)
    key = D[0].copy()
    done = np.zeros(n, dtype=bool)
    done[0] = True
    total = 0.0
    for _ in range(n - 1):
        k = np.where(done, np.inf, key)
        j = int(np.argmin(k))
        total += k[j]
        done[j] = True
        key = np.minimum(key, D[j])
    return total


def test_mst_ties_do_not_depend_on_n_jobs():
    X = _data("grid", 500, 2, 3)
    a = minimum_spanning_tree(X, n_jobs=1)
    b = minimum_spanning_tree(X, n_jobs=4)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("kind", ["blobs", "grid", "uniform"])
def test_mst_array_equals_tree(kind, d, dtype):
    # Euclidean rows of one to three features are spanned on a k-d tree
    # made for the call: the same edges, in the same order, as on a cover
    # tree over the rows (ties broken by row number on both routes), and
    # so the same single-linkage matrix.
    X = _data(kind, 400, d, 5).astype(dtype)
    for metric in (None, "euclidean", "minkowski"):
        kw = {} if metric is None else {"metric": metric} | ({"p": 2} if metric == "minkowski" else {})
        got = minimum_spanning_tree(X, n_jobs=2, **kw)
        want = minimum_spanning_tree(CoverTree(X), n_jobs=2)
        for x, y in zip(got, want):
            np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(single_linkage(X, n_jobs=2, **kw),
                                      single_linkage(CoverTree(X), n_jobs=2))
    assert _csgraph_weight(X, "euclidean", None) == pytest.approx(got.distance.sum(), rel=1e-9)


@pytest.mark.parametrize("name", ["letter", "magic", "bunny", "zipcodes"])
def test_mst_real_datasets(name, dataset_cache):
    X = load_dataset(name, dataset_cache)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    X = X[rng.choice(len(X), 2000, replace=False)]
    mst = minimum_spanning_tree(X, n_jobs=2)
    D = _dist(X, "euclidean", None)
    np.testing.assert_allclose(mst.distance, D[mst.i, mst.j], rtol=1e-12)
    assert mst.distance.sum() == pytest.approx(_csgraph_weight(X, "euclidean", None), rel=1e-12)


# -- single linkage --------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("metric,p", METRICS[:4], ids=[m for m, _ in METRICS[:4]])
@pytest.mark.parametrize("kind", ["blobs", "grid"])
def test_single_linkage_matches_scipy(kind, metric, p, dtype):
    X = _data(kind, 250, 3, 2, metric).astype(dtype)
    Z = single_linkage(X, **_kw(metric, p))
    sp_metric = {"manhattan": "cityblock"}.get(metric, metric)
    kw = {"p": p} if p is not None else {}
    Zs = sch.linkage(pdist(X.astype(np.float64), sp_metric, **kw), method="single")
    assert Z.shape == Zs.shape and Z.dtype == np.float64
    sch.is_valid_linkage(Z, throw=True)
    # Identical merge heights (scipy's order is by height too), sizes that
    # add up, and the same flat clusterings and cophenetic distances.
    np.testing.assert_allclose(Z[:, 2], Zs[:, 2], rtol=1e-12, atol=1e-12)
    assert (Z[:, 0] < Z[:, 1]).all()
    np.testing.assert_allclose(sch.cophenet(Z), sch.cophenet(Zs), rtol=1e-12, atol=1e-12)
    for t in np.quantile(Zs[:, 2], [0.1, 0.5, 0.9]):
        a = sch.fcluster(Z, t, criterion="distance")
        b = sch.fcluster(Zs, t, criterion="distance")
        assert _same_partition(a, b)


def _same_partition(a, b):
    """Whether two labellings group the points alike (up to renaming)."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_single_linkage_dendrogram_and_small():
    X = np.array([[0.0], [0.5], [5.0], [5.2]])
    Z = single_linkage(X)
    sch.dendrogram(Z, no_plot=True)
    np.testing.assert_array_equal(Z, sch.linkage(X, method="single"))
    assert sch.fcluster(Z, 1.0, criterion="distance").tolist() == [2, 2, 1, 1]
    with pytest.raises(ValueError, match="minimum of 2"):
        single_linkage([[1.0, 2.0]])


# -- DBSCAN ----------------------------------------------------------------------


def _eps(kind, metric):
    if metric == "cosine":
        return 0.002
    if metric == "haversine":
        return 0.15
    return {"grid": 1.0, "blobs": 0.5, "uniform": 0.2}[kind]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("metric,p", METRICS, ids=[m for m, _ in METRICS])
@pytest.mark.parametrize("kind", ["blobs", "grid", "uniform"])
def test_dbscan_matches_sklearn(kind, metric, p, dtype):
    X = _data(kind, 400, 3, 4, metric).astype(dtype)
    eps = _eps(kind, metric)
    for min_samples in (1, 4, 12):
        ours = DBSCAN(eps=eps, min_samples=min_samples, n_jobs=2, **_kw(metric, p)).fit(X)
        ref = skc.DBSCAN(eps=eps, min_samples=min_samples, algorithm="brute",
                         metric=metric, **({"p": p} if p else {})).fit(X.astype(np.float64))
        np.testing.assert_array_equal(ours.labels_, ref.labels_)
        np.testing.assert_array_equal(ours.core_sample_indices_, ref.core_sample_indices_)
        np.testing.assert_array_equal(ours.components_, X[ref.core_sample_indices_])
        assert ours.labels_.dtype == np.int64


def test_dbscan_sample_weight_and_function():
    X = _data("blobs", 500, 2, 5)
    w = np.random.default_rng(5).integers(0, 4, len(X)) - 0.5
    ours = DBSCAN(eps=0.4, min_samples=3).fit(X, sample_weight=w)
    ref = skc.DBSCAN(eps=0.4, min_samples=3).fit(X, sample_weight=w)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_array_equal(ours.core_sample_indices_, ref.core_sample_indices_)
    core, labels = dbscan(X, eps=0.4, min_samples=3, sample_weight=w)
    np.testing.assert_array_equal(labels, ref.labels_)
    np.testing.assert_array_equal(core, ref.core_sample_indices_)
    assert DBSCAN(eps=0.4).fit_predict(X).tolist() == skc.DBSCAN(eps=0.4).fit_predict(X).tolist()


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("d,side,eps", [(1, 400, 1.0), (2, 25, 2 ** 0.5), (2, 25, 5 ** 0.5),
                                         (3, 9, 3 ** 0.5), (3, 9, 2.0)])
def test_dbscan_grid_ties_duplicates(d, side, eps, dtype):
    # Euclidean rows of up to 3 features are clustered on a grid (with no
    # tree, or from a tree's points), and a pair is within eps as
    # scikit-learn's k-d tree decides it (its sum of squares at most
    # eps * eps): integer points, full of duplicates and of distances
    # exactly eps, against scikit-learn's default algorithm. At eps = sqrt(3) (as a float64) the two tests
    # of a pair disagree: sqrt(3.0) == eps, but 3.0 > eps * eps.
    X = np.random.default_rng(d * side).integers(0, side, (900, d)).astype(dtype)
    w = np.random.default_rng(7).integers(0, 3, len(X)) * 0.5
    mixed = []
    for min_samples, weights in ((1, None), (4, None), (12, None), (30, None), (3, w), (9, w)):
        ours = DBSCAN(eps=eps, min_samples=min_samples, n_jobs=2).fit(X, sample_weight=weights)
        ref = skc.DBSCAN(eps=eps, min_samples=min_samples).fit(X, sample_weight=weights)
        np.testing.assert_array_equal(ours.labels_, ref.labels_)
        np.testing.assert_array_equal(ours.core_sample_indices_, ref.core_sample_indices_)
        np.testing.assert_array_equal(ours.components_, X[ref.core_sample_indices_])
        # On a tree of such points DBSCAN clusters them on the grid too.
        on_tree = DBSCAN(eps=eps, min_samples=min_samples, n_jobs=2).fit(
            CoverTree(X), sample_weight=weights)
        np.testing.assert_array_equal(on_tree.labels_, ref.labels_)
        np.testing.assert_array_equal(on_tree.core_sample_indices_, ref.core_sample_indices_)
        mixed.append(0 < len(ref.core_sample_indices_) < len(X) and (ref.labels_ == -1).any())
    assert any(mixed)  # core points and noise in one setting at least


@pytest.mark.parametrize("d,side,eps,dtype", [
    (4, 7, 3 ** 0.5, np.float64), (4, 7, 3 ** 0.5, np.float32), (4, 7, 2.0, np.float64),
    (4, 7, 2.0, np.float32), (6, 5, 5 ** 0.5, np.float64), (6, 5, 5 ** 0.5, np.float32),
    (16, 2, 3 ** 0.5, np.float64)])
def test_dbscan_kd_ties_duplicates(d, side, eps, dtype):
    # Euclidean rows of 4 to 64 features are clustered on a k-d tree made
    # for the call, a pair within eps as on the grid (its sum of squares at
    # most eps * eps): integer points, full of duplicates and of distances
    # exactly eps, against scikit-learn's default algorithm (its k-d tree
    # up to 15 features; brute force above, which on float64 small
    # integers is exact, but on float32 ones puts pairs at exactly
    # eps = sqrt(3) within eps, unlike its own float64 answer).
    X = np.random.default_rng(d * side + 1).integers(0, side, (900, d)).astype(dtype)
    w = np.random.default_rng(11).integers(0, 3, len(X)) * 0.5
    mixed = []
    for min_samples, weights in ((1, None), (4, None), (12, None), (40, None), (3, w), (9, w)):
        ours = DBSCAN(eps=eps, min_samples=min_samples, n_jobs=2).fit(X, sample_weight=weights)
        ref = skc.DBSCAN(eps=eps, min_samples=min_samples).fit(X, sample_weight=weights)
        np.testing.assert_array_equal(ours.labels_, ref.labels_)
        np.testing.assert_array_equal(ours.core_sample_indices_, ref.core_sample_indices_)
        np.testing.assert_array_equal(ours.components_, X[ref.core_sample_indices_])
        mixed.append(0 < len(ref.core_sample_indices_) < len(X) and (ref.labels_ == -1).any())
    assert any(mixed)  # core points and noise in one setting at least


@pytest.mark.parametrize("name,eps,min_samples", [
    ("letter", 2.5, 5), ("magic", 16.0, 8), ("bunny", 0.005, 10), ("zipcodes", 0.2, 6),
])
def test_dbscan_real_datasets(name, eps, min_samples, dataset_cache):
    X = load_dataset(name, dataset_cache)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    X = X[rng.choice(len(X), min(len(X), 4000), replace=False)]
    for dtype in DTYPES:
        Xd = X.astype(dtype)
        ours = DBSCAN(eps=eps, min_samples=min_samples, n_jobs=2).fit(Xd)
        ref = skc.DBSCAN(eps=eps, min_samples=min_samples).fit(Xd)
        np.testing.assert_array_equal(ours.labels_, ref.labels_)
        np.testing.assert_array_equal(ours.core_sample_indices_, ref.core_sample_indices_)
    assert ref.labels_.max() > 0  # the setting makes several clusters


@pytest.mark.parametrize("name,eps", [("letter", 4.0), ("zipcodes", 0.1)])
def test_dbscan_real_datasets_min_samples_extremes(name, eps, dataset_cache):
    # min_samples 1 (every point a core point), 2 and 40: above the 32
    # neighbours a count records, so points that are not core points
    # overflow their records and search again for their labels. letter's
    # integers put many pairs exactly at eps = 4; zipcodes is full of
    # duplicates.
    X = load_dataset(name, dataset_cache)
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 1)
    X = X[rng.choice(len(X), min(len(X), 6000), replace=False)]
    for min_samples in (1, 2, 40):
        ours = DBSCAN(eps=eps, min_samples=min_samples, n_jobs=2).fit(X)
        ref = skc.DBSCAN(eps=eps, min_samples=min_samples).fit(X)
        np.testing.assert_array_equal(ours.labels_, ref.labels_)
        np.testing.assert_array_equal(ours.core_sample_indices_, ref.core_sample_indices_)
        if min_samples == 40:
            border = (ref.labels_ >= 0).sum() - len(ref.core_sample_indices_)
            assert ref.labels_.max() > 0 and border > 0  # clusters with border points


# -- HDBSCAN ---------------------------------------------------------------------


def _check_hdbscan(ours, ref):
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_array_equal(ours.probabilities_, ref.probabilities_)


HDBSCAN_SETTINGS = [
    {},
    {"min_cluster_size": 15, "min_samples": 5},
    {"min_cluster_size": 10, "min_samples": 1},
    {"min_cluster_size": 8, "alpha": 0.7},
    {"min_cluster_size": 8, "cluster_selection_method": "leaf"},
    {"min_cluster_size": 8, "cluster_selection_epsilon": 0.6},
    {"min_cluster_size": 8, "cluster_selection_method": "leaf", "cluster_selection_epsilon": 0.2},
    {"min_cluster_size": 8, "max_cluster_size": 60},
    {"min_cluster_size": 40, "allow_single_cluster": True},
    {"min_cluster_size": 40, "allow_single_cluster": True, "cluster_selection_epsilon": 1.0},
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("settings", HDBSCAN_SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "default")
def test_hdbscan_matches_sklearn(settings, dtype):
    X = _data("blobs", 600, 3, 6).astype(dtype)
    ours = HDBSCAN(n_jobs=2, **settings).fit(X)
    ref = skc.HDBSCAN(copy=True, **settings).fit(X)
    _check_hdbscan(ours, ref)
    if not settings.get("allow_single_cluster"):
        assert ref.labels_.max() >= 1  # several clusters: the setting is tested


@pytest.mark.parametrize("metric,p", METRICS[:3], ids=[m for m, _ in METRICS[:3]])
def test_hdbscan_metrics_exact(metric, p):
    # scikit-learn computes these distances by sequential sums, which pcct
    # reproduces: labels and probabilities are equal to the bit.
    X = _data("blobs", 500, 4, 7, metric)
    _check_hdbscan(HDBSCAN(min_cluster_size=8, metric=metric).fit(X),
                   skc.HDBSCAN(min_cluster_size=8, metric=metric, copy=True).fit(X))


@pytest.mark.parametrize("metric,p", METRICS[3:], ids=[m for m, _ in METRICS[3:]])
def test_hdbscan_other_metrics(metric, p):
    # Minkowski (math.Pow against C's pow), cosine (BLAS dot products) and
    # haversine may round differently by an ulp: the same clusters, and
    # probabilities within rounding.
    X = _data("blobs", 500, 3, 8, metric)
    params = {"metric_params": {"p": p}} if p else {}
    ours = HDBSCAN(min_cluster_size=8, metric=metric, **params).fit(X)
    ref = skc.HDBSCAN(min_cluster_size=8, metric=metric, copy=True, **params).fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.probabilities_, ref.probabilities_, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["magic", "bunny", "zipcodes"])
def test_hdbscan_real_datasets(name, dataset_cache):
    X = load_dataset(name, dataset_cache)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    X = X[rng.choice(len(X), 3000, replace=False)]
    for settings in ({}, {"min_cluster_size": 20, "min_samples": 5}):
        _check_hdbscan(HDBSCAN(n_jobs=2, **settings).fit(X),
                       skc.HDBSCAN(copy=True, **settings).fit(X))


def test_hdbscan_letter_identical(dataset_cache):
    # letter's features are small integers: distances and core distances
    # tie everywhere, and scikit-learn's Prim's algorithm takes one of
    # several equally light edges by its own rules. pcct replays those rules
    # over every edge that can be in a minimum spanning tree, so labels,
    # probabilities and the single-linkage tree are identical.
    X = load_dataset("letter", dataset_cache)
    X = X[np.random.default_rng(15).choice(len(X), 5000, replace=False)]
    for settings in ({}, {"min_cluster_size": 10, "min_samples": 3}):
        ours = HDBSCAN(n_jobs=2, **settings).fit(X)
        ref = skc.HDBSCAN(copy=True, **settings).fit(X)
        _check_hdbscan(ours, ref)
        assert ref.labels_.max() >= 1


@pytest.mark.parametrize("n,d,side,settings", [
    (600, 4, 5, {"min_cluster_size": 8}),
    (1500, 2, 30, {"min_cluster_size": 5}),
    (1500, 3, 8, {"min_cluster_size": 10, "min_samples": 3}),
    (1000, 6, 4, {"min_cluster_size": 5, "alpha": 0.5}),
    (800, 3, 12, {"min_cluster_size": 6, "cluster_selection_method": "leaf"}),
])
def test_hdbscan_integer_grid_identical(n, d, side, settings):
    # Integer grids: equal distances and duplicates everywhere, so that
    # many spanning trees are minimal; pcct takes scikit-learn's.
    X = np.random.default_rng(n + d).integers(0, side, size=(n, d)).astype(float)
    ours = HDBSCAN(n_jobs=2, **settings).fit(X)
    ref = skc.HDBSCAN(copy=True, **settings).fit(X)
    _check_hdbscan(ours, ref)
    tree = ref._single_linkage_tree_
    np.testing.assert_array_equal(ours.single_linkage_tree_,
                                  np.column_stack([tree["left_node"], tree["right_node"],
                                                   tree["value"], tree["cluster_size"]]))


def test_hdbscan_non_finite_rows_and_dbscan_clustering():
    X = _data("blobs", 400, 2, 10)
    X[3] = [np.inf, 0.0]
    X[7] = [np.nan, 1.0]
    X[9] = [np.nan, np.inf]
    ours = HDBSCAN(min_cluster_size=10).fit(X)
    ref = skc.HDBSCAN(min_cluster_size=10, copy=True).fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_array_equal(ours.probabilities_, ref.probabilities_)
    assert ours.labels_[3] == -2 and ours.labels_[7] == -3 and ours.labels_[9] == -3
    for cut in (0.2, 0.5, 1.5):
        for mcs in (1, 5, 20):
            np.testing.assert_array_equal(ours.dbscan_clustering(cut, mcs),
                                          ref.dbscan_clustering(cut, mcs))


# -- trees: updates and snapshots -------------------------------------------------


def test_clustering_a_tree_after_updates_and_snapshots():
    X = _data("blobs", 700, 3, 11)
    tree = CoverTree(X[:500], n_jobs=2)
    snap = tree.snapshot()
    tree.insert(X[500:])
    tree.delete(np.arange(0, 700, 3))
    live = tree.ids()
    Xl = X[live]
    # The current version: every result is that of the live points.
    mst = minimum_spanning_tree(tree)
    ref = minimum_spanning_tree(Xl)
    np.testing.assert_allclose(mst.distance, ref.distance)
    np.testing.assert_array_equal(live[ref.i], mst.i)
    np.testing.assert_array_equal(live[ref.j], mst.j)
    np.testing.assert_array_equal(single_linkage(tree), single_linkage(Xl))
    d = DBSCAN(eps=0.5).fit(tree)
    np.testing.assert_array_equal(d.labels_, skc.DBSCAN(eps=0.5).fit(Xl).labels_)
    np.testing.assert_array_equal(d.ids_, live)
    np.testing.assert_allclose(d.components_, Xl[d.core_sample_indices_])
    h = HDBSCAN(min_cluster_size=10).fit(tree)
    _check_hdbscan(h, skc.HDBSCAN(min_cluster_size=10, copy=True).fit(Xl))
    # The snapshot still holds the first 500 points; a fitted estimator works too.
    _check_hdbscan(HDBSCAN(min_cluster_size=10).fit(snap),
                   skc.HDBSCAN(min_cluster_size=10, copy=True).fit(X[:500]))
    nn = NearestNeighbors(algorithm="cover_tree").fit(X[:300])
    np.testing.assert_array_equal(DBSCAN(eps=0.5).fit(nn).labels_,
                                  skc.DBSCAN(eps=0.5).fit(X[:300]).labels_)
    # A brute-force index has no tree to cluster on: said, not crashed.
    brute = NearestNeighbors(algorithm="brute").fit(X[:300])
    for call in (lambda: DBSCAN(eps=0.5).fit(brute), lambda: minimum_spanning_tree(brute),
                 lambda: HDBSCAN(min_cluster_size=10).fit(brute.tree_)):
        with pytest.raises(TypeError, match="A BruteForceIndex has no tree, which clustering"):
            call()


def test_tree_metric_must_match():
    tree = CoverTree(_data("blobs", 50, 2, 12), metric="manhattan")
    with pytest.raises(ValueError, match="manhattan metric"):
        DBSCAN().fit(tree)
    assert len(minimum_spanning_tree(tree).i) == 49  # None: the tree's metric
    with pytest.raises(ValueError, match="tree built with the manhattan"):
        minimum_spanning_tree(tree, metric="euclidean")
    DBSCAN(metric="cityblock").fit(tree)


# -- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize("params,match", [
    ({"eps": 0}, "'eps' parameter"),
    ({"eps": -1.0}, "'eps' parameter"),
    ({"eps": "a"}, "'eps' parameter"),
    ({"min_samples": 0}, "'min_samples' parameter"),
    ({"min_samples": 2.5}, "'min_samples' parameter"),
    ({"metric": "precomputed"}, "'metric' parameter"),
    ({"metric": lambda a, b: 0.0}, "'metric' parameter"),
    ({"metric": "euclidean", "p": 3}, "only applies to metric='minkowski'"),
    ({"metric": "minkowski", "p": 0.5}, "p >= 1"),
    ({"n_jobs": 1.5}, "'n_jobs' parameter"),
])
def test_dbscan_bad_parameters(params, match):
    with pytest.raises((InvalidParameterError, ValueError), match=match):
        DBSCAN(**params).fit(np.zeros((5, 2)))


@pytest.mark.parametrize("params,match", [
    ({"min_cluster_size": 1}, "'min_cluster_size' parameter"),
    ({"min_samples": 0}, "'min_samples' parameter"),
    ({"cluster_selection_epsilon": -0.1}, "'cluster_selection_epsilon' parameter"),
    ({"max_cluster_size": 0}, "'max_cluster_size' parameter"),
    ({"alpha": 0.0}, "'alpha' parameter"),
    ({"cluster_selection_method": "best"}, "'cluster_selection_method' parameter"),
    ({"allow_single_cluster": "yes"}, "'allow_single_cluster' parameter"),
    ({"metric": "seuclidean"}, "scale the columns"),
    ({"metric_params": {"w": 1}}, "Unsupported metric_params"),
    ({"min_samples": 50}, r"min_samples \(50\) must be at most the number of samples"),
])
def test_hdbscan_bad_parameters(params, match):
    with pytest.raises((InvalidParameterError, ValueError), match=match):
        HDBSCAN(**params).fit(np.random.default_rng(0).random((20, 2)))


@pytest.mark.parametrize("estimator", [DBSCAN(), HDBSCAN()], ids=["DBSCAN", "HDBSCAN"])
def test_bad_arrays(estimator):
    from scipy.sparse import csr_matrix

    with pytest.raises(ValueError, match="Expected 2D array"):
        estimator.fit(np.zeros(5))
    with pytest.raises(ValueError, match="0 sample"):
        estimator.fit(np.zeros((0, 2)))
    with pytest.raises(TypeError, match="[Ss]parse"):
        estimator.fit(csr_matrix(np.eye(5)))
    with pytest.raises(ValueError):
        estimator.fit([["a", "b"]])


def test_bad_arrays_functions():
    with pytest.raises(ValueError, match="NaN"):
        DBSCAN().fit([[0.0, np.nan], [1.0, 1.0]])
    with pytest.raises(ValueError, match="NaN"):
        minimum_spanning_tree([[0.0, np.nan], [1.0, 1.0]])
    with pytest.raises(ValueError, match="zero vector"):
        minimum_spanning_tree([[0.0, 0.0], [1.0, 1.0]], metric="cosine")
    with pytest.raises(ValueError, match="latitude"):
        single_linkage([[100.0, 0.0], [1.0, 1.0]], metric="haversine")
    with pytest.raises(ValueError, match="n_samples=1"):
        HDBSCAN().fit([[1.0, 2.0]])
    with pytest.raises(ValueError, match="sample_weight"):
        DBSCAN().fit(np.zeros((4, 2)), sample_weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="without a metric"):
        minimum_spanning_tree(np.zeros((3, 2)), p=3)
    assert len(minimum_spanning_tree([[1.0, 2.0]]).i) == 0


@parametrize_with_checks([DBSCAN(), HDBSCAN()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
