"""The GPU backend from Python: the loader's choice between the CPU and the
CUDA build, the ``device`` parameter, and (marker ``gpu``) every GPU search
against the CPU's answers.

Without a usable GPU (CI, any machine without an NVIDIA driver) the tests
marked ``gpu`` skip, saying why; the others check that pcct falls back to
the CPU build cleanly. On a GPU machine, ``pytest -m gpu`` runs the GPU
comparisons (``make gpu-check`` does).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

import pcct
import pcct_datasets
from pcct import CoverTree, NearestNeighbors
from pcct import _lib

ROOT = Path(__file__).resolve().parent.parent
PKG = Path(pcct.__file__).resolve().parent
CUDA_LIB = PKG / "libpcct_cuda.so"
FAKE_DRIVER = ROOT / "build" / "cuda" / "fakedriver"

USABLE, DETAIL = pcct.gpu_info()
gpu = pytest.mark.skipif(not USABLE, reason=f"no usable GPU: {DETAIL}")


def _python(code, env=None):
    """Run code in a fresh interpreter (a fresh choice of library)."""
    e = dict(os.environ)
    e.update(env or {})
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=e)
    return proc


# -- the loader, without a GPU ---------------------------------------------------


@pytest.mark.skipif(USABLE, reason="a GPU is usable here: the fallback is not exercised")
def test_loader_falls_back_to_the_cpu_build():
    proc = _python(
        "import numpy as np, pcct\n"
        "from pcct import _lib\n"
        "path, cuda, why = _lib.selection()\n"
        "nn = pcct.NearestNeighbors(n_neighbors=2).fit(np.eye(3))\n"
        "print(cuda, path.rsplit('/', 1)[-1], nn.kneighbors(np.eye(3))[1].tolist())\n"
        "print(why)\n"
    )
    assert proc.returncode == 0, proc.stderr
    first, why = proc.stdout.splitlines()
    assert first == "False libpcct.so [[0, 1], [1, 0], [2, 0]]"
    if CUDA_LIB.exists():
        assert "driver" in why
    else:
        assert why == "pcct was built without CUDA"
    assert proc.stderr == ""


@pytest.mark.skipif(not CUDA_LIB.exists(), reason="pcct was built without CUDA (PCCT_CUDA=0?)")
def test_cuda_build_needs_the_driver_and_fails_cleanly_without_it():
    # The CUDA build links the driver by its soname; loading it where there
    # is none is an OSError, not a crash, and no Go runtime starts.
    with open(CUDA_LIB, "rb") as f:
        assert b"libcuda.so.1" in f.read()
    if USABLE:
        pytest.skip("a driver is installed here")
    proc = _python(
        "import ctypes, sys\n"
        f"try:\n    ctypes.CDLL({str(CUDA_LIB)!r})\n"
        "except OSError as e:\n    print('OSError', e)\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OSError") and "libcuda.so.1" in proc.stdout


@pytest.mark.skipif(not (FAKE_DRIVER / "libcuda.so.1").exists(),
                    reason="no stand-in driver (make vet-cuda builds it in build/cuda/fakedriver)")
@pytest.mark.skipif(not CUDA_LIB.exists(), reason="pcct was built without CUDA")
def test_a_driver_without_a_device_selects_the_cpu_build():
    # The stand-in driver loads and starts, and reports no device: the probe
    # says so, and the CUDA build (which would work with it) is not loaded.
    proc = _python(
        "import pcct\nfrom pcct import _lib\n"
        "print(_lib.selection()[1:])\nprint(pcct.gpu_info())\n",
        env={"LD_LIBRARY_PATH": str(FAKE_DRIVER)},
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "(False, 'the NVIDIA driver reports no CUDA device')"
    assert lines[1] == "(False, 'the NVIDIA driver reports no CUDA device')"


@pytest.mark.skipif(os.environ.get("PCCT_CUDA") != "1", reason="PCCT_CUDA=1 is not set (CI sets it)")
def test_cuda_build_was_required_and_built():
    # Under PCCT_CUDA=1 (as in CI) pip install must have built the CUDA
    # library: a toolchain that stopped working fails here, not silently.
    assert CUDA_LIB.exists()


def test_cuda_off_by_environment():
    proc = _python("from pcct import _lib\nprint(_lib.selection()[1:])",
                   env={"PCCT_CUDA": "0"})
    assert proc.returncode == 0, proc.stderr
    if CUDA_LIB.exists():
        assert proc.stdout.strip() == "(False, 'PCCT_CUDA=0 turns the CUDA build off')"
    else:
        assert proc.stdout.strip() == "(False, 'pcct was built without CUDA')"


def test_gpu_available_and_info_agree():
    assert pcct.gpu_available() is USABLE
    assert isinstance(DETAIL, str) and DETAIL
    if not USABLE:
        assert DETAIL == _lib.selection()[2]
    assert "CUDA" in pcct.gpu_available.__doc__
    assert _lib.go_version().startswith("go1.")


# -- the device parameter ----------------------------------------------------------


def test_device_parameter_is_validated():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="device"):
        NearestNeighbors(device="gpu").fit(X)
    with pytest.raises(ValueError, match="Unsupported device 'gpu'"):
        CoverTree(X, device="gpu")
    with pytest.raises(ValueError, match="device"):
        NearestNeighbors(device=None).fit(X)


@pytest.mark.skipif(USABLE, reason="a GPU is usable here")
def test_cuda_without_a_gpu_says_why():
    X = np.random.default_rng(0).normal(size=(20, 3))
    for make in (lambda: NearestNeighbors(device="cuda").fit(X), lambda: CoverTree(X, device="cuda")):
        with pytest.raises(ValueError) as info:
            make()
        msg = str(info.value)
        assert "(device='cuda') needs a usable GPU" in msg and DETAIL in msg
        assert "device='auto'" in msg


def test_cuda_with_a_metric_the_gpu_lacks_says_so():
    X = np.random.default_rng(0).uniform(-1, 1, size=(20, 2))
    for metric, kw in (("haversine", {}), ("minkowski", {"p": 3})):
        with pytest.raises(ValueError, match="needs a metric the GPU computes") as info:
            NearestNeighbors(device="cuda", metric=metric, **kw).fit(X)
        assert "device='cpu'" in str(info.value)
    # Minkowski with p = 1, 2 or inf is a GPU metric: only the GPU itself
    # may be missing.
    if not USABLE:
        with pytest.raises(ValueError, match="needs a usable GPU"):
            NearestNeighbors(device="cuda", metric="minkowski", p=1).fit(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_auto_and_cpu_agree(dtype):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 4)).astype(dtype)
    Q = rng.normal(size=(50, 4)).astype(dtype)
    a = NearestNeighbors(n_neighbors=7, device="auto").fit(X)
    c = NearestNeighbors(n_neighbors=7, device="cpu").fit(X)
    for x in (Q, None):
        da, ia = a.kneighbors(x)
        dc, ic = c.kneighbors(x)
        np.testing.assert_array_equal(ia, ic)
        np.testing.assert_array_equal(da, dc)
    ra = a.radius_neighbors(Q, 1.0, sort_results=True)
    rc = c.radius_neighbors(Q, 1.0, sort_results=True)
    for x, y in zip(ra[1], rc[1]):
        np.testing.assert_array_equal(x, y)


def test_device_is_a_parameter_kept_by_clone_pickle_and_repr():
    X = np.random.default_rng(2).normal(size=(30, 3))
    nn = NearestNeighbors(device="cpu")
    assert nn.get_params()["device"] == "cpu"
    assert clone(nn).device == "cpu"
    assert "device='cpu'" in repr(nn)
    nn.fit(X)
    assert pickle.loads(pickle.dumps(nn)).device == "cpu"
    tree = CoverTree(X, device="cpu")
    assert "device=cpu" in repr(tree)
    assert pickle.loads(pickle.dumps(tree)).device == "cpu"
    assert "device" not in repr(CoverTree(X))
    nn.set_params(device="auto")
    assert nn.kneighbors(X[:2], 2)[1].shape == (2, 2)


# -- on a GPU (pytest -m gpu) --------------------------------------------------------


def _compare(X, Q, ks, metric="euclidean", radius=False, **kw):
    """device='cuda' against device='cpu' on one fitted tree: identical
    indices and distances. radius: radius queries too, at that radius, or
    with True at one that holds about 20 points per query on this data and
    metric (a radius taken from the coordinates' scale can hold a third of
    the points under cosine: hundreds of millions of answers for X=None)."""
    nn = NearestNeighbors(metric=metric, device="cpu", n_jobs=-1, **kw).fit(X)
    for k in ks:
        for q in (Q, None):
            if q is None and k >= len(X):
                continue
            dc, ic = nn.set_params(device="cpu").kneighbors(q, k)
            dg, ig = nn.set_params(device="cuda").kneighbors(q, k)
            np.testing.assert_array_equal(ig, ic, err_msg=f"k={k} X=None={q is None}")
            np.testing.assert_array_equal(dg, dc)
    if radius is not False:
        r = radius
        if radius is True:
            k = min(20, len(X) - 1)
            nn.set_params(device="cpu")
            r = float(min(np.median(nn.kneighbors(Q[:50], k)[0][:, -1]),
                          np.median(nn.kneighbors(X[:: max(1, len(X) // 50)], k + 1)[0][:, -1])))
        answers = 0
        for q in (Q, None):
            dc, ic = nn.set_params(device="cpu").radius_neighbors(q, r, sort_results=True)
            dg, ig = nn.set_params(device="cuda").radius_neighbors(q, r, sort_results=True)
            assert len(ic) == len(ig)
            answers += sum(map(len, ic))
            for a, b, c, d in zip(ig, ic, dg, dc):
                np.testing.assert_array_equal(a, b)
                np.testing.assert_array_equal(c, d)
        assert answers > 0, "the radius holds no answer: the test would check nothing"


@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dim", [2, 3, 16, 128])
@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "chebyshev", "cosine"])
def test_gpu_random(dtype, dim, metric):
    rng = np.random.default_rng(dim)
    n = 20000 if dim <= 3 else 5000
    X = rng.normal(size=(n, dim)).astype(dtype)
    Q = rng.normal(size=(300, dim)).astype(dtype)
    # The CPU's answers in 16 and more dimensions from its brute-force
    # index (the tree's search of Gaussian points there costs minutes under
    # chebyshev); the GPU searches either index's points the same way, and
    # the tree's case is the low dimensions' and the real datasets'.
    algorithm = "brute" if dim >= 16 else "cover_tree"
    _compare(X, Q, [1, 10, 100], metric=metric, radius=True, algorithm=algorithm)


@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gpu_duplicates_and_ties(dtype):
    rng = np.random.default_rng(3)
    X = rng.integers(0, 4, size=(8000, 3)).astype(dtype)  # 64 places, 125 points each
    Q = rng.integers(0, 4, size=(200, 3)).astype(dtype)
    _compare(X, Q, [1, 10, 1000, 4096], radius=1.0)  # ties at the radius


@gpu
@pytest.mark.gpu
def test_gpu_large_k():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(5000, 8)).astype(np.float32)
    _compare(X, X[:50] + 0.01, [4096, 4999, 5000])


@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("name", ["letter", "pendigits", "magic", "bunny", "zipcodes"])
def test_gpu_real_datasets(name):
    try:
        X = getattr(pcct_datasets, name)()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    X = np.ascontiguousarray(X)
    Q = X[:: max(1, len(X) // 500)] + 0.5
    _compare(X, Q, [1, 10], radius=True)
    _compare(X.astype(np.float32), Q.astype(np.float32), [10])


@gpu
@pytest.mark.gpu
def test_gpu_after_updates_and_in_threads():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(10000, 5))
    nn = NearestNeighbors(n_neighbors=10, device="cuda").fit(X)
    nn.kneighbors(X[:5])  # the first version's points go to the GPU
    nn.insert(rng.normal(size=(1000, 5)))
    nn.delete(np.arange(0, 10000, 7))
    Q = rng.normal(size=(400, 5))
    want = nn.set_params(device="cpu").kneighbors(Q)
    nn.set_params(device="cuda")
    results = [None] * 8

    def work(i):
        results[i] = nn.kneighbors(Q)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in results:
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(got[0], want[0])


@gpu
@pytest.mark.gpu
def test_gpu_auto_on_a_large_batch_agrees_with_the_cpu():
    # 6.4e9 coordinate comparisons on a brute-force index: device="auto"
    # sends it to the GPU (gpu.Prefer; which device ran is not observable
    # from here, the answers must be the CPU's either way).
    rng = np.random.default_rng(6)
    X = rng.normal(size=(200000, 16)).astype(np.float32)
    Q = rng.normal(size=(2000, 16)).astype(np.float32)
    a = NearestNeighbors(n_neighbors=10, device="auto", n_jobs=-1).fit(X)
    c = NearestNeighbors(n_neighbors=10, device="cpu", n_jobs=-1).fit(X)
    np.testing.assert_array_equal(a.kneighbors(Q)[1], c.kneighbors(Q)[1])


def test_driver_version_is_read_from_proc(monkeypatch):
    from pcct import _gpu

    line = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159  Thu Oct 30 2026\n"

    class File:
        def __init__(self, text):
            self.text = text

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def readline(self):
            return self.text

    monkeypatch.setattr(_gpu, "open", lambda *a, **k: File(line), raising=False)
    assert _gpu.driver_version() == "580.159"

    def missing(*a, **k):
        raise FileNotFoundError

    monkeypatch.setattr(_gpu, "open", missing, raising=False)
    assert _gpu.driver_version() is None
