"""File writing shared by every layer: the one atomic writer, the one JSON conversion of NumPy
values, and the clean-up of temporary files left by a killed writer.

:func:`atomic_write` writes to ``.<name>.<pid>.<random>.tmp`` in the target's folder, flushes,
fsyncs and renames (atomic on POSIX): a reader sees the old file or the new one, never half of
one. The file is created with mode ``0o666`` minus the umask (0644 under the usual umask 022),
the same for the data cache and the result store. A writer killed before the rename leaves its
temporary file behind; :func:`remove_stale_temps` deletes those whose writing process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from pathlib import Path
from typing import IO, Any, Callable

import numpy as np

TEMP_SUFFIX = ".tmp"
_TEMP = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$")
#: temporary names of the earlier mkstemp-based writers: ``.<name>.<8 random characters>[.npz.part]``
_LEGACY_TEMP = re.compile(r"^\..+\.(json|npz|csv|md)\.[A-Za-z0-9_]{8}$|^\..+\.[A-Za-z0-9_]{8}\.npz\.part$")
LEGACY_TEMP_AGE = 3600.0  # seconds: legacy temporaries carry no pid; older than this they are orphans


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any] | bytes) -> None:
    """Write ``path`` atomically: ``write(handle)`` (or the given bytes) goes to a temporary file
    in the same folder, which is fsynced and renamed over ``path``."""
    path = Path(path)
    temporary = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if isinstance(write, (bytes, bytearray)):
                handle.write(write)
            else:
                write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temps(root: str | Path) -> list[Path]:
    """Delete the temporary files under ``root`` whose writer is dead; returns them.

    A temporary of :func:`atomic_write` names its writer's pid: it is stale when that process
    no longer exists. Temporaries of the earlier writers (no pid) are stale after an hour.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    removed = []
    now = time.time()
    for path in root.rglob(".*"):
        name = path.name
        found, stale = _TEMP.match(name), False
        if found:
            stale = not _process_alive(int(found.group(1)))
        elif _LEGACY_TEMP.match(name):
            with contextlib.suppress(FileNotFoundError):
                stale = now - path.stat().st_mtime > LEGACY_TEMP_AGE
        else:
            continue
        if stale and path.is_file():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


def jsonable(value: Any) -> Any:
    """``value`` with NumPy scalars and arrays turned into Python numbers and lists (recursively
    through dicts, lists and tuples), ready for ``json.dumps``."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def json_default(value: Any) -> Any:
    """``default=`` of ``json.dumps``: NumPy values as numbers and lists, anything else as text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
