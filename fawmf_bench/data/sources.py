"""Where a dataset's file comes from: a local copy (``--from``, the mirror) or the upstream
URL (pooch: retries, progress bar), and whether it is the published artifact (hash check).

A local folder may hold the upstream artifact or any of the entry's ``copies`` (e.g. a plain
ratings CSV); a mirror folder holds one sub-folder per dataset name.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from .errors import ChecksumMismatch, DataError
from .registry import MIRROR_ENV, DatasetSpec, FileSpec


class UnverifiedWarning(UserWarning):
    """A file whose publisher gives no checksum (only its size, if known, was checked)."""


@dataclass(frozen=True)
class Artifact:
    """A located, verified input file and how it was obtained."""

    path: Path
    spec: FileSpec
    origin: str  # "download" | "local"
    kind: str  # "upstream" (the published artifact) | "copy" (an accepted local copy)
    location: str  # URL or local path
    sha256: str
    verified: bool  # the expected hash (from datasets.yaml) matched

    def provenance(self) -> dict[str, object]:
        return {"origin": self.origin, "kind": self.kind, "location": self.location,
                "file": self.spec.file, "format": self.spec.format, "sha256": self.sha256,
                "expected_hash": self.spec.hash, "verified": self.verified}


def file_hash(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, spec: FileSpec, label: str) -> tuple[str, bool]:
    """Check size and hash against ``spec``; returns (sha256, verified). Warns when unverifiable."""
    if spec.size is not None and path.stat().st_size != spec.size:
        raise ChecksumMismatch(label, f"{spec.size} bytes", f"{path.stat().st_size} bytes")
    sha256 = file_hash(path)
    if not spec.hash:
        detail = "its size was checked" if spec.size is not None else "nor its size"
        warnings.warn(f"cannot verify {label}: the publisher gives no checksum ({detail}); "
                      f"sha256 {sha256} is recorded in the cache", UnverifiedWarning, stacklevel=3)
        return sha256, False
    algorithm, _, expected = spec.hash.partition(":")
    actual = sha256 if algorithm == "sha256" else file_hash(path, algorithm)
    if actual.lower() != expected.lower():
        raise ChecksumMismatch(label, spec.hash, f"{algorithm}:{actual}")
    return sha256, True


def candidates(spec: DatasetSpec) -> list[tuple[FileSpec, str]]:
    """Accepted files, the upstream artifact first."""
    found = [(spec.upstream, "upstream")] if spec.upstream else []
    return found + [(copy, "copy") for copy in spec.copies]


def _generic(path: Path, spec: DatasetSpec) -> tuple[FileSpec, str] | None:
    """A file whose name matches no entry: same suffix as the upstream, else a plain CSV."""
    name = path.name.lower()
    upstream = spec.upstream
    if upstream and "".join(Path(upstream.file).suffixes) == "".join(path.suffixes) and path.suffixes:
        return FileSpec(file=path.name, format=upstream.format, member=upstream.member, columns=upstream.columns), "upstream"
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        return FileSpec(file=path.name, format="csv"), "copy"
    return None


def find_local(spec: DatasetSpec, source: Path) -> tuple[Path, FileSpec, str] | None:
    """The first accepted file in ``source`` (a file, a folder, or a mirror with ``<name>/``)."""
    source = Path(source).expanduser()
    if source.is_file():
        for file_spec, kind in candidates(spec):
            if source.name == file_spec.file:
                return source, file_spec, kind
        guessed = _generic(source, spec)
        return (source, *guessed) if guessed else None
    folders = [source / spec.name, *(source / alias for alias in spec.aliases), source]
    for folder in folders:
        for file_spec, kind in candidates(spec):
            if (folder / file_spec.file).is_file():
                return folder / file_spec.file, file_spec, kind
    return None


def local_artifact(spec: DatasetSpec, source: Path) -> Artifact | None:
    found = find_local(spec, source)
    if found is None:
        return None
    path, file_spec, kind = found
    sha256, verified = verify(path, file_spec, str(path))
    return Artifact(path, file_spec, "local", kind, str(path.resolve()), sha256, verified)


def mirror() -> Path | None:
    """The mirror folder named by FAWMF_BENCH_MIRROR (one sub-folder per dataset)."""
    value = os.environ.get(MIRROR_ENV)
    return Path(value).expanduser() if value else None


def fetch(spec: DatasetSpec, downloads: Path, *, force: bool = False, progress: bool = True) -> Artifact:
    """Download the upstream artifact into ``downloads`` (kept only when it verifies)."""
    upstream = spec.upstream
    how = (f"get the file another way and run `fawmf-bench download {spec.name} --from PATH` "
           f"(a folder or file), or set {MIRROR_ENV} to a folder holding {spec.name}/")
    if upstream is None or not upstream.url:
        raise DataError(f"{spec.name}: no upstream URL and no local copy; {how}")
    if upstream.unavailable:
        raise DataError(f"{spec.name}: no local copy found, and {upstream.unavailable}")
    import pooch

    target = Path(downloads) / upstream.file
    if force:
        target.unlink(missing_ok=True)
    fetcher = pooch.create(path=downloads, base_url="", registry={upstream.file: None},
                           urls={upstream.file: upstream.url}, retry_if_failed=2)
    try:
        path = Path(fetcher.fetch(upstream.file, progressbar=progress))
    except Exception as exc:  # requests / OS errors: name the URL and the way out
        target.unlink(missing_ok=True)
        raise DataError(f"download of {upstream.url} failed ({type(exc).__name__}: {exc}); {how}") from exc
    try:
        sha256, verified = verify(path, upstream, f"{path} (from {upstream.url})")
    except ChecksumMismatch:
        path.unlink(missing_ok=True)  # the next run downloads again
        raise
    return Artifact(path, upstream, "download", "upstream", upstream.url, sha256, verified)
