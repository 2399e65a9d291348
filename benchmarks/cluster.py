"""Clustering benchmark: pcct.cluster against scikit-learn's DBSCAN and
HDBSCAN, mlpack's emst and scipy's dense minimum spanning tree, side by
side in one run, on the same data, answers cross-checked.

    python benchmarks/cluster.py                 # full run (make bench-cluster)
    python benchmarks/cluster.py --smoke         # seconds: 2,000 synthetic points, checked

Every (dataset, task, peer) runs in a child process of its own (so a peak
resident set is the peer's and a time-out kills one job), with the same
thread count T for everyone: pcct ``n_jobs=T``, scikit-learn ``n_jobs=T``;
mlpack's emst is single-threaded and scipy's route too. Times are wall
clock of one call on data already in memory, after an untimed warm-up
call of the same peer on 64 points (a process's first call pays one-time
costs: pcct its library's load and the Go runtime's start), the index build included
(pcct builds its cover tree, scikit-learn its k-d tree, mlpack its k-d
tree); for pcct the build alone and the call on a built tree are reported
as well. pcct's DBSCAN and spanning tree are timed as a user calls them,
on the array (where, for Euclidean rows of up to three features, DBSCAN
builds a grid and the spanning tree a k-d tree, not a cover tree); their
build and on-tree columns come from a second call on a tree built after,
whose answer must be the same. The parent checks that DBSCAN's labels and core points and
HDBSCAN's labels and probabilities equal scikit-learn's, and that the
spanning trees weigh the same as mlpack's, and writes
``results/cluster.md`` and ``results/cluster.csv``.

scipy's route to a minimum spanning tree is the dense one
(``pdist`` + ``squareform`` + ``scipy.sparse.csgraph.minimum_spanning_tree``):
it holds n^2 distances. It runs on growing samples of the clustered set
while its matrices fit in ``--dense-gb`` gigabytes; the table states what
each dataset would need.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402  (benchmarks/data.py: the dataset folders)

# DBSCAN (eps, min_samples) and HDBSCAN min_cluster_size per dataset:
# settings that make many clusters and some noise.
SETTINGS = {
    "letter": {"eps": 3.0, "min_samples": 5, "min_cluster_size": 5},
    "magic": {"eps": 16.0, "min_samples": 8, "min_cluster_size": 5},
    "bunny": {"eps": 0.004, "min_samples": 10, "min_cluster_size": 5},
    "zipcodes": {"eps": 0.1, "min_samples": 6, "min_cluster_size": 5},
    "clustered200k": {"eps": 0.5, "min_samples": 10, "min_cluster_size": 20},
    "smoke": {"eps": 0.7, "min_samples": 5, "min_cluster_size": 10},
}
TASKS = ("mst", "dbscan", "hdbscan")
PEERS = {
    "mst": ("pcct", "mlpack emst", "scipy dense"),
    "dbscan": ("pcct", "sklearn"),
    "hdbscan": ("pcct", "sklearn"),
}


# -- data -----------------------------------------------------------------------


def clustered(n, seed=1, dim=3):
    """n points in 3-D from 20 Gaussian clusters of random widths (0.5 to
    2.5) in a box of side 100, with 5% uniform background noise."""
    rng = np.random.default_rng(seed)
    centers = rng.random((20, dim)) * 100
    width = 0.5 + 2 * rng.random(20)
    which = rng.integers(0, 20, n)
    X = centers[which] + width[which, None] * rng.normal(size=(n, dim))
    noise = rng.random(n) < 0.05
    X[noise] = rng.random((noise.sum(), dim)) * 100
    return X


def load(name):
    """The whole dataset, float64, in file order."""
    if name == "clustered200k":
        return clustered(200_000)
    if name == "smoke":
        return clustered(2_000, seed=3)
    f = data._file
    if name == "letter":
        return np.loadtxt(f("letter-recognition.data"), delimiter=",", usecols=range(1, 17))
    if name == "magic":
        return np.loadtxt(f("magic04.data"), delimiter=",", usecols=range(10))
    if name == "bunny":
        rows = [line.split()[1:4] for line in open(f("stanford-bunny.obj")) if line.startswith("v ")]
        return np.array(rows, dtype=np.float64)
    if name == "zipcodes":
        return np.loadtxt(f("zipcodes.csv"), delimiter=",", skiprows=1, usecols=(1, 2))
    raise ValueError(name)


# -- the worker -------------------------------------------------------------------


def _rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _cpu_s():
    """CPU seconds of this process so far, every thread included."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _warm_up(peer, task, X, s, threads):
    """One small call of the peer's kind of work, untimed."""
    if peer == "pcct":
        import pcct.cluster as pc
        from pcct import CoverTree

        pc.DBSCAN(eps=s.get("eps", 1.0), min_samples=2, n_jobs=threads).fit(CoverTree(X, n_jobs=threads))
        pc.DBSCAN(eps=s.get("eps", 1.0), min_samples=2, n_jobs=threads).fit(X)
        pc.minimum_spanning_tree(X, n_jobs=threads)
    elif peer == "sklearn":
        import sklearn.cluster as skc

        if task == "dbscan":
            skc.DBSCAN(eps=s["eps"], min_samples=2, n_jobs=threads).fit(X)
        else:
            skc.HDBSCAN(min_cluster_size=2, n_jobs=threads, copy=True).fit(X)
    elif peer == "mlpack emst":
        import mlpack

        mlpack.emst(input_=X)


