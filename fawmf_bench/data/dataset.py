"""The immutable implicit-feedback dataset every layer above works on.

An :class:`InteractionMatrix` is a binary user x item matrix X (x_ij = 1: user i consumed
item j) held as CSR (rows = users) with float32 ones, plus the vocabularies that map the
dense indices 0..n-1 / 0..m-1 back to the publisher's ids, optional side information
(for ML-1M: user gender/age, movie title/genres) and provenance (checksums).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass(frozen=True)
class InteractionMatrix:
    """Binary interactions with id vocabularies.

    Attributes
    ----------
    name: dataset name as in datasets.yaml.
    matrix: CSR, shape (n_users, n_items), float32, data all ones, sorted indices,
        no duplicates.
    user_ids, item_ids: the publisher's id for each dense row / column index.
    user_features, item_features: optional side information indexed like the rows / columns.
    checksum: sha256 of the processed interactions (stable identity for splits and results).
    raw_stats: statistics before filtering (e.g. {"ratings": 1000209, ...}).
    extra: free-form provenance (source checksums, preprocessing parameters).
    """

    name: str
    matrix: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray
    checksum: str = ""
    user_features: pd.DataFrame | None = None
    item_features: pd.DataFrame | None = None
    raw_stats: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    @property
    def n_interactions(self) -> int:
        return int(self.matrix.nnz)

    @property
    def density(self) -> float:
        return self.n_interactions / max(1, self.n_users * self.n_items)

    def stats(self) -> dict[str, Any]:
        """Users, items, positives and density after preprocessing."""
        return {
            "users": self.n_users,
            "items": self.n_items,
            "positives": self.n_interactions,
            "density": self.density,
        }


def binary_csr(users: np.ndarray, items: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Build the canonical binary CSR (float32 ones, sorted indices, duplicates collapsed)."""
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    keys = np.sort(users * shape[1] + items)  # sort + diff: much faster than np.unique in NumPy 2.4
    keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys
    rows, cols = np.divmod(keys, shape[1])
    return binary_csr_from_sorted(rows, cols, shape)


def binary_csr_from_sorted(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """The canonical binary CSR of :func:`binary_csr`, for (row, col) pairs already sorted and unique."""
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    return binary_csr_from_parts(indptr, cols, shape)


def binary_csr_from_parts(indptr: np.ndarray, indices: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """The canonical binary CSR (float32 ones, int32 sorted indices) from its index arrays."""
    matrix = sp.csr_matrix(
        (np.ones(len(indices), dtype=np.float32), indices.astype(np.int32, copy=False), indptr), shape=shape
    )
    matrix.has_sorted_indices = True
    return matrix
