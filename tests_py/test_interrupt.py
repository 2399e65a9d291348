"""Ctrl-C and progress: long calls into Go run in a worker thread with a pair
of control words (work done, stop request); the calling thread waits in
short intervals, so KeyboardInterrupt lands within a fraction of a second,
stops Go, and leaves the estimator as it was."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import _thread

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import pcct
from pcct import CoverTree, NearestNeighbors, _lib, _run
from pcct._handle import ptr as _ptr

posix_only = pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")


def _join_pcct_workers(timeout=120):
    """Wait for workers left running after an interrupt (Go stops them at
    its next check of the stop word), so later tests get the CPUs."""
    for t in threading.enumerate():
        if t.name.startswith("pcct ") and t is not threading.current_thread():
            t.join(timeout)


class _InterruptAfter:
    """Raise KeyboardInterrupt in the main thread after `delay` seconds, as
    Ctrl-C does (``_thread.interrupt_main`` trips the SIGINT handler)."""

    def __init__(self, delay):
        self.timer = threading.Timer(delay, _thread.interrupt_main)

    def __enter__(self):
        self.start = time.monotonic()
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        self.timer.join()
        self.elapsed = time.monotonic() - self.start
        return False


# -- in a child process, with a real SIGINT -----------------------------------

_CHILD = textwrap.dedent(
    """
    import signal, sys, time
    import numpy as np
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from pcct import NearestNeighbors
    rng = np.random.default_rng(0)
    what = sys.argv[1]
    if what == "kneighbors":
        nn = NearestNeighbors(n_neighbors=10).fit(rng.random((20000, 8)))
        Q = rng.random((2_000_000, 8))  # minutes of work
        call = lambda: nn.kneighbors(Q)
    elif what == "radius":
        nn = NearestNeighbors(radius=0.2).fit(rng.random((20000, 8)))
        Q = rng.random((2_000_000, 8))
        call = lambda: nn.radius_neighbors(Q)
    elif what == "fit":
        X = rng.random((400_000, 8))  # a minute or more (brute force would take a second)
        call = lambda: NearestNeighbors(algorithm="cover_tree").fit(X)
    elif what == "insert":
        nn = NearestNeighbors(algorithm="cover_tree").fit(rng.random((2000, 8)))
        X = rng.random((400_000, 8))
        call = lambda: nn.insert(X)
    print("start", flush=True)
    try:
        call()
    except KeyboardInterrupt:
        print("interrupted %.6f" % time.time(), flush=True)
        raise  # the process ends with KeyboardInterrupt
    print("finished", flush=True)
    """
)


@posix_only
@pytest.mark.parametrize("what", ["kneighbors", "radius", "fit", "insert"])
def test_sigint_stops_a_long_call_in_a_child_process(what):
    """A child busy in a long call gets one SIGINT; it raises
    KeyboardInterrupt within a second and exits. The parent measures the
    time from the signal to the KeyboardInterrupt and to the exit."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, what],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "start", proc.stderr.read()
        time.sleep(1.0)  # well inside the call
        sent = time.time()
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        to_exit = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.startswith("interrupted"), (out, err)
    assert "KeyboardInterrupt" in err
    assert proc.returncode in (-signal.SIGINT, 128 + signal.SIGINT, 1), proc.returncode
    to_interrupt = float(out.split()[1]) - sent
    print(f"{what}: KeyboardInterrupt {to_interrupt:.3f} s after SIGINT, exit after {to_exit:.3f} s")
    assert to_interrupt < 1.0, to_interrupt
    # The exit itself (interpreter shutdown, scikit-learn's thread pools)
    # takes a few tenths of a second more.
    assert to_exit < 3.0, to_exit


# -- in this process -------------------------------------------------------------


def test_interrupted_query_stops_soon_and_changes_nothing():
    rng = np.random.default_rng(0)
    X = rng.random((20000, 8))
    nn = NearestNeighbors(n_neighbors=5).fit(X)
    before = nn.kneighbors(X[:50])
    Q = rng.random((2_000_000, 8))
    with _InterruptAfter(0.3) as t:
        with pytest.raises(KeyboardInterrupt):
            nn.kneighbors(Q)
    assert t.elapsed < 1.5, t.elapsed
    _join_pcct_workers()
    after = nn.kneighbors(X[:50])
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])


