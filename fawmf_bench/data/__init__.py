"""Data layer: registry (datasets.yaml), download and parsing, preprocessing, cache, splits.

Public API: :func:`load_dataset`, :func:`require_dataset`, :func:`download`, :func:`dataset_names`,
:func:`dataset_spec`, :func:`data_home` and the :class:`DataError` family.
"""

from .dataset import InteractionMatrix, binary_csr
from .errors import ChecksumMismatch, DataError, DatasetNotDownloaded, ParseError, UnknownDataset
from .load import download, load_dataset, require_dataset, status
from .registry import DatasetSpec, data_home, dataset_names, dataset_spec, resolve_name

__all__ = [
    "ChecksumMismatch", "DataError", "DatasetNotDownloaded", "DatasetSpec", "InteractionMatrix",
    "ParseError", "UnknownDataset", "binary_csr", "data_home", "dataset_names", "dataset_spec",
    "download", "load_dataset", "require_dataset", "resolve_name", "status",
]
