"""metric="precomputed": a square distance matrix (dense or a sparse graph)
instead of points, checked against scikit-learn's NearestNeighbors with the
same metric and against pcct's own Euclidean search on the points the
distances come from (ties by index in both)."""

import io
import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.neighbors import KNeighborsTransformer as SKKNeighborsTransformer
from sklearn.neighbors import NearestNeighbors as SKNearestNeighbors

import pcct
import pcct_datasets

DTYPES = [np.float64, np.float32]


def exact_distances(A, B, dtype):
    """Euclidean distances of integer points, exact (equal sums give equal
    values, so ties stay ties) and in dtype."""
    diff = A[:, None, :].astype(np.float64) - B[None, :, :]
    return np.sqrt((diff * diff).sum(axis=-1)).astype(dtype)


def tied_points(n=150, seed=0):
    """Integer points on a small grid: many duplicates and tied distances."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4, size=(n, 2)).astype(np.float64)


def stored_rows(G, leave_out_self=False):
    """Each row's stored (distance, column) pairs of a sparse graph, sorted
    by distance then column: the reference for sparse precomputed input."""
    G = sp.csr_matrix(G)
    rows = []
    for i in range(G.shape[0]):
        lo, hi = G.indptr[i], G.indptr[i + 1]
        pairs = sorted(zip(G.data[lo:hi].tolist(), G.indices[lo:hi].tolist()))
        rows.append([p for p in pairs if not (leave_out_self and p[1] == i)])
    return rows


def assert_knn_valid(D, dist, ind, k, skip_self=False):
    """dist/ind are k nearest of each row of the dense matrix D: distinct
    columns, the distances they have in D, ascending with ties by index,
    and the k smallest values of the row."""
    D = np.asarray(D.toarray() if sp.issparse(D) else D)
    for i in range(D.shape[0]):
        row = D[i].astype(np.float64)
        cols = np.arange(row.size)
        if skip_self:
            row, cols = np.delete(row, i), np.delete(cols, i)
        order = np.lexsort((cols, row))[:k]
        np.testing.assert_array_equal(ind[i], cols[order])
        np.testing.assert_array_equal(dist[i], row[order].astype(dist.dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_matches_sklearn_and_euclidean(dtype):
    X = tied_points()
    Q = tied_points(40, seed=1)
    D, DQ = exact_distances(X, X, dtype), exact_distances(Q, X, dtype)
    k = 6
    pre = pcct.NearestNeighbors(n_neighbors=k, metric="precomputed").fit(D)
    sk = SKNearestNeighbors(n_neighbors=k, metric="precomputed").fit(D)
    euc = pcct.NearestNeighbors(n_neighbors=k, algorithm="brute").fit(X.astype(dtype))
    assert pre.effective_algorithm_ == "brute" and pre.algorithm_choice_ is None
    assert pre.effective_metric_ == "precomputed" and pre.n_features_in_ == X.shape[0]
    assert pre.n_samples_fit_ == X.shape[0]
    for q, dq in ((Q.astype(dtype), DQ), (None, None)):
        dist, ind = pre.kneighbors(dq)
        assert dist.dtype == dtype and ind.dtype == np.int64
        ed, ei = euc.kneighbors(q)
        np.testing.assert_array_equal(ind, ei)  # ties by index in both
        np.testing.assert_allclose(dist, ed, rtol=1e-6)
        sd, _ = sk.kneighbors(dq)
        np.testing.assert_array_equal(dist, sd)  # sklearn may order ties otherwise
        assert_knn_valid(D if dq is None else DQ, dist, ind, k, skip_self=dq is None)
    # Radius: unsorted by index (as sklearn's brute force), sorted by
    # (distance, index); one radius or one per query.
    radii = np.random.default_rng(2).choice([0.0, 1.0, 1.5, 2.0], size=Q.shape[0])
    for r in (1.5, radii):
        for sort in (False, True):
            d1, i1 = pre.radius_neighbors(DQ, radius=r, sort_results=sort)
            d2, i2 = euc.radius_neighbors(Q.astype(dtype), radius=r, sort_results=sort)
            for a, b, c, e in zip(d1, i1, d2, i2):
                np.testing.assert_array_equal(b, e)
                np.testing.assert_allclose(a, c, rtol=1e-6)
            if np.ndim(r) == 0:
                d3, i3 = sk.radius_neighbors(DQ, radius=r, sort_results=sort)
                for a, b, c, e in zip(d1, i1, d3, i3):
                    np.testing.assert_array_equal(b, e)
                    np.testing.assert_array_equal(a, c)
    # X=None radius: each point left out of its own answer.
    d1, i1 = pre.radius_neighbors(radius=1.0, sort_results=True)
    d3, i3 = sk.radius_neighbors(radius=1.0, sort_results=True)
    for i, (b, e) in enumerate(zip(i1, i3)):
        assert i not in b
        assert sorted(b.tolist()) == sorted(e.tolist())
    assert pre.radius_neighbors(radius=1.0, return_distance=False)[0].dtype == np.int64


@pytest.mark.parametrize("dtype", DTYPES)
def test_graphs_match_euclidean(dtype):
    X = tied_points(120, seed=3)
    D = exact_distances(X, X, dtype)
    pre = pcct.NearestNeighbors(n_neighbors=4, radius=1.0, metric="precomputed").fit(D)
    euc = pcct.NearestNeighbors(n_neighbors=4, radius=1.0).fit(X.astype(dtype))
    for q, dq in ((None, None), (X[:30].astype(dtype), D[:30])):
        for mode in ("connectivity", "distance"):
            a = pre.kneighbors_graph(dq, mode=mode)
            b = euc.kneighbors_graph(q, mode=mode)
            np.testing.assert_array_equal(a.indices, b.indices)
            np.testing.assert_allclose(a.toarray(), b.toarray(), rtol=1e-6)
            a = pre.radius_neighbors_graph(dq, mode=mode, sort_results=mode == "distance")
            b = euc.radius_neighbors_graph(q, mode=mode, sort_results=mode == "distance")
            np.testing.assert_array_equal(a.indptr, b.indptr)
            np.testing.assert_array_equal(a.indices, b.indices)
            np.testing.assert_allclose(a.toarray(), b.toarray(), rtol=1e-6)
    # The graph of X=None is square: what a precomputed step takes.
    assert pre.kneighbors_graph().shape == (X.shape[0], X.shape[0])


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_graph_matches_sklearn(fmt, dtype):
    """Sparse input: missing entries are not neighbours, stored zeros
    (duplicates) are; the queries are sparse rows too."""
    X = tied_points(130, seed=4)
    G = SKNearestNeighbors(n_neighbors=9).fit(X).kneighbors_graph(mode="distance")
    G = G.astype(dtype)
    G.data[::7] = 0.0  # explicit zeros stay neighbours at distance 0
    G = G.asformat(fmt)
    k = 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn: "not sorted by row values"
        sk = SKNearestNeighbors(n_neighbors=k, metric="precomputed").fit(G)
        sd, si = sk.kneighbors(G)
        sr_d, sr_i = sk.radius_neighbors(G, radius=1.0)
    pre = pcct.NearestNeighbors(n_neighbors=k, metric="precomputed").fit(G)
    assert pre.tree_.dtype == dtype and pre.n_samples_fit_ == X.shape[0]
    dist, ind = pre.kneighbors(G)
    np.testing.assert_array_equal(dist, sd)
    ref = stored_rows(G)
    for i, r in enumerate(ref):
        assert [(float(a), int(b)) for a, b in zip(dist[i], ind[i])] == r[:k]
    # X=None: a row's diagonal entry is left out (sklearn drops the nearest
    # stored entry when the diagonal is not stored; pcct drops the diagonal
    # only).
    dist, ind = pre.kneighbors()
    for i, r in enumerate(stored_rows(G, leave_out_self=True)):
        assert [(float(a), int(b)) for a, b in zip(dist[i], ind[i])] == r[:k]
    # Radius: the stored entries within r, by index unsorted, by
    # (distance, index) sorted; sklearn lists the same entries.
    for sort in (False, True):
        rd, ri = pre.radius_neighbors(G, radius=1.0, sort_results=sort)
        for i, r in enumerate(ref):
            want = [p for p in r if p[0] <= 1.0]
            if not sort:
                want.sort(key=lambda p: p[1])
            assert [(float(a), int(b)) for a, b in zip(rd[i], ri[i])] == want
            assert sorted(ri[i].tolist()) == sorted(sr_i[i].tolist())
    radii = np.linspace(0.0, 2.0, X.shape[0])
    counts = [len(a) for a in pre.radius_neighbors(G, radius=radii, return_distance=False)]
    assert counts == [sum(p[0] <= radii[i] for p in r) for i, r in enumerate(ref)]


def test_real_dataset_matches_euclidean():
    try:
        X = pcct_datasets.pendigits()[:800]  # integer features: many ties
    except FileNotFoundError as e:
        pytest.skip(str(e))
    D = exact_distances(X, X, np.float64)
    pre = pcct.NearestNeighbors(n_neighbors=10, metric="precomputed", n_jobs=2).fit(D)
    euc = pcct.NearestNeighbors(n_neighbors=10).fit(X)
    d1, i1 = pre.kneighbors()
    d2, i2 = euc.kneighbors()
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(d1, d2, rtol=1e-12)
    r = float(np.median(d1[:, 4]))
    a = pre.radius_neighbors_graph(D[:200], radius=r, mode="distance")
    b = euc.radius_neighbors_graph(X[:200], radius=r, mode="distance")
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-12)
    # The sparse graph of the transformer, fed back as precomputed input.
    G = pcct.KNeighborsTransformer(n_neighbors=15, mode="distance").fit_transform(X)
    d3, i3 = pcct.NearestNeighbors(n_neighbors=10, metric="precomputed").fit(G).kneighbors()
    np.testing.assert_array_equal(i3, i2)
    np.testing.assert_allclose(d3, d2, rtol=1e-12)


def test_transformers_take_precomputed():
    X = tied_points(100, seed=5)
    D = exact_distances(X, X, np.float64)
    got = pcct.KNeighborsTransformer(n_neighbors=4, metric="precomputed").fit_transform(D)
    want = SKKNeighborsTransformer(n_neighbors=4, metric="precomputed").fit_transform(D)
    np.testing.assert_array_equal(got.indptr, want.indptr)
    np.testing.assert_array_equal(got.data, want.data)  # the same distances per row
    euc = pcct.KNeighborsTransformer(n_neighbors=4).fit_transform(X)
    np.testing.assert_array_equal(got.indices, euc.indices)
    got = pcct.RadiusNeighborsTransformer(radius=1.0, metric="precomputed").fit_transform(D)
    euc = pcct.RadiusNeighborsTransformer(radius=1.0).fit_transform(X)
    np.testing.assert_array_equal(got.indices, euc.indices)
    np.testing.assert_array_equal(got.toarray(), euc.toarray())


def test_snapshot_and_pickle_keep_answers():
    X = tied_points(60, seed=6)
    D = exact_distances(X, X, np.float32)
    nn = pcct.NearestNeighbors(n_neighbors=3, metric="precomputed").fit(D)
    want = nn.kneighbors()
    for other in (pickle.loads(pickle.dumps(nn)), nn.snapshot()):
        got = other.kneighbors()
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    # A sparse fit (csr_matrix drops the zeros: duplicates are then not
    # neighbours) pickles too.
    nn = pcct.NearestNeighbors(n_neighbors=3, metric="precomputed").fit(sp.csr_matrix(D))
    want = nn.kneighbors()
    got = pickle.loads(pickle.dumps(nn)).kneighbors()
    assert (want[0] > 0).all()
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert nn.__sklearn_tags__().input_tags.pairwise
    assert not pcct.NearestNeighbors().__sklearn_tags__().input_tags.pairwise


def _same_error(fit, call):
    """Run call on scikit-learn's and pcct's NearestNeighbors(metric=
    "precomputed") fitted by fit; both must raise the same exception with
    the same message."""
    out = []
    for cls in (SKNearestNeighbors, pcct.NearestNeighbors):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises((ValueError, TypeError)) as info:
                call(fit(cls))
        out.append((type(info.value), str(info.value)))
    assert out[0] == out[1]
    return out[1][1]


D3 = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])


def _with(value, at=(0, 1)):
    A = D3.copy()
    A[at] = value
    return A


@pytest.mark.parametrize(
    "fit_on,query,match",
    [
        (D3[:2], None, "Precomputed matrix must be square. Input is a 2x3 matrix."),
        (-D3, None, "Negative values in data passed to X"),
        (sp.csr_matrix(-D3), None, "Negative values in data passed to precomputed distance"),
        (_with(np.nan), None, "Input X contains NaN"),
        (sp.csr_matrix(_with(np.nan)), None, "contains NaN"),
        (_with(np.inf), None, "Input X contains infinity"),
        (D3, D3[:, :2], r"Precomputed metric requires shape \(n_queries, n_indexed\). "
                        r"Got \(3, 2\) for 3 indexed."),
        (D3, -D3, "Negative values in data passed to X"),
        (D3, sp.csr_matrix(-D3), "Negative values"),
        (D3, sp.dok_matrix(D3), "Sparse matrix in 'dok' format is not supported"),
        (sp.csr_matrix(D3), sp.csr_matrix(D3), "3 neighbors per samples are required, but some "
                                               "samples have only 2 neighbors in precomputed "
                                               "graph matrix"),
    ],
)
def test_bad_input_worded_as_sklearn(fit_on, query, match):
    def fit(cls):
        est = cls(n_neighbors=3 if sp.issparse(query) and query.shape[1] == 3 else 2,
                  metric="precomputed")
        return est if query is None else est.fit(fit_on)

    def call(est):
        if query is None:
            return est.fit(fit_on)
        return est.kneighbors(query)

    assert re.search(match, _same_error(fit, call))


def test_pcct_only_refusals():
    G = sp.csr_matrix(D3)  # each row stores 2 off-diagonal distances
    nn = pcct.NearestNeighbors(n_neighbors=2, metric="precomputed").fit(G)
    nn.kneighbors()  # 2 besides the diagonal
    nn = pcct.NearestNeighbors(n_neighbors=2, metric="precomputed").fit(sp.csr_matrix(
        np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 2.0], [0.0, 2.0, 0.0]])))  # row 0 stores one
    with pytest.raises(ValueError, match="2 neighbors per samples are required, but some samples "
                                         "have only 1 .*diagonal entry does not count"):
        nn.kneighbors()
    with pytest.raises(ValueError, match="cannot serve metric='precomputed'.*algorithm='auto'"):
        pcct.NearestNeighbors(metric="precomputed", algorithm="cover_tree").fit(D3)
    with pytest.raises(ValueError, match="'p' parameter"):
        pcct.NearestNeighbors(metric="precomputed", p=3).fit(D3)
    with pytest.raises(ValueError, match="metric_params do not apply"):
        pcct.NearestNeighbors(metric="precomputed", metric_params={"V": 1}).fit(D3)
    with pytest.raises(ValueError, match="device='cuda'"):
        pcct.NearestNeighbors(metric="precomputed", device="cuda").fit(D3)
    with pytest.raises(ValueError, match="Unsupported metric 'precomputed' for CoverTree: .*needs "
                                         "the points themselves"):
        pcct.CoverTree(D3, metric="precomputed")
    nn = pcct.NearestNeighbors(n_neighbors=1, metric="precomputed").fit(D3)
    assert pcct.NearestNeighbors(algorithm="brute", metric="precomputed").fit(D3)
    with pytest.raises(TypeError, match=r"insert\(\) is not possible .*Refit"):
        nn.insert(D3[:1])
    with pytest.raises(TypeError, match=r"delete\(\) is not possible .*Refit"):
        nn.delete([0])
    with pytest.raises(TypeError, match="metric='precomputed'.*Pickle the estimator"):
        nn.save(io.BytesIO())
    raw = sp.csr_matrix((np.array([1.0, 2.0, 1.0]), np.array([1, 1, 0]), np.array([0, 2, 3])),
                        shape=(2, 2))
    with pytest.raises(ValueError, match="more than once"):
        pcct.NearestNeighbors(n_neighbors=1, metric="precomputed").fit(raw)
    with pytest.raises(ValueError, match="Expected n_neighbors < n_samples_fit"):
        nn.kneighbors(n_neighbors=3)
