from __future__ import annotations

from pathlib import Path

import pytest

SMALL_CONFIG = """
monitor: {metric: pre@5, every: 2, patience: 2}
methods:
  itempop: {params: {}}
  fawmf:
    params: {epochs: 6, factors: 8, communities: 4}
    grid: {learning_rate: [0.05, 0.1]}
"""


@pytest.fixture
def small_config(tmp_path: Path) -> Path:
    path = tmp_path / "hp.yaml"
    path.write_text(SMALL_CONFIG)
    return path


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "data-home"
    home.mkdir()
    monkeypatch.setenv("FAWMF_BENCH_HOME", str(home))
    return home
