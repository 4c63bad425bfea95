"""ItemPop: rank items by their training popularity (the paper's "Item-pop").

score(u, j) = f_j + (m - 1 - j) / m, where f_j is the number of training users of item j.
The fractional term lies in [0, 1) and decreases with the item index, so the scores are all
distinct: items with equal counts rank by the lower index first, whatever sort or top-k
routine the caller uses (an exact, deterministic ranking). Counts are exact in float64 far
beyond any real dataset (< 2^53 / m).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .base import Characteristics, FitMonitor, Recommender, check_train, run_epochs


class ItemPop(Recommender):
    """Most-popular-items baseline with deterministic ties (see module docstring)."""

    name = "itempop"
    label = "Item-pop"
    plot_order = 0
    color = "#999999"
    characteristics = Characteristics("no", "yes", "O(|X+|)")
    scorings = ("popularity",)

    def __init__(self, scoring: str | None = None) -> None:
        self.scoring = scoring

    def fit(self, train: sp.csr_matrix, monitor: FitMonitor | None = None) -> "ItemPop":
        self._validate_params()
        train = check_train(train, "ItemPop")
        n_items = train.shape[1]

        def step(epoch: int) -> None:
            counts = np.bincount(train.indices, minlength=n_items).astype(np.float64)
            self.item_counts_ = counts
            self.item_scores_ = counts + np.arange(n_items - 1, -1, -1, dtype=np.float64) / n_items
            return None  # no training loss

        run_epochs(self, step, 1, monitor, self.scoring)
        return self

    def score(self, users: np.ndarray, scoring: str | None = None) -> np.ndarray:
        """The same popularity row for every user, shape (len(users), n_items)."""
        self._check_scoring(scoring)
        users = np.asarray(users, dtype=np.int64)
        return np.broadcast_to(self.item_scores_, (len(users), len(self.item_scores_))).copy()
