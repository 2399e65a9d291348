"""pcct against the exact nearest-neighbour tools people use today.

    python benchmarks/run.py            # full run -> benchmarks/results/
    python benchmarks/run.py --smoke    # seconds: tiny data, one repetition,
                                        # results in a temp dir, exactness asserted

Each (dataset, peer) pair runs in a fresh subprocess (benchmarks/worker.py)
so its peak memory (ru_maxrss) is its own and a crash or a time-out costs
only that row. The parent prepares each dataset once: the fitted points,
the held-out queries, a sample of query rows with their brute-force answers
(reference.py) and the radius. Every peer is measured under the same thread
count T (--threads, default: the CPUs this process may use).

Nothing here asserts speed. The smoke mode asserts exactness only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402
import reference  # noqa: E402
from peers import PEERS  # noqa: E402

KMAX = 100
SAMPLE_ROWS = 1000  # query rows checked against brute force, per mode

# Peers, in table order. "pcct" is the default estimator (algorithm="auto":
# the index it chose is in the results); "pcct cover_tree" and "pcct brute"
# ask for each index, the cover tree's worker also measuring the corrected
# search and an approximate one (eps) on its build.
FULL_PEERS = ["pcct", "pcct cover_tree", "pcct brute", "sklearn kd_tree", "sklearn ball_tree",
              "sklearn brute", "scipy cKDTree", "faiss IndexFlatL2", "mlpack cover", "covertreex"]
SMOKE_PEERS = FULL_PEERS  # faiss, mlpack, covertreex run only where installed

FULL_REAL = ["digits", "letter", "pendigits", "magic", "bunny", "zipcodes", "fashion-mnist"]
FULL_SIZES = [1_000, 10_000, 100_000, 300_000, 1_000_000]

# Full-mode caps: (peer, family) -> largest n measured in the scaling
# series. Brute force and the peers that are slow per query on 32-D or
# single-threaded are stopped where one all-points query would take many
# minutes on a 2-core machine. The cap is written into the results.
SCALING_CAP = {
    "sklearn brute": 100_000,
    "faiss IndexFlatL2": 100_000,
    "sklearn ball_tree": 300_000,
    "mlpack cover": 300_000,
    "covertreex": 300_000,
}


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def machine_info(threads):
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    try:
        git = subprocess.run(["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        git = ""
    return {
        "pcct_commit": git or "?",
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory": mem,
        "threads": threads,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }


def prepare(name, n, out_dir, sample_rows, seed=0):
    """Write X.npy, Q.npy and ref.npz for one dataset; return its facts."""
    X, Q, split = data.load(name, n)
    rng = np.random.default_rng(seed)
    ref = {}
    for mode, P in (("all", X), ("heldout", Q)):
        m = min(sample_rows, len(P))
        sample = np.sort(rng.choice(len(P), size=m, replace=False))
        ref[f"sample_{mode}"] = sample
        self_idx = sample if mode == "all" else None
        kk = min(KMAX, len(X) - (1 if mode == "all" else 0))
        if mode == "all":
            # the radius: ~30 neighbours on average among the fitted points
            big, _ = reference.topk(X, P[sample], min(len(X) - 1, 300), self_idx)
            ref["radius"] = np.float64(reference.choose_radius(big, len(X)))
            ref[f"d2_{mode}"] = big[:, :kk]
        else:
            ref[f"d2_{mode}"], _ = reference.topk(X, P[sample], kk, self_idx)
        for tag, dt in (("f64", np.float64), ("f32", np.float32)):
            lo, hi = reference.radius_counts(X, P[sample], float(ref["radius"]), dt, self_idx)
            ref[f"lo_{mode}_{tag}"], ref[f"hi_{mode}_{tag}"] = lo, hi
    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "X.npy", X)
    np.save(out_dir / "Q.npy", Q)
    np.savez(out_dir / "ref.npz", **ref)
    return {"n": len(X), "d": X.shape[1], "n_heldout": len(Q), "split": split,
            "radius": float(ref["radius"]),
            "radius_mean_count_sample": float(ref["lo_all_f64"].mean())}


def interpreter_for(peer):
    if peer == "covertreex" and os.environ.get("PCCT_BENCH_COVERTREEX_PYTHON"):
        return os.environ["PCCT_BENCH_COVERTREEX_PYTHON"]
    return sys.executable


def run_worker(job, timeout):
    """Run worker.py on job; returns (list of JSON rows, status, message)."""
    job_path = Path(job["data_dir"]) / f"job-{abs(hash(job['peer']))}.json"
    job_path.write_text(json.dumps(job))
    env = dict(os.environ)
    t = str(job["threads"])
    env.update(OMP_NUM_THREADS=t, OPENBLAS_NUM_THREADS=t, MKL_NUM_THREADS=t, GOMAXPROCS=t,
               NUMBA_NUM_THREADS=t, RAYON_NUM_THREADS=t)
    proc = subprocess.Popen([interpreter_for(job["peer"]), str(HERE / "worker.py"), str(job_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    rows, err = [], []

    def read_out():
        for line in proc.stdout:
            line = line.strip()
            if line.startswith("{"):
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass

    def read_err():
        for line in proc.stderr:
            err.append(line)
            del err[:-40]

    th = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
    for x in th:
        x.start()
    try:
        proc.wait(timeout=timeout)
        status = "ok" if proc.returncode == 0 else "crashed"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
        status = "timeout"
    for x in th:
        x.join(timeout=10)
    tail = "".join(err[-8:]).strip()
    if status == "crashed":
        return rows, status, f"exit code {proc.returncode}: {tail[-600:]}"
    if status == "timeout":
        return rows, status, f"stopped after {timeout:.0f} s (the time limit of one peer on one dataset)"
    return rows, status, ""


def rows_for(ds, label, facts, worker_rows, status, message, threads, note=""):
    """Flatten a worker's JSON lines into CSV rows (one per measurement) for
    one configuration `label` of the worker's peer."""
    base = dict(dataset=ds, n=facts["n"], d=facts["d"], peer=label, threads=threads)
    meta = next((r for r in worker_rows if r["kind"] == "meta"), {})
    built = next((r for r in worker_rows if r["kind"] == "build"), {})
    if built.get("algorithm"):
        base.update(algorithm=built["algorithm"])  # the index pcct built
    mem = next((r for r in worker_rows if r["kind"] == "memory"), {})
    base.update(dtype=meta.get("dtype", ""), peer_version=meta.get("version", ""),
                threads_note=meta.get("threads_note", ""), self_mode=meta.get("self_mode", ""))
    out = []
    unavailable = next((r for r in worker_rows if r["kind"] == "unavailable"), None)
    if unavailable:
        return [dict(base, measure="all", status="unavailable", note=unavailable["reason"])]
    if note:  # skipped by a cap or the run's deadline
        return [dict(base, measure="all", status="skipped", note=note)]
    for r in worker_rows:
        if r["kind"] == "build":
            out.append(dict(base, measure="build", status=r["status"], seconds=r.get("seconds"),
                            build_evaluations=r.get("build_evaluations"), tree_bytes=r.get("tree_bytes"),
                            rss_base_mb=mem.get("rss_base_mb"), rss_after_build_mb=r.get("rss_after_build_mb"),
                            index_mb=r.get("index_mb"),
                            rss_peak_mb=mem.get("rss_peak_mb"),
                            note=r.get("reason", "")))
        elif r["kind"] in ("knn", "radius") and r.get("label", label) == label:
            out.append(dict(base, measure=r["kind"], mode=r["mode"], k=r.get("k"), radius=r.get("radius"),
                            queries=r["queries"], status=r["status"], seconds=r.get("seconds"),
                            qps=r.get("qps"), runs=r.get("runs"), evals_per_query=r.get("evals_per_query"),
                            mean_count=r.get("mean_count"), check=r.get("check", ""),
                            note=r.get("reason", "")))
    if status != "ok" or not any(r["kind"] == "build" for r in worker_rows):
        out.append(dict(base, measure="all" if not out else "rest", status=status,
                        note=message or "the worker stopped before building"))
    return out


