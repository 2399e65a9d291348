"""Sparse points side by side: pcct's NearestNeighbors fitted on a
scipy.sparse matrix against scikit-learn's brute force on the same matrix,
in one run.

    python benchmarks/sparse.py                        # 20,000 x 5,000 at 0.5%, T = 2
    python benchmarks/sparse.py --rows 5000 --tree     # with pcct's cover tree too
    python benchmarks/sparse.py --smoke                # small, for make test

The data are TF-IDF-like: rows of about density x columns terms drawn with
a Zipf popularity (a few columns in many rows, most in few), weighted by
their inverse document frequency and scaled to unit length, as
TfidfVectorizer makes them; ``--queries`` more rows drawn alike are the
queries (k = 10). For each metric, each peer fits and then answers the
queries, the calls interleaved (pcct, scikit-learn, pcct, ...) ``--reps``
times, and the best fit and query times are reported with the ratios
scikit-learn seconds / pcct seconds (above 1, pcct is faster). pcct runs
with ``n_jobs=T``, scikit-learn's brute force too. Every pcct answer is
checked against scikit-learn's (distances equal within 1e-9, indices equal
where the distances are not tied). Nothing is asserted about speed.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import scipy.sparse as sp


def tfidf_like(n, cols, density, seed):
    """n TF-IDF-like rows (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    popularity = 1 / np.arange(1, cols + 1) ** 1.07
    popularity /= popularity.sum()
    per_row = np.maximum(rng.poisson(density * cols, n), 1)
    indptr = np.concatenate([[0], np.cumsum(per_row)])
    indices = rng.choice(cols, size=int(indptr[-1]), p=popularity)
    counts = rng.integers(1, 4, indices.size).astype(np.float64)
    X = sp.csr_matrix((counts, indices, indptr), shape=(n, cols))
    X.sum_duplicates()
    df = np.bincount(X.indices, minlength=cols)
    X.data *= np.log((1 + n) / (1 + df[X.indices])) + 1
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.csr_matrix(sp.diags(1 / norms) @ X)
    # Sorted columns: scikit-learn's sparse Manhattan distances (1.9.1) are
    # wrong on rows whose columns are not (pcct sorts them itself).
    X.sort_indices()
    return X


def _check(name, ours, theirs):
    """ours: k neighbours; theirs: scikit-learn's k+1, which tell whether
    the k-th is tied with the next."""
    (d1, i1), (d2, i2) = ours, theirs
    k = d1.shape[1]
    np.testing.assert_allclose(d1, d2[:, :k], rtol=1e-9, atol=1e-9,
                               err_msg=f"{name}: distances differ")
    gap = np.diff(d2, axis=1) > 1e-9
    untied = np.ones_like(i1, dtype=bool)
    untied[:, 1:] &= gap[:, : k - 1]
    untied &= gap[:, :k]
    np.testing.assert_array_equal(i1[untied], i2[:, :k][untied],
                                  err_msg=f"{name}: indices differ")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--cols", type=int, default=5000)
    ap.add_argument("--density", type=float, default=0.005)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--metrics", default="cosine,euclidean,manhattan")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tree", action="store_true", help="also pcct's cover tree (slow on text)")
    ap.add_argument("--smoke", action="store_true", help="a small run that checks the answers")
    args = ap.parse_args(argv)
    if args.smoke:
        args.rows, args.cols, args.queries, args.reps, args.tree = 1500, 800, 100, 1, True

    from sklearn.exceptions import EfficiencyWarning
    from sklearn.neighbors import NearestNeighbors as SkNN

    import pcct

    # pcct warns that a cover tree over text prunes little: --tree shows it.
    warnings.simplefilter("ignore", EfficiencyWarning)

    X = tfidf_like(args.rows, args.cols, args.density, 1)
    Q = tfidf_like(args.queries, args.cols, args.density, 2)
    k = 10
    T = args.threads
    print(f"{args.rows:,} x {args.cols:,} TF-IDF-like rows, {X.nnz / args.rows:.1f} stored values "
          f"a row ({X.nnz / args.rows / args.cols:.2%}); {args.queries:,} queries, k={k}; "
          f"T = {T} threads; best of {args.reps}; {os.cpu_count()} CPUs")
    print()
    print("| metric | peer | index | fit s | query s | sklearn fit / fit | sklearn query / query | "
          "sklearn total / total |")
    print("|---|---|---|---|---|---|---|---|")
    for metric in args.metrics.split(","):
        peers = {
            "pcct auto": lambda: pcct.NearestNeighbors(n_neighbors=k, metric=metric, n_jobs=T),
            "pcct brute": lambda: pcct.NearestNeighbors(n_neighbors=k, metric=metric, n_jobs=T,
                                                        algorithm="brute"),
            "sklearn brute": lambda: SkNN(n_neighbors=k, metric=metric, algorithm="brute",
                                          n_jobs=T),
        }
        if args.tree:
            peers["pcct cover_tree"] = lambda: pcct.NearestNeighbors(
                n_neighbors=k, metric=metric, n_jobs=T, algorithm="cover_tree")
        best = {name: [np.inf, np.inf] for name in peers}
        answers, index = {}, {}
        for _ in range(args.reps):
            for name, make in peers.items():
                t0 = time.perf_counter()
                est = make().fit(X)
                t1 = time.perf_counter()
                answers[name] = est.kneighbors(Q)
                t2 = time.perf_counter()
                best[name] = [min(best[name][0], t1 - t0), min(best[name][1], t2 - t1)]
                index[name] = getattr(est, "effective_algorithm_", "brute")
        ref = SkNN(n_neighbors=k + 1, metric=metric, algorithm="brute", n_jobs=T).fit(X)
        ref = ref.kneighbors(Q)
        for name in peers:
            _check(f"{metric}/{name}", answers[name], ref)
        sf, sq = best["sklearn brute"]
        for name, (f, q) in best.items():
            ratios = "| | |" if name == "sklearn brute" else \
                f"{sf / f:.2f} | {sq / q:.2f} | {(sf + sq) / (f + q):.2f} |"
            print(f"| {metric} | {name} | {index[name]} | {f:.3f} | {q:.3f} | {ratios}")
    print()
    print("Every pcct answer equalled scikit-learn's (distances within 1e-9, untied indices).")


if __name__ == "__main__":
    main()
