"""The metric regression suite: a fixed, small benchmark whose numbers are held to references.

Every method runs with fixed hyperparameters and a bounded number of epochs (no tuning, no
early stopping) on each dataset of ``regression.yaml`` (ml-100k and the synthetic data, 5
folds, one fixed seed), as ``final`` units: fit on the training fold, evaluate on the test
fold. The 5-fold mean of each metric is compared with the reference committed under
``results/regression/references.csv``:

- ``drop``:     now < reference - tolerance   (the suite fails)
- ``improved``: now > reference + tolerance   (reported; refresh deliberately with --update)
- ``ok``:       within tolerance
- ``missing``:  a reference without a measurement (the suite fails); ``new``: the reverse.

Tolerances come from measured seed-to-seed variation: the suite is rerun with other model
seeds (same splits) and the standard deviation of the 5-fold mean over those runs is taken;
``tolerance = max(3 std, absolute floor, relative floor * |reference|)``. The standard
deviation over other split seeds is measured and stored beside it for information.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd
import yaml

from .._schema import check_fields
from ..evaluation.metrics import metric_names
from ..models import BUILTIN_MODELS, model_class
from .config import BenchConfig, ConfigError, MonitorConfig, check_method_section
from .store import provenance
from .units import Unit, execute_unit, make_unit, model_seed

DEFAULT_SUITE = "regression.yaml"
#: where the committed references live (repository root / results / regression)
DEFAULT_REFERENCES = Path(__file__).resolve().parents[2] / "results" / "regression"
REFERENCE_FILE = "references.csv"
META_FILE = "meta.json"
VARIATION_FILE = "variation.csv"
FAILING = ("drop", "missing")
KEYS = ["dataset", "method", "metric"]


@dataclass(frozen=True)
class SuiteSection:
    """Schema of the file's ``suite:`` section (checked by :func:`fawmf_bench._schema.check_fields`)."""

    datasets: dict[str, Any]
    metrics: tuple[str, ...]
    seed: int = 0
    cutoffs: tuple[int, ...] = (5,)
    tolerance_floor: dict[str, Any] = field(default_factory=dict)  # checked as FloorSection


@dataclass(frozen=True)
class DatasetSection:
    """Schema of one ``suite.datasets.<name>`` entry."""

    folds: int = field(default=5, metadata={"min": 2})


@dataclass(frozen=True)
class FloorSection:
    """Schema of ``suite.tolerance_floor``."""

    absolute: float = field(default=0.002, metadata={"min": 0.0})
    relative: float = field(default=0.01, metadata={"min": 0.0})


@dataclass(frozen=True)
class SuiteConfig:
    """The suite file: datasets with their fold counts, seed, metrics, floors and methods."""

    source: str
    text_sha1: str
    datasets: dict[str, int]
    seed: int
    metrics: tuple[str, ...]
    cutoffs: tuple[int, ...]
    floor_absolute: float
    floor_relative: float
    methods: BenchConfig

    def params(self, method: str, dataset: str) -> dict[str, Any]:
        return self.methods.method(method, dataset).params


