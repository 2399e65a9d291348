"""Memory and handles: fitting and dropping estimators in a loop does not
grow the process; every Go handle is freed; a Go panic is an exception."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import weakref

import numpy as np
import pytest

import pcct
from pcct import CoverTree, NearestNeighbors, _lib

_LOOP = textwrap.dedent(
    """
    import gc, os, sys
    import numpy as np
    from pcct import NearestNeighbors
    from pcct._handle import TreeVersion as _Version

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    rng = np.random.default_rng(0)
    X = rng.random((3000, 4))
    Q = X[:300]

    def cycle():
        nn = NearestNeighbors(n_neighbors=5, radius=0.2).fit(X)
        nn.kneighbors(Q)
        nn.radius_neighbors(Q)
        nn.insert(Q + 1.0)
        nn.delete(np.arange(0, 300, 2))
        snap = nn.snapshot()
        snap.kneighbors_graph(Q[:10])
        nn.tree_.structure()
        del nn, snap

    for _ in range(30):  # warm-up: Go's heap and Python's caches settle
        cycle()
    gc.collect()
    before = rss()
    for _ in range(int(sys.argv[1])):
        cycle()
    gc.collect()
    after = rss()
    live = sum(isinstance(o, _Version) for o in gc.get_objects())
    print(before, after, live)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_fit_and_drop_in_a_loop_does_not_grow_memory():
    """200 fit / query / insert / delete / snapshot cycles after a warm-up:
    the resident set grows by less than 16 MiB, and no version is left
    alive. (Keeping every cycle's estimator instead grows it by about 250
    MiB; measured without a leak: under 1 MiB.)"""
    proc = subprocess.run([sys.executable, "-c", _LOOP, "200"], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    before, after, live = map(int, proc.stdout.split())
    growth = after - before
    print(f"RSS {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB "
          f"(growth {growth / 2**20:.2f} MiB over 200 cycles)")
    assert live == 0
    assert growth < 16 * 2**20, growth


def test_versions_and_results_are_freed():
    rng = np.random.default_rng(40)
    X = rng.random((300, 3))
    est = NearestNeighbors(n_neighbors=2, radius=0.3).fit(X)
    fins = [est.tree_._version._finalizer]
    est.insert(X[:5])
    fins.append(est.tree_._version._finalizer)
    est.radius_neighbors(X, sort_results=True)  # radius result handles: filled and freed
    est.tree_.query_radius(X, 0.3, count_only=True)
    tree_ref = weakref.ref(est.tree_)
    del est
    gc.collect()
    assert tree_ref() is None
    assert not any(f.alive for f in fins)
    # A freed handle used again is an error from Go, not a crash.
    t = CoverTree(X)
    h = t._version.handle
    t._version._finalizer()
    with pytest.raises(ValueError, match="invalid or was already freed"):
        _lib.check(_lib.lib().pcct_tree_free(h))


@pytest.mark.parametrize("off", [0, 1], ids=["caller", "own-goroutine"])
def test_go_panic_becomes_a_python_exception_and_the_library_goes_on(off):
    for _ in range(3):
        with pytest.raises(RuntimeError, match="pcct: internal error") as info:
            _lib.check(_lib.lib().pcct_test_panic(off))
        assert not isinstance(info.value, ValueError)
    assert NearestNeighbors(n_neighbors=1).fit(np.eye(2)).kneighbors(np.eye(2))[1].ravel().tolist() == [0, 1]


def test_cli_info():
    proc = subprocess.run([sys.executable, "-m", "pcct", "info"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"pcct: {pcct.__version__}"
    assert lines[1].startswith("Go: go1.") and "(library: pcct " in lines[1]
    assert lines[2].startswith("CPU threads: ")
    assert int(lines[2].split()[2]) >= 1
    path, is_cuda, why = _lib.selection()
    assert lines[3] == f"library: {'CUDA' if is_cuda else 'CPU'} build at {path}"
    usable, detail = pcct.gpu_info()
    assert lines[4] == (f"GPU: {detail}" if usable else f"GPU: not available ({detail})")
    assert lines[5].startswith("Brute-force screening kernel: ") and "Go" in lines[5]


def test_cli_without_arguments_prints_versions():
    proc = subprocess.run([sys.executable, "-m", "pcct"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith(f"pcct {pcct.__version__}\nlibrary: pcct ")
    assert "numpy " in out and "scikit-learn " in out and "CPUs: " in out


def test_cli_rejects_unknown_commands():
    proc = subprocess.run([sys.executable, "-m", "pcct", "frobnicate"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "usage: python -m pcct [info]" in proc.stderr




@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", ["cover_tree", "brute"])
def test_version_shape_matches_the_statistics(dtype, algorithm):
    """A new version reads its counts from pcct_tree_shape, which does not
    walk the nodes: they must be the full statistics' own, through fits,
    insertions, deletions (ids issued stay ahead of the points) and
    snapshots."""
    from pcct._handle import SHAPE_FIELDS, STAT_FIELDS, raw_shape, raw_stats

    rng = np.random.default_rng(3)
    nn = NearestNeighbors(algorithm=algorithm).fit(rng.random((400, 3)).astype(dtype))
    versions = [nn.tree_._version]
    nn.insert(rng.random((7, 3)).astype(dtype))
    versions.append(nn.tree_._version)
    nn.delete(np.arange(0, 50, 3))
    versions.append(nn.tree_._version)
    versions.append(nn.snapshot().tree_._version)
    for v in versions:
        stats = dict(zip(STAT_FIELDS, raw_stats(v.handle)))
        shape = dict(zip(SHAPE_FIELDS, raw_shape(v.handle)))
        assert shape == {k: stats[k] for k in SHAPE_FIELDS}
        assert (v.n_samples, v.n_features, v._n_go) == (stats["points"], 3, stats["ids_issued"])
    assert dict(zip(SHAPE_FIELDS, raw_shape(versions[2].handle)))["ids_issued"] == 407
    assert versions[2].n_samples == 407 - 17


def test_named_metrics_do_not_import_sklearn_metrics():
    """Fits and queries with metrics named by strings do not import
    ``sklearn.metrics`` (55 ms, which had been most of a process's first
    ``fit``); a DistanceMetric object made after they ran is still served
    as the metric it names."""
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import pcct
        X = np.random.default_rng(0).standard_normal((200, 3))
        for metric in ("euclidean", "manhattan", "minkowski", "chebyshev"):
            pcct.NearestNeighbors(n_neighbors=3, metric=metric).fit(X).kneighbors(X[:5])
            pcct.CoverTree(X, metric=metric).query(X[:5], k=2)
        pcct.KNeighborsTransformer(n_neighbors=3).fit_transform(X)
        assert "sklearn.metrics" not in sys.modules, "sklearn.metrics was imported"
        from sklearn.metrics import DistanceMetric
        dm = DistanceMetric.get_metric("manhattan")
        nn = pcct.NearestNeighbors(n_neighbors=3, metric=dm).fit(X)
        assert nn.effective_metric_ == "manhattan", nn.effective_metric_
        ref = pcct.NearestNeighbors(n_neighbors=3, metric="manhattan").fit(X)
        assert (nn.kneighbors(X[:5])[1] == ref.kneighbors(X[:5])[1]).all()
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], timeout=120, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
