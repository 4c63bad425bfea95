"""FAWMF's objective and its full-data gradient, two ways (NOTES.md "FAWMF" and "fBGD").

    J = sum_ij G_ij (R_ij - x_ij)^2 + eta (1 - G_ij)(eps - x_ij)^2                  (Eq. 5)
        + 1/2 [l_f (|U|^2 + |V|^2) + l_g |g|^2 + l_w |w|^2 + l_b |b|^2 + l_a |alpha - 1|^2]

with R = U V^T, G = theta Q^T, theta = softmax(g), Q = sigmoid(w * S + b),
S = X^T (alpha * theta) (Eq. 6). The halves on the L2 terms make their gradients l * param,
as in the authors' awmf.m. The alpha term is present only when alpha is learned.

- :func:`dense_loss_and_gradient`: the "original BGD" over dense n x m matrices, O(nm (K + D));
  it is the reference the fast gradient is tested against and backs ``learner="bgd"``.
- :func:`fbgd_loss_and_gradient`: fBGD, O((n + m) K^2 D + |X+| (K + D)): GEMMs for the
  K^2 D caches, numba kernels (``_kernels/fbgd.py``) over the positives.

Parameters and gradients are dicts keyed by the fitted attribute names of
:class:`~fawmf_bench.models.fawmf.FAWMF` without the trailing underscore.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax

from ._kernels.csr import balanced_row_blocks
from ._kernels.fbgd import (
    fawmf_item_exposure,
    fawmf_weighted_outer,
    fbgd_item_pass,
    fbgd_user_pass,
)

PARAMETER_NAMES = (
    "user_factors", "item_factors", "membership_logits", "exposure_weight", "exposure_bias",
    "user_influence",
)


@dataclass(frozen=True)
class Objective:
    """Constants of the loss J (module docstring)."""

    eta: float = 1.0
    epsilon: float = 1e-5
    factor_reg: float = 0.01
    membership_reg: float = 0.001
    exposure_weight_reg: float = 0.01
    exposure_bias_reg: float = 0.01
    influence_reg: float = 0.01
    learn_influence: bool = False

    def penalty(self, params: dict[str, np.ndarray]) -> float:
        """The L2 part of J (float64)."""
        def sq(a: np.ndarray) -> float:
            return float(np.sum(np.square(a, dtype=np.float64)))

        total = self.factor_reg * (sq(params["user_factors"]) + sq(params["item_factors"]))
        total += self.membership_reg * sq(params["membership_logits"])
        total += self.exposure_weight_reg * sq(params["exposure_weight"])
        total += self.exposure_bias_reg * sq(params["exposure_bias"])
        if self.learn_influence:
            total += self.influence_reg * sq(params["user_influence"] - 1.0)
        return 0.5 * total


def item_exposure(train_t: sp.csr_matrix, membership: np.ndarray, params: dict[str, np.ndarray]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(S, Q) of Eq. 6 from the CSR of X^T (items x users) and theta = softmax(g)."""
    m = train_t.shape[0]
    n_comm = membership.shape[1]
    load = np.empty((m, n_comm), dtype=membership.dtype)
    exposure = np.empty_like(load)
    fawmf_item_exposure(train_t.indptr, train_t.indices, balanced_row_blocks(train_t.indptr),
                        membership, params["user_influence"],
                        params["exposure_weight"], params["exposure_bias"], load, exposure)
    return load, exposure


def dense_loss_and_gradient(train: np.ndarray | sp.spmatrix, params: dict[str, np.ndarray],
                            objective: Objective) -> tuple[float, dict[str, np.ndarray]]:
    """J and dJ/dparams over the dense n x m matrices (original BGD; NOTES.md "fBGD")."""
    u, v = params["user_factors"], params["item_factors"]
    g, w, b = params["membership_logits"], params["exposure_weight"], params["exposure_bias"]
    alpha = params["user_influence"]
    dtype = u.dtype
    x = train.toarray().astype(dtype, copy=False) if sp.issparse(train) else np.asarray(train, dtype)
    eta, eps = objective.eta, objective.epsilon
    theta = softmax(g, axis=1)
    load = x.T @ (alpha[:, None] * theta)
    q = expit(w[:, None] * load + b[:, None])
    gamma = theta @ q.T
    residual = u @ v.T
    residual -= x                                   # R - X
    miss = x - eps                                  # (x - eps)^2 == (eps - x)^2
    np.square(miss, out=miss)
    sq_res = np.square(residual)
    loss = float(np.sum(gamma * sq_res, dtype=np.float64)
                 + eta * np.sum((1.0 - gamma) * miss, dtype=np.float64))
    residual *= gamma
    residual *= 2.0                                 # dJ/dR = 2 G (R - X)
    d_u = residual @ v + objective.factor_reg * u
    d_v = residual.T @ u + objective.factor_reg * v
    del residual, gamma
    sq_res -= eta * miss                            # dJ/dG = (R - X)^2 - eta (eps - X)^2
    del miss
    d_theta = sq_res @ q
    d_q = sq_res.T @ theta
    del sq_res
    d_z = d_q * q * (1.0 - q)
    d_w = np.sum(d_z * load, axis=1) + objective.exposure_weight_reg * w
    d_b = np.sum(d_z, axis=1) + objective.exposure_bias_reg * b
    load_grad = x @ (d_z * w[:, None])              # X dS
    d_theta += alpha[:, None] * load_grad
    d_alpha = np.sum(theta * load_grad, axis=1)
    d_g = theta * (d_theta - np.sum(theta * d_theta, axis=1, keepdims=True))
    d_g += objective.membership_reg * g
    grads = {"user_factors": d_u, "item_factors": d_v, "membership_logits": d_g,
             "exposure_weight": d_w, "exposure_bias": d_b}
    if objective.learn_influence:
        grads["user_influence"] = d_alpha + objective.influence_reg * (alpha - 1.0)
    return loss + objective.penalty(params), {k: a.astype(dtype, copy=False) for k, a in grads.items()}


