"""Brute-force ground truth for the exactness checks, and the checks.

Ground truth is computed for a fixed random sample of query rows (all rows
of a small query set): every distance from a sampled query to every fitted
point, in float64, by the expansion |q|^2 - 2 q.x + |x|^2 to shortlist, then
recomputed exactly as sum((q - x)^2) for the shortlist, so cancellation in
the expansion cannot leak into the truth. This module needs only numpy: the
workers import it, whatever interpreter they run under.
"""

from __future__ import annotations

import numpy as np

BLOCK = 16384  # fitted points per block of the distance matrix
TARGET_RADIUS_COUNT = 30  # mean neighbours per query wanted from the radius


def tol2(dtype, q2, xmax2):
    """Tolerance on a squared distance: a few units in the last place of
    the squared norms involved, the error budget of a distance computed in
    `dtype` (by the expansion or directly) from data rounded to `dtype`."""
    eps = float(np.finfo(np.dtype(dtype)).eps)
    return 16.0 * eps * (np.asarray(q2) + xmax2) + 1e-300


def _exact_sq(q, X, idx):
    """Exact squared distances from rows q (m x d) to X[idx] (m x L)."""
    out = np.empty(idx.shape, dtype=np.float64)
    for i in range(len(q)):
        diff = X[idx[i]] - q[i]
        out[i] = np.einsum("ij,ij->i", diff, diff)
    return out


