"""Cosine and haversine, computed in Go, against scikit-learn's brute force;
what pcct refuses (non-metrics, bad input for a metric) and how
it says so."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors as SkNN

from conftest import check_kneighbors, check_radius, reference_distances
from pcct import CoverTree, InvalidParameterError, NearestNeighbors
import pcct

SUPPORTED = ("'canberra', 'chebyshev', 'cityblock', 'cosine', 'euclidean', 'hamming', "
             "'haversine', 'infinity', 'jaccard', 'l1', 'l2', 'mahalanobis', 'manhattan', "
             "'minkowski', 'rogerstanimoto', 'seuclidean', 'sokalmichener', 'sokalsneath'")


def _cosine_data(n, d, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[: n // 10] = np.round(X[: n // 10], 1)  # some near-ties
    X[5] = 3.0 * X[4]  # parallel vectors: cosine distance 0, a tie
    return X.astype(dtype)


def _latlon(n, seed, dtype=np.float64):
    """Points on the sphere, with some at the poles, on the antimeridian and
    duplicated."""
    rng = np.random.default_rng(seed)
    lat = np.arcsin(rng.uniform(-1, 1, n))  # uniform on the sphere
    lon = rng.uniform(-np.pi, np.pi, n)
    X = np.column_stack([lat, lon])
    X[0] = [np.pi / 2, 0.3]
    X[1] = [-np.pi / 2, -2.0]
    X[2] = [0.1, np.pi]
    X[3] = [0.1, -np.pi]  # the same point as X[2]
    X[4] = X[7]
    return X.astype(dtype)


DATA = {
    "cosine": lambda dtype, seed=0: _cosine_data(600, 12, seed, dtype),
    "haversine": lambda dtype, seed=0: _latlon(800, seed, dtype),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("metric", ["cosine", "haversine"])
def test_kneighbors_match_sklearn_brute(metric, dtype):
    X = DATA[metric](dtype)
    Q = DATA[metric](dtype, seed=1)[:150]
    k = 7
    ours = NearestNeighbors(n_neighbors=k, metric=metric).fit(X)
    theirs = SkNN(n_neighbors=k, metric=metric, algorithm="brute").fit(X.astype(np.float64))
    assert ours.effective_metric_ == theirs.effective_metric_ == metric
    assert ours.effective_metric_params_ == theirs.effective_metric_params_ == {}
    dist, ind = ours.kneighbors(Q)
    sk = theirs.kneighbors(Q.astype(np.float64))
    check_kneighbors(dist, ind, reference_distances(Q, X, metric, None), k, dtype, sk=sk)
    # X=None: every point, left out of its own answer.
    dist, ind = ours.kneighbors()
    sk = theirs.kneighbors()
    check_kneighbors(dist, ind, reference_distances(X, X, metric, None), k, dtype,
                     exclude_self=True, sk=sk)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("metric,radius", [("cosine", 0.3), ("haversine", 0.25)])
def test_radius_neighbors_match_sklearn_brute(metric, radius, dtype):
    X = DATA[metric](dtype)
    Q = DATA[metric](dtype, seed=2)[:100]
    ours = NearestNeighbors(radius=radius, metric=metric).fit(X)
    theirs = SkNN(radius=radius, metric=metric, algorithm="brute").fit(X.astype(np.float64))
    dist, ind = ours.radius_neighbors(Q, sort_results=True)
    sk = theirs.radius_neighbors(Q.astype(np.float64))
    check_radius(dist, ind, reference_distances(Q, X, metric, None), radius, dtype,
                 sorted_=True, sk=sk)
    dist, ind = ours.radius_neighbors()
    sk = theirs.radius_neighbors()
    check_radius(dist, ind, reference_distances(X, X, metric, None), radius, dtype,
                 exclude_self=True, sk=sk)


@pytest.mark.parametrize("metric", ["cosine", "haversine"])
def test_graphs_match_sklearn_brute(metric):
    X = DATA[metric](np.float64)[8:308]  # without the constructed ties
    ours = NearestNeighbors(n_neighbors=4, radius=0.2, metric=metric).fit(X)
    theirs = SkNN(n_neighbors=4, radius=0.2, metric=metric, algorithm="brute").fit(X)
    for mode in ("connectivity", "distance"):
        a = ours.kneighbors_graph(X[:50], mode=mode).toarray()
        b = theirs.kneighbors_graph(X[:50], mode=mode).toarray()
        np.testing.assert_allclose(a, b, atol=1e-12)
        a = ours.radius_neighbors_graph(mode=mode).toarray()
        b = theirs.radius_neighbors_graph(mode=mode).toarray()
        np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("metric", ["cosine", "haversine"])
def test_updates_and_tree_match_brute_force(metric):
    X = DATA[metric](np.float64)
    tree = CoverTree(X[:400], metric=metric)
    assert tree.metric == metric
    ids = tree.insert(X[400:])
    assert ids.tolist() == list(range(400, len(X)))
    tree.delete(np.arange(0, len(X), 3))
    live = tree.ids()
    Q = DATA[metric](np.float64, seed=3)[:80]
    dist, ind = tree.query(Q, k=5)
    ref = reference_distances(Q, X, metric, None)
    ref[:, np.setdiff1d(np.arange(len(X)), live)] = np.inf
    check_kneighbors(dist, ind, ref, 5, np.float64)
    counts = tree.query_radius(Q, 0.2, count_only=True)
    within = (ref <= 0.2 + 1e-12).sum(axis=1)
    boundary = (np.abs(ref - 0.2) <= 1e-12).sum(axis=1)
    assert np.all(np.abs(counts - within) <= boundary)


def test_cosine_is_scale_invariant_even_at_extreme_scales():
    X = _cosine_data(300, 6, 4)
    Q = _cosine_data(40, 6, 5)
    base = NearestNeighbors(n_neighbors=5, metric="cosine").fit(X).kneighbors(Q)
    for scale in (1e-150, 1e150):
        d, i = NearestNeighbors(n_neighbors=5, metric="cosine").fit(X * scale).kneighbors(Q)
        np.testing.assert_allclose(d, base[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(i[:, 0], base[1][:, 0])


def test_cosine_parallel_vectors_are_at_distance_zero():
    X = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    nn = NearestNeighbors(n_neighbors=3, metric="cosine").fit(X)
    d, i = nn.kneighbors([[5.0, 0.0]])
    assert i.tolist() == [[0, 1, 2]]
    np.testing.assert_allclose(d, [[0.0, 0.0, 1.0]], atol=1e-15)
    d, i = nn.kneighbors([[-3.0, 0.0]], n_neighbors=1)
    assert i.tolist() == [[3]] and d[0, 0] == pytest.approx(0.0, abs=1e-15)
    # Opposite vectors are at distance 2 (the maximum).
    assert nn.kneighbors([[1.0, 0.0]], n_neighbors=4)[0][0, -1] == pytest.approx(2.0)


def test_haversine_known_distance():
    """Paris to New York: about 5837 km on a sphere of radius 6371 km."""
    paris = np.radians([[48.8566, 2.3522]])
    new_york = np.radians([[40.7128, -74.0060]])
    nn = NearestNeighbors(n_neighbors=1, metric="haversine").fit(new_york)
    d, _ = nn.kneighbors(paris)
    assert 6371 * d[0, 0] == pytest.approx(5837, rel=2e-3)


@pytest.mark.parametrize("metric", ["cosine", "haversine"])
def test_metric_survives_pickle_and_save(metric, tmp_path):
    X = DATA[metric](np.float32)[:200]
    nn = NearestNeighbors(n_neighbors=3, metric=metric).fit(X)
    for twin in (pickle.loads(pickle.dumps(nn)), _saved(nn, tmp_path)):
        assert twin.effective_metric_ == metric and twin.tree_.metric == metric
        for a, b in zip(twin.kneighbors(X[:20]), nn.kneighbors(X[:20])):
            np.testing.assert_array_equal(a, b)


def _saved(obj, tmp_path):
    path = tmp_path / "model.pcct"
    obj.save(path)
    return pcct.load(path)


# -- what the metrics refuse ------------------------------------------------------


@pytest.mark.parametrize("where", ["fit", "insert", "query"])
def test_cosine_refuses_zero_vectors(where):
    X = _cosine_data(50, 3, 6)
    bad = X[:4].copy()
    bad[2] = 0.0
    match = r"X has a zero vector at row 2 \(1 in all\): the cosine distance is not defined for it"
    if where == "fit":
        with pytest.raises(ValueError, match=match.replace("row 2", "row 4")):
            NearestNeighbors(metric="cosine").fit(np.vstack([X[:2], bad]))
        with pytest.raises(ValueError, match=match):
            CoverTree(bad, metric="cosine")
        return
    nn = NearestNeighbors(n_neighbors=2, metric="cosine").fit(X)
    if where == "insert":
        with pytest.raises(ValueError, match=match):
            nn.insert(bad)
        assert nn.n_samples_fit_ == 50 and nn.n_ids_ == 50
    else:
        for call in (lambda: nn.kneighbors(bad), lambda: nn.radius_neighbors(bad),
                     lambda: nn.tree_.query(bad)):
            with pytest.raises(ValueError, match=match):
                call()


def test_go_refuses_zero_vectors_too():
    """Past the Python check, the library refuses them itself (ValueError)."""
    from pcct._validation import COSINE as _COSINE

    with pytest.raises(ValueError, match="point 1 is the zero vector, which has no cosine distance"):
        CoverTree._from_checked(np.array([[1.0, 0.0], [0.0, 0.0]]), _COSINE, 2.0, None, 0)
    tree = CoverTree(np.eye(2), metric="cosine")
    with pytest.raises(ValueError, match="query: .*point 0 is the zero vector"):
        tree._kneighbors(np.zeros((1, 2)), 1, 1)


def test_haversine_needs_two_features():
    with pytest.raises(ValueError, match="the haversine metric needs 2: \\(latitude, longitude\\) in radians"):
        NearestNeighbors(metric="haversine").fit(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="the haversine metric needs 2"):
        CoverTree(np.zeros((5, 1)), metric="haversine")


@pytest.mark.parametrize("where", ["fit", "insert", "query", "tree"])
def test_haversine_refuses_latitudes_beyond_the_poles(where):
    """Degrees instead of radians are the usual mistake: said so, not
    answered wrongly (the formula is no metric beyond the poles)."""
    X = _latlon(100, 7)
    degrees = np.degrees(X[:5])
    match = r"latitude .* at row \d: the haversine metric takes \(latitude, longitude\) in radians.*numpy.radians"
    if where == "fit":
        with pytest.raises(ValueError, match=match):
            NearestNeighbors(metric="haversine").fit(degrees)
        return
    if where == "tree":
        with pytest.raises(ValueError, match=match):
            CoverTree(degrees, metric="haversine")
        tree = CoverTree(X, metric="haversine")
        with pytest.raises(ValueError, match=match):
            tree.query(degrees)
        with pytest.raises(ValueError, match=match):
            tree.insert(degrees)
        return
    nn = NearestNeighbors(n_neighbors=2, metric="haversine").fit(X)
    with pytest.raises(ValueError, match=match):
        if where == "insert":
            nn.insert(degrees)
        else:
            nn.kneighbors(degrees)
    # Longitudes are free (any multiple of 2 pi names the same meridian), and
    # latitudes of exactly +-pi/2 are the poles.
    nn.kneighbors([[np.pi / 2, 10.0], [-np.float32(np.pi / 2), -7.0]])


@pytest.mark.parametrize(
    "metric,hint",
    [
        ("sqeuclidean", "not a metric .*use 'euclidean'"),
        ("correlation", "not a metric; subtract each row's mean and use 'cosine'"),
        ("braycurtis", "not a metric .*triangle inequality fails.*use 'canberra'"),
        ("dice", "not a metric .*use 'jaccard'"),
        ("russellrao", "not a metric: it puts a vector with zeros at a positive distance"),
        ("wminkowski", "use 'minkowski' with metric_params"),
        ("nonsense", "pcct does not implement it"),
    ],
)
def test_unsupported_metric_names_list_what_is_supported(metric, hint):
    with pytest.raises(InvalidParameterError,
                       match=rf"The 'metric' parameter of NearestNeighbors must be a str among "
                             rf"\{{{SUPPORTED}\}}. Got '{metric}' instead: .*{hint}"):
        NearestNeighbors(metric=metric).fit(np.eye(3))
    with pytest.raises(ValueError, match=rf"Unsupported metric '{metric}' for CoverTree: .*{hint}"):
        CoverTree(np.eye(3), metric=metric)


def test_callable_metric_is_served():
    """Python functions are metrics too (slow: test_callable.py checks
    them); an object that is neither a name nor a function is refused."""

    def my_distance(a, b):
        return float(np.abs(a - b).sum())

    d, i = NearestNeighbors(n_neighbors=2, metric=my_distance).fit(np.eye(3)).kneighbors([[1, 0, 0]])
    assert i.tolist() == [[0, 1]] and d.tolist() == [[0.0, 2.0]]
    assert CoverTree(np.eye(3), metric=my_distance).metric is my_distance
    with pytest.raises(ValueError, match=r"must be a str among \{" + SUPPORTED + r"\}. Got 3 instead: "
                                         r"a metric is named by a string"):
        NearestNeighbors(metric=3).fit(np.eye(3))


@pytest.mark.parametrize("metric", ["cosine", "haversine"])
def test_p_does_not_apply_to_cosine_or_haversine(metric):
    X = _latlon(20, 8)
    with pytest.raises(ValueError, match="only applies to metric='minkowski'"):
        NearestNeighbors(metric=metric, p=3).fit(X)
    with pytest.raises(ValueError, match="only applies to metric='minkowski'"):
        NearestNeighbors(metric=metric, p=None, metric_params={"p": 1}).fit(X)
    # The defaults are fine.
    assert NearestNeighbors(metric=metric, p=2).fit(X).effective_metric_ == metric
    assert NearestNeighbors(metric=metric, p=None).fit(X).effective_metric_ == metric


@pytest.mark.parametrize("p", [1, 1.5, 3, np.inf])
def test_minkowski_metric_params_p_still_works(p):
    X = np.random.default_rng(9).random((200, 4))
    ours = NearestNeighbors(n_neighbors=3, metric="minkowski", p=None, metric_params={"p": p}).fit(X)
    theirs = SkNN(n_neighbors=3, metric="minkowski", p=None, metric_params={"p": p},
                  algorithm="brute").fit(X)
    assert ours.effective_metric_ == theirs.effective_metric_
    assert ours.effective_metric_params_ == theirs.effective_metric_params_
    d, i = ours.kneighbors(X[:30])
    ds, is_ = theirs.kneighbors(X[:30])
    np.testing.assert_allclose(d, ds, rtol=1e-10)
    np.testing.assert_array_equal(i, is_)