def worker(spec):
    """Run one job and write its outcome (JSON) and answer (.npz)."""
    X = np.load(spec["data"])
    import sklearn.cluster  # noqa: F401  (imports outside the timed call)
    import pcct.cluster  # noqa: F401
    threads, task, peer, s = spec["threads"], spec["task"], spec["peer"], spec["settings"]
    # Each peer's first call in a process pays one-time costs (pcct loads its
    # library and starts the Go runtime and its threads; scikit-learn and
    # mlpack their own): a warm-up call on 64 points, outside the timing,
    # so that the timed call measures the work a user's later calls repeat.
    _warm_up(peer, task, X[:64], s, threads)
    base = _rss_mb()
    cpu0 = _cpu_s()
    out = {}
    answer = {}
    if peer == "pcct" and task == "dbscan":
        # The estimator on the array, as a user calls it (Euclidean rows of
        # up to three features are clustered on a grid, with no tree), then
        # the same on a tree built beforehand, for the columns "build" and
        # "on tree" (outside the CPU time of the call).
        import pcct.cluster as pc
        from pcct import CoverTree

        t0 = time.perf_counter()
        d = pc.DBSCAN(eps=s["eps"], min_samples=s["min_samples"], n_jobs=threads).fit(X)
        out["seconds"] = time.perf_counter() - t0
        out["cpu_s"] = _cpu_s() - cpu0
        answer = {"labels": d.labels_, "core": d.core_sample_indices_}
        t0 = time.perf_counter()
        tree = CoverTree(X, n_jobs=threads)
        out["build_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        d2 = pc.DBSCAN(eps=s["eps"], min_samples=s["min_samples"], n_jobs=threads).fit(tree)
        out["on_tree_s"] = time.perf_counter() - t0
        if not (np.array_equal(d.labels_, d2.labels_)
                and np.array_equal(d.core_sample_indices_, d2.core_sample_indices_)):
            raise AssertionError("pcct's DBSCAN on the array and on a tree disagree")
    elif peer == "pcct" and task == "mst":
        # The same for the spanning tree: on the array (Euclidean rows of
        # up to three features on a k-d tree, with no cover tree), then on a
        # tree built beforehand, whose edges must be the same.
        import pcct.cluster as pc
        from pcct import CoverTree

        t0 = time.perf_counter()
        m = pc.minimum_spanning_tree(X, n_jobs=threads)
        out["seconds"] = time.perf_counter() - t0
        out["cpu_s"] = _cpu_s() - cpu0
        answer = {"weight": m.distance.sum()}
        t0 = time.perf_counter()
        tree = CoverTree(X, n_jobs=threads)
        out["build_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        m2 = pc.minimum_spanning_tree(tree, n_jobs=threads)
        out["on_tree_s"] = time.perf_counter() - t0
        if not all(np.array_equal(a, b) for a, b in zip(m, m2)):
            raise AssertionError("pcct's spanning tree on the array and on a tree disagree")
    elif peer == "pcct":
        import pcct.cluster as pc
        from pcct import CoverTree

        t0 = time.perf_counter()
        tree = CoverTree(X, n_jobs=threads)
        out["build_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if task == "mst":
            m = pc.minimum_spanning_tree(tree, n_jobs=threads)
            answer = {"weight": m.distance.sum()}
        elif task == "dbscan":
            d = pc.DBSCAN(eps=s["eps"], min_samples=s["min_samples"], n_jobs=threads).fit(tree)
            answer = {"labels": d.labels_, "core": d.core_sample_indices_}
        else:
            h = pc.HDBSCAN(min_cluster_size=s["min_cluster_size"], n_jobs=threads).fit(tree)
            answer = {"labels": h.labels_, "probabilities": h.probabilities_}
        out["on_tree_s"] = time.perf_counter() - t0
        out["seconds"] = out["build_s"] + out["on_tree_s"]
    elif peer == "sklearn":
        import sklearn.cluster as skc

        t0 = time.perf_counter()
        if task == "dbscan":
            d = skc.DBSCAN(eps=s["eps"], min_samples=s["min_samples"], n_jobs=threads).fit(X)
            answer = {"labels": d.labels_, "core": d.core_sample_indices_}
        else:
            h = skc.HDBSCAN(min_cluster_size=s["min_cluster_size"], n_jobs=threads,
                            copy=True).fit(X)
            answer = {"labels": h.labels_, "probabilities": h.probabilities_}
        out["seconds"] = time.perf_counter() - t0
    elif peer == "mlpack emst":
        import mlpack

        t0 = time.perf_counter()
        e = mlpack.emst(input_=X)["output"]
        out["seconds"] = time.perf_counter() - t0
        answer = {"weight": e[:, 2].sum()}
    elif peer == "scipy dense":
        from scipy.sparse.csgraph import minimum_spanning_tree
        from scipy.spatial.distance import pdist, squareform

        t0 = time.perf_counter()
        D = squareform(pdist(X))
        m = minimum_spanning_tree(D)
        out["seconds"] = time.perf_counter() - t0
        answer = {"weight": m.sum()}
    else:
        raise ValueError(peer)
    out.setdefault("cpu_s", _cpu_s() - cpu0)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["grew_mb"] = out["peak_mb"] - base
    np.savez(spec["answer"], **answer)
    Path(spec["outcome"]).write_text(json.dumps(out))


# -- the parent ---------------------------------------------------------------------


def run_job(tmp, name, task, peer, threads, timeout, settings):
    spec = {
        "data": str(tmp / f"{name}.npy"), "task": task, "peer": peer, "threads": threads,
        "settings": settings, "answer": str(tmp / f"{name}-{task}-{peer}.npz"),
        "outcome": str(tmp / f"{name}-{task}-{peer}.json"),
    }
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), GOMAXPROCS=str(threads))
    try:
        p = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], env=env,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"> {timeout} s (stopped)"}, None
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"status": f"failed: {tail[0][:200]}"}, None
    out = json.loads(Path(spec["outcome"]).read_text())
    out["status"] = "ok"
    return out, dict(np.load(spec["answer"]))


