"""pcct against scikit-learn on high-dimensional data, in one process.

    python benchmarks/highdim.py                 # digits, clusters-784, uniform-784; T=2
    python benchmarks/highdim.py --datasets digits --dtypes float32 --reps 5
    python benchmarks/highdim.py --smoke         # seconds: small sizes, exactness only
    python benchmarks/highdim.py --datasets fashion-mnist   # where it is installed

The question of issue 13's high-dimensional row: k nearest neighbours
(k=10) of held-out rows and of every fitted point (X=None), asked of
pcct's default estimator (``algorithm="auto"``: the index it built is
printed), scikit-learn's ``algorithm="brute"`` (BLAS) and its ball tree,
in float32 and float64, at the same thread count (pcct ``n_jobs`` and
GOMAXPROCS, scikit-learn ``n_jobs``, BLAS and OpenMP pools limited by
threadpoolctl). Each round asks every peer in turn in this one process;
the best of ``--reps`` rounds (after a warm-up) is kept, as wall-clock
and as the process's CPU time (user and system, all threads), in
microseconds a query.

Data, none of it stored: scikit-learn's bundled digits (1,797 x 64, a
random 10% held out, as run.py splits it), and two synthetic sets of
``--n`` points plus ``--queries`` fresh queries in 784 dimensions (Fashion-
MNIST's shape): ``clusters-784``, 30 Gaussian clusters in 20 dimensions
mapped into 784 by a random linear map, plus noise (low intrinsic
dimension), and ``uniform-784``, uniform in the unit cube. The all-points
question is asked of the first ``--all-n`` points (every one of them
queried against the others). ``--datasets fashion-mnist`` asks it of the
real Fashion-MNIST where it is installed (benchmarks/data.py: the Debian
package ``dataset-fashion-mnist``, or ``PCCT_FASHION_MNIST``): its 60,000
training images fitted, the first ``--queries`` test images held out.

The ball tree answers in 784 dimensions about as slowly as a scan in
Cython, so it is asked only the first ``--tree-queries`` queries (for all
points: those rows with k+1 neighbours, the self match dropped); its time
is still per query. pcct's answers are checked against float64 brute
force (benchmarks/reference.py) on a sample of rows; scikit-learn's too,
to the tolerance of their dtype. Nothing is asserted about speed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

DATASETS = ["digits", "clusters-784", "uniform-784"]
CHECK_ROWS = 200  # rows of each answer checked against brute force


def clusters784(n, nq, seed=13):
    """30 Gaussian clusters in 20-D mapped into 784-D, plus noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(30, 20))
    lab = rng.integers(0, 30, size=n + nq)
    z = centres[lab] + rng.normal(size=(n + nq, 20))
    A = rng.normal(size=(20, 784)) / np.sqrt(20)
    X = z @ A + 0.05 * rng.normal(size=(n + nq, 784))
    return X[:n], X[n:]


def uniform784(n, nq, seed=14):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n + nq, 784))
    return X[:n], X[n:]


def load(name, n, nq):
    if name == "digits":
        import data

        X, Q, _ = data.digits()
        return X, Q
    if name == "fashion-mnist":
        import data

        X, Q, _ = data.fashion_mnist()  # the test images held out
        return X, Q[:nq]
    if name == "clusters-784":
        return clusters784(n, nq)
    if name == "uniform-784":
        return uniform784(n, nq)
    raise SystemExit(f"unknown dataset {name!r} (known: {', '.join(DATASETS + ['fashion-mnist'])})")


class Peer:
    """One estimator and the queries it is asked."""

    def __init__(self, label, make, tree_queries):
        self.label, self.make, self.cap = label, make, tree_queries

    def fit(self, X):
        self.X = X
        t0 = time.perf_counter()
        self.nn = self.make().fit(X)
        self.fit_s = time.perf_counter() - t0

    def rows(self, P):
        """The number of queries this peer is asked of P (None: all points)."""
        n = len(self.X) if P is None else len(P)
        return n if self.cap is None else min(n, self.cap)

    def knn(self, P, k):
        if self.cap is None:
            return self.nn.kneighbors(P, k)
        m = self.rows(P)
        if P is not None:
            return self.nn.kneighbors(P[:m], k)
        import peers

        d, i = self.nn.kneighbors(self.X[:m], k + 1)
        return peers.drop_self(d, i, k)


def make_peers(threads, tree_queries):
    from sklearn.neighbors import NearestNeighbors

    import pcct

    return [
        Peer("pcct", lambda: pcct.NearestNeighbors(n_jobs=threads), None),
        Peer("sklearn brute", lambda: NearestNeighbors(algorithm="brute", n_jobs=threads), None),
        Peer("sklearn ball_tree", lambda: NearestNeighbors(algorithm="ball_tree", n_jobs=threads),
             tree_queries),
    ]