def test_interrupted_insert_makes_no_version_and_issues_no_ids():
    rng = np.random.default_rng(1)
    X = rng.random((3000, 8))
    nn = NearestNeighbors(n_neighbors=4, algorithm="cover_tree").fit(X)  # a brute-force insert is quick
    version = nn.tree_._version
    before = nn.kneighbors(X[:40])
    with _InterruptAfter(0.3) as t:
        with pytest.raises(KeyboardInterrupt):
            nn.insert(rng.random((400_000, 8)))
    assert t.elapsed < 1.5, t.elapsed
    assert nn.tree_._version is version
    assert nn.n_samples_fit_ == 3000 and nn.n_ids_ == 3000
    for a, b in zip(before, nn.kneighbors(X[:40])):
        np.testing.assert_array_equal(a, b)
    _join_pcct_workers()
    # The stopped insertion used up no ids.
    assert nn.insert(X[:2]).tolist() == [3000, 3001]


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_interrupted_fit_leaves_the_estimator_as_it_was(n_jobs):
    # n_jobs=2: the build runs on a goroutine of its own (capi's offCaller) on
    # a machine of two CPUs or more.
    rng = np.random.default_rng(2)
    # A cover tree's build is long enough to interrupt (brute force needs none).
    nn = NearestNeighbors(n_neighbors=3, algorithm="cover_tree", n_jobs=n_jobs).fit(rng.random((50, 3)))
    tree = nn.tree_
    with _InterruptAfter(0.3) as t:
        with pytest.raises(KeyboardInterrupt):
            nn.fit(rng.random((400_000, 5)))
    assert t.elapsed < 1.5, t.elapsed
    assert nn.tree_ is tree and nn.n_features_in_ == 3 and nn.n_samples_fit_ == 50
    assert nn.kneighbors(rng.random((2, 3)))[1].shape == (2, 3)
    fresh = NearestNeighbors(algorithm="cover_tree", n_jobs=n_jobs)
    with _InterruptAfter(0.3):
        with pytest.raises(KeyboardInterrupt):
            fresh.fit(rng.random((400_000, 5)))
    with pytest.raises(NotFittedError):
        fresh.kneighbors(rng.random((2, 5)))
    assert not hasattr(fresh, "n_features_in_")
    _join_pcct_workers()


def test_failed_refit_keeps_the_fitted_attributes(monkeypatch):
    """A fit that fails in Go (a zero vector under cosine, let past the
    Python check) leaves a fitted estimator consistent: n_features_in_
    still matches its tree."""
    import pcct._base

    nn = NearestNeighbors(metric="cosine", n_neighbors=1).fit(np.eye(3))
    monkeypatch.setattr(pcct._base, "check_metric_domain", lambda code, X: None)
    with pytest.raises(ValueError, match="point 0 is the zero vector"):
        nn.fit(np.zeros((4, 5)))
    assert nn.n_features_in_ == 3 and nn.tree_.n_features == 3
    assert nn.kneighbors([[1.0, 0.1, 0.0]])[1].tolist() == [[0]]


# -- the control words, straight through the C ABI ----------------------------


def _control(stop=False):
    words = (ctypes.c_int64 * 2)()
    words[1] = int(stop)
    return words, ctypes.addressof(words)


def test_control_words_count_work_across_calls():
    lib = _lib.lib()
    rng = np.random.default_rng(3)
    X = rng.random((500, 3))
    words, ctl = _control()
    h = _lib.c_uintptr(0)
    _lib.check(lib.pcct_tree_build(_ptr(X), 1, 500, 3, 0, 2.0, 0, 2, ctl, ctypes.byref(h)))
    version = pcct._handle.TreeVersion(h.value)
    assert words[0] == 500  # points inserted by the build
    Q = rng.random((300, 3))
    dist = np.empty((300, 4))
    ind = np.empty((300, 4), dtype=np.int64)
    words[0] = 0
    for _ in range(2):  # one pair of words counts across calls
        _lib.check(lib.pcct_kneighbors(version.handle, _ptr(Q), 300, 3, 4, 2, 0, ctl,
                                       _ptr(dist), _ptr(ind)))
    assert words[0] == 600
    counts = np.empty(300, dtype=np.int64)
    result, total = _lib.c_uintptr(0), ctypes.c_int64(0)
    _lib.check(lib.pcct_radius(version.handle, _ptr(Q), 300, 3, 0.1, 0, 2, ctl, 0, _ptr(counts),
                               ctypes.byref(result), ctypes.byref(total)))
    _lib.free_result(result.value)
    assert words[0] == 900
    words[0] = 0
    out, first = _lib.c_uintptr(0), ctypes.c_int64(0)
    _lib.check(lib.pcct_tree_insert(version.handle, _ptr(Q), 300, 3, 2, ctl, ctypes.byref(out),
                                    ctypes.byref(first)))
    v2 = pcct._handle.TreeVersion(out.value)
    assert words[0] == 300 and first.value == 500
    ids = np.arange(0, 800, 4, dtype=np.int64)
    _lib.check(lib.pcct_tree_delete(v2.handle, _ptr(ids), ids.size, 2, ctl, ctypes.byref(out)))
    pcct._handle.TreeVersion(out.value)
    assert words[0] == 300 + ids.size