def load_suite_config(path: str | Path | None = None) -> SuiteConfig:
    """Read and validate the suite file (the packaged ``regression.yaml`` when ``path`` is None)."""
    if path is None:
        text, source = resources.files("fawmf_bench.experiments").joinpath(DEFAULT_SUITE).read_text(), DEFAULT_SUITE
    else:
        source = str(path)
        try:
            text = Path(path).read_text()
        except OSError as err:
            raise ConfigError(f"{source}: cannot read the suite file ({err.strerror})") from None
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML: {err}") from None
    if not isinstance(raw, dict) or set(raw) - {"suite", "methods"}:
        raise ConfigError(f"{source}: expected exactly the top-level keys 'suite' and 'methods'")
    suite = check_fields(raw.get("suite"), SuiteSection, "suite", source, ConfigError)
    methods = raw.get("methods") or {}
    if not isinstance(methods, dict):
        raise ConfigError(f"{source}: methods: expected a mapping of method name to section, got {methods!r}")
    for method, section in methods.items():
        section = section or {}
        check_method_section(source, method, section)
        blocks = [section] + list((section.get("datasets") or {}).values())
        if any((block or {}).get("grid") for block in blocks):
            raise ConfigError(f"{source}: methods.{method}: the regression suite does not tune; remove 'grid'")
    missing = sorted(set(BUILTIN_MODELS) - set(methods))  # plugins may join, need not
    if missing:
        raise ConfigError(f"{source}: methods: every built-in method must be in the suite; missing {missing}")
    for name in ("datasets", "metrics"):
        if name not in suite:
            raise ConfigError(f"{source}: suite.{name}: missing; the suite needs datasets {{name: {{folds: N}}}} "
                              "and metrics [..]")
    cutoffs = suite.get("cutoffs", (5,))
    if any(k < 1 for k in cutoffs):
        raise ConfigError(f"{source}: suite.cutoffs: expected positive integers, got {list(cutoffs)}")
    allowed_metrics = metric_names(cutoffs)
    for metric in suite["metrics"]:
        if metric not in allowed_metrics:
            raise ConfigError(f"{source}: suite.metrics: unknown metric {metric!r}; allowed: {', '.join(allowed_metrics)}")
    datasets = {str(name): check_fields(spec, DatasetSection, f"suite.datasets.{name}", source, ConfigError)
                .get("folds", 5) for name, spec in suite["datasets"].items()}
    floor = check_fields(suite.get("tolerance_floor"), FloorSection, "suite.tolerance_floor", source, ConfigError)
    config = SuiteConfig(
        source=source,
        text_sha1=hashlib.sha1(text.encode()).hexdigest(),
        datasets=datasets,
        seed=suite.get("seed", 0),
        metrics=tuple(suite["metrics"]),
        cutoffs=tuple(cutoffs),
        floor_absolute=floor.get("absolute", 0.002),
        floor_relative=floor.get("relative", 0.01),
        methods=BenchConfig(source, MonitorConfig(), methods),
    )
    if not datasets or not config.metrics:
        raise ConfigError(f"{source}: suite: datasets and metrics must not be empty")
    return config


# ------------------------------------------------------------------------- running


def suite_units(config: SuiteConfig, methods: Iterable[str] | None = None, split_seed: int | None = None,
                model_seed_of: int | None = None) -> list[Unit]:
    """Every (dataset, method, fold) ``final`` unit of the suite.

    ``split_seed`` replaces the suite's seed (splits and model seeds change); ``model_seed_of``
    keeps the splits and derives every model's ``random_state`` from that run seed instead.
    """
    chosen = list(methods) if methods is not None else list(config.methods.methods)
    seed = config.seed if split_seed is None else split_seed
    units = []
    for dataset, n_folds in config.datasets.items():
        for method in chosen:
            params = dict(config.params(method, dataset))
            for fold in range(n_folds):
                fold_params = dict(params)
                if model_seed_of is not None and "random_state" in model_class(method).param_names():
                    fold_params["random_state"] = model_seed(model_seed_of, fold, method)
                units.append(make_unit(dataset, method, fold_params, fold, "final", n_folds=n_folds, seed=seed,
                                       cutoffs=config.cutoffs))
    return units


def run_suite(config: SuiteConfig, methods: Iterable[str] | None = None, data_home: Path | None = None,
              split_seed: int | None = None, model_seed_of: int | None = None,
              progress: Callable[[Unit], None] | None = None) -> pd.DataFrame:
    """Run the suite's units in-process; one row per (dataset, method, fold) with every metric."""
    rows = []
    for unit in suite_units(config, methods, split_seed, model_seed_of):
        if progress is not None:
            progress(unit)
        record = execute_unit(unit, data_home)
        rows.append({"dataset": unit.dataset, "method": unit.method, "fold": unit.fold,
                     "fit_seconds": record["fit_seconds"], "dataset_checksum": record["dataset_checksum"],
                     **record["metrics"]})
    return pd.DataFrame(rows)


