"""Parsers for the formats named in datasets.yaml; each returns :class:`RawInteractions`.

Formats: ``csv`` (header; user_id,item_id[,rating][,timestamp] or named columns), ``uir``
(Douban ``uir.index``: "UserId ItemId Rating", whitespace-separated), ``movielens-dat``
(ML-1M ``ratings.dat``: ``UserID::MovieID::Rating::Timestamp``), ``movielens-100k`` (``u.data``,
tab-separated), ``snap-finefoods`` (SNAP ``key: value`` records, latin-1, multi-line fields),
``json-lines`` (one JSON object per line) and ``monti-mat`` (MATLAB v7.3 / HDF5 with ``M``).
Zip archives (``member``) and gzip (by magic bytes) are opened transparently. Every failure is a
:class:`ParseError` naming the file and, for a malformed line, its line number.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

import numpy as np
import pandas as pd

from .errors import ParseError
from .registry import FileSpec

_CORRUPT = (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile, UnicodeDecodeError)
_ROLE_DEFAULTS = {
    "user": ("user_id", "user", "userId", "user_idx", "uid", "UserId"),
    "item": ("item_id", "item", "movieId", "item_idx", "iid", "itemId", "ItemId"),
    "rating": ("rating", "score", "Rating"),
}


@dataclass(frozen=True)
class RawInteractions:
    """Parsed rows before preprocessing: publisher ids and (optional) ratings."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.users)


@contextmanager
def open_binary(path: Path, member: str | None = None) -> Iterator[IO[bytes]]:
    """Open ``path`` for reading bytes: a zip member, a gzip stream or the plain file."""
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                wanted = member or ""
                match = [n for n in names if n == wanted] or [
                    n for n in names if wanted and n.endswith("/" + wanted.rsplit("/", 1)[-1])
                ]
                if not match:
                    raise ParseError(f"{path}: archive has no member {wanted!r} (has {names[:8]})")
                with archive.open(match[0]) as stream:
                    yield io.BytesIO(stream.read())
            return
        with open(path, "rb") as probe:
            magic = probe.read(2)
        if magic == b"\x1f\x8b":
            with gzip.open(path, "rb") as stream:
                yield stream
        else:
            with open(path, "rb") as stream:
                yield stream
    except _CORRUPT as exc:
        raise ParseError(f"{path}: truncated or corrupt file ({exc})") from exc


def _label(path: Path, member: str | None) -> str:
    return f"{path}:{member}" if member and zipfile.is_zipfile(path) else str(path)


def _physical_line(opener: Callable[[], IO[bytes]], row: int, header: bool) -> int:
    """1-based line number of data row ``row`` (blank lines skipped, as pandas does)."""
    seen = -1 if header else 0
    with opener() as stream:
        for number, line in enumerate(stream, start=1):
            if line.strip():
                if seen == row:
                    return number
                seen += 1
    return -1


def _read_table(opener: Callable[[], IO[bytes]], label: str, **kwargs) -> pd.DataFrame:
    try:
        with opener() as stream:
            return pd.read_csv(stream, engine="c", index_col=False, **kwargs)
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            want, line, saw = found.groups()
            raise ParseError(f"{label}, line {line}: malformed line, expected {want} fields, saw {saw}") from exc
        raise ParseError(f"{label}: {exc}") from exc
    except pd.errors.EmptyDataError as exc:
        raise ParseError(f"{label}: the file is empty") from exc
    except _CORRUPT as exc:
        raise ParseError(f"{label}: truncated or corrupt file ({exc})") from exc
    except UnicodeError as exc:
        raise ParseError(f"{label}: cannot decode ({exc})") from exc


def _checked(frame: pd.DataFrame, roles: dict[str, str], integer: set[str], opener, label: str, header: bool) -> RawInteractions:
    """Check the role columns (no missing fields, integers where the format says so)."""
    columns: dict[str, np.ndarray] = {}
    for role, column in roles.items():
        values = frame[column]
        numeric = role in ("rating", "timestamp") or role in integer
        if numeric and not pd.api.types.is_numeric_dtype(values):
            values = pd.to_numeric(values, errors="coerce")
        bad = values.isna().to_numpy()
        if role in integer and not bad.any() and not pd.api.types.is_integer_dtype(values):
            bad = (values.to_numpy() != np.floor(values.to_numpy()))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            line = _physical_line(opener, row, header)
            kind = "an integer" if role in integer else ("a number" if numeric else "a value")
            raise ParseError(f"{label}, line {line}: malformed line, {role} ({column!r}) is not {kind}")
        columns[role] = values.to_numpy()
    for role in ("user", "item"):
        if columns[role].dtype == object:
            columns[role] = columns[role].astype(str)
        elif role in integer:
            columns[role] = columns[role].astype(np.int64, copy=False)
    rating = columns.get("rating")
    return RawInteractions(columns["user"], columns["item"], None if rating is None else rating.astype(np.float64))


