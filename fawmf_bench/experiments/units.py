"""The unit of work: one (dataset, method, hyperparameter setting, fold, stage) fit.

A :class:`Unit` is frozen and fully describes its computation, so :func:`execute_unit` is a
pure function of it (plus the data home it reads from): a local process pool runs units
today, and a cluster engine could run the same function tomorrow.

Stages
------
- ``tune``: fit on fold 0's ``fit_train`` with validation monitoring (early stopping, scoring
  choice) and report the validation metrics; the runner compares grid points by them.
- ``final``: refit on the whole training fold for the chosen number of epochs with the chosen
  scoring, and evaluate once on the test fold (the training fold excluded from the ranking).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np

from .._io import jsonable
from ..data import data_home as resolve_data_home
from ..data import load_dataset
from ..data.splitting import Split, make_splits
from ..evaluation import evaluate
from ..models import FitMonitor, make_model, model_class
from ..models.base import Scorer
from .config import MonitorConfig

STAGES = ("tune", "final")


@dataclass(frozen=True)
class Unit:
    dataset: str
    method: str
    params: tuple[tuple[str, Any], ...]
    fold: int
    stage: str
    protocol: str = "cv"
    n_folds: int = 5
    seed: int = 0
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    cutoffs: tuple[int, ...] = (5, 10, 20)
    #: sha256 of the processed data the unit must run on (None: not checked). Not part of the
    #: key: the store compares it with the record's ``dataset_checksum`` and recomputes a
    #: record made on other data, so stored keys stay valid when this field was added.
    dataset_checksum: str | None = field(default=None, compare=False)

    @property
    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)

    def describe(self) -> dict[str, Any]:
        """Everything that defines the unit. A monitor setting at its default that older
        records predate (``max_users``) is left out, so their keys stay valid."""
        data = asdict(self)
        data.pop("dataset_checksum")
        data["params"] = self.param_dict
        if data["monitor"]["max_users"] is None:
            del data["monitor"]["max_users"]
        return data

    @property
    def key(self) -> str:
        """Stable identity of the unit (a hash of everything that defines it)."""
        blob = json.dumps(self.describe(), sort_keys=True, default=str)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        return f"{self.dataset}/{self.method}/{self.stage}/fold{self.fold}"


def make_unit(dataset: str, method: str, params: dict[str, Any], fold: int, stage: str, **kw: Any) -> Unit:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; known: {STAGES}")
    return Unit(dataset, method, tuple(sorted(params.items())), fold, stage, **kw)


def model_seed(seed: int, fold: int, method: str) -> int:
    """Seed of a model's initialisation: derived from (run seed, fold, method) only."""
    sequence = np.random.SeedSequence([seed, fold, zlib.crc32(method.encode())])
    return int(sequence.generate_state(1)[0])


def load_split(unit: Unit, data_home: Path | None = None):
    data = load_dataset(unit.dataset, home=data_home)
    cache_dir = resolve_data_home(data_home) / "splits"
    splits = make_splits(
        data.matrix,
        protocol=unit.protocol,
        n_folds=unit.n_folds,
        seed=unit.seed,
        dataset_checksum=data.checksum,
        cache_dir=cache_dir,
    )
    return data, splits[unit.fold]


class DataChanged(RuntimeError):
    """The data a unit was planned on is not the data in the data home any more."""


def execute_unit(unit: Unit, data_home: Path | None = None) -> dict[str, Any]:
    """Run one unit; returns a record (JSON-safe dict) plus per-user arrays under "_arrays"."""
    data, split = load_split(unit, data_home)
    if unit.dataset_checksum is not None and data.checksum != unit.dataset_checksum:
        raise DataChanged(f"{unit.dataset}: the data changed during the run (checksum {data.checksum}, "
                          f"planned on {unit.dataset_checksum}); run again")
    params = unit.param_dict
    if "random_state" in model_class(unit.method).param_names():
        params.setdefault("random_state", model_seed(unit.seed, unit.fold, unit.method))
    model = make_model(unit.method, **params)
    cutoffs = unit.cutoffs
    if unit.stage == "tune":
        train, held_out = split.fit_train, split.validation
        monitor = _validation_monitor(split, unit.monitor, cutoffs, monitor_users(split, unit))
    else:
        train, held_out, monitor = split.train, split.test, None
    with _single_thread_if(model.lock_free):
        start, start_cpu = time.perf_counter(), time.process_time()
        model.fit(train, monitor=monitor)
        fit_seconds = time.perf_counter() - start
        fit_cpu_seconds = time.process_time() - start_cpu  # all threads; stretches far less than wall time under load
    result = evaluate(_scorer(model), train, held_out, cutoffs=cutoffs)
    record = {
        "unit": unit.describe(),
        "key": unit.key,
        "metrics": {k: float(v) for k, v in result.means.items()},
        "n_users": int(len(result.users)),
        "n_skipped": int(result.n_skipped),
        "fit_seconds": fit_seconds,
        "fit_cpu_seconds": fit_cpu_seconds,
        "epochs": int(getattr(model, "n_epochs_", 0)),
        "best_epoch": int(getattr(model, "best_epoch_", 0)),
        "scoring": getattr(model, "scoring_", None) or model.scorings[0],
        "trace": getattr(model, "trace_", []),
        "params": jsonable(model.get_params()),
        "dataset_checksum": data.checksum,
        "split_seed": split.seed,
        "_arrays": {"users": result.users, **result.per_user},
    }
    return record


@contextlib.contextmanager
def _single_thread_if(condition: bool):
    """Lock-free (Hogwild) fits are bit-reproducible only on one numba thread."""
    previous = numba.get_num_threads()
    if condition:
        numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _scorer(model):
    return Scorer(model, getattr(model, "scoring_", None))


def monitor_users(split: Split, unit: Unit) -> np.ndarray | None:
    """The validation users the early-stopping monitor ranks: None (every user) unless
    ``monitor.max_users`` is set and smaller than their number, then a sorted random sample
    drawn from (seed, fold) only, the same for every method and grid point."""
    limit = unit.monitor.max_users
    candidates = np.flatnonzero(np.diff(split.validation.indptr) > 0)
    if limit is None or len(candidates) <= limit:
        return None
    rng = np.random.default_rng(np.random.SeedSequence([unit.seed, unit.fold, zlib.crc32(b"monitor-users")]))
    return np.sort(rng.choice(candidates, size=limit, replace=False))


def _validation_monitor(split: Split, monitor: MonitorConfig, cutoffs: tuple[int, ...],
                        users: np.ndarray | None = None) -> FitMonitor:
    def on_validation(score_fn):
        return evaluate(score_fn, split.fit_train, split.validation, cutoffs=cutoffs, users=users).means

    return FitMonitor(on_validation, metric=monitor.metric, every=monitor.every, patience=monitor.patience)
