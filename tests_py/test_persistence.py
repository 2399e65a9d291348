"""Pickling, save and load: exact round trips through the Go tree's binary
encoding, no Python copy of the data, and damaged files refused."""

from __future__ import annotations

import io
import pickle
import struct
import zlib

import numpy as np
import pytest

import pcct
from pcct import CoverTree, NearestNeighbors, ReadOnlyError

rng = np.random.default_rng(31)


def _updated_estimator(dtype, **params):
    X = rng.integers(0, 6, size=(500, 3)).astype(dtype)
    est = NearestNeighbors(n_neighbors=4, radius=1.5, n_jobs=2, **params).fit(X)
    est.delete(rng.choice(500, size=120, replace=False))
    est.insert(rng.integers(0, 6, size=(70, 3)))
    est.delete(est.ids_[::9])
    return est


def _answers(est, Q):
    out = list(est.kneighbors(Q)) + list(est.kneighbors())
    d, i = est.radius_neighbors(Q, sort_results=True)
    out += [np.concatenate(list(d)), np.concatenate(list(i))]
    g = est.radius_neighbors_graph(mode="distance", sort_results=True)
    out += [g.data, g.indices, g.indptr, np.array(g.shape), est.ids_]
    return out


def _assert_same(a, b):
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


def _assert_same_estimator(est, twin, Q):
    assert type(twin) is NearestNeighbors
    assert twin.get_params() == est.get_params()
    for name in ("effective_metric_", "effective_metric_params_", "n_features_in_",
                 "n_samples_fit_", "n_ids_"):
        assert getattr(twin, name) == getattr(est, name), name
    assert twin.tree_.dtype == est.tree_.dtype and twin.tree_.p == est.tree_.p
    assert twin.tree_.metric == est.tree_.metric and twin.tree_.search == est.tree_.search
    assert twin.tree_._version.handle != est.tree_._version.handle
    _assert_same(_answers(twin, Q), _answers(est, Q))
    # Ids go on where they stopped: never reused.
    twin = pickle.loads(pickle.dumps(twin))  # a copy to update; est is left as it is
    twin_ids = twin.insert(rng.integers(0, 6, size=(5, 3)))
    np.testing.assert_array_equal(twin_ids, np.arange(est.n_ids_, est.n_ids_ + 5))
    assert not np.isin(twin_ids, est.ids_).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("params", [{}, {"metric": "minkowski", "p": 3, "search": "corrected"}])
def test_pickle_round_trip_after_updates(dtype, params):
    est = _updated_estimator(dtype, **params)
    Q = rng.integers(-1, 7, size=(40, 3)).astype(dtype)
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        twin = pickle.loads(pickle.dumps(est, protocol=protocol))
        _assert_same_estimator(est, twin, Q)
    tree = pickle.loads(pickle.dumps(est.tree_))
    assert (tree.n_samples, tree.n_ids, tree.seed, tree.n_jobs) == (
        est.tree_.n_samples, est.tree_.n_ids, est.tree_.seed, est.tree_.n_jobs)
    for a, b in zip(tree.query(Q, k=4), est.kneighbors(Q)):
        np.testing.assert_array_equal(a, b)


