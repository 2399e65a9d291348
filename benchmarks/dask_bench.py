"""pcct.dask on a LocalCluster with 1 and 2 worker processes, against pcct on
one process, and the cost of merging the shards' answers.

    .venv/bin/python benchmarks/dask_bench.py [--datasets letter,manifold2d-32]
        [--n 200000] [--k 10] [--reps 3] [--out benchmarks/results/dask.md]

For each dataset: pcct.NearestNeighbors with n_jobs=1 and 2 (one process),
then pcct.dask.NearestNeighbors on a LocalCluster of 1 worker (1 shard) and
of 2 workers (2 shards), each worker one process with one thread and each
shard n_jobs=1. Every fitted point is queried (numpy in, numpy out: the
time includes sending the queries and gathering the answers), k=10, the best
of --reps calls after a warm-up; and the latency of a one-row query. Every dask answer is checked equal to
pcct's. The merge is timed on its own: the two shards' answers for the
same queries (computed here by two local trees on the two halves), merged
by _merge_kneighbors, best of --reps.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import data  # noqa: E402

import pcct  # noqa: E402
import pcct.dask  # noqa: E402
from pcct.dask import _merge_kneighbors  # noqa: E402


def best(fn, reps):
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run_dataset(name, X, k, reps):
    from distributed import Client, LocalCluster

    Q = X
    rows = []
    ref = None
    for jobs in (1, 2):
        t_fit, nn = timed(lambda: pcct.NearestNeighbors(n_neighbors=k, n_jobs=jobs).fit(X))
        t_q, out = best(lambda: nn.kneighbors(Q), reps)
        ref = out if ref is None else ref
        t_one, _ = best(lambda: nn.kneighbors(Q[:1]), reps)
        rows.append((f"pcct, 1 process, n_jobs={jobs}", t_fit, t_q, t_one))
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                Client(cluster):
            t_fit, nn = timed(lambda: pcct.dask.NearestNeighbors(n_neighbors=k, n_jobs=1).fit(X))
            t_q, out = best(lambda: nn.kneighbors(Q), reps)
            t_one, _ = best(lambda: nn.kneighbors(Q[:1]), reps)
            if not (np.array_equal(out[0], ref[0]) and np.array_equal(out[1], ref[1])):
                raise SystemExit(f"{name}: pcct.dask with {workers} workers differs from pcct")
            rows.append((f"pcct.dask, {workers} worker{'s' if workers > 1 else ''} "
                         f"({nn.n_shards_} shard{'s' if nn.n_shards_ > 1 else ''})", t_fit, t_q, t_one))
    # The merge alone: two shards' answers for every query.
    half = len(X) // 2
    parts = []
    for lo, hi in ((0, half), (half, len(X))):
        d, i = pcct.NearestNeighbors(n_neighbors=k).fit(X[lo:hi]).kneighbors(Q)
        parts.append((d, i + lo))
    t_merge, merged = best(lambda: _merge_kneighbors(k, *parts), reps)
    if not (np.array_equal(merged[0], ref[0]) and np.array_equal(merged[1], ref[1])):
        raise SystemExit(f"{name}: the merge of two halves differs from pcct")
    return rows, t_merge


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="letter,manifold2d-32")
    ap.add_argument("--n", type=int, default=100_000, help="size of the synthetic data")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "dask.md"))
    args = ap.parse_args(argv)

    import dask
    import distributed

    load_before = os.getloadavg()[0]

    lines = [
        "# pcct.dask: 1 and 2 workers, and the merge",
        "",
        f"`benchmarks/dask_bench.py`, {time.strftime('%Y-%m-%d')}: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, dask {dask.__version__}, "
        f"distributed {distributed.__version__}, {pcct.library_version()}. Every fitted point "
        f"queried, k={args.k}, numpy in and out, best of {args.reps} after a warm-up; each "
        "worker is one process with one thread, each shard n_jobs=1. Every pcct.dask answer "
        "was checked equal to pcct's.",
        "",
    ]
    for name in args.datasets.split(","):
        try:
            X, _, _ = data.load(name, args.n)
        except FileNotFoundError as e:
            print(f"{name}: skipped ({e})")
            continue
        X = np.ascontiguousarray(X, dtype=np.float64)
        rows, t_merge = run_dataset(name, X, args.k, args.reps)
        n = len(X)
        base = rows[0][2]
        lines += [
            f"## {name}: {n:,} x {X.shape[1]}",
            "",
            "| configuration | fit s | query s | queries/s | ÷ pcct n_jobs=1 | one-row query ms |",
            "|---|---|---|---|---|---|",
        ]
        for label, t_fit, t_q, t_one in rows:
            lines.append(f"| {label} | {t_fit:.2f} | {t_q:.3f} | {n / t_q:,.0f} | {base / t_q:.2f} "
                         f"| {t_one * 1e3:.2f} |")
        t2 = rows[-1][2]
        lines += [
            "",
            f"Merging two shards' answers ({n:,} queries x 2 x {args.k}): {t_merge * 1e3:.1f} ms, "
            f"{t_merge / n * 1e9:.0f} ns per query, {100 * t_merge / t2:.1f}% of the 2-worker query time.",
            "",
        ]
        print("\n".join(lines[-len(rows) - 6:]))
    lines.append(
        f"Load average of the machine (other work included): {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} CPUs."
    )
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    sys.exit(main())
