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
