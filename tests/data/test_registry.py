"""datasets.yaml: names, aliases, typed entries, the data home, a user's own entry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fawmf_bench.data import DataError, UnknownDataset, data_home, dataset_names, dataset_spec, resolve_name


def test_all_entries_and_paper_stats() -> None:
    names = dataset_names()
    for name in ("ml-1m", "ml-100k", "amazon-finefoods", "douban", "amazon-grocery-5core", "douban-monti", "synthetic"):
        assert name in names
    assert dataset_spec("ml-1m").paper == {"users": 6040, "items": 3952, "positives": 1000209}
    assert dataset_spec("ml-1m").upstream.hash == "md5:c4d9eecfca2ab87c1945afe126590906"
    assert dataset_spec("amazon-finefoods").upstream.hash is None
    assert dataset_spec("douban").upstream.unavailable
    assert all(dataset_spec(n).preprocess.min_item_interactions == 3 for n in names if not dataset_spec(n).is_synthetic)


def test_aliases_resolve_case_insensitively() -> None:
    assert resolve_name("MovieLens") == "ml-1m"
    assert dataset_spec("finefoods").name == "amazon-finefoods"


def test_unknown_name_lists_known() -> None:
    with pytest.raises(UnknownDataset, match="unknown dataset 'nope'; known: ml-1m"):
        dataset_spec("nope")


def test_data_home_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAWMF_BENCH_HOME", str(tmp_path / "env"))
    assert data_home() == tmp_path / "env"
    assert data_home(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("FAWMF_BENCH_HOME")
    assert "fawmf-bench" in str(data_home())


def test_bad_entry_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = tmp_path / "datasets.yaml"
    registry.write_text("datasets:\n  mine:\n    upstream: {file: a.xyz, format: excel}\n")
    monkeypatch.setenv("FAWMF_BENCH_DATASETS", str(registry))
    with pytest.raises(DataError, match="unknown format 'excel'"):
        dataset_names()


def _user_registry(tmp_path: Path, name: str, body: str = "") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"datasets:\n  {name}:\n{body or '    copies: [{file: ratings.csv, format: csv}]'}\n")
    return path


def test_a_users_file_adds_to_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _user_registry(tmp_path, "mine"), _user_registry(tmp_path, "theirs")
    monkeypatch.setenv("FAWMF_BENCH_DATASETS", os.pathsep.join([str(first), str(second)]))
    names = dataset_names()
    assert "ml-1m" in names and "synthetic" in names  # the built-ins stay
    assert names[-2:] == ["mine", "theirs"]


def test_a_name_clash_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAWMF_BENCH_DATASETS", str(_user_registry(tmp_path, "ML-1M")))
    with pytest.raises(DataError, match=r"dataset 'ml-1m' in .*ML-1M.yaml is already defined in .*datasets.yaml"):
        dataset_names()


def test_cli_datasets_option_adds_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from fawmf_bench.cli import cli

    monkeypatch.setenv("FAWMF_BENCH_DATASETS", "")
    monkeypatch.setenv("FAWMF_BENCH_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(cli, ["--datasets", str(_user_registry(tmp_path, "mine")), "datasets"])
    assert result.exit_code == 0, result.output
    assert any(line.startswith("mine ") for line in result.output.splitlines())
    clash = CliRunner().invoke(cli, ["--datasets", str(_user_registry(tmp_path, "synthetic")), "datasets"])
    assert clash.exit_code == 2 and "already defined" in clash.output
