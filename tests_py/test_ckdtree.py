"""scipy.spatial.cKDTree's calls on CoverTree, checked against cKDTree on
the same data: count_neighbors (one radius or many, cumulative or not),
query_pairs, query_ball_tree, sparse_distance_matrix (every output type),
query with ranks and distance_upper_bound, and one 1-D point as a query.

Integer grids (duplicates, distances tied to the last bit, integer radii on
them) are compared exactly: there both libraries decide d <= r without
rounding. Random and real data too; cosine and haversine, which cKDTree
does not offer, against brute force.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import cKDTree

from pcct import CoverTree
from conftest import load_dataset, reference_distances, subsample_keeping_duplicates

# (metric, cKDTree's p)
SCIPY_METRICS = [("euclidean", 2), ("manhattan", 1), ("chebyshev", np.inf), ("minkowski", 3)]


def grid(rng, n, d, top=4):
    return rng.integers(0, top, size=(n, d)).astype(np.float64)


def pcct_tree(X, metric, p, **kw):
    if metric == "minkowski":
        return CoverTree(X, metric="minkowski", p=p, **kw)
    return CoverTree(X, metric=metric, **kw)


@pytest.fixture(params=["grid", "random"])
def data(request):
    rng = np.random.default_rng(7)
    if request.param == "grid":
        return grid(rng, 300, 3), grid(rng, 120, 3), [0, 1, 2, 3, 4.5]
    return rng.normal(size=(300, 3)), rng.normal(size=(120, 3)), [0, 0.3, 0.8, 1.5, 4.0]


@pytest.mark.parametrize("metric,p", SCIPY_METRICS)
def test_count_neighbors(data, metric, p):
    X, Y, radii = data
    a, b = pcct_tree(X, metric, p, n_jobs=2), pcct_tree(Y, metric, p)
    ca, cb = cKDTree(X), cKDTree(Y)
    for other, cother in ((b, cb), (a, ca)):
        got = a.count_neighbors(other, radii)
        assert got.dtype == np.int64 and got.shape == (len(radii),)
        np.testing.assert_array_equal(got, ca.count_neighbors(cother, radii, p=p))
        shuffled = radii[::-1]
        np.testing.assert_array_equal(a.count_neighbors(other, shuffled),
                                      ca.count_neighbors(cother, shuffled, p=p))
        np.testing.assert_array_equal(a.count_neighbors(other, radii, cumulative=False),
                                      ca.count_neighbors(cother, radii, p=p, cumulative=False))
        one = a.count_neighbors(other, radii[2])
        assert isinstance(one, int) and one == ca.count_neighbors(cother, radii[2], p=p)
    assert a.count_neighbors(b, [-1.0, np.inf]).tolist() == [0, len(X) * len(Y)]


@pytest.mark.parametrize("metric,p", SCIPY_METRICS)
def test_query_pairs(data, metric, p):
    X, _, radii = data
    a, c = pcct_tree(X, metric, p, n_jobs=2), cKDTree(X)
    for r in radii:
        want = c.query_pairs(r, p=p)
        assert a.query_pairs(r) == want
        arr = a.query_pairs(r, output_type="ndarray")
        assert arr.dtype == np.int64 and arr.shape == (len(want), 2)
        assert [tuple(x) for x in arr.tolist()] == sorted(want)  # ordered by i, then j
    assert a.query_pairs(-1.0) == set()
    assert a.query_pairs(-1.0, output_type="ndarray").shape == (0, 2)


@pytest.mark.parametrize("metric,p", SCIPY_METRICS)
def test_query_ball_tree(data, metric, p):
    X, Y, radii = data
    a, b = pcct_tree(X, metric, p), pcct_tree(Y, metric, p, n_jobs=2)
    ca, cb = cKDTree(X), cKDTree(Y)
    for r in radii:
        got = a.query_ball_tree(b, r)
        want = ca.query_ball_tree(cb, r, p=p)
        assert len(got) == len(X)
        assert got == [sorted(w) for w in want]
        assert b.query_ball_tree(b, r) == [sorted(w) for w in cb.query_ball_tree(cb, r, p=p)]


@pytest.mark.parametrize("metric,p", SCIPY_METRICS)
@pytest.mark.parametrize("output_type", ["dok_matrix", "coo_matrix", "dict", "ndarray"])
def test_sparse_distance_matrix(data, metric, p, output_type):
    X, Y, radii = data
    a, b = pcct_tree(X, metric, p, n_jobs=2), pcct_tree(Y, metric, p)
    ca, cb = cKDTree(X), cKDTree(Y)
    r = radii[1]
    for other, cother in ((b, cb), (a, ca)):
        got = a.sparse_distance_matrix(other, r, output_type=output_type)
        want = ca.sparse_distance_matrix(cother, r, p=p, output_type=output_type)
        if output_type == "ndarray":
            assert got.dtype.names == ("i", "j", "v")
            key = np.lexsort((want["j"], want["i"]))
            want = want[key]
            np.testing.assert_array_equal(got["i"], want["i"])
            np.testing.assert_array_equal(got["j"], want["j"])
            np.testing.assert_allclose(got["v"], want["v"], rtol=1e-12, atol=1e-12)
            continue
        if output_type == "dict":
            assert isinstance(got, dict) and got.keys() == {(int(i), int(j)) for i, j in want}
            keys = list(got)
            np.testing.assert_allclose([got[k] for k in keys], [want[k] for k in keys],
                                       rtol=1e-12, atol=1e-12)
            continue
        assert isinstance(got, sp.dok_matrix if output_type == "dok_matrix" else sp.coo_matrix)
        assert got.shape == want.shape and got.nnz == want.nnz  # zeros kept, as in scipy
        diff = (got.tocsr() - want.tocsr()).tocoo()
        assert np.abs(diff.data).max(initial=0) <= 1e-12


def test_ranks_and_distance_upper_bound(data):
    X, Y, _ = data
    a, c = CoverTree(X, n_jobs=2), cKDTree(X)
    scale = np.abs(X).max()
    for k in ([1, 5, 10], [3], [10, 1, 2]):
        d, i = a.query(Y, k=k)
        cd, ci = c.query(Y, k=k)
        np.testing.assert_allclose(d, cd, rtol=1e-12, atol=1e-12 * scale)
        ref = reference_distances(Y, X, "euclidean", 2)
        np.testing.assert_allclose(ref[np.arange(len(Y))[:, None], i], d, rtol=1e-12,
                                   atol=1e-12 * scale)
    for bound in (0.0, 0.5, 1.0, 2.0, np.inf):
        for k in (1, 4, [1, 3, 8], len(X) + 5):
            d, i = a.query(Y, k=k, distance_upper_bound=bound)
            cd, ci = c.query(Y, k=k, distance_upper_bound=bound)
            cd, ci = cd.reshape(d.shape), ci.reshape(i.shape)  # scipy squeezes k=1
            np.testing.assert_allclose(d, cd, rtol=1e-12, atol=1e-12 * scale)
            missing = np.isinf(cd)
            # Missing neighbours: inf and one past every id, as scipy's n.
            np.testing.assert_array_equal(i[missing], len(X))
            ref = reference_distances(Y, X, "euclidean", 2)
            found = ~missing
            rows = np.nonzero(found)[0]
            np.testing.assert_allclose(ref[rows, i[found]], d[found], rtol=1e-12,
                                       atol=1e-12 * scale)
            assert np.all(d[found] < bound)


@pytest.mark.parametrize("search", ["depth_first", "corrected"])
def test_eps_with_distance_upper_bound(data, search):
    """eps and distance_upper_bound together, as scipy's cKDTree takes them:
    the j-th neighbour found is at most 1 + eps times as far as the true j-th
    below the bound, and a slot stays empty only where the true neighbour is
    within a factor 1 + eps of the bound."""
    X, Y, _ = data
    a = CoverTree(X, n_jobs=2, search=search)
    ref = np.sort(reference_distances(Y, X, "euclidean", 2), axis=1)
    k = 6
    for bound in (0.3, 1.0, np.inf):
        exact = a.query(Y, k=k, distance_upper_bound=bound)
        for eps in (0.0, 0.5, 3.0):
            d, i = a.query(Y, k=k, eps=eps, distance_upper_bound=bound)
            if eps == 0:
                np.testing.assert_array_equal(d, exact[0])
                np.testing.assert_array_equal(i, exact[1])
            truth = np.where(ref[:, :k] < bound, ref[:, :k], np.inf)
            found = i < len(X)
            assert np.all(np.isinf(d[~found]))
            assert np.all(d[found] < bound)
            assert np.all(d[found] <= truth[found] * (1 + eps) * (1 + 1e-12))
            # An empty slot: no true neighbour, or one within 1 + eps of the bound.
            assert np.all(truth[~found] * (1 + eps) >= bound * (1 - 1e-12))
            np.testing.assert_allclose(
                reference_distances(Y, X, "euclidean", 2)[np.nonzero(found)[0], i[found]],
                d[found], rtol=1e-12, atol=1e-12)
            for row in i:
                live = row[row < len(X)]
                assert len(set(live.tolist())) == len(live)


def test_tie_order_within_bound():
    """Ties are ordered by id, within a bound too (scipy leaves them in its
    tree's order)."""
    X = np.array([[0.0], [1.0], [-1.0], [1.0], [2.0]])
    a = CoverTree(X)
    d, i = a.query([[0.0]], k=4, distance_upper_bound=2.0)
    assert i.tolist() == [[0, 1, 2, 3]] and d.tolist() == [[0.0, 1.0, 1.0, 1.0]]
    d, i = a.query([[0.0]], k=[2, 5], distance_upper_bound=1.0)  # strictly nearer
    assert i.tolist() == [[5, 5]] and np.isinf(d).all()


def test_one_point_query():
    rng = np.random.default_rng(3)
    X = grid(rng, 200, 4)
    a = CoverTree(X)
    q = X[17]
    d, i = a.query(q, k=3)
    d2, i2 = a.query(q[None, :], k=3)
    assert d.shape == (3,) and i.shape == (3,)
    np.testing.assert_array_equal(d, d2[0])
    np.testing.assert_array_equal(i, i2[0])
    assert a.query(q, k=[2], return_distance=False).tolist() == i2[0, [1]].tolist()
    ind, dist = a.query_radius(q, 1.5, return_distance=True, sort_results=True)
    ind2, dist2 = a.query_radius(q[None, :], 1.5, return_distance=True, sort_results=True)
    np.testing.assert_array_equal(ind, ind2[0])
    np.testing.assert_array_equal(dist, dist2[0])
    assert a.query_radius(q, 1.5, count_only=True) == len(ind)
    with pytest.raises(ValueError, match="features"):
        a.query(q[:3])


def test_after_deletions():
    """Ids of the survivors: pairs and rows follow the live ids."""
    rng = np.random.default_rng(4)
    X = grid(rng, 150, 2)
    a = CoverTree(X)
    dead = [0, 3, 4, 50, 149]
    a.delete(dead)
    live = np.setdiff1d(np.arange(len(X)), dead)
    c = cKDTree(X[live])
    want = {(int(live[i]), int(live[j])) for i, j in c.query_pairs(1.0)}
    assert a.query_pairs(1.0) == want
    got = a.query_ball_tree(a, 1.0)
    assert len(got) == len(live)
    assert got == [sorted(int(live[j]) for j in w) for w in c.query_ball_tree(c, 1.0)]
    assert a.count_neighbors(a, [0, 1, 2]).tolist() == c.count_neighbors(c, [0, 1, 2]).tolist()
    m = a.sparse_distance_matrix(a, 1.0)
    assert m.shape == (150, 150) and m.nnz == c.sparse_distance_matrix(c, 1.0).nnz
    d, i = a.query(X[:5], k=len(live) + 2, distance_upper_bound=np.inf)
    assert (i[:, -2:] == 150).all() and np.isinf(d[:, -2:]).all()
    assert not np.isin(i, dead).any()


@pytest.mark.parametrize("metric", ["cosine", "haversine"])
def test_joins_other_metrics(metric):
    """Metrics cKDTree does not have, against brute force."""
    rng = np.random.default_rng(5)
    if metric == "haversine":
        X = np.column_stack([rng.uniform(-1.5, 1.5, 200), rng.uniform(-3, 3, 200)])
        radii = [0.0, 0.2, 0.5, 1.0]
    else:
        X = grid(rng, 200, 3) + np.array([1.0, 0, 0])  # no zero vector
        radii = [0.0, 0.01, 0.1, 0.3]
    a = CoverTree(X, metric=metric, n_jobs=2)
    # The joins decide each pair as the radius search does, bit for bit.
    counts = a.count_neighbors(a, radii)
    for r, c in zip(radii, counts):
        assert c == a.query_radius(X, r, count_only=True).sum()
        ind = a.query_radius(X, r)
        assert a.query_pairs(r) == {(i, int(j)) for i, row in enumerate(ind) for j in row if i < j}
    # Brute force, at radii away from every distance (where rounding cannot
    # decide: parallel vectors' cosine distance is 0 or a few ulps).
    ref = reference_distances(X, X, metric, 2)
    for r, c in zip(radii, counts):
        if np.abs(ref - r).min() > 1e-9:
            assert c == (ref <= r).sum()
    m = a.sparse_distance_matrix(a, radii[-1], output_type="coo_matrix")
    np.testing.assert_allclose(m.data, ref[m.row, m.col], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["letter", "bunny", "zipcodes"])
def test_real_data(name, dataset_cache):
    X = load_dataset(name, dataset_cache)
    rng = np.random.default_rng(6)
    X = subsample_keeping_duplicates(X, 3000, rng)
    Y = X[rng.choice(len(X), 300, replace=False)]
    a, b = CoverTree(X, n_jobs=2), CoverTree(Y)
    ca, cb = cKDTree(X), cKDTree(Y)
    scale = np.median(cKDTree(Y).query(Y, k=5)[0][:, -1]) + 1e-3
    radii = [0.0, scale, 2 * scale, 5 * scale]
    np.testing.assert_array_equal(a.count_neighbors(a, radii), ca.count_neighbors(ca, radii))
    np.testing.assert_array_equal(a.count_neighbors(b, radii), ca.count_neighbors(cb, radii))
    assert a.query_pairs(radii[1]) == ca.query_pairs(radii[1])
    assert b.query_ball_tree(a, radii[2]) == [sorted(w) for w in cb.query_ball_tree(ca, radii[2])]
    m = b.sparse_distance_matrix(a, radii[1], output_type="coo_matrix")
    w = cb.sparse_distance_matrix(ca, radii[1], output_type="coo_matrix")
    assert m.nnz == w.nnz
    assert np.abs((m.tocsr() - w.tocsr()).data).max(initial=0) <= 1e-9 * scale


def test_float32_joins():
    rng = np.random.default_rng(8)
    X = grid(rng, 200, 3).astype(np.float32)
    a, c = CoverTree(X), cKDTree(X.astype(np.float64))
    assert a.query_pairs(1.0) == c.query_pairs(1.0)
    m = a.sparse_distance_matrix(a, 2.0, output_type="coo_matrix")
    assert m.dtype == np.float64 and m.nnz == c.sparse_distance_matrix(c, 2.0).nnz
    np.testing.assert_array_equal(a.count_neighbors(a, [0, 1, 2]), c.count_neighbors(c, [0, 1, 2]))


def test_join_errors():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(50, 3))
    a = CoverTree(X)
    with pytest.raises(TypeError, match="needs another pcct.CoverTree"):
        a.count_neighbors(cKDTree(X), 1.0)
    with pytest.raises(ValueError, match="differs from this one"):
        a.query_ball_tree(CoverTree(X, metric="manhattan"), 1.0)
    with pytest.raises(ValueError, match="differs from this one"):
        a.sparse_distance_matrix(CoverTree(X.astype(np.float32)), 1.0)
    with pytest.raises(ValueError, match="differs from this one"):
        a.count_neighbors(CoverTree(X[:, :2]), 1.0)
    with pytest.raises(ValueError, match="non-decreasing"):
        a.count_neighbors(a, [1.0, 0.5], cumulative=False)
    with pytest.raises(ValueError, match="NaN"):
        a.count_neighbors(a, [1.0, np.nan])
    with pytest.raises(ValueError, match="NaN"):
        a.query_pairs(np.nan)
    with pytest.raises(ValueError, match="single number"):
        a.query_pairs([1.0, 2.0])
    with pytest.raises(ValueError, match="output_type"):
        a.query_pairs(1.0, output_type="list")
    with pytest.raises(ValueError, match="output_type"):
        a.sparse_distance_matrix(a, 1.0, output_type="csr_matrix")
    with pytest.raises(ValueError, match="list of ranks"):
        a.query(X, k=[0, 2])
    with pytest.raises(ValueError, match="list of ranks"):
        a.query(X, k=[])
    with pytest.raises(ValueError, match="k must be less than or equal"):
        a.query(X, k=[1, 51])
    with pytest.raises(ValueError, match="distance_upper_bound is NaN"):
        a.query(X, distance_upper_bound=np.nan)


def test_brute_force_index_has_no_joins():
    """A BruteForceIndex has no tree: the joins and the bounded search say
    so (TypeError), on either side of a join; eps with a bound is refused."""
    from pcct import BruteForceIndex

    X = np.random.default_rng(21).random((60, 2))
    brute, tree = BruteForceIndex(X), CoverTree(X)
    calls = [
        lambda: brute.count_neighbors(tree, 0.1),
        lambda: tree.count_neighbors(brute, 0.1),
        lambda: brute.query_pairs(0.1),
        lambda: brute.query_ball_tree(tree, 0.1),
        lambda: tree.sparse_distance_matrix(brute, 0.1),
        lambda: brute.query(X[:3], k=2, distance_upper_bound=0.2),
    ]
    for call in calls:
        with pytest.raises(TypeError, match="A BruteForceIndex has no tree"):
            call()
    # Without the bound, the brute-force index answers as the tree does.
    np.testing.assert_array_equal(brute.query(X[:3], k=[1, 3])[1], tree.query(X[:3], k=[1, 3])[1])
