"""The GPU benchmark of `make gpu-check`: pcct's exact GPU search beside
torch's GEMM + topk, measured in the same run on the same GPU.

pcct's figures come from the Go benchmark BenchmarkGPUKNearest
(gpu/cuda_test.go), whose output is passed with --go-bench: 10,000 float32
queries of random Gaussian data, k=10 on 1,000,000 x 16, 1,000,000 x 128
and 60,000 x 784, and on 1,000,000 x 16 also k=1000 and a radius search.
This script measures torch on the same shapes (data of the same
distribution, made here) and prints one table with the ratios.

torch's search: the points on the GPU, queries copied in by chunks,
|q|^2 - 2 q.x + |x|^2 by a GEMM, torch.topk (or a comparison with r^2 for
the radius), answers copied back to the host: the approximate answer that
pcct's is measured against (pcct's is exact: same answers as its CPU).
"""

from __future__ import annotations

import argparse
import re
import sys
import time

import numpy as np

NQ = 10_000
SHAPES = [(1_000_000, 16), (1_000_000, 128), (60_000, 784)]
# The anchors, measured on an H200 on 2026-11-29 (torch 2.11).
ANCHOR = {(1_000_000, 16): 54_617, (1_000_000, 128): 42_513, (60_000, 784): 313_419}


def parse_go(path):
    """{(n, dim, what): (queries/s, extra metrics)} from `go test -bench`."""
    out = {}
    if not path:
        return out
    try:
        text = open(path).read()
    except OSError:
        return out
    for line in text.splitlines():
        m = re.match(r"BenchmarkGPUKNearest/n=(\d+)/dim=(\d+)/(\S+?)(?:-\d+)?\s+\d+\s+(.*)$", line)
        if not m:
            continue
        n, dim, what, rest = int(m[1]), int(m[2]), m[3], m[4]
        metrics = {unit: float(v) for v, unit in re.findall(r"([\d.e+-]+) (\S+)", rest)}
        out[(n, dim, what)] = metrics
    return out


def torch_bench(torch, n, dim, k=None, radius=None, repeats=3):
    """Queries per second of torch's GEMM + topk (or radius) search."""
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(n + dim)
    X = torch.randn(n, dim, device=dev, generator=g, dtype=torch.float32)
    Q = torch.randn(NQ, dim, generator=torch.Generator().manual_seed(1), dtype=torch.float32)
    Q = Q.pin_memory()
    xn = (X * X).sum(1)
    # A chunk of queries whose distance matrix takes at most 8 GiB.
    chunk = max(1, min(NQ, (8 << 30) // (4 * n)))

    def run():
        results = []
        for lo in range(0, NQ, chunk):
            q = Q[lo:lo + chunk].to(dev, non_blocking=True)
            d = (q * q).sum(1, keepdim=True) - 2 * (q @ X.T) + xn
            if radius is None:
                v, i = torch.topk(d, k, dim=1, largest=False)
                results.append((v.sqrt_().cpu(), i.cpu()))
            else:
                rows, cols = torch.nonzero(d <= radius * radius, as_tuple=True)
                results.append((rows.cpu(), cols.cpu()))
        torch.cuda.synchronize()
        return results

    run()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        torch.cuda.synchronize()
        t = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t)
    del X, xn
    torch.cuda.empty_cache()
    return NQ / best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--go-bench", default="", help="output of go test -bench GPUKNearest")
    ap.add_argument("--out", default="", help="write the table (markdown) here too")
    args = ap.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("torch is not installed: no comparison", file=sys.stderr)
        return 1
    if not torch.cuda.is_available():
        print("torch sees no GPU", file=sys.stderr)
        return 1
    go = parse_go(args.go_bench)
    name = torch.cuda.get_device_name(0)
    rows = []
    for n, dim in SHAPES:
        cases = [("k=10", 10, None)]
        if dim == 16:
            cases.append(("k=1000", 1000, None))
            r = go.get((n, dim, "radius"), {}).get("radius")
            cases.append(("radius", None, r if r else 4.0))
        for what, k, r in cases:
            t = torch_bench(torch, n, dim, k=k, radius=r)
            p = go.get((n, dim, what), {}).get("queries/s")
            label = what if what != "radius" else f"radius r={r:.3g}"
            extra = ""
            if what == "radius" and (n, dim, what) in go:
                extra = f" ({go[(n, dim, what)].get('answers/query', 0):.0f} answers/query)"
            rows.append((f"{n:,} x {dim}", label + extra, p, t, ANCHOR.get((n, dim)) if what == "k=10" else None))
    lines = [
        f"GPU: {name}; torch {torch.__version__}; {NQ:,} float32 queries, random Gaussian data",
        "",
        "| data | search | pcct (exact) q/s | torch GEMM+topk q/s | pcct / torch | torch anchor (2026-11-29) |",
        "|---|---|---|---|---|---|",
    ]
    for data, what, p, t, anchor in rows:
        ps = f"{p:,.0f}" if p else "not measured"
        ratio = f"{p / t:.2f}" if p else "-"
        lines.append(f"| {data} | {what} | {ps} | {t:,.0f} | {ratio} | {f'{anchor:,}' if anchor else '-'} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
