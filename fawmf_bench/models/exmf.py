"""EXMF: exposure matrix factorisation, ExpoMF (Liang, Charlin, McInerney, Blei; WWW 2016).

Generative model (Section 3 of the paper), with y the binary user x item matrix:

    theta_u ~ N(0, I / lambda_theta),  beta_i ~ N(0, I / lambda_beta),  mu_i ~ Beta(a, b)
    a_ui ~ Bernoulli(mu_i)
    y_ui | a_ui = 1 ~ N(theta_u . beta_i, 1 / lambda_y),   y_ui | a_ui = 0 = 0

EM alternates the E-step p_ui = E[a_ui | y] (kernel in
:mod:`fawmf_bench.models._kernels.exmf`, correct Gaussian density) with weighted ridge updates

    theta_u = (sum_i p_ui beta_i beta_i^T + lambda_theta / lambda_y I)^-1 sum_i p_ui y_ui beta_i
    beta_i  = (sum_u p_ui theta_u theta_u^T + lambda_beta / lambda_y I)^-1 sum_u p_ui y_ui theta_u
    mu_i    = (a + sum_u p_ui - 1) / (a + b + n - 2), clipped to [1e-8, 1 - 1e-8]

in the reference order theta, beta, mu, each with a fresh E-step. Every pass runs over user
blocks of bounded size: the posterior block P (B x m), then the weighted Gram matrices as
float32 GEMMs P (B x m) @ [beta_i (x) beta_i] (m x K^2) for users and P^T @ [theta_u (x) theta_u]
(accumulated, m x K^2) for items. Cost O(n m K^2) per epoch; memory O(B m + m K^2).

The training loss of an epoch is the negative log posterior
J = -sum_ui log p(y_ui | theta, beta, mu) + lambda_theta/2 |theta|^2 + lambda_beta/2 |beta|^2
    - sum_i [(a-1) log mu_i + (b-1) log(1-mu_i)]   (divided by the number of positives),
evaluated after the theta and beta updates with the mu in use; EM never increases it.
Scorings: "preference" = theta_u . beta_i; "exposure" = mu_i theta_u . beta_i.
``device`` other than "cpu" runs the same EM in PyTorch (``_torch/exmf.py``; see
:mod:`~fawmf_bench.models.devices`).
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import scipy.sparse as sp

from ._kernels.exmf import exposure_posterior
from .base import (NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, Characteristics, FitMonitor, Interval, Recommender,
                   check_train, run_epochs)
from .devices import DEVICE_NAME, TorchBacked, resolve_device

_MU_CLIP = 1e-8
_BLOCK_ENTRIES = 2**22  # entries of one posterior block (32 MiB in float64)


def _outer_rows(factors: np.ndarray) -> np.ndarray:
    """Row-wise outer products f_r f_r^T flattened, shape (rows, K^2)."""
    k = factors.shape[1]
    return (factors[:, :, None] * factors[:, None, :]).reshape(len(factors), k * k)


def _ridge_solve(gram: np.ndarray, rhs: np.ndarray, ridge: float) -> np.ndarray:
    """Solve (G_r + ridge I) x_r = b_r for every row r; gram is (rows, K^2), rhs (rows, K)."""
    k = rhs.shape[1]
    systems = gram.reshape(-1, k, k).astype(np.float64)
    systems[:, np.arange(k), np.arange(k)] += ridge
    return np.linalg.solve(systems, rhs[:, :, None])[:, :, 0]


class EXMF(TorchBacked, Recommender):
    """Exposure MF (ExpoMF) fitted by EM with bounded-memory user blocks.

    Parameters
    ----------
    factors: latent dimension K.
    epochs: maximum EM iterations.
    init_mu: initial exposure prior mu_i for every item (tune over 0.1 .. 0.001).
    lambda_theta, lambda_beta: Gaussian prior precisions of user / item factors.
    lambda_y: precision of the exposed-observation Gaussian.
    prior_a, prior_b: Beta(a, b) prior on mu_i.
    init_std: standard deviation of the Gaussian factor initialisation.
    block_users: users per block (None: blocks of about 4M posterior entries).
    random_state: seed of the initialisation.
    scoring: fixed scoring ("preference" or "exposure") or None to choose on validation.
    device: "cpu" (NumPy / numba), "cuda", "torch-cpu" or "auto" (models/devices.py).
    """

    name = "exmf"
    label = "EXMF"
    plot_order = 5
    color = "#D55E00"
    characteristics = Characteristics("yes", "yes", "O(nmK^3)")
    scorings = ("preference", "exposure")
    _parameter_constraints = {
        "factors": [POSITIVE_INT], "epochs": [POSITIVE_INT], "init_mu": [Interval(Real, 0, 1, closed="neither")],
        "lambda_theta": [POSITIVE], "lambda_beta": [POSITIVE], "lambda_y": [POSITIVE], "init_std": [POSITIVE],
        "prior_a": [Interval(Real, 1)], "prior_b": [Interval(Real, 1)],  # >= 1: MAP update of mu
        "block_users": [None, POSITIVE_INT], "random_state": [NON_NEGATIVE_INT],
        "device": [DEVICE_NAME],
    }

    def __init__(
        self,
        factors: int = 20,
        epochs: int = 50,
        init_mu: float = 0.01,
        lambda_theta: float = 1e-5,
        lambda_beta: float = 1e-5,
        lambda_y: float = 1.0,
        prior_a: float = 1.0,
        prior_b: float = 1.0,
        init_std: float = 0.01,
        block_users: int | None = None,
        random_state: int = 0,
        scoring: str | None = None,
        device: str = "cpu",
    ) -> None:
        self.factors = factors
        self.epochs = epochs
        self.init_mu = init_mu
        self.lambda_theta = lambda_theta
        self.lambda_beta = lambda_beta
        self.lambda_y = lambda_y
        self.prior_a = prior_a
        self.prior_b = prior_b
        self.init_std = init_std
        self.block_users = block_users
        self.random_state = random_state
        self.scoring = scoring
        self.device = device

    # ------------------------------------------------------------------ fitting
    def fit(self, train: sp.csr_matrix, monitor: FitMonitor | None = None) -> "EXMF":
        """EM on the binary CSR ``train`` (users x items); returns self."""
        self._validate_params()
        train = check_train(train, "EXMF")
        n_users, n_items = train.shape
        k = int(self.factors)
        rng = np.random.default_rng(np.random.SeedSequence(int(self.random_state)))
        self.user_factors_ = float(self.init_std) * rng.standard_normal((n_users, k))
        self.item_factors_ = float(self.init_std) * rng.standard_normal((n_items, k))
        self.exposure_prior_ = np.full(n_items, float(self.init_mu))
        self.device_ = resolve_device(self.device)
        self._backend = None
        if self.device_ != "cpu":
            from ._torch.exmf import TorchEXMF

            self._backend = TorchEXMF(
                train, self.user_factors_, self.item_factors_, self.exposure_prior_,
                lambda_theta=float(self.lambda_theta), lambda_beta=float(self.lambda_beta),
                lambda_y=float(self.lambda_y), prior_a=float(self.prior_a), prior_b=float(self.prior_b),
                block_users=self.block_users, device=self.device_)
            run_epochs(self, self._backend.step, int(self.epochs), monitor, self.scoring)
            self._take_backend_parameters()
            return self
        self._indptr = train.indptr.astype(np.int64)
        self._indices = train.indices.astype(np.int64)
        self._ones = sp.csr_matrix(
            (np.ones(train.nnz), train.indices, train.indptr), shape=train.shape
        )
        block = self.block_users or max(1, _BLOCK_ENTRIES // n_items)
        self._blocks = [(s, min(n_users, s + block)) for s in range(0, n_users, int(block))]
        self._buffer = np.empty((min(block, n_users), n_items), dtype=np.float32)

        def step(epoch: int) -> float:
            self.update_users()
            self.update_items()
            return self.update_exposure() / train.nnz

        self._item_factors32 = self.item_factors_.astype(np.float32)
        run_epochs(self, step, int(self.epochs), monitor, self.scoring)
        del self._buffer, self._item_factors32
        return self

    def posterior_block(self, start: int, stop: int, loglik: np.ndarray | None = None) -> np.ndarray:
        """E-step for users start..stop-1: the (stop - start, m) posterior p_ui (a view of a
        reused buffer). ``loglik`` (length stop - start) receives per-user log-likelihoods."""
        out = self._buffer[: stop - start]
        users = self.user_factors_[start:stop].astype(np.float32)
        np.matmul(users, self._item_factors32.T, out=out)
        exposure_posterior(
            out, self.exposure_prior_, float(self.lambda_y), self._indptr, self._indices, start,
            np.empty(0) if loglik is None else loglik,
        )
        return out

    def update_users(self) -> None:
        """theta update block by block, each with a fresh E-step."""
        self._item_factors32 = self.item_factors_.astype(np.float32)
        item_outer = _outer_rows(self._item_factors32)
        rhs = self._ones @ self.item_factors_
        ridge = float(self.lambda_theta) / float(self.lambda_y)
        for start, stop in self._blocks:
            gram = self.posterior_block(start, stop) @ item_outer
            self.user_factors_[start:stop] = _ridge_solve(gram, rhs[start:stop], ridge)

    def update_items(self) -> None:
        """beta update: Gram matrices accumulated over user blocks."""
        k = int(self.factors)
        gram = np.zeros((self.item_factors_.shape[0], k * k))
        for start, stop in self._blocks:
            posterior = self.posterior_block(start, stop)
            gram += posterior.T @ _outer_rows(self.user_factors_[start:stop].astype(np.float32))
        rhs = self._ones.T @ self.user_factors_
        ridge = float(self.lambda_beta) / float(self.lambda_y)
        self.item_factors_ = _ridge_solve(gram, rhs, ridge)
        self._item_factors32 = self.item_factors_.astype(np.float32)

    def update_exposure(self) -> float:
        """mu update; returns the negative log posterior J before it (module docstring)."""
        n_users = self.user_factors_.shape[0]
        mu = self.exposure_prior_
        exposed = np.zeros_like(mu)
        loglik = np.zeros(n_users)
        for start, stop in self._blocks:
            exposed += self.posterior_block(start, stop, loglik[start:stop]).sum(axis=0, dtype=np.float64)
        a, b = float(self.prior_a), float(self.prior_b)
        objective = (
            -loglik.sum()
            + 0.5 * float(self.lambda_theta) * np.sum(self.user_factors_**2)
            + 0.5 * float(self.lambda_beta) * np.sum(self.item_factors_**2)
            - np.sum((a - 1) * np.log(mu) + (b - 1) * np.log1p(-mu))
        )
        updated = (a + exposed - 1.0) / (a + b + n_users - 2.0)
        self.exposure_prior_ = np.clip(updated, _MU_CLIP, 1.0 - _MU_CLIP)
        return float(objective)

    # ------------------------------------------------------------------ scoring
    def score(self, users: np.ndarray, scoring: str | None = None) -> np.ndarray:
        """theta_u . beta_i ("preference") or mu_i theta_u . beta_i ("exposure")."""
        scoring = self._check_scoring(scoring)
        users = np.asarray(users, dtype=np.int64)
        if self._backend is not None:
            return self._backend.score(users, scoring).cpu().numpy()
        scores = self.user_factors_[users] @ self.item_factors_.T
        if scoring == "exposure":
            scores *= self.exposure_prior_
        return scores

    def exposure(self, users: np.ndarray) -> np.ndarray:
        """E[a_ui | y_ui = 0] = mu_i N(0 | theta_u . beta_i, 1 / lambda_y) / (mu_i N(0 | ...) + 1 - mu_i),
        the posterior exposure of every item for ``users`` as if unconsumed, (len(users), m) float64
        (a consumed pair's posterior is 1)."""
        users = np.asarray(users, dtype=np.int64)
        pred = self.user_factors_[users] @ self.item_factors_.T
        lam = float(self.lambda_y)
        density = np.sqrt(lam / (2.0 * np.pi)) * np.exp(-0.5 * lam * pred * pred)
        exposed = self.exposure_prior_ * density
        return exposed / (exposed + 1.0 - self.exposure_prior_)
