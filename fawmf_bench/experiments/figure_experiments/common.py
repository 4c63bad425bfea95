"""Shared pieces of the figure experiments: where they write, how a piece is keyed and saved."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..._io import atomic_write, json_default, jsonable
from ...data import InteractionMatrix, load_dataset
from ...data import data_home as resolve_data_home
from ...data.splitting import Split, make_splits
from ..store import QUARANTINE, provenance


def experiment_dir(store_root: str | Path, dataset: str, experiment: str) -> Path:
    """``<store>/<dataset>/<experiment>``: one level above where the runner's records live."""
    return Path(store_root) / dataset / experiment


def settings_key(settings: dict[str, Any]) -> str:
    """Stable identity of a piece: a hash of everything that defines its computation."""
    blob = json.dumps(settings, sort_keys=True, default=json_default)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` (plus provenance) atomically as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({**payload, "provenance": provenance()}, indent=1, sort_keys=True, default=json_default)
    atomic_write(path, text.encode())


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode())


def read_piece(path: Path, key: str) -> dict[str, Any] | None:
    """The stored piece at ``path`` when it was computed with ``key``, else None. A piece that
    cannot be read is moved to ``_quarantine/`` beside it (and so recomputed)."""
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        aside = path.parent / QUARANTINE / f"{path.name}.{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}"
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, aside)
        return None
    return record if isinstance(record, dict) and record.get("key") == key else None


def load_json(path: Path) -> dict[str, Any]:
    """A stored piece for the report; ValueError naming the file (and the fix) when unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except ValueError as exc:
        raise ValueError(f"{path}: unreadable stored piece ({exc}); rerun the experiment that wrote it "
                         "(it moves the file aside and recomputes it)") from None


def load_split(dataset: str | InteractionMatrix, protocol: str, n_folds: int, seed: int, fold: int = 0,
               data_home: Path | None = None) -> tuple[InteractionMatrix, Split]:
    """The dataset and one fold of its ``protocol`` split (cached in the data home)."""
    data = dataset if isinstance(dataset, InteractionMatrix) else load_dataset(dataset, home=data_home)
    cache_dir = resolve_data_home(data_home) / "splits"
    splits = make_splits(data.matrix, protocol=protocol, n_folds=1 if protocol == "paper" else n_folds, seed=seed,
                         dataset_checksum=data.checksum, cache_dir=cache_dir)
    return data, splits[fold]


__all__ = ["atomic_write", "experiment_dir", "jsonable", "load_json", "load_split", "read_piece", "settings_key",
           "write_json", "write_text"]
