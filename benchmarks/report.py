"""Results of a benchmark run: results.csv (raw), machine.json, results.md
and PNG plots (when matplotlib is installed).

``python benchmarks/report.py DIR`` re-renders results.md and the plots
from DIR/results.csv and DIR/machine.json.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

COLUMNS = ["dataset", "n", "d", "peer", "threads", "dtype", "measure", "mode", "k", "radius",
           "queries", "status", "seconds", "qps", "runs", "evals_per_query", "build_evaluations",
           "mean_count", "index_mb", "tree_bytes", "rss_base_mb", "rss_after_build_mb", "rss_peak_mb", "check", "note",
           "peer_version", "threads_note", "self_mode", "algorithm"]

MARK = {"unavailable": "n/a", "skipped": "cap", "unsupported": "—", "timeout": "timeout",
        "failed": "failed", "crashed": "crashed", "inexact": "INEXACT"}


def write_all(out_dir, rows, info, plots=True):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({c: _csv(r.get(c)) for c in COLUMNS})
    (out_dir / "machine.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    images = []
    if plots:
        images = make_plots(out_dir, rows, info)
    (out_dir / "results.md").write_text(markdown(rows, info, images))


def _csv(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return v


def read(out_dir):
    out_dir = Path(out_dir)
    with open(out_dir / "results.csv") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for c in ("n", "d", "threads", "k", "queries", "runs", "build_evaluations", "tree_bytes"):
            if r.get(c):
                r[c] = int(float(r[c]))
            else:
                r[c] = None
        for c in ("radius", "seconds", "qps", "evals_per_query", "mean_count", "index_mb", "rss_base_mb",
                  "rss_after_build_mb", "rss_peak_mb"):
            r[c] = float(r[c]) if r.get(c) else None
    info = json.loads((out_dir / "machine.json").read_text())
    return rows, info


# ---------------------------------------------------------------- tables

def _peers(rows):
    seen = []
    for r in rows:
        if r["peer"] != "*" and r["peer"] not in seen:
            seen.append(r["peer"])
    return seen


def _datasets(rows, scaling):
    seen = []
    for r in rows:
        is_scaling = " n=" in r["dataset"]
        if is_scaling == scaling and r["dataset"] not in seen:
            seen.append(r["dataset"])
    return seen


def _find(rows, ds, peer, measure, mode=None, k=None):
    for r in rows:
        if r["dataset"] == ds and r["peer"] == peer and r.get("measure") == measure:
            if mode is not None and r.get("mode") != mode:
                continue
            if k is not None and r.get("k") != k:
                continue
            return r
    # whole-peer rows (unavailable / skipped / crashed before any result)
    for r in rows:
        if r["dataset"] == ds and r["peer"] == peer and r.get("measure") in ("all", "rest"):
            return r
    return None


def _fmt_rate(v):
    if v is None:
        return ""
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 1:
        return f"{v:.1f}"
    return f"{v:.3g}"


def _timeout_bound(r, rows):
    """For a peer stopped by the time limit before answering: an upper
    bound on its throughput, queries / (limit - build seconds), for the
    first question it was asked (the one the table shows for Fashion-MNIST)."""
    import re

    m = re.search(r"stopped after (\d+) s", r.get("note") or "")
    if not m:
        return None
    limit = float(m.group(1))
    b = next((x for x in rows if x["dataset"] == r["dataset"] and x["peer"] == r["peer"]
              and x.get("measure") == "build" and x.get("seconds")), None)
    build = b["seconds"] if b else 0.0
    q = next((x.get("queries") for x in rows if x["dataset"] == r["dataset"] and x.get("queries")), None)
    if not q or limit <= build:
        return None
    return q / (limit - build)


def cell_qps(r, rows=None):
    if r is None:
        return ""
    st = r.get("status")
    if st == "timeout" and rows is not None:
        bound = _timeout_bound(r, rows)
        if bound:
            return f"timeout (< {_fmt_rate(bound)})"
    if st == "ok" and r.get("qps"):
        return _fmt_rate(r["qps"])
    if st == "inexact" and r.get("qps"):
        return f"{_fmt_rate(r['qps'])} INEXACT"
    return MARK.get(st, st or "")


def _qps(rows, ds, peer, mode, k):
    r = _find(rows, ds, peer, "knn", mode, k)
    if r and r.get("status") == "ok" and r.get("qps"):
        return r["qps"]
    return None


def _pcct_main(peers):
    for p in ("pcct", "pcct depth_first", "pcct cover_tree", "pcct corrected"):
        if p in peers:
            return p
    return None


def headline(rows, info):
    """The summary table: pcct (the default estimator) q/s, the index it
    built, and its q/s divided by each peer's, k=10, every fitted point
    queried; Fashion-MNIST (whose full run asks only that) with its
    held-out test images."""
    peers = _peers(rows)
    pm = _pcct_main(peers)
    if pm is None:
        return ""
    others = [p for p in peers if p != pm]
    L = ["| dataset (k=10) | pcct q/s | index | " + " | ".join(f"÷ {p}" for p in others) + " |",
         "|---|---|---|" + "---|" * len(others)]
    for ds in _datasets(rows, scaling=False):
        if ds not in info.get("datasets", {}):
            continue
        for mode, what in (("all", "all points"), ("heldout", "held-out")):
            a = _qps(rows, ds, pm, mode, 10)
            if mode == "heldout" and (ds != "fashion-mnist"):
                continue
            if mode == "all" and a is None and _find(rows, ds, pm, "knn", "all", 10) is None:
                continue
            cells = []
            for p in others:
                b = _qps(rows, ds, p, mode, 10)
                if a and b:
                    cells.append(f"{a / b:.2f}")
                else:
                    r = _find(rows, ds, p, "knn", mode, 10)
                    bound = _timeout_bound(r, rows) if r is not None and r.get("status") == "timeout" else None
                    if a and bound:
                        cells.append(f"> {a / bound:.2f} (timeout)")
                    else:
                        cells.append(cell_qps(r, rows) if r is not None and r.get("status") != "ok" else "")
            pc = cell_qps(_find(rows, ds, pm, "knn", mode, 10))
            b = _find(rows, ds, pm, "build") or {}
            L.append(f"| {ds}, {what} | {pc} | {b.get('algorithm') or ''} | " + " | ".join(cells) + " |")
    return "\n".join(L) + "\n"


def markdown(rows, info, images=()):
    peers = _peers(rows)
    real = _datasets(rows, scaling=False)
    scal = _datasets(rows, scaling=True)
    L = []
    L.append("# pcct benchmark results\n")
    partial = " (partial: the run is still going or was cut short)" if info.get("partial") else ""
    L.append(f"Mode: **{info.get('mode')}**{partial}. pcct at commit {info.get('pcct_commit', '?')}. "
             f"Started {info.get('started')}, "
             f"took {info.get('seconds', 0) / 60:.1f} min.\n")
    for run in info.get("runs", []):
        L.append(f"- run started {run.get('started')}: {(run.get('seconds') or 0) / 60:.1f} min ({run.get('what')})")
    if info.get("runs"):
        L.append("")
    L.append(f"Machine: {info.get('cpu')}, {info.get('cores')} cores ({info.get('usable_cpus')} usable), "
             f"{info.get('memory')} RAM, {info.get('os')}. Python {info.get('python')}, "
             f"numpy {info.get('numpy')}.\n")
    L.append(f"**Thread count T = {info.get('threads')} for every peer** that can use threads "
             "(see the peers table). Timing: "
             + (f"a warm-up call, then the best of {info.get('reps')} timed calls (a call longer than "
                "20 s is timed once, without warm-up)." if info.get("warmup") else "one call, no warm-up.")
             + " q/s = queries answered per second of wall time.\n")
    L.append("Produced by `make bench` (benchmarks/run.py). Raw numbers: results.csv; machine and "
             "versions: machine.json.\n")

    hl = headline(rows, info)
    if hl:
        L.append("## Headline: pcct's throughput divided by each peer's\n")
        L.append(f"k=10; > 1 means pcct ({_pcct_main(peers)}) answers more queries per second. "
                 "Every fitted point queried, except Fashion-MNIST: its 10,000 held-out test images. "
                 "A word instead of a number: the peer was not measured there (see the end).\n")
        L.append(hl)
    L.append("## Peers\n")
    L.append("| peer | version | threads | dtype | all-points k-NN (X=None) |")
    L.append("|---|---|---|---|---|")
    for p in peers:
        r = next((x for x in rows if x["peer"] == p and x.get("peer_version")), None)
        if r is None:
            u = next((x for x in rows if x["peer"] == p and x.get("status") == "unavailable"), None)
            why = u["note"] if u else (info.get("versions", {}).get(p, ""))
            L.append(f"| {p} | not run: {why} | | | |")
        else:
            L.append(f"| {p} | {r['peer_version']} | {r.get('threads_note', '')} | {r.get('dtype', '')} | "
                     f"{r.get('self_mode', '')} |")
    L.append("")

    if real:
        L.append("## Datasets\n")
        L.append("| dataset | n fitted | d | held-out queries | split | radius (mean neighbours) |")
        L.append("|---|---|---|---|---|---|")
        dsi = info.get("datasets", {})
        for ds in real:
            f = dsi.get(ds)
            if not f:
                why = next((x.get("note", "") for x in rows if x["dataset"] == ds), "")
                L.append(f"| {ds} | skipped: {why} | | | | |")
                continue
            plan = f" ({f['plan']})" if f.get("plan") else ""
            L.append(f"| {ds} | {f['n']:,} | {f['d']} | {f['n_heldout']:,} | {f['split']}{plan} | "
                     f"{f['radius']:g} ({f['radius_mean_count_sample']:.1f}) |")
        L.append("")

    pm = _pcct_main(peers)
    for mode, title in (("all", "all fitted points queried (X=None: each point's neighbours among the others)"),
                        ("heldout", "held-out queries")):
        if not real:
            break
        L.append(f"## k-NN throughput, k=10, {title}\n")
        L.append("Queries per second (higher is better).\n")
        L.append("| dataset | " + " | ".join(peers) + " |")
        L.append("|---|" + "---|" * len(peers))
        for ds in real:
            L.append(f"| {ds} | " + " | ".join(cell_qps(_find(rows, ds, p, "knn", mode, 10), rows)
                                               for p in peers) + " |")
        L.append("")
        if pm:
            others = [p for p in peers if p != pm]
            L.append(f"Ratio {pm} / peer (> 1: pcct is faster):\n")
            L.append("| dataset | " + " | ".join(others) + " |")
            L.append("|---|" + "---|" * len(others))
            for ds in real:
                a = _qps(rows, ds, pm, mode, 10)
                cells = []
                for p in others:
                    b = _qps(rows, ds, p, mode, 10)
                    cells.append(f"{a / b:.2f}" if a and b else "")
                L.append(f"| {ds} | " + " | ".join(cells) + " |")
            L.append("")

    for img in images:
        L.append(f"![{img}]({img})\n")

    if real:
        L.append("## Per dataset\n")
        L.append("Build in seconds; k-NN and radius in queries per second. index MiB: growth of the "
                 "worker's resident set during the build (the index and what the build kept); "
                 "peak MiB: the worker's peak resident set over build and all queries (ru_maxrss, "
                 "including Python, the libraries and the data). B/pt: index MiB per fitted "
                 "point, in bytes; tree B/pt: the bytes pcct's tree refers to per point, as "
                 "its stats() counts them (node records, coordinates, child and id lists). "
                 "evals/q: pcct's distance evaluations per query (all points, k=10; brute force "
                 "counts every point screened). index: the index pcct built (algorithm=\"auto\" "
                 "chooses).\n")
        for ds in real:
            if ds not in info.get("datasets", {}):
                continue
            f = info["datasets"][ds]
            L.append(f"### {ds} ({f['n']:,} x {f['d']}, {f['n_heldout']:,} held-out, radius {f['radius']:g})\n")
            cols = ["build s"] + [f"{m} k={k}" for m in ("all", "held-out") for k in (1, 10, 100)] + \
                   ["radius all", "radius held-out", "mean in r", "index MiB", "B/pt", "tree B/pt",
                    "peak MiB", "evals/q", "index"]
            L.append("| peer | " + " | ".join(cols) + " |")
            L.append("|---|" + "---|" * len(cols))
            for p in peers:
                b = _find(rows, ds, p, "build")
                if b is None:
                    continue
                if b.get("measure") in ("all", "rest"):
                    L.append(f"| {p} | {MARK.get(b['status'], b['status'])}: {b.get('note', '')[:120]} |"
                             + " |" * (len(cols) - 1))
                    continue
                cells = [f"{b['seconds']:.3g}" if b.get("seconds") is not None else MARK.get(b["status"], "")]
                for m in ("all", "heldout"):
                    for k in (1, 10, 100):
                        cells.append(cell_qps(_find(rows, ds, p, "knn", m, k)))
                ra = _find(rows, ds, p, "radius", "all")
                rh = _find(rows, ds, p, "radius", "heldout")
                cells += [cell_qps(ra), cell_qps(rh)]
                cells.append(f"{ra['mean_count']:.1f}" if ra and ra.get("mean_count") is not None else "")
                cells.append(f"{b['index_mb']:,.1f}" if b.get("index_mb") is not None else "")
                cells.append(f"{b['index_mb'] * 2**20 / f['n']:,.0f}" if b.get("index_mb") is not None else "")
                cells.append(f"{float(b['tree_bytes']) / f['n']:,.0f}" if b.get("tree_bytes") not in (None, "") else "")
                pk, base = b.get("rss_peak_mb"), b.get("rss_base_mb")
                if pk is None:
                    cells.append("")
                elif base is not None and pk <= base + 1:
                    # the peak never rose above the starting high-water mark
                    cells.append(f"≤ {pk:,.0f}")
                else:
                    cells.append(f"{pk:,.0f}")
                e = _find(rows, ds, p, "knn", "all", 10) or _find(rows, ds, p, "knn", "heldout", 10)
                cells.append(f"{float(e['evals_per_query']):,.0f}" if e and e.get("evals_per_query") else "")
                cells.append(b.get("algorithm") or "")
                L.append(f"| {p} | " + " | ".join(cells) + " |")
            L.append("")

    if scal:
        L.append("## Scaling series (all points, k=10)\n")
        fams = []
        for ds in scal:
            fam = ds.split(" n=")[0]
            if fam not in fams:
                fams.append(fam)
        for fam in fams:
            sub = [ds for ds in scal if ds.startswith(fam + " n=")]
            L.append(f"### {fam}: build seconds / all-points k=10 queries per second\n")
            L.append("| n | " + " | ".join(peers) + " |")
            L.append("|---|" + "---|" * len(peers))
            for ds in sub:
                cells = []
                for p in peers:
                    b = _find(rows, ds, p, "build")
                    q = _find(rows, ds, p, "knn", "all", 10)
                    if b is None:
                        cells.append("")
                    elif b.get("measure") in ("all", "rest") and b.get("seconds") is None:
                        cells.append(MARK.get(b["status"], b["status"]))
                    else:
                        bs = f"{b['seconds']:.3g}" if b.get("seconds") is not None else MARK.get(b["status"], "")
                        cells.append(f"{bs} / {cell_qps(q)}")
                L.append(f"| {int(ds.split(' n=')[1]):,} | " + " | ".join(cells) + " |")
            L.append("")

    problems = [r for r in rows if r.get("status") not in ("ok", None, "")]
    if problems:
        L.append("## Not measured, failed or inexact\n")
        L.append("| dataset | peer | what | status | reason |")
        L.append("|---|---|---|---|---|")
        seen = set()
        for r in problems:
            what = r.get("measure", "")
            if r.get("mode"):
                what += f" {r['mode']}"
            if r.get("k"):
                what += f" k={r['k']}"
            reason = (r.get("note") or r.get("check") or "").replace("|", "/").replace("\n", " ")
            key = (r["peer"], r["status"], reason) if r["status"] in ("unavailable", "unsupported") else id(r)
            if key in seen:
                continue
            seen.add(key)
            ds = r["dataset"] if r["status"] not in ("unavailable", "unsupported") else "all datasets"
            L.append(f"| {ds} | {r['peer']} | {what} | {r['status']} | {reason[:400]} |")
        L.append("")

    L.append("## Method\n")
    L.append(METHOD)
    return "\n".join(L) + "\n"


METHOD = """\
- Every (dataset, peer) pair runs in a fresh Python process, started by
  benchmarks/run.py and running benchmarks/worker.py, with OMP_NUM_THREADS,
  OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and GOMAXPROCS set to T and
  threadpoolctl limiting BLAS/OpenMP pools to T. A process that exceeds its
  time limit is killed and the rest of its row reads "timeout".
