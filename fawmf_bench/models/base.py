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
import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Callable, ClassVar, NamedTuple

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


# --------------------------------------------------------------------------- constraints
@dataclass(frozen=True)
class Interval:
    """A number of ``kind`` (Integral or Real) between ``low`` and ``high`` (None: unbounded);
    ``closed`` says which ends belong: "both", "left", "right" or "neither"."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        if not isinstance(value, Integral) and not np.isfinite(value):
            return False
        low_ok = self.low is None or (value >= self.low if self.closed in ("both", "left") else value > self.low)
        high_ok = self.high is None or (value <= self.high if self.closed in ("both", "right") else value < self.high)
        return bool(low_ok and high_ok)

    def __str__(self) -> str:
        what = "an integer" if self.kind is Integral else "a number"
        if self.low is not None and self.high is not None:
            left = "[" if self.closed in ("both", "left") else "("
            right = "]" if self.closed in ("both", "right") else ")"
            return f"{what} in {left}{self.low}, {self.high}{right}"
        if self.low is not None:
            return f"{what} {'>=' if self.closed in ('both', 'left') else '>'} {self.low}"
        if self.high is not None:
            return f"{what} {'<=' if self.closed in ('both', 'right') else '<'} {self.high}"
        return f"a finite {'integer' if self.kind is Integral else 'number'}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (compared with ==)."""

    values: tuple[Any, ...]

    def accepts(self, value: Any) -> bool:
        return not isinstance(value, (bool, np.bool_)) and any(value == v for v in self.values)

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


#: a constraint: None (the value None is allowed), bool (True/False), an Interval or Options
Constraint = Any


def _accepts(constraint: Constraint, value: Any) -> bool:
    if constraint is None:
        return value is None
    if constraint is bool:
        return isinstance(value, (bool, np.bool_))
    return constraint.accepts(value)


def _describe(constraint: Constraint) -> str:
    if constraint is None:
        return "None"
    return "a bool" if constraint is bool else str(constraint)


POSITIVE_INT = Interval(Integral, 1)
NON_NEGATIVE_INT = Interval(Integral, 0)
POSITIVE = Interval(Real, 0, closed="neither")
NON_NEGATIVE = Interval(Real, 0)


class Characteristics(NamedTuple):
    """A method's row of the paper's Table 2."""

    adaptive_weights: str  # "yes" / "no"
    without_sampling: str  # "yes" / "no"
    complexity: str  # per epoch, e.g. "O((n+m)K^2 + |X+|K)"


