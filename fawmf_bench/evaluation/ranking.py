"""Full ranking of scored users: the ranks of their truth items, blocked by a memory budget.

Users are scored in blocks (``score_fn(user_indices) -> (len, n_items)``), each block is
handed to a numba kernel (:mod:`._kernels`, parallel over users) that skips the excluded
(training) items, and keeps only what the metrics need. Ties are broken by the lower item
index, so results are deterministic. The ``*_reference`` functions are slow NumPy versions of
the kernels, used by the tests. Top-K lists for users come from ``Recommender.recommend``
(models/base.py), which ranks the same way.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import scipy.sparse as sp

from . import _kernels

ScoreFn = Callable[[np.ndarray], np.ndarray]

#: bytes held per scored user and item: the float64 score row plus one possible cast copy
_BYTES_PER_SCORE = 16


def canonical_csr(matrix: sp.spmatrix, name: str) -> sp.csr_matrix:
    """CSR with sorted, unique indices and no explicit zeros (copied only when needed)."""
    if not sp.issparse(matrix):
        raise TypeError(f"{name} must be a scipy.sparse matrix, got {type(matrix).__name__}")
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be two-dimensional, got shape {matrix.shape}")
    matrix = matrix.tocsr()
    if not matrix.has_canonical_format or np.any(matrix.data == 0):
        matrix = matrix.copy()
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        matrix.sort_indices()
    return matrix


def block_rows(n_items: int, memory_budget_mb: float) -> int:
    """Users per scoring block so that the block's scores fit in the budget."""
    if not memory_budget_mb > 0:
        raise ValueError(f"memory_budget_mb must be positive, got {memory_budget_mb}")
    return max(1, int(memory_budget_mb * 2**20 // (max(1, n_items) * _BYTES_PER_SCORE)))


def _score_blocks(
    score_fn: ScoreFn, users: np.ndarray, n_items: int, memory_budget_mb: float
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield (start, stop, scores) with C-contiguous float32/float64 scores per user block."""
    step = block_rows(n_items, memory_budget_mb)
    for start in range(0, len(users), step):
        stop = min(start + step, len(users))
        scores = np.asarray(score_fn(users[start:stop]))
        if scores.shape != (stop - start, n_items):
            raise ValueError(
                f"score_fn returned shape {scores.shape}, expected {(stop - start, n_items)}"
            )
        if scores.dtype not in (np.float32, np.float64):
            scores = scores.astype(np.float64)
        yield start, stop, np.ascontiguousarray(scores)


def _raise_flags(flags: np.ndarray, users: np.ndarray) -> None:
    bad = np.flatnonzero(flags)
    if len(bad) == 0:
        return
    first = int(users[bad[0]])
    if flags[bad[0]] & _kernels.FLAG_OVERLAP:
        raise ValueError(
            f"user {first}: a truth item is also an excluded item (truth and exclude overlap "
            f"for {len(bad)} user(s) in this block)"
        )
    raise ValueError(f"score_fn returned NaN scores (first for user {first})")


def check_users(users: np.ndarray | None, n_users: int) -> np.ndarray:
    """All users by default; otherwise a validated int64 array of distinct row indices."""
    if users is None:
        return np.arange(n_users, dtype=np.int64)
    users = np.asarray(users)
    if users.ndim != 1 or not (users.size == 0 or np.issubdtype(users.dtype, np.integer)):
        raise ValueError("users must be a one-dimensional integer array")
    users = users.astype(np.int64)
    if users.size and (users.min() < 0 or users.max() >= n_users):
        raise ValueError(f"users must lie in [0, {n_users}); got {users.min()}..{users.max()}")
    if len(np.unique(users)) != len(users):
        raise ValueError("users holds duplicates")
    return users


def truth_ranks(
    score_fn: ScoreFn,
    exclude: sp.csr_matrix,
    truth: sp.csr_matrix,
    users: np.ndarray,
    memory_budget_mb: float = 256.0,
    direct_max_truth: int = _kernels.DIRECT_MAX_TRUTH,
) -> tuple[np.ndarray, np.ndarray]:
    """Rank (1-based, full ranking over non-excluded items) of each truth item of ``users``.

    ``exclude`` and ``truth`` must be canonical CSR (see :func:`canonical_csr`) of the same
    shape. Returns (ranks, offsets): the ranks of user ``users[i]``'s truth items, in CSR
    order, are ``ranks[offsets[i]:offsets[i + 1]]`` (float64 holding integers).
    ``direct_max_truth`` picks the kernel path per user (a speed knob; results are equal).
    """
    n_items = truth.shape[1]
    exclude_indptr = exclude.indptr.astype(np.int64, copy=False)
    truth_indptr = truth.indptr.astype(np.int64, copy=False)
    counts = truth_indptr[users + 1] - truth_indptr[users]
    offsets = np.zeros(len(users) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    ranks = np.zeros(offsets[-1], dtype=np.float64)
    for start, stop, scores in _score_blocks(score_fn, users, n_items, memory_budget_mb):
        flags = np.zeros(stop - start, dtype=np.int64)
        _kernels.truth_ranks_block(
            scores, users[start:stop], exclude_indptr, exclude.indices, truth_indptr,
            truth.indices, offsets[start:stop], ranks, flags, direct_max_truth,
        )
        _raise_flags(flags, users[start:stop])
    return ranks, offsets


# ----------------------------------------------------------------- NumPy references
def ranking_order_reference(scores: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """One user's candidate items in ranking order (lexsort: score desc, then index asc)."""
    items = np.setdiff1d(np.arange(len(scores)), excluded)
    return items[np.lexsort((items, -scores[items].astype(np.float64)))]


def truth_ranks_reference(
    scores: np.ndarray, users: np.ndarray, exclude: sp.csr_matrix, truth: sp.csr_matrix
) -> np.ndarray:
    """Reference for :func:`truth_ranks` given the dense scores of ``users`` (row-aligned)."""
    out = []
    for row, user in zip(scores, users):
        order = ranking_order_reference(row, exclude[user].indices)
        position = np.empty(len(row), dtype=np.float64)
        position[order] = np.arange(1, len(order) + 1)
        out.append(position[truth[user].indices])
    return np.concatenate(out) if out else np.zeros(0)
