"""WMF by exact ALS (Hu, Koren, Volinsky 2008) in PyTorch: implicit's Cholesky solution, batched.

With confidence alpha on the positives and 1 elsewhere (implicit's semantics, models/wmf.py),
the exact update of every user u given the item factors Y is

    (Y^T Y + lam I + (alpha - 1) sum_{j in pos(u)} y_j y_j^T) x_u = alpha sum_{j in pos(u)} y_j

and symmetrically for the items. The per-user sums of y_j y_j^T are one sparse-dense product
X [y_j (x) y_j] (n x K^2), the right-hand sides X Y; the n K x K systems are solved by a
batched Cholesky factorisation in float64 (LU where a system is not positive definite).
Factors are float32 as in implicit, initialised as implicit does (numpy default_rng(seed):
users then items, U(0, 1) * 0.01), so the same seed gives the same start on every device.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..devices import free_device_bytes, torch_device
from ._memory import check_fits, reraise
from ._params import DeviceParameters
from ._sparse import DeviceCSR


def implicit_initial_factors(n: int, m: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """implicit 0.7's initialisation of AlternatingLeastSquares (cpu/als.py ``fit``)."""
    rng = np.random.default_rng(seed)
    users = rng.random((n, k), dtype=np.float32) * 0.01
    items = rng.random((m, k), dtype=np.float32) * 0.01
    return users, items


def wmf_device_bytes(n: int, m: int, nnz: int, k: int) -> float:
    """Estimated peak device memory: the K^2 Gram rows and the float64 systems of the larger side."""
    side = max(n, m)
    return float(side * k * k * (4 + 8 + 8) + m * k * k * 4 + 4 * (n + m) * k * 8 + nnz * 48)


def solve_side(x: torch.Tensor, fixed: torch.Tensor, regularization: float, alpha: float) -> torch.Tensor:
    """The exact ALS update of every row of the sparse ``x`` (CSR, rows x len(fixed)) given the
    other side's factors ``fixed`` (module docstring)."""
    k = fixed.shape[1]
    outer = (fixed[:, :, None] * fixed[:, None, :]).reshape(len(fixed), k * k)
    gram = (x @ outer).double().view(-1, k, k)
    base = (fixed.double().T @ fixed.double()) + regularization * torch.eye(k, dtype=torch.float64,
                                                                             device=fixed.device)
    systems = base + (alpha - 1.0) * gram
    rhs = alpha * (x @ fixed).double()[:, :, None]
    factor, info = torch.linalg.cholesky_ex(systems)
    if bool(torch.any(info != 0)):
        solution = torch.linalg.solve(systems, rhs)
    else:
        solution = torch.cholesky_solve(rhs, factor)
    return solution[:, :, 0].to(fixed.dtype)


class TorchWMF(DeviceParameters):
    """WMF's factors on a torch device and one ALS iteration per epoch (users, then items)."""

    def __init__(self, train: sp.csr_matrix, user_factors: np.ndarray, item_factors: np.ndarray,
                 regularization: float, alpha: float, device: str) -> None:
        n, m = train.shape
        k = user_factors.shape[1]
        self.needed_bytes = wmf_device_bytes(n, m, train.nnz, k)
        check_fits(self.needed_bytes, free_device_bytes(device), device)
        self.device = torch_device(device)
        self.regularization, self.alpha = regularization, alpha
        self.x = DeviceCSR(train, self.device, torch.float32)
        self.params = {"user_factors": torch.from_numpy(np.array(user_factors)).to(self.device),
                       "item_factors": torch.from_numpy(np.array(item_factors)).to(self.device)}
        self._x, self._xt = self.x.matrix(), self.x.transposed()

    def loss(self) -> float:
        """J = sum_uj c_uj (x_uj - u_u . v_j)^2 + lam (|U|^2 + |V|^2) in float64
        (``weighted_square_loss`` with unit item weights)."""
        users = self.params["user_factors"].double()
        items = self.params["item_factors"].double()
        all_pairs = float(torch.sum((users.T @ users) * (items.T @ items)))
        r = self.x.row_dot(users, items)
        correction = float(torch.sum(self.alpha * (1.0 - r) ** 2 - r * r))
        penalty = self.regularization * float(torch.sum(users * users) + torch.sum(items * items))
        return all_pairs + correction + penalty

    def step(self, epoch: int) -> float:
        try:
            self.params["user_factors"] = solve_side(self._x, self.params["item_factors"],
                                                     self.regularization, self.alpha)
            self.params["item_factors"] = solve_side(self._xt, self.params["user_factors"],
                                                     self.regularization, self.alpha)
            return self.loss()
        except (RuntimeError, MemoryError) as error:
            reraise(error, self.device, self.needed_bytes)

    def score(self, users: np.ndarray, scoring: str) -> torch.Tensor:
        index = torch.from_numpy(np.asarray(users, dtype=np.int64)).to(self.device)
        return self.params["user_factors"][index] @ self.params["item_factors"].T
