"""Dynamic updates: insert and delete against scikit-learn's brute force
refitted on the live points, ids, errors, empty trees and chunking."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import NearestNeighbors as SkNN

import pcct._lib
from conftest import METRICS, check_kneighbors, check_radius, reference_distances
from pcct import CoverTree, NearestNeighbors

K = 6


class Model:
    """What the estimator should hold: id -> point, and every id issued."""

    def __init__(self, X):
        self.points = {i: row for i, row in enumerate(X)}
        self.issued = len(X)
        self.deleted = set()

    def insert(self, ids, X):
        assert len(ids) == len(X)
        # The next unused ids, ascending: never a reused one.
        np.testing.assert_array_equal(ids, np.arange(self.issued, self.issued + len(X)))
        self.points.update(zip(ids.tolist(), X))
        self.issued += len(X)

    def delete(self, ids):
        for i in ids:
            del self.points[i]
            self.deleted.add(i)

    def live(self):
        L = np.array(sorted(self.points), dtype=np.int64)
        P = np.array([self.points[i] for i in L]) if len(L) else np.empty((0, 0))
        return L, P


def _positions(ind, L):
    """Map ids to positions in the live ids L, asserting every id is live."""
    ind = np.asarray(ind)
    pos = np.searchsorted(L, ind)
    pos_c = np.minimum(pos, len(L) - 1)
    assert np.all(L[pos_c] == ind), f"a query returned a deleted or unknown id: {ind[L[pos_c] != ind][:5]}"
    return pos_c


def _exact_order(ref, dtype, k, exclude_self=False):
    """Ids order pcct promises: by the distance in the fitted dtype, then by
    id (= position, since positions follow ascending ids)."""
    ref = ref.astype(dtype).astype(np.float64)
    if exclude_self:
        ref = ref.copy()
        ref[np.arange(len(ref)), np.arange(len(ref))] = np.inf
    n = ref.shape[1]
    order = np.lexsort((np.broadcast_to(np.arange(n), ref.shape), ref), axis=1)
    return order[:, :k]


def check_against_brute(nn, model, Q, metric, p, dtype, radii=(1.0, 2.0)):
    """Every query kind equals brute force fitted on the live points."""
    L, P = model.live()
    P = P.astype(dtype)
    n = len(L)
    assert nn.n_samples_fit_ == n and nn.n_ids_ == model.issued
    np.testing.assert_array_equal(nn.ids_, L)
    sk = SkNN(n_neighbors=K, metric=metric, p=p, algorithm="brute").fit(P)
    ref_q = reference_distances(Q, P, metric, p)
    ref_x = reference_distances(P, P, metric, p)
    scale = 10.0

    # kneighbors with queries: exactly the expected ids, in order.
    dist, ind = nn.kneighbors(Q)
    pos = _positions(ind, L)
    check_kneighbors(dist, pos, ref_q, K, dtype, sk=sk.kneighbors(Q), scale=scale)
    np.testing.assert_array_equal(pos, _exact_order(ref_q, dtype, K))

    # kneighbors(X=None): row i is the point with id L[i], left out of its answer.
    dist_t, ind_t = nn.kneighbors()
    assert ind_t.shape == (n, K)
    pos_t = _positions(ind_t, L)
    check_kneighbors(dist_t, pos_t, ref_x, K, dtype, exclude_self=True, sk=sk.kneighbors(),
                     scale=scale)
    np.testing.assert_array_equal(pos_t, _exact_order(ref_x, dtype, K, exclude_self=True))

    # kneighbors_graph: columns are ids, n_ids_ of them.
    for Xq, d_, i_ in ((Q, dist, ind), (None, dist_t, ind_t)):
        g = nn.kneighbors_graph(Xq, mode="distance")
        assert g.shape == (len(i_), model.issued) and g.nnz == i_.size
        np.testing.assert_array_equal(g.indices.reshape(i_.shape), i_)
        np.testing.assert_array_equal(g.data.reshape(i_.shape), d_)
        gc = nn.kneighbors_graph(Xq)
        assert gc.shape == g.shape and np.all(gc.data == 1)
        if model.deleted:
            assert g[:, sorted(model.deleted)].nnz == 0

    # radius_neighbors and its graph, queries and X=None.
    for r in radii:
        for Xq, ref, excl in ((Q, ref_q, False), (None, ref_x, True)):
            d_r, i_r = nn.radius_neighbors(Xq, radius=r, sort_results=True)
            pos_r = np.empty(len(i_r), dtype=object)
            for j, a in enumerate(i_r):
                pos_r[j] = _positions(a, L) if len(a) else a
            check_radius(d_r, pos_r, ref, r, dtype, exclude_self=excl, sorted_=True, scale=scale)
            # Integer data: the answer is exact (sets and, sorted, the order).
            ref_d = ref.astype(dtype).astype(np.float64)
            for j in range(len(ref)):
                mask = ref[j] <= r
                if excl:
                    mask[j] = False
                exp = np.flatnonzero(mask)
                exp = exp[np.lexsort((exp, ref_d[j, exp]))]
                np.testing.assert_array_equal(pos_r[j], exp)
            sk_g = sk.radius_neighbors_graph(None if excl else Q, radius=r, mode="distance")
            g = nn.radius_neighbors_graph(Xq, radius=r, mode="distance", sort_results=True)
            assert sp.issparse(g) and g.shape == (len(ref), model.issued)
            live_cols = g[:, L].tocsr()
            live_cols.sort_indices()
            sk_g.sort_indices()
            np.testing.assert_array_equal(live_cols.indptr, sk_g.indptr)
            np.testing.assert_array_equal(live_cols.indices, sk_g.indices)
            np.testing.assert_allclose(live_cols.data, sk_g.data, rtol=1e-6, atol=1e-6)
            if model.deleted:
                assert g[:, sorted(model.deleted)].nnz == 0
            counts = np.diff(g.indptr)
            np.testing.assert_array_equal(counts, [len(a) for a in i_r])


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("metric,p", METRICS, ids=[m for m, _ in METRICS])
def test_random_insert_delete_sequences(metric, p, dtype):
    """Random batches of insertions and deletions (integer grid data, so
    full of duplicates and exact ties); after every batch each query kind
    equals brute force on the live points, with indices mapped to ids."""
    rng = np.random.default_rng(zlib.crc32(f"{metric}-{np.dtype(dtype).name}".encode()))
    d, values = 3, 6
    grid = lambda m: rng.integers(0, values, size=(m, d)).astype(dtype)  # noqa: E731
    X0 = grid(250)
    Q = rng.integers(-1, values + 1, size=(40, d)).astype(dtype)
    nn = NearestNeighbors(n_neighbors=K, metric=metric, p=p, n_jobs=2).fit(X0)
    model = Model(X0)
    check_against_brute(nn, model, Q, metric, p, dtype)
    # An insertion alone: ids stay 0..n-1 (the "fitted range" paths).
    Xi = grid(60)
    model.insert(nn.insert(Xi), Xi)
    check_against_brute(nn, model, Q, metric, p, dtype)
    for step in range(7):
        L, P = model.live()
        if step == 4:
            # Delete nearly everything: every duplicate group but a few points.
            gone = rng.choice(L, size=len(L) - (K + 3), replace=False)
        else:
            gone = rng.choice(L, size=int(rng.integers(1, len(L) // 3)), replace=False)
            if step == 1:
                # A whole duplicate group, and the points of one grid cell.
                cell = P[int(rng.integers(len(P)))]
                gone = np.union1d(gone, L[np.all(P == cell, axis=1)])
        rng.shuffle(gone)
        assert nn.delete(gone) is nn
        model.delete(gone.tolist())
        m = int(rng.integers(1, 120))
        # New points: fresh grid points, and copies of live and deleted ones.
        Xi = grid(m)
        dup = rng.random(m) < 0.3
        if dup.any():
            src = np.array(list(model.points.values()) + [X0[0]])
            Xi[dup] = src[rng.integers(0, len(src), size=int(dup.sum()))]
        ids = nn.insert(Xi)
        assert not set(ids.tolist()) & model.deleted, "an id was reused"
        model.insert(ids, Xi)
        check_against_brute(nn, model, Q, metric, p, dtype)


def test_float_data_with_updates():
    """Non-integer data: distances match brute force within rounding."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(800, 5)) @ rng.normal(size=(5, 5))
    Q = rng.normal(size=(100, 5))
    nn = NearestNeighbors(n_neighbors=8, n_jobs=2).fit(X)
    model = Model(X)
    for _ in range(4):
        L, _ = model.live()
        gone = rng.choice(L, size=150, replace=False)
        nn.delete(gone)
        model.delete(gone.tolist())
        Xi = rng.normal(size=(120, 5))
        model.insert(nn.insert(Xi), Xi)
        L, P = model.live()
        ref = reference_distances(Q, P, "euclidean", 2)
        dist, ind = nn.kneighbors(Q)
        check_kneighbors(dist, _positions(ind, L), ref, 8, np.float64,
                         sk=SkNN(n_neighbors=8, algorithm="brute").fit(P).kneighbors(Q), scale=10)
        dist, ind = nn.kneighbors()
        check_kneighbors(dist, _positions(ind, L), reference_distances(P, P, "euclidean", 2), 8,
                         np.float64, exclude_self=True, scale=10)


