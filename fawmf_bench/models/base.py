"""The one small interface every method implements, and the shared epoch loop.

In the spirit of scikit-learn estimators and of ``implicit``'s ``RecommenderBase``:

- the constructor stores hyperparameters only (keyword arguments, no work);
- ``fit(train, monitor=None)`` learns from a binary CSR user x item matrix and returns self;
  fitted attributes end in ``_``;
- ``score(users, scoring=None)`` returns a dense (len(users), n_items) block of scores;
- ``recommend(users, exclude, k)`` is done here once for all models (seen items excluded,
  ties broken by the lower item index).

Iterative models call :func:`run_epochs`, which evaluates on validation through a
:class:`FitMonitor` every few epochs, keeps the best state, stops early with patience, picks
the scoring variant (e.g. FAWMF's preference u.v vs exposure-weighted gamma * u.v) on
validation, and records a convergence trace. The monitor is supplied by the experiments
layer, so models never import the evaluation layer.
"""

from __future__ import annotations

import inspect
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
import scipy.sparse as sp

ScoreFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class FitMonitor:
    """Validation hook handed to ``fit`` by the runner.

    ``evaluate(score_fn)`` ranks the validation users with ``score_fn(users) -> scores`` and
    returns metrics (higher is better), e.g. {"pre@5": 0.31, "ndcg@5": ...}.
    ``metric`` selects epochs and scoring; evaluation happens every ``every`` epochs and
    training stops after ``patience`` evaluations without improvement.
    """

    evaluate: Callable[[ScoreFn], dict[str, float]]
    metric: str = "pre@5"
    every: int = 5
    patience: int = 4


class Recommender(ABC):
    """Base class of all methods (see module docstring)."""

    #: registry name, e.g. "fawmf"
    name: ClassVar[str] = ""
    #: scoring variants the model can produce; the first is the default
    scorings: ClassVar[tuple[str, ...]] = ("preference",)
    #: True for lock-free parallel SGD (Hogwild): bit-reproducible only on one thread, so the
    #: runner fits such models with numba limited to one thread
    lock_free: ClassVar[bool] = False

    # ----------------------------------------------------------------- parameters
    @classmethod
    def param_names(cls) -> list[str]:
        """Hyperparameter names: the constructor's keyword arguments."""
        sig = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind in kinds]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> "Recommender":
        allowed = set(self.param_names())
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ValueError(
                f"{type(self).__name__}: unknown hyperparameter(s) {unknown}; allowed: {sorted(allowed)}"
            )
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ----------------------------------------------------------------- learning
    @abstractmethod
    def fit(self, train: sp.csr_matrix, monitor: FitMonitor | None = None) -> "Recommender":
        """Learn from the binary CSR matrix ``train`` (users x items)."""

    @abstractmethod
    def score(self, users: np.ndarray, scoring: str | None = None) -> np.ndarray:
        """Dense scores, shape (len(users), n_items); higher means recommend first."""

    # ----------------------------------------------------------------- ranking
    def recommend(
        self, users: np.ndarray, exclude: sp.csr_matrix | None = None, k: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and scores per user, excluding ``exclude``'s items.

        Ties are broken by the lower item index (stable sort on -score).
        """
        users = np.asarray(users, dtype=np.int64)
        scores = np.array(self.score(users), dtype=np.float64, copy=True)
        if exclude is not None:
            rows = exclude[users]
            r, c = rows.nonzero()
            scores[r, c] = -np.inf
        k = min(k, scores.shape[1])
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return order, np.take_along_axis(scores, order, axis=1)

    # ----------------------------------------------------------------- state
    def _state(self) -> dict[str, Any]:
        """Copies of the fitted arrays (attributes ending in '_'), for best-epoch snapshots."""
        return {
            k: v.copy()
            for k, v in vars(self).items()
            if k.endswith("_") and not k.startswith("_") and isinstance(v, np.ndarray)
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            setattr(self, k, v)


def check_train(train: sp.spmatrix, who: str) -> sp.csr_matrix:
    """Validate the training matrix once, at fit, and return it as canonical CSR."""
    if not sp.issparse(train):
        raise TypeError(f"{who}.fit expects a scipy.sparse matrix, got {type(train).__name__}")
    train = sp.csr_matrix(train)
    if train.ndim != 2 or min(train.shape) == 0:
        raise ValueError(f"{who}.fit: empty interaction matrix of shape {train.shape}")
    if train.nnz == 0:
        raise ValueError(f"{who}.fit: the interaction matrix has no positives")
    if not np.all(np.isfinite(train.data)):
        raise ValueError(f"{who}.fit: the interaction matrix holds non-finite values")
    if not train.has_sorted_indices:
        train = train.sorted_indices()
    return train


class Diverged(FloatingPointError):
    """The training loss became NaN or infinite: the fit stops (its result would be garbage)."""


def run_epochs(
    model: Recommender,
    step: Callable[[int], float | None],
    max_epochs: int,
    monitor: FitMonitor | None,
    scoring: str | None = None,
) -> None:
    """Shared epoch loop: train, evaluate on validation, keep the best, stop early.

    ``step(epoch)`` runs one epoch (epochs count from 1) and returns the training loss, or None
    when the method does not compute one. A NaN or infinite loss raises :class:`Diverged`.
    Sets on ``model``:

    - ``trace_``: list of rows {epoch, seconds (cumulative training time, evaluation
      excluded), loss, and for evaluated epochs "<scoring>/<metric>" values};
    - ``best_epoch_``, ``scoring_`` (chosen on validation unless ``scoring`` is fixed),
      ``n_epochs_`` (epochs actually run), ``fit_seconds_``.

    Without a monitor the model trains ``max_epochs`` and keeps the last state.
    """
    candidates = (scoring,) if scoring else model.scorings
    trace: list[dict[str, Any]] = []
    train_seconds = 0.0
    best_value, best_state, best_epoch, best_scoring = -np.inf, None, max_epochs, candidates[0]
    evaluations_without_gain = 0
    epoch = 0
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        value = step(epoch)
        train_seconds += time.perf_counter() - start
        loss = None if value is None else float(value)
        if loss is not None and not np.isfinite(loss):
            raise Diverged(f"{type(model).__name__}: the training loss is {loss} at epoch {epoch} (diverged); "
                           f"lower the learning rate or raise the regularization")
        row: dict[str, Any] = {"epoch": epoch, "seconds": train_seconds, "loss": loss}
        if monitor is not None and (epoch % monitor.every == 0 or epoch == max_epochs):
            improved = False
            for variant in candidates:
                metrics = monitor.evaluate(lambda users, v=variant: model.score(users, scoring=v))
                row.update({f"{variant}/{k}": float(v) for k, v in metrics.items()})
                value = float(metrics[monitor.metric])
                if value > best_value:
                    best_value, best_epoch, best_scoring, improved = value, epoch, variant, True
            if improved:
                best_state = model._state()
                evaluations_without_gain = 0
            else:
                evaluations_without_gain += 1
            trace.append(row)
            if evaluations_without_gain >= monitor.patience:
                break
        else:
            trace.append(row)
    if best_state is not None:
        model._set_state(best_state)
    else:
        best_epoch = epoch
    model.trace_ = trace
    model.best_epoch_ = int(best_epoch)
    model.scoring_ = best_scoring
    model.n_epochs_ = int(epoch)
    model.fit_seconds_ = train_seconds
