"""Construction side by side: pcct's fit against scikit-learn's BallTree and
KDTree and scipy's cKDTree, on the whole of each dataset, in one run.

    python benchmarks/build.py                                # the real sets, T = 2
    python benchmarks/build.py --datasets letter,bunny --threads 2 --reps 5

Each builder is timed ``--reps`` times, the calls interleaved (pcct,
BallTree, KDTree, cKDTree, pcct, ...) so that a machine shared with other
work slows them alike; the best time of each is reported, with pcct's
distance evaluations per point and its ratios: BallTree seconds / pcct
seconds (above 1, pcct builds faster) and pcct seconds / cKDTree seconds.
pcct runs with ``n_jobs=T``; scikit-learn's and scipy's builds are
single-threaded (they take no thread count). Nothing is asserted about
speed.
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=REAL)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)

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


if __name__ == "__main__":
    main()
