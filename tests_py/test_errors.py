"""Bad input raises ValueError (or TypeError / NotFittedError) worded as
scikit-learn words it; errors from Go arrive as Python exceptions."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import pcct
from pcct import CoverTree, NearestNeighbors, _lib

rng = np.random.default_rng(0)
X = rng.random((20, 4))


@pytest.fixture(scope="module")
def fitted():
    return NearestNeighbors(n_neighbors=3).fit(X)


@pytest.mark.parametrize(
    "bad,match",
    [
        (np.array([[np.nan, 1.0], [0.0, 1.0]]), "Input X contains NaN"),
        (np.array([[np.inf, 1.0], [0.0, 1.0]]), "Input X contains infinity"),
        (np.array([[-np.inf, 1.0]], dtype=np.float32), r"Input X contains infinity.*float32"),
        (np.zeros((0, 3)), r"Found array with 0 sample\(s\) \(shape=\(0, 3\)\) while a minimum of 1 is required by NearestNeighbors"),
        (np.zeros((3, 0)), r"Found array with 0 feature\(s\)"),
        (np.zeros(3), "Expected 2D array, got 1D array instead"),
        (np.zeros((3, 3, 3)), r"Found array with dim 3, while dim <= 2 is required by NearestNeighbors"),
        ([["a", "b"]], "dtype='numeric' is not compatible with arrays of bytes/strings"),
        (np.ones((2, 2), dtype=complex), "Complex data not supported"),
    ],
    ids=["nan", "inf", "inf32", "empty", "no-features", "1d", "3d", "strings", "complex"],
)
def test_fit_rejects_bad_X(bad, match):
    with pytest.raises(ValueError, match=match):
        NearestNeighbors().fit(bad)


@pytest.mark.parametrize(
    "bad,match",
    [
        (np.array([[np.nan, 0, 0, 0]]), "Input X contains NaN"),
        (np.array([[np.inf, 0, 0, 0]]), "Input X contains infinity"),
        (np.zeros((0, 4)), r"Found array with 0 sample\(s\)"),
        (np.zeros(4), "Expected 2D array, got 1D array instead"),
        (np.zeros((1, 4, 1)), "Found array with dim 3"),
        (np.zeros((2, 3)), re.escape("X has 3 features, but NearestNeighbors is expecting 4 features as input.")),
    ],
    ids=["nan", "inf", "empty", "1d", "3d", "features"],
)
@pytest.mark.parametrize("method", ["kneighbors", "radius_neighbors", "kneighbors_graph", "radius_neighbors_graph"])
def test_queries_reject_bad_X(fitted, method, bad, match):
    with pytest.raises(ValueError, match=match):
        getattr(fitted, method)(bad)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_float32_fit_checks_queries_in_float32():
    nn = NearestNeighbors().fit(X.astype(np.float32))
    with pytest.raises(ValueError, match=r"X has the value 1e\+300 at row 0, column 0, beyond the "
                                         r"range of float32"):
        nn.kneighbors(np.full((1, 4), 1e300))  # finite in float64, inf in float32


@pytest.mark.parametrize(
    "params,match",
    [
        ({"n_neighbors": 0}, r"The 'n_neighbors' parameter of NearestNeighbors must be an int in the range \[1, inf\) or None. Got 0 instead."),
        ({"n_neighbors": 2.5}, "The 'n_neighbors' parameter of NearestNeighbors must be an int"),
        ({"radius": -1.0}, r"The 'radius' parameter of NearestNeighbors must be a float in the range \[0.0, inf\] or None. Got -1.0 instead."),
        ({"metric": "sqeuclidean"}, r"The 'metric' parameter of NearestNeighbors must be a str among \{'canberra', 'chebyshev', 'cityblock', 'cosine', 'euclidean', 'hamming', 'haversine', 'infinity', 'jaccard', 'l1', 'l2', 'mahalanobis', 'manhattan', 'minkowski', 'rogerstanimoto', 'seuclidean', 'sokalmichener', 'sokalsneath'\}. Got 'sqeuclidean' instead: 'sqeuclidean' is not served: it is not a metric"),
        ({"metric": "correlation"}, r"Got 'correlation' instead.*not a metric.*use 'cosine'"),
        ({"metric": 3.5}, "The 'metric' parameter of NearestNeighbors must be a str among"),
        ({"p": 0}, r"The 'p' parameter of NearestNeighbors must be a float in the range \(0.0, inf\] or None. Got 0 instead."),
        ({"metric": "minkowski", "p": 0.5}, r"does not support p = 0.5 for the Minkowski metric.*Set p >= 1"),
        ({"metric": "minkowski", "metric_params": {"p": 0.5}, "p": None}, r"does not support p = 0.5"),
        ({"search": "breadth_first"}, r"The 'search' parameter of NearestNeighbors must be a str among \{'corrected', 'depth_first'\}. Got 'breadth_first' instead."),
        ({"search": None}, "The 'search' parameter of NearestNeighbors must be a str among"),
        ({"metric_params": [1]}, "The 'metric_params' parameter of NearestNeighbors must be an instance of 'dict' or None"),
        ({"metric_params": {"w": np.ones(4)}}, r"metric_params\['w'\] \(weights\) applies to metric='minkowski'"),
        ({"metric_params": {"V": 1}}, r"Unsupported metric_params \['V'\]"),
        ({"n_jobs": 1.5}, "The 'n_jobs' parameter of NearestNeighbors must be an instance of 'int' or None. Got 1.5 instead."),
        ({"n_jobs": 0}, "n_jobs == 0 has no meaning"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        NearestNeighbors(**params).fit(X)


@pytest.mark.parametrize(
    "params",
    [
        {"p": 1},  # scikit-learn code meaning Manhattan: refused, not ignored
        {"p": 3},
        {"metric": "l2", "p": 1.5},
        {"metric": "manhattan", "p": 3},
        {"metric": "chebyshev", "p": 1},
        {"metric_params": {"p": 3}},
        {"metric": "euclidean", "metric_params": {"p": 1}, "p": None},
    ],
)
@pytest.mark.filterwarnings("ignore:Parameter p is found in metric_params")
def test_p_without_minkowski_is_refused(params):
    """p applies only to metric="minkowski" (scikit-learn's default metric);
    pcct's default is "euclidean", so a p set with another metric raises at
    fit instead of being silently ignored."""
    est = NearestNeighbors(**params)  # __init__ validates nothing (sklearn's rule)
    with pytest.raises(ValueError, match=r"parameter of NearestNeighbors only applies to metric='minkowski' "
                                         r"\(scikit-learn's default metric\).*Set metric='minkowski'"):
        est.fit(X)
    with pytest.raises(ValueError, match="only applies to metric='minkowski'"):
        CoverTree(X, metric=params.get("metric", "euclidean"), p=3)


@pytest.mark.parametrize(
    "params,effective",
    [
        ({}, "euclidean"),
        ({"p": 2}, "euclidean"),
        ({"p": None}, "euclidean"),
        ({"metric": "manhattan", "p": 1}, "manhattan"),  # the metric's own power
        ({"metric": "cityblock", "p": 2}, "cityblock"),  # p=2 is the default: untouched
        ({"metric": "chebyshev", "p": np.inf}, "chebyshev"),
        ({"metric": "minkowski", "p": 1}, "manhattan"),
        ({"metric": "minkowski", "p": 3}, "minkowski"),
    ],
)
def test_p_accepted_where_it_cannot_mislead(params, effective):
    est = NearestNeighbors(**params).fit(X)
    assert est.effective_metric_ == effective


def test_invalid_parameter_error_is_also_type_error():
    with pytest.raises(TypeError):
        NearestNeighbors(n_jobs="all").fit(X)
    assert issubclass(pcct.InvalidParameterError, ValueError)


def test_p_in_metric_params_warns_like_sklearn():
    with pytest.warns(SyntaxWarning, match="Parameter p is found in metric_params"):
        nn = NearestNeighbors(metric="minkowski", metric_params={"p": 3}).fit(X)
    assert nn.effective_metric_params_ == {"p": 3, "w": None}


def test_n_neighbors_checks(fitted):
    with pytest.raises(ValueError, match="Expected n_neighbors > 0. Got 0"):
        fitted.kneighbors(X, n_neighbors=0)
    with pytest.raises(ValueError, match="Expected n_neighbors > 0. Got -1"):
        fitted.kneighbors_graph(X, n_neighbors=-1)
    with pytest.raises(TypeError, match="n_neighbors does not take <class 'float'> value"):
        fitted.kneighbors(X, n_neighbors=2.5)
    with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit, but n_neighbors = 21, n_samples_fit = 20, n_samples = 20"):
        fitted.kneighbors(X, n_neighbors=21)
    with pytest.raises(ValueError, match="Expected n_neighbors < n_samples_fit, but n_neighbors = 20, n_samples_fit = 20, n_samples = 20"):
        fitted.kneighbors(n_neighbors=20)
    # The limits themselves are fine.
    assert fitted.kneighbors(X, n_neighbors=20)[1].shape == (20, 20)
    assert fitted.kneighbors(n_neighbors=19)[1].shape == (20, 19)


def test_radius_checks(fitted):
    with pytest.raises(ValueError, match=r"radius == -1.0, must be >= 0."):
        fitted.radius_neighbors(X, radius=-1)
    with pytest.raises(ValueError, match=r"radius == -0.5, must be >= 0."):
        fitted.radius_neighbors_graph(radius=-0.5)
    with pytest.raises(ValueError, match="radius == nan"):
        fitted.radius_neighbors(X, radius=float("nan"))
    with pytest.raises(ValueError, match="return_distance must be True if sort_results is True."):
        fitted.radius_neighbors(X, return_distance=False, sort_results=True)


@pytest.mark.parametrize("method", ["kneighbors_graph", "radius_neighbors_graph"])
def test_bad_graph_mode(fitted, method):
    with pytest.raises(ValueError, match='Unsupported mode, must be one of "connectivity", or "distance" but got "weights" instead'):
        getattr(fitted, method)(X, mode="weights")


@pytest.mark.parametrize("method", ["kneighbors", "radius_neighbors", "kneighbors_graph", "radius_neighbors_graph"])
def test_not_fitted(method):
    with pytest.raises(NotFittedError, match="This NearestNeighbors instance is not fitted yet"):
        getattr(NearestNeighbors(), method)(X)


def test_sparse_input_is_refused_clearly_where_it_is_not_served():
    """NearestNeighbors takes sparse points (test_sparse.py) under the
    metrics that serve them; CoverTree takes dense points only."""
    sp = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="Sparse data was passed"):
        CoverTree(sp.csr_matrix(X))
    with pytest.raises(ValueError, match="takes sparse input with the metrics euclidean"):
        NearestNeighbors(metric="chebyshev").fit(sp.csr_matrix(X))


def test_cover_tree_errors():
    tree = CoverTree(X)
    with pytest.raises(ValueError, match=re.escape("X has 3 features, but CoverTree is expecting 4 features as input.")):
        tree.query(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="k must be >= 1"):
        tree.query(X, k=0)
    with pytest.raises(ValueError, match=r"k must be less than or equal to the number of training points \(20\)"):
        tree.query(X, k=21)
    with pytest.raises(ValueError, match="radius == -1.0, must be >= 0."):
        tree.query_radius(X, -1)
    with pytest.raises(ValueError, match="one radius per query"):
        tree.query_radius(X, np.ones(3))
    with pytest.raises(ValueError, match="return_distance must be True if sort_results is True"):
        tree.query_radius(X, 1.0, sort_results=True)
    with pytest.raises(ValueError, match="count_only and return_distance cannot both be true"):
        tree.query_radius(X, 1.0, return_distance=True, count_only=True)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        CoverTree(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="Unsupported metric 'sqeuclidean' for CoverTree: .*not a metric.*pcct supports: 'canberra', 'chebyshev', 'cityblock', 'cosine', 'euclidean', 'hamming', 'haversine'"):
        CoverTree(X, metric="sqeuclidean")
    with pytest.raises(ValueError, match="Use p >= 1"):
        CoverTree(X, metric="minkowski", p=0.9)
    with pytest.raises(ValueError, match="n_jobs == 0"):
        CoverTree(X, n_jobs=0)
    with pytest.raises(ValueError, match="Unsupported search 'bfs' for CoverTree: use one of 'corrected', 'depth_first'"):
        CoverTree(X, search="bfs")


# -- errors raised in Go reach Python as the right exception -----------------


def test_go_value_errors_become_value_error():
    tree = CoverTree(X)
    # Bypass the Python checks: Go checks too, and says why.
    with pytest.raises(ValueError, match=r"k=21 neighbours requested, but only 20 points"):
        tree._kneighbors(X, 21, 1)
    with pytest.raises(ValueError, match=r"k=20 neighbours requested, but only 19 points"):
        tree._kneighbors(None, 20, 1)
    with pytest.raises(ValueError, match="radius must be >= 0"):
        tree._radius(X, -1.0, False, 1)
    with pytest.raises(ValueError, match="non-finite"):
        CoverTree._from_checked(np.array([[np.nan, 1.0]]), 0, 2.0, None, 0)
    with pytest.raises(ValueError, match="caller index 25 is not in the tree"):
        tree._kneighbors(None, 1, 1, ids=[3, 25])
    with pytest.raises(ValueError, match="caller index -1 is not in the tree"):
        tree._radius(None, 1.0, False, 1, ids=[-1])
    with pytest.raises(ValueError, match="unknown search strategy 7"):
        tree._kneighbors(X, 1, 1, strategy=7)
    with pytest.raises(ValueError, match="span too wide a range"):
        tree._insert_checked(np.array([[1e308, 0, 0, 0], [-1e308, 0, 0, 0]]), 1)
    with pytest.raises(ValueError, match="decode: checksum mismatch"):
        pcct._handle.TreeVersion.decode(bytes(tree._version.encode())[:-1], 1)


@pytest.mark.parametrize("off", [0, 1], ids=["caller", "own-goroutine"])
def test_go_panic_becomes_runtime_error(off):
    # off=1: the panic is raised in the goroutine of its own that builds and
    # updates on several threads run in, and must still become an exception.
    lib = _lib.lib()
    with pytest.raises(RuntimeError, match="pcct: internal error") as info:
        _lib.check(lib.pcct_test_panic(off))
    assert not isinstance(info.value, ValueError)
    assert "goroutine" in str(info.value)  # the Go stack trace is kept for bug reports
    assert "pcct_test_panic" in str(info.value)
    if off:  # the stack is the panicking goroutine's own, not the waiting caller's
        assert "created by main.runOff" in str(info.value)
    # The process and the library are fine afterwards.
    d, i = NearestNeighbors(n_neighbors=1).fit(X).kneighbors(X[:2])
    np.testing.assert_array_equal(i.ravel(), [0, 1])
    assert np.all(d == 0)


def test_unknown_ticket():
    kind, msg = _lib.error_message(2**62)
    assert kind == 2 and "unknown error ticket" in msg


def test_null_handles_are_refused():
    lib = _lib.lib()
    with pytest.raises(ValueError, match="null tree handle"):
        _lib.check(lib.pcct_tree_stats(0, None, 0, None))
    with pytest.raises(ValueError, match="null result handle"):
        _lib.check(lib.pcct_radius_fill(0, None, None))
    _lib.check(lib.pcct_tree_free(0))  # freeing 0 is a no-op
    _lib.check(lib.pcct_result_free(0))


def test_forked_child_raises_instead_of_hanging():
    """A child forked after the Go runtime started must not call into Go."""
    script = textwrap.dedent(
        """
        import os, sys
        import numpy as np
        from pcct import NearestNeighbors
        from pcct._lib import ForkedChildError
        nn = NearestNeighbors(n_neighbors=1).fit(np.eye(3))
        pid = os.fork()
        if pid == 0:
            try:
                nn.kneighbors(np.eye(3))
            except ForkedChildError as e:
                ok = "'spawn' or 'forkserver'" in str(e) and isinstance(e, RuntimeError)
                os._exit(0 if ok else 3)
            except BaseException:
                os._exit(4)
            os._exit(5)
        _, status = os.waitpid(pid, 0)
        # The parent is unaffected.
        assert nn.kneighbors(np.eye(3))[1].ravel().tolist() == [0, 1, 2]
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    if not hasattr(__import__("os"), "fork"):
        pytest.skip("no fork() on this platform")
    proc = subprocess.run([sys.executable, "-c", script], timeout=120, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_child_forked_before_load_can_use_pcct():
    """The library loads lazily: a child forked before any use starts its
    own Go runtime and works."""
    script = textwrap.dedent(
        """
        import os, sys
        import numpy as np
        import pcct
        from pcct import _lib
        assert _lib._lib is None  # importing does not start Go
        pid = os.fork()
        if pid == 0:
            d, i = pcct.NearestNeighbors(n_neighbors=1).fit(np.eye(3)).kneighbors(np.eye(3))
            os._exit(0 if i.ravel().tolist() == [0, 1, 2] else 3)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], timeout=120, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