def test_cover_tree_updates():
    rng = np.random.default_rng(8)
    X = rng.integers(0, 5, size=(300, 2)).astype(float)
    tree = CoverTree(X, metric="manhattan", n_jobs=2)
    assert (tree.n_samples, tree.n_ids) == (300, 300)
    Xi = rng.integers(0, 5, size=(50, 2))  # ints: converted to float64
    ids = tree.insert(Xi)
    np.testing.assert_array_equal(ids, np.arange(300, 350))
    assert ids.dtype == np.int64
    assert tree.delete(np.arange(0, 300, 3)) is tree
    assert tree.n_samples == 250 and tree.n_ids == 350
    L = tree.ids()
    assert L.dtype == np.int64 and not L.flags.writeable
    P = np.vstack([X, Xi])[L]
    Q = rng.integers(-1, 6, size=(30, 2)).astype(float)
    ref = reference_distances(Q, P, "manhattan", 1)
    dist, ind = tree.query(Q, k=5)
    pos = _positions(ind, L)
    np.testing.assert_array_equal(pos, _exact_order(ref, np.float64, 5))
    ind_r, dist_r = tree.query_radius(Q, 1.0, return_distance=True, sort_results=True)
    for j in range(len(Q)):
        exp = np.flatnonzero(ref[j] <= 1.0)
        exp = exp[np.lexsort((exp, ref[j, exp]))]
        np.testing.assert_array_equal(_positions(ind_r[j], L) if len(ind_r[j]) else [], exp)
    np.testing.assert_array_equal(tree.query_radius(Q, 1.0, count_only=True), (ref <= 1.0).sum(axis=1))
    with pytest.raises(ValueError, match=r"k must be less than or equal to the number of training points \(250\)"):
        tree.query(Q, k=251)
    st = tree.stats()
    assert st["points"] == 250 and st["ids_issued"] == 350


