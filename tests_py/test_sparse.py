"""Sparse points (scipy.sparse) against scikit-learn's brute force and
against pcct's dense estimator over the same rows densified: random data
of several densities with empty rows, duplicate rows and ties, both dtypes,
every sparse metric and index; the input formats; TF-IDF of generated
documents and scikit-learn's digits made sparse; updates, snapshots,
pickling, the transformers and bad input."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neighbors import KNeighborsTransformer as SkKNT
from sklearn.neighbors import NearestNeighbors as SkNN

import pcct
from conftest import check_kneighbors, check_radius, reference_distances

METRICS = ["euclidean", "manhattan", "cosine"]
ALGORITHMS = ["auto", "cover_tree", "brute"]


def _sparse_data(n, d, density, seed, dtype, empty=0.05, dup=0.1, ints=False):
    """A CSR matrix with empty rows, duplicated rows and (ints) ties."""
    rng = np.random.default_rng(seed)
    data_rvs = (lambda k: rng.integers(1, 3, k).astype(float)) if ints else None
    X = sp.random(n, d, density=density, format="lil", random_state=rng, data_rvs=data_rvs)
    for i in rng.choice(n, int(empty * n), replace=False):
        X.rows[i], X.data[i] = [], []
    for i in rng.choice(np.arange(1, n), int(dup * n), replace=False):
        j = int(rng.integers(0, i))
        X.rows[i], X.data[i] = list(X.rows[j]), list(X.data[j])
    return X.tocsr().astype(dtype)


def _no_empty(X):
    return X[np.diff(X.indptr) > 0]


def _for(metric, X):
    """Cosine takes no zero row (pcct refuses them)."""
    return _no_empty(X) if metric == "cosine" else X


CASES = {
    "density=0.02": dict(n=400, d=300, density=0.02),
    "density=0.2-ties": dict(n=300, d=20, density=0.2, ints=True, dup=0.3),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("metric", METRICS)
def test_matches_sklearn_brute_and_dense(metric, dtype, algorithm, case):
    X = _for(metric, _sparse_data(**CASES[case], seed=1, dtype=dtype))
    Q = _for(metric, _sparse_data(**{**CASES[case], "n": 60, "dup": 0}, seed=2, dtype=dtype))
    k = 6
    ours = pcct.NearestNeighbors(n_neighbors=k, metric=metric, algorithm=algorithm,
                                 n_jobs=2).fit(X)
    dense = pcct.NearestNeighbors(n_neighbors=k, metric=metric, algorithm="brute").fit(X.toarray())
    theirs = SkNN(n_neighbors=k, metric=metric, algorithm="brute").fit(X.astype(np.float64))
    assert ours.effective_algorithm_ in ("cover_tree", "brute")
    if algorithm != "auto":
        assert ours.effective_algorithm_ == algorithm
    assert ours.n_features_in_ == X.shape[1] and ours.n_samples_fit_ == X.shape[0]
    ref = reference_distances(Q.toarray(), X.toarray(), metric, None)
    dist, ind = ours.kneighbors(Q)
    assert dist.dtype == dtype
    check_kneighbors(dist, ind, ref, k, dtype, sk=theirs.kneighbors(Q.astype(np.float64)))
    # Equal to pcct's dense answers, bit for bit (ties by index there too).
    ddist, dind = dense.kneighbors(Q.toarray())
    np.testing.assert_array_equal(ind, dind)
    np.testing.assert_array_equal(dist, ddist)
    # Dense queries against the sparse fit.
    dist2, ind2 = ours.kneighbors(Q.toarray())
    np.testing.assert_array_equal(ind2, ind)
    np.testing.assert_array_equal(dist2, dist)
    # X=None: every point, left out of its own answer.
    dist, ind = ours.kneighbors()
    ref_self = reference_distances(X.toarray(), X.toarray(), metric, None)
    check_kneighbors(dist, ind, ref_self, k, dtype, exclude_self=True)
    np.testing.assert_array_equal(ind, dense.kneighbors()[1])
    # Radius: at the median 3rd-neighbour distance, sorted and by index.
    r = float(np.median(ours.kneighbors(Q)[0][:, 2]))
    for sort in (False, True):
        rd, ri = ours.radius_neighbors(Q, r, sort_results=sort)
        check_radius(rd, ri, ref, r, dtype, sorted_=sort,
                     sk=theirs.radius_neighbors(Q.astype(np.float64), r))
        dd, di = dense.radius_neighbors(Q.toarray(), r, sort_results=sort)
        for a, b, c, e in zip(ri, di, rd, dd):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(c, e)
    assert sum(len(a) for a in ri) > 0
    # The graphs, and one radius per query.
    G = ours.kneighbors_graph(Q, mode="distance")
    assert (G != dense.kneighbors_graph(Q.toarray(), mode="distance")).nnz == 0
    radii = np.linspace(0, 2 * r, Q.shape[0])
    G = ours.radius_neighbors_graph(Q, radii, mode="distance")
    H = dense.radius_neighbors_graph(Q.toarray(), radii, mode="distance")
    assert G.shape == H.shape and (G != H).nnz == 0 and G.nnz == H.nnz


def test_formats_and_dtypes_are_converted():
    X = _sparse_data(200, 50, 0.1, seed=3, dtype=np.float64)
    Q = _sparse_data(30, 50, 0.1, seed=4, dtype=np.float64, dup=0)
    want = pcct.NearestNeighbors(n_neighbors=4).fit(X).kneighbors(Q)
    coo = X.tocoo()
    # Repeated entries, summed as scipy sums them.
    half = coo.data / 2
    repeated = sp.coo_matrix((np.concatenate([half, coo.data - half]),
                              (np.concatenate([coo.row, coo.row]),
                               np.concatenate([coo.col, coo.col]))), shape=X.shape)
    # Each row's entries in reverse column order.
    perm = np.concatenate([np.arange(X.indptr[i], X.indptr[i + 1])[::-1]
                           for i in range(X.shape[0])])
    unsorted = sp.csr_matrix((X.data[perm], X.indices[perm], X.indptr), shape=X.shape)
    unsorted.has_sorted_indices = False
    assert not unsorted.has_sorted_indices
    wide = sp.csr_matrix((X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64)),
                         shape=X.shape)
    for Xf in (X.tocsc(), coo, X.tolil(), X.todok(), X.tobsr(), sp.csr_array(X),
               repeated, unsorted, wide):
        got = pcct.NearestNeighbors(n_neighbors=4).fit(Xf).kneighbors(Q.tocoo())
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_allclose(got[0], want[0], rtol=1e-14)
    # Integer data is taken as float64, float32 kept.
    Xi = sp.csr_matrix(np.round(X.toarray() * 4).astype(np.int32))
    nn = pcct.NearestNeighbors(n_neighbors=3).fit(Xi)
    assert nn.kneighbors(Q)[0].dtype == np.float64
    ref = pcct.NearestNeighbors(n_neighbors=3).fit(Xi.toarray().astype(np.float64))
    np.testing.assert_array_equal(nn.kneighbors(Q)[1], ref.kneighbors(Q.toarray())[1])
    nn32 = pcct.NearestNeighbors(n_neighbors=3).fit(X.astype(np.float32))
    assert nn32.kneighbors(Q)[0].dtype == np.float32  # float64 queries converted


def _documents(n, seed):
    """Generated documents over a vocabulary of 2,000 words with a Zipf
    distribution, a share of them repeated word for word."""
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(2000)])
    weights = 1 / np.arange(1, 2001) ** 1.1
    weights /= weights.sum()
    docs = [" ".join(rng.choice(vocab, size=rng.integers(5, 60), p=weights)) for _ in range(n)]
    for i in rng.choice(n, n // 20, replace=False):
        docs[i] = docs[int(rng.integers(0, n))]
    return docs


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_tfidf_documents(metric):
    vec = TfidfVectorizer()
    X = vec.fit_transform(_documents(1500, 5))
    Q = vec.transform(_documents(100, 6))
    Q = Q[np.diff(Q.indptr) > 0]
    k = 10
    theirs = SkNN(n_neighbors=k, metric=metric, algorithm="brute").fit(X)
    ref = reference_distances(Q.toarray(), X.toarray(), metric, None)
    for algorithm in ALGORITHMS:
        ours = pcct.NearestNeighbors(n_neighbors=k, metric=metric, algorithm=algorithm).fit(X)
        if algorithm == "auto":
            # High-dimensional text: a tree would measure most rows.
            assert ours.effective_algorithm_ == "brute", ours.algorithm_choice_
            assert ours.algorithm_choice_["brute_seconds"] < ours.algorithm_choice_["tree_seconds"]
        dist, ind = ours.kneighbors(Q)
        check_kneighbors(dist, ind, ref, k, np.float64, sk=theirs.kneighbors(Q))
        r = float(np.median(dist[:, 4]))
        rd, ri = ours.radius_neighbors(Q, r)
        check_radius(rd, ri, ref, r, np.float64, sk=theirs.radius_neighbors(Q, r))


def test_digits_made_sparse():
    """scikit-learn's bundled digits (half their pixels are 0) as CSR."""
    X = load_digits().data[:1000]
    Xs = sp.csr_matrix(X)
    k = 5
    theirs = SkNN(n_neighbors=k, algorithm="brute").fit(Xs)
    ref = reference_distances(X, X, "euclidean", None)
    for algorithm in ALGORITHMS:
        ours = pcct.NearestNeighbors(n_neighbors=k, algorithm=algorithm).fit(Xs)
        dist, ind = ours.kneighbors()
        check_kneighbors(dist, ind, ref, k, np.float64, exclude_self=True,
                         sk=theirs.kneighbors(), scale=10)
        dense = pcct.NearestNeighbors(n_neighbors=k, algorithm=algorithm).fit(X)
        np.testing.assert_array_equal(ind, dense.kneighbors()[1])
        np.testing.assert_array_equal(dist, dense.kneighbors()[0])


