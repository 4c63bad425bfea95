"""EXMF (ExpoMF) EM in PyTorch: the same updates as :mod:`fawmf_bench.models.exmf`, the dense
E-step over blocks of users on the device.

Per block of B users the posterior P (B x m) is one float32 GEMM theta beta^T and an
elementwise pass in float64 (as the numba kernel computes it):
p_ui = mu_i phi_ui / (mu_i phi_ui + 1 - mu_i), phi_ui = N(0 | theta_u . beta_i, 1 / lambda_y),
and p_ui = 1 on the positives. The weighted Gram matrices are float32 GEMMs
P @ [beta_i (x) beta_i] and P^T @ [theta_u (x) theta_u]; the K x K ridge systems are solved in
float64 (batched ``torch.linalg.solve``). Factors stay float64, as on the CPU path.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import torch

from ..devices import free_device_bytes, torch_device
from ._memory import check_fits, reraise
from ._params import DeviceParameters
from ._sparse import DeviceCSR

_MU_CLIP = 1e-8
#: bytes per posterior entry of a block: float32 prediction and posterior, float64 temporaries
_BYTES_PER_ENTRY = 4 + 4 + 3 * 8


def _outer_rows(factors: torch.Tensor) -> torch.Tensor:
    k = factors.shape[1]
    return (factors[:, :, None] * factors[:, None, :]).reshape(len(factors), k * k)


def _ridge_solve(gram: torch.Tensor, rhs: torch.Tensor, ridge: float) -> torch.Tensor:
    """Solve (G_r + ridge I) x_r = b_r for every row r (float64)."""
    k = rhs.shape[1]
    systems = gram.reshape(-1, k, k).double()
    systems = systems + ridge * torch.eye(k, dtype=systems.dtype, device=systems.device)
    return torch.linalg.solve(systems, rhs.double()[:, :, None])[:, :, 0]


def exmf_device_bytes(n: int, m: int, nnz: int, k: int, block_users: int) -> float:
    """Estimated peak device memory of a torch EXMF fit."""
    return float(block_users * m * _BYTES_PER_ENTRY + m * k * k * (4 + 8 + 8) + n * k * k * 4
                 + 6 * (n + m) * k * 8 + nnz * 40)


class TorchEXMF(DeviceParameters):
    """EXMF's parameters on a torch device and its EM epoch (module docstring)."""

    def __init__(self, train: sp.csr_matrix, user_factors: np.ndarray, item_factors: np.ndarray,
                 exposure_prior: np.ndarray, *, lambda_theta: float, lambda_beta: float, lambda_y: float,
                 prior_a: float, prior_b: float, block_users: int | None, device: str) -> None:
        n, m = train.shape
        k = user_factors.shape[1]
        if block_users is None:   # bigger blocks on a GPU: about 2^26 entries (2 GiB of temporaries)
            block_users = max(1, (2**26 if device.startswith("cuda") else 2**22) // m)
        block_users = min(int(block_users), n)
        self.needed_bytes = exmf_device_bytes(n, m, train.nnz, k, block_users)
        check_fits(self.needed_bytes, free_device_bytes(device), device)
        self.device = torch_device(device)
        self.lambda_theta, self.lambda_beta, self.lambda_y = lambda_theta, lambda_beta, lambda_y
        self.prior_a, self.prior_b = prior_a, prior_b
        self.blocks = [(s, min(n, s + block_users)) for s in range(0, n, block_users)]
        self.indptr = train.indptr.astype(np.int64)
        try:
            self.x = DeviceCSR(train, self.device, torch.float64)
            self.params = {
                "user_factors": torch.from_numpy(np.array(user_factors, dtype=np.float64)).to(self.device),
                "item_factors": torch.from_numpy(np.array(item_factors, dtype=np.float64)).to(self.device),
                "exposure_prior": torch.from_numpy(np.array(exposure_prior, dtype=np.float64)).to(self.device),
            }
        except RuntimeError as error:
            self._raise_memory(error)
        self.version = 0

    def _raise_memory(self, error: BaseException):
        reraise(error, self.device, self.needed_bytes)

    def posterior_block(self, start: int, stop: int, with_loglik: bool = False
                        ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(P for users start..stop-1 as float32, their marginal log-likelihoods or None)."""
        users32 = self.params["user_factors"][start:stop].float()
        items32 = self.params["item_factors"].float()
        pred = (users32 @ items32.T).double()
        mu = self.params["exposure_prior"]
        norm = math.sqrt(self.lambda_y / (2.0 * math.pi))
        half_lam = 0.5 * self.lambda_y
        weighted = mu * norm * torch.exp(-half_lam * pred * pred)
        evidence = weighted + (1.0 - mu)
        posterior = (weighted / evidence).float()
        lo, hi = int(self.indptr[start]), int(self.indptr[stop])
        rows = self.x.rows[lo:hi] - start
        cols = self.x.cols[lo:hi]
        posterior[rows, cols] = 1.0
        loglik = None
        if with_loglik:
            log_evidence = torch.log(evidence)
            positive = (torch.log(mu[cols]) + math.log(norm) - half_lam * (1.0 - pred[rows, cols]) ** 2
                        - log_evidence[rows, cols])
            # per-user sums of the positives' terms as differences of a cumulative sum (a
            # deterministic segment sum; index_add_ uses atomics on CUDA)
            ends = torch.from_numpy(self.indptr[start + 1:stop + 1] - lo).to(self.device)
            total = torch.cat([positive.new_zeros(1), torch.cumsum(positive, dim=0)])
            starts = torch.cat([ends.new_zeros(1), ends[:-1]])
            loglik = log_evidence.sum(dim=1) + (total[ends] - total[starts])
        return posterior, loglik

    def update_users(self) -> None:
        items = self.params["item_factors"]
        item_outer = _outer_rows(items.float())
        rhs = self.x.matrix(self.x.ones.double()) @ items
        ridge = self.lambda_theta / self.lambda_y
        for start, stop in self.blocks:
            posterior, _ = self.posterior_block(start, stop)
            self.params["user_factors"][start:stop] = _ridge_solve(posterior @ item_outer, rhs[start:stop], ridge)

    def update_items(self) -> None:
        users = self.params["user_factors"]
        k = users.shape[1]
        gram = torch.zeros((self.x.shape[1], k * k), dtype=torch.float64, device=self.device)
        for start, stop in self.blocks:
            posterior, _ = self.posterior_block(start, stop)
            gram += (posterior.T @ _outer_rows(users[start:stop].float())).double()
        rhs = self.x.transposed(self.x.ones.double()) @ users
        self.params["item_factors"] = _ridge_solve(gram, rhs, self.lambda_beta / self.lambda_y)

    def update_exposure(self) -> float:
        """mu update; returns the negative log posterior before it (``EXMF.update_exposure``)."""
        n = self.x.shape[0]
        mu = self.params["exposure_prior"]
        exposed = torch.zeros_like(mu)
        loglik = torch.zeros(n, dtype=torch.float64, device=self.device)
        for start, stop in self.blocks:
            posterior, block_loglik = self.posterior_block(start, stop, with_loglik=True)
            exposed += posterior.sum(dim=0, dtype=torch.float64)
            loglik[start:stop] = block_loglik
        a, b = self.prior_a, self.prior_b
        objective = (-loglik.sum()
                     + 0.5 * self.lambda_theta * torch.sum(self.params["user_factors"] ** 2)
                     + 0.5 * self.lambda_beta * torch.sum(self.params["item_factors"] ** 2)
                     - torch.sum((a - 1) * torch.log(mu) + (b - 1) * torch.log1p(-mu)))
        updated = (a + exposed - 1.0) / (a + b + n - 2.0)
        self.params["exposure_prior"] = updated.clamp(_MU_CLIP, 1.0 - _MU_CLIP)
        return float(objective)

    def step(self, epoch: int) -> float:
        """One EM epoch (theta, beta, mu); returns J / |X+|."""
        try:
            self.update_users()
            self.update_items()
            loss = self.update_exposure() / self.x.nnz
        except (RuntimeError, MemoryError) as error:
            self._raise_memory(error)
        self.version += 1
        return loss

    def score(self, users: np.ndarray, scoring: str) -> torch.Tensor:
        """theta_u . beta_i ("preference") or mu_i theta_u . beta_i ("exposure"), on the device."""
        index = torch.from_numpy(np.asarray(users, dtype=np.int64)).to(self.device)
        scores = self.params["user_factors"][index] @ self.params["item_factors"].T
        if scoring == "exposure":
            scores = scores * self.params["exposure_prior"]
        return scores
