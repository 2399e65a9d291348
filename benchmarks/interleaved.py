"""pcct against scipy's cKDTree in one process, calls interleaved, CPU time.

    python benchmarks/interleaved.py                          # bunny, zipcodes, magic
    python benchmarks/interleaved.py --datasets bunny --threads 1 --reps 9

The wall-clock tables of run.py swing with the load of a shared machine;
here each round asks every peer the same question in turn, in one Python
process, and measures the process's CPU time (user and system, all
threads) of each call, so that a slice of the machine taken by other work
costs no peer anything. For each data set (run.py's split: a random 10%
of the rows held out), mode (``all``: every fitted point, X=None for pcct
and the data with k+1 neighbours, the self match dropped, for cKDTree;
``heldout``: the held-out rows) and peer, the best of ``--reps`` rounds
is printed as microseconds of CPU a query, with pcct's ratio to cKDTree
(cKDTree's CPU over pcct's: above 1 pcct is faster). Every answer's
distances are checked against cKDTree's (1e-9, relative). Nothing is
asserted about speed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

PEERS = ["scipy cKDTree", "pcct", "pcct cover_tree"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="bunny,zipcodes,magic")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args(argv)
    # Go reads GOMAXPROCS when the library loads.
    os.environ["GOMAXPROCS"] = str(args.threads)
    import data
    import peers

    print(f"threads={args.threads} k={args.k} best of {args.reps} rounds, "
          f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} at the start")
    print(f"{'dataset':10} {'mode':8} {'peer':16} {'us CPU/query':>13} {'cKDTree/peer':>13}")
    for name in args.datasets.split(","):
        X, Q, _ = data.load(name)
        calls = []
        for label in PEERS:
            peer = peers.make(label, args.threads)
            peer.fit(X)
            calls.append((label, peer))
        for mode, P in (("all", None), ("heldout", Q)):
            nq = len(X) if P is None else len(P)
            ref = calls[0][1].knn(P, args.k)[0]
            for label, peer in calls:  # warm-up, and the answers checked
                d = np.asarray(peer.knn(P, args.k)[0])
                if not np.allclose(d, ref, rtol=1e-9, atol=0):
                    raise SystemExit(f"{name} {mode}: {label} disagrees with cKDTree")
            best = {label: float("inf") for label, _ in calls}
            for _ in range(args.reps):
                for label, peer in calls:
                    t0 = time.process_time()
                    peer.knn(P, args.k)
                    best[label] = min(best[label], time.process_time() - t0)
            base = best["scipy cKDTree"]
            for label, _ in calls:
                ratio = base / best[label] if label != "scipy cKDTree" else 1.0
                print(f"{name:10} {mode:8} {label:16} {best[label] / nq * 1e6:13.2f} {ratio:13.2f}",
                      flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
