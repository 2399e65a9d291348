"""Python threads sharing one fitted estimator: do their queries run in parallel?

    python benchmarks/threads.py              # 20,000 x 8 fitted, 8,000 queries, 4 threads
    python benchmarks/threads.py --threads 8 --queries 16000
    python benchmarks/threads.py --smoke      # seconds: small sizes, answers checked only

pcct releases the GIL for the whole of a search (tests_py/test_concurrency.py
asserts that, without timing: the main thread keeps running Python during a
long query), so queries from several Python threads should run on as many
CPUs at once. Here the same queries, in 16 chunks, are answered by one
thread and by ``--threads`` threads (each call one goroutine, ``n_jobs=1``),
the best of ``--reps`` rounds of each, and the speed-up is printed beside
the control: one call answering all the queries with ``n_jobs=2`` against
``n_jobs=1``, which shows how much of a second CPU this process gets at all
(on a machine shared with other work, often none). The answers of every
threaded round must equal the single thread's. Nothing is asserted about
speed: it used to be a test, and a shared machine made it fail.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def run_threads(n_threads, fn, chunks):
    """Answer fn over the chunks on a pool of n_threads threads, started and
    warmed first; return (results in chunk order, wall seconds)."""
    with ThreadPoolExecutor(n_threads) as ex:
        list(ex.map(fn, chunks[:n_threads]))
        t0 = time.perf_counter()
        results = list(ex.map(fn, chunks))
        return results, time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000, help="points fitted")
    ap.add_argument("--queries", type=int, default=8000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="small sizes, one round, answers checked")
    args = ap.parse_args(argv)
    if args.smoke:
        args.n, args.queries, args.reps = 2000, 800, 1

    from pcct import NearestNeighbors

    rng = np.random.default_rng(30)
    X = rng.random((args.n, 8))
    Q = rng.random((args.queries, 8))
    nn = NearestNeighbors(n_neighbors=10, n_jobs=1).fit(X)
    chunks = np.array_split(Q, 16)

    def query(c):
        return nn.kneighbors(c)[1]

    single, _ = run_threads(1, query, chunks)  # warm-up, and the reference
    t1 = t4 = go1 = go2 = float("inf")
    for _ in range(args.reps):
        _, t = run_threads(1, query, chunks)
        t1 = min(t1, t)
        results, t = run_threads(args.threads, query, chunks)
        t4 = min(t4, t)
        for a, b in zip(results, single):
            np.testing.assert_array_equal(a, b)
        for jobs in (1, 2):
            est = NearestNeighbors(n_neighbors=10, n_jobs=jobs).fit(X)
            t0 = time.perf_counter()
            est.kneighbors(Q)
            t = time.perf_counter() - t0
            if jobs == 1:
                go1 = min(go1, t)
            else:
                go2 = min(go2, t)
    print(f"{os.cpu_count()} CPUs, {args.n:,} x 8 fitted, {args.queries:,} queries in 16 chunks, "
          f"best of {args.reps}")
    print(f"1 thread {t1:.3f} s, {args.threads} threads {t4:.3f} s: {t1 / t4:.2f}x "
          f"(answers equal); control, one call n_jobs=1 {go1:.3f} s, n_jobs=2 {go2:.3f} s: {go1 / go2:.2f}x")


if __name__ == "__main__":
    main()
