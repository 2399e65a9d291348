"""Where the GPU pays: NearestNeighbors' k-NN on the CPU (all cores) and
on the GPU, on the same fitted estimator, for a few shapes of random
Gaussian float32 data. Part of `make gpu-check`: the figures calibrate
device="auto", which sends a batch to the GPU when queries x points x
features reaches a threshold (python/pcct/_gpu.py).

    python gpu/check/crossover.py [--budget SECONDS]

Each row: the shape, the index the CPU uses (algorithm="auto"'s choice),
the seconds of the CPU's search, of the GPU's first search of the version
(the points copied to the GPU) and of a second one, the ratio CPU / GPU
(second search; above 1 the GPU is faster), and device="auto"'s seconds
(its first search on the version measures the tree's cost of a query; the
second is timed) beside the faster device's. Answers are compared (indices
equal). Nothing is asserted about speed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pcct import NearestNeighbors, gpu_available

# (points, features, queries)
CASES = [
    (20_000, 3, 2_000),
    (200_000, 3, 20_000),
    (1_000_000, 3, 100_000),
    (20_000, 16, 2_000),
    (100_000, 16, 10_000),
    (50_000, 128, 5_000),
    (20_000, 784, 2_000),
    (60_000, 784, 10_000),
]


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=float, default=80.0, help="stop starting new cases after this many seconds")
    args = ap.parse_args(argv)
    if not gpu_available():
        print("no usable GPU: nothing to compare")
        return 0
    start = time.perf_counter()
    print("| points x features | queries | q*n*d | CPU index | fit s | CPU s | GPU first s | GPU s | CPU / GPU | auto s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for n, d, q in CASES:
        if time.perf_counter() - start > args.budget:
            print(f"(budget of {args.budget:.0f} s spent: the remaining shapes are left out)")
            break
        X = rng.normal(size=(n, d)).astype(np.float32)
        Q = rng.normal(size=(q, d)).astype(np.float32)
        tf, nn = _timed(lambda: NearestNeighbors(n_neighbors=10, device="cpu", n_jobs=-1).fit(X))
        tc, (_, ic) = _timed(lambda: nn.kneighbors(Q))
        nn.set_params(device="cuda")
        tg1, (_, ig) = _timed(lambda: nn.kneighbors(Q))
        tg2, _ = _timed(lambda: nn.kneighbors(Q))
        nn.set_params(device="auto")
        nn.kneighbors(Q)
        ta, (_, ia) = _timed(lambda: nn.kneighbors(Q))
        same = "" if np.array_equal(ic, ig) and np.array_equal(ic, ia) else " (answers differ!)"
        print(f"| {n:,} x {d} | {q:,} | {float(n) * d * q:.1e} | {nn.effective_algorithm_} | {tf:.2f} "
              f"| {tc:.3f} | {tg1:.3f} | {tg2:.3f} | {tc / tg2:.2f}{same} | {ta:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
