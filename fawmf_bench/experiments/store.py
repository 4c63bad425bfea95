"""The result store: one JSON record and one .npz of per-user metric arrays per unit.

Layout under the store root::

    <root>/<dataset>/<protocol>/<method>/<stage>-fold<k>-<unit key>.json   # record (written last)
    <root>/<dataset>/<protocol>/<method>/<stage>-fold<k>-<unit key>.npz    # per-user arrays
    <root>/_quarantine/...                                                 # records moved aside

Every file is written to a temporary name in the same folder, flushed, fsynced and renamed
(atomic on POSIX), and the JSON record is renamed last: a record that exists is complete, so
Ctrl-C or kill -9 loses at most the units in flight. Two runs on the same store take a per-unit
file lock (fcntl) around the computation, so one computes and the other finds the record.

A record counts as stored only when it is *current and readable*: its JSON parses, its arrays
pass their check (the sha256 kept in the record; for older records the zip CRCs) and it was
computed on the data the unit names (``Unit.dataset_checksum``, the processed dataset's
sha256). Anything else is recomputed by the next run, which first moves the old files into
``_quarantine`` (never deletes them).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import io
import json
import os
import platform
import subprocess
import zipfile
import zlib
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .._io import atomic_write, json_default
from .units import Unit

_PACKAGES = ("fawmf-bench", "numpy", "scipy", "numba", "implicit", "cornac", "pandas")
QUARANTINE = "_quarantine"
_UNREADABLE = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError)


class CorruptRecord(ValueError):
    """A stored file that cannot be read; the message names it and says how to recover."""

    def __init__(self, path: Path, reason: str, store_root: Path) -> None:
        super().__init__(
            f"{path}: unreadable result file ({reason}); rerun the `fawmf-bench run` that wrote it: "
            f"it moves the file to {Path(store_root) / QUARANTINE} and recomputes the unit"
        )
        self.path, self.reason = path, reason


class ResultStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._verified: dict[Path, tuple[Any, ...]] = {}  # record -> file stamps that passed check()

    # ----------------------------------------------------------------- paths
    def _stem(self, unit: Unit) -> Path:
        folder = self.root / unit.dataset / unit.protocol / unit.method
        return folder / f"{unit.stage}-fold{unit.fold}-{unit.key}"

    # ----------------------------------------------------------------- integrity
    def check(self, unit: Unit) -> str | None:
        """None when the unit has a current, readable record; else why not ("missing", ...)."""
        stem = self._stem(unit)
        json_path, npz_path = stem.with_suffix(".json"), stem.with_suffix(".npz")
        try:
            stamps = tuple((s.st_mtime_ns, s.st_size, s.st_ino) for s in (json_path.stat(), npz_path.stat()))
        except FileNotFoundError:
            return "missing" if not json_path.exists() else f"its arrays {npz_path.name} are missing"
        if self._verified.get(json_path) == stamps + (unit.dataset_checksum,):
            return None
        try:
            record = json.loads(json_path.read_text())
        except _UNREADABLE as exc:
            return f"unreadable record ({type(exc).__name__}: {exc})"
        stored = record.get("dataset_checksum")
        if unit.dataset_checksum is not None and stored != unit.dataset_checksum:
            return f"stale: computed on dataset checksum {stored}, the data now has {unit.dataset_checksum}"
        problem = _check_arrays(npz_path, record.get("arrays_sha256"))
        if problem:
            return problem
        self._verified[json_path] = stamps + (unit.dataset_checksum,)
        return None

    def has(self, unit: Unit, repair: bool = False) -> bool:
        """Whether the unit has a current, readable record. With ``repair``, a present but
        unreadable or stale record is moved to the quarantine folder (call it under the lock)."""
        problem = self.check(unit)
        if problem is not None and repair and problem != "missing":
            self.quarantine(unit, problem)
        return problem is None

    def quarantine(self, unit: Unit, reason: str) -> list[Path]:
        """Move the unit's files into ``<root>/_quarantine/<UTC time>/`` with a note of ``reason``."""
        stem = self._stem(unit)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.root / QUARANTINE / stamp / stem.parent.relative_to(self.root)
        moved = []
        for suffix in (".json", ".npz"):
            path = stem.with_suffix(suffix)
            if path.exists():
                target.mkdir(parents=True, exist_ok=True)
                os.replace(path, target / path.name)
                moved.append(target / path.name)
        if moved:
            (target / f"{stem.name}.reason.txt").write_text(reason + "\n")
        self._verified.pop(stem.with_suffix(".json"), None)
        return moved

    # ----------------------------------------------------------------- read / write
    def load(self, unit: Unit, arrays: bool = False) -> dict[str, Any]:
        stem = self._stem(unit)
        record = self._read(stem.with_suffix(".json"))
        if arrays:
            record["_arrays"] = self.load_arrays(record)
        return record

    def save(self, unit: Unit, record: dict[str, Any]) -> None:
        stem = self._stem(unit)
        stem.parent.mkdir(parents=True, exist_ok=True)
        record = dict(record)
        arrays = record.pop("_arrays", {})
        record["provenance"] = provenance()
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        payload = buffer.getvalue()
        record["arrays_sha256"] = hashlib.sha256(payload).hexdigest()
        atomic_write(stem.with_suffix(".npz"), payload)
        text = json.dumps(record, indent=1, sort_keys=True, default=json_default)
        atomic_write(stem.with_suffix(".json"), text.encode())

    def records(self, dataset: str | None = None, protocol: str | None = None) -> Iterator[dict[str, Any]]:
        """Every stored record (optionally of one dataset / protocol), in path order.

        Raises :class:`CorruptRecord` (naming the file) for a record that cannot be read."""
        pattern = f"{dataset or '*'}/{protocol or '*'}/*/*-fold*-*.json"  # not selection.json
        for path in sorted(self.root.glob(pattern)):
            yield self._read(path)

    def final_records(self, dataset: str | None = None, protocol: str | None = None) -> list[dict[str, Any]]:
        """The final (test-fold) records of each method's current selection.

        Where a method's folder holds a ``selection.json``, finals fitted with other settings
        (those of an earlier selection, before a grid was widened) are left out: they stay in
        the store, so a narrower grid can bring them back without refitting. Records made on
        other data are returned too: the report refuses to mix them (never drops them silently).
        """
        chosen: dict[Path, dict[str, Any] | None] = {}
        finals = []
        for record in self.records(dataset, protocol):
            if record["unit"]["stage"] != "final":
                continue
            folder = Path(record["_path"]).parent
            if folder not in chosen:
                chosen[folder] = self.selection(folder)
            selection = chosen[folder]
            if selection is None or record["unit"]["params"] == selection["chosen"]:
                finals.append(record)
        return finals

    def verify_arrays(self, record: dict[str, Any]) -> None:
        """Raise :class:`CorruptRecord` when the record's arrays file fails its check."""
        path = Path(record["_path"]).with_suffix(".npz")
        problem = _check_arrays(path, record.get("arrays_sha256"))
        if problem:
            raise CorruptRecord(path, problem, self.root)

    def selection(self, folder: Path) -> dict[str, Any] | None:
        """A method folder's ``selection.json`` (None when absent); its ``dataset_checksum``
        names the data the choice was made on (absent in older selections)."""
        path = Path(folder) / "selection.json"
        return self._read(path) if path.exists() else None

    def load_arrays(self, record: dict[str, Any]) -> dict[str, np.ndarray]:
        self.verify_arrays(record)
        path = Path(record["_path"]).with_suffix(".npz")
        try:
            with np.load(path) as npz:
                return {k: npz[k] for k in npz.files}
        except _UNREADABLE as exc:
            raise CorruptRecord(path, f"{type(exc).__name__}: {exc}", self.root) from None

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            record = json.loads(path.read_text())
        except _UNREADABLE as exc:
            raise CorruptRecord(path, f"{type(exc).__name__}: {exc}", self.root) from None
        if not isinstance(record, dict):
            raise CorruptRecord(path, "not a JSON object", self.root)
        record["_path"] = str(path)
        return record

    @contextlib.contextmanager
    def lock(self, unit: Unit) -> Iterator[None]:
        """Exclusive lock on one unit across processes (blocks while another run computes it)."""
        path = self._stem(unit).with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _check_arrays(path: Path, sha256: str | None) -> str | None:
    """Why the arrays file cannot be trusted, or None: its sha256 when the record keeps one,
    else (records written before the sha256 was kept) the CRC of every zip member."""
    try:
        if sha256 is not None:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            return None if digest == sha256 else f"its arrays {path.name} differ from their recorded sha256"
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
        return None if bad is None else f"its arrays {path.name} fail the CRC of {bad}"
    except FileNotFoundError:
        return f"its arrays {path.name} are missing"
    except _UNREADABLE as exc:
        return f"its arrays {path.name} are unreadable ({type(exc).__name__}: {exc})"


def provenance() -> dict[str, Any]:
    """Package versions, git revision and machine, recorded with every result."""
    return {**_process_provenance(), "written": datetime.now(timezone.utc).isoformat(timespec="seconds")}


@functools.cache
def _process_provenance() -> dict[str, Any]:
    """The parts that do not change within a process (looked up once, not per saved unit)."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "versions": versions,
        "git_revision": _git_revision(),
        "machine": {"node": platform.node(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "python": platform.python_version(),
    }


def _git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None
