"""Measure one peer on one dataset, in a fresh process.

``python benchmarks/worker.py JOB.json`` loads the prepared arrays named by
the job, builds the peer's index, runs the timed queries and the exactness
checks, and prints one JSON object per line (flushed as it goes, so a run
cut off by the parent's time limit keeps what it finished). Needs only
numpy and the peer's own package: run.py may start it under another
interpreter (``PCCT_BENCH_COVERTREEX_PYTHON``).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peers as peers_mod  # noqa: E402
import reference  # noqa: E402


def emit(**row):
    sys.stdout.write(json.dumps(row) + "\n")
    sys.stdout.flush()


@contextlib.contextmanager
def measuring(row):
    """Run one measurement and emit its row: a peer that lacks the
    operation is "unsupported", any other exception "failed" (a result, not
    a crash of the worker)."""
    try:
        yield
    except peers_mod.Unavailable as e:
        row.update(status="unsupported", reason=str(e))
    except Exception as e:
        row.update(status="failed", reason=f"{type(e).__name__}: {e}",
                   trace=traceback.format_exc()[-2000:])
    emit(**row)


def maxrss_mb():
    """Peak resident set of this process so far, in MiB: VmHWM from
    /proc/self/status (the high-water mark of this program's own address
    space). ru_maxrss is the fallback where /proc is missing; on Linux it
    would also count the parent's resident set at the fork, which exec
    carries over."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def rss_mb():
    """Resident set now (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return 0.0


def timed(fn, job):
    """Run fn: a warm-up, then repeats up to job['reps'] while a run is
    short (a run over job['long_s'] seconds is measured once: warming up
    a minute-long query changes nothing). Returns (best seconds, runs
    timed, calls made in all, last output)."""
    t0 = time.perf_counter()
    out = fn()
    t = time.perf_counter() - t0
    if not job["warmup"] or t > job["long_s"]:
        return t, 1, 1, out
    times = []
    spent = 0.0
    while len(times) < job["reps"]:
        del out
        t0 = time.perf_counter()
        out = fn()
        t = time.perf_counter() - t0
        times.append(t)
        spent += t
        if spent > job["long_s"] * 2:
            break
    return min(times), len(times), len(times) + 1, out


def main(path):
    with open(path) as f:
        job = json.load(f)
    threads = job["threads"]
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:
        pass
    d = job["data_dir"]
    X = np.load(os.path.join(d, "X.npy"))
    Q = np.load(os.path.join(d, "Q.npy"))
    ref = dict(np.load(os.path.join(d, "ref.npz")))
    label = job["peer"]
    try:
        peer = peers_mod.make(label, threads)
    except peers_mod.Unavailable as e:
        emit(kind="unavailable", reason=str(e))
        return
    emit(kind="meta", version=peer.version(), labels=peer.variants(), threads_note=peer.threads_note,
         self_mode=peer.self_mode, dtype=np.dtype(peer.dtype).name,
         python=sys.version.split()[0])
    rss_base = maxrss_mb()
    rss_before = rss_mb()

    t0 = time.perf_counter()
    try:
        peer.fit(X)
    except Exception as e:  # a failing peer is a result, not a crash
        emit(kind="build", status="failed", reason=f"{type(e).__name__}: {e}",
             trace=traceback.format_exc()[-2000:])
        emit(kind="memory", rss_base_mb=rss_base, rss_peak_mb=maxrss_mb())
        return
    build_s = time.perf_counter() - t0
    extra = {}
    if hasattr(peer, "build_evaluations"):
        extra["build_evaluations"] = peer.build_evaluations()
    if hasattr(peer, "index_bytes"):
        extra["tree_bytes"] = peer.index_bytes()
    if hasattr(peer, "algorithm_used"):
        extra["algorithm"] = peer.algorithm_used()
    emit(kind="build", status="ok", seconds=build_s, rss_after_build_mb=maxrss_mb(),
         index_mb=rss_mb() - rss_before, **extra)

    dtype = peer.dtype
    for label in peer.variants():
        peer.use_variant(label)
        for mode in job["modes"]:
            Qm = None if mode == "all" else Q
            nq = len(X) if mode == "all" else len(Q)
            sample = ref[f"sample_{mode}"]
            Qs = X[sample] if mode == "all" else Q[sample]
            self_idx = sample if mode == "all" else None
            for k in job["ks"]:
                if k > len(X) - (1 if mode == "all" else 0):
                    continue
                row = dict(kind="knn", label=label, mode=mode, k=k, queries=nq)
                with measuring(row):
                    ev0 = peer.evaluations() if hasattr(peer, "evaluations") else None
                    secs, runs, calls, (dist, ind) = timed(lambda: peer.knn(Qm, k), job)
                    if ev0 is not None:  # every call asks the same question
                        row["evals_per_query"] = (peer.evaluations() - ev0) / (calls * nq)
                    eps = peer.variant_eps(label) if hasattr(peer, "variant_eps") else 0.0
                    ok, msg = reference.check_knn(X, Qs, np.asarray(dist)[sample], np.asarray(ind)[sample],
                                                  ref[f"d2_{mode}"][:, :k], dtype, self_idx, eps=eps)
                    row.update(status="ok" if ok else "inexact", seconds=secs, qps=nq / secs, runs=runs,
                               check=msg)
                    del dist, ind

            # pcct's search strategy does not change radius queries: once per build
            if job["radius"] and label == peer.variants()[0]:
                r = float(ref["radius"])
                row = dict(kind="radius", label=label, mode=mode, radius=r, queries=nq)
                with measuring(row):
                    ev0 = peer.evaluations() if hasattr(peer, "evaluations") else None
                    secs, runs, calls, out = timed(lambda: peer.radius(Qm, r), job)
                    if ev0 is not None:
                        row["evals_per_query"] = (peer.evaluations() - ev0) / (calls * nq)
                    counts, rows = peer.radius_rows(out, Qm is None)
                    del out
                    tag = "f32" if np.dtype(dtype) == np.float32 else "f64"
                    ok, msg = reference.check_radius(X, Qs, r, counts[sample], [rows[i] for i in sample],
                                                     ref[f"lo_{mode}_{tag}"], ref[f"hi_{mode}_{tag}"],
                                                     dtype, self_idx)
                    row.update(status="ok" if ok else "inexact", seconds=secs, qps=nq / secs, runs=runs,
                               mean_count=float(counts.mean()), check=msg)
                    del rows, counts

    emit(kind="memory", rss_base_mb=rss_base, rss_peak_mb=maxrss_mb())


if __name__ == "__main__":
    main(sys.argv[1])
