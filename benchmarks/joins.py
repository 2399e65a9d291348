"""Dual-tree joins side by side: pcct's CoverTree against scipy's cKDTree on
the calls they share, on the whole of each real dataset, in one run.

    python benchmarks/joins.py                                 # the real sets, T = 2
    python benchmarks/joins.py --datasets bunny,zipcodes --threads 2 --reps 3
    python benchmarks/joins.py --out benchmarks/results/joins.md   # also written there

The calls, each on the dataset against itself:

- ``count_neighbors`` over 12 radii at once (a two-point correlation:
  radii from the median nearest-neighbour distance up, doubling);
- ``query_pairs(r)`` and ``query_ball_tree(self, r)`` with r the median
  distance to the 10th neighbour, and ``sparse_distance_matrix(self, r)``
  as a coo_matrix (each radius times 1.0001, off the data's distances);
- ``query(k=10, distance_upper_bound=r)`` for every point.

Each call is timed ``--reps`` times, pcct and cKDTree interleaved, and the
best time of each is reported with the ratio cKDTree seconds / pcct
seconds (above 1, pcct is faster). pcct runs with ``n_jobs=T``; cKDTree's
query takes ``workers=T``, its joins run on one thread (they take no
thread count). The answers are compared (counts, pairs, distances) and
any difference is printed. Builds are not timed. Nothing is asserted
about speed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

REAL = "letter,pendigits,magic,bunny,zipcodes"


def best_of(reps, calls):
    """Best seconds of each named call, interleaved; and each one's last
    result."""
    best = dict.fromkeys(calls, float("inf"))
    out = {}
    for _ in range(reps):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            out[name] = fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best, out


def compare(op, got, want):
    """'same' or what differs between pcct's and cKDTree's answers."""
    if op == "count_neighbors":
        return "same" if np.array_equal(got, want) else f"counts differ: {got} vs {want}"
    if op == "query_pairs":
        a = {tuple(x) for x in got.tolist()}
        b = {tuple(x) for x in want.tolist()}
        return "same" if a == b else f"{len(a ^ b)} pairs differ"
    if op == "query_ball_tree":
        bad = sum(sorted(w) != g for g, w in zip(got, want))
        return "same" if bad == 0 else f"{bad} rows differ"
    if op == "sparse_distance_matrix":
        if got.nnz != want.nnz:
            return f"{got.nnz} vs {want.nnz} entries"
        diff = np.abs((got.tocsr() - want.tocsr()).data).max(initial=0)
        return "same" if diff <= 1e-9 * max(np.abs(want.data).max(initial=1), 1) else f"distances differ by {diff:g}"
    gd, gi = got
    wd, wi = want
    if not np.allclose(gd, wd, rtol=1e-12, atol=0, equal_nan=True):
        return "distances differ"
    return "same"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=REAL)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", help="also write the results, as markdown, to this file")
    args = ap.parse_args(argv)
    lines = []

    def emit(line=""):
        print(line, flush=True)
        lines.append(line)

    import data
    from scipy.spatial import cKDTree

    import pcct

    T = args.threads
    emit("# CoverTree's joins against scipy's cKDTree")
    emit()
    emit("Written by `benchmarks/joins.py` (`make bench-joins`); see its docstring for what is")
    emit(f"measured. pcct {pcct.__version__}, scipy {__import__('scipy').__version__}.")
    emit()
    emit(f"T = {T} threads for pcct (n_jobs) and cKDTree.query (workers); cKDTree's joins run "
         f"on one thread. Best of {args.reps} interleaved calls, {os.cpu_count()} CPUs, "
         f"load average {os.getloadavg()[0]:.1f} at the start.")
    emit()
    emit("| data (n x d) | call | pairs | pcct s | cKDTree s | cKDTree / pcct | answers |")
    emit("|---|---|---|---|---|---|---|")
    for name in args.datasets.split(","):
        try:
            X, Q, _ = data.load(name)
        except data.Missing as e:
            emit(f"| {name} | skipped: {e} |")
            continue
        X = np.ascontiguousarray(np.vstack([X, Q]))
        n, d = X.shape
        tree, ck = pcct.CoverTree(X, n_jobs=T), cKDTree(X)
        nn1 = ck.query(X, k=2, workers=T)[0][:, 1]
        # Radii a hair off the data's distances (these are medians of
        # them): on a radius itself, cKDTree's squared comparison and
        # pcct's can round differently.
        r1 = float(np.median(nn1[nn1 > 0])) * 1.0001
        r10 = float(np.median(ck.query(X, k=11, workers=T)[0][:, 10])) * 1.0001
        radii = r1 * 2.0 ** np.arange(12)
        calls = {
            "count_neighbors": (lambda: tree.count_neighbors(tree, radii),
                                lambda: ck.count_neighbors(ck, radii)),
            "query_pairs": (lambda: tree.query_pairs(r10, output_type="ndarray"),
                            lambda: ck.query_pairs(r10, output_type="ndarray")),
            "query_ball_tree": (lambda: tree.query_ball_tree(tree, r10),
                                lambda: ck.query_ball_tree(ck, r10)),
            "sparse_distance_matrix": (
                lambda: tree.sparse_distance_matrix(tree, r10, output_type="coo_matrix"),
                lambda: ck.sparse_distance_matrix(ck, r10, output_type="coo_matrix")),
            "query k=10 bound": (lambda: tree.query(X, k=10, distance_upper_bound=r10),
                                 lambda: ck.query(X, k=10, distance_upper_bound=r10, workers=T)),
        }
        for op, (mine, theirs) in calls.items():
            best, out = best_of(args.reps, {"pcct": mine, "cKDTree": theirs})
            got, want = out["pcct"], out["cKDTree"]
            if op == "count_neighbors":
                pairs = f"{int(want[-1]):,} (largest r)"
            elif op == "query_pairs":
                pairs = f"{len(want):,}"
            elif op == "query_ball_tree":
                pairs = f"{sum(len(w) for w in want):,}"
            elif op == "sparse_distance_matrix":
                pairs = f"{want.nnz:,}"
            else:
                pairs = f"{int(np.isfinite(want[0]).sum()):,}"
            emit(f"| {name} {n:,} x {d} | {op} | {pairs} | {best['pcct']:.4f} | "
                 f"{best['cKDTree']:.4f} | {best['cKDTree'] / best['pcct']:.2f} | "
                 f"{compare(op, got, want)} |")
    emit()
    emit(f"Load average {os.getloadavg()[0]:.1f} at the end.")
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