def compare(task, mine, ref):
    """Whether pcct's answer equals the reference's, in words."""
    if mine is None or ref is None:
        return ""
    if task == "mst":
        w, r = float(mine["weight"]), float(ref["weight"])
        return "same weight" if abs(w - r) <= 1e-9 * max(abs(r), 1) else f"weight {w:.12g} vs {r:.12g}"
    same = np.array_equal(mine["labels"], ref["labels"])
    if task == "dbscan":
        same = same and np.array_equal(mine["core"], ref["core"])
        return "identical labels" if same else f"{int((mine['labels'] != ref['labels']).sum())} labels differ"
    dp = float(np.max(np.abs(mine["probabilities"] - ref["probabilities"]))) if len(mine["labels"]) else 0
    if same and dp == 0:
        return "identical labels and probabilities"
    from sklearn.metrics import adjusted_rand_score

    ari = adjusted_rand_score(ref["labels"], mine["labels"])
    return (f"{int((mine['labels'] != ref['labels']).sum())} labels differ "
            f"(adjusted Rand {ari:.4f}), max probability difference {dp:.2g}")


# Bytes per pair of points scipy's dense route holds at its peak: pdist's
# condensed matrix, squareform's square one and csgraph's masked copies
# (7,454 MiB measured at 15,000 points).
DENSE_BYTES_PER_PAIR = 35


