"""download / load_dataset / the cache: local copies, verification, atomic writes, errors."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from fawmf_bench.data import (ChecksumMismatch, DataError, DatasetNotDownloaded, ParseError,
                              download, load_dataset)
from fawmf_bench.data import cache
from fawmf_bench.data.sources import UnverifiedWarning

from .formats import write_ml1m_zip


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a datasets.yaml of one's own (FAWMF_BENCH_DATASETS) from an entry body."""
    def write(body: str) -> Path:
        path = tmp_path / "datasets.yaml"
        path.write_text("datasets:\n" + body)
        monkeypatch.setenv("FAWMF_BENCH_DATASETS", str(path))
        return path
    return write


def ml1m_entry(url: str, digest: str) -> str:
    return f"""  tiny-ml:
    upstream: {{url: "{url}", file: ml-1m.zip, hash: "md5:{digest}", format: movielens-dat, member: ml-1m/ratings.dat}}
    copies: [{{file: ratings.csv.gz, format: csv}}]
    side_info: movielens-1m
    preprocess: {{min_item_interactions: 3}}
"""


def test_upstream_zip_from_folder_with_side_info(tmp_path: Path, registry, data_home: Path) -> None:
    folder = tmp_path / "copy"
    folder.mkdir()
    archive = write_ml1m_zip(folder / "ml-1m.zip")
    registry(ml1m_entry("http://127.0.0.1:9/ml-1m.zip", md5(archive)))
    (data,) = download(["tiny-ml"], source=folder, progress=False)
    assert data.stats()["users"] == 4 and data.stats()["items"] == 3 and data.stats()["positives"] == 9
    assert data.raw_stats["ratings"] == 10
    assert data.item_features["title"].tolist()[1] == "Les Misérables (1995)"
    assert data.user_features["gender"].tolist() == ["F", "M", "M", "M"]
    assert data.extra["source"]["kind"] == "upstream" and data.extra["source"]["verified"]
    again = load_dataset("tiny-ml")
    assert again.checksum == data.checksum and (again.matrix != data.matrix).nnz == 0
    assert again.item_features.equals(data.item_features)
    assert [p.name for p in data_home.iterdir()] == ["tiny-ml.npz"]


def test_plain_csv_copy_is_accepted_and_warned_about(tmp_path: Path, registry) -> None:
    registry(ml1m_entry("http://127.0.0.1:9/ml-1m.zip", "0" * 32))
    csv = tmp_path / "ratings.csv.gz"
    import gzip
    with gzip.open(csv, "wt") as stream:
        stream.write("user_id,item_id,rating\n1,10,5\n2,10,4\n3,10,1\n3,11,2\n")
    with pytest.warns(UnverifiedWarning, match="cannot verify"):
        (data,) = download(["tiny-ml"], source=csv, progress=False)
    assert data.stats()["positives"] == 3 and data.extra["source"]["kind"] == "copy"


def test_checksum_mismatch_leaves_nothing(tmp_path: Path, registry, data_home: Path) -> None:
    archive = write_ml1m_zip(tmp_path / "ml-1m.zip")
    registry(ml1m_entry("http://127.0.0.1:9/ml-1m.zip", "f" * 32))
    with pytest.raises(ChecksumMismatch, match=rf"ml-1m.zip: expected md5:f+, got md5:{md5(archive)}"):
        download(["tiny-ml"], source=archive, progress=False)
    assert not data_home.exists() or not list(data_home.rglob("*"))


def test_not_downloaded_names_the_command(registry) -> None:
    registry(ml1m_entry("http://127.0.0.1:9/ml-1m.zip", "0" * 32))
    with pytest.raises(DatasetNotDownloaded, match="`fawmf-bench download tiny-ml`"):
        load_dataset("tiny-ml")


def test_douban_without_copy_explains(tmp_path: Path, data_home: Path) -> None:
    with pytest.raises(DataError, match="uir.index"):
        download(["douban"], progress=False)
    assert not data_home.exists() or not list(data_home.rglob("*"))


def test_douban_from_user_folder(tmp_path: Path) -> None:
    (tmp_path / "uir.index").write_text("1 1 5\n2 1 3\n3 1 4\n1 2 2\n")
    with pytest.warns(UnverifiedWarning):
        (data,) = download(["douban"], source=tmp_path, progress=False)
    assert data.stats() == {"users": 3, "items": 1, "positives": 3, "density": 1.0}


def test_empty_after_filtering_caches_nothing(tmp_path: Path, data_home: Path) -> None:
    (tmp_path / "uir.index").write_text("1 1 5\n2 2 3\n")
    with pytest.warns(UnverifiedWarning), pytest.raises(DataError, match="empty after filtering"):
        download(["douban"], source=tmp_path, progress=False)
    assert not data_home.exists() or not list(data_home.glob("*.npz"))


def test_malformed_copy_is_a_parse_error(tmp_path: Path) -> None:
    (tmp_path / "uir.index").write_text("1 1 5\n2 two 3\n")
    with pytest.warns(UnverifiedWarning), pytest.raises(ParseError, match="line 2"):
        download(["douban"], source=tmp_path, progress=False)


@pytest.fixture
def http_folder(tmp_path: Path):
    """A local HTTP server over a folder (no external network)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_verifies_and_mismatch_retries_next_time(http_folder, registry, data_home: Path) -> None:
    folder, base = http_folder
    archive = write_ml1m_zip(folder / "ml-1m.zip")
    registry(ml1m_entry(f"{base}/ml-1m.zip", "e" * 32))
    with pytest.raises(ChecksumMismatch):
        download(["tiny-ml"], progress=False)
    assert not list(data_home.rglob("*.zip")) and not list(data_home.glob("*.npz"))
    registry(ml1m_entry(f"{base}/ml-1m.zip", md5(archive)))
    (data,) = download(["tiny-ml"], progress=False)
    assert data.extra["source"]["origin"] == "download" and data.stats()["positives"] == 9


def test_network_failure_names_url_and_from(http_folder, registry) -> None:
    _, base = http_folder
    registry(ml1m_entry(f"{base}/missing.zip", "0" * 32))
    with pytest.raises(DataError, match=rf"download of {base}/missing.zip failed.*--from PATH"):
        download(["tiny-ml"], progress=False)


def test_cache_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "uir.index").write_text("1 1 5\n2 1 3\n3 1 4\n")
    with pytest.warns(UnverifiedWarning):
        (first,) = download(["douban"], source=tmp_path, progress=False)
    home = tmp_path / "home"
    before = cache.cache_path(home, "douban").read_bytes()

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.warns(UnverifiedWarning), pytest.raises(RuntimeError):
        download(["douban"], source=tmp_path, progress=False, force=True)
    assert cache.cache_path(home, "douban").read_bytes() == before
    assert [p.name for p in home.iterdir()] == ["douban.npz"]


def test_synthetic_is_generated() -> None:
    data = load_dataset("synthetic")
    assert data.name == "synthetic" and data.n_interactions > 0
