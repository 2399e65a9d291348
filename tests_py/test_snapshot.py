"""Snapshots: read-only, O(1), and answering as of the moment they were
taken, whatever happens to the live estimator (in other threads too)."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest
from sklearn.base import clone

from pcct import CoverTree, NearestNeighbors, ReadOnlyError

rng = np.random.default_rng(21)


def _answers(est, Q):
    """Every kind of answer, as a flat list of arrays (graphs as their CSR
    arrays), with shapes and dtypes."""
    out = []
    out += est.kneighbors(Q)
    out += est.kneighbors()
    for Xq in (Q, None):
        d, i = est.radius_neighbors(Xq, sort_results=True)
        out += [np.concatenate(list(d)), np.concatenate(list(i)), np.array([len(a) for a in i])]
        for g in (est.kneighbors_graph(Xq, mode="distance"),
                  est.radius_neighbors_graph(Xq, mode="distance", sort_results=True)):
            out += [g.data, g.indices, g.indptr, np.array(g.shape)]
    out += [est.ids_.copy(), np.array([est.n_samples_fit_, est.n_ids_])]
    return out


def _assert_identical(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_snapshot_answers_do_not_change(dtype):
    X = rng.integers(0, 8, size=(600, 3)).astype(dtype)
    Q = rng.integers(-1, 9, size=(50, 3)).astype(dtype)
    est = NearestNeighbors(n_neighbors=5, radius=1.5, n_jobs=2).fit(X)
    snaps = []
    for step in range(5):
        snap = est.snapshot()
        assert snap.tree_._version is est.tree_._version  # shared, O(1)
        snaps.append((snap, _answers(snap, Q)))
        _assert_identical(snaps[-1][1], _answers(est, Q))
        est.delete(rng.choice(est.ids_, size=80, replace=False))
        est.insert(rng.integers(0, 8, size=(60, 3)))
        for s, expected in snaps:
            _assert_identical(_answers(s, Q), expected)
    # Refitting the live estimator does not touch them either.
    est.fit(X[:100])
    for s, expected in snaps:
        _assert_identical(_answers(s, Q), expected)


def test_snapshots_are_read_only():
    X = rng.random((100, 2))
    est = NearestNeighbors(n_neighbors=3).fit(X)
    snap = est.snapshot()
    assert snap.tree_.read_only and not est.tree_.read_only
    for call in (lambda: snap.insert(X[:2]), lambda: snap.delete([0]), lambda: snap.fit(X),
                 lambda: snap.tree_.insert(X[:2]), lambda: snap.tree_.delete([0])):
        with pytest.raises(ReadOnlyError, match="read-only snapshot"):
            call()
    assert issubclass(ReadOnlyError, TypeError)
    assert snap.n_samples_fit_ == 100 and snap.n_ids_ == 100
    # Query parameters can still change.
    snap.set_params(n_neighbors=4)
    assert snap.kneighbors(X[:2])[1].shape == (2, 4)
    # A snapshot of a snapshot; clone() gives an ordinary unfitted estimator.
    assert est.snapshot().snapshot().kneighbors(X[:3])[1].tolist() == est.kneighbors(X[:3])[1].tolist()
    twin = clone(snap)
    assert twin.get_params() == snap.get_params()
    twin.fit(X).insert(X[:1])
    # The repr names the parameters only, like scikit-learn's.
    assert repr(snap) == "NearestNeighbors(n_neighbors=4)"


def test_cover_tree_snapshot_and_copies():
    X = rng.random((200, 3))
    Q = rng.random((20, 3))
    tree = CoverTree(X, metric="chebyshev", search="corrected", n_jobs=2)
    snap = tree.snapshot()
    assert snap.read_only and snap.metric == "chebyshev" and snap.search == "corrected"
    assert repr(snap) == ("CoverTree(n_samples=200, n_features=3, dtype=float64, metric=chebyshev, "
                          "search=corrected, read_only=True)")
    expected = snap.query(Q, k=4)
    deep = copy.deepcopy(tree)
    shallow = copy.copy(tree)
    assert deep._version is tree._version and not deep.read_only
    tree.delete(np.arange(0, 200, 2))
    tree.insert(rng.random((30, 3)))
    for t in (snap, deep, shallow):
        for a, b in zip(t.query(Q, k=4), expected):
            np.testing.assert_array_equal(a, b)
    # Copies update independently.
    deep.delete([1])
    assert deep.n_samples == 199 and shallow.n_samples == 200 and tree.n_samples == 130
    assert copy.copy(snap).read_only


def test_threads_query_a_snapshot_while_the_live_estimator_changes():
    X = rng.integers(0, 10, size=(3000, 3)).astype(float)
    Q = rng.integers(0, 10, size=(300, 3)).astype(float)
    est = NearestNeighbors(n_neighbors=8, radius=1.0, n_jobs=2).fit(X)
    snap = est.snapshot()
    exp_k = snap.kneighbors(Q)
    exp_t = snap.kneighbors()
    exp_r = snap.radius_neighbors(Q, sort_results=True)
    stop = threading.Event()
    errors = []
    counts = [0] * 4

    def reader(w):
        try:
            while not stop.is_set():
                if w % 2:
                    for a, b in zip(snap.kneighbors(Q), exp_k):
                        np.testing.assert_array_equal(a, b)
                    for a, b in zip(snap.kneighbors(), exp_t):
                        np.testing.assert_array_equal(a, b)
                else:
                    d, i = snap.radius_neighbors(Q, sort_results=True)
                    for a, b in zip(i, exp_r[1]):
                        np.testing.assert_array_equal(a, b)
                    # A query on the live estimator sees one version, whole:
                    # 3000 points, or 2850 between a deletion and an insertion.
                    d, i = est.kneighbors()
                    assert i.shape in ((3000, 8), (2850, 8))
                    assert np.all(np.diff(d, axis=1) >= 0) and i.max() < est.n_ids_
                    assert all(len(set(row)) == 8 for row in i[:50])
                counts[w] += 1
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
            stop.set()

    def writer():
        try:
            for _ in range(15):
                est.delete(rng.choice(est.ids_, size=150, replace=False))
                est.insert(rng.integers(0, 10, size=(150, 3)).astype(float))
        except BaseException as e:  # pragma: no cover
            errors.append(e)
        finally:
            stop.set()

    threads = [threading.Thread(target=reader, args=(w,)) for w in range(4)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[0]
    assert all(c > 0 for c in counts), counts
    assert est.n_ids_ == 3000 + 15 * 150 and est.n_samples_fit_ == 3000
    for a, b in zip(snap.kneighbors(Q), exp_k):
        np.testing.assert_array_equal(a, b)


def test_concurrent_updates_of_one_estimator_are_serialized():
    """Two threads inserting into one estimator: every point gets a distinct
    id and none is lost."""
    X = rng.random((500, 2))
    est = NearestNeighbors(n_neighbors=2).fit(X)
    got = [[], []]

    def insert(w):
        for _ in range(20):
            got[w].append(est.insert(rng.random((25, 2))))

    threads = [threading.Thread(target=insert, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = np.concatenate(got[0] + got[1])
    assert len(np.unique(ids)) == 1000
    np.testing.assert_array_equal(np.sort(ids), np.arange(500, 1500))
    assert est.n_samples_fit_ == 1500
