"""eALS: element-wise ALS with popularity-weighted missing data (He et al., SIGIR 2016).

Objective (He et al. Eq. 5 / Eq. 8), with r_uj = p_u . q_j:

    J = sum_{(u,j) in X+} w (1 - r_uj)^2 + sum_{(u,j) not in X+} c_j r_uj^2
        + lam (|P|^2 + |Q|^2),        c_j = c0 f_j^e / sum_k f_k^e

f_j is item j's training count, so sum_j c_j = c0 (``missing_weight``) and e
(``popularity_exponent``) moves weight towards popular items (He et al. report e ~ 0.4).
Each epoch updates all users then all items, one coordinate at a time (Eq. 12 / 13), with
the K x K caches S_q = Q^T diag(c) Q and S_p = P^T P recomputed once per sweep; rows are
independent given the caches, so the kernel runs in parallel over rows. Every coordinate
update is an exact minimisation, so J never increases.

With ``popularity_exponent=0``, ``missing_weight=n_items`` (c_j = 1) and
``positive_weight=1 + a`` the objective is WMF's (Hu et al.) with confidence 1 + a x.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._kernels.csr import balanced_row_blocks
from ._kernels.eals import eals_sweep, weighted_square_loss
from .base import (NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, Characteristics, FitMonitor, Recommender,
                   check_train, run_epochs)


class EALS(Recommender):
    """Element-wise ALS (see module docstring)."""

    name = "eals"
    label = "eALS"
    plot_order = 2
    color = "#56B4E9"
    characteristics = Characteristics("no", "yes", "O((n+m)K^2 + |X+|K)")
    scorings = ("preference",)
    _parameter_constraints = {
        "factors": [POSITIVE_INT], "epochs": [POSITIVE_INT], "regularization": [NON_NEGATIVE],
        "missing_weight": [NON_NEGATIVE], "popularity_exponent": [NON_NEGATIVE],
        "positive_weight": [POSITIVE], "init_scale": [POSITIVE], "random_state": [NON_NEGATIVE_INT],
    }

    def __init__(
        self,
        factors: int = 20,
        epochs: int = 50,
        regularization: float = 0.01,
        missing_weight: float = 1024.0,
        popularity_exponent: float = 0.4,
        positive_weight: float = 1.0,
        init_scale: float = 0.01,
        random_state: int = 0,
        scoring: str | None = None,
    ) -> None:
        self.factors = factors
        self.epochs = epochs
        self.regularization = regularization
        self.missing_weight = missing_weight
        self.popularity_exponent = popularity_exponent
        self.positive_weight = positive_weight
        self.init_scale = init_scale
        self.random_state = random_state
        self.scoring = scoring

    def item_weights(self, train: sp.csr_matrix) -> np.ndarray:
        """c_j = c0 f_j^e / sum_k f_k^e (He et al. Eq. 8); items never seen get 0 when e > 0."""
        counts = np.bincount(train.indices, minlength=train.shape[1]).astype(np.float64)
        powered = np.power(counts, float(self.popularity_exponent))
        total = powered.sum()
        return float(self.missing_weight) * powered / total

    def fit(self, train: sp.csr_matrix, monitor: FitMonitor | None = None) -> "EALS":
        self._validate_params()
        train = check_train(train, "EALS")
        transposed = train.T.tocsr()
        transposed.sort_indices()
        n_users, n_items = train.shape
        rng = np.random.default_rng(self.random_state)
        self.user_factors_ = rng.normal(0.0, self.init_scale, (n_users, int(self.factors)))
        self.item_factors_ = rng.normal(0.0, self.init_scale, (n_items, int(self.factors)))
        self.item_weight_ = self.item_weights(train)
        user_ones = np.ones(n_users)
        item_ones = np.ones(n_items)
        prediction = np.empty(train.nnz)
        w, lam = float(self.positive_weight), float(self.regularization)
        # a row's K x K cross terms cost about K / 3 positives' worth (3K multiply-adds each)
        row_cost = self.factors / 3.0
        by_user = (train.indptr.astype(np.int64), train.indices.astype(np.int32),
                   balanced_row_blocks(train.indptr, row_cost))
        by_item = (transposed.indptr.astype(np.int64), transposed.indices.astype(np.int32),
                   balanced_row_blocks(transposed.indptr, row_cost))

        def step(epoch: int) -> float:
            users, items, c = self.user_factors_, self.item_factors_, self.item_weight_
            cache_items = (items * c[:, None]).T @ items
            eals_sweep(*by_user, users, items, c, user_ones, cache_items, w, lam, prediction)
            cache_users = users.T @ users
            eals_sweep(*by_item, items, users, user_ones, c, cache_users, w, lam, prediction)
            return weighted_square_loss(*by_user[:2], users, items, c, w, lam)

        run_epochs(self, step, int(self.epochs), monitor, self.scoring)
        return self

    def score(self, users: np.ndarray, scoring: str | None = None) -> np.ndarray:
        """r_uj = p_u . q_j for the given users, shape (len(users), n_items)."""
        self._check_scoring(scoring)
        users = np.asarray(users, dtype=np.int64)
        return self.user_factors_[users] @ self.item_factors_.T