def _delimited(path: Path, spec: FileSpec, sep: str, names: list[str], integer: set[str], transform=None) -> RawInteractions:
    label = _label(path, spec.member)

    def opener():
        if transform is None:
            return open_binary(path, spec.member)
        return _transformed(path, spec.member, transform)

    with warnings.catch_warnings(record=True) as caught:  # pandas only warns when the first row is long
        warnings.simplefilter("always", pd.errors.ParserWarning)
        frame = _read_table(opener, label, sep=sep, header=None, names=names)
    if caught:
        _check_field_counts(opener, label, sep, len(names), quoting=False)
    return _checked(frame, {name: name for name in names}, integer, opener, label, False)


@contextmanager
def _transformed(path: Path, member: str | None, transform) -> Iterator[IO[bytes]]:
    with open_binary(path, member) as stream:
        yield io.BytesIO(transform(stream.read()))


def parse_csv(path: Path, spec: FileSpec) -> RawInteractions:
    """A delimited file with a header; columns from ``spec.columns`` or the usual names.

    Every row must have as many fields as the header (a row with more is rejected by the
    tokenizer; one with fewer shows as a missing last field, and is then located exactly)."""
    label = _label(path, spec.member)
    opener = lambda: open_binary(path, spec.member)  # noqa: E731
    sep = "\t" if spec.file.endswith((".tsv", ".tsv.gz")) else ","
    header = list(_read_table(opener, label, sep=sep, nrows=0).columns)
    roles: dict[str, str] = {}
    for role, defaults in _ROLE_DEFAULTS.items():
        wanted = spec.columns.get(role)
        found = wanted if wanted in header else next((c for c in defaults if c in header), None)
        if wanted and wanted not in header or found is None and role != "rating":
            raise ParseError(f"{label}: no {role} column {wanted or defaults[0]!r} in header {header}")
        if found is not None:
            roles[role] = found
    with warnings.catch_warnings(record=True) as caught:  # pandas only warns when the first row is long
        warnings.simplefilter("always", pd.errors.ParserWarning)
        frame = _read_table(opener, label, sep=sep)  # every column: the tokenizer counts the fields
    if caught or frame[header[-1]].isna().any():
        _check_field_counts(opener, label, sep, len(header))
    return _checked(frame, roles, set(), opener, label, True)


def _check_field_counts(opener: Callable[[], IO[bytes]], label: str, sep: str, n_fields: int,
                        quoting: bool = True) -> None:
    """Name the first row whose field count is not ``n_fields``. Only run when pandas cannot
    tell: a long first row (a warning), or an empty last field (a short row looks the same).
    ``quoting``: CSV rules (quoted separators); else a plain split (``\\s+``: on whitespace)."""
    with opener() as stream:
        if quoting:
            reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8", newline=""), delimiter=sep)
            rows = ((reader.line_num, row) for row in reader)
        else:
            split = (lambda line: line.split()) if sep == r"\s+" else (lambda line: line.split(sep.encode()))
            rows = ((number, split(line.rstrip(b"\r\n"))) for number, line in enumerate(stream, start=1)
                    if line.strip())
        for number, row in rows:
            if row and len(row) != n_fields:
                raise ParseError(f"{label}, line {number}: malformed line, expected {n_fields} fields, saw {len(row)}")


def parse_uir(path: Path, spec: FileSpec) -> RawInteractions:
    """Douban ``uir.index``: ``UserId ItemId Rating`` integers separated by whitespace."""
    return _delimited(path, spec, r"\s+", ["user", "item", "rating"], {"user", "item"})


def parse_movielens_dat(path: Path, spec: FileSpec) -> RawInteractions:
    """ML-1M ``ratings.dat``: ``UserID::MovieID::Rating::Timestamp`` (``::`` becomes a tab)."""
    return _delimited(path, spec, "\t", ["user", "item", "rating", "timestamp"],
                      {"user", "item", "timestamp"}, transform=lambda data: data.replace(b"::", b"\t"))