def fold_means(folds: pd.DataFrame, metrics: Iterable[str]) -> pd.DataFrame:
    """Long table (dataset, method, metric, value): the mean over folds of each metric."""
    metrics = list(metrics)
    means = folds.groupby(["dataset", "method"], sort=False)[metrics].mean().reset_index()
    return means.melt(id_vars=["dataset", "method"], var_name="metric", value_name="value")


# ------------------------------------------------------------------------- references


def derive_references(current: pd.DataFrame, model_runs: pd.DataFrame | None, split_runs: pd.DataFrame | None,
                      config: SuiteConfig) -> pd.DataFrame:
    """References with tolerances: ``max(3 std over model seeds, floor_abs, floor_rel |ref|)``.

    ``current``: long means of the fixed-seed run; ``model_runs`` / ``split_runs``: long means
    with an extra ``seed`` column, one run per other model seed / split seed.
    """
    refs = current.rename(columns={"value": "reference"})[KEYS + ["reference"]].copy()
    for name, runs in (("std_model_seeds", model_runs), ("std_split_seeds", split_runs)):
        if runs is None or runs.empty:
            refs[name], refs[f"n_{name[4:]}"] = np.nan, 0
            continue
        stats = runs.groupby(KEYS)["value"].agg(std=lambda v: float(np.std(v, ddof=1)), n="count").reset_index()
        refs = refs.merge(stats.rename(columns={"std": name, "n": f"n_{name[4:]}"}), on=KEYS, how="left")
    return with_tolerances(refs, config)


def with_tolerances(refs: pd.DataFrame, config: SuiteConfig) -> pd.DataFrame:
    """(Re)compute the tolerance column from the measured std and the suite's floors."""
    refs = refs.copy()
    floor = np.maximum(config.floor_absolute, config.floor_relative * refs["reference"].abs())
    refs["tolerance"] = np.maximum(3.0 * refs["std_model_seeds"].fillna(0.0), floor)
    columns = KEYS + ["reference", "tolerance", "std_model_seeds", "n_model_seeds", "std_split_seeds", "n_split_seeds"]
    return refs[columns]