def dense_gb(n):
    """The memory scipy's dense route needs for n points, in GB."""
    return DENSE_BYTES_PER_PAIR * n * n / 2**30


def dense_series(tmp, threads, timeout, limit_gb):
    """scipy's dense route on growing samples of the clustered set, while
    its matrices fit in limit_gb."""
    rows = []
    X = clustered(200_000)
    for n in (2_500, 5_000, 10_000, 15_000, 20_000, 30_000):
        need_gb = dense_gb(n)
        if need_gb > limit_gb:
            rows.append({"n": n, "status": f"not run: needs {need_gb:.1f} GB > --dense-gb {limit_gb:g}"})
            continue
        name = f"dense{n}"
        np.save(tmp / f"{name}.npy", X[:n])
        out_s, ans_s = run_job(tmp, name, "mst", "scipy dense", threads, timeout, {})
        out_p, ans_p = run_job(tmp, name, "mst", "pcct", threads, timeout, {})
        rows.append({"n": n, "scipy": out_s, "pcct": out_p, "check": compare("mst", ans_p, ans_s)})
        if out_s.get("status") != "ok":
            break
    return rows


def fmt_s(out, cpu=True):
    """Wall seconds, and CPU seconds (all threads) in parentheses."""
    if out is None:
        return ""
    if out.get("status") != "ok":
        return out["status"]
    if cpu and "cpu_s" in out:
        return f"{out['seconds']:.3g} ({out['cpu_s']:.3g})"
    return f"{out['seconds']:.3g}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--smoke", action="store_true",
                    help="2,000 synthetic points, seconds; fails unless pcct's answers are right")
    ap.add_argument("--datasets", default="letter,magic,bunny,zipcodes,clustered200k")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--timeout", type=float, default=900, help="seconds for one job")
    ap.add_argument("--dense-gb", type=float, default=8.0,
                    help="memory scipy's dense route may use in the series")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    names = ["smoke"] if args.smoke else args.datasets.split(",")
    tasks = args.tasks.split(",")
    rows = []
    failures = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for name in names:
            try:
                X = np.ascontiguousarray(load(name), dtype=np.float64)
            except data.Missing as e:
                print(f"{name}: skipped ({e})", flush=True)
                continue
            np.save(tmp / f"{name}.npy", X)
            s = SETTINGS[name]
            for task in tasks:
                outs, answers = {}, {}
                for peer in PEERS[task]:
                    if peer == "scipy dense" and args.smoke:
                        continue
                    if peer == "scipy dense" and dense_gb(len(X)) > args.dense_gb:
                        outs[peer] = {"status": f"not run: needs {dense_gb(len(X)):.0f} GB"}
                        continue
                    if peer == "mlpack emst":
                        try:
                            import mlpack  # noqa: F401
                        except ImportError:
                            outs[peer] = {"status": "not installed (pip install mlpack)"}
                            continue
                    print(f"{name} {task} {peer} ...", end=" ", flush=True)
                    outs[peer], answers[peer] = run_job(tmp, name, task, peer, args.threads,
                                                        args.timeout, s)
                    print(fmt_s(outs[peer]), flush=True)
                ref_peer = "sklearn" if task != "mst" else (
                    "mlpack emst" if answers.get("mlpack emst") is not None else "scipy dense")
                check = compare(task, answers.get("pcct"), answers.get(ref_peer))
                if check and not check.startswith(("same", "identical")):
                    failures.append(f"{name} {task}: {check}")
                rows.append({"dataset": name, "n": len(X), "d": X.shape[1], "task": task,
                             "outs": outs, "check": check, "ref": ref_peer})
        dense = [] if args.smoke or "mst" not in tasks else dense_series(
            tmp, args.threads, args.timeout, args.dense_gb)
    if args.smoke:
        bad = [r for r in rows if r["outs"].get("pcct", {}).get("status") != "ok"]
        for r in rows:
            print(r["dataset"], r["task"], r["check"])
        return 1 if (bad or failures) else 0
    write(Path(args.out), rows, dense, args)
    return 0


