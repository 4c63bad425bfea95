"""Parsers on small files in the exact upstream formats, malformed input, and properties."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fawmf_bench.data.errors import ParseError
from fawmf_bench.data.parsers import parse
from fawmf_bench.data.registry import FileSpec

from .formats import ML1M_RATINGS, finefoods_record, write_gzip, write_ml1m_zip, write_u_data

pairs = st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(1, 5)), min_size=1, max_size=40)
no_tmp_check = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_ml1m_zip_parses_ratings_dat(tmp_path: Path) -> None:
    archive = write_ml1m_zip(tmp_path / "ml-1m.zip")
    raw = parse(archive, FileSpec("ml-1m.zip", "movielens-dat", member="ml-1m/ratings.dat"))
    expected = np.array(ML1M_RATINGS)
    np.testing.assert_array_equal(raw.users, expected[:, 0])
    np.testing.assert_array_equal(raw.items, expected[:, 1])
    np.testing.assert_array_equal(raw.ratings, expected[:, 2])


def test_ml100k_u_data(tmp_path: Path) -> None:
    rows = [(196, 242, 3, 881250949), (186, 302, 3, 891717742), (22, 377, 1, 878887116)]
    raw = parse(write_u_data(tmp_path / "u.data", rows), FileSpec("u.data", "movielens-100k"))
    assert raw.users.tolist() == [196, 186, 22] and raw.items.tolist() == [242, 302, 377]


def test_finefoods_multiline_profile_name(tmp_path: Path) -> None:
    text = (finefoods_record("B001E4KFG0", "A3SGXH7AUHU8GW", "delmartian", "5.0")
            + finefoods_record("B00813GRG4", "A1D87F6ZCVE5NK", "first line\nsecond line\nreview of mine", "1.0")
            + finefoods_record("B000LQOCH0", "ABXLMWJIXXAIN", "Natalia Corres \"Natalia Corres\"", "4.0"))
    path = write_gzip(tmp_path / "finefoods.txt.gz", text.encode("latin-1"))
    raw = parse(path, FileSpec("finefoods.txt.gz", "snap-finefoods"))
    assert raw.users.tolist() == ["A3SGXH7AUHU8GW", "A1D87F6ZCVE5NK", "ABXLMWJIXXAIN"]
    assert raw.items.tolist() == ["B001E4KFG0", "B00813GRG4", "B000LQOCH0"]
    assert raw.ratings.tolist() == [5.0, 1.0, 4.0]


def test_finefoods_record_without_user_names_its_line(tmp_path: Path) -> None:
    good = finefoods_record("B1", "U1", "x", "5.0")
    broken = finefoods_record("B2", "U2", "y", "4.0").replace("review/userId: U2\n", "")
    path = tmp_path / "finefoods.txt"
    path.write_text(good + broken, encoding="latin-1")
    with pytest.raises(ParseError, match=r"finefoods.txt, line 10: .*userId"):
        parse(path, FileSpec("finefoods.txt", "snap-finefoods"))


def test_uir_index(tmp_path: Path) -> None:
    path = tmp_path / "uir.index"
    path.write_text("1 1 5\n1 2 3\n2 1 4\n")
    raw = parse(path, FileSpec("uir.index", "uir"))
    assert raw.users.tolist() == [1, 1, 2] and raw.ratings.tolist() == [5, 3, 4]


@pytest.mark.parametrize("bad_line, problem", [("7 8 x", "rating"), ("7 8", "rating"),
                                                ("7 8 9 10", "expected 3 fields"), ("7.5 8 1", "user")])
def test_uir_malformed_line_number(tmp_path: Path, bad_line: str, problem: str) -> None:
    path = tmp_path / "uir.index"
    path.write_text(f"1 1 5\n\n2 2 3\n{bad_line}\n3 3 3\n")
    with pytest.raises(ParseError, match=rf"uir.index, line 4: malformed line.*{problem}"):
        parse(path, FileSpec("uir.index", "uir"))


def test_csv_named_columns_and_missing_column(tmp_path: Path) -> None:
    path = write_gzip(tmp_path / "ratings.csv.gz", b"user_idx,item_idx,rating,split\n0,5,4,train\n2,5,1,test\n")
    raw = parse(path, FileSpec("ratings.csv.gz", "csv", columns={"user": "user_idx", "item": "item_idx"}))
    assert raw.users.tolist() == [0, 2] and raw.items.tolist() == [5, 5]
    with pytest.raises(ParseError, match="no user column 'member'"):
        parse(path, FileSpec("ratings.csv.gz", "csv", columns={"user": "member"}))


def test_csv_with_string_ids_and_no_rating(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("user_id,item_id,timestamp\nalice,apple,1\nbob,apple,2\n")
    raw = parse(path, FileSpec("mine.csv", "csv"))
    assert raw.users.tolist() == ["alice", "bob"] and raw.ratings is None


def test_truncated_gzip_and_zip(tmp_path: Path) -> None:
    whole = write_gzip(tmp_path / "full.csv.gz", b"user_id,item_id\n" + b"1,2\n" * 50_000)
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(whole.read_bytes()[:-200])
    with pytest.raises(ParseError, match="cut.csv.gz.*(truncated|corrupt)"):
        parse(cut, FileSpec("cut.csv.gz", "csv"))
    archive = write_ml1m_zip(tmp_path / "ml-1m.zip")
    broken = tmp_path / "broken.zip"
    broken.write_bytes(archive.read_bytes()[: len(archive.read_bytes()) // 2])
    with pytest.raises(ParseError, match="broken.zip"):
        parse(broken, FileSpec("broken.zip", "movielens-dat", member="ml-1m/ratings.dat"))


def test_zip_without_member(tmp_path: Path) -> None:
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(ParseError, match="no member"):
        parse(path, FileSpec("other.zip", "movielens-dat", member="ml-1m/ratings.dat"))


@no_tmp_check
@given(rows=pairs, sep=st.sampled_from([" ", "  ", "\t"]))
def test_uir_roundtrip_property(tmp_path: Path, rows, sep: str) -> None:
    path = tmp_path / "uir.index"
    path.write_text("".join(f"{u}{sep}{i}{sep}{r}\n" for u, i, r in rows))
    raw = parse(path, FileSpec("uir.index", "uir"))
    assert list(zip(raw.users.tolist(), raw.items.tolist(), raw.ratings.astype(int).tolist())) == rows


@no_tmp_check
@given(rows=pairs)
def test_movielens_dat_roundtrip_property(tmp_path: Path, rows) -> None:
    path = tmp_path / "ratings.dat"
    path.write_text("".join(f"{u}::{i}::{r}::978300760\n" for u, i, r in rows))
    raw = parse(path, FileSpec("ratings.dat", "movielens-dat"))
    assert list(zip(raw.users.tolist(), raw.items.tolist(), raw.ratings.astype(int).tolist())) == rows


ids = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=14)
@no_tmp_check
@given(records=st.lists(st.tuples(ids, ids, st.lists(st.text(alphabet="abc xyz:é", min_size=1, max_size=12), min_size=1, max_size=3),
                                  st.sampled_from(["1.0", "2.0", "3.0", "4.0", "5.0"])), min_size=1, max_size=15))
def test_finefoods_roundtrip_property(tmp_path: Path, records) -> None:
    """Any record order, multi-line profile names (continuation lines), latin-1 text."""
    text = "".join(finefoods_record(p, u, "\n".join(line.strip() or "x" for line in name), s) for p, u, name, s in records)
    path = tmp_path / "finefoods.txt"
    path.write_bytes(text.encode("latin-1"))
    raw = parse(path, FileSpec("finefoods.txt", "snap-finefoods"))
    assert raw.users.tolist() == [u for _, u, _, _ in records]
    assert raw.items.tolist() == [p for p, _, _, _ in records]
    assert raw.ratings.tolist() == [float(s) for *_, s in records]
