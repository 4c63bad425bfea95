"""Every mirrored dataset through the real download path (FAWMF_BENCH_MIRROR)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fawmf_bench.data import download, load_dataset
from fawmf_bench.data.registry import FileSpec
from fawmf_bench.data.parsers import parse

pytestmark = pytest.mark.realdata


def test_ml1m_paper_statistics_and_side_info(mirror: Path) -> None:
    (data,) = download(["ml-1m"], progress=False)
    assert data.stats()["users"] == 6040 and data.stats()["items"] == 3503
    assert data.n_interactions == 999_917 and data.raw_stats["ratings"] == 1_000_209
    assert data.extra["source"]["verified"] and data.extra["source"]["file"] == "ratings.csv.gz"
    assert set(data.user_features.columns) >= {"gender", "age", "occupation"}
    assert data.user_features["gender"].notna().all() and data.item_features["genres"].notna().all()
    assert data.item_features["title"][np.flatnonzero(data.item_ids == 1)[0]] == "Toy Story (1995)"
    cached = load_dataset("movielens")
    assert cached.checksum == data.checksum


@pytest.mark.parametrize("name, users, items, raw", [
    ("ml-100k", 943, None, 100_000),
    ("amazon-grocery-5core", 14_681, 8_713, 151_254),
    ("douban-monti", 2_999, 3_000, 136_891),
])
def test_stand_in_datasets(mirror: Path, name: str, users: int, items: int | None, raw: int) -> None:
    (data,) = download([name], progress=False)
    assert data.n_users == users and data.raw_stats["ratings"] == raw
    assert items is None or data.n_items == items
    assert data.extra["source"]["verified"]
    assert np.all(data.matrix.getnnz(axis=0) >= 3)


def test_finefoods_sample_parses(mirror: Path) -> None:
    path = mirror / "amazon-finefoods-sample" / "finefoods_head244.txt"
    raw = parse(path, FileSpec(path.name, "snap-finefoods"))
    assert len(raw) == 244 and len(set(raw.users)) == 242 and len(set(raw.items)) == 73
    assert raw.users[0] == "A3SGXH7AUHU8GW" and raw.items[0] == "B001E4KFG0"
