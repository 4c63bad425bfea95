"""CDAE (Wu et al., WSDM 2016) by synchronous mini-batches of users and AdaGrad in PyTorch.

Per step, ``batch_size`` users (an epoch visits every user with a positive once, in a random
order) each draw what the numba kernel draws (``_kernels/cdae.py``): drop-out of every
observed input with probability q (kept inputs scaled by 1 / (1 - q)) and ``negatives`` x |O_u|
items uniform over the unobserved ones (:meth:`~._sparse.DeviceCSR.sample_unconsumed`; redrawn
until they miss the positives, where the kernel gives up after 64 tries). The batch loss is
the sum of the kernel's per-user losses

    L_u = sum_{i in T_u} BCE(W'_i . z_u + b'_i, y_ui)
          + reg / 2 ( sum_{j kept} |W_j|^2 + |V_u|^2 + sum_{i in T_u} |W'_i|^2 ),
    z_u = sigmoid( sum_{j kept} W_j / (1 - q) + V_u + b ),

and its gradient (:func:`cdae_loss_and_gradient`, written out as in ``user_step``; a parameter
row touched by several users gets the sum of their terms) takes one AdaGrad step on the
touched rows (Duchi et al. 2011, as the kernel: G += g^2; p -= lr g / (sqrt(G) + 1e-10)).
With ``batch_size=1`` (and no repeated negative) a step is the kernel's ``user_step``; with
bigger batches the users of a batch share one step, so fits differ from the Hogwild CPU path
beyond rounding (fewer, summed AdaGrad steps per epoch).

Draws come from a torch Generator seeded from ``random_state``: a fit is reproducible on one
device (bit for bit on torch-cpu; on CUDA ``index_add_`` adds with atomics). Parameters keep
the CPU path's dtype (float32) and start from its NumPy initialisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from ..devices import free_device_bytes, torch_device
from ._memory import check_fits, reraise
from ._params import DeviceParameters
from ._sparse import DeviceCSR

#: the fitted NumPy attributes (without the trailing "_") the backend holds
PARAMETER_NAMES = ("input_weights", "user_weights", "hidden_bias", "output_weights", "output_bias")
_TINY = 1e-10  # AdaGrad's epsilon in the kernel


@dataclass
class UserBatch:
    """One step's sample: the users, their kept (corrupted) inputs and their targets. ``*_owner``
    index into ``users``; ``labels`` is 1 for a positive target, 0 for a sampled negative."""

    users: torch.Tensor
    kept_owner: torch.Tensor
    kept_items: torch.Tensor
    target_owner: torch.Tensor
    target_items: torch.Tensor
    labels: torch.Tensor


def draw_user_batch(x: DeviceCSR, users: torch.Tensor, corruption: float, negatives: int,
                    generator: torch.Generator, dtype: torch.dtype) -> UserBatch:
    """The users' drop-out inputs and targets (positives, then ``negatives`` x |O_u| sampled
    unobserved items; none for a user who consumed every item)."""
    owner, position = x.positions(users)
    items = x.cols[position]
    kept = torch.rand(items.shape, generator=generator, device=x.device, dtype=torch.float64) >= corruption
    counts = x.indptr[users + 1] - x.indptr[users]
    n_negatives = torch.where(counts < x.shape[1], negatives * counts, torch.zeros_like(counts))
    negative_owner = torch.repeat_interleave(torch.arange(len(users), device=x.device), n_negatives)
    negative_items = x.sample_unconsumed(users[negative_owner], generator)
    labels = torch.cat([torch.ones(len(items), dtype=dtype, device=x.device),
                        torch.zeros(len(negative_items), dtype=dtype, device=x.device)])
    return UserBatch(users, owner[kept], items[kept], torch.cat([owner, negative_owner]),
                     torch.cat([items, negative_items]), labels)


def cdae_loss_and_gradient(params: dict[str, torch.Tensor], batch: UserBatch, inv_keep: float,
                           regularization: float
                           ) -> tuple[torch.Tensor, dict[str, tuple[torch.Tensor | None, torch.Tensor]]]:
    """sum_u L_u (module docstring) and its gradient as {name: (rows, gradient of those rows)}
    (rows None: the whole parameter). ``user_step``'s terms: d_t = sigmoid(o_t) - y_t,
    dW'_i = sum_t d_t z + reg W'_i, db'_i = sum_t d_t, delta = (sum_t d_t W'_i) z (1 - z),
    dW_j = sum delta / (1 - q) + reg W_j, dV_u = delta + reg V_u, db = sum_u delta."""
    reg = regularization
    w_in = params["input_weights"][batch.kept_items]
    v_user = params["user_weights"][batch.users]
    pre = (v_user + params["hidden_bias"]).index_add_(0, batch.kept_owner, w_in, alpha=inv_keep)
    z = torch.sigmoid(pre)
    w_out = params["output_weights"][batch.target_items]
    z_target = z[batch.target_owner]
    logits = torch.einsum("tk,tk->t", w_out, z_target) + params["output_bias"][batch.target_items]
    loss = (torch.sum(F.softplus(logits) - batch.labels * logits, dtype=torch.float64)
            + 0.5 * reg * (torch.sum(w_in * w_in, dtype=torch.float64) + torch.sum(v_user * v_user, dtype=torch.float64)
                           + torch.sum(w_out * w_out, dtype=torch.float64)))
    d = torch.sigmoid(logits) - batch.labels
    dz = torch.zeros_like(z).index_add_(0, batch.target_owner, d[:, None] * w_out)
    delta = dz * z * (1 - z)
    out_rows, out_index = torch.unique(batch.target_items, return_inverse=True)
    in_rows, in_index = torch.unique(batch.kept_items, return_inverse=True)
    k = z.shape[1]
    grads = {
        "input_weights": (in_rows, w_in.new_zeros((len(in_rows), k)).index_add_(
            0, in_index, inv_keep * delta[batch.kept_owner] + reg * w_in)),
        "user_weights": (batch.users, delta + reg * v_user),
        "hidden_bias": (None, delta.sum(0)),
        "output_weights": (out_rows, w_out.new_zeros((len(out_rows), k)).index_add_(
            0, out_index, d[:, None] * z_target + reg * w_out)),
        "output_bias": (out_rows, d.new_zeros(len(out_rows)).index_add_(0, out_index, d)),
    }
    return loss, grads


def adagrad_step(params: dict[str, torch.Tensor], accumulators: dict[str, torch.Tensor],
                 grads: dict[str, tuple[torch.Tensor | None, torch.Tensor]], learning_rate: float) -> None:
    """G += g^2; p -= lr g / (sqrt(G) + 1e-10) on the rows each gradient names (in place)."""
    for name, (rows, grad) in grads.items():
        param, accumulator = params[name], accumulators[name]
        if rows is None:
            accumulator += grad * grad
            param -= learning_rate * grad / (accumulator.sqrt() + _TINY)
            continue
        total = accumulator[rows] + grad * grad
        accumulator.index_copy_(0, rows, total)
        param.index_copy_(0, rows, param[rows] - learning_rate * grad / (total.sqrt() + _TINY))


def cdae_device_bytes(n: int, m: int, nnz: int, k: int, batch_targets: int, itemsize: int = 4) -> float:
    """Estimated peak device memory: parameters and AdaGrad accumulators, X's indices and keys,
    and a batch of ``batch_targets`` targets (K-vectors gathered a few times each)."""
    return float(2 * ((2 * m + n) * k + k + m) * itemsize + (n + 1) * 8 + nnz * (6 * 8 + 4)
                 + batch_targets * (6 * 8 + 6 * k * itemsize))


class TorchCDAE(DeviceParameters):
    """CDAE's parameters on a torch device and its mini-batch AdaGrad epoch (module docstring)."""

    def __init__(self, train: sp.csr_matrix, params: dict[str, np.ndarray], *, corruption: float, negatives: int,
                 learning_rate: float, regularization: float, batch_size: int, seed: int, device: str) -> None:
        n, m = train.shape
        k = params["input_weights"].shape[1]
        counts = np.diff(train.indptr)
        batch_size = min(int(batch_size), n)
        batch_targets = int(np.sort(counts)[-batch_size:].sum()) * (1 + int(negatives))
        itemsize = params["input_weights"].dtype.itemsize
        self.needed_bytes = cdae_device_bytes(n, m, train.nnz, k, batch_targets, itemsize)
        check_fits(self.needed_bytes, free_device_bytes(device), device)
        self.device = torch_device(device)
        self.corruption, self.negatives = float(corruption), int(negatives)
        self.inv_keep = 1.0 / (1.0 - self.corruption)
        self.learning_rate, self.regularization = float(learning_rate), float(regularization)
        self.batch_size = batch_size
        try:
            self.x = DeviceCSR(train, self.device, torch.float32)
            self.params = {key: torch.from_numpy(np.array(params[key])).to(self.device) for key in PARAMETER_NAMES}
            self.accumulators = {key: torch.zeros_like(value) for key, value in self.params.items()}
            # users without positives are skipped, as in the kernel
            self.active = torch.from_numpy(np.flatnonzero(counts > 0)).to(self.device)
        except RuntimeError as error:
            reraise(error, self.device, self.needed_bytes)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(seed))

    def step(self, epoch: int) -> float:
        """One epoch: every user with a positive once, ``batch_size`` per AdaGrad step; returns
        sum_u L_u / |X+| (as the CPU path)."""
        dtype = self.params["input_weights"].dtype
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        try:
            order = self.active[torch.randperm(len(self.active), generator=self.generator, device=self.device)]
            for start in range(0, len(order), self.batch_size):
                batch = draw_user_batch(self.x, order[start:start + self.batch_size], self.corruption,
                                        self.negatives, self.generator, dtype)
                loss, grads = cdae_loss_and_gradient(self.params, batch, self.inv_keep, self.regularization)
                adagrad_step(self.params, self.accumulators, grads, self.learning_rate)
                total += loss
        except (RuntimeError, MemoryError) as error:
            reraise(error, self.device, self.needed_bytes)
        return float(total) / self.x.nnz

    def score(self, users: np.ndarray, scoring: str) -> torch.Tensor:
        """W'_i . sigmoid(sum_{j in O_u} W_j + V_u + b) + b'_i (uncorrupted input) on the device."""
        index = torch.from_numpy(np.asarray(users, dtype=np.int64)).to(self.device)
        owner, position = self.x.positions(index)
        pre = (self.params["user_weights"][index] + self.params["hidden_bias"]).index_add_(
            0, owner, self.params["input_weights"][self.x.cols[position]])
        return torch.sigmoid(pre) @ self.params["output_weights"].T + self.params["output_bias"]
