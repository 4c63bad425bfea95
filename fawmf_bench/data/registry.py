"""The dataset registry: typed views of the entries of ``datasets.yaml`` and the data home.

``datasets.yaml`` lives at the repository root. Other files add entries, never replace them:
files that installed packages declare as entry points in the group ``fawmf_bench.datasets``
(the entry point names a path to a datasets.yaml, or a function returning one), then the
``os.pathsep``-separated files in ``FAWMF_BENCH_DATASETS`` (``fawmf-bench --datasets FILE``).
A name or alias defined twice is an error. Names are looked up case-insensitively, aliases
included.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import platformdirs
import yaml

from .errors import DataError, UnknownDataset

REGISTRY_ENV = "FAWMF_BENCH_DATASETS"
ENTRY_POINT_GROUP = "fawmf_bench.datasets"
HOME_ENV = "FAWMF_BENCH_HOME"
MIRROR_ENV = "FAWMF_BENCH_MIRROR"
DEFAULT_REGISTRY = Path(__file__).resolve().parents[2] / "datasets.yaml"

#: parsers that sources.py knows (the ``format`` field)
FORMATS = ("csv", "uir", "movielens-dat", "movielens-100k", "snap-finefoods", "json-lines", "monti-mat")


@dataclass(frozen=True)
class FileSpec:
    """One accepted file: the upstream artifact or a local copy."""

    file: str
    format: str
    url: str | None = None
    hash: str | None = None  # "md5:<hex>" / "sha256:<hex>"; None: the publisher gives none
    size: int | None = None
    member: str | None = None  # path inside a zip archive
    columns: dict[str, str] = field(default_factory=dict)  # role (user/item/rating) -> column
    unavailable: str | None = None  # why the url cannot be fetched, and what to do instead


@dataclass(frozen=True)
class Preprocess:
    """Binarize (every rating >= min_rating is a positive), then drop rare items, then users."""

    min_rating: float | None = None
    min_item_interactions: int = 3
    min_user_interactions: int = 0


@dataclass(frozen=True)
class DatasetSpec:
    """A typed datasets.yaml entry."""

    name: str
    title: str = ""
    aliases: tuple[str, ...] = ()
    publisher: str = ""
    homepage: str = ""
    license: str = ""
    upstream: FileSpec | None = None
    copies: tuple[FileSpec, ...] = ()
    side_info: str | None = None
    preprocess: Preprocess = Preprocess()
    paper: dict[str, int] = field(default_factory=dict)  # FAWMF Table 1: users/items/positives
    generator: dict[str, Any] | None = None  # synthetic entries: {preset, seed}

    @property
    def is_synthetic(self) -> bool:
        return self.generator is not None


def _file_spec(name: str, raw: dict[str, Any]) -> FileSpec:
    fmt = raw.get("format")
    if fmt not in FORMATS:
        raise DataError(f"datasets.yaml entry {name!r}: unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    if "file" not in raw:
        raise DataError(f"datasets.yaml entry {name!r}: a file entry needs 'file'")
    algo = str(raw.get("hash") or "").partition(":")[0]
    if raw.get("hash") and algo not in ("md5", "sha256"):
        raise DataError(f"datasets.yaml entry {name!r}: hash must be 'md5:<hex>' or 'sha256:<hex>'")
    return FileSpec(
        file=str(raw["file"]), format=fmt, url=raw.get("url"), hash=raw.get("hash"),
        size=raw.get("size"), member=raw.get("member"), columns=dict(raw.get("columns") or {}),
        unavailable=raw.get("unavailable"),
    )


def _spec(name: str, raw: dict[str, Any]) -> DatasetSpec:
    known = set(DatasetSpec.__dataclass_fields__) - {"name"}
    if unknown := set(raw) - known:
        raise DataError(f"datasets.yaml entry {name!r}: unknown keys {sorted(unknown)}")
    upstream = _file_spec(name, raw["upstream"]) if raw.get("upstream") else None
    copies = tuple(_file_spec(name, c) for c in raw.get("copies") or ())
    if upstream is None and not copies and raw.get("generator") is None:
        raise DataError(f"datasets.yaml entry {name!r} has neither upstream, copies nor generator")
    return DatasetSpec(
        name=name, title=raw.get("title", ""), aliases=tuple(raw.get("aliases") or ()),
        publisher=raw.get("publisher", ""), homepage=raw.get("homepage", ""),
        license=raw.get("license", ""), upstream=upstream, copies=copies,
        side_info=raw.get("side_info"), preprocess=Preprocess(**(raw.get("preprocess") or {})),
        paper=dict(raw.get("paper") or {}), generator=raw.get("generator"),
    )


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime: float) -> dict[str, DatasetSpec]:
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    entries = document.get("datasets") or {}
    return {str(name): _spec(str(name), raw or {}) for name, raw in entries.items()}


def _entry_point_files() -> list[Path]:
    paths = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            target = point.load()
            paths.append(Path(target() if callable(target) else target))
        except Exception as exc:
            raise DataError(f"dataset plugin {point.name!r} ({point.value}): {type(exc).__name__}: {exc}") from exc
    return paths


def registry_paths() -> list[Path]:
    """The datasets.yaml files in use: the repository's, the installed plugins', then the
    user's (FAWMF_BENCH_DATASETS)."""
    users = [Path(p).expanduser() for p in os.environ.get(REGISTRY_ENV, "").split(os.pathsep) if p.strip()]
    return [DEFAULT_REGISTRY, *_entry_point_files(), *users]


