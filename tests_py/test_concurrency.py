"""Threads and processes: many Python threads share one fitted estimator
(queries release the GIL, so they run in parallel); a forked child is
refused (test_errors.py); spawn and joblib's loky workers work."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

import numpy as np
import pytest

import mp_workers
from pcct import NearestNeighbors

rng = np.random.default_rng(30)


@pytest.fixture(scope="module")
def fitted():
    X = rng.random((20000, 8))
    return NearestNeighbors(n_neighbors=10, radius=0.15).fit(X), X


def _run_threads(n_threads, fn, chunks):
    """Run fn over the chunks on n_threads threads started together; return
    (results in chunk order, wall seconds)."""
    results = [None] * len(chunks)
    barrier = threading.Barrier(n_threads + 1)
    errors = []

    def worker(idx):
        barrier.wait()
        try:
            for i in idx:
                results[i] = fn(chunks[i])
        except BaseException as e:  # reported in the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(list(range(t, len(chunks), n_threads)),))
               for t in range(n_threads)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return results, elapsed


def test_many_threads_get_correct_answers(fitted):
    nn, X = fitted
    Q = rng.random((3000, 8))
    chunks = np.array_split(Q, 24)
    expected_k = [nn.kneighbors(c) for c in chunks]
    expected_r = [nn.radius_neighbors(c, sort_results=True) for c in chunks]

    def both(c):
        return nn.kneighbors(c), nn.radius_neighbors(c, sort_results=True)

    results, _ = _run_threads(8, both, chunks)
    for (k, r), ek, er in zip(results, expected_k, expected_r):
        np.testing.assert_array_equal(k[0], ek[0])
        np.testing.assert_array_equal(k[1], ek[1])
        for a, b in zip(r[1], er[1]):
            np.testing.assert_array_equal(a, b)


def test_queries_release_the_gil(fitted):
    """While one thread is in a long Go call, the main thread keeps running
    Python code: the longest pause between two of its loop iterations is a
    small part of the call. (Were the GIL held, as with ctypes.PyDLL, the
    main thread would stop for the whole call.) Unlike a speed-up, this
    holds on a loaded machine."""
    nn, X = fitted
    Q = rng.random((12000, 8))
    span = {}

    def call():
        span["start"] = time.perf_counter()
        nn.kneighbors(Q)
        span["end"] = time.perf_counter()

    t = threading.Thread(target=call)
    stamps = []
    t.start()
    while t.is_alive():
        stamps.append(time.perf_counter())
        sum(range(100))
    t.join()
    s = np.array(stamps)
    s = s[(s > span["start"]) & (s < span["end"])]
    duration = span["end"] - span["start"]
    longest = np.diff(s).max() if s.size > 1 else duration
    print(f"call {duration:.3f} s; longest pause of the main thread {longest * 1000:.1f} ms")
    assert s.size > 100
    assert longest < 0.5 * duration, (longest, duration)


def test_spawned_processes_use_pcct(fitted):
    """With the 'spawn' start method, workers start their own Go runtime: a
    pickled estimator answers there as here, and a worker can fit."""
    nn, X = fitted
    Q = rng.random((200, 8))
    expected = nn.kneighbors(Q, n_neighbors=4)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        (got, pid), = pool.starmap(mp_workers.query, [(nn, Q, 4)])
        fitted_there = pool.starmap(mp_workers.fit_and_query, [(1, 3), (2, 3)])
    assert pid != os.getpid()
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    for seed, ((d, i), _) in zip((1, 2), fitted_there):
        (d_here, i_here), _ = mp_workers.fit_and_query(seed, 3)
        np.testing.assert_array_equal(i, i_here)


def test_joblib_loky_workers_use_pcct(fitted):
    joblib = pytest.importorskip("joblib")
    nn, X = fitted
    Q = rng.random((400, 8))
    chunks = np.array_split(Q, 4)
    out = joblib.Parallel(n_jobs=2, backend="loky")(
        joblib.delayed(mp_workers.query)(nn, c, 5) for c in chunks
    )
    assert all(pid != os.getpid() for _, pid in out)
    ind = np.vstack([r[1] for r, _ in out])
    np.testing.assert_array_equal(ind, nn.kneighbors(Q, n_neighbors=5)[1])


def test_threads_update_and_query_one_estimator():
    """Insertions from one thread while others query: every answer is the
    answer of some version, and the final state holds every insertion."""
    X = rng.random((3000, 3))
    nn = NearestNeighbors(n_neighbors=3).fit(X)
    new = [rng.random((100, 3)) for _ in range(10)]
    stop = threading.Event()
    problems = []

    def reader():
        while not stop.is_set():
            d, i = nn.kneighbors(X[:50])
            if not (np.all(np.diff(d, axis=1) >= 0) and i.max() < 4000):
                problems.append((d, i))

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    ids = [nn.insert(b) for b in new]
    stop.set()
    for t in readers:
        t.join()
    assert not problems
    assert np.concatenate(ids).tolist() == list(range(3000, 4000))
    assert nn.n_samples_fit_ == 4000
