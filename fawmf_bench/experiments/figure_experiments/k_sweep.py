"""Figure 5: test Pre@5 versus the number of factors K for FAWMF, eALS and WMF.

For each (method, K) on fold 0 of the ``cv`` protocol, exactly as the runner does for one grid
point: a ``tune`` unit fits on ``fit_train`` with the method's validation monitor (early
stopping, scoring choice), then a ``final`` unit refits on the whole training fold for the
best epoch with the chosen scoring and is evaluated once on the test fold. Hyperparameters
other than K (``factors``) are the method's ``params`` from the config; no grid search.

The units run through :func:`~fawmf_bench.experiments.runner.run_and_store` into a result
store of their own, ``<store>/<dataset>/k-sweep/`` (records at
``k-sweep/<dataset>/cv/<method>/...``), so they are resumable per (method, K) and reused by a
rerun, but never mixed into the Table 3 records of the main store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ...data import load_dataset, resolve_name
from ...models import model_class
from ..config import BenchConfig, load_config
from ..runner import run_and_store
from ..store import ResultStore
from ..units import Unit, make_unit
from .common import experiment_dir, write_text

K_SWEEP = "k-sweep"
K_VALUES = (10, 20, 40, 60, 80, 100)
K_METHODS = ("fawmf", "eals", "wmf")
PROTOCOL = "cv"


def k_sweep_store(store_root: str | Path, dataset: str) -> ResultStore:
    """The k-sweep's own result store under the main one."""
    return ResultStore(experiment_dir(store_root, dataset, K_SWEEP))


def run_k_sweep(store_root: str | Path, dataset: str = "ml-1m", methods: tuple[str, ...] = K_METHODS,
                k_values: tuple[int, ...] = K_VALUES, n_folds: int = 5, seed: int = 0, fold: int = 0,
                config: BenchConfig | None = None, data_home: Path | None = None, force: bool = False,
                progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Tune epochs on validation and evaluate on the test fold for every (method, K); returns
    :func:`load_k_sweep`'s frame (also written as ``k_sweep.csv`` beside the records)."""
    if not k_values or any(int(k) != k or k < 1 for k in k_values):
        raise ValueError(f"K values must be positive integers, got {k_values}")
    for method in methods:
        if "factors" not in model_class(method).param_names():
            raise ValueError(f"{method} has no 'factors' hyperparameter; it cannot be swept over K")
    config = config or load_config()
    name = resolve_name(dataset)
    store = k_sweep_store(store_root, name)
    checksum = load_dataset(name, home=data_home).checksum  # records made on other data are recomputed
    common = dict(protocol=PROTOCOL, n_folds=int(n_folds), seed=int(seed), dataset_checksum=checksum)
    args = (str(store.root), data_home, force)
    for k in k_values:  # K outer: an interrupted sweep still has every method at the smaller K
        for method in methods:
            method_config = config.method(method, name)
            params = {**method_config.params, "factors": int(k)}
            tune = make_unit(name, method, params, fold, "tune", monitor=method_config.monitor, **common)
            _run(tune, args, store, progress)
            chosen = refit_params(tune, store.load(tune))
            final = make_unit(name, method, chosen, fold, "final", monitor=method_config.monitor, **common)
            _run(final, args, store, progress)
    frame = load_k_sweep(store_root, name)
    write_text(experiment_dir(store_root, name, K_SWEEP) / "k_sweep.csv", frame.to_csv(index=False))
    return frame


def _run(unit: Unit, args: tuple, store: ResultStore, progress: Callable[[str], None] | None) -> None:
    if progress and (args[2] or not store.has(unit)):
        progress(f"{unit.label} K={unit.param_dict['factors']}")
    run_and_store(unit, *args)


def refit_params(unit: Unit, record: dict[str, Any]) -> dict[str, Any]:
    """The tuned unit's params with its best epoch and chosen scoring fixed (as the runner's
    ``select_best`` does for the best grid point)."""
    chosen = dict(unit.param_dict)
    names = set(model_class(unit.method).param_names())
    if "epochs" in names and record["epochs"] > 0:
        chosen["epochs"] = record["best_epoch"]
    if "scoring" in names and record.get("scoring"):
        chosen["scoring"] = record["scoring"]
    return chosen


def load_k_sweep(store_root: str | Path, dataset: str) -> pd.DataFrame:
    """One row per stored final (method, K): method, factors, fold, epochs, scoring, weight_floor
    (FAWMF's; "projected" for records from before the option, None for other methods),
    validation_pre@5 (of its tuning fit, when stored), fit_seconds and the test metrics; where a
    (method, K) was rerun with other settings, the most recently written records count."""
    store = k_sweep_store(store_root, dataset)
    # oldest first, so that where a setting was rerun (e.g. FAWMF after its weight-floor rule
    # changed) the latest record of a (method, K, seed, fold, stage) wins
    records = sorted(store.records(dataset=dataset, protocol=PROTOCOL),
                     key=lambda r: (str((r.get("provenance") or {}).get("written", "")), str(r.get("key", ""))))
    latest = {}
    for record in records:
        unit = record.get("unit")
        if unit:
            latest[(unit["method"], unit["params"]["factors"], unit["seed"], unit["fold"], unit["stage"])] = record
    records = list(latest.values())
    validation = {(r["unit"]["method"], r["unit"]["params"]["factors"], r["unit"]["seed"]): r["metrics"]
                  for r in records if r.get("unit", {}).get("stage") == "tune"}
    rows = []
    for record in records:
        unit = record.get("unit")
        if not unit or unit["stage"] != "final":
            continue
        k = unit["params"]["factors"]
        tuned = validation.get((unit["method"], k, unit["seed"]), {})
        rows.append({"method": unit["method"], "factors": k, "fold": unit["fold"], "seed": unit["seed"],
                     "epochs": record["epochs"], "scoring": record["scoring"],
                     "weight_floor": unit["params"].get("weight_floor") if unit["method"] == "fawmf" else None,
                     "validation_pre@5": tuned.get("pre@5"), "fit_seconds": record["fit_seconds"],
                     **record["metrics"]})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values(["method", "factors", "seed", "fold"]).reset_index(drop=True)
