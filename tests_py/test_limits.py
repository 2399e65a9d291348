"""Hostile sizes must not kill, hang or exhaust the interpreter: job counts
far beyond the CPUs, answers larger than memory, counting without listing,
pools of forked workers, memory held after large calls, and the smaller
cases of the same trial (tiny cosine vectors, crafted files, bools and
strings where numbers belong, values beyond float32).

What could crash the process runs in a child process, under an
address-space limit (``resource.setrlimit(RLIMIT_AS)``, as ``prlimit --as``
or ``ulimit -v`` set it) and a timeout, so that a regression fails the test
instead of the test run or the machine.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import subprocess
import sys
import textwrap
import warnings
import zlib

import numpy as np
import pytest

import pcct
from conftest import load_dataset
from pcct import CoverTree, NearestNeighbors
from pcct._validation import cpu_count, effective_n_jobs

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="address-space limits and /proc are Linux's")

GB = 2**30


def run_limited(script, limit_bytes=None, timeout=180):
    """Run a Python script in a child process, under an address-space limit
    if given; return the CompletedProcess."""

    def limit():
        if limit_bytes is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], preexec_fn=limit,
                          timeout=timeout, capture_output=True, text=True)


def assert_ok(proc):
    assert proc.returncode == 0, f"exit status {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"


# -- 1. job counts -------------------------------------------------------------------


def test_n_jobs_is_capped_at_the_cpus():
    assert effective_n_jobs(2**31 - 1) == cpu_count()
    assert effective_n_jobs(10**30) == cpu_count()  # beyond int64: still all the CPUs
    assert effective_n_jobs(1) == 1
    assert effective_n_jobs(-10**30) == 1


@pytest.mark.parametrize("n_jobs", [1.5, "2", True, np.float64(2.0)])
def test_n_jobs_of_the_wrong_type_is_refused(n_jobs):
    X = np.random.default_rng(0).random((30, 2))
    with pytest.raises(ValueError, match="The 'n_jobs' parameter of NearestNeighbors must be an "
                                         "instance of 'int' or None"):
        NearestNeighbors(n_jobs=n_jobs).fit(X)
    with pytest.raises(ValueError, match="n_jobs must be an int or None"):
        CoverTree(X, n_jobs=n_jobs)


def test_huge_n_jobs_everywhere_in_a_child_process():
    """Each call below aborted the process (Go: fatal error: out of memory)
    when workers were allocated per requested job; under a 3 GB address
    limit they must answer as with n_jobs=1."""
    proc = run_limited(
        """
        import io, json, struct, zlib
        import numpy as np
        import pcct
        from sklearn.neighbors import NearestNeighbors as SkNN
        rng = np.random.default_rng(0)
        X = rng.random((500, 4))
        Q = rng.random((50, 4))
        ref = SkNN(n_neighbors=3, algorithm="brute").fit(X).kneighbors(Q)[1]
        for jobs in (2**31 - 1, 10**7, 10**30):
            nn = pcct.NearestNeighbors(n_neighbors=3, n_jobs=jobs).fit(X)
            assert (nn.kneighbors(Q)[1] == ref).all()
            nn.insert(Q)
            nn.delete(np.arange(500, 550))
            assert (nn.kneighbors(Q)[1] == ref).all()
            nn.radius_neighbors(Q, radius=0.3)
            tree = pcct.CoverTree(X, n_jobs=jobs)
            tree.insert(Q)
            tree.delete([500])
            assert (tree.query(Q, k=3)[1] != ref).any()  # the copies of Q are found
        # A saved file whose header carries a huge n_jobs loads, then updates.
        nn = pcct.NearestNeighbors(n_neighbors=3).fit(X)
        buf = io.BytesIO()
        nn.save(buf)
        raw = buf.getvalue()
        hlen = struct.unpack_from("<8sII", raw)[2]
        header = json.loads(raw[16:16 + hlen])
        header["estimator"]["params"]["n_jobs"] = 2**31 - 1
        header["tree"]["n_jobs"] = 10**30
        head = json.dumps(header, sort_keys=True).encode()
        body = raw[16 + hlen:-4]
        data = struct.pack("<8sII", b"PCCTSAVE", 1, len(head)) + head + body
        data += struct.pack("<I", zlib.crc32(data))
        twin = pcct.load(io.BytesIO(data))
        assert twin.n_jobs == 2**31 - 1 and twin.tree_.n_jobs == 10**30
        twin.insert(Q)
        twin.tree_.insert(Q)
        twin.delete([0, 1])
        assert (twin.kneighbors(Q[:5])[1][:, 0] >= 500).all()
        print("ok")
        """,
        limit_bytes=3 * GB,
    )
    assert_ok(proc)


# -- 2. answers larger than memory ---------------------------------------------------


def test_answers_larger_than_memory_raise_memory_error_in_a_child_process():
    """20,000 points and a radius covering them all: 4e8 pairs, far more than
    a 2.5 GB address space holds. Each call must raise MemoryError naming
    the number of pairs and what to do, and leave the process working;
    before, Go died in its fatal out-of-memory (or numpy raised, by chance)."""
    proc = run_limited(
        """
        import numpy as np
        import pcct
        rng = np.random.default_rng(0)
        X = rng.random((20000, 3))
        nn = pcct.NearestNeighbors(n_neighbors=5, n_jobs=2).fit(X)
        tree = nn.tree_
        pairs = f"{20000 * 19999:,} (query, neighbour) pairs"  # every call asks for as many
        calls = {
            "radius_neighbors": lambda: nn.radius_neighbors(radius=10.0),
            "radius_neighbors_graph": lambda: nn.radius_neighbors_graph(X[:19999], radius=10.0),
            "query_radius": lambda: tree.query_radius(X[:19999], 10.0, return_distance=True),
            "kneighbors": lambda: nn.kneighbors(n_neighbors=19999),
            "kneighbors_graph": lambda: nn.kneighbors_graph(n_neighbors=19999),
            "query": lambda: tree.query(X[:19999], k=20000),
        }
        for name, call in calls.items():
            try:
                call()
            except MemoryError as e:
                msg = str(e)
                assert msg.startswith(name + " would return"), msg
                assert pairs in msg, msg
                if name.startswith(("radius", "query_radius")):
                    assert "count_only=True" in msg and "smaller radius" in msg, msg
                else:
                    assert "fewer neighbours" in msg and "chunks" in msg, msg
            else:
                raise SystemExit(name + " did not raise MemoryError")
        # Counting needs no memory per pair, and the process still works.
        counts = tree.query_radius(X, 10.0, count_only=True)
        assert (counts == 20000).all()
        assert nn.radius_neighbors(X[:3], radius=0.02, return_distance=False)[0].size >= 1
        print("ok")
        """,
        limit_bytes=int(2.5 * GB),
        timeout=300,
    )
    assert_ok(proc)


def test_memory_check_lets_what_fits_through(monkeypatch):
    """With a budget just large enough, the radius answers come through
    whole; just too small, MemoryError (through the Go limit, then a
    count)."""
    from pcct import _memory, _search

    rng = np.random.default_rng(1)
    X = rng.random((3000, 2))
    nn = NearestNeighbors(n_jobs=2).fit(X)
    full = nn.radius_neighbors(radius=0.1, sort_results=True)
    total = sum(len(a) for a in full[1])
    per_pair = _search.radius_bytes_per_pair(np.float64)
    monkeypatch.setattr(_memory, "available_bytes", lambda: total * per_pair)
    again = nn.radius_neighbors(radius=0.1, sort_results=True)
    for a, b in zip(full[1], again[1]):
        np.testing.assert_array_equal(a, b)
    monkeypatch.setattr(_memory, "available_bytes", lambda: (total - 1) * per_pair)
    with pytest.raises(MemoryError, match=f"radius_neighbors would return {total:,} "):
        nn.radius_neighbors(radius=0.1)
    with pytest.raises(MemoryError, match="kneighbors would return 3,000,000 "):
        nn.kneighbors(n_neighbors=1000)
    # Where the sample misjudges the answer, Go's limit stops the batch.
    monkeypatch.setattr(_search, "_check_radius_size", lambda *args: None)
    with pytest.raises(MemoryError, match=f"radius_neighbors would return {total:,} "):
        nn.radius_neighbors(radius=0.1)
    monkeypatch.setattr(_memory, "available_bytes", lambda: total * per_pair)
    assert sum(len(a) for a in nn.radius_neighbors(radius=0.1)[1]) == total


def test_small_radius_answers_do_not_read_the_limits(monkeypatch):
    """A radius query whose answer cannot reach _memory.SMALL_BYTES (every
    query finding every point) reads no memory limit: reading them cost a
    query of one point three times its own time. A larger possible answer
    still reads them."""
    from pcct import _memory

    reads = []
    monkeypatch.setattr(_memory, "available_bytes", lambda: reads.append(1) or 1 << 40)
    rng = np.random.default_rng(3)
    X = rng.random((2000, 3))
    nn = NearestNeighbors(n_jobs=2).fit(X)
    d, i = nn.radius_neighbors(X[:3], radius=0.2, sort_results=True)
    for q in range(3):
        want = np.flatnonzero(np.linalg.norm(X - X[q], axis=1) <= 0.2)
        np.testing.assert_array_equal(np.sort(i[q]), want)
    CoverTree(X).query_radius(X[:3], 0.2)
    assert reads == []
    # 2,000 x 2,000 possible pairs: the limits are read, and the answer is
    # sampled only when so many pairs would not fit.
    from pcct import _search

    sampled = []
    real = _search._check_radius_size
    monkeypatch.setattr(_search, "_check_radius_size", lambda *a: sampled.append(1) or real(*a))
    want = nn.radius_neighbors(radius=0.05, sort_results=True)[1]
    assert reads != [] and sampled == []
    per_pair = _search.radius_bytes_per_pair(np.float64)
    monkeypatch.setattr(_memory, "available_bytes", lambda: 2000 * 1999 * per_pair)
    got = nn.radius_neighbors(radius=0.05, sort_results=True)[1]
    assert sampled == [1]
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)


# -- 4. counting without listing -----------------------------------------------------


def _brute_counts(X, Q, r, exclude_self=False):
    """Points within r of each query by the Euclidean distance computed
    directly (scipy's cdist: exact 0 for duplicates, unlike the dot-product
    form of scikit-learn's brute force)."""
    from scipy.spatial.distance import cdist

    d = cdist(np.asarray(Q, dtype=np.float64), np.asarray(X, dtype=np.float64))
    return (d <= r).sum(axis=1) - (1 if exclude_self else 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_count_only_equals_brute_force(dtype):
    rng = np.random.default_rng(2)
    X = rng.integers(0, 4, size=(700, 3)).astype(dtype)  # duplicates and ties
    Q = rng.integers(0, 4, size=(60, 3)).astype(dtype) + 0.5
    tree = CoverTree(X, n_jobs=2)
    for r in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 100.0):
        np.testing.assert_array_equal(tree.query_radius(Q, r, count_only=True),
                                      _brute_counts(X, Q, r))
        np.testing.assert_array_equal(tree.query_radius(X, r, count_only=True),
                                      _brute_counts(X, X, r))
        np.testing.assert_array_equal(
            tree.query_radius(Q, r, count_only=True),
            [len(a) for a in tree.query_radius(Q, r)])


def test_count_only_after_deletions_and_for_the_fitted_points():
    rng = np.random.default_rng(3)
    X = rng.random((900, 2))
    tree = CoverTree(X)
    tree.delete(np.arange(0, 900, 3))
    live = tree.ids()
    for r in (0.05, 0.2, 2.0):
        counts = tree._radius(None, r, False, 1, counts_only=True)[0]
        np.testing.assert_array_equal(counts, _brute_counts(X[live], X[live], r, exclude_self=True))


@pytest.mark.parametrize("name", ["letter", "zipcodes"])
def test_count_only_on_real_data(name, dataset_cache):
    X = load_dataset(name, dataset_cache)[:3000]
    tree = CoverTree(X, n_jobs=2)
    scale = float(np.median(np.abs(X - X.mean(axis=0))))
    for r in (0.0, 0.3 * scale, scale, 1e6 * scale):
        np.testing.assert_array_equal(tree.query_radius(X[:500], r, count_only=True),
                                      _brute_counts(X, X[:500], r))


def test_count_everything_is_cheap():
    """A radius covering everything is counted from the subtree sizes: about
    one distance evaluation per query (it was every pair: 14 s and 1.9 GB
    for these 20,000 points)."""
    X = np.random.default_rng(4).random((20000, 3))
    tree = CoverTree(X, n_jobs=2)
    before = tree.stats()["query_distance_evaluations"]
    counts = tree.query_radius(X, 10.0, count_only=True)
    evals = tree.stats()["query_distance_evaluations"] - before
    assert (counts == 20000).all()
    assert evals <= 2 * len(X), evals


# -- 3. pools of forked workers ------------------------------------------------------

_POOL_SCRIPT = """
import multiprocessing as mp, pickle, sys, warnings
import numpy as np
import pcct
from pcct import _lib

def task(nn):
    return nn.kneighbors(np.eye(3))[1].tolist()

if __name__ == "__main__":
    nn = pcct.NearestNeighbors(n_neighbors=1).fit(np.eye(3))
    nn.kneighbors(np.eye(3))  # Go runs in this process now
    which = sys.argv[1]
    try:
        if which == "pool":
            with mp.get_context("fork").Pool(2) as pool:
                pool.map(task, [nn, nn])
        elif which == "joblib":
            from joblib import Parallel, delayed
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Parallel(n_jobs=2, backend="multiprocessing")(delayed(task)(nn) for _ in range(2))
        else:
            from concurrent.futures import ProcessPoolExecutor
            with ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as ex:
                ex.submit(task, nn).result()
    except _lib.ForkedChildError as e:
        assert "'spawn' or 'forkserver'" in str(e), e
        print("ForkedChildError reached the parent")
        sys.exit(0)
    sys.exit("no error")
"""


@pytest.mark.parametrize("pool", ["pool", "joblib", "executor"])
def test_fork_pools_fail_in_the_task_not_in_unpickling(pool, tmp_path):
    """After pcct's first use, fork pools used to hang (the worker raised
    while unpickling the task, and the pool waited forever) or report only
    BrokenProcessPool. Unpickling needs no Go now: the task raises, and the
    parent gets the ForkedChildError with its advice."""
    path = tmp_path / "pool_script.py"
    path.write_text(_POOL_SCRIPT)
    proc = subprocess.run([sys.executable, str(path), pool], timeout=120, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "ForkedChildError reached the parent" in proc.stdout


def test_unpickling_needs_no_go_runtime():
    """Unpickling keeps the bytes; the library loads on first use."""
    nn = NearestNeighbors(n_neighbors=2).fit(np.random.default_rng(5).random((50, 3)))
    data = pickle.dumps(nn)
    proc = run_limited(
        f"""
        import pickle
        import numpy as np
        from pcct import _lib
        nn = pickle.loads({data!r})
        assert _lib._lib is None, "unpickling loaded the library"
        again = pickle.loads(pickle.dumps(nn))  # re-pickled from the kept bytes
        assert _lib._lib is None, "re-pickling loaded the library"
        d, i = again.kneighbors(np.zeros((1, 3)))
        assert _lib._lib is not None and i.shape == (1, 2)
        print("ok")
        """
    )
    assert_ok(proc)


def test_unpickled_copies_decode_once():
    nn = NearestNeighbors(n_neighbors=2).fit(np.random.default_rng(6).random((50, 3)))
    twin = pickle.loads(pickle.dumps(nn))
    snap = twin.snapshot()
    assert twin.tree_._version is snap.tree_._version
    np.testing.assert_array_equal(twin.kneighbors()[1], nn.kneighbors()[1])


# -- 5. memory held --------------------------------------------------------------------


def test_stats_report_bytes_per_point():
    X = np.random.default_rng(7).random((5000, 3))
    s = CoverTree(X).stats()
    parts = ["bytes_nodes", "bytes_points", "bytes_kids", "bytes_groups", "bytes_ids",
             "bytes_id_map"]
    assert s["bytes"] == sum(s[p] for p in parts)
    assert s["bytes_per_point"] == s["bytes"] / 5000
    assert s["bytes_points"] >= X.nbytes  # the coordinates, in chunks of 256 points
    assert s["bytes_id_map"] >= 4 * 5000
    # A node of one id holds it in its record; the ids of identical points
    # are listed apart.
    assert s["bytes_ids"] == 0
    dup = CoverTree(np.vstack([X, X[:100], X[:100]])).stats()
    assert dup["bytes_ids"] >= 4 * 300
    assert dup["bytes"] == sum(dup[p] for p in parts)
    tree32 = CoverTree(X.astype(np.float32))
    assert tree32.stats()["bytes_points"] < s["bytes_points"]
    # No search layout until k-nearest queries make one.
    assert s["search_layout_built"] is False and s["search_layout_bytes"] == 0
    # Queries reaching 1/64 of the nodes make it (here two calls); the
    # version keeps it and counts it: at least coordinates, reach, a 32-byte
    # record per node and an id per point.
    tree = CoverTree(X)
    half = X[: s["nodes"] // 128 + 1]
    tree.query(half, k=3)
    assert tree.stats()["search_layout_built"] is False
    tree.query(half, k=3)
    s = tree.stats()
    assert s["search_layout_built"] is True
    assert s["search_layout_bytes"] >= s["nodes"] * (3 * 8 + 8 + 32) + 4 * 5000
    assert s["bytes"] == sum(s[p] for p in parts) + s["search_layout_bytes"]
    tree32.query(X[:200].astype(np.float32), k=3)
    assert 0 < tree32.stats()["search_layout_bytes"] < s["search_layout_bytes"]
    # An update makes a new version, without one; the snapshot keeps its own.
    snap = tree.snapshot()
    tree.insert(X[:10])
    assert tree.stats()["search_layout_built"] is False
    assert snap.stats()["search_layout_built"] is True


def test_large_calls_give_their_memory_back_in_a_child_process():
    """A build's working memory (candidate lists, conflict sets) is returned
    to the system when the call ends: the resident set grows by about the
    tree, not by the build's peak (a 20,000 x 32 fit kept 385 MB)."""
    proc = run_limited(
        """
        import numpy as np
        import pcct
        def rss():
            return int(open("/proc/self/statm").read().split()[1]) * 4096
        X = np.random.default_rng(0).random((20000, 8))
        pcct.NearestNeighbors().fit(X[:10])
        before = rss()
        nn = pcct.NearestNeighbors(n_jobs=2).fit(X)
        grown = rss() - before
        tree = nn.tree_.stats()["bytes"]
        peak_note = f"grew {grown / 2**20:.0f} MB for a tree of {tree / 2**20:.0f} MB"
        assert grown < 2 * tree + 32 * 2**20, peak_note
        print(peak_note)
        """
    )
    assert_ok(proc)


# -- 6. the smaller ones ----------------------------------------------------------------


def test_cosine_accepts_tiny_vectors():
    """[1e-170, 0] is not the zero vector (its squared norm underflows)."""
    X = np.array([[1e-170, 0.0], [0.0, 1e-170], [1e-170, 1e-170], [3.0, 1.0]])
    nn = NearestNeighbors(n_neighbors=4, metric="cosine").fit(X)
    d, i = nn.kneighbors([[1e-170, 0.0]])
    d_ref, i_ref = NearestNeighbors(n_neighbors=4, metric="cosine").fit(X * 1e170).kneighbors([[1.0, 0.0]])
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_allclose(d, d_ref, atol=1e-12)
    with pytest.raises(ValueError, match="zero vector at row 1"):
        NearestNeighbors(metric="cosine").fit([[1.0, 0.0], [0.0, 0.0]])


def _rewrite(raw, edit_header=None, edit_tree=None):
    """A saved file with its JSON header or its encoded tree changed, and
    every checksum made right again (a crafted file, not a damaged one)."""
    hlen = struct.unpack_from("<8sII", raw)[2]
    header = json.loads(raw[16:16 + hlen])
    tree = bytearray(raw[16 + hlen:-4])
    if edit_header:
        edit_header(header)
    if edit_tree:
        edit_tree(tree)
        struct.pack_into("<I", tree, len(tree) - 4, zlib.crc32(tree[:-4]))
    header["tree_bytes"] = len(tree)
    head = json.dumps(header, sort_keys=True).encode()
    data = struct.pack("<8sII", b"PCCTSAVE", 1, len(head)) + head + bytes(tree)
    return data + struct.pack("<I", zlib.crc32(data))


def _saved(est):
    buf = io.BytesIO()
    est.save(buf)
    return buf.getvalue()


def test_a_header_naming_another_metric_is_refused():
    X = np.random.default_rng(8).random((40, 3))
    raw = _saved(NearestNeighbors().fit(X))

    def estimator_says_manhattan(h):
        h["estimator"]["params"]["metric"] = "manhattan"
        h["estimator"]["attributes"]["effective_metric_"] = "manhattan"

    def tree_says_manhattan(h):
        h["tree"]["metric"] = 1

    def effective_metric_says_chebyshev(h):
        h["estimator"]["attributes"]["effective_metric_"] = "chebyshev"

    for edit, match in [(estimator_says_manhattan, "the parameters name metric 'manhattan'"),
                        (tree_says_manhattan, "does not match its saved state"),
                        (effective_metric_says_chebyshev, "effective_metric_ 'chebyshev'")]:
        with pytest.raises(ValueError, match=match):
            pcct.load(io.BytesIO(_rewrite(raw, edit)))
    # A Minkowski power that differs between the header and the tree.
    raw = _saved(NearestNeighbors(metric="minkowski", p=3).fit(X))

    def p4(h):
        h["tree"]["p"] = 4.0
        h["estimator"]["params"]["p"] = 4
        h["estimator"]["attributes"]["effective_metric_params_"]["p"] = 4

    with pytest.raises(ValueError, match="does not match its saved state"):
        pcct.load(io.BytesIO(_rewrite(raw, p4)))
    # The same checks guard unpickling, without Go.
    tree = CoverTree(X)
    buf, state = tree.__reduce__()[1]
    state = dict(state, metric=1)
    with pytest.raises(ValueError, match="does not match its saved state"):
        pcct.tree._restore_tree(buf, state)


@pytest.mark.parametrize("algorithm", ["cover_tree", "brute"])
def test_a_file_claiming_two_billion_ids_in_a_child_process(algorithm):
    """A 1.4 KB file that claims 2^31-1 ids issued (20 held): it loads (the
    ids may have been deleted) but must not keep hundreds of MB: the memory
    held grows by less than 100 MB (450 MB before)."""
    raw = _saved(NearestNeighbors(n_neighbors=2, algorithm=algorithm).fit(
        np.random.default_rng(9).random((20, 3))))
    if algorithm == "cover_tree":
        at = 8 + 4 * 4 + 8 * 3  # magic, version, float size, dim, metric, p, base, seed
    else:
        at = 8 + 4 * 4 + 8  # magic, version, float size, dim, metric, p

    def claim(tree):
        struct.pack_into("<I", tree, at, 2**31 - 1)

    data = _rewrite(raw, edit_tree=claim)
    proc = run_limited(
        f"""
        import io
        import pcct
        def rss():
            return int(open("/proc/self/statm").read().split()[1]) * 4096
        pcct.NearestNeighbors().fit([[0.0], [1.0]])
        before = rss()
        est = pcct.load(io.BytesIO({data!r}))
        assert est.n_ids_ == 2**31 - 1 and est.n_samples_fit_ == 20
        grown = rss() - before
        assert grown < 100 * 2**20, f"grew {{grown / 2**20:.0f}} MB"
        print("ok")
        """,
        limit_bytes=3 * GB,
    )
    assert_ok(proc)


def test_bool_n_neighbors_is_a_type_error():
    nn = NearestNeighbors().fit(np.random.default_rng(10).random((20, 2)))
    for bad in (True, False, np.True_):
        with pytest.raises(TypeError, match="n_neighbors does not take"):
            nn.kneighbors(np.zeros((1, 2)), n_neighbors=bad)


@pytest.mark.parametrize("make", [np.array, list])
def test_number_strings_are_refused(make):
    strings = make([["1.5", "2"], ["3", "4"], ["5", "6"]])
    nn = NearestNeighbors(n_neighbors=1).fit(np.random.default_rng(11).random((5, 2)))
    match = "dtype='numeric' is not compatible with arrays of bytes/strings"
    for call in (lambda: NearestNeighbors().fit(strings), lambda: nn.kneighbors(strings),
                 lambda: nn.insert(strings), lambda: CoverTree(strings),
                 lambda: nn.tree_.query(strings)):
        with pytest.raises(ValueError, match=match):
            call()


def test_radius_that_is_not_a_number_is_refused():
    nn = NearestNeighbors().fit(np.random.default_rng(12).random((20, 2)))
    for bad in ("1.0", b"1", float("nan")):
        with pytest.raises(ValueError, match="radius"):
            nn.radius_neighbors(np.zeros((1, 2)), radius=bad)
        with pytest.raises(ValueError, match="r must be a number|radius == nan"):
            nn.tree_.query_radius(np.zeros((1, 2)), bad)


def test_float32_model_and_a_value_beyond_float32():
    X = np.random.default_rng(13).random((20, 2)).astype(np.float32)
    nn = NearestNeighbors(n_neighbors=1).fit(X)
    msg = (r"X has the value 1e\+39 at row 1, column 0, beyond the range of float32 "
           r"\(\+-3.4e\+38\), the dtype this model holds its points in. Refit on float64 data")
    for call in (lambda: nn.kneighbors([[0.0, 0.0], [1e39, 0.0]]),
                 lambda: nn.insert([[0.0, 0.0], [1e39, 0.0]]),
                 lambda: nn.tree_.query(np.array([[0.0, 0.0], [1e39, 0.0]]))):
        with pytest.raises(ValueError, match=msg):
            call()
    # Within float32's range, float64 queries are converted as before.
    assert nn.kneighbors([[3e38, 0.0]])[1].shape == (1, 1)


# -- 7. graphs after deletions ----------------------------------------------------------


def _deleted(n=300, seed=14):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 2))
    nn = NearestNeighbors(n_neighbors=6, radius=0.15).fit(X)
    gone = rng.choice(n, size=n // 4, replace=False)
    nn.delete(gone)
    return X, nn


def test_live_columns_make_square_graphs_equal_to_a_refit():
    X, nn = _deleted()
    live = nn.ids_
    ref = NearestNeighbors(n_neighbors=6, radius=0.15).fit(X[live])
    for method, kw in [("kneighbors_graph", {"mode": "distance"}),
                       ("radius_neighbors_graph", {"mode": "distance", "sort_results": True})]:
        g = getattr(nn, method)(columns="live", **kw)
        want = getattr(ref, method)(**kw)
        assert g.shape == (len(live), len(live))
        assert (g != want).nnz == 0
        # Query points given: rows are the queries, columns the live points.
        assert getattr(nn, method)(X[:7], columns="live", **kw).shape == (7, len(live))


def test_square_graphs_after_deletions_feed_precomputed_estimators():
    from sklearn.cluster import DBSCAN
    from sklearn.manifold import Isomap
    from sklearn.neighbors import KNeighborsClassifier

    X, nn = _deleted()
    live = nn.ids_
    y = (X[live, 0] > 0.5).astype(int)
    g = nn.kneighbors_graph(mode="distance", columns="live")
    ref = NearestNeighbors(n_neighbors=6).fit(X[live]).kneighbors_graph(mode="distance")
    np.testing.assert_array_equal(DBSCAN(eps=0.1, min_samples=3, metric="precomputed").fit(g).labels_,
                                  DBSCAN(eps=0.1, min_samples=3, metric="precomputed").fit(ref).labels_)
    emb = Isomap(n_neighbors=5, n_components=2, metric="precomputed").fit_transform(g)
    assert emb.shape == (len(live), 2) and np.isfinite(emb).all()
    clf = KNeighborsClassifier(n_neighbors=5, metric="precomputed").fit(g, y)
    assert clf.score(g, y) > 0.8


def test_graphs_after_deletions_warn_unless_the_columns_are_chosen():
    X, nn = _deleted()
    for method in ("kneighbors_graph", "radius_neighbors_graph"):
        with pytest.warns(UserWarning, match=rf"After deletions, {method}\(\) has one row per live "
                                             r"point .* Pass columns='live'"):
            g = getattr(nn, method)()
        assert g.shape == (nn.n_samples_fit_, nn.n_ids_)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert getattr(nn, method)(columns="ids").shape == g.shape
            getattr(nn, method)(X[:3])  # queries given: no warning
        with pytest.raises(ValueError, match="columns must be 'ids' or 'live'"):
            getattr(nn, method)(columns="rows")