- Build: the time to construct the index from a float64 array already in
  memory (faiss: converting to float32 and `add`; mlpack: a search with one
  query, since its Python binding builds and searches in one call).
- k-NN, all points: every fitted point is a query and its own match is not
  an answer (scikit-learn's `kneighbors(X=None)`). pcct and scikit-learn do
  this natively and mlpack's monochromatic search leaves the point out
  itself; cKDTree, faiss and covertreex are asked for k+1 neighbours of the
  data and the query's own index is dropped from each row inside the timed
  call (the last column where duplicates of the point pushed it out).
- k-NN, held-out: the dataset's test split, or a fixed random 10% of the rows
  (seeded) held out before fitting; synthetic sets draw fresh points.
- Radius: one radius per dataset, chosen from brute force so that a query
  has about 30 neighbours on average (the mean count is in the tables).
  Peers that list the query point itself in the all-points mode have it
  removed after timing.
- Memory, two numbers per worker: "index" is the growth of the resident set
  (/proc/self/statm) from just before to just after the build, i.e. the
  index and whatever the build kept (for faiss, its float32 copy of the
  data); "peak" is the worker's high-water mark over the build and all
  queries (VmHWM), result arrays, Python, the libraries and the data
  included. Fresh processes keep one peer's memory from another's.
  Rows measured with ru_maxrss instead (runs before VmHWM was used) start
  from the parent's resident set at the fork, which Linux carries over
  exec: there a peak that never rose above that start is shown as "≤".
- Exactness: for a fixed random sample of up to 1,000 query rows per mode,
  the truth is brute force in float64 (a BLAS shortlist, then each
  candidate distance recomputed as sum((q - x)^2)). A peer's row is exact
  when, at every rank, its reported distance and the true distance to its
  reported index both equal the true rank-th distance within the float
  tolerance of the peer's dtype (16 ulp of |q|^2 + max|x|^2 on the squared
  distance), no index repeats and no query names itself. Indices may differ
  from brute force only among tied distances. Radius answers are exact when
  each count lies within the tolerance band at r and every listed point is
  within r. A peer that fails is reported as INEXACT with its numbers, not
  as exact.
