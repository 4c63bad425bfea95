"""EASE^R (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019) as a
fawmf-bench plugin.

The item-item weights B minimise ||X - X B||_F^2 + lambda ||B||_F^2 subject to diag(B) = 0
(Steck Eq. 1). The closed form (Steck Eq. 8):

    P = (X^T X + lambda I)^-1,    B_ij = -P_ij / P_jj (i != j),    B_jj = 0,

and the scores of user u are x_u B. One m x m dense inverse: meant for item counts up to a
few tens of thousands.

Everything fawmf-bench shows of the method is declared on the class below; the entry points
in pyproject.toml make it (and the ``ease-demo`` dataset) appear in ``fawmf-bench methods``,
``run``, ``report`` and the figures without any edit to fawmf-bench.
"""

from __future__ import annotations

from importlib import resources
from numbers import Real
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from fawmf_bench.models import Characteristics, FitMonitor, Interval, Recommender, check_train, run_epochs

__all__ = ["EASE", "datasets_file", "ease_weights"]


def ease_weights(train: sp.csr_matrix, regularization: float) -> np.ndarray:
    """B of Steck Eq. 8 (float64, m x m, zero diagonal) for the binary matrix ``train``."""
    gram = (train.T @ train).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += regularization
    precision = np.linalg.inv(gram)
    weights = precision / -np.diag(precision)[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights


class EASE(Recommender):
    """EASE^R: a closed-form item-item model (see module docstring)."""

    name = "ease"
    label = "EASE^R"
    plot_order = 7  # after the built-ins (0-6)
    color = "#882255"
    characteristics = Characteristics("no", "yes", "O(m^3 + |X+|m)")
    # used because the packaged hyperparameters.yaml has no "ease" entry
    default_params = {"regularization": 500.0}
    tuning_grid = {"regularization": [50.0, 200.0, 500.0, 2000.0]}
    scorings = ("preference",)
    _parameter_constraints = {"regularization": [Interval(Real, 0, closed="neither")]}

    def __init__(self, regularization: float = 500.0, scoring: str | None = None) -> None:
        self.regularization = regularization
        self.scoring = scoring

    def fit(self, train: sp.csr_matrix, monitor: FitMonitor | None = None) -> "EASE":
        self._validate_params()
        train = check_train(train, "EASE")

        def step(epoch: int) -> None:
            self.item_weights_ = ease_weights(train, float(self.regularization))
            self.train_ = train
            return None  # a closed form has no training loss

        run_epochs(self, step, 1, monitor, self.scoring)  # one "epoch": the closed form
        return self

    def score(self, users: np.ndarray, scoring: str | None = None) -> np.ndarray:
        """x_u B for the given users, shape (len(users), n_items)."""
        self._check_scoring(scoring)
        users = np.asarray(users, dtype=np.int64)
        return np.asarray(self.train_[users] @ self.item_weights_)


def datasets_file() -> Path:
    """This package's datasets.yaml (entry point ``fawmf_bench.datasets``)."""
    return Path(str(resources.files(__name__).joinpath("datasets.yaml")))
