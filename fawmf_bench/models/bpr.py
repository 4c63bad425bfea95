"""BPR-MF with uniform negative sampling (Rendle et al., UAI 2009), in numba.

Maximises sum_{(u,i,j)} ln sigmoid(p_u . (q_i - q_j) + b_i - b_j) - reg |Theta|^2 over
triples with (u, i) a training positive and j an item u has not consumed (Rendle et al.
Eq. 2 / Fig. 4, LearnBPR), by SGD with |X+| uniform draws per epoch. The item bias b is on
by default (as in cornac's BPR; ``item_bias=False`` gives Rendle's plain BPR-MF).
Negatives are uniform over the user's unconsumed items, not popularity-biased like
implicit's sampler (implicit#255).

Determinism: each epoch draws ``sampler_chunks`` seeds from a numpy Generator seeded by
``random_state``; chunk c of the epoch's draws uses its own xorshift64* stream. The draws
never depend on the thread count; with ``numba.set_num_threads(1)`` the fit is exactly
reproducible; with more threads the chunks run lock-free in parallel (Hogwild) and only the
interleaving of the updates varies.

``device`` other than "cpu" runs synchronous mini-batch SGD in PyTorch (``_torch/bpr.py``):
the same draws per epoch (|X+| triples, negatives uniform over the unconsumed items), the
same per-sample gradient and L2, summed over ``batch_size`` triples per step, from the same
initial parameters. Inside a batch the updates do not see each other, so its fits differ
from the Hogwild CPU path's beyond floating point (``batch_size=1`` is sequential SGD).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._kernels.bpr import bpr_epoch
from .base import (NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, Characteristics, FitMonitor, Recommender,
                   check_train, run_epochs)
from .devices import DEVICE_NAME, TorchBacked, resolve_device


class BPR(TorchBacked, Recommender):
    """Bayesian personalised ranking MF (see module docstring).

    ``batch_size`` (triples per synchronous step) is used by the torch path only, and
    ``sampler_chunks`` (the Hogwild chunks) by the CPU path only. ``batch_size``'s default,
    4096, fills a GPU's kernels (4096 x K gathers per step) while keeping the staleness of a
    step small: a popular item (1% of the positives) occurs about 40 times in a batch, so the
    summed step stays close to the 40 sequential ones at the SGD learning rate; much bigger
    batches make larger, staler steps at the same learning rate.
    """

    lock_free = True

    name = "bpr"
    label = "BPR"
    plot_order = 3
    color = "#009E73"
    characteristics = Characteristics("no", "no", "O((n+m+|X+|)K)")
    scorings = ("preference",)
    _parameter_constraints = {
        "factors": [POSITIVE_INT], "epochs": [POSITIVE_INT], "sampler_chunks": [POSITIVE_INT],
        "learning_rate": [POSITIVE], "regularization": [NON_NEGATIVE], "init_scale": [POSITIVE],
        "item_bias": [bool], "random_state": [NON_NEGATIVE_INT],
        "device": [DEVICE_NAME], "batch_size": [POSITIVE_INT],
    }

    def __init__(
        self,
        factors: int = 20,
        epochs: int = 200,
        learning_rate: float = 0.02,
        regularization: float = 0.01,
        item_bias: bool = True,
        init_scale: float = 0.01,
        sampler_chunks: int = 64,
        random_state: int = 0,
        scoring: str | None = None,
        device: str = "cpu",
        batch_size: int = 4096,
    ) -> None:
        self.factors = factors
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.item_bias = item_bias
        self.init_scale = init_scale
        self.sampler_chunks = sampler_chunks
        self.random_state = random_state
        self.scoring = scoring
        self.device = device
        self.batch_size = batch_size

    def _validate(self, train: sp.csr_matrix) -> None:
        self._validate_params()
        if np.all(np.diff(train.indptr) >= train.shape[1]):
            raise ValueError("BPR: every user consumed every item; no negatives to sample")

    def fit(self, train: sp.csr_matrix, monitor: FitMonitor | None = None) -> "BPR":
        train = check_train(train, "BPR")
        self._validate(train)
        n_users, n_items = train.shape
        root = np.random.SeedSequence(int(self.random_state))
        init_seed, sampler_seed = root.spawn(2)
        init_rng = np.random.default_rng(init_seed)
        sampler_rng = np.random.default_rng(sampler_seed)
        k = int(self.factors)
        self.user_factors_ = init_rng.normal(0.0, self.init_scale, (n_users, k))
        self.item_factors_ = init_rng.normal(0.0, self.init_scale, (n_items, k))
        self.item_bias_ = np.zeros(n_items)
        self.device_ = resolve_device(self.device)
        self._backend = None
        if self.device_ != "cpu":
            from ._torch.bpr import TorchBPR

            self._backend = TorchBPR(
                train, self.user_factors_, self.item_factors_, self.item_bias_,
                learning_rate=float(self.learning_rate), regularization=float(self.regularization),
                update_bias=bool(self.item_bias), batch_size=int(self.batch_size),
                seed=int(np.random.default_rng(sampler_seed).integers(2**63)), device=self.device_)
            run_epochs(self, self._backend.step, int(self.epochs), monitor, self.scoring)
            self._take_backend_parameters()
            return self
        indptr = train.indptr.astype(np.int64)
        indices = train.indices.astype(np.int32)
        row_of = np.repeat(np.arange(n_users, dtype=np.int32), np.diff(indptr))
        lr, reg = float(self.learning_rate), float(self.regularization)

        def step(epoch: int) -> float:
            seeds = sampler_rng.integers(1, 2**63, size=int(self.sampler_chunks), dtype=np.uint64)
            return bpr_epoch(
                indptr, indices, row_of, self.user_factors_, self.item_factors_,
                self.item_bias_, seeds, lr, reg, bool(self.item_bias),
            )

        run_epochs(self, step, int(self.epochs), monitor, self.scoring)
        return self

    def score(self, users: np.ndarray, scoring: str | None = None) -> np.ndarray:
        """p_u . q_j + b_j for the given users, shape (len(users), n_items)."""
        self._check_scoring(scoring)
        users = np.asarray(users, dtype=np.int64)
        if self._backend is not None:
            return self._backend.score(users, "preference").cpu().numpy()
        return self.user_factors_[users] @ self.item_factors_.T + self.item_bias_[None, :]