def write(out_dir, rows, dense, args):
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "cluster.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["dataset", "n", "d", "task", "peer", "status", "seconds", "cpu_s", "build_s",
                    "on_tree_s", "peak_mb", "grew_mb", "check"])
        for r in rows:
            for peer, o in r["outs"].items():
                w.writerow([r["dataset"], r["n"], r["d"], r["task"], peer, o.get("status"),
                            o.get("seconds", ""), o.get("cpu_s", ""), o.get("build_s", ""),
                            o.get("on_tree_s", ""),
                            o.get("peak_mb", ""), o.get("grew_mb", ""),
                            r["check"] if peer == "pcct" else ""])
    import pcct
    import sklearn

    lines = [
        "# Clustering benchmark",
        "",
        f"`python benchmarks/cluster.py` on {platform.processor() or platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} CPUs, T = {args.threads} threads for every peer "
        "(pcct and scikit-learn `n_jobs=T`; mlpack's emst and scipy are single-threaded), "
        f"pcct {pcct.__version__}, scikit-learn {sklearn.__version__}, one timed call per job in a "
        f"process of its own after a warm-up call on 64 points, time-out {args.timeout:g} s. Seconds of wall clock and, in "
        "parentheses, of CPU time (all threads), the index build included; for pcct also "
        "the build alone and the call on the built tree (wall clock); pcct's DBSCAN is "
        "timed on the array (no cover tree for Euclidean rows: a grid for 1 to 3 features, a "
        "k-d tree for 4 to 64), and so is its spanning tree (a k-d tree for 1 to 3 "
        "features), their build and on-tree columns by a second call on a tree. Ratios: the peer's "
        "time over pcct's, wall clock (CPU time); above 1, pcct is faster. The machine's "
        f"load average when the run ended: {os.getloadavg()[0]:.1f}.",
        "",
    ]
    titles = {"mst": "Minimum spanning tree (Euclidean)", "dbscan": "DBSCAN",
              "hdbscan": "HDBSCAN (min_samples = min_cluster_size)"}
    for task in TASKS:
        sel = [r for r in rows if r["task"] == task]
        if not sel:
            continue
        peers = [p for p in PEERS[task] if p != "pcct"]
        lines += [f"## {titles[task]}", ""]
        head = ["dataset (n x d)", "settings", "pcct s", "pcct build s", "pcct on tree s"]
        for p in peers:
            head += [f"{p} s", f"÷ {p}"]
        head += ["pcct peak MiB", "answers"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in sel:
            o = r["outs"].get("pcct", {})
            s = SETTINGS[r["dataset"]]
            setting = {"mst": "", "dbscan": f"eps={s['eps']:g}, min_samples={s['min_samples']}",
                       "hdbscan": f"min_cluster_size={s['min_cluster_size']}"}[task]
            cells = [f"{r['dataset']} ({r['n']:,} x {r['d']})", setting, fmt_s(o),
                     f"{o.get('build_s', 0):.3g}" if o.get("status") == "ok" else "",
                     f"{o.get('on_tree_s', 0):.3g}" if o.get("status") == "ok" else ""]
            for p in peers:
                po = r["outs"].get(p)
                cells.append(fmt_s(po))
                if po and po.get("status") == "ok" and o.get("status") == "ok":
                    cells.append(f"{po['seconds'] / o['seconds']:.2f} "
                                 f"({po['cpu_s'] / o['cpu_s']:.2f})")
                elif po and po.get("status", "").startswith(">") and o.get("status") == "ok":
                    cells.append(f"> {args.timeout / o['seconds']:.0f}")
                else:
                    cells.append("")
            cells += [f"{o.get('peak_mb', 0):.0f}" if o.get("status") == "ok" else "",
                      r["check"] + (f" ({r['ref']})" if r["check"] else "")]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if dense:
        lines += ["## scipy's dense route (pdist + squareform + csgraph) on samples of the "
                  "clustered set", "",
                  "| n | scipy s | scipy peak MiB | pcct s | pcct peak MiB | answers |",
                  "|---|---|---|---|---|---|"]
        for d in dense:
            if "scipy" not in d:
                lines.append(f"| {d['n']:,} | {d['status']} | | | | |")
                continue
            so, po = d["scipy"], d["pcct"]
            lines.append(f"| {d['n']:,} | {fmt_s(so)} | {so.get('peak_mb', 0):.0f} | {fmt_s(po)} | "
                         f"{po.get('peak_mb', 0):.0f} | {d['check']} |")
        lines.append("")
    (out_dir / "cluster.md").write_text("\n".join(lines))
    print(f"wrote {out_dir / 'cluster.md'}")


if __name__ == "__main__":
    sys.exit(main())
