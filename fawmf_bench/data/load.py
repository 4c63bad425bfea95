"""The data layer's entry points: :func:`load_dataset` (from the cache, or generated) and
:func:`download` (locate or fetch, verify, parse, binarize, filter, cache atomically)."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any

from .._io import remove_stale_temps
from . import cache, synthetic
from .cache import CorruptCache
from .dataset import InteractionMatrix
from .errors import DataError, DatasetNotDownloaded
from .parsers import parse
from .preprocess import build
from .registry import MIRROR_ENV, DatasetSpec, data_home, dataset_spec
from .sideinfo import SIDE_INFO
from .sources import Artifact, fetch, local_artifact, mirror


def _generate(spec: DatasetSpec) -> InteractionMatrix:
    generator = spec.generator or {}
    return _generated(str(generator.get("preset", "small")), int(generator.get("seed", 0)))


@functools.lru_cache(maxsize=2)
def _generated(preset: str, seed: int) -> InteractionMatrix:
    """Generated data are a pure function of (preset, seed): the last two stay in memory, so
    that many units on the same synthetic dataset in one process generate it once."""
    data, _ = synthetic.generate(preset, seed)
    return data


def load_dataset(name: str, home: Path | None = None) -> InteractionMatrix:
    """The processed dataset ``name`` (or alias): generated for synthetic entries, else the cache.

    Raises UnknownDataset for an unknown name and DatasetNotDownloaded (naming the
    ``fawmf-bench download NAME`` command) when the cache is absent.
    """
    spec = dataset_spec(name)
    if spec.is_synthetic:
        return _generate(spec)
    data = cache.load(data_home(home), spec.name)
    if data is None:
        raise _not_downloaded(spec, home)
    return data


def require_dataset(name: str, home: Path | None = None) -> None:
    """Raise what :func:`load_dataset` would for an unknown or absent dataset, without loading
    it (a cheap check before starting work; a corrupt cache is found when it is loaded)."""
    spec = dataset_spec(name)
    if not spec.is_synthetic and not cache.cache_path(data_home(home), spec.name).exists():
        raise _not_downloaded(spec, home)


def _not_downloaded(spec: DatasetSpec, home: Path | None) -> DatasetNotDownloaded:
    return DatasetNotDownloaded(
        f"dataset {spec.name!r} is not in the cache {data_home(home)}; run "
        f"`fawmf-bench download {spec.name}` (or `fawmf-bench download {spec.name} --from PATH` "
        f"with a local copy, or set {MIRROR_ENV})"
    )


def _locate(spec: DatasetSpec, source: Path | None, home: Path, force: bool, progress: bool) -> Artifact:
    if source is not None:
        found = local_artifact(spec, source)
        if found is None:
            accepted = ", ".join(f.file for f in ([spec.upstream] if spec.upstream else []) + list(spec.copies))
            raise DataError(f"{spec.name}: no accepted file in {source} (looked for {accepted}, "
                            f"also under {Path(source) / spec.name})")
        return found
    mirrored = mirror()
    if mirrored is not None and (found := local_artifact(spec, mirrored / spec.name)) is not None:
        return found
    return fetch(spec, home / "downloads", force=force, progress=progress)


def build_dataset(spec: DatasetSpec, artifact: Artifact) -> InteractionMatrix:
    """Parse the artifact, attach side information, binarize and filter."""
    raw = parse(artifact.path, artifact.spec)
    extra: dict[str, Any] = {"source": artifact.provenance()}
    users = items = None
    if spec.side_info:
        users, items, found = SIDE_INFO[spec.side_info](artifact.path)
        extra["side_info_files"] = found
        if not found:
            warnings.warn(f"{spec.name}: no side information next to {artifact.path}", stacklevel=2)
    return build(spec.name, raw, spec.preprocess, user_features=users, item_features=items, extra=extra)


def download(names: list[str], source: Path | None = None, home: Path | None = None,
             force: bool = False, progress: bool = True) -> list[InteractionMatrix]:
    """Fetch or copy, verify, parse, binarize, filter and cache each dataset; returns them.

    ``source``: a local folder or file (else FAWMF_BENCH_MIRROR/<name>, else the upstream URL).
    A dataset already cached is loaded unless ``force``; a cache file that is unreadable or
    fails its checksum is rebuilt. Synthetic entries are generated.
    """
    root = data_home(home)
    specs = [dataset_spec(name) for name in names]  # unknown names fail before any work
    remove_stale_temps(root)  # left by a writer killed mid-write
    results = []
    for spec in specs:
        if spec.is_synthetic:
            results.append(_generate(spec))
            continue
        if not force:
            try:
                cached = cache.load(root, spec.name)
            except CorruptCache as exc:
                warnings.warn(f"{exc.path} is corrupt; rebuilding it", stacklevel=2)
                cached = None
            if cached is not None:
                results.append(cached)
                continue
        artifact = _locate(spec, None if source is None else Path(source), root, force, progress)
        data = build_dataset(spec, artifact)
        cache.save(data, root)
        results.append(data)
    return results


def status(name: str, home: Path | None = None) -> dict[str, Any]:
    """What ``fawmf-bench datasets`` shows: state and statistics (from the cache's record)."""
    spec = dataset_spec(name)
    if spec.is_synthetic:
        return {"state": "generated", "stats": {}, "raw_stats": {}}
    try:
        meta = cache.read_meta(data_home(home), spec.name)
    except CorruptCache:
        return {"state": f"corrupt cache: fawmf-bench download {spec.name}", "stats": {}, "raw_stats": {}}
    if meta is None:
        return {"state": "not downloaded", "stats": {}, "raw_stats": {}}
    source = meta.get("extra", {}).get("source", {})
    return {"state": f"cached ({source.get('kind', '?')}: {source.get('file', '?')})",
            "stats": meta.get("stats", {}), "raw_stats": meta.get("raw_stats", {}), "meta": meta}
