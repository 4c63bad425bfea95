"""The cross-validation runner: tune on fold 0's validation, then run every fold.

1. For each (dataset, method) every grid point becomes a ``tune`` unit on fold 0: the model is
   fitted on fold 0's ``fit_train`` with early stopping on its validation part.
2. The best grid point by the monitor metric (ties: first in grid order) fixes the
   hyperparameters, the number of epochs (its best epoch) and the scoring variant; the choice
   and the whole grid's scores are written to ``selection.json``.
3. One ``final`` unit per fold refits on the whole training fold and evaluates on its test fold.

Units run in-process (``jobs=1``) or in a pool of ``jobs`` processes, with numba and BLAS
threads set to ``cores // jobs`` in each so the machine is not oversubscribed. Completed units
are read back from the :class:`~fawmf_bench.experiments.store.ResultStore` and never
recomputed unless ``force``.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Iterable

from tqdm.auto import tqdm

from .._io import atomic_write, json_default, remove_stale_temps
from .._threading import prefer_workqueue_layer
from ..data import data_home as resolve_data_home
from ..data import load_dataset
from ..data.splitting import PROTOCOLS
from ..models import model_class
from .config import BenchConfig, load_config
from .store import ResultStore
from .units import Unit, execute_unit, make_unit



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
    device: str = "cpu"  # resolved device for methods with a torch backend ("cpu": numba)


def run_benchmark(settings: RunSettings, store: ResultStore) -> list[dict[str, Any]]:
    """Run tuning and final units for every dataset and method; returns the final records."""
    if settings.protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {settings.protocol!r}; known: {', '.join(PROTOCOLS)}")
    prefer_workqueue_layer()
    n_folds = 1 if settings.protocol == "paper" else settings.n_folds
    common = dict(protocol=settings.protocol, n_folds=n_folds, seed=settings.seed)
    for folder in (store.root, resolve_data_home(settings.data_home) / "splits"):
        remove_stale_temps(folder)  # left by writers killed mid-write
    tune_units: dict[tuple[str, str], list[Unit]] = {}
    monitors = {}
    checksums = {}
    for dataset in settings.datasets:
        # units carry the data's checksum: a record computed on other data is recomputed
        checksums[dataset] = load_dataset(dataset, home=settings.data_home).checksum
        for method in settings.methods:
            method_config = settings.config.method(method, dataset)
            monitors[dataset, method] = method_config.monitor
            tune_units[dataset, method] = [
                make_unit(dataset, method, _on_device(method, p, settings.device), 0, "tune",
                          monitor=method_config.monitor, dataset_checksum=checksums[dataset], **common)
                for p in method_config.grid_points(settings.tune)
            ]

    with _Executor(settings, store) as executor:
        executor.run([u for units in tune_units.values() for u in units], "tuning")
        finals = []
        for (dataset, method), units in tune_units.items():
            if not all(store.has(u) for u in units):
                continue  # its tuning failed; reported by the executor
            monitor = monitors[dataset, method]
            chosen = select_best(store, units, monitor.metric)
            folds = settings.folds if settings.folds is not None else range(n_folds)
            finals += [make_unit(dataset, method, chosen, fold, "final", monitor=monitor,
                                 dataset_checksum=checksums[dataset], **common) for fold in folds]
        executor.run(finals, "folds")
        failures = executor.failures
    if failures:
        lines = "\n".join(f"  {label}: {error}" for label, error in failures)
        raise RunFailed(f"{len(failures)} unit(s) failed (completed units are stored; rerun to resume):\n{lines}")
    return [store.load(u) for u in finals]


def _on_device(method: str, params: dict[str, Any], device: str) -> dict[str, Any]:
    """``params`` with ``device`` set when the method has a torch backend and the device is not
    the default "cpu" (so CPU units keep their keys; device units get their own)."""
    if device == "cpu" or "device" not in model_class(method).param_names():
        return params
    return {**params, "device": device}


def select_best(store: ResultStore, units: list[Unit], metric: str) -> dict[str, Any]:
    """Best grid point on validation, with its epochs and scoring fixed for the final fits.

    Writes ``selection.json`` beside the method's records (the whole grid's scores and the
    checksum of the data it was made on, so it is never applied to other data).
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
    path = store._stem(units[best]).parent / "selection.json"
    text = json.dumps(selection, indent=1, sort_keys=True, default=json_default)
    atomic_write(path, text.encode())
    return chosen


class _Executor:
    """Runs units in-process or in a process pool, skipping stored ones, with a progress bar."""

    def __init__(self, settings: RunSettings, store: ResultStore) -> None:
        self.settings = settings
        self.store = store
        self.failures: list[tuple[str, str]] = []
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "_Executor":
        jobs = max(1, self.settings.jobs)
        if jobs > 1:
            threads = max(1, (os.cpu_count() or 1) // jobs)
            self.pool = ProcessPoolExecutor(
                jobs, mp_context=get_context("spawn"), initializer=_limit_threads, initargs=(threads,)
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def run(self, units: Iterable[Unit], stage: str) -> None:
        units = list(units)
        todo = units if self.settings.force else [u for u in units if not self.store.has(u)]
        quiet = self.settings.quiet or not sys.stderr.isatty()
        bar = tqdm(total=len(units), initial=len(units) - len(todo), desc=stage, unit="unit", disable=quiet)
        args = (str(self.store.root), self.settings.data_home, self.settings.force)
        try:
            if self.pool is None:
                for unit in todo:
                    bar.set_postfix_str(unit.label)
                    self._collect(unit, lambda: run_and_store(unit, *args))
                    bar.update()
            else:
                futures = {self.pool.submit(run_and_store, unit, *args): unit for unit in todo}
                for future in as_completed(futures):
                    self._collect(futures[future], future.result)
                    bar.set_postfix_str(futures[future].label)
                    bar.update()
        finally:
            bar.close()

    def _collect(self, unit: Unit, result) -> None:
        try:
            result()
        except KeyboardInterrupt:
            raise
        except Exception as error:  # noqa: BLE001 - reported together at the end of the run
            self.failures.append((unit.label, f"{type(error).__name__}: {error}"))


def run_and_store(unit: Unit, store_root: str, data_home: Path | None, force: bool) -> str:
    """Compute one unit under its lock unless it is stored already; returns its key.

    A record that cannot be read or was computed on other data is moved to the store's
    quarantine folder and recomputed."""
    store = ResultStore(store_root)
    with store.lock(unit):
        if force or not store.has(unit, repair=True):
            store.save(unit, execute_unit(unit, data_home))
    return unit.key


def _limit_threads(threads: int) -> None:
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(threads)
    threadpool_limits(threads)
