"""A small real store: the runner on the synthetic dataset (itempop, eALS, WMF; 3 folds; a
tiny config), built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from fawmf_bench.experiments.config import load_config
from fawmf_bench.experiments.runner import RunSettings, run_benchmark
from fawmf_bench.experiments.store import ResultStore

TINY_CONFIG = """
monitor: {metric: pre@5, every: 2, patience: 2}
methods:
  itempop: {params: {}}
  eals: {params: {factors: 8, epochs: 4, missing_weight: 256}}
  wmf: {params: {factors: 8, epochs: 3, regularization: 10.0}, monitor: {every: 1}}
"""
METHODS = ["itempop", "eals", "wmf"]
N_FOLDS = 3


@pytest.fixture(scope="session")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> ResultStore:
    root = tmp_path_factory.mktemp("report-store")
    config_path = root / "hp.yaml"
    config_path.write_text(TINY_CONFIG)
    home = root / "data-home"
    settings = RunSettings(datasets=["synthetic"], methods=METHODS, n_folds=N_FOLDS, tune=False, quiet=True,
                           config=load_config(config_path), data_home=home)
    store = ResultStore(root / "store")
    run_benchmark(settings, store)
    return store


@pytest.fixture(scope="session")
def data_home(small_store: ResultStore) -> Path:
    return small_store.root.parent / "data-home"


@pytest.fixture(scope="session")
def final_records(small_store: ResultStore) -> list[dict]:
    return [r for r in small_store.records() if "unit" in r and r["unit"]["stage"] == "final"]