def topk(X, Qs, k, self_idx=None):
    """Exact k nearest squared distances and indices of rows Qs among X,
    leaving out X[self_idx[i]] for row i where self_idx is given."""
    n = len(X)
    m = len(Qs)
    L = min(n, k + 64 + (1 if self_idx is not None else 0))
    x2 = np.einsum("ij,ij->i", X, X)
    q2 = np.einsum("ij,ij->i", Qs, Qs)
    best_d = np.full((m, 0), np.inf)
    best_i = np.zeros((m, 0), dtype=np.int64)
    for s in range(0, n, BLOCK):
        e = min(n, s + BLOCK)
        d2 = q2[:, None] - 2.0 * (Qs @ X[s:e].T) + x2[None, s:e]
        if self_idx is not None:
            r = np.flatnonzero((self_idx >= s) & (self_idx < e))
            d2[r, self_idx[r] - s] = np.inf
        cand_d = np.concatenate([best_d, d2], axis=1)
        cand_i = np.concatenate([best_i, np.broadcast_to(np.arange(s, e), (m, e - s))], axis=1)
        if cand_d.shape[1] > L:
            part = np.argpartition(cand_d, L - 1, axis=1)[:, :L]
            cand_d = np.take_along_axis(cand_d, part, 1)
            cand_i = np.take_along_axis(cand_i, part, 1)
        best_d, best_i = cand_d, cand_i
    exact = _exact_sq(Qs, X, best_i)
    if self_idx is not None:
        exact[best_i == self_idx[:, None]] = np.inf
    order = np.argsort(exact, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(exact, order, 1), np.take_along_axis(best_i, order, 1)


def choose_radius(sorted_d2, n_fit):
    """A radius whose mean neighbour count over the sampled rows is about
    TARGET_RADIUS_COUNT (from their sorted squared distances), rounded to 3
    significant digits."""
    pooled = np.sort(sorted_d2[np.isfinite(sorted_d2)].ravel())
    want = min(len(pooled), TARGET_RADIUS_COUNT * len(sorted_d2)) - 1
    r = float(np.sqrt(pooled[max(want, 0)]))
    if r <= 0:
        r = float(np.sqrt(pooled[pooled > 0][0])) if np.any(pooled > 0) else 1.0
    return float(f"{r:.3g}")


def radius_counts(X, Qs, r, dtype, self_idx=None):
    """For each sampled row: the number of fitted points certainly within r
    (lo) and possibly within r (hi) given the float tolerance of `dtype`,
    the self point left out where self_idx is given."""
    n = len(X)
    x2 = np.einsum("ij,ij->i", X, X)
    q2 = np.einsum("ij,ij->i", Qs, Qs)
    t = tol2(dtype, q2, float(x2.max()))
    r2 = r * r
    lo = np.zeros(len(Qs), dtype=np.int64)
    hi = np.zeros(len(Qs), dtype=np.int64)
    for s in range(0, n, BLOCK):
        e = min(n, s + BLOCK)
        d2 = q2[:, None] - 2.0 * (Qs @ X[s:e].T) + x2[None, s:e]
        # the expansion's own float64 error is far below t: exact enough
        if self_idx is not None:
            rr = np.flatnonzero((self_idx >= s) & (self_idx < e))
            d2[rr, self_idx[rr] - s] = np.inf
        lo += np.count_nonzero(d2 < r2 - t[:, None], axis=1)
        hi += np.count_nonzero(d2 <= r2 + t[:, None], axis=1)
    return lo, hi


def check_knn(X, Qs, dist, ind, ref_d2, dtype, self_idx=None, eps=0.0):
    """Check a peer's k-NN answer for the sampled rows against the truth.

    dist, ind: the peer's (m x k) answer for the sampled rows, sorted by
    distance. Exact means, for every row and rank j, within the float
    tolerance of `dtype`: the reported distance equals the true j-th
    smallest distance, and the true distance to the reported index equals it
    too (so indices may differ from brute force only among ties); no index
    repeats in a row, and in the all-points mode no row names itself. With
    eps > 0 (approximate search) the reported distance must instead be the
    true distance to the reported index and at most 1+eps times the true
    j-th smallest. Returns (ok, message)."""
    if eps > 0:
        return _check_knn_eps(X, Qs, dist, ind, ref_d2, dtype, self_idx, eps)
    k = ref_d2.shape[1]
    if dist.shape != ref_d2.shape or ind.shape != ref_d2.shape:
        return False, f"answer shape {dist.shape} != expected {ref_d2.shape}"
    if np.any(ind < 0) or np.any(ind >= len(X)):
        return False, "index out of range"
    x2max = float(np.einsum("ij,ij->i", X, X).max())
    q2 = np.einsum("ij,ij->i", Qs, Qs)
    t = tol2(dtype, q2, x2max)[:, None]
    d_err = np.abs(np.asarray(dist, dtype=np.float64) ** 2 - ref_d2)
    true_d2 = _exact_sq(Qs, X, np.asarray(ind, dtype=np.int64))
    i_err = np.abs(true_d2 - ref_d2)
    bad_rows = np.flatnonzero(np.any(d_err > t, axis=1) | np.any(i_err > t, axis=1))
    s = np.sort(ind, axis=1)
    dup_rows = np.flatnonzero(np.any(s[:, 1:] == s[:, :-1], axis=1)) if k > 1 else np.array([], int)
    self_rows = (np.flatnonzero(np.any(ind == self_idx[:, None], axis=1))
                 if self_idx is not None else np.array([], int))
    if len(bad_rows) == 0 and len(dup_rows) == 0 and len(self_rows) == 0:
        rel = float(np.max(np.sqrt(d_err) / np.maximum(np.sqrt(ref_d2), 1e-300))) if k else 0.0
        return True, f"exact on {len(Qs)} sampled rows (max rel. distance error {rel:.1e})"
    parts = []
    if len(bad_rows):
        r = bad_rows[0]
        j = int(np.argmax(np.maximum(d_err[r], i_err[r])))
        parts.append(f"{len(bad_rows)}/{len(Qs)} rows differ from brute force (first: sampled row {r}, "
                     f"rank {j}: reported {float(dist[r, j]):.9g}, true {np.sqrt(ref_d2[r, j]):.9g}, "
                     f"true distance to reported index {np.sqrt(true_d2[r, j]):.9g})")
    if len(dup_rows):
        parts.append(f"{len(dup_rows)} rows repeat an index")
    if len(self_rows):
        parts.append(f"{len(self_rows)} rows name the query point itself")
    return False, "; ".join(parts)


def _check_knn_eps(X, Qs, dist, ind, ref_d2, dtype, self_idx, eps):
    """check_knn for approximate answers: true distances, within 1+eps of
    the true ranks, no repeats, no self."""
    if dist.shape != ref_d2.shape or ind.shape != ref_d2.shape:
        return False, f"answer shape {dist.shape} != expected {ref_d2.shape}"
    if np.any(ind < 0) or np.any(ind >= len(X)):
        return False, "index out of range"
    x2max = float(np.einsum("ij,ij->i", X, X).max())
    t = tol2(dtype, np.einsum("ij,ij->i", Qs, Qs), x2max)[:, None]
    d2 = np.asarray(dist, dtype=np.float64) ** 2
    true_d2 = _exact_sq(Qs, X, np.asarray(ind, dtype=np.int64))
    wrong = np.flatnonzero(np.any(np.abs(true_d2 - d2) > t, axis=1))
    far = np.flatnonzero(np.any(d2 > ref_d2 * (1 + eps) ** 2 + t, axis=1))
    s = np.sort(ind, axis=1)
    dup = np.flatnonzero(np.any(s[:, 1:] == s[:, :-1], axis=1)) if ind.shape[1] > 1 else []
    selfr = (np.flatnonzero(np.any(ind == self_idx[:, None], axis=1))
             if self_idx is not None else [])
    if len(wrong) == 0 and len(far) == 0 and len(dup) == 0 and len(selfr) == 0:
        worst = float(np.max(np.sqrt(d2 / np.maximum(ref_d2, 1e-300)))) if d2.size else 1.0
        return True, (f"within 1+eps={1 + eps:g} on {len(Qs)} sampled rows "
                      f"(largest ratio to the true distance {worst:.3f})")
    return False, (f"{len(wrong)} rows report a wrong distance, {len(far)} exceed 1+eps={1 + eps:g} "
                   f"times the true one, {len(dup)} repeat an index, {len(selfr)} name the query")


def check_radius(X, Qs, r, counts, rows, lo, hi, dtype, self_idx=None):
    """Check a radius answer: counts[i] between lo and hi (the float
    tolerance band at r) and every listed neighbour (rows[i]: index array)
    truly within r (+ tolerance), without repeats or self."""
    bad = np.flatnonzero((counts < lo) | (counts > hi))
    x2max = float(np.einsum("ij,ij->i", X, X).max())
    wrong = 0
    for i, idx in enumerate(rows):
        idx = np.asarray(idx, dtype=np.int64)
        if len(idx) != counts[i] or len(np.unique(idx)) != len(idx):
            wrong += 1
            continue
        if self_idx is not None and np.any(idx == self_idx[i]):
            wrong += 1
            continue
        if len(idx):
            diff = X[idx] - Qs[i]
            d2 = np.einsum("ij,ij->i", diff, diff)
            t = tol2(dtype, float(Qs[i] @ Qs[i]), x2max)
            if np.any(d2 > r * r + t):
                wrong += 1
    if len(bad) == 0 and wrong == 0:
        return True, f"exact on {len(Qs)} sampled rows"
    msg = []
    if len(bad):
        i = bad[0]
        msg.append(f"{len(bad)}/{len(Qs)} counts outside the brute-force band (first: sampled row {i}: "
                   f"{int(counts[i])} not in [{int(lo[i])}, {int(hi[i])}])")
    if wrong:
        msg.append(f"{wrong} rows list a point outside r, a repeat or the query itself")
    return False, "; ".join(msg)