def check(peer, P, k, dtype, rng):
    """Check a sample of the peer's answer rows against float64 brute force."""
    import reference

    d, i = peer.knn(P, k)
    m = len(d)
    rows = np.sort(rng.choice(m, size=min(m, CHECK_ROWS), replace=False))
    X = peer.X.astype(np.float64)
    if P is None:
        Qs, self_idx = X[rows], rows
    else:
        Qs, self_idx = P[rows].astype(np.float64), None
    ref_d2, _ = reference.topk(X, Qs, k, self_idx)
    ok, msg = reference.check_knn(X, Qs, np.asarray(d)[rows], np.asarray(i)[rows], ref_d2, dtype, self_idx)
    return ok, msg


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--modes", default="heldout,all")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--n", type=int, default=60_000, help="fitted points of the synthetic sets")
    ap.add_argument("--queries", type=int, default=2_000, help="held-out queries of the synthetic sets")
    ap.add_argument("--all-n", type=int, default=20_000, help="points of the all-points question")
    ap.add_argument("--tree-queries", type=int, default=100, help="queries asked of the ball tree")
    ap.add_argument("--smoke", action="store_true", help="small sizes, one round, exactness asserted")
    args = ap.parse_args(argv)
    if args.smoke:
        args.n, args.queries, args.all_n, args.tree_queries, args.reps = 3000, 200, 1000, 50, 1
    # Go reads GOMAXPROCS when the library loads; BLAS its variables when
    # it loads.
    t = str(args.threads)
    os.environ.update(GOMAXPROCS=t, OMP_NUM_THREADS=t, OPENBLAS_NUM_THREADS=t, MKL_NUM_THREADS=t)
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    peers = make_peers(args.threads, args.tree_queries)
    rng = np.random.default_rng(0)
    failed = []
    print(f"threads={args.threads} k={args.k} best of {args.reps} rounds after a warm-up; "
          f"synthetic n={args.n} + {args.queries} queries, all points of the first {args.all_n}, "
          f"ball tree asked {args.tree_queries} queries")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the start")
    print(f"{'dataset':13} {'dtype':7} {'mode':8} {'peer':18} {'index':10} {'fit s':>7} "
          f"{'us/query':>9} {'us CPU/q':>9} {'brute/pcct':>10} {'tree/pcct':>9}  check")
    for name in args.datasets.split(","):
        X0, Q0 = load(name, args.n, args.queries)
        for dt in args.dtypes.split(","):
            dtype = np.dtype(dt)
            X, Q = np.ascontiguousarray(X0, dtype=dtype), np.ascontiguousarray(Q0, dtype=dtype)
            for mode in args.modes.split(","):
                Xf, P = (X, Q) if mode == "heldout" else (X[: args.all_n], None)
                for p in peers:
                    p.fit(Xf)
                checks = {}
                for p in peers:  # the warm-up, and the answers checked
                    ok, msg = check(p, P, args.k, dtype, rng)
                    checks[p.label] = msg if ok else "INEXACT: " + msg
                    if not ok and p.label == "pcct" or not ok and args.smoke:
                        failed.append(f"{name} {dt} {mode} {p.label}: {msg}")
                wall = {p.label: float("inf") for p in peers}
                cpu = dict(wall)
                for _ in range(args.reps):
                    for p in peers:
                        c0, w0 = time.process_time(), time.perf_counter()
                        p.knn(P, args.k)
                        w1, c1 = time.perf_counter(), time.process_time()
                        wall[p.label] = min(wall[p.label], (w1 - w0) / p.rows(P))
                        cpu[p.label] = min(cpu[p.label], (c1 - c0) / p.rows(P))
                for p in peers:
                    idx = getattr(p.nn, "effective_algorithm_", None) or p.nn._fit_method
                    r_b = wall["sklearn brute"] / wall["pcct"] if p.label == "pcct" else float("nan")
                    r_t = wall["sklearn ball_tree"] / wall["pcct"] if p.label == "pcct" else float("nan")
                    ratios = f"{r_b:10.2f} {r_t:9.2f}" if p.label == "pcct" else f"{'':10} {'':9}"
                    print(f"{name:13} {dt:7} {mode:8} {p.label:18} {idx:10} {p.fit_s:7.3f} "
                          f"{wall[p.label] * 1e6:9.1f} {cpu[p.label] * 1e6:9.1f} {ratios}  "
                          f"{checks[p.label]}", flush=True)
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end")
    if failed:
        raise SystemExit("inexact answers:\n" + "\n".join(failed))


if __name__ == "__main__":
    main()
