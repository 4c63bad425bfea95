"""CDAE: Collaborative Denoising Auto-Encoder (Wu, DuBois, Zheng, Ester; WSDM 2016).

Each user's binary row is corrupted by drop-out (keep probability 1 - q, kept entries scaled
by 1 / (1 - q)), encoded with a per-user node V_u into a K-dimensional hidden layer

    z_u = sigmoid(sum_{j kept} W_j / (1 - q) + V_u + b)

and decoded to logits o_ui = W'_i . z_u + b'_i. Training minimises the binary
cross-entropy over the user's positives plus ``negatives`` x as many unobserved items drawn
uniformly each epoch, with L2 on the touched parameters, by per-user AdaGrad steps (the
paper's setting; numba kernels in :mod:`fawmf_bench.models._kernels.cdae`). At prediction
time the input is not corrupted: score_ui = W'_i . sigmoid(sum_{j in O_u} W_j + V_u + b) + b'_i.
Input and output weights are separate (the paper's default).

``device`` other than "cpu" trains in PyTorch (``_torch/cdae.py``) on synchronous mini-batches
of ``batch_size`` users: the same initialisation, corruption, negative sampling, loss, L2 and
AdaGrad rule, with the gradients of a batch's users summed into one AdaGrad step. That is
fewer (and summed) steps per epoch than the per-user Hogwild steps of the CPU path, so its
fits differ from the CPU path's beyond floating point (``batch_size=1`` is the kernel's
sequential per-user AdaGrad).
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from ._kernels.cdae import cdae_epoch
from .base import (NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, Characteristics, FitMonitor, Interval,
                   Recommender, check_train, run_epochs)
from .devices import DEVICE_NAME, TorchBacked, resolve_device


class CDAE(TorchBacked, Recommender):
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
    device: "cpu" (numba), "cuda", "torch-cpu" or "auto" (models/devices.py).
    batch_size: users per synchronous AdaGrad step on a torch device (unused on "cpu"). The
        default, 64, keeps the per-epoch step count high (AdaGrad's progress per epoch falls
        with the number of steps: ML-1M's 6,040 users make 95 steps) while a step still holds
        64 x |O_u| x (1 + negatives) targets, about 50k K-vectors on ML-1M, enough to keep a
        GPU's kernels busy.
    """

    lock_free = True

    name = "cdae"
    label = "CDAE"
    plot_order = 4
    color = "#CC79A7"
    characteristics = Characteristics("no", "no", "O((n+m+|X+|)K)")
    scorings = ("preference",)
    _parameter_constraints = {
        "factors": [POSITIVE_INT], "epochs": [POSITIVE_INT], "corruption": [Interval(Real, 0, 1, closed="left")],
        "negatives": [NON_NEGATIVE_INT], "learning_rate": [POSITIVE], "regularization": [NON_NEGATIVE],
        "random_state": [NON_NEGATIVE_INT],
        "device": [DEVICE_NAME], "batch_size": [POSITIVE_INT],
    }
    _saved_private = ("_train",)  # score() encodes the user's training row

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
        device: str = "cpu",
        batch_size: int = 64,
    ) -> None:
        self.factors = factors
        self.epochs = epochs
        self.corruption = corruption
        self.negatives = negatives
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.random_state = random_state
        self.scoring = scoring
        self.device = device
        self.batch_size = batch_size

    def fit(self, train: sp.csr_matrix, monitor: FitMonitor | None = None) -> "CDAE":
        """Train on the binary CSR ``train`` (users x items); returns self."""
        self._validate_params()
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
        self._train = train
        self.device_ = resolve_device(self.device)
        self._backend = None
        if self.device_ != "cpu":
            from ._torch.cdae import PARAMETER_NAMES, TorchCDAE

            self._backend = TorchCDAE(
                train, {key: getattr(self, key + "_") for key in PARAMETER_NAMES},
                corruption=float(self.corruption), negatives=int(self.negatives),
                learning_rate=float(self.learning_rate), regularization=float(self.regularization),
                batch_size=int(self.batch_size), seed=int(rng.integers(2**63)), device=self.device_)
            run_epochs(self, self._backend.step, int(self.epochs), monitor, self.scoring)
            self._take_backend_parameters()
            return self
        accumulators = [
            np.zeros_like(a)
            for a in (self.input_weights_, self.user_weights_, self.hidden_bias_,
                      self.output_weights_, self.output_bias_)
        ]
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
        self._check_scoring(scoring)
        if self._backend is not None:
            return self._backend.score(np.asarray(users, dtype=np.int64), "preference").cpu().numpy()
        z = self.hidden(users).astype(np.float32)
        return z @ self.output_weights_.T + self.output_bias_
