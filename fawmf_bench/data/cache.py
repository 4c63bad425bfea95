"""The processed-data cache: one ``<home>/<name>.npz`` per dataset, written atomically.

The file holds the CSR structure (indptr, indices, shape), the id vocabularies, side
information as one array per column (``user__<col>``, ``item__<col>``) and a JSON ``meta``
record (checksum, statistics, provenance with the checksums of the inputs). It is written to
a temporary file in the same folder and moved into place with ``os.replace``, so a reader
sees either the old file or the new one, never half of one.

Loading verifies what it reads: a file that is not a readable archive, or whose CSR structure
no longer hashes to the checksum in its record, raises :class:`CorruptCache` (naming the file
and the command that rebuilds it); ``download`` rebuilds such a file by itself.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._io import atomic_write
from .dataset import InteractionMatrix, binary_csr_from_parts
from .errors import DataError
from .preprocess import matrix_checksum

FORMAT_VERSION = 1
_UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)


class CorruptCache(DataError):
    """A cache file that cannot be read or fails its checksum."""

    def __init__(self, path: Path, name: str, reason: str) -> None:
        super().__init__(f"{path}: corrupt cached dataset ({reason}); rebuild it with "
                         f"`fawmf-bench download {name}` (from the source it came from: add --from PATH "
                         f"for a local copy)")
        self.path, self.name = path, name


def cache_path(home: Path, name: str) -> Path:
    return Path(home) / f"{name}.npz"


def _plain(values: np.ndarray) -> np.ndarray:
    """An array that np.load can read without pickle (objects become strings)."""
    values = np.asarray(values)
    return values.astype(str) if values.dtype == object else values


def save(data: InteractionMatrix, home: Path) -> Path:
    """Write ``data`` to the cache atomically; returns the path."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    meta = {
        "format_version": FORMAT_VERSION, "name": data.name, "checksum": data.checksum,
        "stats": data.stats(), "raw_stats": data.raw_stats, "extra": data.extra,
    }
    arrays: dict[str, np.ndarray] = {
        "indptr": data.matrix.indptr.astype(np.int64), "indices": data.matrix.indices.astype(np.int32),
        "shape": np.asarray(data.matrix.shape, dtype=np.int64),
        "user_ids": _plain(data.user_ids), "item_ids": _plain(data.item_ids),
        "meta": np.asarray(json.dumps(meta, default=str)),
    }
    for prefix, frame in (("user", data.user_features), ("item", data.item_features)):
        for column in [] if frame is None else frame.columns:
            arrays[f"{prefix}__{column}"] = _plain(frame[column].to_numpy())
    target = cache_path(home, data.name)
    atomic_write(target, lambda stream: np.savez(stream, **arrays))
    return target


def read_meta(home: Path, name: str) -> dict[str, Any] | None:
    """The JSON record of a cached dataset (None when absent; CorruptCache when unreadable)."""
    path = cache_path(home, name)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            return json.loads(str(archive["meta"]))
    except _UNREADABLE as exc:
        raise CorruptCache(path, name, f"{type(exc).__name__}: {exc}") from None


def load(home: Path, name: str) -> InteractionMatrix | None:
    """The cached dataset, or None when there is no current cache file (absent, or of an older
    format); raises :class:`CorruptCache` when the file is unreadable or fails its checksum."""
    path = cache_path(home, name)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            if meta.get("format_version") != FORMAT_VERSION:
                return None
            shape = tuple(int(s) for s in archive["shape"])
            indices, indptr = archive["indices"], archive["indptr"]
            matrix = binary_csr_from_parts(indptr, indices, shape)
            features = {"user": {}, "item": {}}
            for key in archive.files:
                prefix, _, column = key.partition("__")
                if column and prefix in features:
                    features[prefix][column] = archive[key]
            user_ids, item_ids = archive["user_ids"], archive["item_ids"]
    except _UNREADABLE as exc:
        raise CorruptCache(path, name, f"{type(exc).__name__}: {exc}") from None
    actual = matrix_checksum(indptr, indices)
    if actual != meta.get("checksum") or len(user_ids) != shape[0] or len(item_ids) != shape[1]:
        raise CorruptCache(path, name, f"its interactions hash to {actual}, its record says {meta.get('checksum')}")
    as_frame = lambda columns: pd.DataFrame(columns) if columns else None  # noqa: E731
    return InteractionMatrix(
        name=meta["name"], matrix=matrix, user_ids=user_ids, item_ids=item_ids,
        checksum=meta["checksum"], user_features=as_frame(features["user"]),
        item_features=as_frame(features["item"]), raw_stats=meta.get("raw_stats", {}),
        extra=meta.get("extra", {}),
    )
