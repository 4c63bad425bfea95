"""Integrity of the result store (issue 13): results bound to their data, unreadable records
quarantined and recomputed, no temporaries left, report refusing what it cannot trust."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fawmf_bench._io import atomic_write, remove_stale_temps
from fawmf_bench.cli import cli
from fawmf_bench.experiments.config import MonitorConfig
from fawmf_bench.experiments.store import QUARANTINE, ResultStore
from fawmf_bench.experiments.units import Unit

REPO = Path(__file__).resolve().parents[2]


def _write_uir(folder: Path, seed: int) -> Path:
    """A small random Douban-format file (user item rating), enough for a 2-fold run."""
    rng = np.random.default_rng(seed)
    rows = [(u, i, 5) for u in range(1, 61) for i in range(1, 41) if rng.random() < 0.3]
    (folder / "douban").mkdir(parents=True, exist_ok=True)
    (folder / "douban" / "uir.index").write_text("".join(f"{u} {i} {r}\n" for u, i, r in rows))
    return folder


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("FAWMF_BENCH_HOME", str(home))
    monkeypatch.delenv("FAWMF_BENCH_MIRROR", raising=False)
    monkeypatch.delenv("FAWMF_BENCH_DATASETS", raising=False)
    return home


RUN = ["run", "--dataset", "douban", "--methods", "itempop", "--folds", "2", "--no-tune", "--quiet"]


def _download(tmp_path: Path, seed: int) -> None:
    result = CliRunner().invoke(cli, ["download", "douban", "--from", str(_write_uir(tmp_path / f"v{seed}", seed)),
                                      "--force", "--no-progress"])
    assert result.exit_code == 0, result.output


def _records(store: Path) -> list[Path]:
    return sorted(p for p in store.glob("*/*/*/*-fold*-*.json"))


def test_changed_data_makes_stored_results_stale(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    runner = CliRunner()
    _download(tmp_path, 1)
    first = runner.invoke(cli, [*RUN, "--out", str(out)])
    assert first.exit_code == 0, first.output
    old = {p.name: json.loads(p.read_text())["dataset_checksum"] for p in _records(out / "store")}
    _download(tmp_path, 2)  # same name, other content
    second = runner.invoke(cli, [*RUN, "--out", str(out)])
    assert second.exit_code == 0, second.output
    new = {p.name: json.loads(p.read_text())["dataset_checksum"] for p in _records(out / "store")}
    assert new.keys() == old.keys()  # same keys ...
    assert set(new.values()).isdisjoint(old.values())  # ... recomputed on the new data
    moved = list((out / "store" / QUARANTINE).rglob("*.json"))
    assert len(moved) == len(old)  # the old records are kept aside, not deleted
    assert first.output != second.output
    fresh = runner.invoke(cli, [*RUN, "--out", str(tmp_path / "fresh")])
    assert fresh.output == second.output  # the table equals a fresh store's


@pytest.mark.parametrize("other", ["record", "selection"])
def test_report_refuses_to_mix_two_versions_of_a_dataset(home: Path, tmp_path: Path, other: str) -> None:
    out = tmp_path / "o"
    _download(tmp_path, 1)
    assert CliRunner().invoke(cli, [*RUN, "--out", str(out)]).exit_code == 0
    record = [p for p in _records(out / "store") if p.name.startswith("final-fold1")][0]
    if other == "selection":
        record = record.parent / "selection.json"
    data = json.loads(record.read_text())
    data["dataset_checksum"] = "0" * 64
    record.write_text(json.dumps(data))
    result = CliRunner().invoke(cli, ["report", "--out", str(out)])
    assert result.exit_code == 2
    assert "2 versions of dataset douban" in result.output and "0" * 64 in result.output


@pytest.mark.parametrize("damage", ["truncate-json", "empty-json", "truncate-npz", "empty-npz", "flip-npz"])
def test_unreadable_record_is_quarantined_and_recomputed(home: Path, tmp_path: Path, damage: str) -> None:
    out = tmp_path / "o"
    _download(tmp_path, 1)
    runner = CliRunner()
    clean = runner.invoke(cli, [*RUN, "--out", str(out)])
    assert clean.exit_code == 0
    record = [p for p in _records(out / "store") if p.name.startswith("final-fold1")][0]
    target = record if "json" in damage else record.with_suffix(".npz")
    content = target.read_bytes()
    if damage.startswith("truncate"):
        target.write_bytes(content[: len(content) // 2])
    elif damage.startswith("empty"):
        target.write_bytes(b"")
    else:  # same size, one byte changed in the middle
        middle = len(content) // 2
        target.write_bytes(content[:middle] + bytes([content[middle] ^ 0xFF]) + content[middle + 1:])
    report = runner.invoke(cli, ["report", "--out", str(tmp_path / "r"), "--store", str(out / "store")])
    assert report.exit_code == 2, report.output
    assert target.name in report.output and "rerun" in report.output and "Traceback" not in report.output
    rerun = runner.invoke(cli, [*RUN, "--out", str(out)])
    assert rerun.exit_code == 0, rerun.output
    assert rerun.output == clean.output
    quarantined = list((out / "store" / QUARANTINE).rglob(target.name))
    assert len(quarantined) == 1 and quarantined[0].read_bytes() != content  # kept, as it was found
    assert list((out / "store" / QUARANTINE).rglob("*.reason.txt"))
    assert runner.invoke(cli, ["report", "--out", str(tmp_path / "r"), "--store", str(out / "store")]).exit_code == 0


def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = tmp_path / ".tune-fold0-abc.npz.999999999.0123abcd.tmp"  # pid that cannot exist
    live = tmp_path / f".tune-fold0-abc.json.{os.getpid()}.0123abcd.tmp"
    legacy = tmp_path / "a" / ".tune-fold0-abc.npz.k3j_9xQz"  # earlier mkstemp writer, old
    legacy.parent.mkdir()
    for path in (dead, live, legacy):
        path.write_bytes(b"x")
    os.utime(legacy, (1, 1))
    removed = remove_stale_temps(tmp_path)
    assert sorted(removed) == sorted([dead, legacy]) and live.exists()


def test_written_files_respect_the_umask(tmp_path: Path, home: Path) -> None:
    previous = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.json", b"{}")
        _download(tmp_path, 1)
        out = tmp_path / "o"
        assert CliRunner().invoke(cli, [*RUN, "--out", str(out)]).exit_code == 0
    finally:
        os.umask(previous)
    files = [tmp_path / "a.json", home / "douban.npz", *_records(out / "store")]
    files += [p.with_suffix(".npz") for p in _records(out / "store")]
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o644}
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_committed_store_keys_are_unchanged() -> None:
    """Units rebuilt from committed records hash to the keys they are stored under, and the
    records' dataset checksums are what the dataset field compares with."""
    paths = sorted((REPO / "results" / "store").glob("*/*/*/*-fold*-*.json"))[::25]
    if not paths:
        pytest.skip("no committed store")
    for path in paths:
        record = json.loads(path.read_text())
        described = dict(record["unit"])
        described["params"] = tuple(sorted(described["params"].items()))
        described["monitor"] = MonitorConfig(**described["monitor"])
        described["cutoffs"] = tuple(described["cutoffs"])
        unit = Unit(**described, dataset_checksum=record["dataset_checksum"])
        assert unit.key == record["key"] and path.name.endswith(f"-{unit.key}.json")
        assert ResultStore(path.parents[3]).has(unit)


def test_unreadable_figure_piece_is_moved_aside(tmp_path: Path) -> None:
    from fawmf_bench.experiments.figure_experiments.common import load_json, read_piece

    piece = tmp_path / "fbgd.json"
    piece.write_text('{"key": "k", "tra')
    with pytest.raises(ValueError, match="fbgd.json: unreadable stored piece"):
        load_json(piece)
    assert read_piece(piece, "k") is None and not piece.exists()
    assert len(list((tmp_path / QUARANTINE).iterdir())) == 1
