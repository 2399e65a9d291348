"""Input conversion: float32/float64 kept, everything else numeric converted
to float64, any memory layout accepted, queries converted to the fitted
dtype."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors as SkNN

from pcct import CoverTree, NearestNeighbors

rng = np.random.default_rng(2)
BASE = rng.integers(-20, 20, size=(300, 5))


def _reference(X, Q, k=4):
    return SkNN(n_neighbors=k, algorithm="brute").fit(np.asarray(X, dtype=np.float64)).kneighbors(
        np.asarray(Q, dtype=np.float64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_dtypes_are_kept(dtype):
    X = BASE.astype(dtype)
    est = NearestNeighbors(n_neighbors=4).fit(X)
    assert est.tree_.dtype == dtype
    assert not hasattr(est, "_fit_X")  # the points live in Go only
    d, i = est.kneighbors(X[:50])
    assert d.dtype == dtype and i.dtype == np.int64
    dr, ir = est.radius_neighbors(X[:5], radius=5.0)
    assert all(a.dtype == dtype for a in dr) and all(a.dtype == np.int64 for a in ir)
    assert est.kneighbors_graph(X[:5], mode="distance").dtype == dtype
    assert est.radius_neighbors_graph(X[:5], radius=5.0, mode="distance").dtype == dtype
    rd, ri = _reference(X, X[:50])
    np.testing.assert_allclose(d, rd, rtol=1e-6)


@pytest.mark.parametrize(
    "dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64, np.float16, np.bool_]
)
def test_other_numeric_dtypes_become_float64(dtype):
    X = (BASE % 2 == 0) if dtype == np.bool_ else np.abs(BASE).astype(dtype)
    est = NearestNeighbors(n_neighbors=4).fit(X)
    assert est.tree_.dtype == np.float64
    d, i = est.kneighbors(X[:40])
    assert d.dtype == np.float64
    rd, _ = _reference(X, X[:40])
    np.testing.assert_allclose(d, rd, rtol=1e-12, atol=1e-12)
    tree = CoverTree(X)
    assert tree.dtype == np.float64


def test_lists_and_object_arrays_of_numbers():
    X = BASE.tolist()
    est = NearestNeighbors(n_neighbors=3).fit(X)
    assert est.tree_.dtype == np.float64
    d, _ = est.kneighbors(np.array(X[:10], dtype=object))
    np.testing.assert_allclose(d, _reference(X, X[:10], 3)[0])


@pytest.mark.parametrize("fit_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("query_dtype", [np.float32, np.float64, np.int32, np.float16])
def test_queries_are_converted_to_fitted_dtype(fit_dtype, query_dtype):
    X = BASE.astype(fit_dtype)
    est = NearestNeighbors(n_neighbors=4).fit(X)
    Q = BASE[:30].astype(query_dtype)
    d, i = est.kneighbors(Q)
    assert d.dtype == fit_dtype
    d2, i2 = est.kneighbors(BASE[:30].astype(fit_dtype))
    np.testing.assert_array_equal(d, d2)
    np.testing.assert_array_equal(i, i2)


def _layouts(A):
    fortran = np.asfortranarray(A)
    readonly = A.copy()
    readonly.setflags(write=False)
    wide = np.zeros((A.shape[0], 2 * A.shape[1]), dtype=A.dtype)
    wide[:, ::2] = A
    strided_cols = wide[:, ::2]
    tall = np.repeat(A, 2, axis=0)
    strided_rows = tall[::2]
    reversed_ = A[::-1][::-1]
    return {
        "fortran": fortran,
        "readonly": readonly,
        "strided-columns": strided_cols,
        "strided-rows": strided_rows,
        "negative-strides": reversed_,
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["fortran", "readonly", "strided-columns", "strided-rows", "negative-strides"])
def test_memory_layouts_are_accepted(layout, dtype):
    A = BASE.astype(dtype)
    X = _layouts(A)[layout]
    assert np.array_equal(X, A)
    est = NearestNeighbors(n_neighbors=4).fit(X)
    expected = NearestNeighbors(n_neighbors=4).fit(A)
    assert est.tree_.dtype == dtype
    Q = _layouts(A[:50])[layout]
    for a, b in zip(est.kneighbors(Q), expected.kneighbors(A[:50])):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(est.radius_neighbors(Q, radius=6.0, sort_results=True)[1],
                    expected.radius_neighbors(A[:50], radius=6.0, sort_results=True)[1]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(CoverTree(X).query(Q, k=3)[1], CoverTree(A).query(A[:50], k=3)[1])


def test_fitted_data_is_copied_into_go():
    """Changing the caller's array after fit does not change the answers."""
    X = BASE.astype(np.float64)
    est = NearestNeighbors(n_neighbors=1).fit(X)
    before = est.kneighbors(X[:20])
    X[:] = 1e6
    after = est.kneighbors(BASE[:20].astype(np.float64))
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_array_equal(before[0], after[0])


def test_single_sample_and_single_feature():
    est = NearestNeighbors(n_neighbors=1).fit([[3.0]])
    d, i = est.kneighbors([[1.0], [5.5]])
    np.testing.assert_array_equal(i.ravel(), [0, 0])
    np.testing.assert_allclose(d.ravel(), [2.0, 2.5])
    dr, ir = est.radius_neighbors()
    assert len(ir) == 1 and len(ir[0]) == 0 and ir[0].dtype == np.int64
    g = est.radius_neighbors_graph()
    assert g.shape == (1, 1) and g.nnz == 0
