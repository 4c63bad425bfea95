"""The `download` and `datasets` commands: exit codes, messages, the listing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fawmf_bench.cli import cli


def test_unknown_dataset_exits_2_listing_names() -> None:
    result = CliRunner().invoke(cli, ["download", "nope"])
    assert result.exit_code == 2 and "known: ml-1m" in result.output


def test_douban_without_copy_fails_cleanly(data_home: Path) -> None:
    result = CliRunner().invoke(cli, ["download", "douban", "--no-progress"])
    assert result.exit_code == 2 and "--from FOLDER" in result.output
    assert not data_home.exists() or not list(data_home.rglob("*"))


def test_download_from_then_listing(tmp_path: Path) -> None:
    (tmp_path / "douban").mkdir()
    (tmp_path / "douban" / "uir.index").write_text("1 1 5\n2 1 3\n3 1 4\n")
    runner = CliRunner()
    result = runner.invoke(cli, ["download", "douban", "--from", str(tmp_path), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "douban: 3 users, 1 items, 3 positives" in result.output
    listing = runner.invoke(cli, ["datasets"])
    assert listing.exit_code == 0
    row = next(line for line in listing.output.splitlines() if line.startswith("douban "))
    assert "cached" in row and "123,480" in row
    assert "not downloaded" in next(line for line in listing.output.splitlines() if line.startswith("ml-1m "))


@pytest.mark.realdata
def test_mirror_download_and_listing(mirror: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["download", "ml-1m", "--no-progress"])
    assert result.exit_code == 0, result.output
    row = next(line for line in runner.invoke(cli, ["datasets"]).output.splitlines() if line.startswith("ml-1m "))
    assert row.split()[4:8] == ["6,040", "3,503", "999,917", "1,000,209"]
