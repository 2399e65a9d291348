"""NearestNeighbors behaves as a scikit-learn estimator."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors as SkNN
from sklearn.utils.estimator_checks import parametrize_with_checks

import pcct
from pcct import CoverTree, NearestNeighbors
from pcct._validation import effective_n_jobs

rng = np.random.default_rng(1)
X = rng.random((60, 3))


# Checks that cannot apply to an estimator, with the reason (scikit-learn's
# expected-failure mechanism: each is run and reported as xfail).
_HAVERSINE_DATA = "haversine takes 2 features, (latitude, longitude) in radians; the check's data differ"
_HAVERSINE_XFAIL = {
    name: _HAVERSINE_DATA
    for name in (
        "check_fit_score_takes_y", "check_estimators_overwrite_params",
        "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
        "check_readonly_memmap_input", "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_dtype_object",
        "check_pipeline_consistency", "check_estimators_nan_inf", "check_estimators_pickle",
        "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance",
        "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature",
        "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
        "check_n_features_in", "check_fit2d_predict1d",
    )
}
_COSINE_XFAIL = {
    "check_estimators_dtypes": (
        "the check's integer data has zero rows, which have no cosine distance (pcct refuses them)"
    ),
    **{
        name: "the check's sparse data has zero rows, which have no cosine distance "
              "(pcct refuses them)"
        for name in ("check_estimator_sparse_tag", "check_estimator_sparse_array",
                     "check_estimator_sparse_matrix")
    },
}


def _expected_failed_checks(estimator):
    if estimator.metric == "haversine":
        return _HAVERSINE_XFAIL
    if estimator.metric == "cosine":
        return _COSINE_XFAIL
    return {}


_strict = (
    {"xfail_strict": True}
    if "xfail_strict" in inspect.signature(parametrize_with_checks).parameters
    else {}
)


@parametrize_with_checks(
    [
        NearestNeighbors(),
        NearestNeighbors(metric="manhattan", n_neighbors=2),
        NearestNeighbors(metric="cosine", search="corrected"),
        NearestNeighbors(metric="haversine"),
        NearestNeighbors(metric="minkowski", p=3, n_jobs=2, verbose=True),
    ],
    expected_failed_checks=_expected_failed_checks,
    **_strict,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_version():
    assert pcct.__version__ == "0.1.0"
    assert pcct.library_version().startswith("pcct 0.1.0 (go")


def test_default_params_match_sklearn_but_metric():
    """The issue specifies metric="euclidean" (scikit-learn: "minkowski",
    with p=2 the same distance); the other shared defaults are sklearn's."""
    ours = NearestNeighbors().get_params()
    theirs = SkNN().get_params()
    for name, value in ours.items():
        if name not in ("metric", "search", "verbose", "device"):
            assert theirs[name] == value, name
    assert ours["metric"] == "euclidean" and theirs["metric"] == "minkowski"
    assert ours["p"] == 2 and ours["search"] == "depth_first" and ours["verbose"] is False
    assert ours["algorithm"] == theirs["algorithm"] == "auto"
    assert ours["device"] == "auto"
    assert set(ours) == {"n_neighbors", "radius", "metric", "p", "metric_params", "n_jobs",
                         "algorithm", "search", "verbose", "device"}
    assert CoverTree(X).metric == "euclidean" and CoverTree(X).search == "depth_first"
    # The default estimator's answers are scikit-learn's default ones.
    ours = NearestNeighbors().fit(X)
    theirs = SkNN(algorithm="brute").fit(X)
    assert ours.effective_metric_ == theirs.effective_metric_ == "euclidean"
    assert ours.effective_metric_params_ == theirs.effective_metric_params_ == {}
    np.testing.assert_array_equal(ours.kneighbors(X[:7])[1], theirs.kneighbors(X[:7])[1])


def test_init_stores_params_untouched_and_clone_round_trips():
    params = dict(n_neighbors=7, radius=0.25, metric="minkowski", p=3.5,
                  metric_params={"p": 3.5}, n_jobs=-1, algorithm="brute", search="corrected",
                  verbose=True, device="cpu")
    est = NearestNeighbors(**params)
    assert est.get_params() == params
    assert est.get_params()["metric_params"] is params["metric_params"]
    twin = clone(est)
    assert twin is not est and twin.get_params() == params
    est.set_params(n_neighbors=2, metric="chebyshev")
    assert est.n_neighbors == 2 and est.metric == "chebyshev"
    assert clone(est).get_params()["metric"] == "chebyshev"
    with pytest.raises(ValueError, match="Invalid parameter 'leaf_size'"):
        est.set_params(leaf_size=10)