def test_pickle_keeps_no_copy_of_the_data():
    X = rng.random((20000, 4))
    est = NearestNeighbors().fit(X)
    assert not hasattr(est, "_fit_X")
    assert not any(isinstance(v, np.ndarray) and v.size >= X.size for v in vars(est).values())
    assert not any(isinstance(v, np.ndarray) and v.size >= X.size for v in vars(est.tree_).values())
    encoded = len(est.tree_._version.encode())
    # The encoding holds each point once, plus ids and structure.
    assert X.nbytes < encoded < X.nbytes + 20 * len(X)
    for obj in (est, est.tree_):
        size = len(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        assert encoded < size < encoded + 2000, (size, encoded)


def test_pickled_snapshot_stays_read_only():
    est = _updated_estimator(np.float64)
    snap = pickle.loads(pickle.dumps(est.snapshot()))
    assert snap.tree_.read_only
    with pytest.raises(ReadOnlyError):
        snap.insert(np.zeros((1, 3)))
    tree = pickle.loads(pickle.dumps(est.tree_.snapshot()))
    with pytest.raises(ReadOnlyError):
        tree.delete([est.ids_[0]])


@pytest.mark.parametrize("algorithm, magic", [("cover_tree", b"PCCTTREE"), ("brute", b"PCCTBRUT")])
def test_pickle_with_a_damaged_tree_raises_value_error(algorithm, magic):
    est = NearestNeighbors(algorithm=algorithm).fit(rng.random((50, 2)))
    data = bytearray(pickle.dumps(est))
    at = data.index(magic)
    data[at + 60] ^= 0x10  # a byte inside the encoded index
    with pytest.raises(ValueError, match="checksum mismatch"):
        pickle.loads(bytes(data))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_and_load_estimator(tmp_path, dtype):
    est = _updated_estimator(dtype, metric="manhattan", search="corrected")
    Q = rng.integers(-1, 7, size=(40, 3)).astype(dtype)
    path = tmp_path / "model.pcct"
    est.save(path)
    twin = pcct.load(path)
    _assert_same_estimator(est, twin, Q)
    twin2 = pcct.load(str(path))  # str paths too
    _assert_same(_answers(twin2, Q), _answers(est, Q))
    # File objects.
    buf = io.BytesIO()
    est.save(buf)
    assert buf.getvalue() == path.read_bytes()
    buf.seek(0)
    _assert_same(_answers(pcct.load(buf), Q), _answers(est, Q))
    # The header names the kind and the dtype.
    raw = path.read_bytes()
    magic, version, hlen = struct.unpack_from("<8sII", raw)
    assert magic == b"PCCTSAVE" and version == 1
    header = raw[16:16 + hlen].decode()
    assert '"kind": "estimator"' in header and f'"dtype": "{np.dtype(dtype).name}"' in header


def test_save_and_load_tree_and_snapshots(tmp_path):
    X = rng.random((300, 4)).astype(np.float32)
    tree = CoverTree(X, metric="minkowski", p=2.5, seed=42, n_jobs=2)
    tree.delete([0, 1, 2])
    tree.insert(rng.random((10, 4)))
    tree.save(tmp_path / "t.pcct")
    back = pcct.load(tmp_path / "t.pcct")
    assert type(back) is CoverTree and not back.read_only
    assert (back.metric, back.p, back.seed, back.n_jobs, back.dtype) == ("minkowski", 2.5, 42, 2, np.float32)
    np.testing.assert_array_equal(back.ids(), tree.ids())
    Q = rng.random((30, 4)).astype(np.float32)
    for a, b in zip(back.query(Q, k=5), tree.query(Q, k=5)):
        np.testing.assert_array_equal(a, b)
    assert back.stats()["build_distance_evaluations"] == tree.stats()["build_distance_evaluations"]
    tree.snapshot().save(tmp_path / "s.pcct")
    snap = pcct.load(tmp_path / "s.pcct")
    assert snap.read_only
    est = NearestNeighbors().fit(X)
    est.snapshot().save(tmp_path / "e.pcct")
    with pytest.raises(ReadOnlyError):
        pcct.load(tmp_path / "e.pcct").delete([0])


def test_save_keeps_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(rng.random((30, 2)), columns=["lat", "lon"])
    est = NearestNeighbors(n_neighbors=2).fit(df)
    est.save(tmp_path / "f.pcct")
    back = pcct.load(tmp_path / "f.pcct")
    np.testing.assert_array_equal(back.feature_names_in_, ["lat", "lon"])
    with pytest.raises(ValueError, match="The feature names should match"):
        back.kneighbors(df.rename(columns={"lat": "x"}))


def test_save_unfitted_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        NearestNeighbors().save(io.BytesIO())


def _saved(kind):
    X = rng.integers(0, 4, size=(40, 2)).astype(float)
    obj = NearestNeighbors(n_neighbors=2).fit(X) if kind == "estimator" else CoverTree(X)
    buf = io.BytesIO()
    obj.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["estimator", "tree"])
def test_truncated_files_raise_value_error(tmp_path, kind):
    data = _saved(kind)
    lengths = sorted(set([0, 1, 7, 8, 12, 15, 16, 17, 40, len(data) // 2, len(data) - 5,
                          len(data) - 4, len(data) - 1] + list(range(0, len(data), 97))))
    for n in lengths:
        path = tmp_path / f"cut{n}.pcct"
        path.write_bytes(data[:n])
        with pytest.raises(ValueError, match="is not a readable pcct file"):
            pcct.load(path)
    # Extra bytes at the end are refused too.
    with pytest.raises(ValueError, match="is not a readable pcct file"):
        pcct.load(io.BytesIO(data + b"\0"))


@pytest.mark.parametrize("kind", ["estimator", "tree"])
def test_corrupted_files_raise_value_error(kind):
    data = _saved(kind)
    hlen = struct.unpack_from("<I", data, 12)[0]
    # Every byte of the prefix and many of the header, tree and checksum.
    positions = sorted(set(list(range(0, 16)) + list(range(16, 16 + hlen, 7))
                           + list(range(16 + hlen, len(data), 5)) + [len(data) - 1]))
    for at in positions:
        for flip in (0x01, 0x80):
            bad = bytearray(data)
            bad[at] ^= flip
            with pytest.raises(ValueError, match="is not a readable pcct file"):
                pcct.load(io.BytesIO(bytes(bad)))


def test_damaged_tree_with_a_valid_file_checksum_raises_value_error():
    """The Go decoder checks the tree itself (its own CRC-32 and structure)
    even when the file's checksum was recomputed over the damage."""
    data = bytearray(_saved("tree"))
    hlen = struct.unpack_from("<I", data, 12)[0]
    start = 16 + hlen
    for at in (start + 8, start + 30, start + 100, len(data) - 6):
        bad = bytearray(data)
        bad[at] ^= 0x04
        bad[-4:] = struct.pack("<I", zlib.crc32(bytes(bad[:-4])))
        with pytest.raises(ValueError, match="decode"):
            pcct.load(io.BytesIO(bytes(bad)))


def test_not_a_pcct_file(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match="does not start with the pcct magic bytes"):
        pcct.load(path)
    with pytest.raises(TypeError, match="pcct can save a CoverTree or a NearestNeighbors"):
        pcct._io.save(object(), io.BytesIO())
