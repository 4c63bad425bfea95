"""FAWMF's full-batch learners (fBGD and the dense "original BGD") in PyTorch.

The same objective, gradient and Adam rule as the numba path
(:mod:`fawmf_bench.models.fawmf_gradient`, ``_kernels/fbgd.py``; NOTES.md "fBGD"), written
as device tensor algebra:

- the K^2 D caches A_d = sum_i theta_id u_i u_i^T, B_d = sum_j q_jd v_j v_j^T are two GEMMs
  over the stacked (n or m) x DK outer products, then V [A_1..A_D] and U [B_1..B_D];
- every sum over the positives is a sparse-dense product with X or X^T carrying per-positive
  values G_ij = theta_i . q_j and c_ij = (1 - 2 R_ij) - eta (1 - 2 eps)
  (:class:`~._sparse.DeviceCSR`): O(|X+| (K + D)) work, no n x m array;
- Adam (beta 0.9 / 0.999, eps 1e-8) as ``fawmf_adam_step``; the exposure-weight floor w >= 1e-5
  either ``projected`` after each step, or ``on_read``: Adam moves an unclamped shadow and
  max(floor, shadow) is used wherever w is read (its gradient passes straight through).

Parameters start from the model's NumPy initialisation (same seed, same start on every
device) and are copied back to NumPy at the end of the fit.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..devices import free_device_bytes, torch_device
from ._memory import check_fits, reraise
from ..fawmf_gradient import PARAMETER_NAMES, Objective
from ._params import DeviceParameters
from ._sparse import DeviceCSR

#: lower bounds of the constrained parameters (as models/fawmf.py)
FLOORS = {"exposure_weight": 1e-5, "user_influence": 0.0}
WEIGHT_FLOORS = ("projected", "on_read")
_FACTOR_KEYS = ("user_factors", "item_factors")


def penalty(params: dict[str, torch.Tensor], objective: Objective) -> float:
    """The L2 part of J in float64 (``Objective.penalty``)."""
    def sq(a: torch.Tensor) -> float:
        return float(torch.sum(a.double() ** 2))

    total = objective.factor_reg * (sq(params["user_factors"]) + sq(params["item_factors"]))
    total += objective.membership_reg * sq(params["membership_logits"])
    total += objective.exposure_weight_reg * sq(params["exposure_weight"])
    total += objective.exposure_bias_reg * sq(params["exposure_bias"])
    if objective.learn_influence:
        total += objective.influence_reg * sq(params["user_influence"] - 1.0)
    return 0.5 * total


def item_exposure(x: DeviceCSR, theta: torch.Tensor, params: dict[str, torch.Tensor]
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """(S, Q) of Eq. 6: S = X^T (alpha * theta), Q = sigmoid(w * S + b)."""
    load = x.transposed() @ (params["user_influence"][:, None] * theta)
    exposure = torch.sigmoid(params["exposure_weight"][:, None] * load + params["exposure_bias"][:, None])
    return load, exposure


def _stacked_cache(weights: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """[C_1 .. C_D], (K, D*K), C_d = sum_r weights[r, d] f_r f_r^T (one GEMM)."""
    outer = (weights[:, :, None] * factors[:, None, :]).reshape(factors.shape[0], -1)
    return factors.T @ outer


def fbgd_loss_and_gradient(x: DeviceCSR, params: dict[str, torch.Tensor], objective: Objective
                           ) -> tuple[float, dict[str, torch.Tensor]]:
    """J and dJ/dparams by fBGD (NOTES.md "fBGD"; same terms as ``fbgd_item_pass`` /
    ``fbgd_user_pass``): dense GEMMs for the caches, sparse products for the positives."""
    u, v = params["user_factors"], params["item_factors"]
    g, w, b = params["membership_logits"], params["exposure_weight"], params["exposure_bias"]
    alpha = params["user_influence"]
    n, m = x.shape
    k, d = u.shape[1], g.shape[1]
    eta, eps = objective.eta, objective.epsilon
    unexposed = eta * eps * eps
    offset = eta * (1.0 - 2.0 * eps)
    theta = torch.softmax(g, dim=1)
    load, q = item_exposure(x, theta, params)
    a_stack = _stacked_cache(theta, u)                       # [A_1 .. A_D]
    b_stack = _stacked_cache(q, v)                           # [B_1 .. B_D]
    item_cross = (v @ a_stack).view(m, d, k)                 # A_d v_j
    user_cross = (u @ b_stack).view(n, d, k)                 # B_d u_i
    theta_total = theta.sum(dim=0)
    exposure_total = q.sum(dim=0)
    # per-positive values, X's CSR order
    pred = x.row_dot(u, v)
    gamma = x.row_dot(theta, q)
    c = (1.0 - 2.0 * pred) - offset
    x_gamma, x_c = x.matrix(gamma), x.matrix(c)
    xt_gamma, xt_c = x.transposed(gamma), x.transposed(c)
    # item side
    d_v = objective.factor_reg * v + 2.0 * torch.einsum("jd,jdk->jk", q, item_cross) - 2.0 * (xt_gamma @ u)
    d_q = torch.einsum("jdk,jk->jd", item_cross, v) - unexposed * theta_total + xt_c @ theta
    d_z = d_q * q * (1.0 - q)
    d_w = (d_z * load).sum(dim=1) + objective.exposure_weight_reg * w
    d_b = d_z.sum(dim=1) + objective.exposure_bias_reg * b
    d_load = d_z * w[:, None]                                # dJ/dS
    # user side
    d_u = objective.factor_reg * u + 2.0 * torch.einsum("id,idk->ik", theta, user_cross) - 2.0 * (x_gamma @ v)
    load_grad = x.matrix() @ d_load                          # X dS
    d_theta = (torch.einsum("idk,ik->id", user_cross, u) - unexposed * exposure_total
               + x_c @ q + alpha[:, None] * load_grad)
    d_alpha = (theta * load_grad).sum(dim=1)
    d_g = theta * (d_theta - (theta * d_theta).sum(dim=1, keepdim=True)) + objective.membership_reg * g
    quadratic = float(torch.sum(a_stack.double().view(k, d, k) * b_stack.double().view(k, d, k)))
    positive = float(torch.sum(gamma.double() * (1.0 - 2.0 * pred.double()) + (1.0 - gamma.double()) * offset))
    loss = (quadratic + unexposed * (n * m - float(theta_total.double() @ exposure_total.double()))
            + positive + penalty(params, objective))
    grads = {"user_factors": d_u, "item_factors": d_v, "membership_logits": d_g,
             "exposure_weight": d_w, "exposure_bias": d_b}
    if objective.learn_influence:
        grads["user_influence"] = d_alpha + objective.influence_reg * (alpha - 1.0)
    return loss, grads


def dense_loss_and_gradient(x: torch.Tensor, params: dict[str, torch.Tensor], objective: Objective
                            ) -> tuple[float, dict[str, torch.Tensor]]:
    """J and dJ/dparams over dense n x m tensors (original BGD; ``dense_loss_and_gradient``)."""
    u, v = params["user_factors"], params["item_factors"]
    g, w, b = params["membership_logits"], params["exposure_weight"], params["exposure_bias"]
    alpha = params["user_influence"]
    eta, eps = objective.eta, objective.epsilon
    theta = torch.softmax(g, dim=1)
    load = x.T @ (alpha[:, None] * theta)
    q = torch.sigmoid(w[:, None] * load + b[:, None])
    gamma = theta @ q.T
    residual = u @ v.T - x
    miss = (x - eps) ** 2
    sq_res = residual ** 2
    loss = float(torch.sum((gamma * sq_res).double()) + eta * torch.sum(((1.0 - gamma) * miss).double()))
    d_r = 2.0 * gamma * residual
    d_u = d_r @ v + objective.factor_reg * u
    d_v = d_r.T @ u + objective.factor_reg * v
    del d_r, residual, gamma
    d_gamma = sq_res - eta * miss
    del sq_res, miss
    d_theta = d_gamma @ q
    d_q = d_gamma.T @ theta
    del d_gamma
    d_z = d_q * q * (1.0 - q)
    d_w = (d_z * load).sum(dim=1) + objective.exposure_weight_reg * w
    d_b = d_z.sum(dim=1) + objective.exposure_bias_reg * b
    load_grad = x @ (d_z * w[:, None])
    d_theta = d_theta + alpha[:, None] * load_grad
    d_alpha = (theta * load_grad).sum(dim=1)
    d_g = theta * (d_theta - (theta * d_theta).sum(dim=1, keepdim=True)) + objective.membership_reg * g
    grads = {"user_factors": d_u, "item_factors": d_v, "membership_logits": d_g,
             "exposure_weight": d_w, "exposure_bias": d_b}
    if objective.learn_influence:
        grads["user_influence"] = d_alpha + objective.influence_reg * (alpha - 1.0)
    return loss + penalty(params, objective), grads


def adam_step(param: torch.Tensor, grad: torch.Tensor, first: torch.Tensor, second: torch.Tensor,
              learning_rate: float, step: int, floor: float | None) -> None:
    """One Adam update in place (``fawmf_adam_step``): beta 0.9 / 0.999, eps 1e-8, then
    param = max(param, floor) unless ``floor`` is None."""
    b1, b2 = 0.9, 0.999
    c1, c2 = 1.0 - b1 ** step, 1.0 - b2 ** step
    first.mul_(b1).add_((1.0 - b1) * grad)
    second.mul_(b2).add_((1.0 - b2) * grad * grad)
    param.sub_(learning_rate * (first / c1) / (torch.sqrt(second / c2) + 1e-8))
    if floor is not None:
        param.clamp_(min=floor)


def fbgd_device_bytes(n: int, m: int, nnz: int, factors: int, communities: int, itemsize: int,
                      learner: str = "fbgd") -> float:
    """Estimated peak device memory of a torch FAWMF fit (parameters, Adam moments, a best-epoch
    snapshot, the K^2 D workspaces, the CSR indices and the per-positive values)."""
    k, d = factors, communities
    n_params = n * (k + d + 1) + m * (k + 2)
    total = 6 * n_params * itemsize                         # params, 2 moments, grads, snapshot, temps
    total += 3 * (n + m) * d * k * itemsize                 # outer products and crosses
    total += 5 * nnz * 8 + 8 * nnz * itemsize               # indices, per-positive values
    total += 2 * min(nnz, 1 << 22) * k * itemsize           # row_dot gathers
    if learner == "bgd":
        total += 7 * n * m * itemsize
    return float(total)


class TorchFAWMF(DeviceParameters):
    """The parameters of a FAWMF fit on a torch device and its full-batch learner."""

    def __init__(self, train: sp.csr_matrix, params: dict[str, np.ndarray], objective: Objective,
                 device: str, learner: str, weight_floor: str, learning_rate: float,
                 exposure_learning_rate: float) -> None:
        if learner not in ("fbgd", "bgd"):
            raise ValueError(f"FAWMF: learner {learner!r} has no torch backend; use 'fbgd' or 'bgd', or device='cpu'")
        if weight_floor not in WEIGHT_FLOORS:
            raise ValueError(f"FAWMF: weight_floor must be one of {WEIGHT_FLOORS}, got {weight_floor!r}")
        n, m = train.shape
        first = next(iter(params.values()))
        self.needed_bytes = fbgd_device_bytes(n, m, train.nnz, params["user_factors"].shape[1],
                                              params["membership_logits"].shape[1], first.dtype.itemsize,
                                              learner)
        check_fits(self.needed_bytes, free_device_bytes(device), device)
        self.device = torch_device(device)
        self.objective = objective
        self.learner = learner
        self.weight_floor = weight_floor
        self.rates = {key: learning_rate if key in _FACTOR_KEYS else exposure_learning_rate
                      for key in PARAMETER_NAMES}
        try:
            self.params = {key: torch.from_numpy(np.array(a)).to(self.device) for key, a in params.items()}
            self.moments = {key: (torch.zeros_like(a), torch.zeros_like(a)) for key, a in self.params.items()}
            dtype = self.params["user_factors"].dtype
            self.x = DeviceCSR(train, self.device, dtype)
            self.dense = (torch.from_numpy(train.toarray().astype(first.dtype)).to(self.device)
                          if learner == "bgd" else None)
        except (RuntimeError, MemoryError) as error:
            self._raise_memory(error)
        self.version = 0
        self._exposure: tuple[int, torch.Tensor] | None = None

    def _raise_memory(self, error: BaseException):
        reraise(error, self.device, self.needed_bytes)

    def read(self) -> dict[str, torch.Tensor]:
        """The parameters as the model reads them (the floor applied to w under ``on_read``)."""
        if self.weight_floor == "projected":
            return self.params
        read = dict(self.params)
        read["exposure_weight"] = self.params["exposure_weight"].clamp(min=FLOORS["exposure_weight"])
        return read

    def loss_and_gradient(self) -> tuple[float, dict[str, torch.Tensor]]:
        if self.learner == "bgd":
            return dense_loss_and_gradient(self.dense, self.read(), self.objective)
        return fbgd_loss_and_gradient(self.x, self.read(), self.objective)

    def step(self, epoch: int) -> float:
        """One full-batch epoch: gradient, then Adam on every learned parameter."""
        try:
            loss, grads = self.loss_and_gradient()
            for key, grad in grads.items():
                floor = FLOORS.get(key)
                if key == "exposure_weight" and self.weight_floor == "on_read":
                    floor = None
                first, second = self.moments[key]
                adam_step(self.params[key], grad, first, second, self.rates[key], epoch, floor)
        except (RuntimeError, MemoryError) as error:
            self._raise_memory(error)
        self.version += 1
        return loss

    # ----------------------------------------------------------------- state and scoring
    def membership(self) -> torch.Tensor:
        return torch.softmax(self.params["membership_logits"], dim=1)

    def exposure(self) -> torch.Tensor:
        """Q (m, D), cached per parameter version."""
        if self._exposure is None or self._exposure[0] != self.version:
            _, q = item_exposure(self.x, self.membership(), self.read())
            self._exposure = (self.version, q)
        return self._exposure[1]

    def score(self, users: np.ndarray, scoring: str) -> torch.Tensor:
        """u_i . v_j ("preference") or gamma_ij u_i . v_j ("exposure") for ``users``, on the device."""
        index = torch.from_numpy(np.asarray(users, dtype=np.int64)).to(self.device)
        preference = self.params["user_factors"][index] @ self.params["item_factors"].T
        if scoring == "preference":
            return preference
        theta = torch.softmax(self.params["membership_logits"][index], dim=1)
        return (theta @ self.exposure().T) * preference
