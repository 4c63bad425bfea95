"""BPR-MF (Rendle et al., UAI 2009) by synchronous mini-batch SGD in PyTorch.

An epoch draws as many triples as the numba path (|X+|: a positive (u, i) uniform over X+,
then j uniform over the items u has not consumed; :meth:`~._sparse.DeviceCSR.sample_unconsumed`),
``batch_size`` triples per step. Every triple contributes the numba kernel's per-sample ascent
direction on ln sigmoid(x_uij) - reg/2 (|p_u|^2 + |q_i|^2 + |q_j|^2 + b_i^2 + b_j^2)
(``_kernels/bpr.py``; g = sigmoid(-x_uij), x_uij = p_u . (q_i - q_j) + b_i - b_j):

    dp_u = g (q_i - q_j) - reg p_u,  dq_i = g p_u - reg q_i,  dq_j = -g p_u - reg q_j,
    db_i = g - reg b_i,              db_j = -g - reg b_j

all evaluated at the parameters before the step and summed over the batch into the parameters
(``index_add_``, scaled by the learning rate). With ``batch_size=1`` this is the kernel's
sequential SGD; with bigger batches the updates inside a batch do not see each other (unlike
the Hogwild kernel's), so results differ from the CPU path beyond rounding.

Draws come from a torch Generator seeded from ``random_state``: a fit is reproducible on one
device (bit for bit on torch-cpu; on CUDA ``index_add_`` adds floating point values with
atomics, whose order may vary). Parameters keep the CPU path's dtype (float64).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from ..devices import free_device_bytes, torch_device
from ._memory import check_fits, reraise
from ._params import DeviceParameters
from ._sparse import DeviceCSR

#: the fitted NumPy attributes (without the trailing "_") the backend holds
PARAMETER_NAMES = ("user_factors", "item_factors", "item_bias")


def bpr_device_bytes(n: int, m: int, nnz: int, k: int, batch_size: int, itemsize: int = 8) -> float:
    """Estimated peak device memory: parameters, X's indices and keys, a batch's temporaries."""
    return float(((n + m) * k + m) * itemsize + (n + 1) * 8 + nnz * (6 * 8 + itemsize)
                 + batch_size * (8 * 8 + 8 * k * itemsize))


def bpr_sample_terms(params: dict[str, torch.Tensor], users: torch.Tensor, positives: torch.Tensor,
                     negatives: torch.Tensor, regularization: float
                     ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Per triple: -ln sigmoid(x_uij) and the ascent directions of the module docstring
    ("user", "positive", "negative": K-vectors; "positive_bias", "negative_bias": scalars)."""
    p = params["user_factors"][users]
    q_pos = params["item_factors"][positives]
    q_neg = params["item_factors"][negatives]
    b_pos = params["item_bias"][positives]
    b_neg = params["item_bias"][negatives]
    x = torch.einsum("sk,sk->s", p, q_pos - q_neg) + b_pos - b_neg
    g = torch.sigmoid(-x)[:, None]
    terms = {
        "user": g * (q_pos - q_neg) - regularization * p,
        "positive": g * p - regularization * q_pos,
        "negative": -g * p - regularization * q_neg,
        "positive_bias": g[:, 0] - regularization * b_pos,
        "negative_bias": -g[:, 0] - regularization * b_neg,
    }
    return F.softplus(-x), terms


def bpr_minibatch_step(params: dict[str, torch.Tensor], users: torch.Tensor, positives: torch.Tensor,
                       negatives: torch.Tensor, learning_rate: float, regularization: float,
                       update_bias: bool = True) -> torch.Tensor:
    """One synchronous SGD step on the triples (in place); returns the summed -ln sigmoid(x_uij)
    at the parameters before it."""
    loss, terms = bpr_sample_terms(params, users, positives, negatives, regularization)
    params["user_factors"].index_add_(0, users, terms["user"], alpha=learning_rate)
    items = params["item_factors"]
    items.index_add_(0, positives, terms["positive"], alpha=learning_rate)
    items.index_add_(0, negatives, terms["negative"], alpha=learning_rate)
    if update_bias:
        params["item_bias"].index_add_(0, positives, terms["positive_bias"], alpha=learning_rate)
        params["item_bias"].index_add_(0, negatives, terms["negative_bias"], alpha=learning_rate)
    return loss.sum()


class TorchBPR(DeviceParameters):
    """BPR's parameters on a torch device and its mini-batch SGD epoch (module docstring)."""

    def __init__(self, train: sp.csr_matrix, user_factors: np.ndarray, item_factors: np.ndarray,
                 item_bias: np.ndarray, *, learning_rate: float, regularization: float, update_bias: bool,
                 batch_size: int, seed: int, device: str) -> None:
        n, m = train.shape
        k = user_factors.shape[1]
        self.needed_bytes = bpr_device_bytes(n, m, train.nnz, k, batch_size, user_factors.dtype.itemsize)
        check_fits(self.needed_bytes, free_device_bytes(device), device)
        self.device = torch_device(device)
        self.learning_rate, self.regularization = learning_rate, regularization
        self.update_bias, self.batch_size = update_bias, int(batch_size)
        try:
            self.x = DeviceCSR(train, self.device, torch.float32)
            self.params = {key: torch.from_numpy(np.array(value)).to(self.device)
                           for key, value in zip(PARAMETER_NAMES, (user_factors, item_factors, item_bias))}
            counts = np.diff(train.indptr)
            # triples whose user consumed every item are skipped, as in the kernel
            self.has_negative = (torch.from_numpy(counts < m).to(self.device)
                                 if np.any(counts >= m) else None)
        except RuntimeError as error:
            reraise(error, self.device, self.needed_bytes)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(seed))

    def draw_batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``size`` triples (u, i, j) as the kernel draws them (fewer if some user has no negative)."""
        drawn = torch.randint(self.x.nnz, (size,), generator=self.generator, device=self.device)
        users, positives = self.x.rows[drawn], self.x.cols[drawn]
        if self.has_negative is not None:
            keep = self.has_negative[users]
            users, positives = users[keep], positives[keep]
        return users, positives, self.x.sample_unconsumed(users, self.generator)

    def step(self, epoch: int) -> float:
        """One epoch of |X+| triples; the mean -ln sigmoid(x_uij) (as ``bpr_epoch``)."""
        nnz = self.x.nnz
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        try:
            for start in range(0, nnz, self.batch_size):
                users, positives, negatives = self.draw_batch(min(self.batch_size, nnz - start))
                total += bpr_minibatch_step(self.params, users, positives, negatives, self.learning_rate,
                                            self.regularization, self.update_bias)
        except (RuntimeError, MemoryError) as error:
            reraise(error, self.device, self.needed_bytes)
        return float(total) / max(nnz, 1)

    def score(self, users: np.ndarray, scoring: str) -> torch.Tensor:
        """p_u . q_j + b_j on the device."""
        index = torch.from_numpy(np.asarray(users, dtype=np.int64)).to(self.device)
        return self.params["user_factors"][index] @ self.params["item_factors"].T + self.params["item_bias"]
