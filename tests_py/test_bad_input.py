"""Bad input at every entry point, input that is converted rather than
rejected, and extreme but valid data compared with scikit-learn's brute
force.

test_errors.py words the messages as scikit-learn does for fit and the
query methods; this file checks that every way in (fit, the four query
methods, insert, delete, CoverTree and its methods) refuses the same input,
and that a refused update changes nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import NearestNeighbors as SkNN

from pcct import CoverTree, NearestNeighbors

rng = np.random.default_rng(20)
X = rng.random((40, 3))

BAD = {
    "nan": (np.array([[np.nan, 0.0, 0.0]]), ValueError, "NaN"),
    "inf": (np.array([[0.0, np.inf, 0.0]]), ValueError, "infinity"),
    "empty": (np.zeros((0, 3)), ValueError, r"0 sample\(s\)"),
    "no-features": (np.zeros((2, 0)), ValueError, r"0 feature\(s\)"),
    "1d": (np.zeros(3), ValueError, "Expected 2D array, got 1D array instead"),
    "scalar": (np.float64(3.0), ValueError, "Expected 2D array, got scalar array instead"),
    "3d": (np.zeros((2, 3, 1)), ValueError, "Found array with dim 3"),
    "object-none": (np.array([[None, 1.0, 2.0]], dtype=object), ValueError, "NaN"),
    "object-dict": (np.array([[{}, 1.0, 2.0]], dtype=object), TypeError, "float"),
    # scikit-learn's estimators refuse strings, even of numbers (issue 11)
    "strings": (np.array([["a", "b", "c"]]), ValueError, "dtype='numeric' is not compatible"),
    "mixed-list": ([[1.0, "x", 2.0]], ValueError, "dtype='numeric' is not compatible"),
    "ragged": ([[1.0, 2.0, 3.0], [1.0]], ValueError, "inhomogeneous"),
    "complex": (np.ones((1, 3), dtype=complex), ValueError, "Complex data not supported"),
    "features": (np.zeros((2, 4)), ValueError, "X has 4 features, but .* is expecting 3 features"),
}


@pytest.fixture(scope="module")
def fitted():
    return NearestNeighbors(n_neighbors=2, radius=0.3).fit(X)


@pytest.mark.parametrize("name", sorted(BAD))
@pytest.mark.parametrize(
    "method",
    ["kneighbors", "radius_neighbors", "kneighbors_graph", "radius_neighbors_graph", "insert"],
)
def test_estimator_methods_refuse_bad_X(fitted, method, name):
    bad, exc, match = BAD[name]
    with pytest.raises(exc, match=match):
        getattr(fitted, method)(bad)
    assert fitted.n_samples_fit_ == 40 and fitted.n_ids_ == 40  # a refused insert changes nothing


@pytest.mark.parametrize("name", sorted(set(BAD) - {"features"}))
def test_fit_refuses_bad_X(name):
    bad, exc, match = BAD[name]
    with pytest.raises(exc, match=match):
        NearestNeighbors().fit(bad)
    with pytest.raises(exc, match=match):
        CoverTree(bad)


@pytest.mark.parametrize("name", sorted(BAD))
@pytest.mark.parametrize("method", ["query", "query_radius", "insert"])
def test_cover_tree_methods_refuse_bad_X(method, name):
    tree = CoverTree(X)
    bad, exc, match = BAD[name]
    args = (0.5,) if method == "query_radius" else ()
    if name == "1d" and method != "insert":
        # A 1-D array is one point to CoverTree's queries, as to cKDTree's.
        one = getattr(tree, method)(bad, *args)
        two = getattr(tree, method)(bad[None, :], *args)
        if method == "query":
            one, two = one[1], two[1]
        np.testing.assert_array_equal(one, two[0])
        return
    with pytest.raises(exc, match=match):
        getattr(tree, method)(bad, *args)
    assert tree.n_samples == 40 and tree.n_ids == 40


@pytest.mark.parametrize("n_neighbors,match", [
    (0, "Expected n_neighbors > 0. Got 0"),
    (-3, "Expected n_neighbors > 0. Got -3"),
    (41, "Expected n_neighbors <= n_samples_fit, but n_neighbors = 41, n_samples_fit = 40"),
    (2**40, "Expected n_neighbors <= n_samples_fit"),
])
def test_n_neighbors_out_of_range(fitted, n_neighbors, match):
    with pytest.raises(ValueError, match=match):
        fitted.kneighbors(X[:2], n_neighbors=n_neighbors)
    with pytest.raises(ValueError):
        fitted.kneighbors_graph(X[:2], n_neighbors=n_neighbors)
    with pytest.raises(ValueError):
        CoverTree(X).query(X[:2], k=n_neighbors)
    # Constructor parameters are checked at fit.
    with pytest.raises(ValueError):
        NearestNeighbors(n_neighbors=n_neighbors).fit(X).kneighbors()


def test_n_neighbors_of_the_fitted_points_leaves_self_out(fitted):
    with pytest.raises(ValueError, match="Expected n_neighbors < n_samples_fit, but n_neighbors = 40"):
        fitted.kneighbors(n_neighbors=40)
    assert fitted.kneighbors(n_neighbors=39)[1].shape == (40, 39)


@pytest.mark.parametrize("radius", [-1, -1e-300, -np.inf, np.nan])
def test_negative_or_nan_radius(fitted, radius):
    with pytest.raises(ValueError, match="must be >= 0"):
        fitted.radius_neighbors(X[:2], radius=radius)
    with pytest.raises(ValueError, match="must be >= 0"):
        fitted.radius_neighbors_graph(radius=radius)
    with pytest.raises(ValueError, match="must be >= 0"):
        CoverTree(X).query_radius(X[:2], radius)
    with pytest.raises(ValueError, match="The 'radius' parameter of NearestNeighbors"):
        NearestNeighbors(radius=radius).fit(X)


@pytest.mark.parametrize(
    "call",
    ["kneighbors", "radius_neighbors", "kneighbors_graph", "radius_neighbors_graph", "insert",
     "delete", "snapshot", "save", "ids_", "n_samples_fit_", "n_ids_"],
)
def test_before_fit_everything_raises_not_fitted(call, tmp_path):
    est = NearestNeighbors()
    with pytest.raises(NotFittedError, match="This NearestNeighbors instance is not fitted yet"):
        if call in ("ids_", "n_samples_fit_", "n_ids_"):
            getattr(est, call)
        elif call == "delete":
            est.delete([0])
        elif call == "snapshot":
            est.snapshot()
        elif call == "save":
            est.save(tmp_path / "x.pcct")
        else:
            getattr(est, call)(X)


def test_delete_refuses_bad_ids(fitted):
    est = NearestNeighbors(n_neighbors=2).fit(X)
    for bad, match in [([1.5], "must hold integers"), ([[1, 2]], "1-D"), (["a"], "integers"),
                       ([40], "id 40 is not in the tree"), ([-1], "id -1 is not in the tree"),
                       ([3, 3], "id 3 is given more than once")]:
        with pytest.raises(ValueError, match=match):
            est.delete(bad)
    assert est.n_samples_fit_ == 40


# -- converted, not rejected ------------------------------------------------------


def _variants(A):
    """The same values as A in every form that must be converted."""
    fortran = np.asfortranarray(A)
    readonly = A.copy()
    readonly.setflags(write=False)
    wide = np.zeros((A.shape[0], 2 * A.shape[1]), dtype=A.dtype)
    wide[:, ::2] = A
    return {
        "fortran": fortran,
        "readonly": readonly,
        "non-contiguous": wide[:, ::2],
        "list": A.tolist(),
    }


GRID = rng.integers(0, 6, size=(60, 3))


@pytest.mark.parametrize(
    "dtype", [np.int8, np.int32, np.int64, np.uint16, np.float16, np.bool_, np.float32, np.float64]
)
def test_numeric_dtypes_are_converted_everywhere(dtype):
    A = (GRID % 2 == 0) if dtype == np.bool_ else GRID.astype(dtype)
    expected_dtype = dtype if dtype in (np.float32, np.float64) else np.float64
    ref = SkNN(n_neighbors=3, algorithm="brute").fit(A.astype(np.float64))
    est = NearestNeighbors(n_neighbors=3).fit(A)
    assert est.tree_.dtype == expected_dtype
    d, _ = est.kneighbors(A[:20])
    np.testing.assert_allclose(d, ref.kneighbors(A[:20].astype(np.float64))[0], rtol=1e-6)
    ids = est.insert(A[:5])  # converted to the fitted dtype
    assert ids.tolist() == list(range(60, 65))
    tree = CoverTree(A)
    assert tree.dtype == expected_dtype
    np.testing.assert_allclose(tree.query(A[:20], k=3)[0], d)


@pytest.mark.parametrize("form", ["fortran", "readonly", "non-contiguous", "list"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layouts_are_accepted_everywhere(form, dtype):
    A = GRID.astype(dtype)
    V = _variants(A)[form]
    if form == "list":  # a list has no dtype: it becomes float64
        A = A.astype(np.float64)
    base = NearestNeighbors(n_neighbors=3).fit(A)
    est = NearestNeighbors(n_neighbors=3).fit(V)
    Q = _variants(A[:15])[form]
    for a, b in zip(est.kneighbors(Q), base.kneighbors(A[:15])):
        np.testing.assert_array_equal(a, b)
    assert est.insert(Q).tolist() == list(range(60, 75))
    tree = CoverTree(V)
    np.testing.assert_array_equal(tree.query(Q, k=3)[1], base.kneighbors(A[:15])[1])
    tree.insert(Q)
    assert tree.n_samples == 75


# -- extreme but valid data, against scikit-learn's brute force ------------------


def _compare_with_brute(X, Q, metric, k, rtol=1e-9, unit=1.0):
    """pcct on (X, Q) against scikit-learn's brute force on (X, Q) / unit,
    with distances scaled back (cosine: unit=scale, for scikit-learn's
    cosine over- or underflows at 1e+-150 where pcct rescales)."""
    ours = NearestNeighbors(n_neighbors=k, metric=metric).fit(X)
    theirs = SkNN(n_neighbors=k, metric=metric, algorithm="brute").fit(X / unit)
    d, i = ours.kneighbors(Q)
    ds, is_ = theirs.kneighbors(Q / unit)
    np.testing.assert_allclose(d, ds, rtol=rtol, atol=0)
    # Indices agree where the distance is not tied with a neighbour's.
    gaps = np.diff(ds, axis=1)
    scale = np.abs(ds).max(axis=1, keepdims=True)
    untied = np.ones_like(ds, dtype=bool)
    tied = gaps <= 1e-7 * scale
    untied[:, :-1] &= ~tied
    untied[:, 1:] &= ~tied
    np.testing.assert_array_equal(i[untied], is_[untied])
    return ours


@pytest.mark.parametrize("scale", [1e150, 1e-150])
@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "chebyshev", "cosine"])
def test_coordinates_near_1e150_and_1e_150(metric, scale):
    r = np.random.default_rng(21)
    X = r.normal(size=(300, 5)) * scale
    Q = r.normal(size=(40, 5)) * scale
    unit = scale if metric == "cosine" else 1.0
    nn = _compare_with_brute(X, Q, metric, 6, unit=unit)
    # Radius queries at that scale too.
    radius = 0.5 * scale if metric != "cosine" else 0.5
    sk = SkNN(radius=radius, metric=metric, algorithm="brute").fit(X / unit)
    ours = [set(a.tolist()) for a in nn.radius_neighbors(Q, radius=radius, return_distance=False)]
    theirs = [set(a.tolist()) for a in sk.radius_neighbors(Q / unit, return_distance=False)]
    assert ours == theirs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_points_identical(dtype):
    A = np.full((50, 3), 7.25, dtype=dtype)
    nn = NearestNeighbors(n_neighbors=5, algorithm="cover_tree").fit(A)
    assert nn.tree_.stats()["nodes"] == 1
    d, i = nn.kneighbors([[7.25, 7.25, 7.25], [0.0, 0.0, 0.0]])
    assert i.tolist() == [[0, 1, 2, 3, 4]] * 2  # ties ordered by id
    np.testing.assert_allclose(d[0], 0)
    np.testing.assert_allclose(d[1], np.sqrt(3) * 7.25, rtol=1e-6)
    d, i = nn.kneighbors()  # each point's neighbours: the smallest other ids
    assert i[0].tolist() == [1, 2, 3, 4, 5] and i[3].tolist() == [0, 1, 2, 4, 5]
    assert np.all(d == 0)
    counts = [len(a) for a in nn.radius_neighbors(radius=0.0, return_distance=False)]
    assert counts == [49] * 50
    ids, counts_, levels, parents = nn.tree_.structure()
    assert ids.tolist() == [0] and counts_.tolist() == [50] and parents.tolist() == [-1]
    nn.delete(np.arange(49))
    assert nn.kneighbors(A[:1], n_neighbors=1)[1].tolist() == [[49]]


def test_one_point():
    nn = NearestNeighbors(n_neighbors=1, radius=10.0, algorithm="cover_tree").fit([[1.0, 2.0]])
    d, i = nn.kneighbors([[4.0, 6.0]])
    assert i.tolist() == [[0]] and d.tolist() == [[5.0]]
    with pytest.raises(ValueError, match="Expected n_neighbors < n_samples_fit"):
        nn.kneighbors()
    assert [len(a) for a in nn.radius_neighbors(return_distance=False)] == [0]
    assert nn.kneighbors_graph([[0.0, 0.0]]).shape == (1, 1)
    ids, counts, levels, parents = nn.tree_.structure()
    assert ids.tolist() == [0] and parents.tolist() == [-1]
    # Deleting the only point leaves an empty tree that answers radius
    # queries with empty rows and refuses k-NN.
    nn.delete([0])
    assert nn.n_samples_fit_ == 0
    assert [len(a) for a in nn.radius_neighbors([[1.0, 2.0]], return_distance=False)] == [0]
    assert nn.radius_neighbors_graph([[1.0, 2.0]]).nnz == 0
    with pytest.raises(ValueError, match="n_neighbors"):
        nn.kneighbors([[1.0, 2.0]])
    assert nn.tree_.structure().ids.size == 0
    assert nn.insert([[0.0, 0.0]]).tolist() == [1]
    assert nn.kneighbors([[1.0, 2.0]])[1].tolist() == [[1]]


def test_clean_query_rows_pass_as_they_are_and_others_take_the_checks():
    # Rows already as the checks would return them reach Go uncopied; rows
    # the shortcut must not take (NaN, an overflowing sum of finite values,
    # another dtype or order, feature names at fit) get the full checks,
    # their conversions and their messages.
    nn = NearestNeighbors(n_neighbors=3).fit(X)
    sk = SkNN(n_neighbors=3, algorithm="brute").fit(X)
    Q = rng.random((6, 3))
    assert nn._check_queries(Q) is Q
    tree = CoverTree(X)
    assert tree._check_queries(Q) is Q
    for bad, word in ((np.nan, "NaN"), (np.inf, "infinity")):
        Qb = Q.copy()
        Qb[2, 1] = bad
        with pytest.raises(ValueError, match=word):
            nn.kneighbors(Qb)
        with pytest.raises(ValueError, match=word):
            tree.query(Qb, 3)
    huge = np.full((2, 3), 1e308)  # finite, but its sum is not
    dist, ind = nn.kneighbors(huge)
    # Every fitted point lies at the same distance, sqrt(3) * 1e308 to the
    # double, from these rows: ties, by index.
    assert np.array_equal(ind, [[0, 1, 2]] * 2)
    np.testing.assert_allclose(dist, np.sqrt(3) * 1e308, rtol=1e-15)
    strided = np.repeat(Q, 2, axis=1)[:, ::2]  # a view, neither C nor Fortran order
    for other in (np.asfortranarray(Q), Q.astype(np.float32), strided):
        # Each is a case the shortcut must refuse.
        assert not (other.flags.c_contiguous and other.dtype == np.float64)
        got = nn._check_queries(other)
        assert got is not other
        assert got.dtype == np.float64 and got.flags.c_contiguous
        np.testing.assert_allclose(nn.kneighbors(other)[0], sk.kneighbors(other)[0], rtol=1e-12)
    f32 = NearestNeighbors(n_neighbors=3).fit(X.astype(np.float32))
    assert f32._check_queries(Q).dtype == np.float32
    pd = pytest.importorskip("pandas")
    named = NearestNeighbors(n_neighbors=3).fit(pd.DataFrame(X, columns=["a", "b", "c"]))
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        named.kneighbors(Q)
