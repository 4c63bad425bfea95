"""Stored records stay valid: a unit rebuilt from a committed record's description has the
record's key (new monitor settings at their defaults must not enter the key)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fawmf_bench.experiments.config import MonitorConfig, load_config
from fawmf_bench.experiments.units import Unit

STORE = Path(__file__).resolve().parents[2] / "results" / "store"


def _unit(description: dict) -> Unit:
    description = dict(description)
    description["params"] = tuple(sorted(description["params"].items()))
    description["monitor"] = MonitorConfig(**description["monitor"])
    description["cutoffs"] = tuple(description["cutoffs"])
    return Unit(**description)


def test_committed_records_keep_their_keys():
    paths = sorted(STORE.glob("*/cv/*/*-fold*-*.json"))
    if not paths:
        pytest.skip("no committed store")
    for path in paths[::7]:
        record = json.loads(path.read_text())
        assert _unit(record["unit"]).key == record["key"] == path.stem.rsplit("-", 1)[1], path


def test_max_users_enters_the_key_only_when_set():
    base = Unit("d", "m", (), 0, "tune")
    assert "max_users" not in base.describe()["monitor"]
    sampled = Unit("d", "m", (), 0, "tune", monitor=MonitorConfig(max_users=100))
    assert sampled.describe()["monitor"]["max_users"] == 100 and sampled.key != base.key


def test_max_users_is_off_for_the_papers_datasets_and_on_for_douban_scale():
    config = load_config()
    for dataset in ("ml-1m", "ml-100k", "douban-monti", "amazon-grocery-5core", "synthetic"):
        for method in config.methods:
            assert config.method(method, dataset).monitor.max_users is None
    assert config.method("fawmf", "synthetic-douban").monitor.max_users
