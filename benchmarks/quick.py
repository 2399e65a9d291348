"""A quick side-by-side: k-NN of every point of a whole dataset, in one run.

    python benchmarks/quick.py                     # letter, k=10, T = usable CPUs
    python benchmarks/quick.py --dataset magic --k 10 --threads 2 --reps 5

pcct (``kneighbors()`` with X=None), scipy's cKDTree (``workers=T``; k+1
neighbours of the data, the self match dropped inside the timed call) and
scikit-learn's kd_tree (``n_jobs=T``, X=None) answer the same question on
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
    import scipy
    import sklearn
    from scipy.spatial import cKDTree
    from sklearn.neighbors import NearestNeighbors as SkNN

    import pcct

    X, Q, _ = data.load(args.dataset)
    X = np.ascontiguousarray(np.vstack([X, Q]))  # the whole dataset
    n, d = X.shape
    print(f"{args.dataset}: {n:,} x {d}, every point queried, k={k}, T={T} threads, "
          f"best of {args.reps} after a warm-up; {os.cpu_count()} CPUs")
    print(f"pcct {pcct.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}")

    rows = []
    t0 = time.perf_counter()
    nn = pcct.NearestNeighbors(n_neighbors=k, n_jobs=T).fit(X)
    build = time.perf_counter() - t0
    sec, (dp, ip) = _best(lambda: nn.kneighbors(), args.reps)
    rows.append(("pcct (depth_first)", build, sec, dp, ip))

    t0 = time.perf_counter()
    kd = cKDTree(X)
    build = time.perf_counter() - t0

    def ckd():
        dist, ind = kd.query(X, k=k + 1, workers=T)
        # drop each point's own match (for a duplicate it may not come first)
        self_at = ind == np.arange(n)[:, None]
        first = np.where(self_at.any(axis=1), self_at.argmax(axis=1), k)
        keep = np.ones_like(self_at)
        keep[np.arange(n), first] = False
        return dist[keep].reshape(n, k), ind[keep].reshape(n, k)

    sec, (dc, ic) = _best(ckd, args.reps)
    rows.append((f"scipy cKDTree (workers={T})", build, sec, dc, ic))

    t0 = time.perf_counter()
    sk = SkNN(n_neighbors=k, algorithm="kd_tree", n_jobs=T).fit(X)
    build = time.perf_counter() - t0
    sec, (ds, is_) = _best(lambda: sk.kneighbors(), args.reps)
    rows.append((f"sklearn kd_tree (n_jobs={T})", build, sec, ds, is_))

    print(f"{'':32s} {'build s':>9s} {'query s':>9s} {'queries/s':>11s} {'pcct faster':>11s}  agrees with pcct")
    ref = rows[0][2]
    for name, build, sec, dist, _ in rows:
        same = np.allclose(dist, dp, rtol=1e-9, atol=1e-12)
        print(f"{name:32s} {build:9.3f} {sec:9.3f} {n / sec:11,.0f} {sec / ref:11.2f}  {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