def test_delete_errors_name_the_first_bad_id_and_change_nothing():
    rng = np.random.default_rng(9)
    X = rng.random((50, 3))
    nn = NearestNeighbors(n_neighbors=3).fit(X)
    nn.delete([4, 5])
    before = nn.kneighbors()
    cases = [
        ([1, 2, 4, 7], r"^id 4 is not in the tree: it was deleted\. Nothing was deleted\.$"),
        ([1, 50], r"^id 50 is not in the tree: the ids issued so far are 0 to 49\. Nothing was deleted\.$"),
        ([1, -1], r"^id -1 is not in the tree: the ids issued so far are 0 to 49"),
        ([3, 8, 3, 99], r"^id 3 is given more than once\. Nothing was deleted\.$"),
        ([8, 99, 8], r"^id 99 is not in the tree"),
        (np.array([2**62]), r"^id 4611686018427387904 is not in the tree"),
    ]
    for ids, match in cases:
        with pytest.raises(ValueError, match=match):
            nn.delete(ids)
        assert nn.n_samples_fit_ == 48 and nn.n_ids_ == 50
        for a, b in zip(before, nn.kneighbors()):
            np.testing.assert_array_equal(a, b)
    for bad, match in [
        ([1.0, 2.0], "ids must hold integers, got dtype float64"),
        ([True], "ids must hold integers, got dtype bool"),
        (["a"], "ids must hold integers"),
        ([[1, 2]], r"ids must be a 1-D array-like of integers, got an array of shape \(1, 2\)"),
        (np.array([2**64 - 1], dtype=np.uint64), "out of the int64 range"),
    ]:
        with pytest.raises(ValueError, match=match):
            nn.delete(bad)
    # An int is one id; an empty list deletes nothing; numpy ints of any width.
    nn.delete(7)
    nn.delete([])
    nn.delete(np.array([8, 9], dtype=np.uint8))
    nn.delete(np.array([10], dtype=np.int32))
    np.testing.assert_array_equal(nn.ids_, np.setdiff1d(np.arange(50), [4, 5, 7, 8, 9, 10]))
    with pytest.raises(NotFittedError):
        NearestNeighbors().delete([0])
    with pytest.raises(NotFittedError):
        NearestNeighbors().insert(X)


