"""CDAE: Collaborative Denoising Auto-Encoder (Wu, DuBois, Zheng, Ester; WSDM 2016).

Each user's binary row is corrupted by drop-out (keep probability 1 - q, kept entries scaled
by 1 / (1 - q)), encoded with a per-user node V_u into a K-dimensional hidden layer

    z_u = sigmoid(sum_{j kept} W_j / (1 - q) + V_u + b)

and decoded to logits o_ui = W'_i . z_u + b'_i. Training minimises the binary
cross-entropy over the user's positives plus ``negatives`` x as many unobserved items drawn
uniformly each epoch, with L2 on the touched parameters, by per-user AdaGrad steps (the
paper's setting; numba kernels in :mod:`fawmf_bench.models._kernels.cdae`). At prediction
time the input is not corrupted: score_ui = W'_i . sigmoid(sum_{j in O_u} W_j + V_u + b) + b'_i.
Input and output weights are separate (the paper's default); no torch or tensorflow.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from ._kernels.cdae import cdae_epoch
from .base import FitMonitor, Recommender, check_train, run_epochs


class CDAE(Recommender):
    """Collaborative denoising auto-encoder with per-user node, trained with AdaGrad.

    Parameters
    ----------
    factors: hidden units K.
    epochs: maximum epochs (one AdaGrad step per user per epoch).
    corruption: drop-out probability q of an observed input, in [0, 1).
    negatives: sampled unobserved items per positive (redrawn each epoch).
    learning_rate: AdaGrad base learning rate.
    regularization: L2 coefficient on the parameters a user's step touches.
    random_state: seed of the initialisation, user order and sampling.
    scoring: fixed scoring variant or None (only "preference" exists).
    """

    lock_free = True

    name = "cdae"
    scorings = ("preference",)

    def __init__(
        self,
        factors: int = 20,
        epochs: int = 50,
        corruption: float = 0.2,
        negatives: int = 5,
        learning_rate: float = 0.1,
        regularization: float = 0.01,
        random_state: int = 0,
        scoring: str | None = None,
    ) -> None:
        self.factors = factors
        self.epochs = epochs
        self.corruption = corruption
        self.negatives = negatives
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.random_state = random_state
        self.scoring = scoring

    def _validate(self) -> None:
        if int(self.factors) < 1 or int(self.epochs) < 1:
            raise ValueError("CDAE: factors and epochs must be positive integers")
        if not 0.0 <= float(self.corruption) < 1.0:
            raise ValueError(f"CDAE: corruption must lie in [0, 1), got {self.corruption}")
        if int(self.negatives) < 0:
            raise ValueError(f"CDAE: negatives must be >= 0, got {self.negatives}")
        if float(self.learning_rate) <= 0 or float(self.regularization) < 0:
            raise ValueError("CDAE: learning_rate must be > 0 and regularization >= 0")
        if self.scoring not in (None, *self.scorings):
            raise ValueError(f"CDAE: scoring must be None or one of {self.scorings}")

    def fit(self, train: sp.csr_matrix, monitor: FitMonitor | None = None) -> "CDAE":
        """Train on the binary CSR ``train`` (users x items); returns self."""
        self._validate()
        train = check_train(train, "CDAE")
        train = sp.csr_matrix(
            (np.ones(train.nnz, dtype=np.float32), train.indices, train.indptr), shape=train.shape
        )
        n_users, n_items = train.shape
        k = int(self.factors)
        rng = np.random.default_rng(np.random.SeedSequence(int(self.random_state)))
        scale = 4.0 * np.sqrt(6.0 / (n_items + k))
        self.input_weights_ = rng.uniform(-scale, scale, (n_items, k)).astype(np.float32)
        self.user_weights_ = rng.uniform(-scale, scale, (n_users, k)).astype(np.float32)
        self.hidden_bias_ = np.zeros(k, dtype=np.float32)
        self.output_weights_ = rng.uniform(-scale, scale, (n_items, k)).astype(np.float32)
        self.output_bias_ = np.zeros(n_items, dtype=np.float32)
        accumulators = [
            np.zeros_like(a)
            for a in (self.input_weights_, self.user_weights_, self.hidden_bias_,
                      self.output_weights_, self.output_bias_)
        ]
        self._train = train
        indptr = train.indptr.astype(np.int64)
        indices = train.indices.astype(np.int64)

        def step(epoch: int) -> float:
            order = rng.permutation(n_users).astype(np.int64)
            seed = np.uint64(rng.integers(0, 2**63 - 1))
            loss = cdae_epoch(
                indptr, indices, n_items, order, seed,
                float(self.corruption), int(self.negatives),
                self.input_weights_, self.user_weights_, self.hidden_bias_,
                self.output_weights_, self.output_bias_, *accumulators,
                float(self.learning_rate), float(self.regularization),
            )
            return loss / train.nnz

        run_epochs(self, step, int(self.epochs), monitor, self.scoring)
        return self

    def hidden(self, users: np.ndarray) -> np.ndarray:
        """Uncorrupted hidden representation z_u (q = 0), shape (len(users), K)."""
        users = np.asarray(users, dtype=np.int64)
        pre = self._train[users] @ self.input_weights_
        pre += self.user_weights_[users] + self.hidden_bias_
        return expit(pre)

    def score(self, users: np.ndarray, scoring: str | None = None) -> np.ndarray:
        """Output logits W'_i . z_u + b'_i, shape (len(users), n_items), float32."""
        if scoring not in (None, *self.scorings):
            raise ValueError(f"CDAE: unknown scoring {scoring!r}; known: {self.scorings}")
        z = self.hidden(users).astype(np.float32)
        return z @ self.output_weights_.T + self.output_bias_
