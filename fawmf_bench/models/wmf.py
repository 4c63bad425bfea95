"""WMF: weighted matrix factorisation by exact ALS (Hu, Koren, Volinsky, ICDM 2008).

Objective (Hu et al. Eq. 3), binary preference p_uj = x_uj, confidence c_uj = 1 + a x_uj:

    J = sum_uj c_uj (p_uj - u_u . v_j)^2 + lam (|U|^2 + |V|^2)

Solved with ``implicit.cpu.als.AlternatingLeastSquares(use_cg=False)`` (the exact Cholesky
solver). implicit 0.7.3's semantics (read from ``implicit/cpu/als.py``): ``fit`` multiplies
the user x item matrix by ``alpha`` and uses the product as the confidence of the stored
cells, while missing cells have confidence 1 (``A = YtY + lam I + Yt (C_u - I) Y``). So an
observed cell's confidence is value * alpha, and Hu et al.'s 1 + a x on binary data needs
``alpha = 1 + a`` (``confidence_scale`` below is a). Its regularisation is the unscaled
lam I, as in Hu et al.

To get validation-based early stopping and a trace like every other method, ``fit`` drives
implicit one ALS iteration at a time (``iterations=1``; implicit initialises its factors only
when they are None, so repeated fits continue from the current ones). BLAS is limited to
one thread inside each iteration (implicit slows down badly otherwise); implicit's own
threads follow ``numba.get_num_threads()``, which the runner controls.

``device`` other than "cpu" solves the same exact ALS updates in PyTorch (``_torch/wmf.py``:
batched Cholesky, implicit's initialisation), equal to implicit's solution within float32
rounding.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from ._kernels.eals import weighted_square_loss
from .base import (NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE_INT, Characteristics, FitMonitor, Recommender,
                   check_train, run_epochs)
from .devices import DEVICE_NAME, TorchBacked, resolve_device

_THREADPOOLS = ThreadpoolController()


class WMF(TorchBacked, Recommender):
    """Weighted MF by implicit's exact ALS (see module docstring)."""

    name = "wmf"
    label = "WMF(ALS)"
    plot_order = 1
    color = "#E69F00"
    characteristics = Characteristics("no", "yes", "O((n+m)K^3 + |X+|K^2)")
    scorings = ("preference",)
    _parameter_constraints = {
        "factors": [POSITIVE_INT], "epochs": [POSITIVE_INT], "regularization": [NON_NEGATIVE],
        "confidence_scale": [NON_NEGATIVE],  # a in 1 + a x
        "random_state": [NON_NEGATIVE_INT],
        "device": [DEVICE_NAME],
    }

    def __init__(
        self,
        factors: int = 20,
        epochs: int = 30,
        regularization: float = 10.0,
        confidence_scale: float = 3.0,
        random_state: int = 0,
        scoring: str | None = None,
        device: str = "cpu",
    ) -> None:
        self.factors = factors
        self.epochs = epochs
        self.regularization = regularization
        self.confidence_scale = confidence_scale
        self.random_state = random_state
        self.scoring = scoring
        self.device = device

    def fit(self, train: sp.csr_matrix, monitor: FitMonitor | None = None) -> "WMF":
        self._validate_params()
        train = check_train(train, "WMF")
        self.device_ = resolve_device(self.device)
        self._backend = None
        if self.device_ != "cpu":
            from ._torch.wmf import TorchWMF, implicit_initial_factors

            users, items = implicit_initial_factors(*train.shape, int(self.factors), int(self.random_state))
            self._backend = TorchWMF(train, users, items, float(self.regularization),
                                     1.0 + float(self.confidence_scale), self.device_)
            run_epochs(self, self._backend.step, int(self.epochs), monitor, self.scoring)
            self._take_backend_parameters()
            return self
        from implicit.cpu.als import AlternatingLeastSquares

        with _THREADPOOLS.limit(limits=1, user_api="blas"):
            als = AlternatingLeastSquares(
                factors=int(self.factors),
                regularization=float(self.regularization),
                alpha=1.0 + float(self.confidence_scale),
                dtype=np.float32,
                use_cg=False,
                iterations=1,
                calculate_training_loss=False,
                num_threads=numba.get_num_threads(),
                random_state=int(self.random_state),
            )
        positive_weight = 1.0 + float(self.confidence_scale)
        item_weight = np.ones(train.shape[1])
        indptr, indices = train.indptr.astype(np.int64), train.indices.astype(np.int32)

        def step(epoch: int) -> float:
            with _THREADPOOLS.limit(limits=1, user_api="blas"):
                als.fit(train, show_progress=False)
            self.user_factors_ = als.user_factors
            self.item_factors_ = als.item_factors
            return weighted_square_loss(
                indptr, indices, als.user_factors, als.item_factors, item_weight,
                positive_weight, float(self.regularization),
            )

        run_epochs(self, step, int(self.epochs), monitor, self.scoring)
        return self

    def score(self, users: np.ndarray, scoring: str | None = None) -> np.ndarray:
        """u_u . v_j for the given users, float32, shape (len(users), n_items)."""
        self._check_scoring(scoring)
        users = np.asarray(users, dtype=np.int64)
        if self._backend is not None:
            return self._backend.score(users, "preference").cpu().numpy()
        return self.user_factors_[users] @ self.item_factors_.T
