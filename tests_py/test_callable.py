"""A Python function as the metric (and scikit-learn's
DistanceMetric("pyfunc")): Go calls back into Python for each distance.
Checked against the same distance built in (bit for bit: the function
computes what the kernel computes), against scikit-learn with the same
function, with n_jobs > 1, exceptions raised by the function, pickling,
and Ctrl-C."""

from __future__ import annotations

import pickle
import threading
import time
import _thread

import numpy as np
import pytest
from sklearn.metrics import DistanceMetric
from sklearn.neighbors import NearestNeighbors as SkNN

import pcct
from pcct import CoverTree, NearestNeighbors


def l1(a, b, scale=1.0):
    """The Manhattan distance, as the Go kernel sums it (pairwise sums
    differ in the last bits on random data, so tests compare on grids)."""
    return scale * float(np.abs(a - b).sum())


def grid(rng, n, d=3):
    return rng.integers(0, 4, (n, d)).astype(np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_python_function_against_builtin(dtype):
    rng = np.random.default_rng(1)
    X, Q = grid(rng, 300).astype(dtype), grid(rng, 30).astype(dtype)
    nn = NearestNeighbors(n_neighbors=6, metric=l1, n_jobs=2).fit(X)
    ref = NearestNeighbors(n_neighbors=6, metric="manhattan", algorithm="cover_tree").fit(X)
    assert nn.effective_metric_ is l1
    for got, want in ((nn.kneighbors(Q), ref.kneighbors(Q)), (nn.kneighbors(), ref.kneighbors())):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])  # ties by id, as built in
    gd, gi = nn.radius_neighbors(Q, 2.0)
    wd, wi = ref.radius_neighbors(Q, 2.0)
    for a, b in zip(gi, wi):
        np.testing.assert_array_equal(a, b)
    tree = CoverTree(X, metric=l1, n_jobs=2)
    np.testing.assert_array_equal(tree.count_neighbors(tree, [0, 1, 2]),
                                  ref.tree_.count_neighbors(ref.tree_, [0, 1, 2]))
    assert tree.query_pairs(1.0) == ref.tree_.query_pairs(1.0)
    assert "metric=l1" in repr(tree)
    # Updates keep the function.
    tree.insert(Q)
    tree.delete([0, 1])
    ref.insert(Q)
    ref.delete([0, 1])
    np.testing.assert_array_equal(tree.query(Q, k=4)[1], ref.tree_.query(Q, k=4)[1])


def test_keyword_arguments_and_pyfunc_objects():
    rng = np.random.default_rng(2)
    X, Q = rng.normal(size=(200, 4)), rng.normal(size=(20, 4))
    nn = NearestNeighbors(n_neighbors=5, metric=l1, metric_params={"scale": 3.0}).fit(X)
    sk = SkNN(n_neighbors=5, metric=l1, metric_params={"scale": 3.0}, algorithm="ball_tree").fit(X)
    d, i = nn.kneighbors(Q)
    sd, si = sk.kneighbors(Q)
    np.testing.assert_allclose(d, sd, rtol=1e-12)
    np.testing.assert_array_equal(i, si)  # no ties in random data
    dm = DistanceMetric.get_metric("pyfunc", func=l1, scale=2.0)
    tree = CoverTree(X, metric=dm)
    np.testing.assert_allclose(tree.query(Q, k=5)[0], d * 2 / 3, rtol=1e-12)
    with pytest.raises(ValueError, match="only applies to metric='minkowski'"):
        NearestNeighbors(metric=l1, p=3).fit(X)


class Boom(Exception):
    pass


def test_exceptions_reach_the_caller():
    rng = np.random.default_rng(3)
    X = grid(rng, 100)

    def bad(a, b):
        if a[0] == 3 and b[0] == 0:
            raise Boom("no distance here")
        return l1(a, b)

    with pytest.raises(Boom, match="no distance here"):
        NearestNeighbors(metric=bad, n_jobs=2).fit(X)
    Y = X[X[:, 0] < 3]
    ok = NearestNeighbors(n_neighbors=3, metric=bad).fit(Y)
    before = ok.kneighbors(Y[:5])
    with pytest.raises(Boom):
        ok.kneighbors(np.array([[3.0, 1.0, 1.0]]))
    np.testing.assert_array_equal(ok.kneighbors(Y[:5])[1], before[1])  # unchanged

    def nan(a, b):
        return float("nan") if a[0] != b[0] else 0.0

    with pytest.raises(ValueError, match="not a finite distance"):
        CoverTree(X, metric=nan)


def test_pickle_but_not_save(tmp_path):
    rng = np.random.default_rng(4)
    X = grid(rng, 120)
    nn = NearestNeighbors(n_neighbors=3, metric=l1, metric_params={"scale": 2.0}).fit(X)
    back = pickle.loads(pickle.dumps(nn))
    np.testing.assert_array_equal(back.kneighbors(X[:10])[1], nn.kneighbors(X[:10])[1])
    assert back.tree_.metric is l1
    with pytest.raises(TypeError, match="pickle it instead"):
        nn.save(tmp_path / "model.pcct")
    with pytest.raises(TypeError, match="pickle it instead"):
        nn.tree_.save(tmp_path / "tree.pcct")
    with pytest.raises(ValueError, match="needs a metric the GPU computes"):
        NearestNeighbors(metric=l1, device="cuda").fit(X)


def test_ctrl_c_stops_a_python_metric():
    rng = np.random.default_rng(5)
    X = rng.random((400, 4))
    nn = NearestNeighbors(n_neighbors=5, metric=l1, n_jobs=2).fit(X)
    Q = rng.random((200_000, 4))  # minutes of callbacks
    timer = threading.Timer(0.5, _thread.interrupt_main)
    t0 = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            nn.kneighbors(Q)
    finally:
        timer.cancel()
    assert time.monotonic() - t0 < 3.0
    for t in threading.enumerate():
        if t.name.startswith("pcct ") and t is not threading.current_thread():
            t.join(60)
    ref = NearestNeighbors(n_neighbors=5, metric="manhattan").fit(X)
    np.testing.assert_allclose(nn.kneighbors(X[:20])[0], ref.kneighbors(X[:20])[0], rtol=1e-12)


def test_python_function_needs_a_cover_tree():
    """Go calls a Python function back through a cover tree only: a
    brute-force index refuses one saying so, and algorithm='auto' builds a
    cover tree for it (no sampled choice to report)."""
    rng = np.random.default_rng(12)
    X = grid(rng, 120)
    with pytest.raises(ValueError, match="algorithm='brute' cannot use a Python function"):
        NearestNeighbors(algorithm="brute", metric=l1).fit(X)
    with pytest.raises(ValueError, match="BruteForceIndex cannot use a Python function"):
        pcct.BruteForceIndex(X, metric=l1)
    nn = NearestNeighbors(n_neighbors=4, algorithm="auto", metric=l1).fit(X)
    assert nn.effective_algorithm_ == "cover_tree" and nn.algorithm_choice_ is None
    want = NearestNeighbors(n_neighbors=4, metric="manhattan", algorithm="cover_tree").fit(X)
    np.testing.assert_array_equal(nn.kneighbors(X[:10])[1], want.kneighbors(X[:10])[1])
    with pytest.raises(ValueError, match="DBSCAN takes no Python function"):
        pcct.cluster.DBSCAN(eps=1.0, metric=l1).fit(X)