@pytest.mark.parametrize("algorithm", ["cover_tree", "brute"])
def test_updates_snapshots_and_pickle(algorithm):
    X = _sparse_data(300, 40, 0.1, seed=7, dtype=np.float64)
    new = _sparse_data(50, 40, 0.1, seed=8, dtype=np.float64)
    Q = _sparse_data(20, 40, 0.1, seed=9, dtype=np.float64, dup=0)
    nn = pcct.NearestNeighbors(n_neighbors=5, algorithm=algorithm).fit(X)
    snap = nn.snapshot()
    before = snap.kneighbors(Q)
    ids = nn.insert(new[:25])
    np.testing.assert_array_equal(ids, np.arange(300, 325))
    ids = nn.insert(new[25:].toarray())  # dense rows into the sparse fit
    np.testing.assert_array_equal(ids, np.arange(325, 350))
    nn.delete([0, 7, 301, 349])
    assert nn.n_samples_fit_ == 346 and nn.n_ids_ == 350
    live = nn.ids_
    allrows = sp.vstack([X, new]).tocsr()
    ref = SkNN(n_neighbors=5, algorithm="brute").fit(allrows[live])
    dist, ind = nn.kneighbors(Q)
    sk_dist, sk_ind = ref.kneighbors(Q)
    check_kneighbors(dist, np.searchsorted(live, ind),
                     reference_distances(Q.toarray(), allrows[live].toarray(), "euclidean", None),
                     5, np.float64, sk=(sk_dist, sk_ind))
    # X=None after deletions: rows follow ids_, graphs have n_ids_ columns.
    dist, ind = nn.kneighbors()
    assert dist.shape == (346, 5) and not np.isin(ind, [0, 7, 301, 349]).any()
    assert nn.kneighbors_graph(columns="live").shape == (346, 346)
    # The snapshot still answers as before.
    after = snap.kneighbors(Q)
    np.testing.assert_array_equal(after[1], before[1])
    with pytest.raises(pcct.ReadOnlyError):
        snap.insert(new)
    # Pickling keeps the rows and ids.
    back = pickle.loads(pickle.dumps(nn))
    got = back.kneighbors(Q)
    np.testing.assert_array_equal(got[1], nn.kneighbors(Q)[1])
    np.testing.assert_array_equal(got[0], nn.kneighbors(Q)[0])
    np.testing.assert_array_equal(back.ids_, nn.ids_)
    assert back.effective_algorithm_ == algorithm
    back.insert(new[:2])
    assert back.n_ids_ == 352
    with pytest.raises(ValueError, match="id 7"):
        nn.delete([7])