class FBGDWorkspace:
    """Preallocated buffers of one fBGD problem (shapes fixed at fit), reused every epoch."""

    def __init__(self, train: sp.csr_matrix, train_t: sp.csr_matrix, factors: int,
                 communities: int, dtype: np.dtype) -> None:
        n, m = train.shape
        k, d = factors, communities
        self.train, self.train_t = train, train_t
        # equal-work row blocks for the parallel passes; a row's dense work is about K D / (K + D)
        # positives' worth (2KD vs 2(K + D) multiply-adds per positive per pass, roughly)
        row_cost = k * d / (k + d)
        self.user_blocks = balanced_row_blocks(train.indptr, row_cost)
        self.item_blocks = balanced_row_blocks(train_t.indptr, row_cost)
        self.user_outer = np.empty((n, d * k), dtype)   # theta (x) U, then U @ [B_d]
        self.item_outer = np.empty((m, d * k), dtype)   # Q (x) V, then V @ [A_d]
        self.load = np.empty((m, d), dtype)
        self.exposure = np.empty((m, d), dtype)
        self.d_load = np.empty((m, d), dtype)
        self.load_grad = np.empty((n, d), dtype)
        self.positive_loss = np.empty(m, np.float64)
        self.grads = {
            "user_factors": np.empty((n, k), dtype), "item_factors": np.empty((m, k), dtype),
            "membership_logits": np.empty((n, d), dtype), "exposure_weight": np.empty(m, dtype),
            "exposure_bias": np.empty(m, dtype), "user_influence": np.empty(n, dtype),
        }


def fbgd_loss_and_gradient(work: FBGDWorkspace, params: dict[str, np.ndarray],
                           objective: Objective) -> tuple[float, dict[str, np.ndarray]]:
    """J and dJ/dparams by fBGD (NOTES.md "fBGD"); gradients are views into ``work``.

    sum_ij G_ij R_ij^2 = sum_d <A_d, B_d>, sum_ij G_ij = (sum_i theta_i).(sum_j q_j), and every
    other term is a sum over the positives (kernels in ``_kernels/fbgd.py``).
    """
    u, v = params["user_factors"], params["item_factors"]
    g = params["membership_logits"]
    n, m = work.train.shape
    k = u.shape[1]
    d = g.shape[1]
    eta, eps = objective.eta, objective.epsilon
    theta = softmax(g, axis=1).astype(u.dtype, copy=False)
    fawmf_item_exposure(work.train_t.indptr, work.train_t.indices, work.item_blocks, theta,
                        params["user_influence"],
                        params["exposure_weight"], params["exposure_bias"], work.load, work.exposure)
    q = work.exposure
    fawmf_weighted_outer(theta, u, work.user_outer)
    a_stack = u.T @ work.user_outer                 # [A_1 .. A_D], (K, D*K)
    fawmf_weighted_outer(q, v, work.item_outer)
    b_stack = v.T @ work.item_outer                 # [B_1 .. B_D]
    np.matmul(v, a_stack, out=work.item_outer)      # rows: A_d v_j
    np.matmul(u, b_stack, out=work.user_outer)      # rows: B_d u_i
    theta_total = theta.sum(axis=0, dtype=np.float64)
    exposure_total = q.sum(axis=0, dtype=np.float64)
    grads = work.grads
    fbgd_item_pass(work.train_t.indptr, work.train_t.indices, work.item_blocks, u, v, theta, q, work.load,
                   params["exposure_weight"], params["exposure_bias"], work.item_outer,
                   theta_total, objective.factor_reg, objective.exposure_weight_reg,
                   objective.exposure_bias_reg, eta, eps, grads["item_factors"],
                   grads["exposure_weight"], grads["exposure_bias"], work.d_load,
                   work.positive_loss)
    fbgd_user_pass(work.train.indptr, work.train.indices, work.user_blocks, u, v, theta, g, q,
                   params["user_influence"], work.d_load, work.user_outer, exposure_total,
                   objective.factor_reg, objective.membership_reg, eta, eps,
                   grads["user_factors"], grads["membership_logits"], grads["user_influence"],
                   work.load_grad)
    quadratic = float(np.sum(a_stack.astype(np.float64).reshape(k, d, k)
                             * b_stack.astype(np.float64).reshape(k, d, k)))
    loss = (quadratic + eta * eps * eps * (n * m - float(theta_total @ exposure_total))
            + float(work.positive_loss.sum()) + objective.penalty(params))
    out = {name: grads[name] for name in PARAMETER_NAMES[:5]}
    if objective.learn_influence:
        alpha = params["user_influence"]
        grads["user_influence"] += (objective.influence_reg * (alpha - 1.0)).astype(alpha.dtype)
        out["user_influence"] = grads["user_influence"]
    return loss, out
