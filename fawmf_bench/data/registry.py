"""The dataset registry: typed views of the entries of ``datasets.yaml`` and the data home.

``datasets.yaml`` lives at the repository root (an editable install reads it there); a built
wheel carries a copy made at build time inside the package (setup.py). Other files add entries,
never replace them: files that installed packages declare as entry points in the group
``fawmf_bench.datasets`` (the entry point names a path to a datasets.yaml, or a function
returning one), then the ``os.pathsep``-separated files in ``FAWMF_BENCH_DATASETS``
(``fawmf-bench --datasets FILE``). A name or alias defined twice is an error. Names are looked
up case-insensitively, aliases included. Every file is checked against the typed schema below
when it is loaded.
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

from .._schema import check_fields
from .errors import DataError, UnknownDataset

REGISTRY_ENV = "FAWMF_BENCH_DATASETS"
ENTRY_POINT_GROUP = "fawmf_bench.datasets"
HOME_ENV = "FAWMF_BENCH_HOME"
MIRROR_ENV = "FAWMF_BENCH_MIRROR"
SOURCE_REGISTRY = Path(__file__).resolve().parents[2] / "datasets.yaml"  # the repository's top-level file
PACKAGED_REGISTRY = Path(__file__).resolve().parent / "datasets.yaml"  # its copy in an installed wheel
DEFAULT_REGISTRY = SOURCE_REGISTRY if SOURCE_REGISTRY.is_file() else PACKAGED_REGISTRY

#: parsers that sources.py knows (the ``format`` field)
FORMATS = ("csv", "uir", "movielens-dat", "movielens-100k", "snap-finefoods", "json-lines", "monti-mat")


@dataclass(frozen=True)
class FileSpec:
    """One accepted file: the upstream artifact or a local copy."""

    file: str
    format: str
    url: str | None = None
    hash: str | None = None  # "md5:<hex>" / "sha256:<hex>"; None: the publisher gives none
    size: int | None = field(default=None, metadata={"min": 0})
    member: str | None = None  # path inside a zip archive
    columns: dict[str, str] = field(default_factory=dict)  # role (user/item/rating) -> column
    unavailable: str | None = None  # why the url cannot be fetched, and what to do instead


@dataclass(frozen=True)
class Preprocess:
    """Binarize (every rating >= min_rating is a positive), then drop rare items, then users."""

    min_rating: float | None = None
    min_item_interactions: int = field(default=3, metadata={"min": 0})
    min_user_interactions: int = field(default=0, metadata={"min": 0})


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


def _file_spec(source: str, where: str, raw: Any) -> FileSpec:
    fields = check_fields(raw, FileSpec, where, source, DataError)
    if fields.get("format") not in FORMATS:
        raise DataError(f"{source}: {where}.format: unknown format {fields.get('format')!r}; allowed: {', '.join(FORMATS)}")
    if "file" not in fields:
        raise DataError(f"{source}: {where}.file: missing; a file entry needs 'file'")
    algo = str(fields.get("hash") or "").partition(":")[0]
    if fields.get("hash") and algo not in ("md5", "sha256"):
        raise DataError(f"{source}: {where}.hash: expected 'md5:<hex>' or 'sha256:<hex>', got {fields['hash']!r}")
    return FileSpec(**fields)


def _spec(source: str, name: str, raw: Any) -> DatasetSpec:
    where = f"datasets.{name}"
    fields = check_fields(raw, DatasetSpec, where, source, DataError, exclude=("name",))
    if fields.get("upstream") is not None:
        fields["upstream"] = _file_spec(source, f"{where}.upstream", fields["upstream"])
    fields["copies"] = tuple(_file_spec(source, f"{where}.copies[{i}]", c) for i, c in enumerate(fields.get("copies") or ()))
    fields["preprocess"] = Preprocess(**check_fields(fields.get("preprocess"), Preprocess, f"{where}.preprocess",
                                                     source, DataError))
    if fields.get("upstream") is None and not fields["copies"] and fields.get("generator") is None:
        raise DataError(f"{source}: {where}: has neither upstream, copies nor generator")
    return DatasetSpec(name=name, **fields)


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime: float) -> dict[str, DatasetSpec]:
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
    except yaml.YAMLError as err:
        raise DataError(f"{path}: not valid YAML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read the dataset registry ({err})") from None
    if not isinstance(document, dict) or not isinstance(document.get("datasets") or {}, dict):
        raise DataError(f"{path}: expected a mapping with a 'datasets:' mapping of name to entry")
    entries = document.get("datasets") or {}
    return {str(name): _spec(str(path), str(name), raw or {}) for name, raw in entries.items()}


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
    """Where processed datasets are cached: ``home``, FAWMF_BENCH_HOME or the user cache dir.

    Raises DataError when that path exists and is not a folder."""
    chosen = home or os.environ.get(HOME_ENV) or platformdirs.user_cache_dir("fawmf-bench")
    path = Path(chosen).expanduser()
    if path.exists() and not path.is_dir():
        origin = "--home" if home else (HOME_ENV if os.environ.get(HOME_ENV) else "the user cache folder")
        raise DataError(f"data home {path} (from {origin}) is not a folder; point {HOME_ENV} or --home at a folder")
    return path
