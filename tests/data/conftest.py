"""Fixtures for the data layer: a temporary data home (tests never write the user's cache),
no mirror unless a test asks for the real one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REAL_MIRROR = os.environ.get("FAWMF_BENCH_MIRROR")


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("FAWMF_BENCH_HOME", str(home))
    monkeypatch.delenv("FAWMF_BENCH_MIRROR", raising=False)
    monkeypatch.delenv("FAWMF_BENCH_DATASETS", raising=False)
    return home


@pytest.fixture
def mirror(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real dataset mirror (FAWMF_BENCH_MIRROR); skips when it is not set."""
    if not REAL_MIRROR or not Path(REAL_MIRROR).is_dir():
        pytest.skip("FAWMF_BENCH_MIRROR is not set to the dataset mirror")
    monkeypatch.setenv("FAWMF_BENCH_MIRROR", REAL_MIRROR)
    return Path(REAL_MIRROR)


