"""Smoke test of an installed pcct wheel (run by `make wheel-check`).

Runs in a fresh virtual environment where the wheel was installed, with a
PATH that holds no go and no C compiler: it checks that, then fits, queries
(k nearest and radius, float64 and float32, data full of duplicates and
ties), updates, saves and loads, and compares every answer with brute force
computed here with numpy. Prints 'wheel smoke: N passed, 0 failed'.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile

import numpy as np

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok    " if ok else "FAIL  ") + name + (f": {detail}" if detail and not ok else ""))


def brute_kneighbors(X, Q, k):
    """Exact k nearest by (distance, index), in float64."""
    d = np.sqrt(((Q[:, None, :].astype(np.float64) - X[None, :, :].astype(np.float64)) ** 2).sum(-1))
    order = np.lexsort((np.broadcast_to(np.arange(len(X)), d.shape), d), axis=1)[:, :k]
    return np.take_along_axis(d, order, axis=1), order


def main():
    check("no go on PATH", shutil.which("go") is None, shutil.which("go") or "")
    compilers = [c for c in ("cc", "gcc", "clang") if shutil.which(c)]
    check("no C compiler on PATH", not compilers, ", ".join(compilers))

    import pcct

    here = os.path.dirname(os.path.abspath(pcct.__file__))
    check("pcct is imported from the environment, not a checkout",
          os.path.commonpath([here, sys.prefix]) == sys.prefix, here)
    check("PCCT_LIBRARY is not set", "PCCT_LIBRARY" not in os.environ)
    print("       " + pcct.library_version())

    rng = np.random.default_rng(0)
    X = rng.integers(0, 6, size=(3000, 5)).astype(np.float64)  # duplicates and ties
    Q = rng.integers(0, 6, size=(400, 5)).astype(np.float64)
    k = 8
    nn = pcct.NearestNeighbors(n_neighbors=k, n_jobs=2).fit(X)
    dist, ind = nn.kneighbors(Q)
    bd, bi = brute_kneighbors(X, Q, k)
    check("kneighbors equals brute force (float64)", np.allclose(dist, bd, rtol=0, atol=1e-12)
          and np.array_equal(ind, bi))

    X32, Q32 = (X / 7).astype(np.float32), (Q / 7).astype(np.float32)
    d32, i32 = pcct.NearestNeighbors(n_neighbors=k).fit(X32).kneighbors(Q32)
    bd32, _ = brute_kneighbors(X32, Q32, k)
    check("kneighbors distances equal brute force (float32)",
          d32.dtype == np.float32 and np.allclose(d32, bd32, rtol=2e-6, atol=1e-6))

    rd, ri = nn.radius_neighbors(Q, radius=1.5, sort_results=True)
    full = np.sqrt(((Q[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    ok = all(np.array_equal(np.sort(ri[q]), np.flatnonzero(full[q] <= 1.5)) for q in range(len(Q)))
    check("radius_neighbors equals brute force", ok)

    new = nn.insert(Q[:50])
    nn.delete(np.arange(0, 3000, 3))
    live = nn.ids_
    allX = np.vstack([X, Q[:50]])
    d2, i2 = nn.kneighbors(Q)
    bd2, bi2 = brute_kneighbors(allX[live], Q, k)
    check("insert and delete: answers equal brute force on the live points",
          np.array_equal(new, np.arange(3000, 3050)) and np.array_equal(i2, live[bi2])
          and np.allclose(d2, bd2, rtol=0, atol=1e-12))

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.pcct")
        nn.save(path)
        back = pcct.load(path)
    d3, i3 = back.kneighbors(Q)
    check("save and load: identical answers", np.array_equal(d3, d2) and np.array_equal(i3, i2))
    buf = io.BytesIO()
    import pickle

    pickle.dump(nn, buf)
    d4, i4 = pickle.loads(buf.getvalue()).kneighbors(Q)
    check("pickle round trip: identical answers", np.array_equal(d4, d2) and np.array_equal(i4, i2))

    failed = results.count(False)
    print(f"wheel smoke: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
