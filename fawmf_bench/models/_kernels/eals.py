"""numba kernels of element-wise ALS (eALS, He et al., SIGIR 2016) and of the weighted
square loss it shares with WMF (Hu, Koren, Volinsky, ICDM 2008).

Objective (He et al. Eq. 5 with the popularity-weighted missing data of Eq. 8):

    J = sum_{(u,j) in X+} w (1 - r_uj)^2 + sum_{(u,j) not in X+} c_j r_uj^2
        + lam (|P|^2 + |Q|^2),                      r_uj = p_u . q_j

WMF's objective is the special case c_j = 1, w = 1 + a.

Every kernel works on plain arrays: CSR (rows = the side being updated) ``indptr``,
``indices``, the factors being updated ``rows`` (n x K, modified in place), the fixed
factors ``cols`` (m x K) and a scratch array of size nnz holding predictions of the
positives (each row uses only its own CSR slice, so rows are independent: prange-safe).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def eals_sweep(
    indptr: np.ndarray,
    indices: np.ndarray,
    blocks: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    col_weight: np.ndarray,
    row_scale: np.ndarray,
    cache: np.ndarray,
    positive_weight: float,
    regularization: float,
    prediction: np.ndarray,
) -> None:
    """One eALS pass over all rows, one coordinate f at a time (He et al. Eq. 12 / 13).

    For row u (a user, or an item when called on the transpose):

        p_uf = [sum_{j in R_u} (w - (w - c_uj) r^f_uj) q_jf - s_u sum_{k != f} p_uk S[f, k]]
               / [sum_{j in R_u} (w - c_uj) q_jf^2 + s_u S[f, f] + lam]

    with r^f_uj = r_uj - p_uf q_jf. User sweep: c_uj = c_j = ``col_weight[j]``, s_u = 1,
    S = sum_j c_j q_j q_j^T. Item sweep: c_uj = c_u = ``row_scale[u]``, s_u = c_u,
    S = P^T P. ``cache`` is S, computed by the caller once per sweep. ``blocks``: row blocks of
    about equal work, one per parallel task (``csr.balanced_row_blocks``).
    """
    n_factors = rows.shape[1]
    w = positive_weight
    for block in prange(blocks.size - 1):
        for u in range(blocks[block], blocks[block + 1]):
            start, end = indptr[u], indptr[u + 1]
            p = rows[u]
            scale = row_scale[u]
            for idx in range(start, end):
                q = cols[indices[idx]]
                acc = 0.0
                for k in range(n_factors):
                    acc += p[k] * q[k]
                prediction[idx] = acc
            for f in range(n_factors):
                numer = 0.0
                denom = 0.0
                old = p[f]
                for idx in range(start, end):
                    j = indices[idx]
                    qf = cols[j, f]
                    c = col_weight[j] * scale
                    partial = prediction[idx] - old * qf
                    numer += (w - (w - c) * partial) * qf
                    denom += (w - c) * qf * qf
                cross = 0.0
                for k in range(n_factors):
                    if k != f:
                        cross += p[k] * cache[f, k]
                numer -= scale * cross
                denom += scale * cache[f, f] + regularization
                new = numer / denom
                p[f] = new
                delta = new - old
                if delta != 0.0:
                    for idx in range(start, end):
                        prediction[idx] += delta * cols[indices[idx], f]


@njit(cache=True, parallel=True)
def positive_loss(
    indptr: np.ndarray,
    indices: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    col_weight: np.ndarray,
    positive_weight: float,
) -> float:
    """sum_{(u,j) in X+} [w (1 - r_uj)^2 - c_j r_uj^2]: the positives' correction to the
    all-pairs term sum_uj c_j r_uj^2 = <P^T P, Q^T diag(c) Q> (computed by the caller)."""
    n_rows, n_factors = rows.shape
    total = 0.0
    for u in prange(n_rows):
        part = 0.0
        for idx in range(indptr[u], indptr[u + 1]):
            j = indices[idx]
            r = 0.0
            for k in range(n_factors):
                r += rows[u, k] * cols[j, k]
            part += positive_weight * (1.0 - r) ** 2 - col_weight[j] * r * r
        total += part
    return total


def weighted_square_loss(
    indptr: np.ndarray,
    indices: np.ndarray,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    item_weight: np.ndarray,
    positive_weight: float,
    regularization: float,
) -> float:
    """The full objective J of the module docstring in O(|X+| K + (n + m) K^2)."""
    users = np.asarray(user_factors, dtype=np.float64)
    items = np.asarray(item_factors, dtype=np.float64)
    weight = np.asarray(item_weight, dtype=np.float64)
    gram_users = users.T @ users
    gram_items = (items * weight[:, None]).T @ items
    all_pairs = float(np.sum(gram_users * gram_items))
    correction = positive_loss(indptr, indices, users, items, weight, float(positive_weight))
    penalty = regularization * (float(np.sum(users * users)) + float(np.sum(items * items)))
    return all_pairs + correction + penalty


def weighted_square_loss_reference(
    dense: np.ndarray,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    item_weight: np.ndarray,
    positive_weight: float,
    regularization: float,
) -> float:
    """Dense NumPy reference of :func:`weighted_square_loss` (small matrices only)."""
    pred = user_factors @ item_factors.T
    weights = np.where(dense > 0, positive_weight, item_weight[None, :])
    penalty = regularization * (np.sum(user_factors**2) + np.sum(item_factors**2))
    return float(np.sum(weights * (dense - pred) ** 2) + penalty)


def eals_sweep_reference(
    dense: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    weights: np.ndarray,
    regularization: float,
) -> np.ndarray:
    """Dense NumPy reference: exact coordinate minimisation of
    sum_j W_uj (X_uj - p_u . q_j)^2 + lam |p_u|^2 over each p_uf in turn."""
    rows = rows.copy()
    for u in range(rows.shape[0]):
        for f in range(rows.shape[1]):
            partial = cols @ rows[u] - rows[u, f] * cols[:, f]
            numer = np.sum(weights[u] * (dense[u] - partial) * cols[:, f])
            denom = np.sum(weights[u] * cols[:, f] ** 2) + regularization
            rows[u, f] = numer / denom
    return rows
