"""Caller-chosen ids (faiss's add_with_ids): CoverTree(X, ids=...),
insert(X, ids=...), reading points back by id (CoverTree.points, faiss's
reconstruct), and every answer named by those ids: k-NN (ties by id),
radius (unsorted by id), X=None rows, graphs, joins, deletions,
re-insertion of a deleted id, pickling and saving. Checked against brute
force on the same points, and against faiss's IndexIDMap2 where faiss is
installed."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from scipy.spatial import cKDTree

import pcct
from pcct import CoverTree, NearestNeighbors
from conftest import reference_distances


def grid(rng, n, d, top=4):
    return rng.integers(0, top, size=(n, d)).astype(np.float64)


class Brute:
    """Points by id, answered by brute force with ties in insertion order
    (a re-inserted id counts from its new insertion), as faiss orders them."""

    def __init__(self, X, ids):
        self.pts, self.seq = {}, {}
        self.insert(X, ids)

    def insert(self, X, ids):
        base = getattr(self, "_next", 0)  # insertion counter, never reused
        for k, (i, x) in enumerate(zip(np.asarray(ids).tolist(), X)):
            self.pts[i], self.seq[i] = x, base + k
        self._next = base + len(ids)

    def delete(self, ids):
        for i in ids:
            del self.pts[i]
            del self.seq[i]

    def arrays(self):
        ids = np.array(sorted(self.pts), dtype=np.int64)
        return ids, np.array([self.pts[i] for i in ids.tolist()])

    def knn(self, Q, k, exclude=None):
        ids, X = self.arrays()
        seq = np.array([self.seq[i] for i in ids.tolist()])
        D = reference_distances(Q, X, "euclidean", 2)
        if exclude is not None:
            D[np.arange(len(Q)), np.searchsorted(ids, exclude)] = np.inf
        order = np.lexsort((np.broadcast_to(seq, D.shape), D), axis=1)[:, :k]
        return np.take_along_axis(D, order, axis=1), ids[order]

    def radius(self, Q, r):
        """Unsorted answers: in insertion order."""
        ids, X = self.arrays()
        seq = np.array([self.seq[i] for i in ids.tolist()])
        by_seq = np.argsort(seq)
        D = reference_distances(Q, X[by_seq], "euclidean", 2)
        return [ids[by_seq][row <= r] for row in D]


def check_tree(tree, brute, Q, k=5):
    d, i = tree.query(Q, k=k)
    bd, bi = brute.knn(Q, k)
    np.testing.assert_allclose(d, bd, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(i, bi)
    for got, want in zip(tree.query_radius(Q, 1.5), brute.radius(Q, 1.5)):
        np.testing.assert_array_equal(got, want)  # unsorted: in insertion order
    ids, X = brute.arrays()
    np.testing.assert_array_equal(tree.ids(), ids)
    np.testing.assert_array_equal(tree.points(ids), X)


def test_tree_with_ids_against_brute_force():
    rng = np.random.default_rng(1)
    X = grid(rng, 300, 3)
    ids = rng.choice(10**12, size=len(X), replace=False)
    tree = CoverTree(X, ids=ids, n_jobs=2)
    brute = Brute(X, ids)
    Q = grid(rng, 40, 3)
    check_tree(tree, brute, Q)
    assert tree.n_ids == ids.max() + 1
    # Insert with ids, with the next ids, delete, put a deleted id back.
    Y = grid(rng, 50, 3)
    new = rng.choice(np.setdiff1d(np.arange(5000), ids), size=50, replace=False)
    np.testing.assert_array_equal(tree.insert(Y, ids=new), new)
    brute.insert(Y, new)
    auto = tree.insert(Y[:3])
    np.testing.assert_array_equal(auto, np.arange(3) + ids.max() + 1)
    brute.insert(Y[:3], auto)
    check_tree(tree, brute, Q)
    gone = [int(ids[0]), int(new[5]), int(auto[1])]
    tree.delete(gone)
    brute.delete(gone)
    check_tree(tree, brute, Q)
    tree.insert(X[:1] + 0.5, ids=[gone[0]])
    brute.insert(X[:1] + 0.5, [gone[0]])
    check_tree(tree, brute, Q)


def test_structure_and_joins_with_ids():
    rng = np.random.default_rng(2)
    X = grid(rng, 120, 2)
    ids = 1000 - 3 * np.arange(len(X))  # descending: the order of ids is not the Go tree's
    tree = CoverTree(X, ids=ids)
    c = cKDTree(X)
    want = {(min(ids[a], ids[b]), max(ids[a], ids[b])) for a, b in c.query_pairs(1.0)}
    assert tree.query_pairs(1.0) == want
    arr = tree.query_pairs(1.0, output_type="ndarray")
    assert [tuple(p) for p in arr.tolist()] == sorted(want)
    other = CoverTree(X[:30])  # plain ids 0..29
    rows = tree.query_ball_tree(other, 1.0)
    order = np.argsort(ids)
    balls = c.query_ball_tree(cKDTree(X[:30]), 1.0)
    assert rows == [sorted(balls[r]) for r in order]
    m = tree.sparse_distance_matrix(other, 1.0, output_type="coo_matrix")
    assert m.shape == (ids.max() + 1, 30)
    assert set(zip(m.row.tolist(), m.col.tolist())) == {
        (int(ids[a]), b) for a, row in enumerate(balls) for b in row}
    s = tree.structure()
    assert set(s.ids.tolist()) <= set(ids.tolist()) and s.counts.sum() == len(X)
    assert set(s.parents.tolist()) <= set(ids.tolist()) | {-1}


def test_estimator_with_ids():
    rng = np.random.default_rng(3)
    X = grid(rng, 200, 2)
    nn = NearestNeighbors(n_neighbors=4).fit(X)
    Y = grid(rng, 30, 2)
    new = np.arange(30) * 10 + 1000
    np.testing.assert_array_equal(nn.insert(Y, ids=new), new)
    brute = Brute(np.vstack([X, Y]), np.concatenate([np.arange(200), new]))
    np.testing.assert_array_equal(nn.ids_, np.concatenate([np.arange(200), new]))
    assert nn.n_ids_ == new.max() + 1 and nn.n_samples_fit_ == 230
    d, i = nn.kneighbors(Y[:10])
    bd, bi = brute.knn(Y[:10], 4)
    np.testing.assert_array_equal(i, bi)
    # X=None: rows follow ids_, each point not its own neighbour.
    d, i = nn.kneighbors()
    ids, P = brute.arrays()
    bd, bi = brute.knn(P, 4, exclude=ids)
    np.testing.assert_array_equal(i, bi)
    G = nn.kneighbors_graph(mode="distance", columns="live")
    assert G.shape == (230, 230)
    np.testing.assert_array_equal(ids[G.indices.reshape(230, 4)], i)
    G = nn.radius_neighbors_graph(Y[:5], radius=1.0)
    assert G.shape == (5, nn.n_ids_)
    np.testing.assert_array_equal(G.indices, np.concatenate(brute.radius(Y[:5], 1.0)))
    snap = nn.snapshot()
    nn.delete(new[:5])
    assert snap.n_samples_fit_ == 230 and nn.n_samples_fit_ == 225


def test_ids_survive_pickle_and_save():
    rng = np.random.default_rng(4)
    X = grid(rng, 100, 3)
    tree = CoverTree(X, ids=np.arange(100) * 7 + 3)
    tree.insert(X[:5] + 0.25, ids=[1, 2, 4, 5, 6])
    tree.delete([3, 10])
    Q = grid(rng, 20, 3)
    want = tree.query(Q, k=3)
    for copy in (pickle.loads(pickle.dumps(tree)), pcct.load(_saved(tree))):
        np.testing.assert_array_equal(copy.ids(), tree.ids())
        assert copy.n_ids == tree.n_ids
        np.testing.assert_array_equal(copy.query(Q, k=3)[1], want[1])
        np.testing.assert_array_equal(copy.insert(Q[:1]), [tree.n_ids])
    nn = NearestNeighbors(n_neighbors=3).fit(X)
    nn.insert(X[:2], ids=[500, 600])
    for copy in (pickle.loads(pickle.dumps(nn)), pcct.load(_saved(nn))):
        np.testing.assert_array_equal(copy.ids_, nn.ids_)
        np.testing.assert_array_equal(copy.kneighbors(Q)[1], nn.kneighbors(Q)[1])


def _saved(obj):
    buf = io.BytesIO()
    obj.save(buf)
    buf.seek(0)
    return buf


def test_points():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 4))
    tree = CoverTree(X)
    np.testing.assert_array_equal(tree.points([3, 0, 49]), X[[3, 0, 49]])
    np.testing.assert_array_equal(tree.points(7), X[7])
    assert tree.points([]).shape == (0, 4)
    f32 = CoverTree(X.astype(np.float32))
    assert f32.points([1]).dtype == np.float32
    cos = CoverTree(X, metric="cosine")
    np.testing.assert_allclose(cos.points([2]), X[[2]] / np.linalg.norm(X[2]), rtol=1e-15)
    tree.delete([3])
    with pytest.raises(ValueError, match="id 3 is not in the tree"):
        tree.points([0, 3])
    with pytest.raises(ValueError, match="id 50 is not in the tree"):
        tree.points([50])


def test_bad_ids():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match="id 4 is given more than once"):
        CoverTree(X, ids=[4] * 20)
    with pytest.raises(ValueError, match="ids has 3 values for 20 points"):
        CoverTree(X, ids=[1, 2, 3])
    with pytest.raises(ValueError, match="ids must be >= 0"):
        CoverTree(X, ids=np.arange(20) - 1)
    with pytest.raises(ValueError, match="must hold integers"):
        CoverTree(X, ids=np.arange(20) + 0.5)
    tree = CoverTree(X, ids=np.arange(20) + 100)
    with pytest.raises(ValueError, match="id 105 is already in the tree"):
        tree.insert(X[:2], ids=[7, 105])
    with pytest.raises(ValueError, match="id 9 is given more than once"):
        tree.insert(X[:2], ids=[9, 9])
    assert tree.n_samples == 20 and tree.n_ids == 120  # nothing was inserted
    with pytest.raises(ValueError, match="id 5 is not in the tree"):
        tree.delete([5])
    with pytest.raises(ValueError, match="id 100 is given more than once"):
        tree.delete([100, 100])
    assert tree.n_samples == 20  # nothing was deleted
    nn = NearestNeighbors().fit(X)
    with pytest.raises(ValueError, match="id 0 is already in the tree"):
        nn.insert(X[:1], ids=[0])


def test_against_faiss():
    faiss = pytest.importorskip("faiss")
    rng = np.random.default_rng(7)
    X = rng.normal(size=(500, 8)).astype(np.float32)
    ids = rng.choice(10**9, size=len(X), replace=False)
    index = faiss.IndexIDMap2(faiss.IndexFlatL2(8))
    index.add_with_ids(X, ids)
    tree = CoverTree(X, ids=ids)
    Y = rng.normal(size=(100, 8)).astype(np.float32)
    more = rng.choice(np.setdiff1d(np.arange(10**6), ids), size=len(Y), replace=False)
    index.add_with_ids(Y, more)
    tree.insert(Y, ids=more)
    gone = np.concatenate([ids[:50], more[:10]])
    index.remove_ids(gone)
    tree.delete(gone)
    Q = rng.normal(size=(50, 8)).astype(np.float32)
    fd, fi = index.search(Q, 10)  # squared distances, float32
    d, i = tree.query(Q, k=10)
    np.testing.assert_array_equal(i, fi)  # no ties in random data
    np.testing.assert_allclose(d.astype(np.float64) ** 2, fd, rtol=1e-4)
    for k in (10, 17, 99):
        np.testing.assert_array_equal(tree.points([more[k]]), [index.reconstruct(int(more[k]))])


def test_ties_as_faiss_orders_them():
    """Duplicates and equal distances: faiss breaks ties by insertion order,
    and so does pcct with caller-chosen ids (grid data: faiss's float32
    squared distances are exact)."""
    faiss = pytest.importorskip("faiss")
    rng = np.random.default_rng(8)
    X = rng.integers(0, 3, size=(400, 3)).astype(np.float32)
    ids = rng.choice(10**6, size=len(X), replace=False)
    index = faiss.IndexIDMap2(faiss.IndexFlatL2(3))
    index.add_with_ids(X[:300], ids[:300])
    index.add_with_ids(X[300:], ids[300:])
    tree = CoverTree(X[:300], ids=ids[:300])
    tree.insert(X[300:], ids=ids[300:])
    Q = rng.integers(0, 3, size=(60, 3)).astype(np.float32)
    fd, fi = index.search(Q, 25)
    d, i = tree.query(Q, k=25)
    np.testing.assert_array_equal(d.astype(np.float64) ** 2, fd)
    np.testing.assert_array_equal(i, fi)


@pytest.mark.parametrize("damage", ["past n_ids", "negative", "two-dimensional", "no n_ids"])
def test_damaged_ids_in_a_saved_state(damage):
    rng = np.random.default_rng(5)
    X = grid(rng, 50, 3)
    tree = CoverTree(X, ids=np.arange(50) * 3)
    restore, (buf, state) = tree.__reduce__()
    restore(buf, dict(state))  # the undamaged state loads
    labels = np.array(state["labels"])
    state = dict(state)
    if damage == "past n_ids":
        labels[7] = state["n_ids"]
    elif damage == "negative":
        labels[7] = -1
    elif damage == "two-dimensional":
        labels = labels.reshape(5, 10)
    else:
        del state["n_ids"]
    state["labels"] = labels
    match = "n_ids" if damage == "no n_ids" else "ids out of range"
    with pytest.raises(ValueError, match=match):
        restore(buf, state)
