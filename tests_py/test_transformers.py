"""KNeighborsTransformer and RadiusNeighborsTransformer: scikit-learn's
estimator checks, the same graphs as scikit-learn's transformers, and the
same results in pipelines with Isomap, TSNE, DBSCAN and
KNeighborsClassifier (metric="precomputed")."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from sklearn.cluster import DBSCAN
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.manifold import TSNE, Isomap
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neighbors import KNeighborsTransformer as SkKNeighborsTransformer
from sklearn.neighbors import RadiusNeighborsTransformer as SkRadiusNeighborsTransformer
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

import pcct
from pcct import InvalidParameterError, KNeighborsTransformer, RadiusNeighborsTransformer


@parametrize_with_checks(
    [
        KNeighborsTransformer(),
        KNeighborsTransformer(mode="connectivity", n_neighbors=3, metric="manhattan"),
        RadiusNeighborsTransformer(),
        RadiusNeighborsTransformer(mode="connectivity", radius=0.5, search="corrected", n_jobs=2),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _digits(n=400, jitter=True):
    """The first n digits; jittered by 1e-3 (the pixels are integers) so
    that no two distances tie and both libraries must pick the same
    neighbours. Without the jitter the data hold duplicates and ties."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:n].astype(np.float64), y[:n]
    if jitter:
        X = X + np.random.default_rng(0).random(X.shape) * 1e-3
    return X, y


# scikit-learn's Euclidean distances go through |a|^2 - 2 a.b + |b|^2, which
# loses about 1e-6 on the digits' squared norms (up to ~2e4); pcct's are
# computed directly. Their graphs agree to this absolute tolerance.
ATOL = 1e-4


@pytest.mark.parametrize("mode", ["distance", "connectivity"])
def test_kneighbors_graph_equals_sklearn(mode):
    X, _ = _digits()
    Q = X[:50] + 0.5
    ours = KNeighborsTransformer(n_neighbors=7, mode=mode, n_jobs=2).fit(X)
    theirs = SkKNeighborsTransformer(n_neighbors=7, mode=mode).fit(X)
    for a, b in [(ours.transform(X), theirs.transform(X)), (ours.transform(Q), theirs.transform(Q)),
                 (KNeighborsTransformer(n_neighbors=7, mode=mode).fit_transform(X),
                  SkKNeighborsTransformer(n_neighbors=7, mode=mode).fit_transform(X))]:
        assert a.shape == b.shape and a.format == "csr"
        # as many stored entries per row: 8 with the point itself for "distance"
        np.testing.assert_array_equal(np.diff(a.indptr), np.diff(b.indptr))
        np.testing.assert_allclose(a.toarray(), b.toarray(), atol=ATOL)


@pytest.mark.parametrize("mode", ["distance", "connectivity"])
def test_radius_graph_equals_sklearn(mode):
    X, _ = _digits()
    ours = RadiusNeighborsTransformer(radius=22.0, mode=mode).fit_transform(X)
    theirs = SkRadiusNeighborsTransformer(radius=22.0, mode=mode).fit_transform(X)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.toarray(), theirs.toarray(), atol=ATOL)
    if mode == "distance":  # each row sorted by distance, as scikit-learn sorts it
        for i in range(ours.shape[0]):
            row = ours.data[ours.indptr[i]:ours.indptr[i + 1]]
            assert (np.diff(row) >= 0).all()


def test_graph_with_duplicates_and_ties_matches_sklearn_up_to_tie_order():
    """The raw digits hold identical images and tied distances: the
    neighbour chosen at a tied k-th distance may differ (pcct takes the
    smallest index), but every row's distances are the same."""
    X, _ = _digits(jitter=False)
    ours = KNeighborsTransformer(n_neighbors=6).fit_transform(X)
    theirs = SkKNeighborsTransformer(n_neighbors=6).fit_transform(X)
    for i in range(X.shape[0]):
        a = np.sort(ours.data[ours.indptr[i]:ours.indptr[i + 1]])
        b = np.sort(theirs.data[theirs.indptr[i]:theirs.indptr[i + 1]])
        np.testing.assert_allclose(a, b, atol=ATOL)


def _pair(pcct_step, sk_step, final):
    """The same pipeline with pcct's transformer and with scikit-learn's."""
    from sklearn.base import clone

    return make_pipeline(pcct_step, clone(final)), make_pipeline(sk_step, clone(final))


def test_isomap_pipeline_equals_sklearn():
    X, _ = _digits(300)
    ours, theirs = _pair(KNeighborsTransformer(n_neighbors=15),
                         SkKNeighborsTransformer(n_neighbors=15),
                         Isomap(n_neighbors=15, n_components=2, metric="precomputed"))
    a, b = ours.fit_transform(X), theirs.fit_transform(X)
    # Eigenvectors are defined up to sign.
    np.testing.assert_allclose(np.abs(a), np.abs(b), rtol=1e-6, atol=1e-6)
    # New points go through transform, too.
    np.testing.assert_allclose(np.abs(ours.transform(X[:20] + 0.5)),
                               np.abs(theirs.transform(X[:20] + 0.5)), rtol=1e-6, atol=1e-6)