@pytest.mark.parametrize("algorithm", ["cover_tree", "brute"])
def test_ids_of_the_callers_choosing(algorithm):
    """insert(X, ids=...) on a sparse fit answers as the dense estimator
    given the same calls: the same ids, in the same order (ties by
    insertion), after deletions and a pickle round trip."""
    X = _sparse_data(200, 30, 0.15, seed=15, dtype=np.float64, ints=True)
    new = _sparse_data(40, 30, 0.15, seed=16, dtype=np.float64, ints=True, empty=0)
    Q = _sparse_data(25, 30, 0.15, seed=17, dtype=np.float64, dup=0)
    ours = pcct.NearestNeighbors(n_neighbors=6, algorithm=algorithm).fit(X)
    dense = pcct.NearestNeighbors(n_neighbors=6, algorithm=algorithm).fit(X.toarray())
    chosen = np.arange(5000, 5040)[::-1].copy()
    for est, rows in ((ours, new), (dense, new.toarray())):
        assert est.insert(rows[:20], ids=chosen[:20]).tolist() == chosen[:20].tolist()
        est.delete([3, 5030, 150])
        assert est.insert(rows[20:]).tolist() == list(range(5040, 5060))
        est.insert(rows[:1], ids=[3])  # a deleted id given again
    ours = pickle.loads(pickle.dumps(ours))
    np.testing.assert_array_equal(ours.ids_, dense.ids_)
    assert ours.n_ids_ == dense.n_ids_ == 5060
    for a, b in ((ours.kneighbors(Q), dense.kneighbors(Q.toarray())),
                 (ours.kneighbors(), dense.kneighbors())):
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(a[0], b[0])
    r = float(np.median(dense.kneighbors(Q.toarray())[0][:, 3]))
    a = ours.radius_neighbors_graph(Q, r, mode="distance", columns="live")
    b = dense.radius_neighbors_graph(Q.toarray(), r, mode="distance", columns="live")
    assert (a != b).nnz == 0 and a.nnz == b.nnz > 0
    with pytest.raises(ValueError, match="id 5025"):
        ours.insert(new[:1], ids=[5025])  # live already
    with pytest.raises(ValueError, match="id 5030"):
        ours.delete([5030])