class Recommender(ABC):
    """Base class of all methods (see module docstring).

    A method declares here, on its class, everything the benchmark needs to show it: its
    registry ``name``, printed ``label``, place in tables and figures (``plot_order``),
    ``color``, Table-2 ``characteristics`` and, for methods without an entry in
    hyperparameters.yaml (plugins), ``default_params`` and ``tuning_grid``. Hyperparameters are
    checked at ``fit`` against ``_parameter_constraints`` (name -> allowed constraints).
    """

    #: registry name, e.g. "fawmf"
    name: ClassVar[str] = ""
    #: printed name in tables and figures (default: ``name``)
    label: ClassVar[str] = ""
    #: position in tables and figure legends (lower first; built-ins use 0-6)
    plot_order: ClassVar[float] = 100.0
    #: plot color ("#rrggbb"); None: a stable color derived from the name
    color: ClassVar[str | None] = None
    #: the paper's Table 2 row; None: blank
    characteristics: ClassVar[Characteristics | None] = None
    #: fixed hyperparameters and grid used when the hyperparameter file has no entry
    default_params: ClassVar[dict[str, Any]] = {}
    tuning_grid: ClassVar[dict[str, list[Any]]] = {}
    #: scoring variants the model can produce; the first is the default
    scorings: ClassVar[tuple[str, ...]] = ("preference",)
    #: True for lock-free parallel SGD (Hogwild): bit-reproducible only on one thread, so the
    #: runner fits such models with numba limited to one thread
    lock_free: ClassVar[bool] = False
    #: hyperparameter name -> allowed constraints (any one suffices); see :class:`Interval`
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {}
    #: private fitted attributes that ``save`` must keep besides those ending in "_"
    _saved_private: ClassVar[tuple[str, ...]] = ()

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

    def _validate_params(self) -> None:
        """Check every hyperparameter against ``_parameter_constraints`` (and ``scoring``
        against ``scorings``); ValueError naming the parameter, what is allowed and the value."""
        constraints = {"scoring": [None, Options(tuple(self.scorings))], **self._parameter_constraints}
        for key, allowed in constraints.items():
            if key not in self.param_names():
                continue
            value = getattr(self, key)
            if not any(_accepts(c, value) for c in allowed):
                wanted = " or ".join(_describe(c) for c in allowed)
                raise ValueError(f"{type(self).__name__}: {key} must be {wanted}, got {value!r}")

    def _check_scoring(self, scoring: str | None) -> str:
        """The scoring variant to use: ``scoring``, else the one chosen on validation, else the
        first; ValueError for an unknown name."""
        scoring = scoring or getattr(self, "scoring_", None) or self.scorings[0]
        if scoring not in self.scorings:
            raise ValueError(f"{type(self).__name__}: unknown scoring {scoring!r}; known: {self.scorings}")
        return scoring

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

    # ----------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write the hyperparameters and fitted state to ``path`` (an ``.npz``, no pickle).

        Arrays (fitted attributes ending in ``_`` and ``_saved_private``) are stored as arrays,
        sparse matrices as their CSR parts, everything else as JSON; read back with :meth:`load`.
        """
        path = Path(path)
        arrays: dict[str, np.ndarray] = {}
        scalars: dict[str, Any] = {}
        sparse: list[str] = []
        for key, value in vars(self).items():
            if not (key.endswith("_") and not key.startswith("_")) and key not in self._saved_private:
                continue
            if isinstance(value, np.ndarray):
                arrays[f"a:{key}"] = value
            elif sp.issparse(value):
                csr = sp.csr_matrix(value)
                arrays.update({f"s:{key}:data": csr.data, f"s:{key}:indices": csr.indices,
                               f"s:{key}:indptr": csr.indptr, f"s:{key}:shape": np.array(csr.shape)})
                sparse.append(key)
            else:
                scalars[key] = value
        meta = {"format": 1, "name": self.name, "class": type(self).__name__, "params": self.get_params(),
                "fitted": scalars, "sparse": sparse}
        try:
            text = json.dumps(meta, default=_json_scalar)
        except TypeError as exc:
            raise TypeError(f"{type(self).__name__}.save: {exc}") from None
        with open(path, "wb") as handle:
            np.savez(handle, __meta__=np.array(text), **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Recommender":
        """A model written by :meth:`save`. On the base class the method is looked up in the
        registry by its stored name; on a subclass the file must hold that class."""
        with np.load(Path(path), allow_pickle=False) as archive:
            meta = json.loads(str(archive["__meta__"]))
            arrays = {k: archive[k] for k in archive.files if k != "__meta__"}
        if cls is Recommender:
            from . import model_class  # the registry (plugins included)

            target = model_class(meta["name"])
        elif meta["class"] != cls.__name__:
            raise ValueError(f"{path}: holds a {meta['class']} model, not a {cls.__name__}")
        else:
            target = cls
        model = target().set_params(**meta["params"])
        for key, value in meta["fitted"].items():
            setattr(model, key, value)
        for key in arrays:
            if key.startswith("a:"):
                setattr(model, key[2:], arrays[key])
        for key in meta["sparse"]:
            shape = tuple(int(s) for s in arrays[f"s:{key}:shape"])
            parts = (arrays[f"s:{key}:data"], arrays[f"s:{key}:indices"], arrays[f"s:{key}:indptr"])
            setattr(model, key, sp.csr_matrix(parts, shape=shape))
        return model


def _json_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot save {type(value).__name__} values")


class Scorer:
    """``score_fn`` of a fitted model for one scoring variant: ``scorer(users)`` is
    ``model.score(users, scoring)``. ``device`` is where the model scores ("cpu" for NumPy, else a
    torch device name); off "cpu", ``on_device(users)`` returns the scores as a tensor there, so
    that evaluation ranks on the device instead of copying n x m scores to the host."""

    def __init__(self, model: Recommender, scoring: str | None = None) -> None:
        self.model, self.scoring = model, scoring

    def __call__(self, users: np.ndarray) -> np.ndarray:
        return self.model.score(users, scoring=self.scoring)

    @property
    def device(self) -> str:
        return getattr(self.model, "scoring_device", "cpu")

    def on_device(self, users: np.ndarray):
        return self.model.score_tensor(users, scoring=self.scoring)


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
                metrics = monitor.evaluate(Scorer(model, variant))
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
