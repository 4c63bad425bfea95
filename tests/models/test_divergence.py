"""A diverging fit stops with a clear error (issue 13, item 8); "no loss" is explicit (None)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from fawmf_bench.data.synthetic import generate
from fawmf_bench.models import FitMonitor, Recommender, make_model, run_epochs
from fawmf_bench.models.base import Diverged


class _Scripted(Recommender):
    """Returns the scripted losses, one per epoch."""

    scorings = ("default",)

    def __init__(self, *, losses: tuple = (1.0,)) -> None:
        self.losses = losses

    def fit(self, train: sp.csr_matrix, monitor: FitMonitor | None = None) -> "_Scripted":
        self.item_scores_ = np.zeros(train.shape[1])
        run_epochs(self, lambda epoch: self.losses[epoch - 1], len(self.losses), monitor)
        return self

    def score(self, users: np.ndarray, scoring: str | None = None) -> np.ndarray:
        return np.tile(self.item_scores_, (len(users), 1))


X = sp.csr_matrix(np.eye(4, dtype=np.float32))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), np.float32("nan")])
def test_non_finite_loss_stops_the_fit(bad: float) -> None:
    with pytest.raises(Diverged, match=r"_Scripted: the training loss is (nan|inf|-inf) at epoch 3 \(diverged\)"):
        _Scripted(losses=(3.0, 2.0, bad, 1.0)).fit(X)


def test_a_method_without_loss_records_none() -> None:
    model = make_model("itempop").fit(generate("small", seed=0)[0].matrix)
    assert [row["loss"] for row in model.trace_] == [None]
    model = _Scripted(losses=(None, None)).fit(X)
    assert [row["loss"] for row in model.trace_] == [None, None]


def test_a_real_model_that_diverges_is_stopped() -> None:
    X = generate("small", seed=0)[0].matrix
    with pytest.raises(Diverged, match="BPR: the training loss is"):
        make_model("bpr", factors=8, epochs=50, learning_rate=1e30, regularization=0.0).fit(X)