def test_insert_validates_like_fit():
    rng = np.random.default_rng(10)
    X = rng.random((30, 4)).astype(np.float32)
    nn = NearestNeighbors(n_neighbors=2).fit(X)
    tree = CoverTree(X)
    for target, who in ((nn, "NearestNeighbors"), (tree, "CoverTree")):
        with pytest.raises(ValueError, match=f"X has 3 features, but {who} is expecting 4 features as input."):
            target.insert(np.zeros((2, 3)))
        with pytest.raises(ValueError, match="Input X contains NaN"):
            target.insert(np.full((1, 4), np.nan))
        with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
            target.insert(np.zeros((0, 4)))
        with pytest.raises(ValueError, match="Expected 2D array, got 1D array instead"):
            target.insert(np.zeros(4))
        with pytest.raises(ValueError, match=r"beyond the range of float32"):
            target.insert(np.full((1, 4), 1e300))
        assert target.n_ids_ == 30 if who == "NearestNeighbors" else target.n_ids == 30
        # Converted to the fitted dtype: float64 and int rows are fine.
        ids = target.insert(np.vstack([X[:2].astype(np.float64), [[1, 2, 3, 4]]]))
        np.testing.assert_array_equal(ids, [30, 31, 32])
    assert nn.tree_.dtype == np.float32
    d, i = nn.kneighbors(X[:2], 2)
    # Each inserted copy is at distance 0 of its original; ties by id.
    np.testing.assert_array_equal(i, [[0, 30], [1, 31]])
    assert np.all(d == 0) and d.dtype == np.float32


def test_insert_keeps_feature_names_checks():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(np.random.default_rng(0).random((20, 2)), columns=["a", "b"])
    nn = NearestNeighbors(n_neighbors=2).fit(df)
    assert nn.insert(df.iloc[:3]).tolist() == [20, 21, 22]
    with pytest.raises(ValueError, match="The feature names should match those that were passed during fit"):
        nn.insert(df.rename(columns={"a": "z"}))


def test_delete_everything_then_insert():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    nn = NearestNeighbors(n_neighbors=1, radius=5.0).fit(X)
    nn.delete([2, 0, 1])
    assert nn.n_samples_fit_ == 0 and nn.n_ids_ == 3 and nn.ids_.size == 0
    with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit, but n_neighbors = 1, n_samples_fit = 0"):
        nn.kneighbors([[0.0, 0.0]])
    d, i = nn.radius_neighbors([[0.0, 0.0], [1.0, 1.0]])
    assert [len(a) for a in i] == [0, 0] and all(a.dtype == np.int64 for a in i)
    assert len(nn.radius_neighbors()[1]) == 0
    g = nn.radius_neighbors_graph([[0.0, 0.0]])
    assert g.shape == (1, 3) and g.nnz == 0
    assert nn.radius_neighbors_graph().shape == (0, 3)
    assert nn.tree_.stats()["points"] == 0
    np.testing.assert_array_equal(nn.insert([[2.0, 0.0], [0.0, 0.0]]), [3, 4])
    d, i = nn.kneighbors([[0.1, 0.0]])
    assert i.tolist() == [[4]]
    d, i = nn.kneighbors()
    assert i.tolist() == [[4], [3]]  # rows are ids 3 and 4, each other's neighbour


