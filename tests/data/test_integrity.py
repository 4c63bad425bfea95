"""Bad input at the data layer (issue 13): malformed rows, corrupt cache, data home, datasets.yaml,
download of every dataset."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from fawmf_bench.cli import cli
from fawmf_bench.data import DataError, ParseError, load_dataset
from fawmf_bench.data.parsers import parse
from fawmf_bench.data.registry import FileSpec

# format -> (file name, separator, fields per row, header)
FORMATS = {
    "csv": ("ratings.csv", ",", 3, "user_id,item_id,rating\n"),
    "csv4": ("ratings4.csv", ",", 4, "user_id,item_id,rating,timestamp\n"),
    "uir": ("uir.index", " ", 3, ""),
    "movielens-dat": ("ratings.dat", "::", 4, ""),
    "movielens-100k": ("u.data", "\t", 4, ""),
}


@settings(max_examples=25, deadline=None)
@given(fmt=st.sampled_from(sorted(FORMATS)), n_rows=st.integers(1, 40), position=st.floats(0, 1),
       n_fields=st.integers(1, 7), text_field=st.booleans())
def test_a_malformed_row_is_rejected_with_file_and_line(tmp_path_factory, fmt: str, n_rows: int, position: float,
                                                        n_fields: int, text_field: bool) -> None:
    name, sep, width, header = FORMATS[fmt]
    if n_fields == width and not text_field:
        n_fields = width + 1  # always malformed: wrong field count, or a word where a number belongs
    rows = [sep.join(str(v) for v in (u + 1, u % 7 + 1, 4, 1000 + u)[:width]) for u in range(n_rows)]
    bad = [str(k + 1) for k in range(n_fields)]
    if text_field:
        bad = ["x"] * width if n_fields == width else ["x"] + bad[1:]
    at = int(position * n_rows)
    rows.insert(at, sep.join(bad))
    path = tmp_path_factory.mktemp("p") / name
    path.write_text(header + "".join(r + "\n" for r in rows))
    spec = FileSpec(file=name, format="csv" if fmt.startswith("csv") else fmt)
    with pytest.raises(ParseError) as info:
        parse(path, spec)
    line = at + 1 + (1 if header else 0)
    assert f"{path}, line {line}: malformed line" in str(info.value)


def test_issue_case_extra_fields_in_a_csv(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("user_id,item_id,rating\n" + "3,4,5\n" * 99998 + "1,2,3,4,5\n")
    with pytest.raises(ParseError, match=r"a\.csv, line 100000: malformed line, expected 3 fields, saw 5"):
        parse(path, FileSpec(file="a.csv", format="csv"))


def _cached_douban(tmp_path: Path) -> None:
    (tmp_path / "src" / "douban").mkdir(parents=True)
    (tmp_path / "src" / "douban" / "uir.index").write_text("".join(f"{u} {i} 5\n" for u in range(1, 9) for i in range(1, 6)))
    result = CliRunner().invoke(cli, ["download", "douban", "--from", str(tmp_path / "src"), "--no-progress"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("damage", ["truncate", "empty", "flip"])
def test_corrupt_cache_is_named_and_rebuilt_by_download(tmp_path: Path, data_home: Path, damage: str) -> None:
    _cached_douban(tmp_path)
    path = data_home / "douban.npz"
    good = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # an index changed inside the stored (uncompressed) arrays: the CRC or the checksum catches it
        index = good.index(b"indices") + 200
        path.write_bytes(good[:index] + bytes([good[index] ^ 0x01]) + good[index + 1:])
    runner = CliRunner()
    listing = runner.invoke(cli, ["datasets"])
    if damage != "flip":  # datasets reads only the record; a flipped index is caught on load
        assert listing.exit_code == 0 and "corrupt cache: fawmf-bench download douban" in listing.output
    run = runner.invoke(cli, ["run", "--dataset", "douban", "--methods", "itempop", "--quiet",
                              "--out", str(tmp_path / "o")])
    assert run.exit_code == 2 and "corrupt cached dataset" in run.output and str(path) in run.output, run.output
    with pytest.raises(DataError, match="corrupt cached dataset.*fawmf-bench download douban"):
        load_dataset("douban")
    result = runner.invoke(cli, ["download", "douban", "--from", str(tmp_path / "src"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert load_dataset("douban").n_users == 8


def test_data_home_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "f").write_text("")
    monkeypatch.setenv("FAWMF_BENCH_HOME", str(tmp_path / "f"))
    for command in (["datasets"], ["download", "ml-100k"], ["run", "--dataset", "ml-100k"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2 and "is not a folder" in result.output, (command, result.output)


@pytest.mark.parametrize("text, expected", [
    ("datasets:\n  a:\n    generator: {preset: small}\n    preprocess: {min_items: 3}\n", "datasets.a.preprocess: unknown key"),
    ("datasets:\n  a:\n    generator: {preset: small}\n    preprocess: {min_item_interactions: three}\n",
     "datasets.a.preprocess.min_item_interactions: expected an integer, got 'three'"),
    ("datasets:\n  a: [1\n", "not valid YAML"),
    ("datasets:\n  a:\n    upstream: {file: x.csv, format: csv, size: big}\n", "datasets.a.upstream.size: expected an integer"),
])
def test_bad_datasets_yaml_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str) -> None:
    path = tmp_path / "datasets.yaml"
    path.write_text(text)
    monkeypatch.setenv("FAWMF_BENCH_DATASETS", str(path))
    result = CliRunner().invoke(cli, ["datasets"])
    assert result.exit_code == 2 and expected in result.output and str(path) in result.output, result.output


def test_download_without_names_tries_every_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = tmp_path / "datasets.yaml"
    registry.write_text("datasets:\n"
                        "  first: {upstream: {file: a.csv, format: csv, url: 'http://example.invalid/a.csv'}}\n"
                        "  mine: {copies: [{file: r.csv, format: csv}]}\n"
                        "  last: {upstream: {file: b.csv, format: csv, url: 'http://example.invalid/b.csv'}}\n")
    monkeypatch.setenv("FAWMF_BENCH_DATASETS", str(registry))
    (tmp_path / "mirror" / "mine").mkdir(parents=True)
    (tmp_path / "mirror" / "mine" / "r.csv").write_text(
        "user_id,item_id,rating\n" + "".join(f"{u},{i},4\n" for u in range(1, 9) for i in range(1, 6)))
    monkeypatch.setenv("FAWMF_BENCH_MIRROR", str(tmp_path / "mirror"))

    def offline(*args, **kwargs):
        raise DataError("offline in this test")

    monkeypatch.setattr("fawmf_bench.data.load.fetch", offline)
    result = CliRunner().invoke(cli, ["download", "--no-progress"])
    assert result.exit_code == 2
    assert "mine: 8 users" in result.output  # tried after the first failure
    # the user's file adds to the packaged registry, whose real datasets are offline here too
    assert re.search(r"\d+ of \d+ dataset\(s\) failed", result.output), result.output
    assert "mine: offline" not in result.output
    assert "first: offline in this test" in result.output and "last: offline in this test" in result.output
