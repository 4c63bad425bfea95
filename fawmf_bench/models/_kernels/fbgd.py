"""numba kernels of FAWMF's fast full-batch gradient (fBGD, NOTES.md "fBGD").

Notation: X (n x m, binary CSR), U (n x K), V (m x K), theta = softmax(g) (n x D),
alpha (n) user influence, S = X^T (alpha * theta) (m x D), Q = sigmoid(w * S + b) (m x D),
Gamma = theta Q^T, R = U V^T, A_d = sum_i theta_id u_i u_i^T, B_d = sum_j q_jd v_j v_j^T.

The K^2 D caches are GEMMs done in NumPy; these kernels do the O(|X+| (K + D)) work over the
positives, fused with the O((n + m) K D) per-row dense terms, one block of rows of about equal
work per parallel task (``csr.balanced_row_blocks``; no write races: the item pass walks X^T,
the user pass walks X). Accumulators of the loss are float64; the arrays may be float32 or
float64 (one compiled specialisation each).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, fastmath=True)
def fawmf_item_exposure(indptr_t, indices_t, blocks_t, membership, influence, exposure_weight,
                        exposure_bias, community_load, exposure):
    """S = X^T (alpha * theta) and Q = sigmoid(w * S + b) (Eq. 6), a block of rows of X^T per
    task.

    ``indptr_t, indices_t``: CSR of X^T (items x users); ``blocks_t``: its row blocks
    (:func:`~fawmf_bench.models._kernels.csr.balanced_row_blocks`). Writes
    ``community_load`` (S) and ``exposure`` (Q), both (m, D).
    """
    n_comm = community_load.shape[1]
    for block in prange(blocks_t.size - 1):
        for j in range(blocks_t[block], blocks_t[block + 1]):
            acc = np.zeros(n_comm, dtype=membership.dtype)
            for p in range(indptr_t[j], indptr_t[j + 1]):
                i = indices_t[p]
                a = influence[i]
                for d in range(n_comm):
                    acc[d] += a * membership[i, d]
            for d in range(n_comm):
                community_load[j, d] = acc[d]
                z = exposure_weight[j] * acc[d] + exposure_bias[j]
                exposure[j, d] = 1.0 / (1.0 + np.exp(-z))


@njit(parallel=True, cache=True)
def fawmf_weighted_outer(weights, factors, out):
    """out[i, d*K + k] = weights[i, d] * factors[i, k]; then factors^T @ out stacks
    A_d = sum_i theta_id u_i u_i^T (or B_d with Q, V) as a (K, D*K) matrix."""
    n, n_comm = weights.shape
    k_dim = factors.shape[1]
    for i in prange(n):
        for d in range(n_comm):
            w = weights[i, d]
            base = d * k_dim
            for k in range(k_dim):
                out[i, base + k] = w * factors[i, k]


@njit(parallel=True, cache=True, fastmath=True)
def fbgd_item_pass(indptr_t, indices_t, blocks_t, user_factors, item_factors, membership, exposure,
                   community_load, exposure_weight, exposure_bias, item_cross, membership_total,
                   factor_reg, weight_reg, bias_reg, eta, epsilon,
                   d_item_factors, d_exposure_weight, d_exposure_bias, d_load, positive_loss):
    """Item side of the fBGD gradient, one block of items (``blocks_t``) per task.

    ``item_cross[j, d*K:(d+1)*K] = A_d v_j`` (GEMM V @ [A_1..A_D]); ``membership_total`` =
    sum_i theta_i. With c_ij = (1 - 2 R_ij) - eta (1 - 2 eps):

    - dJ/dv_j  = 2 sum_d q_jd A_d v_j - 2 sum_{i in pos(j)} G_ij u_i + reg v_j
    - dJ/dq_jd = v_j^T A_d v_j - eta eps^2 sum_i theta_id + sum_{i in pos(j)} c_ij theta_id
    - dZ = dJ/dq * q (1 - q); dJ/dw_j = sum_d dZ_jd s_jd + reg w_j; dJ/db_j = sum_d dZ_jd + reg b_j
    - d_load = dJ/dS = dZ * w_j (consumed by the user pass: dtheta += alpha X dS)
    - positive_loss[j] = sum_{i in pos(j)} G_ij (1 - 2 R_ij) + eta (1 - G_ij)(1 - 2 eps)
    """
    k_dim = item_factors.shape[1]
    n_comm = exposure.shape[1]
    unexposed = eta * epsilon * epsilon
    zero = item_factors.dtype.type(0.0)
    one = item_factors.dtype.type(1.0)
    two = item_factors.dtype.type(2.0)
    offset = item_factors.dtype.type(eta * (1.0 - 2.0 * epsilon))
    for block in prange(blocks_t.size - 1):
        for j in range(blocks_t[block], blocks_t[block + 1]):
            for k in range(k_dim):
                d_item_factors[j, k] = factor_reg * item_factors[j, k]
            for d in range(n_comm):
                quad = 0.0
                two_q = 2.0 * exposure[j, d]
                base = d * k_dim
                for k in range(k_dim):
                    e = item_cross[j, base + k]
                    d_item_factors[j, k] += two_q * e
                    quad += e * item_factors[j, k]
                d_load[j, d] = quad - unexposed * membership_total[d]
            loss = 0.0
            acc_v = np.zeros(k_dim, dtype=item_factors.dtype)
            acc_q = np.zeros(n_comm, dtype=item_factors.dtype)
            for p in range(indptr_t[j], indptr_t[j + 1]):
                i = indices_t[p]
                pred = zero
                for k in range(k_dim):
                    pred += user_factors[i, k] * item_factors[j, k]
                gamma = zero
                for d in range(n_comm):
                    gamma += membership[i, d] * exposure[j, d]
                c = one - two * pred - offset
                for k in range(k_dim):
                    acc_v[k] += gamma * user_factors[i, k]
                for d in range(n_comm):
                    acc_q[d] += c * membership[i, d]
                loss += gamma * (one - two * pred) + (one - gamma) * offset
            for k in range(k_dim):
                d_item_factors[j, k] -= 2.0 * acc_v[k]
            for d in range(n_comm):
                d_load[j, d] += acc_q[d]
            positive_loss[j] = loss
            dw = weight_reg * exposure_weight[j]
            db = bias_reg * exposure_bias[j]
            for d in range(n_comm):
                q = exposure[j, d]
                dz = d_load[j, d] * q * (1.0 - q)
                dw += dz * community_load[j, d]
                db += dz
                d_load[j, d] = dz * exposure_weight[j]
            d_exposure_weight[j] = dw
            d_exposure_bias[j] = db


@njit(parallel=True, cache=True, fastmath=True)
def fbgd_user_pass(indptr, indices, blocks, user_factors, item_factors, membership, membership_logits,
                   exposure, influence, d_load, user_cross, exposure_total,
                   factor_reg, membership_reg, eta, epsilon,
                   d_user_factors, d_membership_logits, d_influence, load_grad):
    """User side of the fBGD gradient, one block of users (``blocks``) per task.

    ``user_cross[i, d*K:(d+1)*K] = B_d u_i`` (GEMM U @ [B_1..B_D]); ``exposure_total`` =
    sum_j q_j; ``d_load`` = dJ/dS from :func:`fbgd_item_pass`.

    - dJ/du_i = 2 sum_d theta_id B_d u_i - 2 sum_{j in pos(i)} G_ij v_j + reg u_i
    - dJ/dtheta_id = u_i^T B_d u_i - eta eps^2 sum_j q_jd + sum_{j in pos(i)} c_ij q_jd
      + alpha_i (X dS)_id
    - dJ/dg_i = theta_i * (dtheta_i - theta_i . dtheta_i) + reg g_i (softmax backward)
    - dJ/dalpha_i = theta_i . (X dS)_i (regularisation added by the caller)
    ``load_grad`` (n, D) receives X dS.
    """
    k_dim = user_factors.shape[1]
    n_comm = membership.shape[1]
    unexposed = eta * epsilon * epsilon
    zero = user_factors.dtype.type(0.0)
    one = user_factors.dtype.type(1.0)
    two = user_factors.dtype.type(2.0)
    offset = user_factors.dtype.type(eta * (1.0 - 2.0 * epsilon))
    for block in prange(blocks.size - 1):
        for i in range(blocks[block], blocks[block + 1]):
            for k in range(k_dim):
                d_user_factors[i, k] = factor_reg * user_factors[i, k]
            for d in range(n_comm):
                quad = 0.0
                two_t = 2.0 * membership[i, d]
                base = d * k_dim
                for k in range(k_dim):
                    c_val = user_cross[i, base + k]
                    d_user_factors[i, k] += two_t * c_val
                    quad += c_val * user_factors[i, k]
                d_membership_logits[i, d] = quad - unexposed * exposure_total[d]
            acc_u = np.zeros(k_dim, dtype=user_factors.dtype)
            acc_t = np.zeros(n_comm, dtype=user_factors.dtype)
            acc_s = np.zeros(n_comm, dtype=user_factors.dtype)
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                pred = zero
                for k in range(k_dim):
                    pred += user_factors[i, k] * item_factors[j, k]
                gamma = zero
                for d in range(n_comm):
                    gamma += membership[i, d] * exposure[j, d]
                c = one - two * pred - offset
                for k in range(k_dim):
                    acc_u[k] += gamma * item_factors[j, k]
                for d in range(n_comm):
                    acc_t[d] += c * exposure[j, d]
                    acc_s[d] += d_load[j, d]
            for k in range(k_dim):
                d_user_factors[i, k] -= 2.0 * acc_u[k]
            for d in range(n_comm):
                d_membership_logits[i, d] += acc_t[d]
                load_grad[i, d] = acc_s[d]
            a = influence[i]
            dot = 0.0
            d_alpha = 0.0
            for d in range(n_comm):
                d_membership_logits[i, d] += a * load_grad[i, d]
                dot += membership[i, d] * d_membership_logits[i, d]
                d_alpha += membership[i, d] * load_grad[i, d]
            for d in range(n_comm):
                t = membership[i, d]
                d_membership_logits[i, d] = (t * (d_membership_logits[i, d] - dot)
                                             + membership_reg * membership_logits[i, d])
            d_influence[i] = d_alpha


@njit(parallel=True, cache=True)
def fawmf_adam_step(param, grad, first, second, learning_rate, step, floor, read):
    """One Adam update (beta1 0.9, beta2 0.999, eps 1e-8, as awmf.m) on flat arrays, in place:
    ``param`` takes the unclamped Adam step and ``read = max(param, floor)`` is the value the
    gradient will see (floor = -inf for unconstrained parameters).

    Pass a separate ``read`` array to keep ``param`` as an unclamped shadow (awmf.m:
    ``h = h - lr * step; w1 = max(1e-5, h)``); pass ``read`` = ``param`` itself to project
    (``param = max(param - lr * step, floor)``)."""
    b1 = 0.9
    b2 = 0.999
    c1 = 1.0 - b1 ** step
    c2 = 1.0 - b2 ** step
    for t in prange(param.size):
        g = grad[t]
        mt = b1 * first[t] + (1.0 - b1) * g
        vt = b2 * second[t] + (1.0 - b2) * g * g
        first[t] = mt
        second[t] = vt
        value = param[t] - learning_rate * (mt / c1) / (np.sqrt(vt / c2) + 1e-8)
        param[t] = value
        read[t] = max(value, floor)
