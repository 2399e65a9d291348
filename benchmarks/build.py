"""Construction side by side: pcct's fit against scikit-learn's BallTree and
KDTree and scipy's cKDTree, on the whole of each dataset, in one run.

    python benchmarks/build.py                                # the real sets, T = 2
    python benchmarks/build.py --datasets letter,bunny --threads 2 --reps 5
    python benchmarks/build.py --small --threads 1            # small sets, as fitted
    python benchmarks/build.py --stream --threads 1           # updates of a few points
    python benchmarks/build.py --updates --threads 2          # batch updates against refits

Each builder is timed ``--reps`` times, the calls interleaved (pcct,
BallTree, KDTree, cKDTree, pcct, ...) so that a machine shared with other
work slows them alike; the best time of each is reported, with pcct's
distance evaluations per point and its ratios: BallTree seconds / pcct
seconds (above 1, pcct builds faster) and pcct seconds / cKDTree seconds.
pcct runs with ``n_jobs=T``; scikit-learn's and scipy's builds are
single-threaded (they take no thread count). Nothing is asserted about
speed.

``--small`` times instead what a notebook fits: ``NearestNeighbors(n_jobs=T)
.fit(X)`` with the default ``algorithm="auto"`` (its choice included, and
named) and ``CoverTree``, against the same peers, on standard Gaussian
points (100, 1,000, 5,000 and 20,000 of them in 2, 3 and 16 dimensions;
``--sizes``, ``--dims``), best of ``--reps`` (default 20 there).

``--stream`` times updates of a few points at a time, as a stream of them
arrives: ``insert`` of 1 and 10 new points and ``delete`` of 1 and 10 ids,
one call after another on one fitted ``NearestNeighbors(algorithm=
"cover_tree", n_jobs=T)``, over 1,000 and 100,000 Gaussian points in 2
dimensions and 20,000 in 16 (a 3-D Gaussian mapped linearly, with a
little noise: data a tree prunes): the median milliseconds a call of 200.

``--updates`` times batch updates of a fitted ``NearestNeighbors(algorithm=
"cover_tree", n_jobs=T)`` against fitting the points the update ends with
(the rebuild it saves), on each real set's fitted rows (their file's order
kept): inserting a random 10% into the fit of the rest, the last 10% into
the fit of the first 90% (rows sorted by place crowd a region the tree
barely holds), the second half into the fit of the first, and deleting a
random 10% and a random 75% of the ids; the best of ``--reps``, the update
and the refit interleaved, and refit / update (above 1, the update is
cheaper).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

REAL = "letter,pendigits,magic,bunny,zipcodes"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=REAL)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=None, help="default 5, or 20 with --small")
    ap.add_argument("--small", action="store_true", help="small Gaussian sets, fitted as a notebook does")
    ap.add_argument("--sizes", default="100,1000,5000,20000")
    ap.add_argument("--dims", default="2,3,16")
    ap.add_argument("--stream", action="store_true", help="updates of a few points at a time")
    ap.add_argument("--updates", action="store_true", help="batch updates against refits")
    args = ap.parse_args(argv)
    if args.reps is None:
        args.reps = 20 if args.small else 5
    if args.small:
        return small(args)
    if args.stream:
        return stream(args)
    if args.updates:
        return updates(args)

    import data
    from scipy.spatial import cKDTree
    from sklearn.neighbors import BallTree, KDTree

    import pcct

    builders = {
        "pcct": lambda X: pcct.CoverTree(X, n_jobs=args.threads),
        "BallTree": lambda X: BallTree(X),
        "KDTree": lambda X: KDTree(X),
        "cKDTree": lambda X: cKDTree(X),
    }
    print(f"T = {args.threads} threads for pcct, best of {args.reps} interleaved calls, {os.cpu_count()} CPUs")
    print()
    print("| data (n x d) | pcct s | evals/pt | BallTree s | KDTree s | cKDTree s | BallTree / pcct | pcct / cKDTree |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.datasets.split(","):
        try:
            X, Q, _ = data.load(name)
        except data.Missing as e:
            print(f"| {name} | skipped: {e} |")
            continue
        X = np.ascontiguousarray(np.vstack([X, Q]))  # the whole dataset
        best = dict.fromkeys(builders, float("inf"))
        evals = 0.0
        for _ in range(args.reps):
            for peer, build in builders.items():
                t0 = time.perf_counter()
                tree = build(X)
                best[peer] = min(best[peer], time.perf_counter() - t0)
                if peer == "pcct":
                    evals = tree.stats()["build_distance_evaluations"] / len(X)
                del tree
        n, d = X.shape
        print(
            f"| {name} {n:,} x {d} | {best['pcct']:.4f} | {evals:,.0f} | {best['BallTree']:.4f} | "
            f"{best['KDTree']:.4f} | {best['cKDTree']:.4f} | {best['BallTree'] / best['pcct']:.2f} | "
            f"{best['pcct'] / best['cKDTree']:.2f} |"
        )


def small(args):
    """The --small table: fit times of Gaussian sets of each size and
    dimension, best of args.reps interleaved calls."""
    import warnings

    from scipy.spatial import cKDTree
    from sklearn.exceptions import EfficiencyWarning
    from sklearn.neighbors import BallTree, KDTree

    import pcct

    warnings.simplefilter("ignore", EfficiencyWarning)  # CoverTree on 16-D Gaussian points
    chosen = {}

    def auto(X):
        nn = pcct.NearestNeighbors(n_jobs=args.threads).fit(X)
        chosen["auto"] = nn.effective_algorithm_
        return nn

    builders = {
        "auto": auto,
        "CoverTree": lambda X: pcct.CoverTree(X, n_jobs=args.threads),
        "BallTree": lambda X: BallTree(X),
        "KDTree": lambda X: KDTree(X),
        "cKDTree": lambda X: cKDTree(X),
    }
    print(f"T = {args.threads} threads for pcct, best of {args.reps} interleaved calls, {os.cpu_count()} CPUs;"
          " standard Gaussian points; milliseconds")
    print()
    print("| n x d | NearestNeighbors().fit (auto's choice) | CoverTree | BallTree | KDTree | cKDTree | BallTree / fit |")
    print("|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for d in (int(v) for v in args.dims.split(",")):
        for n in (int(v) for v in args.sizes.split(",")):
            X = rng.standard_normal((n, d))
            best = dict.fromkeys(builders, float("inf"))
            for _ in range(args.reps):
                for peer, build in builders.items():
                    t0 = time.perf_counter()
                    out = build(X)
                    best[peer] = min(best[peer], time.perf_counter() - t0)
                    del out
            ms = {k: v * 1e3 for k, v in best.items()}
            print(
                f"| {n:,} x {d} | {ms['auto']:.3f} ({chosen['auto']}) | {ms['CoverTree']:.3f} | "
                f"{ms['BallTree']:.3f} | {ms['KDTree']:.3f} | {ms['cKDTree']:.3f} | "
                f"{best['BallTree'] / best['auto']:.2f} |"
            )


def stream(args):
    """The --stream table: milliseconds a call of insert and delete of a
    few points, the median of 200 calls in a row."""
    import pcct

    print(f"T = {args.threads} threads, NearestNeighbors(algorithm='cover_tree'), "
          "median of 200 calls in a row; milliseconds a call")
    print()
    print("| tree (n x d) | insert 1 | insert 10 | delete 1 | delete 10 |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for n, d in ((1000, 2), (100_000, 2), (20_000, 16)):
        X = rng.standard_normal((n, d))
        if d > 3:
            lift = rng.standard_normal((3, d))
            X = rng.standard_normal((n, 3)) @ lift + 0.01 * X
        nn = pcct.NearestNeighbors(algorithm="cover_tree", n_jobs=args.threads).fit(X)
        new = rng.standard_normal((200 * 11, d))
        if d > 3:
            new = rng.standard_normal((200 * 11, 3)) @ lift + 0.01 * new
        row = [f"{n:,} x {d}"]
        row += _calls(nn.insert, new)
        row += _calls(nn.delete, rng.permutation(nn.ids_)[:200 * 11])  # old and new points
        print("| " + " | ".join(row) + " |")


def updates(args):
    """The --updates table: milliseconds of batch updates and of refitting
    the points each ends with, and their ratio."""
    import data
    from sklearn.exceptions import EfficiencyWarning

    import pcct

    def fit(A):
        # The refit of letter's last quarter warns that its tree prunes
        # little; the table is about the time.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EfficiencyWarning)
            return pcct.NearestNeighbors(algorithm="cover_tree", n_jobs=args.threads).fit(A)

    print(f"T = {args.threads} threads, NearestNeighbors(algorithm='cover_tree'), best of {args.reps}, "
          "update and refit interleaved; milliseconds, refit / update")
    print()
    print("| data (n x d) | insert random 10% | insert last 10% | insert second half | "
          "delete random 10% | delete random 75% |")
    print("|---|---|---|---|---|---|")
    for name in args.datasets.split(","):
        try:
            X = data.load(name)[0]
        except data.Missing as e:
            print(f"| {name} | skipped: {e} |")
            continue
        n, d = X.shape
        m = n // 10
        perm = np.random.default_rng(7).permutation(n)
        held, kept = np.sort(perm[:m]), np.sort(perm[m:])
        cases = [  # (the fit before, the update, the points after)
            (X[kept], lambda nn: nn.insert(X[held]), X),
            (X[:n - m], lambda nn: nn.insert(X[n - m:]), X),
            (X[:n // 2], lambda nn: nn.insert(X[n // 2:]), X),
            (X, lambda nn: nn.delete(perm[:m]), X[kept]),
            (X, lambda nn: nn.delete(perm[:3 * n // 4]), X[np.sort(perm[3 * n // 4:])]),
        ]
        row = [f"{name} {n:,} x {d}"]
        for before, update, after in cases:
            best_update = best_refit = float("inf")
            for _ in range(args.reps):
                nn = fit(before)
                t0 = time.perf_counter()
                update(nn)
                best_update = min(best_update, time.perf_counter() - t0)
                t0 = time.perf_counter()
                fit(after)
                best_refit = min(best_refit, time.perf_counter() - t0)
            row.append(f"{best_update * 1e3:.1f} ({best_refit / best_update:.2f})")
        print("| " + " | ".join(row) + " |")


def _calls(update, rows):
    """The median milliseconds of 200 calls of update on 1, then 200 on 10
    consecutive entries of rows, formatted."""
    out, at = [], 0
    for m in (1, 10):
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            update(rows[at:at + m])
            times.append(time.perf_counter() - t0)
            at += m
        out.append(f"{np.median(times) * 1e3:.3f}")
    return out


if __name__ == "__main__":
    main()