def test_positional_arguments_are_refused_like_sklearn():
    with pytest.raises(TypeError):
        NearestNeighbors(3)


def test_repr():
    assert repr(NearestNeighbors()) == "NearestNeighbors()"
    assert repr(NearestNeighbors(n_neighbors=3, metric="manhattan")) == "NearestNeighbors(metric='manhattan', n_neighbors=3)"


def test_fit_returns_self_and_fitted_attributes():
    est = NearestNeighbors()
    assert est.fit(X) is est
    assert est.n_features_in_ == 3
    assert est.n_samples_fit_ == 60
    assert est.effective_metric_ == "euclidean"
    assert est.effective_metric_params_ == {}
    assert isinstance(est.tree_, CoverTree)
    assert est.tree_.n_samples == 60 and est.tree_.n_features == 3
    assert not hasattr(est, "feature_names_in_")


@pytest.mark.parametrize(
    "metric,p,metric_params",
    [
        ("minkowski", 2, None), ("minkowski", 1, None), ("minkowski", np.inf, None),
        ("minkowski", 3, None), ("minkowski", 1.5, None),
        ("minkowski", 2, {"p": 1}), ("minkowski", None, {"p": 4}),
        ("euclidean", 2, None), ("l2", 2, None), ("manhattan", 2, None),
        ("cityblock", 2, None), ("l1", 2, None), ("chebyshev", 2, None),
        ("infinity", 2, None), ("manhattan", 1, None), ("chebyshev", np.inf, None),
        ("l1", None, None), ("euclidean", None, None),
    ],
)
@pytest.mark.filterwarnings("ignore:Parameter p is found in metric_params")
def test_effective_metric_as_sklearn_computes_it(metric, p, metric_params):
    kw = dict(metric=metric, p=p, metric_params=metric_params)
    ours = NearestNeighbors(**kw).fit(X)
    # scikit-learn's brute force does not know the alias "infinity".
    theirs = SkNN(algorithm="kd_tree" if metric == "infinity" else "brute", **kw).fit(X)
    assert ours.effective_metric_ == theirs.effective_metric_
    assert ours.effective_metric_params_ == theirs.effective_metric_params_
    d, i = ours.kneighbors(X[:10], n_neighbors=4)
    ds, is_ = theirs.kneighbors(X[:10], n_neighbors=4)
    np.testing.assert_allclose(d, ds, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(i, is_)


def test_minkowski_p_none_is_euclidean():
    # scikit-learn fails on this combination; pcct reads p=None as p=2.
    est = NearestNeighbors(metric="minkowski", p=None).fit(X)
    assert est.effective_metric_ == "euclidean" and est.effective_metric_params_ == {}


def test_n_jobs_like_sklearn(monkeypatch):
    import pcct._validation as validation

    monkeypatch.setattr(validation, "cpu_count", lambda: 8)
    assert effective_n_jobs(None) == 1
    assert effective_n_jobs(1) == 1
    assert effective_n_jobs(3) == 3
    assert effective_n_jobs(-1) == 8
    assert effective_n_jobs(-2) == 7
    assert effective_n_jobs(-8) == 1
    assert effective_n_jobs(-20) == 1
    with pytest.raises(ValueError):
        effective_n_jobs(0)


@pytest.mark.parametrize("n_jobs", [None, 1, 2, -1])
def test_results_do_not_depend_on_n_jobs(n_jobs):
    Xb = rng.integers(0, 5, size=(3000, 3)).astype(float)
    base = NearestNeighbors(n_neighbors=8).fit(Xb)
    par = NearestNeighbors(n_neighbors=8, n_jobs=n_jobs).fit(Xb)
    for a, b in zip(base.kneighbors(), par.kneighbors()):
        np.testing.assert_array_equal(a, b)
    ra = base.radius_neighbors(radius=1.0, sort_results=True)
    rb = par.radius_neighbors(radius=1.0, sort_results=True)
    for a, b in zip(ra[1], rb[1]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pickle_round_trip(dtype):
    est = NearestNeighbors(n_neighbors=3, metric="minkowski", p=3).fit(X.astype(dtype))
    twin = pickle.loads(pickle.dumps(est))
    assert twin.tree_._version.handle != est.tree_._version.handle
    assert twin.tree_.dtype == dtype and twin.tree_.metric == "minkowski" and twin.tree_.p == 3
    for a, b in zip(est.kneighbors(), twin.kneighbors()):
        np.testing.assert_array_equal(a, b)
    tree = pickle.loads(pickle.dumps(est.tree_))
    np.testing.assert_array_equal(tree.query(X[:5].astype(dtype), k=3)[1], est.kneighbors(X[:5], 3)[1])


def test_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    est = NearestNeighbors(n_neighbors=2).fit(df)
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c"])
    d, i = est.kneighbors(df.iloc[:4])
    np.testing.assert_array_equal(i[:, 0], np.arange(4))
    with pytest.raises(ValueError, match="The feature names should match those that were passed during fit"):
        est.kneighbors(df.rename(columns={"a": "z"}))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        est.kneighbors(X[:2])


def test_clean_arrays_skip_the_checks_and_end_as_they_would(monkeypatch):
    """A plain finite float array is fitted without scikit-learn's checks
    (a third of a small fit's time), leaving the estimator as they would;
    anything else still goes through them, with their messages."""
    import pcct._base
    import pcct.tree

    pd = pytest.importorskip("pandas")
    est = NearestNeighbors(n_neighbors=2).fit(pd.DataFrame(X, columns=["a", "b", "c"]))
    assert hasattr(est, "feature_names_in_")

    def refused(*args, **kwargs):
        raise AssertionError("the checks ran")

    with monkeypatch.context() as m:
        m.setattr(pcct._base, "validate_data", refused)
        m.setattr(pcct.tree, "check_array", refused)
        for dtype in (np.float64, np.float32):
            Xd = np.ascontiguousarray(X[:, :2], dtype=dtype)
            est.fit(Xd)  # refit: the old feature names and count go, as with the checks
            assert est.n_features_in_ == 2 and not hasattr(est, "feature_names_in_")
            assert est.tree_.dtype == dtype
            ref = SkNN(n_neighbors=2, algorithm="brute").fit(Xd).kneighbors(Xd)
            np.testing.assert_array_equal(est.kneighbors(Xd)[1], ref[1])
            assert CoverTree(Xd).query(Xd, k=2)[1].tolist() == ref[1].tolist()
        # Not plain finite float rows: the checks run.
        others = [
            pd.DataFrame(X), np.asfortranarray(X), X.astype(np.int64), X.astype(np.float16),
            X.tolist(), np.array([[np.nan, 0.0]]), np.array([[1e308, 0.0], [1e308, 1.0]]),
            np.empty((0, 3)), X[:, 0],
        ]
        for bad in others:
            with pytest.raises(AssertionError, match="the checks ran"):
                NearestNeighbors().fit(bad)
            with pytest.raises(AssertionError, match="the checks ran"):
                CoverTree(bad)
    # ... and with them, finite values whose sum overflows are fitted, and
    # NaN is refused with scikit-learn's message.
    big = np.array([[1e308, 0.0], [1e308, 1.0], [1e308, 3.0]])
    assert NearestNeighbors(n_neighbors=1).fit(big).kneighbors()[1].ravel().tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match="Input X contains NaN"):
        NearestNeighbors().fit(np.array([[np.nan, 0.0], [1.0, 2.0]]))


@pytest.mark.parametrize("interface", ["spmatrix", "sparray"])
def test_graph_type_follows_sklearn_config(interface):
    est = NearestNeighbors(n_neighbors=2).fit(X)
    sk = SkNN(n_neighbors=2, algorithm="brute").fit(X)
    try:
        ctx = sklearn.config_context(sparse_interface=interface)
    except TypeError:
        pytest.skip("this scikit-learn has no sparse_interface setting")
    with ctx:
        for ours, theirs in ((est.kneighbors_graph(), sk.kneighbors_graph()),
                             (est.radius_neighbors_graph(radius=0.3), sk.radius_neighbors_graph(radius=0.3))):
            assert type(ours) is type(theirs)
            assert sp.issparse(ours) and ours.format == "csr"


def test_threads_share_one_estimator():
    """ctypes releases the GIL: many Python threads can query at once."""
    from concurrent.futures import ThreadPoolExecutor

    Xb = rng.random((5000, 4))
    est = NearestNeighbors(n_neighbors=5).fit(Xb)
    expected = est.kneighbors(Xb[:500])[1]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: est.kneighbors(Xb[:500])[1], range(8)))
    for r in results:
        np.testing.assert_array_equal(r, expected)


def test_trees_are_freed():
    import gc
    import weakref

    est = NearestNeighbors().fit(X)
    fin = est.tree_._version._finalizer
    assert fin.alive
    ref = weakref.ref(est.tree_)
    del est
    gc.collect()
    assert ref() is None and not fin.alive