@pytest.mark.parametrize("n, jobs", [(300, 1), (5000, 2)])
def test_a_set_stop_word_fails_every_long_call_with_kind_stopped(n, jobs):
    """control[1] != 0 stops the call: error kind 4 (StoppedError), and a
    stopped build, insertion or deletion makes no new version (5,000 points
    on two jobs: builds and updates on a goroutine of their own, where the
    machine has two CPUs or more)."""
    lib = _lib.lib()
    rng = np.random.default_rng(4)
    X = rng.random((n, 3))
    tree = CoverTree(X)
    h = tree._version.handle
    words, ctl = _control(stop=True)
    out = _lib.c_uintptr(0)
    with pytest.raises(_lib.StoppedError, match="stopped"):
        _lib.check(lib.pcct_tree_build(_ptr(X), 1, n, 3, 0, 2.0, 0, jobs, ctl, ctypes.byref(out)))
    assert out.value == 0
    first = ctypes.c_int64(-7)
    with pytest.raises(_lib.StoppedError):
        _lib.check(lib.pcct_tree_insert(h, _ptr(X), n, 3, jobs, ctl, ctypes.byref(out),
                                        ctypes.byref(first)))
    assert out.value == 0 and first.value == -7
    ids = np.arange(5 if jobs == 1 else 4500, dtype=np.int64)
    with pytest.raises(_lib.StoppedError):
        _lib.check(lib.pcct_tree_delete(h, _ptr(ids), ids.size, jobs, ctl, ctypes.byref(out)))
    assert out.value == 0
    dist = np.empty((300, 2))
    ind = np.empty((300, 2), dtype=np.int64)
    with pytest.raises(_lib.StoppedError):
        _lib.check(lib.pcct_kneighbors(h, _ptr(X), 300, 3, 2, 1, 0, ctl, _ptr(dist), _ptr(ind)))
    with pytest.raises(_lib.StoppedError):
        _lib.check(lib.pcct_kneighbors_fitted(h, 0, 300, 2, 1, 0, ctl, _ptr(dist), _ptr(ind)))
    counts = np.empty(300, dtype=np.int64)
    result, total = _lib.c_uintptr(0), ctypes.c_int64(0)
    with pytest.raises(_lib.StoppedError):
        _lib.check(lib.pcct_radius(h, _ptr(X), 300, 3, 0.1, 0, 1, ctl, 0, _ptr(counts),
                                   ctypes.byref(result), ctypes.byref(total)))
    assert words[0] == 0  # nothing was done
    assert issubclass(_lib.StoppedError, RuntimeError)
    # The tree is unchanged and still answers.
    assert tree.n_samples == n and tree.query(X[:3], k=1)[1].ravel().tolist() == [0, 1, 2]


# -- the runner itself ------------------------------------------------------------


def _fake_go(control, units=10_000, step=0.001, honour_stop=True):
    """A stand-in for a Go call: counts work in control[0], polls control[1]."""
    words = (ctypes.c_int64 * 2).from_address(control)
    for _ in range(units):
        if honour_stop and words[1]:
            raise _lib.StoppedError("stopped")
        words[0] += 1
        time.sleep(step)
    return "done"


def test_run_stops_the_worker_and_reraises_keyboard_interrupt():
    seen = {}

    def work(control):
        seen["control"] = control
        seen["words"] = (ctypes.c_int64 * 2).from_address(control)
        return _fake_go(control)

    with _InterruptAfter(0.2) as t:
        with pytest.raises(KeyboardInterrupt):
            _run.run(work, total=10_000, desc="test", unit="units")
    assert t.elapsed < 1.0
    assert seen["control"] is not None