def worker_of(label):
    """The peer whose worker measures a label: the cover tree's worker
    measures pcct's corrected and approximate searches too (and, in results
    from before the algorithm parameter, "pcct" measured "pcct depth_first"
    and "pcct corrected")."""
    if label == "pcct corrected" or label.startswith("pcct eps="):
        return "pcct cover_tree"
    if label == "pcct depth_first":
        return "pcct"
    return label


def job_plan(ds, scaling, smoke, ks):
    """What to measure on one dataset: (ks, modes, radius, note)."""
    if smoke:
        return ks, ["all", "heldout"], True, ""
    if scaling:
        return [10], ["all"], False, "scaling series: build and all-points k=10 only"
    if ds in HEAVY:
        return HEAVY[ds]
    return ks, ["all", "heldout"], True, ""


# Full-mode plan of the large real dataset: Fashion-MNIST (60,000 x 784)
# costs minutes per call for the trees, so only its headline question is
# asked: k=10 for the 10,000 held-out test images.
HEAVY = {"fashion-mnist": ([10], ["heldout"], False,
                           "full mode measures k=10 held-out queries only (time budget on 2 cores)")}
SCALING_TIMEOUT = 600
HEAVY_TIMEOUT = {"fashion-mnist": {"pcct cover_tree": 2700, "*": 720}}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="seconds-long CI mode (temp dir, exactness asserted)")
    ap.add_argument("--out", help="results folder (full: benchmarks/results; smoke: a temp dir)")
    ap.add_argument("--append", action="store_true",
                    help="keep the results already in the folder, replacing only the (dataset, peer) pairs measured now")
    ap.add_argument("--threads", type=int, default=None, help="thread count for every peer (default: usable CPUs)")
    ap.add_argument("--datasets", help="comma-separated real datasets (default: all)")
    ap.add_argument("--sizes", help="comma-separated n of the scaling series (default 1e3..1e6)")
    ap.add_argument("--families", default="manifold2d-32,gaussian-8", help="scaling families ('' for none)")
    ap.add_argument("--peers", help="comma-separated peers (default: all)")
    ap.add_argument("--reps", type=int, default=3, help="timed repetitions after a warm-up (full mode)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds for one peer on one dataset")
    ap.add_argument("--deadline", type=float, default=None,
                    help="minutes for the whole run; pairs not started by then are recorded as skipped")
    args = ap.parse_args(argv)

    threads = args.threads or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    smoke = args.smoke
    if smoke:
        real = ["digits"]
        sizes = [2000]
        families = ["manifold2d-32"]
        peer_names = SMOKE_PEERS
        ks = [1, 10]
        timeout = args.timeout or 120
        job_common = dict(warmup=False, reps=1, long_s=0.0)
        sample_rows = 300
    else:
        real = FULL_REAL
        sizes = FULL_SIZES
        families = [f for f in args.families.split(",") if f]
        peer_names = FULL_PEERS
        ks = [10, 1, 100]
        timeout = args.timeout or 1800
        job_common = dict(warmup=True, reps=args.reps, long_s=20.0)
        sample_rows = SAMPLE_ROWS
    if args.datasets is not None:
        real = [x for x in args.datasets.split(",") if x]
    if args.sizes:
        sizes = [int(float(x)) for x in args.sizes.split(",")]
    if smoke and args.families != ap.get_default("families"):
        families = [f for f in args.families.split(",") if f]
    if args.peers:
        peer_names = args.peers.split(",")
    peer_list = peer_names
    for p in peer_list:
        if p not in PEERS:
            ap.error(f"unknown peer {p!r}; known: {', '.join(PEERS)}")

    if args.out:
        out_dir = Path(args.out)
    elif smoke:
        out_dir = Path(tempfile.mkdtemp(prefix="pcct-bench-smoke-"))
    else:
        out_dir = HERE / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="pcct-bench-data-"))
    started = time.time()
    info = machine_info(threads)
    info["mode"] = "smoke" if smoke else "full"
    info["reps"] = 1 if smoke else args.reps
    info["warmup"] = not smoke
    info["started"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    log(f"pcct benchmark ({info['mode']}): {info['cpu']}, {info['usable_cpus']} CPUs, T={threads} threads")
    log(f"peers: {', '.join(peer_list)}")
    log(f"results -> {out_dir}")

    # the real datasets first (the headline), the scaling series last: a
    # deadline then cuts the largest synthetic sizes
    plan = ([(ds, None) for ds in real if ds not in HEAVY] + [(ds, None) for ds in real if ds in HEAVY]
            + [(fam, n) for fam in families for n in sizes])
    all_rows, datasets_info, versions, labels_of = [], {}, {}, {}
    if args.append and (out_dir / "results.csv").exists():
        import report

        prev_rows, prev_info = report.read(out_dir)
        now = {ds if n is None else f"{ds} n={n}" for ds, n in plan}

        def replaced(r):
            # a row of a (dataset, peer) pair measured now
            return r["dataset"] in now and (r["peer"] == "*" or worker_of(r["peer"]) in peer_list)

        all_rows = [r for r in prev_rows if not replaced(r)]
        datasets_info = dict(prev_info.get("datasets", {}))
        versions = dict(prev_info.get("versions", {}))
        earlier = prev_info.get("runs") or [{"started": prev_info.get("started"),
                                              "seconds": prev_info.get("seconds"),
                                              "what": "main run"}]
        info["runs"] = earlier
        info["started"] = prev_info.get("started", info["started"])
        started_earlier = True
    else:
        started_earlier = False
    try:
        for ds, n in plan:
            label = ds if n is None else f"{ds} n={n}"
            scaling = n is not None
            t0 = time.time()
            try:
                facts = prepare(ds, n, work / label.replace(" ", "_").replace("=", ""), sample_rows)
            except data.Missing as e:
                log(f"{label}: skipped ({e})")
                all_rows.append(dict(dataset=label, peer="*", measure="all", status="skipped", note=str(e)))
                continue
            facts["family"] = ds if scaling else ""
            datasets_info[label] = facts
            log(f"{label}: n={facts['n']} d={facts['d']} held-out={facts['n_heldout']} "
                f"radius={facts['radius']:g} (ground truth in {time.time() - t0:.1f} s)")
            ks_ds, modes_ds, radius_ds, plan_note = job_plan(ds, scaling, smoke, ks)
            if plan_note:
                facts["plan"] = plan_note
            for peer in peer_list:
                labels = labels_of.get(peer, [peer])
                cap = SCALING_CAP.get(peer) if scaling and not smoke else None
                skip = ""
                if cap is not None and n > cap:
                    skip = f"cap: n <= {cap:,} for this peer in the scaling series"
                elif args.deadline and time.time() - started > 60 * args.deadline:
                    skip = f"not started: the run's deadline ({args.deadline:g} min) had passed"
                if skip:
                    for lab in labels:
                        all_rows.extend(rows_for(label, lab, facts, [], "ok", "", threads, note=skip))
                    continue
                job = dict(job_common, data_dir=str(work / label.replace(" ", "_").replace("=", "")),
                           peer=peer, threads=threads, ks=ks_ds, modes=modes_ds, radius=radius_ds)
                limit = timeout if not scaling or smoke or args.timeout else SCALING_TIMEOUT
                if not smoke and ds in HEAVY_TIMEOUT and not args.timeout:
                    limit = HEAVY_TIMEOUT[ds].get(peer, HEAVY_TIMEOUT[ds]["*"])
                if args.deadline:
                    limit = max(60.0, min(limit, 60 * args.deadline - (time.time() - started)))
                t1 = time.time()
                wrows, status, msg = run_worker(job, limit)
                meta = next((r for r in wrows if r["kind"] == "meta"), None)
                if meta:
                    labels = labels_of[peer] = meta.get("labels") or [peer]
                    for lab in labels:
                        versions[lab] = meta["version"]
                else:
                    un = next((r for r in wrows if r["kind"] == "unavailable"), None)
                    for lab in labels:
                        versions.setdefault(lab, "unavailable: " + (un["reason"] if un else msg))
                for lab in labels:
                    rows = rows_for(label, lab, facts, wrows, status, msg, threads)
                    all_rows.extend(rows)
                    summary = ", ".join(
                        f"{r.get('mode', '')}{'' if r.get('k') is None else ' k=' + str(r['k'])}"
                        f"{' ' + r['measure'] if r['measure'] in ('build', 'radius') else ''}: "
                        + (f"{r['qps']:,.0f} q/s" if r.get("qps") else
                           f"{r['seconds']:.2f} s" if r.get("seconds") is not None else r["status"])
                        + ("" if r["status"] in ("ok",) else f" [{r['status']}]")
                        for r in rows)
                    log(f"  {lab:18s} {time.time() - t1:7.1f} s  {summary[:300]}")
                    for r in rows:
                        if r["status"] not in ("ok", "unsupported", "skipped"):
                            log(f"    {r['status']}: {(r.get('note') or r.get('check') or '')[:400]}")
            _write(out_dir, all_rows, info, datasets_info, versions, started, final=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    this_run = round(time.time() - started, 1)
    if started_earlier:
        info["runs"] = info["runs"] + [{"started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
                                        "seconds": this_run,
                                        "what": "appended: " + ", ".join(sorted({d for d, _ in plan}))}]
        info["seconds"] = round(sum(r.get("seconds") or 0 for r in info["runs"]), 1)
    else:
        info["seconds"] = this_run
    _write(out_dir, all_rows, info, datasets_info, versions, started, final=True)
    log(f"done in {this_run:.0f} s: {out_dir}")

    if smoke:
        bad = [r for r in all_rows if r.get("status") in ("inexact", "failed", "crashed", "timeout")]
        ran = {r["peer"] for r in all_rows if r.get("measure") in ("knn", "radius") and r.get("status") == "ok"}
        for r in bad:
            log(f"FAIL {r['dataset']} {r['peer']} {r.get('measure')} {r.get('mode', '')} k={r.get('k')}: "
                f"{r['status']}: {r.get('check') or r.get('note')}")
        if not any(p.startswith("pcct") for p in ran):
            log("FAIL: pcct did not run")
            return 1
        if bad:
            return 1
        n_checks = sum(1 for r in all_rows if r.get("measure") in ("knn", "radius") and r.get("status") == "ok")
        log(f"smoke: {n_checks} exactness checks passed ({', '.join(sorted(ran))})")
    return 0


def _write(out_dir, rows, info, datasets_info, versions, started, final):
    import report

    info = dict(info, versions=versions, datasets=datasets_info)
    if not final:
        info["seconds"] = round(time.time() - started, 1) + sum(r.get("seconds") or 0 for r in info.get("runs", []))
        info["partial"] = True
    report.write_all(out_dir, rows, info, plots=final)


if __name__ == "__main__":
    sys.exit(main())
