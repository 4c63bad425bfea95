"""The cross-validation runner: tune on fold 0's validation, then run every fold.

1. For each (dataset, method) every grid point becomes a ``tune`` unit on fold 0: the model is
   fitted on fold 0's ``fit_train`` with early stopping on its validation part.
2. The best grid point by the monitor metric (ties: first in grid order) fixes the
   hyperparameters, the number of epochs (its best epoch) and the scoring variant; the choice
   and the whole grid's scores are written to ``selection.json``.
3. One ``final`` unit per fold refits on the whole training fold and evaluates on its test fold.

Pipelining: a method's final units are submitted as soon as *its own* tuning grid is complete,
and they take priority over the tuning units still waiting, so a run's critical path is about
(slowest grid point) + (slowest fold) rather than the sum of the stages.

Units run through an :mod:`~fawmf_bench.experiments.executors` executor: in-process
(``jobs=1``), a pool of ``jobs`` processes, or a Dask cluster (``scheduler`` / ``cluster``).
Completed units are read back from the :class:`~fawmf_bench.experiments.store.ResultStore` and
never recomputed unless ``force``. Each finished unit is logged with its wall time (logger
``fawmf_bench.experiments.runner``); a tqdm bar is shown instead when stderr is a terminal.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .._io import atomic_write, json_default, remove_stale_temps
from .._threading import prefer_workqueue_layer
from ..data import data_home as resolve_data_home
from ..data import load_dataset
from ..data.splitting import PROTOCOLS
from ..models import model_class
from .config import BenchConfig, load_config
from .executors import Executor, make_executor
from .store import ResultStore
from .units import Unit, execute_unit, make_unit

TUNE_PRIORITY, FINAL_PRIORITY = 0, 1

log = logging.getLogger(__name__)


class RunFailed(RuntimeError):
    """Some units raised; the others were stored and a rerun resumes."""


@dataclass
class RunSettings:
    datasets: list[str]
    methods: list[str]
    protocol: str = "cv"
    n_folds: int = 5
    seed: int = 0
    tune: bool = True
    jobs: int = 1
    force: bool = False
    quiet: bool = False
    folds: list[int] | None = None  # restrict the final stage to these folds
    config: BenchConfig = field(default_factory=load_config)
    data_home: Path | None = None
    scheduler: str | None = None  # address of a running Dask scheduler
    cluster: str | None = None  # "local:N": a LocalCluster of N worker processes
    device: str = "cpu"  # resolved device for methods with a torch backend ("cpu": numba)

    @property
    def folds_run(self) -> int:
        return 1 if self.protocol == "paper" else self.n_folds


def dataset_checksums(settings: RunSettings) -> dict[str, str]:
    """Each dataset's content checksum (after preprocessing): units carry it, so a record
    computed on other data is recomputed instead of reused."""
    return {dataset: load_dataset(dataset, home=settings.data_home).checksum for dataset in settings.datasets}


def tune_units(settings: RunSettings, checksums: dict[str, str] | None = None) -> dict[tuple[str, str], list[Unit]]:
    """Every (dataset, method)'s tuning units, in grid order."""
    if settings.protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {settings.protocol!r}; known: {', '.join(PROTOCOLS)}")
    checksums = dataset_checksums(settings) if checksums is None else checksums
    common = dict(protocol=settings.protocol, n_folds=settings.folds_run, seed=settings.seed)
    units = {}
    for dataset in settings.datasets:
        for method in settings.methods:
            method_config = settings.config.method(method, dataset)
            units[dataset, method] = [
                make_unit(dataset, method, _on_device(method, p, settings.device), 0, "tune",
                          monitor=method_config.monitor, dataset_checksum=checksums[dataset], **common)
                for p in method_config.grid_points(settings.tune)
            ]
    return units


