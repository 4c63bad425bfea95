"""The result store: one JSON record and one .npz of per-user metric arrays per unit.

Layout under the store root::

    <root>/<dataset>/<protocol>/<method>/<stage>-fold<k>-<unit key>.json   # record (written last)
    <root>/<dataset>/<protocol>/<method>/<stage>-fold<k>-<unit key>.npz    # per-user arrays

Every file is written to a temporary name in the same folder, flushed, fsynced and renamed
(atomic on POSIX), and the JSON record is renamed last: a record that exists is complete, so
Ctrl-C or kill -9 loses at most the units in flight. Two runs on the same store take a per-unit
file lock (fcntl) around the computation, so one computes and the other finds the record.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import platform
import subprocess
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .units import Unit

_PACKAGES = ("fawmf-bench", "numpy", "scipy", "numba", "implicit", "cornac", "pandas")


class ResultStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # ----------------------------------------------------------------- paths
    def _stem(self, unit: Unit) -> Path:
        folder = self.root / unit.dataset / unit.protocol / unit.method
        return folder / f"{unit.stage}-fold{unit.fold}-{unit.key}"

    def has(self, unit: Unit) -> bool:
        return self._stem(unit).with_suffix(".json").exists()

    # ----------------------------------------------------------------- read / write
    def load(self, unit: Unit, arrays: bool = False) -> dict[str, Any]:
        stem = self._stem(unit)
        record = json.loads(stem.with_suffix(".json").read_text())
        record["_path"] = str(stem.with_suffix(".json"))
        if arrays:
            with np.load(stem.with_suffix(".npz")) as npz:
                record["_arrays"] = {k: npz[k] for k in npz.files}
        return record

    def save(self, unit: Unit, record: dict[str, Any]) -> None:
        stem = self._stem(unit)
        stem.parent.mkdir(parents=True, exist_ok=True)
        record = dict(record)
        arrays = record.pop("_arrays", {})
        record["provenance"] = provenance()
        _atomic_write(stem.with_suffix(".npz"), lambda f: np.savez_compressed(f, **arrays))
        text = json.dumps(record, indent=1, sort_keys=True, default=_json_default)
        _atomic_write(stem.with_suffix(".json"), lambda f: f.write(text.encode()))

    def records(self, dataset: str | None = None, protocol: str | None = None) -> Iterator[dict[str, Any]]:
        """Every stored record (optionally of one dataset / protocol), in path order."""
        pattern = f"{dataset or '*'}/{protocol or '*'}/*/*-fold*-*.json"  # not selection.json
        for path in sorted(self.root.glob(pattern)):
            record = json.loads(path.read_text())
            record["_path"] = str(path)
            yield record

    def final_records(self, dataset: str | None = None, protocol: str | None = None) -> list[dict[str, Any]]:
        """The final (test-fold) records of each method's current selection.

        Where a method's folder holds a ``selection.json``, finals fitted with other settings
        (those of an earlier selection, before a grid was widened) are left out: they stay in
        the store, so a narrower grid can bring them back without refitting.
        """
        chosen: dict[Path, dict[str, Any] | None] = {}
        finals = []
        for record in self.records(dataset, protocol):
            if record["unit"]["stage"] != "final":
                continue
            folder = Path(record["_path"]).parent
            if folder not in chosen:
                selection = folder / "selection.json"
                chosen[folder] = json.loads(selection.read_text())["chosen"] if selection.exists() else None
            if chosen[folder] is None or record["unit"]["params"] == chosen[folder]:
                finals.append(record)
        return finals

    def load_arrays(self, record: dict[str, Any]) -> dict[str, np.ndarray]:
        with np.load(Path(record["_path"]).with_suffix(".npz")) as npz:
            return {k: npz[k] for k in npz.files}

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


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def to_json(payload: Any, **options: Any) -> str:
    """JSON text as the store writes it (numpy scalars and arrays become plain values)."""
    return json.dumps(payload, default=_json_default, **options)


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (its folder created) so readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, lambda handle: handle.write(text.encode()))


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
