"""Small numba helpers over CSR rows shared by several kernels."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def contains_sorted(values: np.ndarray, start: int, end: int, target: int) -> bool:
    """Binary search for ``target`` in the sorted slice values[start:end]."""
    lo, hi = start, end
    while lo < hi:
        mid = (lo + hi) // 2
        if values[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and values[lo] == target


#: blocks per parallel CSR loop: enough for even shares on up to ~16 threads, few enough
#: that a block's bookkeeping is negligible
ROW_BLOCKS = 64


def balanced_row_blocks(indptr: np.ndarray, row_cost: float = 0.0, n_blocks: int = ROW_BLOCKS) -> np.ndarray:
    """Bounds (int64, ``n_blocks + 1`` at most, starting at 0 and ending at the row count) of
    consecutive row blocks of about equal work, where row r costs ``indptr[r+1] - indptr[r]``
    (its positives) plus ``row_cost`` (its dense per-row work, in positives).

    numba's ``prange`` hands each thread an equal number of iterations; over the rows of a
    popularity-ordered CSR (ML-1M's item side: the first half of the items holds 86% of the
    positives) that leaves one thread with most of the work. A ``prange`` over these blocks
    does not.
    """
    rows = indptr.size - 1
    cost = indptr.astype(np.float64) + row_cost * np.arange(rows + 1)
    targets = np.linspace(0.0, cost[-1], max(1, min(n_blocks, rows)) + 1)
    bounds = np.searchsorted(cost, targets, side="left").astype(np.int64)
    bounds[0], bounds[-1] = 0, rows
    return np.unique(bounds)
