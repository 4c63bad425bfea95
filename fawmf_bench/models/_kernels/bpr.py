"""numba kernels of BPR-MF with uniform negative sampling (Rendle et al., UAI 2009).

LearnBPR (Rendle et al. Fig. 4): draw a positive (u, i) uniformly from X+ and an item j
uniformly from the items u has not consumed, then take an SGD step on

    ln sigmoid(x_uij) - reg (|p_u|^2 + |q_i|^2 + |q_j|^2 + b_i^2 + b_j^2),
    x_uij = p_u . (q_i - q_j) + b_i - b_j

(ascent; g = 1 - sigmoid(x_uij) = sigmoid(-x_uij)):

    p_u += lr (g (q_i - q_j) - reg p_u)
    q_i += lr (g p_u - reg q_i);  q_j += lr (-g p_u - reg q_j)
    b_i += lr (g - reg b_i);      b_j += lr (-g - reg b_j)

An epoch is |X+| draws split into a fixed number of chunks, each with its own seed and its
own xorshift64* stream. Chunks run in parallel lock-free (Hogwild, as in cornac and
implicit). The draws depend only on the seeds, never on the thread count; with
``numba.set_num_threads(1)`` the chunks run in order and the whole fit is bit-for-bit
deterministic; with more threads the interleaving of the updates is not.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .csr import contains_sorted

_MULTIPLIER = np.uint64(0x2545F4914F6CDD1D)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2^-53


@njit(cache=True)
def xorshift_next(state: np.uint64) -> np.uint64:
    """One step of Marsaglia's xorshift64 (state must be non-zero)."""
    state ^= state >> np.uint64(12)
    state ^= state << np.uint64(25)
    state ^= state >> np.uint64(27)
    return state


@njit(cache=True)
def uniform_index(state: np.uint64, n: int) -> int:
    """An integer uniform on [0, n) from the xorshift64* output of ``state``."""
    value = (state * _MULTIPLIER) >> np.uint64(11)
    return int(np.float64(value) * _TO_UNIT * n)


@njit(cache=True)
def bpr_chunk(
    indptr: np.ndarray,
    indices: np.ndarray,
    row_of: np.ndarray,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    item_bias: np.ndarray,
    n_draws: int,
    seed: np.uint64,
    learning_rate: float,
    regularization: float,
    update_bias: bool,
) -> float:
    """``n_draws`` LearnBPR steps from one xorshift stream; returns sum of -ln sigmoid(x_uij)."""
    n_items = item_factors.shape[0]
    n_factors = user_factors.shape[1]
    nnz = indices.shape[0]
    state = seed
    loss = 0.0
    for _ in range(n_draws):
        state = xorshift_next(state)
        pos = uniform_index(state, nnz)
        u = row_of[pos]
        i = indices[pos]
        start, end = indptr[u], indptr[u + 1]
        if end - start >= n_items:
            continue  # the user consumed every item: no negative exists
        while True:
            state = xorshift_next(state)
            j = uniform_index(state, n_items)
            if not contains_sorted(indices, start, end, j):
                break
        x = item_bias[i] - item_bias[j]
        for k in range(n_factors):
            x += user_factors[u, k] * (item_factors[i, k] - item_factors[j, k])
        # -ln sigmoid(x) computed stably
        if x > 0:
            loss += np.log1p(np.exp(-x))
            g = np.exp(-x) / (1.0 + np.exp(-x))
        else:
            loss += -x + np.log1p(np.exp(x))
            g = 1.0 / (1.0 + np.exp(x))
        for k in range(n_factors):
            pu = user_factors[u, k]
            qi = item_factors[i, k]
            qj = item_factors[j, k]
            user_factors[u, k] = pu + learning_rate * (g * (qi - qj) - regularization * pu)
            item_factors[i, k] = qi + learning_rate * (g * pu - regularization * qi)
            item_factors[j, k] = qj + learning_rate * (-g * pu - regularization * qj)
        if update_bias:
            item_bias[i] += learning_rate * (g - regularization * item_bias[i])
            item_bias[j] += learning_rate * (-g - regularization * item_bias[j])
    return loss


@njit(cache=True, parallel=True)
def bpr_epoch(
    indptr: np.ndarray,
    indices: np.ndarray,
    row_of: np.ndarray,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    item_bias: np.ndarray,
    seeds: np.ndarray,
    learning_rate: float,
    regularization: float,
    update_bias: bool,
) -> float:
    """One epoch of |X+| draws over ``len(seeds)`` Hogwild chunks; mean -ln sigmoid(x_uij)."""
    n_chunks = seeds.shape[0]
    nnz = indices.shape[0]
    losses = np.zeros(n_chunks)
    for c in prange(n_chunks):
        n_draws = (nnz * (c + 1)) // n_chunks - (nnz * c) // n_chunks
        losses[c] = bpr_chunk(
            indptr, indices, row_of, user_factors, item_factors, item_bias,
            n_draws, seeds[c], learning_rate, regularization, update_bias,
        )
    return losses.sum() / max(nnz, 1)


def bpr_chunk_reference(
    indptr: np.ndarray,
    indices: np.ndarray,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    item_bias: np.ndarray,
    n_draws: int,
    seed: int,
    learning_rate: float,
    regularization: float,
    update_bias: bool,
) -> float:
    """NumPy reference of :func:`bpr_chunk` (same random stream; vector updates)."""
    row_of = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    n_items = item_factors.shape[0]
    state = np.uint64(seed)
    loss = 0.0
    for _ in range(n_draws):
        state = np.uint64(xorshift_next(state))
        pos = uniform_index(state, len(indices))
        u, i = row_of[pos], indices[pos]
        seen = set(indices[indptr[u] : indptr[u + 1]].tolist())
        if len(seen) >= n_items:
            continue
        while True:
            state = np.uint64(xorshift_next(state))
            j = uniform_index(state, n_items)
            if j not in seen:
                break
        p, qi, qj = user_factors[u].copy(), item_factors[i].copy(), item_factors[j].copy()
        x = p @ (qi - qj) + item_bias[i] - item_bias[j]
        loss += float(np.logaddexp(0.0, -x))
        g = 1.0 / (1.0 + np.exp(x))
        user_factors[u] = p + learning_rate * (g * (qi - qj) - regularization * p)
        item_factors[i] = qi + learning_rate * (g * p - regularization * qi)
        item_factors[j] = qj + learning_rate * (-g * p - regularization * qj)
        if update_bias:
            item_bias[i] += learning_rate * (g - regularization * item_bias[i])
            item_bias[j] += learning_rate * (-g - regularization * item_bias[j])
    return loss