def test_n_jobs_and_search_give_the_same_answers():
    X = _sparse_data(500, 60, 0.08, seed=10, dtype=np.float32)
    want = pcct.NearestNeighbors(n_neighbors=7, algorithm="cover_tree", n_jobs=1).fit(X).kneighbors()
    for params in (dict(n_jobs=2), dict(n_jobs=-1, search="corrected"), dict(algorithm="brute", n_jobs=2)):
        got = pcct.NearestNeighbors(n_neighbors=7, **{"algorithm": "cover_tree", **params}).fit(X).kneighbors()
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(got[0], want[0])


def test_transformers_on_sparse_points():
    X = _sparse_data(300, 30, 0.15, seed=11, dtype=np.float64)
    ours = pcct.KNeighborsTransformer(n_neighbors=5).fit_transform(X)
    theirs = SkKNT(n_neighbors=5).fit_transform(X)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.sum(axis=1), theirs.sum(axis=1), rtol=1e-10)
    G = pcct.RadiusNeighborsTransformer(radius=0.5).fit(X).transform(X[:20])
    assert G.shape == (20, 300)


@pytest.mark.parametrize("algorithm", ["cover_tree", "brute"])
@pytest.mark.parametrize("metric", ["manhattan", "cosine"])
def test_save_and_load(tmp_path, metric, algorithm):
    X = _no_empty(_sparse_data(120, 15, 0.3, seed=12, dtype=np.float32))
    Q = _no_empty(_sparse_data(10, 15, 0.3, seed=22, dtype=np.float32))
    nn = pcct.NearestNeighbors(n_neighbors=4, metric=metric, algorithm=algorithm).fit(X)
    nn.insert(Q[:3], ids=[900, 901, 902])
    nn.delete([5, 901])
    path = tmp_path / "model.pcct"
    nn.save(path)
    back = pcct.load(path)
    assert type(back) is pcct.NearestNeighbors and back.get_params() == nn.get_params()
    assert back.effective_algorithm_ == algorithm and back.n_features_in_ == 15
    np.testing.assert_array_equal(back.ids_, nn.ids_)
    for a, b in zip(back.kneighbors(Q), nn.kneighbors(Q)):
        np.testing.assert_array_equal(a, b)
    assert back.insert(Q[3:4]).tolist() == [903]
    nn.snapshot().save(path)
    with pytest.raises(pcct.ReadOnlyError):
        pcct.load(path).insert(Q[:1])
    data = bytearray(path.read_bytes())
    data[-40] ^= 1
    with pytest.raises(ValueError, match="not a readable pcct file"):
        pcct.load(io.BytesIO(bytes(data)))


def test_sparse_queries_of_a_dense_fit():
    X = _sparse_data(100, 10, 0.3, seed=13, dtype=np.float64)
    nn = pcct.NearestNeighbors(n_neighbors=3).fit(X.toarray())
    np.testing.assert_array_equal(nn.kneighbors(X[:10])[1], nn.kneighbors(X[:10].toarray())[1])


