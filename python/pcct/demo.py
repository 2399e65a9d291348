"""A short tour of pcct: ``python -m pcct.demo``.

Fits pcct and scikit-learn's three algorithms on scikit-learn's digits
(1,797 x 64) and on generated data with a low intrinsic dimension (points
near a 3-D manifold in 32-D), queries k=10 neighbours of every point,
checks that pcct's answers equal scikit-learn's brute force, and prints the
timings side by side.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.neighbors import NearestNeighbors as SkNN

import pcct
from pcct import NearestNeighbors


def manifold(n, ambient=32, seed=0):
    """n points on a twisted 3-D manifold embedded in `ambient` dimensions."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 4 * np.pi, size=(n, 3))
    feats = np.column_stack([np.sin(t[:, 0]), np.cos(t[:, 0]) * t[:, 1], np.sin(t[:, 2]) * t[:, 1],
                             t[:, 0], t[:, 1] * t[:, 2] / 10, np.cos(t[:, 2])])
    X = feats @ rng.normal(size=(feats.shape[1], ambient))
    return X + 1e-3 * rng.normal(size=X.shape)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def verify(ours, brute, label):
    """pcct equals brute force: the same distances, the same indices except
    where distances tie."""
    (d, i), (db, ib) = ours, brute
    if not np.allclose(d, db, rtol=1e-5, atol=1e-6 * max(1.0, float(np.abs(db).max()))):
        raise SystemExit(f"{label}: distances differ from scikit-learn's brute force")
    differ = np.flatnonzero(np.any(i != ib, axis=1))
    for row in differ:
        # Only ties may be ordered differently: same distance multiset and
        # every differing index sits at a tied distance.
        for pos in np.flatnonzero(i[row] != ib[row]):
            tied = np.isclose(db[row], db[row, pos], rtol=1e-6, atol=1e-9)
            if tied.sum() < 2 and pos != len(db[row]) - 1:
                raise SystemExit(f"{label}: query {row} differs from brute force")
    if len(differ) == 0:
        return "equal to brute force (every row identical)"
    exact = 100.0 * (len(i) - len(differ)) / len(i)
    return f"equal to brute force ({exact:.1f}% rows identical, the rest differ only in tied neighbours)"


def run(name, X, k, n_jobs):
    print(f"\n== {name}: {X.shape[0]:,} points x {X.shape[1]} dims, k={k}, "
          f"all points queried (X=None), n_jobs={n_jobs}")
    rows = []
    nn, t_fit = timed(lambda: NearestNeighbors(n_neighbors=k, n_jobs=n_jobs).fit(X))
    res, t_q = timed(lambda: nn.kneighbors())
    rows.append(("pcct", t_fit, t_q))
    brute_res = None
    for algo in ("kd_tree", "ball_tree", "brute"):
        sk, tf = timed(lambda: SkNN(n_neighbors=k, algorithm=algo, n_jobs=n_jobs).fit(X))
        r, tq = timed(lambda: sk.kneighbors())
        rows.append((f"sklearn {algo}", tf, tq))
        if algo == "brute":
            brute_res = r
    print("   " + verify(res, brute_res, name))
    st = nn.tree_.stats()
    print(f"   tree: {st['nodes']:,} nodes ({X.shape[0] - st['nodes']:,} duplicates), "
          f"levels {st['min_level']}..{st['max_level']}, depth {st['depth']}, "
          f"{st['query_distance_evaluations'] / X.shape[0]:.0f} distance evaluations per query")
    print(f"   {'':<18}{'fit s':>9}{'query s':>10}{'queries/s':>12}")
    for label, tf, tq in rows:
        print(f"   {label:<18}{tf:>9.3f}{tq:>10.3f}{X.shape[0] / tq:>12,.0f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="points of generated data")
    parser.add_argument("--n-jobs", type=int, default=-1)
    args = parser.parse_args(argv)
    print(f"pcct {pcct.__version__} ({pcct.library_version()})")

    # The three lines a notebook needs:
    X = load_digits().data
    nn = NearestNeighbors(n_neighbors=10).fit(X)
    dist, ind = nn.kneighbors(X[:3])
    print("\nNearestNeighbors(n_neighbors=10).fit(digits).kneighbors(digits[:3]) ->")
    print("  indices  ", ind[0][:6], "...")
    print("  distances", np.round(dist[0][:6], 2), "...")

    run("digits (sklearn.datasets.load_digits)", X, 10, args.n_jobs)
    run("generated: 3-D manifold in 32-D", manifold(args.n), 10, args.n_jobs)
    run("generated: same, float32", manifold(args.n).astype(np.float32), 10, args.n_jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