def _counting_lib(monkeypatch, calls, fail_at=None):
    """Route pcct's library calls through a wrapper that records the names of
    update and query calls (and raises KeyboardInterrupt at call fail_at)."""
    real = pcct._lib.lib()

    class Counting:
        def __getattr__(self, name):
            fn = getattr(real, name)
            if not name.startswith(("pcct_kneighbors", "pcct_radius", "pcct_tree_insert")) \
                    or name == "pcct_radius_fill":
                return fn

            def wrapper(*args):
                calls.append(name)
                if fail_at is not None and len(calls) == fail_at:
                    raise KeyboardInterrupt
                return fn(*args)

            return wrapper

    monkeypatch.setattr(pcct._lib, "lib", lambda: Counting())


def test_queries_after_deletions_use_the_id_exports(monkeypatch):
    """X=None after deletions goes through the id-list exports: k-NN in one
    call, radius queries in chunks of rows; the answers do not change."""
    rng = np.random.default_rng(11)
    X = rng.random((2500, 3))
    est = NearestNeighbors(n_neighbors=6, radius=0.1, n_jobs=2).fit(X)
    est.delete(np.arange(0, 2500, 7))
    n = est.n_samples_fit_
    whole = (est.kneighbors(), est.radius_neighbors(sort_results=True),
             est.radius_neighbors_graph(mode="distance", sort_results=True))
    calls = []
    monkeypatch.setattr(est.tree_, "_chunk", lambda jobs: 97)
    _counting_lib(monkeypatch, calls)
    chunked = (est.kneighbors(), est.radius_neighbors(sort_results=True),
               est.radius_neighbors_graph(mode="distance", sort_results=True))
    for a, b in zip(whole[0], chunked[0]):
        np.testing.assert_array_equal(a, b)
    for w, c in zip(whole[1], chunked[1]):
        for a, b in zip(w, c):
            np.testing.assert_array_equal(a, b)
    assert (whole[2] != chunked[2]).nnz == 0
    chunks = -(-n // 97)
    assert calls.count("pcct_kneighbors_ids_on") == 1
    assert calls.count("pcct_radius_ids_on") == 2 * chunks
    assert "pcct_kneighbors_fitted_on" not in calls and "pcct_radius_fitted_on" not in calls


def test_insert_is_one_call_and_atomic(monkeypatch):
    """An insertion is one call into Go (which stops it through the control
    words on Ctrl-C); an interruption changes nothing, and the version
    before a completed insertion is freed."""
    rng = np.random.default_rng(12)
    X = rng.random((400, 3))
    Xi = rng.random((230, 3))
    ref = NearestNeighbors(n_neighbors=5).fit(np.vstack([X, Xi]))
    est = NearestNeighbors(n_neighbors=5).fit(X)

    # Interrupted: the estimator is unchanged.
    calls = []
    with monkeypatch.context() as m:
        _counting_lib(m, calls, fail_at=1)
        with pytest.raises(KeyboardInterrupt):
            est.insert(Xi)
    assert calls == ["pcct_tree_insert"]
    assert est.n_samples_fit_ == 400 and est.n_ids_ == 400
    np.testing.assert_array_equal(est.kneighbors(Xi)[1], NearestNeighbors(n_neighbors=5).fit(X).kneighbors(Xi)[1])

    import gc
    import weakref

    calls = []
    before = weakref.ref(est.tree_._version)
    fin = est.tree_._version._finalizer
    with monkeypatch.context() as m:
        _counting_lib(m, calls)
        ids = est.insert(Xi)
    assert calls == ["pcct_tree_insert"]
    np.testing.assert_array_equal(ids, np.arange(400, 630))
    # The version before the insertion is freed; the new one is the tree's.
    gc.collect()
    assert before() is None and not fin.alive
    assert est.tree_._version._finalizer.alive
    for a, b in zip(est.kneighbors(), ref.kneighbors()):
        np.testing.assert_array_equal(a, b)


def test_old_versions_are_freed_unless_held():
    import gc
    import weakref

    rng = np.random.default_rng(13)
    est = NearestNeighbors(n_neighbors=2).fit(rng.random((100, 2)))
    v0 = weakref.ref(est.tree_._version)
    snap = est.snapshot()
    est.insert(rng.random((10, 2)))
    v1 = weakref.ref(est.tree_._version)
    est.delete([0])
    gc.collect()
    assert v0() is not None  # the snapshot holds it
    assert v1() is None  # nobody holds it
    del snap
    gc.collect()
    assert v0() is None
