"""A quick side-by-side: k-NN of every point of a whole dataset, in one run.

    python benchmarks/quick.py                     # letter, k=10, T = usable CPUs
    python benchmarks/quick.py --dataset magic --k 10 --threads 2 --reps 5

pcct (``kneighbors()`` with X=None: the default estimator, which chooses
its index, then each index asked for; the index built is printed), scipy's
cKDTree (``workers=T``; k+1 neighbours of the data, the self match dropped
inside the timed call) and scikit-learn's kd_tree and brute force
(``n_jobs=T``, X=None), through the harness's adapters in peers.py, answer
the same question on
the whole dataset (no held-out split, unlike run.py). Each is built once,
warmed up once, then timed ``--reps`` times; the best time is reported,
with each answer's agreement with pcct's (distances to 1e-9, relative).
Nothing is asserted about speed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _best(fn, reps):
    fn()  # warm-up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="letter")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    T, k = args.threads, args.k
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(T)

    import data
    import peers
    import scipy
    import sklearn

    import pcct

    X, Q, _ = data.load(args.dataset)
    X = np.ascontiguousarray(np.vstack([X, Q]))  # the whole dataset
    n, d = X.shape
    print(f"{args.dataset}: {n:,} x {d}, every point queried, k={k}, T={T} threads, "
          f"best of {args.reps} after a warm-up; {os.cpu_count()} CPUs")
    print(f"pcct {pcct.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}")

    # The harness's own adapters: knn(None, k) is every fitted point's k
    # neighbours among the others (cKDTree's self match dropped in the call).
    rows = []
    for label in ("pcct", "pcct cover_tree", "pcct brute", "scipy cKDTree", "sklearn kd_tree",
                  "sklearn brute"):
        try:
            peer = peers.make(label, T)
        except peers.Unavailable as e:
            print(f"{label}: {e}")
            continue
        t0 = time.perf_counter()
        peer.fit(X)
        build = time.perf_counter() - t0
        sec, (dist, _) = _best(lambda: peer.knn(None, k), args.reps)
        if hasattr(peer, "algorithm_used"):
            label = f"{label} ({peer.algorithm_used()})"
        rows.append((label, build, sec, np.asarray(dist)))
    dp = rows[0][3]

    print(f"{'':32s} {'build s':>9s} {'query s':>9s} {'queries/s':>11s} {'pcct faster':>11s}  agrees with pcct")
    ref = rows[0][2]
    for name, build, sec, dist in rows:
        same = "(itself)" if dist is dp else "yes" if np.allclose(dist, dp, rtol=1e-9, atol=1e-12) else "NO"
        print(f"{name:32s} {build:9.3f} {sec:9.3f} {n / sec:11,.0f} {sec / ref:11.2f}  {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
