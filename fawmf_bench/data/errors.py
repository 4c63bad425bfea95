"""Errors of the data layer. Every :class:`DataError` is something the user can fix (the CLI
prints it as one line and exits with code 2); anything else is a bug."""

from __future__ import annotations


class DataError(Exception):
    """Base class: a user-fixable data problem (unknown name, missing or bad file)."""


class UnknownDataset(DataError, KeyError):
    """A name that is neither a dataset nor an alias in datasets.yaml."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DatasetNotDownloaded(DataError):
    """The processed cache of a dataset is absent; the message names the command to run."""


class ChecksumMismatch(DataError):
    """A file's hash differs from the one datasets.yaml expects."""

    def __init__(self, path: str, expected: str, actual: str) -> None:
        super().__init__(
            f"checksum mismatch for {path}: expected {expected}, got {actual}; "
            "the file is corrupt or not the published artifact (nothing was cached)"
        )
        self.path, self.expected, self.actual = path, expected, actual


class ParseError(DataError):
    """A file that cannot be parsed: truncated archive, malformed line (file and line number)."""
