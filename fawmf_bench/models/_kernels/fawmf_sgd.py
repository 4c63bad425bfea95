"""numba kernels of FAWMF's mini-batch stochastic learner (``learner="sgd"``, Figure 4).

A batch is a list of (user, item) pairs: the positives plus sampled unobserved pairs. Its loss
is the per-pair term of Eq. 5, G_ij (R_ij - x_ij)^2 + eta (1 - G_ij)(eps - x_ij)^2, with
q_j computed from a community load S that is refreshed once per epoch (the S path of the
gradient, a sum over all of item j's users, is not back-propagated by the stochastic learner).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .csr import contains_sorted


@njit(parallel=True, cache=True)
def fawmf_pair_labels(indptr, indices, users, items, labels):
    """labels[p] = x_{users[p], items[p]} by binary search in the sorted CSR row."""
    for p in prange(users.size):
        found = contains_sorted(indices, indptr[users[p]], indptr[users[p] + 1], items[p])
        labels[p] = 1.0 if found else 0.0


@njit(cache=True, fastmath=True)
def fawmf_batch_gradient(users, items, labels, user_factors, item_factors, membership, exposure,
                         eta, epsilon, d_user_factors, d_item_factors, d_membership, d_exposure):
    """Accumulate the batch gradient (serial scatter-add; outputs must be zeroed by the caller).

    Per pair: dJ/dR = 2 G (R - x), dJ/dG = (R - x)^2 - eta (eps - x)^2;
    du_i += dJ/dR v_j, dv_j += dJ/dR u_i, dtheta_i += dJ/dG q_j, dq_j += dJ/dG theta_i.
    Arithmetic in the arrays' dtype, the returned batch loss in float64. Pairs sorted by user
    keep the user-side rows in cache (the caller's batches are).
    """
    k_dim = user_factors.shape[1]
    n_comm = membership.shape[1]
    real = user_factors.dtype.type
    loss = 0.0
    for p in range(users.size):
        i = users[p]
        j = items[p]
        x = labels[p]
        pred = real(0.0)
        for k in range(k_dim):
            pred += user_factors[i, k] * item_factors[j, k]
        gamma = real(0.0)
        for d in range(n_comm):
            gamma += membership[i, d] * exposure[j, d]
        res = pred - x
        miss = (epsilon - x) * (epsilon - x)
        loss += gamma * res * res + eta * (1.0 - gamma) * miss
        d_pred = real(2.0 * gamma * res)
        d_gamma = real(res * res - eta * miss)
        d_user, d_item = d_user_factors[i], d_item_factors[j]
        for k in range(k_dim):
            d_user[k] += d_pred * item_factors[j, k]
        for k in range(k_dim):
            d_item[k] += d_pred * user_factors[i, k]
        d_theta, d_q = d_membership[i], d_exposure[j]
        for d in range(n_comm):
            d_theta[d] += d_gamma * exposure[j, d]
        for d in range(n_comm):
            d_q[d] += d_gamma * membership[i, d]
    return loss


@njit(parallel=True, cache=True)
def fawmf_softmax_backward(membership, d_membership, logits, reg, scale, out):
    """out_i = theta_i * (dtheta_i - theta_i . dtheta_i) + scale * reg * g_i (softmax chain rule)."""
    n, n_comm = membership.shape
    for i in prange(n):
        dot = 0.0
        for d in range(n_comm):
            dot += membership[i, d] * d_membership[i, d]
        for d in range(n_comm):
            out[i, d] = (membership[i, d] * (d_membership[i, d] - dot)
                         + scale * reg * logits[i, d])


def fawmf_pair_labels_reference(train, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """NumPy reference of :func:`fawmf_pair_labels`."""
    return np.asarray(train[users, items]).ravel().astype(np.float64)