def add_registry_files(paths: list[Path]) -> None:
    """Add datasets.yaml files for this process and its children (FAWMF_BENCH_DATASETS)."""
    current = [p for p in os.environ.get(REGISTRY_ENV, "").split(os.pathsep) if p.strip()]
    current += [str(Path(p).resolve()) for p in paths if str(Path(p).resolve()) not in current]
    os.environ[REGISTRY_ENV] = os.pathsep.join(current)


def registry() -> dict[str, DatasetSpec]:
    """All entries of every file (see module docstring), in file order."""
    merged: dict[str, DatasetSpec] = {}
    claimed: dict[str, Path] = {}  # lower-case name or alias -> the file that defines it
    for path in registry_paths():
        if not path.is_file():
            raise DataError(f"dataset registry {path} not found ({REGISTRY_ENV} and --datasets take datasets.yaml files)")
        for name, spec in _load(path, path.stat().st_mtime).items():
            for key in {name.lower(), *(a.lower() for a in spec.aliases)}:
                if key in claimed:
                    raise DataError(f"dataset {key!r} in {path} is already defined in {claimed[key]}; "
                                    "choose another name (files add datasets, they never replace one)")
                claimed[key] = path
            merged[name] = spec
    return merged


def dataset_names() -> list[str]:
    """The canonical dataset names, in datasets.yaml order."""
    return list(registry())


def resolve_name(name: str) -> str:
    """The canonical name for ``name`` or one of its aliases (case-insensitive)."""
    entries = registry()
    key = name.strip().lower()
    for canonical, spec in entries.items():
        if key == canonical.lower() or key in (a.lower() for a in spec.aliases):
            return canonical
    raise UnknownDataset(f"unknown dataset {name!r}; known: {', '.join(entries)}")


def dataset_spec(name: str) -> DatasetSpec:
    """The typed datasets.yaml entry for a name or alias (UnknownDataset otherwise)."""
    return registry()[resolve_name(name)]


def data_home(home: Path | str | None = None) -> Path:
    """Where processed datasets are cached: ``home``, FAWMF_BENCH_HOME or the user cache dir."""
    chosen = home or os.environ.get(HOME_ENV) or platformdirs.user_cache_dir("fawmf-bench")
    return Path(chosen).expanduser()