def write_references(folder: Path, refs: pd.DataFrame, meta: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    refs.to_csv(folder / REFERENCE_FILE, index=False, float_format="%.8f")
    (folder / META_FILE).write_text(json.dumps(meta, indent=1, sort_keys=True, default=str) + "\n")


def read_references(folder: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    path = Path(folder) / REFERENCE_FILE
    if not path.exists():
        raise FileNotFoundError(f"no references at {path}; create them with `fawmf-bench regress --update`")
    meta_path = Path(folder) / META_FILE
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    return pd.read_csv(path), meta


def refresh_references(config: SuiteConfig, folder: Path, n_seeds: int = 0, data_home: Path | None = None,
                       progress: Callable[[Unit], None] | None = None) -> pd.DataFrame:
    """Rerun the suite and write new references to ``folder`` (deliberate: ``regress --update``).

    With ``n_seeds`` > 0 the tolerances are re-measured from ``n_seeds`` other model seeds and
    ``n_seeds`` other split seeds (written to ``variation.csv``); otherwise the measured std of
    the existing references is kept and only the values (and their relative floors) change.
    """
    start = time.perf_counter()
    folds = run_suite(config, data_home=data_home, progress=progress)
    suite_seconds = time.perf_counter() - start
    current = fold_means(folds, config.metrics)
    seeds = [config.seed + s for s in range(1, n_seeds + 1)]
    folder.mkdir(parents=True, exist_ok=True)
    if seeds:
        model_runs = _seed_runs(config, seeds, "model", data_home, progress)
        split_runs = _seed_runs(config, seeds, "split", data_home, progress)
        refs = derive_references(current, model_runs, split_runs, config)
        pd.concat([current.assign(seed=config.seed, varied="none"), model_runs, split_runs]).to_csv(
            folder / VARIATION_FILE, index=False, float_format="%.8f")
    else:
        old, _ = read_references(folder)
        std_columns = ["std_model_seeds", "n_model_seeds", "std_split_seeds", "n_split_seeds"]
        merged = current.rename(columns={"value": "reference"}).merge(old[KEYS + std_columns], on=KEYS, how="left")
        refs = with_tolerances(merged, config)
    checksums = folds.groupby("dataset")["dataset_checksum"].first().to_dict()
    meta = {"config": config.source, "config_sha1": config.text_sha1, "seed": config.seed,
            "datasets": {d: {"folds": n, "checksum": checksums.get(d)} for d, n in config.datasets.items()},
            "metrics": list(config.metrics), "tolerance_floor": {"absolute": config.floor_absolute,
                                                                 "relative": config.floor_relative},
            "variation_seeds": seeds or "kept from the previous references", "suite_seconds": round(suite_seconds, 1),
            "fit_seconds": folds.groupby("method")["fit_seconds"].sum().round(1).to_dict(),
            "provenance": provenance()}
    write_references(folder, refs, meta)
    return refs


def _seed_runs(config: SuiteConfig, seeds: list[int], varied: str, data_home: Path | None,
               progress: Callable[[Unit], None] | None) -> pd.DataFrame:
    """Long means of one suite run per seed, varying the model seeds or the split seeds."""
    frames = []
    for seed in seeds:
        kw = {"model_seed_of": seed} if varied == "model" else {"split_seed": seed}
        folds = run_suite(config, data_home=data_home, progress=progress, **kw)
        frames.append(fold_means(folds, config.metrics).assign(seed=seed, varied=varied))
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------------- comparison


def compare(current: pd.DataFrame, refs: pd.DataFrame) -> pd.DataFrame:
    """Join the measured means with the references; one row per (dataset, method, metric).

    Columns: reference, now, difference (now - reference), tolerance, status (see module doc).
    """
    now = current.rename(columns={"value": "now"})[KEYS + ["now"]]
    table = refs[KEYS + ["reference", "tolerance"]].merge(now, on=KEYS, how="outer")
    table["difference"] = table["now"] - table["reference"]
    status = np.full(len(table), "ok", dtype=object)
    status[table["difference"] < -table["tolerance"]] = "drop"
    status[table["difference"] > table["tolerance"]] = "improved"
    status[table["now"].isna()] = "missing"
    status[table["reference"].isna()] = "new"
    table["status"] = status
    return table[KEYS + ["reference", "now", "difference", "tolerance", "status"]]


def failed(comparison: pd.DataFrame) -> bool:
    """True when some metric dropped beyond its tolerance or was not measured."""
    return bool(comparison["status"].isin(FAILING).any())


def format_table(comparison: pd.DataFrame, statuses: Iterable[str] | None = None) -> str:
    """The comparison as fixed-width text (only rows with the given statuses, if any)."""
    rows = comparison if statuses is None else comparison[comparison["status"].isin(list(statuses))]
    if rows.empty:
        return "(no rows)"
    shown = rows.copy()
    for column in ("reference", "now", "tolerance"):
        shown[column] = shown[column].map(lambda v: "-" if pd.isna(v) else f"{v:.4f}")
    shown["difference"] = shown["difference"].map(lambda v: "-" if pd.isna(v) else f"{v:+.4f}")
    shown["tol units"] = (rows["difference"] / rows["tolerance"]).map(lambda v: "-" if pd.isna(v) else f"{v:+.1f}")
    return shown.to_string(index=False)


def summary_line(comparison: pd.DataFrame) -> str:
    counts = comparison["status"].value_counts()
    parts = [f"{counts.get(s, 0)} {s}" for s in ("ok", "drop", "improved", "missing", "new") if counts.get(s, 0)]
    ratio = (comparison["difference"].abs() / comparison["tolerance"]).max()
    return f"{len(comparison)} comparisons: {', '.join(parts)}; largest |difference| / tolerance = {ratio:.2f}"