def test_run_gives_up_waiting_after_the_grace_period():
    """Go may take a while to reach its next check of the stop word (a
    build checks between insertion batches): KeyboardInterrupt is raised
    after STOP_GRACE_SECONDS all the same, and the worker ends on its own."""
    finished = threading.Event()

    def work(control):
        try:
            return _fake_go(control, units=300, step=0.01, honour_stop=False)  # ~3 s
        finally:
            finished.set()

    with _InterruptAfter(0.2) as t:
        with pytest.raises(KeyboardInterrupt):
            _run.run(work, total=300, desc="test", unit="units")
    assert t.elapsed < 0.2 + _run.STOP_GRACE_SECONDS + 0.5, t.elapsed
    assert not finished.is_set()
    assert finished.wait(30)


def test_run_passes_errors_and_results_through():
    assert _run.run(lambda c: ("ok", c is not None), total=1, desc="t", unit="u") == ("ok", True)

    def fail(control):
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        _run.run(fail, total=1, desc="t", unit="u")


def test_small_calls_and_other_threads_go_direct():
    """No thread (control None) for a call below the work threshold, nor in a
    thread other than the main one, unless progress is wanted."""
    assert _run.run(lambda c: c, total=1, desc="t", unit="u", cost=10) is None
    assert _run.run(lambda c: c, total=1, desc="t", unit="u", cost=_run.THREAD_WORK) is not None
    assert _run.run(lambda c: c, total=1, desc="t", unit="u", cost=10, verbose=True) is not None
    got = []
    t = threading.Thread(target=lambda: got.append(
        _run.run(lambda c: c, total=1, desc="t", unit="u", cost=1e12)))
    t.start()
    t.join()
    assert got == [None]


def test_thread_round_trip_is_cheap():
    """The worker thread costs well under a millisecond per call, which is
    what the direct-call threshold (THREAD_WORK) is chosen against."""
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        _run.run(lambda c: None, total=1, desc="t", unit="u")
    per_call = (time.perf_counter() - t0) / n
    print(f"thread round trip: {per_call * 1e6:.0f} us")
    assert per_call < 0.01  # generous: about 0.1-0.2 ms on an idle machine


# -- progress --------------------------------------------------------------------


def test_verbose_shows_a_tqdm_bar(capsys):
    pytest.importorskip("tqdm")
    rng = np.random.default_rng(5)
    X = rng.random((3000, 4))
    nn = NearestNeighbors(n_neighbors=3, verbose=True).fit(X)
    nn.kneighbors(X[:1000])
    nn.insert(X[:10] + 5)
    nn.delete([0, 1])
    nn.radius_neighbors(X[:100], radius=0.1)
    err = capsys.readouterr().err
    for label in ("pcct fit", "pcct kneighbors", "pcct insert", "pcct delete",
                  "pcct radius_neighbors"):
        assert label in err, err
    assert "100%" in err
    # Off by default: nothing written.
    NearestNeighbors(n_neighbors=3).fit(X).kneighbors(X[:1000])
    assert capsys.readouterr().err == ""


def test_verbose_without_tqdm_writes_a_plain_line(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    X = np.random.default_rng(6).random((2000, 3))
    tree = CoverTree(X, verbose=True)
    tree.query(X[:1500], k=2)
    err = capsys.readouterr().err
    assert "pcct fit: 2,000/2,000 points (100%)" in err, err
    assert "pcct kneighbors: 1,500/1,500 queries (100%)" in err, err


def test_progress_follows_the_work_done(monkeypatch):
    """The waiting thread feeds the bar from control[0] while Go works."""
    updates = []

    class Recorder:
        def __init__(self, total, desc, unit):
            self.total = total

        def update_to(self, n):
            updates.append(n)

        def close(self, n=None):
            updates.append(("close", n))

    monkeypatch.setattr(_run, "_Bar", Recorder)
    _run.run(lambda c: _fake_go(c, units=100, step=0.005), total=100, desc="t", unit="u",
             verbose=True)
    assert updates[-1] == ("close", 100)
    seen = [u for u in updates[:-1]]
    assert seen == sorted(seen) and len(set(seen)) > 1  # it moved while running