def test_bad_input():
    X = _sparse_data(50, 10, 0.3, seed=14, dtype=np.float64)
    nn = pcct.NearestNeighbors(n_neighbors=3).fit(X)
    with pytest.raises(ValueError, match="X has 11 features, but NearestNeighbors is expecting 10"):
        nn.kneighbors(sp.random(3, 11, density=0.5, format="csr", random_state=0))
    bad = X.copy()
    bad.data[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pcct.NearestNeighbors().fit(bad)
    with pytest.raises(ValueError, match="NaN"):
        nn.kneighbors(bad)
    bad.data[3] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        pcct.NearestNeighbors().fit(bad)
    for params in (dict(metric="chebyshev"), dict(metric="haversine"),
                   dict(metric="minkowski", p=3), dict(metric="canberra"),
                   dict(metric=lambda a, b: float(np.abs(a - b).sum()))):
        with pytest.raises(ValueError, match="takes sparse input with the metrics euclidean"):
            pcct.NearestNeighbors(**params).fit(X)
    with pytest.raises(ValueError, match="device='cuda'"):
        pcct.NearestNeighbors(device="cuda").fit(X)
    with pytest.raises(ValueError, match="zero vector"):
        pcct.NearestNeighbors(metric="cosine").fit(X)  # it has empty rows
    with pytest.raises(ValueError, match="0 sample"):
        pcct.NearestNeighbors().fit(sp.csr_matrix((0, 5)))
    with pytest.raises(ValueError, match="beyond the range of float32"):
        pcct.NearestNeighbors().fit(X.astype(np.float32)).kneighbors(X * 1e300)
    with pytest.raises(ValueError, match="n_neighbors"):
        nn.kneighbors(X, n_neighbors=51)
    # Minkowski with p=1 and p=2 are the sparse metrics they name.
    for p, metric in ((1, "manhattan"), (2, "euclidean")):
        a = pcct.NearestNeighbors(metric="minkowski", p=p).fit(X)
        assert a.effective_metric_ == metric
        np.testing.assert_array_equal(a.kneighbors()[1],
                                      pcct.NearestNeighbors(metric=metric).fit(X).kneighbors()[1])


def test_ctrl_c_stops_sparse_calls_and_changes_nothing():
    """Ctrl-C (KeyboardInterrupt in the main thread) stops a long sparse
    query, fit and insertion within a fraction of a second; the estimator
    is left as it was and the stopped insertion issues no ids."""
    from test_interrupt import _InterruptAfter, _join_pcct_workers

    X = sp.random(20000, 2000, density=0.01, format="csr", random_state=20)
    Q = sp.vstack([X] * 20, format="csr")  # 400,000 queries
    nn = pcct.NearestNeighbors(n_neighbors=5, metric="manhattan", algorithm="brute").fit(X)
    before = nn.kneighbors(X[:20])
    with _InterruptAfter(0.3) as t:
        with pytest.raises(KeyboardInterrupt):
            nn.kneighbors(Q)  # a minute of work
    assert t.elapsed < 1.5, t.elapsed
    _join_pcct_workers()
    for a, b in zip(before, nn.kneighbors(X[:20])):
        np.testing.assert_array_equal(a, b)
    # A cover tree over these rows measures most pairs: seconds to build.
    est = pcct.NearestNeighbors(algorithm="cover_tree")
    with _InterruptAfter(0.3) as t:
        with pytest.raises(KeyboardInterrupt):
            est.fit(X[:6000])
    assert t.elapsed < 1.5, t.elapsed
    assert not hasattr(est, "tree_") and not hasattr(est, "n_features_in_")
    _join_pcct_workers()
    tree = pcct.NearestNeighbors(algorithm="cover_tree").fit(X[:500])
    with _InterruptAfter(0.3) as t:
        with pytest.raises(KeyboardInterrupt):
            tree.insert(X[500:6500])
    assert t.elapsed < 1.5, t.elapsed
    _join_pcct_workers()
    assert tree.n_samples_fit_ == 500 and tree.n_ids_ == 500
    assert tree.insert(X[:2]).tolist() == [500, 501]


def test_a_saved_state_that_disagrees_with_its_rows_is_refused():
    from pcct._sparse import SparseIndex

    X = _sparse_data(40, 8, 0.4, seed=30, dtype=np.float64, empty=0)
    body, state = pcct.NearestNeighbors(metric="manhattan").fit(X).tree_._saved()
    SparseIndex._restore(body, state)  # as saved
    for bad in ({"metric": 4}, {"dtype": "float32"}, {"labels": [1, 2]}, {"n_jobs": "x"}):
        with pytest.raises(ValueError, match="pcct"):
            SparseIndex._restore(body, {**state, **bad, "n_ids": 99})
    with pytest.raises(ValueError, match="checksum"):
        SparseIndex._restore(body[:-1] + bytes([body[-1] ^ 1]), state)
