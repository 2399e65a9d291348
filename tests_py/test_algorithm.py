"""The ``algorithm`` parameter: a cover tree, brute force, or "auto".

Brute force must give the cover tree's answers bit for bit (distances and
ids, ties included) and scikit-learn's brute force's within float
tolerance, on real data full of duplicates, in float32 and float64, with
query points and X=None, before and after updates; "auto" must say what it
built and why; the brute-force index must keep the tree's interface
(updates, snapshots, pickling, saving) and refuse what it cannot do.
Approximate search (``CoverTree.query(eps=...)``) is checked against its
guarantee.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import warnings
import zlib

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsTransformer as SkKNT
from sklearn.neighbors import NearestNeighbors as SkNN

import pcct
from conftest import check_kneighbors, load_dataset, reference_distances, subsample_keeping_duplicates
from pcct import BruteForceIndex, CoverTree, KNeighborsTransformer, NearestNeighbors
from pcct.exceptions import InvalidParameterError

DATASETS = ["letter", "pendigits", "magic", "bunny", "zipcodes"]
K = 8


def _sample(name, cache, dtype, n=1200, nq=150):
    X = load_dataset(name, cache)
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 1)
    fit = subsample_keeping_duplicates(X[rng.permutation(len(X))[: len(X) // 2]], n, rng)
    Q = np.vstack([X[rng.choice(len(X), nq - 10)], fit[:10]])  # some at distance 0
    return fit.astype(dtype), Q.astype(dtype)


def _same(a, b):
    """Answers (tuples of arrays) equal bit for bit."""
    for x, y in zip(a, b):
        if x.dtype == object:
            for u, v in zip(x, y):
                np.testing.assert_array_equal(u, v)
        else:
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("metric", ["euclidean", "cosine", "manhattan"])
@pytest.mark.parametrize("name", DATASETS)
def test_brute_force_is_the_tree_bit_for_bit(name, metric, dtype, dataset_cache):
    X, Q = _sample(name, dataset_cache, dtype)
    if metric == "cosine":
        X, Q = X[np.abs(X).sum(axis=1) > 0], Q[np.abs(Q).sum(axis=1) > 0]
    tree = NearestNeighbors(n_neighbors=K, metric=metric, algorithm="cover_tree", n_jobs=2).fit(X)
    brute = NearestNeighbors(n_neighbors=K, metric=metric, algorithm="brute", n_jobs=2).fit(X)
    assert (tree.effective_algorithm_, brute.effective_algorithm_) == ("cover_tree", "brute")
    assert type(tree.tree_) is CoverTree and type(brute.tree_) is BruteForceIndex
    assert tree.algorithm_choice_ is None and brute.algorithm_choice_ is None
    r = float(np.median(tree.kneighbors(Q[:50])[0][:, 4]))
    for est in (tree, brute):  # the same updates on both
        est.insert(X[:40] + 0.5)
        est.delete(list(range(0, len(X), 7)))
    for q in (Q, None):
        _same(tree.kneighbors(q), brute.kneighbors(q))
        _same(tree.radius_neighbors(q, radius=r, sort_results=True),
              brute.radius_neighbors(q, radius=r, sort_results=True))
        np.testing.assert_array_equal(tree.tree_.query_radius(Q, r, count_only=True),
                                      brute.tree_.query_radius(Q, r, count_only=True))
    # And scikit-learn's brute force on the live points (ids mapped back).
    live = brute.ids_
    pts = np.vstack([X, X[:40] + 0.5])[live]
    sk = SkNN(n_neighbors=K, metric=metric, algorithm="brute").fit(pts)
    dist, ind = brute.kneighbors(Q)
    ref = reference_distances(Q, pts, metric, 2)
    check_kneighbors(dist, np.searchsorted(live, ind), ref, K, dtype, sk=sk.kneighbors(Q),
                     scale=float(np.abs(pts).max()) if metric != "cosine" else 1.0)


def test_fashion_mnist_brute_force_matches_scikit_learn():
    """784 dimensions, the brute-force index's home: exact on a sample of
    Fashion-MNIST (skipped when the data are not installed)."""
    folder = os.environ.get("PCCT_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
    path = os.path.join(folder, "train-images-idx3-ubyte.gz")
    if not os.path.exists(path):
        pytest.skip(f"Fashion-MNIST is absent ({path}; apt-get install dataset-fashion-mnist, "
                    "or set PCCT_FASHION_MNIST)")
    with gzip.open(path) as f:
        _, n, rows, cols = struct.unpack(">IIII", f.read(16))
        X = np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, rows * cols)
    rng = np.random.default_rng(3)
    X = X[rng.choice(len(X), 3000, replace=False)].astype(np.float64)
    Q = X[:100] + rng.integers(-3, 4, size=(100, X.shape[1]))
    ours = NearestNeighbors(n_neighbors=K).fit(X)
    assert ours.effective_algorithm_ == "brute", ours.algorithm_choice_
    sk = SkNN(n_neighbors=K, algorithm="brute").fit(X)
    check_kneighbors(*ours.kneighbors(Q), reference_distances(Q, X, "euclidean", 2), K,
                     np.float64, sk=sk.kneighbors(Q), scale=255.0)


def _ordered_reference(Q, X, k, exclude_self):
    """The k nearest by (distance, id). The coordinates are integers (the
    offset taken off), so |q|^2 - 2 q.x + |x|^2 in int64 is the exact
    squared distance, and its float64 square root the distance computed
    from exact differences."""
    Qi, Xi = Q.astype(np.int64) - 1000, X.astype(np.int64) - 1000
    d2 = (Qi * Qi).sum(axis=1)[:, None] - 2 * (Qi @ Xi.T) + (Xi * Xi).sum(axis=1)[None, :]
    d = np.sqrt(d2.astype(np.float64))
    if exclude_self:
        np.fill_diagonal(d, np.inf)
    ids = np.broadcast_to(np.arange(len(X)), d.shape)
    order = np.lexsort((ids, d), axis=1)[:, :k]
    return np.take_along_axis(d, order, 1), order


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("algorithm", ["brute", "auto"])
def test_high_dimensional_ties_and_duplicates_exact(algorithm, dtype):
    """784 dimensions (Fashion-MNIST's), coordinates in {0, 1, 2} far from
    the origin: a fifth of the rows duplicated and many neighbours at equal
    distances. Every answer is the float64 reference's, ids and distances,
    ties in id order, for held-out queries (some of them fitted rows) and
    X=None."""
    rng = np.random.default_rng(13)
    base = rng.integers(0, 3, size=(1200, 784))
    X = np.vstack([base, base[rng.choice(len(base), 300)]])[rng.permutation(1500)]
    Q = np.vstack([rng.integers(0, 3, size=(40, 784)), X[:10]])
    X, Q = (X + 1000.0).astype(dtype), (Q + 1000.0).astype(dtype)
    k = 10
    est = NearestNeighbors(n_neighbors=k, algorithm=algorithm, n_jobs=2).fit(X)
    if algorithm == "auto":
        assert est.effective_algorithm_ == "brute", est.algorithm_choice_
    for q in (Q, None):
        dist, ind = est.kneighbors(q)
        ref_d, ref_i = _ordered_reference(X if q is None else q, X, k, q is None)
        np.testing.assert_array_equal(ind, ref_i)
        np.testing.assert_array_equal(dist, ref_d.astype(dtype))
        assert dist.dtype == dtype


def test_auto_takes_a_tree_where_it_answers_faster():
    """Sets of 10,000 points a tree prunes only in part: a 3-D manifold in
    16 dimensions and uniform points in 6, for which "auto" chose brute
    force until its cost model was measured again (a tree answered fit and
    four passes 4.8 and 4.2 times as fast: docs/performance.md), now get a
    tree; uniform points in 16 dimensions, where brute force is 2.6 times
    as fast, still get brute force. The tree's answers are brute force's."""
    rng = np.random.default_rng(21)
    a, b, c = rng.random((3, 10000, 1)) * [[[6.0]], [[6.0]], [[1.0]]]
    j = np.arange(16)
    manifold = (np.sin(a * (j + 1) / 3) + np.cos(b * (j % 5 + 1) / 2) + c * (j % 3)
                + 0.01 * rng.standard_normal((10000, 16)))
    for X, want in ((manifold, "cover_tree"), (rng.random((10000, 6)), "cover_tree"),
                    (rng.random((10000, 16)), "brute")):
        est = NearestNeighbors(n_neighbors=K, n_jobs=2).fit(X)
        assert est.effective_algorithm_ == want, (X.shape, est.algorithm_choice_)
        Q = X[:50] + 1e-3
        sk = SkNN(n_neighbors=K, algorithm="brute").fit(X)
        check_kneighbors(*est.kneighbors(Q), reference_distances(Q, X, "euclidean", 2), K,
                         np.float64, sk=sk.kneighbors(Q))


def test_auto_reports_its_choice():
    rng = np.random.default_rng(0)
    curve = np.c_[np.linspace(0, 50, 6000), np.sin(np.linspace(0, 50, 6000))]
    cube = rng.random((3000, 48))
    low = NearestNeighbors().fit(curve)
    high = NearestNeighbors().fit(cube)
    assert low.effective_algorithm_ == "cover_tree" and type(low.tree_) is CoverTree
    assert high.effective_algorithm_ == "brute" and type(high.tree_) is BruteForceIndex
    for est in (low, high):
        c = est.algorithm_choice_
        assert set(c) == {"sample", "sample_evaluations_per_query", "growth",
                          "evaluations_per_query", "build_evaluations_per_point",
                          "tree_seconds", "brute_seconds", "build_budget", "gave_up"}
        assert c["gave_up"] is False
        assert c["sample"] <= len(est.tree_.ids()) and c["evaluations_per_query"] > 0
        assert (c["brute_seconds"] < c["tree_seconds"]) == (est.effective_algorithm_ == "brute")
    # In two dimensions "auto" decides without sample trees; in 48 from them.
    assert low.algorithm_choice_["sample"] == 0 and low.algorithm_choice_["sample_evaluations_per_query"] == 0
    assert high.algorithm_choice_["sample"] > 0
    # The choice survives a snapshot, pickling and saving.
    for twin in (high.snapshot(), pickle.loads(pickle.dumps(high)), _saved_and_loaded(high)):
        assert twin.effective_algorithm_ == "brute" and type(twin.tree_) is BruteForceIndex
        assert twin.algorithm_choice_ == high.algorithm_choice_
        _same(twin.kneighbors(cube[:30]), high.kneighbors(cube[:30]))


def test_a_cover_tree_asked_for_on_unprunable_data_warns():
    """A cover tree asked for by name over data it cannot prune (uniform
    points in 40-D) costs a good share of all pairs: the fit says so and
    points to 'auto' and 'brute'; over data it prunes (a curve), no word."""
    from sklearn.exceptions import EfficiencyWarning

    rng = np.random.default_rng(3)
    cube = rng.random((5000, 40))
    with pytest.warns(EfficiencyWarning, match="little to prune.*'auto'.*'brute'"):
        NearestNeighbors(algorithm="cover_tree").fit(cube)
    curve = np.c_[np.linspace(0, 50, 6000), np.sin(np.linspace(0, 50, 6000))]
    with warnings.catch_warnings():
        warnings.simplefilter("error", EfficiencyWarning)
        NearestNeighbors(algorithm="cover_tree").fit(curve)
        NearestNeighbors().fit(cube)  # "auto" decides itself: brute force, no warning


def _saved_and_loaded(est):
    buf = io.BytesIO()
    est.save(buf)
    buf.seek(0)
    return pcct.load(buf)


@pytest.mark.parametrize("bad", ["kd_tree", "ball_tree", "Brute", None, 1])
def test_unknown_algorithm_is_refused(bad):
    with pytest.raises(InvalidParameterError, match="'algorithm' parameter of NearestNeighbors"):
        NearestNeighbors(algorithm=bad).fit(np.eye(3))
    if bad in ("kd_tree", "ball_tree"):
        with pytest.raises(InvalidParameterError, match="use 'cover_tree', or 'auto'"):
            NearestNeighbors(algorithm=bad).fit(np.eye(3))


def test_brute_force_index_keeps_the_interface():
    rng = np.random.default_rng(1)
    X = rng.random((2500, 20)).astype(np.float32)
    index = BruteForceIndex(X, n_jobs=2)
    tree = CoverTree(X, n_jobs=2)
    assert repr(index).startswith("BruteForceIndex(n_samples=2500, n_features=20, dtype=float32")
    snap = index.snapshot()
    assert index.insert(X[:5] + 1).tolist() == tree.insert(X[:5] + 1).tolist() == list(range(2500, 2505))
    index.delete([0, 1, 2])
    tree.delete([0, 1, 2])
    _same(index.query(X[:50], k=4), tree.query(X[:50], k=4))
    assert snap.n_samples == 2500 and snap.read_only and index.n_samples == 2502
    with pytest.raises(pcct.ReadOnlyError):
        snap.insert(X[:1])
    twin = pickle.loads(pickle.dumps(index))
    assert type(twin) is BruteForceIndex
    _same(twin.query(X[:50], k=4), index.query(X[:50], k=4))
    loaded = _saved_and_loaded(index)
    assert type(loaded) is BruteForceIndex
    _same(loaded.query(X[:50], k=4), index.query(X[:50], k=4))
    with pytest.raises(TypeError, match="no tree structure"):
        index.structure()
    s = index.stats()
    assert s["algorithm"] == "brute" and s["levels"] == 0 and s["points"] == 2502
    assert s["queries"] == 150 and s["evaluations_per_query"] >= 2502 - 1
    # Exact whatever eps asks.
    _same(index.query(X[:20], k=4, eps=2.0), index.query(X[:20], k=4))


def test_plots_refuse_a_brute_force_index():
    pytest.importorskip("matplotlib")
    from pcct.plotting import plot_levels

    est = NearestNeighbors(algorithm="brute").fit(np.random.default_rng(2).random((50, 2)))
    with pytest.raises(TypeError, match="fit with algorithm='cover_tree'"):
        plot_levels(est)


def test_transformer_takes_the_algorithm():
    X = np.random.default_rng(4).random((400, 30))
    graphs = []
    for algorithm in ("cover_tree", "brute"):
        t = KNeighborsTransformer(n_neighbors=5, algorithm=algorithm).fit(X)
        assert t.effective_algorithm_ == algorithm
        graphs.append(t.transform(X))
    assert (graphs[0] != graphs[1]).nnz == 0
    sk = SkKNT(n_neighbors=5).fit(X).transform(X)
    # scikit-learn puts a point about 4e-8 from itself (its |x|^2 - 2x.y + |y|^2).
    np.testing.assert_allclose(np.sort(graphs[0].data), np.sort(sk.data), rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("eps", [0.0, 0.1, 1.0, np.inf])
def test_eps_guarantee(eps, dataset_cache):
    X, Q = _sample("bunny", dataset_cache, np.float64, n=3000, nq=400)
    tree = CoverTree(X, n_jobs=2)
    dist, ind = tree.query(Q, k=K, eps=eps)
    ref = reference_distances(Q, X, "euclidean", 2)
    true = np.sort(ref, axis=1)[:, :K]
    rows = np.arange(len(Q))[:, None]
    np.testing.assert_allclose(ref[rows, ind], dist, rtol=1e-12, atol=1e-12)  # true distances
    assert all(len(set(r)) == K for r in ind)
    if np.isfinite(eps):
        assert np.all(dist <= true * (1 + eps) * (1 + 1e-12) + 1e-12)
    if eps == 0:
        np.testing.assert_array_equal(dist, tree.query(Q, k=K)[0])


def test_eps_is_checked():
    tree = CoverTree(np.random.default_rng(5).random((100, 3)))
    for bad in (-0.1, np.nan, "1", True):
        with pytest.raises(ValueError, match="eps must be a number >= 0"):
            tree.query(np.zeros((1, 3)), k=2, eps=bad)
    corrected = CoverTree(np.random.default_rng(5).random((100, 3)), search="corrected")
    with pytest.raises(ValueError, match="needs search='depth_first'"):
        corrected.query(np.zeros((1, 3)), k=2, eps=0.5)