def parse_movielens_100k(path: Path, spec: FileSpec) -> RawInteractions:
    """ML-100K ``u.data``: ``user id \\t item id \\t rating \\t timestamp``."""
    return _delimited(path, spec, "\t", ["user", "item", "rating", "timestamp"], {"user", "item", "timestamp"})


_KEY = re.compile(rb"^(product|review)/(\w+): ?(.*)$")


def parse_snap_finefoods(path: Path, spec: FileSpec) -> RawInteractions:
    """SNAP ``finefoods.txt``: records of ``key: value`` lines split by blank lines (latin-1).

    Lines without a ``product/`` or ``review/`` key continue the previous field (a few
    ``review/profileName`` values hold newlines), so fields are read by key, not position.
    """
    label = _label(path, spec.member)
    users: list[bytes] = []
    items: list[bytes] = []
    scores: list[bytes] = []
    record: dict[bytes, bytes] = {}
    start = 0

    def close(line: int) -> None:
        missing = [k for k in (b"productId", b"userId", b"score") if k not in record]
        if missing:
            raise ParseError(f"{label}, line {start}: malformed record, no {b', '.join(missing).decode()}")
        items.append(record[b"productId"].strip())
        users.append(record[b"userId"].strip())
        scores.append(record[b"score"].strip())

    with open_binary(path, spec.member) as stream:
        try:
            number = 0
            for number, line in enumerate(stream, start=1):
                line = line.rstrip(b"\r\n")
                found = _KEY.match(line)
                if found:
                    if not record:
                        start = number
                    record[found.group(2)] = found.group(3)
                elif not line.strip():
                    if record:
                        close(number)
                        record = {}
                elif not record:
                    raise ParseError(f"{label}, line {number}: malformed line, expected 'product/...: ' or 'review/...: '")
            if record:
                close(number)
        except _CORRUPT as exc:
            raise ParseError(f"{label}: truncated or corrupt file ({exc})") from exc
    try:
        ratings = np.array(scores, dtype=np.float64)
    except ValueError as exc:
        raise ParseError(f"{label}: malformed review/score ({exc})") from exc
    as_text = lambda values: np.array([v.decode("latin-1") for v in values], dtype=str)  # noqa: E731
    return RawInteractions(as_text(users), as_text(items), ratings)


def parse_json_lines(path: Path, spec: FileSpec) -> RawInteractions:
    """One JSON object per line; ``spec.columns`` names the user/item/rating keys."""
    label = _label(path, spec.member)
    keys = {"user": "user_id", "item": "item_id", **spec.columns}
    try:
        with open_binary(path, spec.member) as stream:
            frame = pd.read_json(stream, lines=True)
    except (ValueError, *_CORRUPT) as exc:
        raise ParseError(f"{label}: malformed JSON lines ({exc})") from exc
    missing = [k for r, k in keys.items() if r in ("user", "item") and k not in frame]
    if missing:
        raise ParseError(f"{label}: no key(s) {missing} in the records")
    rating = frame[keys["rating"]].to_numpy(np.float64) if keys.get("rating") in frame else None
    return RawInteractions(frame[keys["user"]].astype(str).to_numpy(), frame[keys["item"]].astype(str).to_numpy(), rating)


def parse_monti_mat(path: Path, spec: FileSpec) -> RawInteractions:
    """Monti et al.'s ``training_test_dataset.mat`` (HDF5): the nonzeros of ``M`` (transposed)."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            ratings = np.asarray(handle["M"]).T
    except (OSError, KeyError) as exc:
        raise ParseError(f"{path}: not a readable MATLAB v7.3 file with 'M' ({exc})") from exc
    users, items = np.nonzero(ratings)
    return RawInteractions(users.astype(np.int64), items.astype(np.int64), ratings[users, items])


PARSERS: dict[str, Callable[[Path, FileSpec], RawInteractions]] = {
    "csv": parse_csv,
    "uir": parse_uir,
    "movielens-dat": parse_movielens_dat,
    "movielens-100k": parse_movielens_100k,
    "snap-finefoods": parse_snap_finefoods,
    "json-lines": parse_json_lines,
    "monti-mat": parse_monti_mat,
}


def parse(path: Path, spec: FileSpec) -> RawInteractions:
    """Parse ``path`` with the parser its ``spec.format`` names."""
    return PARSERS[spec.format](Path(path), spec)