def test_tsne_pipeline_equals_sklearn():
    X, _ = _digits(120)
    # TSNE needs 3 * perplexity + 1 neighbours besides the point itself.
    perplexity = 5
    k = 3 * perplexity + 1
    final = TSNE(metric="precomputed", perplexity=perplexity, init="random", random_state=0,
                 max_iter=250)
    ours, theirs = _pair(KNeighborsTransformer(n_neighbors=k), SkKNeighborsTransformer(n_neighbors=k),
                         final)
    np.testing.assert_allclose(ours.fit_transform(X), theirs.fit_transform(X), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("eps", [16.0, 20.0])
def test_dbscan_pipeline_equals_sklearn(eps):
    X, _ = _digits()
    ours, theirs = _pair(RadiusNeighborsTransformer(radius=eps),
                         SkRadiusNeighborsTransformer(radius=eps),
                         DBSCAN(eps=eps, min_samples=4, metric="precomputed"))
    a, b = ours.fit_predict(X), theirs.fit_predict(X)
    np.testing.assert_array_equal(a, b)
    assert len(set(a)) > 2  # some clusters and noise: the test means something


def test_kneighbors_classifier_pipeline_equals_sklearn():
    X, y = _digits(500)
    ours, theirs = _pair(KNeighborsTransformer(n_neighbors=5), SkKNeighborsTransformer(n_neighbors=5),
                         KNeighborsClassifier(n_neighbors=5, metric="precomputed"))
    ours.fit(X[:350], y[:350])
    theirs.fit(X[:350], y[:350])
    np.testing.assert_array_equal(ours.predict(X[350:]), theirs.predict(X[350:]))
    np.testing.assert_allclose(ours.predict_proba(X[350:]), theirs.predict_proba(X[350:]))
    assert ours.score(X[350:], y[350:]) > 0.9


def test_one_extra_neighbour_in_distance_mode():
    X = np.array([[0.0], [1.0], [3.0], [6.0], [10.0]])
    g = KNeighborsTransformer(n_neighbors=2).fit_transform(X)
    assert (np.diff(g.indptr) == 3).all()  # the point itself, then 2 others
    g = KNeighborsTransformer(n_neighbors=2, mode="connectivity").fit_transform(X)
    assert (np.diff(g.indptr) == 2).all()
    np.testing.assert_array_equal(g.toarray()[4], [0, 0, 0, 1, 1])  # itself and 6, as in sklearn


def test_feature_names_and_dtype():
    X = np.random.default_rng(1).random((30, 4)).astype(np.float32)
    t = KNeighborsTransformer(n_neighbors=3).fit(X)
    names = t.get_feature_names_out()
    assert names.shape == (30,) and names[0] == "kneighborstransformer0"
    assert t.transform(X).dtype == np.float32
    r = RadiusNeighborsTransformer().fit(X)
    assert r.get_feature_names_out()[-1] == "radiusneighborstransformer29"


def test_bad_parameters_and_unfitted():
    X = np.random.default_rng(2).random((10, 2))
    with pytest.raises(InvalidParameterError, match="The 'mode' parameter of KNeighborsTransformer"):
        KNeighborsTransformer(mode="weights").fit(X)
    with pytest.raises(InvalidParameterError,
                       match="The 'radius' parameter of RadiusNeighborsTransformer"):
        RadiusNeighborsTransformer(radius=-1.0).fit(X)
    with pytest.raises(ValueError, match="only applies to metric='minkowski'"):
        KNeighborsTransformer(p=1).fit(X)
    with pytest.raises(NotFittedError):
        KNeighborsTransformer().transform(X)
    with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
        KNeighborsTransformer(n_neighbors=10).fit_transform(X)  # 11 with the point itself


def test_pickle_save_and_load():
    X = np.random.default_rng(3).random((50, 3))
    for t in (KNeighborsTransformer(n_neighbors=4, metric="cosine").fit(X),
              RadiusNeighborsTransformer(radius=0.4, mode="connectivity").fit(X)):
        want = t.transform(X[:10])
        twin = pickle.loads(pickle.dumps(t))
        buf = io.BytesIO()
        t.save(buf)
        buf.seek(0)
        loaded = pcct.load(buf)
        assert type(loaded) is type(t) and loaded.get_params() == t.get_params()
        for other in (twin, loaded):
            assert (other.transform(X[:10]) != want).nnz == 0
            assert other.get_feature_names_out().shape == (50,)


def test_memory_error_names_the_transformer(monkeypatch):
    from pcct import _memory

    X = np.random.default_rng(4).random((200, 2))
    t = KNeighborsTransformer(n_neighbors=50).fit(X)
    monkeypatch.setattr(_memory, "available_bytes", lambda: 1000)
    monkeypatch.setattr(_memory, "SMALL_BYTES", 0)  # check even this small an answer
    with pytest.raises(MemoryError, match=r"KNeighborsTransformer.transform would return 10,200 "):
        t.transform(X)