def _on_device(method: str, params: dict[str, Any], device: str) -> dict[str, Any]:
    """``params`` with ``device`` set when the method has a torch backend and the device is not
    the default "cpu" (so CPU units keep their keys; device units get their own)."""
    if device == "cpu" or "device" not in model_class(method).param_names():
        return params
    return {**params, "device": device}


def final_units(settings: RunSettings, chosen: dict[str, Any], tuned: list[Unit]) -> list[Unit]:
    """The final (test-fold) units for the hyperparameters ``chosen`` from ``tuned``."""
    first = tuned[0]
    folds = settings.folds if settings.folds is not None else range(settings.folds_run)
    return [make_unit(first.dataset, first.method, chosen, fold, "final", monitor=first.monitor,
                      protocol=first.protocol, n_folds=first.n_folds, seed=first.seed,
                      dataset_checksum=first.dataset_checksum) for fold in folds]


def pending(settings: RunSettings, units: list[Unit], store: ResultStore) -> list[Unit]:
    """The units a run computes (all of them with ``force``)."""
    return list(units) if settings.force else [u for u in units if not store.has(u)]


def start_executor(settings: RunSettings, store: ResultStore) -> Executor:
    """The executor ``settings`` ask for, writing into ``store``. A local Dask cluster starts in
    the background: the caller's next steps (loading the data, planning the units) overlap it."""
    prefer_workqueue_layer()  # first: worker processes inherit it
    store.root.mkdir(parents=True, exist_ok=True)
    home_path = resolve_data_home(settings.data_home).resolve()
    home_path.mkdir(parents=True, exist_ok=True)
    home, root = str(home_path), str(store.root.resolve())
    return make_executor(run_and_store, (root, home, settings.force), jobs=settings.jobs,
                         scheduler=settings.scheduler, cluster=settings.cluster, shared_paths=(root, home))


def run_benchmark(settings: RunSettings, store: ResultStore, executor: Executor | None = None) -> list[dict[str, Any]]:
    """Run tuning and final units for every dataset and method; returns the final records.
    ``executor``: one from :func:`start_executor` (default: started here); it is closed at the end."""
    if executor is None:
        executor = start_executor(settings, store)
    prefer_workqueue_layer()
    with executor:
        tuning = tune_units(settings)
        for folder in (store.root, resolve_data_home(settings.data_home) / "splits"):
            remove_stale_temps(folder)  # left by writers killed mid-write
        log.info("running on %s; store %s", executor.description, store.root)
        finals, failures = _Pipeline(settings, store, executor, tuning).run()
    if failures:
        lines = "\n".join(f"  {label}: {error}" for label, error in failures)
        raise RunFailed(f"{len(failures)} unit(s) failed (completed units are stored; rerun to resume):\n{lines}")
    return [store.load(u) for u in finals]