- pcct's distance evaluations per query: the change of
  `tree_.stats()["query_distance_evaluations"]` over the timed calls,
  divided by calls x queries (brute force counts every point it screens).
- pcct's rows: "pcct" is the default estimator, `algorithm="auto"`, and the
  index it chose is in the "index" column; "pcct cover_tree" and "pcct
  brute" ask for each index; "pcct corrected" is the cover tree's corrected
  search and "pcct eps=0.5" its approximate search (`CoverTree.query(eps=0.5)`,
  checked against its guarantee: every distance true, and at most 1.5 times
  the true one at its rank, instead of exact), both on the cover tree's
  build.
- faiss computes in float32 (its data are converted once at build), and
  covertreex converts to float32 itself; every other peer gets float64.
"""


# ---------------------------------------------------------------- plots

def make_plots(out_dir, rows, info):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    images = []
    peers = _peers(rows)
    real = [ds for ds in _datasets(rows, scaling=False) if ds in info.get("datasets", {})]
    colors = {p: plt.cm.tab10(i % 10) for i, p in enumerate(peers)}
    if real:
        fig, axes = plt.subplots(2, 1, figsize=(max(8, 1.6 * len(real)), 8.5), sharex=True)
        width = 0.8 / max(1, len(peers))
        for ax, (mode, title) in zip(axes, (("all", "all fitted points (X=None)"), ("heldout", "held-out queries"))):
            for j, p in enumerate(peers):
                xs, ys = [], []
                for i, ds in enumerate(real):
                    v = _qps(rows, ds, p, mode, 10)
                    if v:
                        xs.append(i + (j - (len(peers) - 1) / 2) * width)
                        ys.append(v)
                if xs:
                    ax.bar(xs, ys, width=width, label=p, color=colors[p])
            ax.set_yscale("log")
            ax.set_ylabel("queries / s (log)")
            ax.set_title(f"k=10 throughput, {title}, T={info.get('threads')} threads")
            ax.grid(axis="y", which="both", alpha=0.3)
        axes[-1].set_xticks(range(len(real)))
        axes[-1].set_xticklabels([f"{ds}\n{info['datasets'][ds]['n']:,}x{info['datasets'][ds]['d']}" for ds in real])
        axes[0].legend(ncol=min(5, len(peers)), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 1.35))
        fig.tight_layout()
        fig.savefig(Path(out_dir) / "throughput_k10.png", dpi=110)
        plt.close(fig)
        images.append("throughput_k10.png")
    scal = _datasets(rows, scaling=True)
    fams = []
    for ds in scal:
        fam = ds.split(" n=")[0]
        if fam not in fams:
            fams.append(fam)
    if fams:
        fig, axes = plt.subplots(2, len(fams), figsize=(6.5 * len(fams), 9), squeeze=False)
        for c, fam in enumerate(fams):
            sub = [ds for ds in scal if ds.startswith(fam + " n=")]
            for p in peers:
                ns, bt, qt = [], [], []
                for ds in sub:
                    n = int(ds.split(" n=")[1])
                    b = _find(rows, ds, p, "build")
                    q = _find(rows, ds, p, "knn", "all", 10)
                    if b and b.get("measure") == "build" and b.get("seconds") and q and q.get("status") == "ok":
                        ns.append(n)
                        bt.append(b["seconds"])
                        qt.append(q["seconds"])
                if ns:
                    axes[0, c].plot(ns, qt, "o-", label=p, color=colors[p])
                    axes[1, c].plot(ns, bt, "o-", label=p, color=colors[p])
            d = next((info["datasets"][ds]["d"] for ds in sub if ds in info.get("datasets", {})), "?")
            axes[0, c].set_title(f"{fam} (d={d}): all-points k=10 query time")
            axes[1, c].set_title(f"{fam}: build time")
            for ax in axes[:, c]:
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.set_xlabel("n (points fitted = queries)")
                ax.set_ylabel("seconds (log)")
                ax.grid(which="both", alpha=0.3)
        axes[0, 0].legend(fontsize=8)
        fig.suptitle(f"Scaling, T={info.get('threads')} threads")
        fig.tight_layout()
        fig.savefig(Path(out_dir) / "scaling.png", dpi=110)
        plt.close(fig)
        images.append("scaling.png")
    return images


def _isnum(x):
    return isinstance(x, (int, float)) and not math.isnan(x)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    d = Path(args[0] if args else Path(__file__).resolve().parent / "results")
    rows, info = read(d)
    if "--headline" in sys.argv:
        print(headline(rows, info))
    else:
        write_all(d, rows, info, plots=True)
        print(f"rendered {d / 'results.md'}")
