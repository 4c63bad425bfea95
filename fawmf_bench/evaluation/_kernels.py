"""Numba kernels of the full-ranking evaluation (one block of scored users at a time).

Ranking order: item a precedes item b when s_a > s_b, or s_a == s_b and a < b (ties go to
the lower item index). Candidates are all items except the user's excluded (training) items.
The rank of a truth item t is

    rank(t) = 1 + #{candidate j : s_j > s_t  or  (s_j == s_t and j < t)}.

Kernels write problems into ``flags`` (per block row) instead of raising inside ``prange``:
``FLAG_NAN`` (a NaN anywhere in the user's score row), ``FLAG_OVERLAP`` (a truth item is also an
excluded item). The NumPy references live in :mod:`fawmf_bench.evaluation.ranking`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

FLAG_NAN = 1
FLAG_OVERLAP = 2
#: truth lists up to this length are ranked by direct counting, longer ones by histogram
DIRECT_MAX_TRUTH = 128


@njit(cache=True, inline="always")
def _precedes(score_a, item_a, score_b, item_b) -> bool:
    """True when item a is ranked before item b (higher score, ties to the lower index)."""
    return score_a > score_b or (score_a == score_b and item_a < item_b)


@njit(cache=True)
def _direct_ranks(row, excluded, truth_items, out):
    """rank(t) by counting: #{all j: s_j > s_t} + #{j < t: s_j == s_t} minus the excluded
    items that precede t. O(|T_u| m) in vectorised passes over the row, four truth items
    per pass; fastest for short truth lists."""
    n_items = row.shape[0]
    n_truth = truth_items.shape[0]
    k = 0
    while k + 4 <= n_truth:
        s0, s1 = row[truth_items[k]], row[truth_items[k + 1]]
        s2, s3 = row[truth_items[k + 2]], row[truth_items[k + 3]]
        a0 = a1 = a2 = a3 = 0
        for j in range(n_items):
            v = row[j]
            a0 += v > s0
            a1 += v > s1
            a2 += v > s2
            a3 += v > s3
        out[k], out[k + 1], out[k + 2], out[k + 3] = a0, a1, a2, a3
        k += 4
    while k < n_truth:
        s = row[truth_items[k]]
        ahead = 0
        for j in range(n_items):
            ahead += row[j] > s
        out[k] = ahead
        k += 1
    for k in range(n_truth):
        t = truth_items[k]
        s = row[t]
        ahead = 0
        for j in range(t):
            ahead += row[j] == s
        for q in range(excluded.shape[0]):
            e = excluded[q]
            if _precedes(row[e], e, s, t):
                ahead -= 1
        out[k] += 1 + ahead


@njit(cache=True)
def _histogram_ranks(row, excluded, truth_items, neg_truth_scores, out, flag):
    """rank(t) in one pass over the items: the truth items sorted in ranking order
    t_0 < t_1 < ...; each candidate j is counted in hist[p], p = number of truth items at or
    before j (binary search), so rank(t_k) = 1 + sum_{p <= k} hist[p]. O(m log |T_u|)."""
    n_items = row.shape[0]
    n_truth = truth_items.shape[0]
    # truth indices are ascending, a stable sort on -score keeps lower indices first
    order = np.argsort(neg_truth_scores, kind="mergesort")
    sorted_scores = np.empty(n_truth, dtype=row.dtype)
    sorted_items = np.empty(n_truth, dtype=np.int64)
    for k in range(n_truth):
        sorted_items[k] = truth_items[order[k]]
        sorted_scores[k] = row[sorted_items[k]]
    last_score = sorted_scores[n_truth - 1]
    last_item = sorted_items[n_truth - 1]
    hist = np.zeros(n_truth + 1, dtype=np.int64)
    e = 0
    n_excluded = excluded.shape[0]
    next_excluded = excluded[0] if n_excluded > 0 else n_items
    for j in range(n_items):
        s = row[j]
        if s != s:
            flag[0] |= FLAG_NAN
        if j == next_excluded:
            e += 1
            next_excluded = excluded[e] if e < n_excluded else n_items
            continue
        # j at or after the last truth item: it precedes none of them
        if not _precedes(s, j, last_score, last_item):
            continue
        lo = 0
        hi = n_truth - 1
        while lo < hi:
            mid = (lo + hi) >> 1
            if _precedes(s, j, sorted_scores[mid], sorted_items[mid]):
                hi = mid
            else:
                lo = mid + 1
        hist[lo] += 1
    ahead = 0
    for k in range(n_truth):
        ahead += hist[k]
        out[order[k]] = 1 + ahead


@njit(cache=True, parallel=True)
def truth_ranks_block(
    scores, block_users, exclude_indptr, exclude_indices, truth_indptr, truth_indices,
    out_offsets, out_ranks, flags, direct_max_truth,
):
    """Full-ranking rank of every truth item of every user in the block.

    Row r of ``scores`` belongs to user ``block_users[r]``. The ranks of that user's truth
    items (in CSR order) go to ``out_ranks[out_offsets[r]:out_offsets[r] + |T_u|]``.
    Users with at most ``direct_max_truth`` truth items are ranked by :func:`_direct_ranks`
    (O(|T_u| m), vectorised), the others by :func:`_histogram_ranks` (O(m log |T_u|)).
    """
    n_rows, n_items = scores.shape
    for r in prange(n_rows):
        user = block_users[r]
        row = scores[r]
        t_start = truth_indptr[user]
        n_truth = truth_indptr[user + 1] - t_start
        if n_truth == 0:
            continue
        e_start = exclude_indptr[user]
        e_stop = exclude_indptr[user + 1]
        excluded = exclude_indices[e_start:e_stop]

        truth_items = np.empty(n_truth, dtype=np.int64)
        neg_truth_scores = np.empty(n_truth, dtype=np.float64)
        for k in range(n_truth):
            item = truth_indices[t_start + k]
            truth_items[k] = item
            neg_truth_scores[k] = -row[item]
            if row[item] != row[item]:
                flags[r] |= FLAG_NAN
            pos = np.searchsorted(excluded, item)
            if pos < excluded.shape[0] and excluded[pos] == item:
                flags[r] |= FLAG_OVERLAP
        base = out_offsets[r]
        if n_truth <= direct_max_truth:
            _direct_ranks(row, excluded, truth_items, out_ranks[base:base + n_truth])
            for j in range(n_items):
                if row[j] != row[j]:
                    flags[r] |= FLAG_NAN
                    break
        else:
            _histogram_ranks(
                row, excluded, truth_items, neg_truth_scores, out_ranks[base:base + n_truth],
                flags[r:r + 1],
            )