class _Pipeline:
    """Submits units as they become ready, highest priority first, and collects completions."""

    def __init__(self, settings: RunSettings, store: ResultStore, executor: Executor,
                 tuning: dict[tuple[str, str], list[Unit]]) -> None:
        self.settings, self.store, self.executor, self.tuning = settings, store, executor, tuning
        self.ready: list[tuple[int, int, Unit]] = []  # heap of (-priority, order, unit)
        self.order = itertools.count()
        self.remaining: dict[tuple[str, str], int] = {}
        self.failed: set[tuple[str, str]] = set()
        self.failures: list[tuple[str, str]] = []
        self.finals: list[Unit] = []
        self.in_flight = self.done = self.total = 0
        show_bar = not settings.quiet and sys.stderr.isatty()
        self.bar = tqdm(total=0, unit="unit", desc="units", disable=not show_bar)
        self.started = time.perf_counter()

    def _enqueue(self, units: list[Unit], priority: int) -> None:
        todo = pending(self.settings, units, self.store)
        self.total += len(units)
        self.done += len(units) - len(todo)
        self.bar.total = self.total
        self.bar.update(len(units) - len(todo))
        for unit in todo:
            heapq.heappush(self.ready, (-priority, next(self.order), unit))

    def _release_finals(self, key: tuple[str, str]) -> None:
        units = self.tuning[key]
        if key in self.failed:
            return  # its tuning failed; reported with the failures
        monitor = units[0].monitor
        finals = final_units(self.settings, select_best(self.store, units, monitor.metric), units)
        self.finals += finals
        self._enqueue(finals, FINAL_PRIORITY)

    def run(self) -> tuple[list[Unit], list[tuple[str, str]]]:
        try:
            for key, units in self.tuning.items():
                self.remaining[key] = len(pending(self.settings, units, self.store))
                self._enqueue(units, TUNE_PRIORITY)
            for key, count in self.remaining.items():
                if count == 0:
                    self._release_finals(key)
            while True:
                while self.ready and self.in_flight < self.executor.slots:
                    priority, _, unit = heapq.heappop(self.ready)
                    log.debug("submit %s", unit.label)
                    self.executor.submit(unit, -priority)
                    self.in_flight += 1
                if not self.in_flight:
                    break
                self._collect(self.executor.next_completed())
                self.in_flight -= 1
        finally:
            self.bar.close()
        return self.finals, self.failures

    def _collect(self, completion) -> None:
        unit = completion.unit
        key = (unit.dataset, unit.method)
        self.done += 1
        self.bar.set_postfix_str(unit.label)
        self.bar.update()
        elapsed = time.perf_counter() - self.started
        if completion.error is not None:
            self.failures.append((unit.label, completion.error))
            self.failed.add(key)
            log.warning("[%7.0f s] %d/%d FAILED %s after %.1f s: %s", elapsed, self.done, self.total, unit.label,
                        completion.seconds, completion.error)
        else:
            log.info("[%7.0f s] %d/%d done %s in %.1f s", elapsed, self.done, self.total, unit.label,
                     completion.seconds, extra={"progress": True})
        if unit.stage == "tune":
            self.remaining[key] -= 1
            if self.remaining[key] == 0:
                self._release_finals(key)


def choose_best(store: ResultStore, units: list[Unit], metric: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Best grid point on validation, with its epochs and scoring fixed for the final fits.

    Returns the chosen hyperparameters and the selection (the whole grid's scores and the
    checksum of the data it was made on, so it is never applied to other data); writes nothing.
    """
    records = [store.load(u) for u in units]
    best = max(range(len(units)), key=lambda i: (records[i]["metrics"][metric], -i))
    chosen = dict(units[best].param_dict)
    names = set(model_class(units[best].method).param_names())
    record = records[best]
    if "epochs" in names and record["epochs"] > 0:
        chosen["epochs"] = record["best_epoch"]
    if "scoring" in names and record.get("scoring"):
        chosen["scoring"] = record["scoring"]
    selection = {
        "metric": metric,
        "chosen": chosen,
        "dataset_checksum": units[best].dataset_checksum,
        "grid": [
            {"params": u.param_dict, "validation": r["metrics"], "best_epoch": r["best_epoch"], "scoring": r["scoring"],
             "fit_seconds": r["fit_seconds"]}
            for u, r in zip(units, records)
        ],
    }
    return chosen, selection


def select_best(store: ResultStore, units: list[Unit], metric: str) -> dict[str, Any]:
    """:func:`choose_best`, writing ``selection.json`` beside the method's records."""
    chosen, selection = choose_best(store, units, metric)
    path = store._stem(units[0]).parent / "selection.json"
    text = json.dumps(selection, indent=1, sort_keys=True, default=json_default)
    atomic_write(path, text.encode())
    return chosen


def run_and_store(unit: Unit, store_root: str, data_home: Path | None, force: bool) -> str:
    """Compute one unit under its lock unless it is stored already; returns its key.

    A record that cannot be read or was computed on other data is moved to the store's
    quarantine folder and recomputed."""
    store = ResultStore(store_root)
    with store.lock(unit):
        if force or not store.has(unit, repair=True):
            store.save(unit, execute_unit(unit, data_home))
    return unit.key
