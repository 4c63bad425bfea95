"""Full ranking on a torch device: truth ranks and top-K for blocks of users (same results as
the numba kernels in :mod:`._kernels`, ranking order and all).

For a block of users scored on the device, the excluded (training) items get -inf, each row is
sorted by a stable ascending sort on -score (ties keep the lower item index first; -0.0 is
folded into +0.0 so every sort treats them as equal, as comparisons do), and

    rank(t) = 1 + position of t in its row's sorted order.

Excluded items sit at -inf after every candidate, so the position counts candidates only,
unless a truth item itself scores -inf: such (rare) blocks are ranked by the numba kernel on
the host, which is exact. NaN scores and truth items that are also excluded raise ValueError
as on the CPU path. Nothing here runs unless a model was fitted on a torch device.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp
import torch

from ..models.devices import DeviceOutOfMemory, free_device_bytes, torch_device
from . import _kernels

DeviceScoreFn = Callable[[np.ndarray], torch.Tensor]

#: device bytes per scored (user, item): the scores, their negation, the sort's values and
#: int64 order, and the int64 inverse permutation
_DEVICE_BYTES_PER_SCORE = 40


def device_block_rows(n_items: int, device: str, memory_budget_mb: float | None = None) -> int:
    """Users per device block: ``memory_budget_mb`` (default: half the free CUDA memory, or
    256 MB for torch-cpu) divided by the bytes each user's row needs."""
    if memory_budget_mb is None:
        free = free_device_bytes(device)
        budget = 256 * 2**20 if not np.isfinite(free) else free / 2
    else:
        budget = memory_budget_mb * 2**20
    return max(1, int(budget // (max(1, n_items) * _DEVICE_BYTES_PER_SCORE)))


def _pairs(matrix: sp.csr_matrix, users: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(block row, item) of ``matrix``'s entries in the rows ``users``, as device index tensors."""
    block = matrix[users]
    rows = np.repeat(np.arange(len(users), dtype=np.int64), np.diff(block.indptr))
    return (torch.from_numpy(rows).to(device),
            torch.from_numpy(block.indices.astype(np.int64, copy=False)).to(device))


def _check_overlap(exclude: sp.csr_matrix, truth: sp.csr_matrix, users: np.ndarray) -> None:
    both = exclude[users].multiply(truth[users]).tocsr()
    bad = np.flatnonzero(np.diff(both.indptr))
    if len(bad):
        raise ValueError(
            f"user {int(users[bad[0]])}: a truth item is also an excluded item (truth and exclude "
            f"overlap for {len(bad)} user(s) in this block)")


def _sorted_order(scores: torch.Tensor) -> torch.Tensor:
    """Items of each row in ranking order (score descending, ties to the lower index)."""
    return torch.argsort(-scores + 0.0, dim=1, stable=True)


def _block_scores(score_fn: DeviceScoreFn, block_users: np.ndarray, n_items: int) -> torch.Tensor:
    scores = score_fn(block_users)
    if tuple(scores.shape) != (len(block_users), n_items):
        raise ValueError(f"score_fn returned shape {tuple(scores.shape)}, expected {(len(block_users), n_items)}")
    if not scores.is_floating_point():
        scores = scores.double()
    nan_rows = torch.isnan(scores).any(dim=1)
    if bool(nan_rows.any()):
        first = int(block_users[int(torch.nonzero(nan_rows)[0, 0])])
        raise ValueError(f"score_fn returned NaN scores (first for user {first})")
    return scores


def truth_ranks_on_device(score_fn: DeviceScoreFn, exclude: sp.csr_matrix, truth: sp.csr_matrix,
                          users: np.ndarray, device: str, memory_budget_mb: float | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~.ranking.truth_ranks` with scores and sorting on ``device`` (module docstring)."""
    n_items = truth.shape[1]
    where = torch_device(device)
    counts = np.diff(truth.indptr)[users]
    offsets = np.zeros(len(users) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    ranks = np.zeros(offsets[-1], dtype=np.float64)
    step = device_block_rows(n_items, device, memory_budget_mb)
    for start in range(0, len(users), step):
        block_users = users[start:start + step]
        _check_overlap(exclude, truth, block_users)
        try:
            scores = _block_scores(score_fn, block_users, n_items)
            truth_rows, truth_items = _pairs(truth, block_users, where)
            truth_scores = scores[truth_rows, truth_items]
            if bool(torch.any(truth_scores == -torch.inf)):
                _host_ranks(scores, block_users, exclude, truth, offsets[start:start + len(block_users)], ranks)
                continue
            excluded_rows, excluded_items = _pairs(exclude, block_users, where)
            scores[excluded_rows, excluded_items] = -torch.inf
            order = _sorted_order(scores)
            del scores
            position = torch.empty_like(order)
            position.scatter_(1, order, torch.arange(n_items, device=where).expand_as(order))
            del order
            block_ranks = position[truth_rows, truth_items] + 1
        except torch.cuda.OutOfMemoryError as error:
            needed = len(block_users) * n_items * _DEVICE_BYTES_PER_SCORE
            raise DeviceOutOfMemory(f"ranking {len(block_users)} users x {n_items} items on {device} "
                                    f"needs about {needed / 2**30:.2f} GiB ({error})", needed) from error
        lo, hi = offsets[start], offsets[start + len(block_users)]
        ranks[lo:hi] = block_ranks.cpu().numpy()
    return ranks, offsets


def _host_ranks(scores: torch.Tensor, block_users: np.ndarray, exclude: sp.csr_matrix, truth: sp.csr_matrix,
                block_offsets: np.ndarray, ranks: np.ndarray) -> None:
    """The numba kernel on the host, for a block where a truth item scores -inf."""
    host = np.ascontiguousarray(scores.cpu().numpy())
    flags = np.zeros(len(block_users), dtype=np.int64)
    _kernels.truth_ranks_block(host, block_users, exclude.indptr.astype(np.int64), exclude.indices,
                               truth.indptr.astype(np.int64), truth.indices, block_offsets, ranks, flags,
                               _kernels.DIRECT_MAX_TRUTH)
