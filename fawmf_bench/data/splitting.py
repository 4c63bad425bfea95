"""Train / validation / test splits (owned by the evaluation-core work; this module holds
the shared :class:`Split` contract that models, runner and tests rely on).

Protocols
---------
- ``cv`` (default): per-user stratified k-fold; inside each training fold ~10% of each
  user's training positives become validation (at least one where the user has >= 2).
- ``paper``: one random 80/20 split of all positives (the authors' setting), with the same
  validation carve-out from the 80%.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .._io import atomic_write
from .dataset import binary_csr_from_sorted


@dataclass(frozen=True)
class Split:
    """One fold.

    ``train`` is the whole training fold (the refit model is trained on it and the test
    evaluation excludes it); ``fit_train`` = train minus validation (used while choosing
    epochs / hyperparameters / scoring, evaluated on ``validation`` with ``fit_train``
    excluded). All matrices are binary CSR with the dataset's full shape.
    """

    train: sp.csr_matrix
    fit_train: sp.csr_matrix
    validation: sp.csr_matrix
    test: sp.csr_matrix
    fold: int
    protocol: str
    seed: int
    dataset_checksum: str = ""


#: protocol name -> short description (``make_splits`` accepts exactly these)
PROTOCOLS: dict[str, str] = {
    "cv": "per-user stratified k-fold cross validation",
    "paper": "one random 80/20 split of all positives (the authors' setting)",
}
PAPER_TEST_FRACTION = 0.2
_CACHE_FORMAT = 1


def make_splits(
    matrix: sp.csr_matrix,
    protocol: str = "cv",
    n_folds: int = 5,
    seed: int = 0,
    validation_fraction: float = 0.1,
    dataset_checksum: str = "",
    cache_dir: Path | None = None,
) -> list[Split]:
    """Deterministic train / validation / test splits of the positives of ``matrix``.

    ``cv``: each user's positives are shuffled (seeded) and dealt round-robin into
    ``n_folds`` folds starting at a random fold per user, so a user with >= n_folds positives
    has test items in every fold and fold sizes per user differ by at most one. ``paper``:
    one uniformly random 20% of all positives is the test set (``fold=0``).
    In every split, round(validation_fraction * n) of each user's n training positives (at
    least 1 and at most n - 1 when n >= 2 and the fraction is positive) become validation.

    The assignment depends only on (matrix, protocol, n_folds, seed, validation_fraction);
    with ``cache_dir`` it is stored as .npz keyed by those and ``dataset_checksum`` (a
    structural sha256 of the matrix when none is given; it is then also recorded in the
    splits), written atomically.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown split protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    if protocol == "cv" and (int(n_folds) != n_folds or n_folds < 2):
        raise ValueError(f"cv needs an integer n_folds >= 2, got {n_folds}")
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must lie in [0, 1), got {validation_fraction}")
    matrix = _positives(matrix)
    checksum = dataset_checksum or structure_checksum(matrix)
    key = {
        "format": _CACHE_FORMAT, "checksum": checksum, "protocol": protocol,
        "n_folds": int(n_folds), "seed": int(seed), "validation_fraction": float(validation_fraction),
    }
    assignment = _load_cached(cache_dir, key, matrix) if cache_dir is not None else None
    if assignment is None:
        assignment = _assign(matrix, protocol, int(n_folds), int(seed), float(validation_fraction))
        if cache_dir is not None:
            _store_cached(Path(cache_dir), key, matrix, *assignment)
    test_fold, validation = assignment
    splits = []
    for fold in range(validation.shape[0]):
        test = test_fold == fold
        train = ~test
        fit_train = train & ~validation[fold]
        splits.append(
            Split(
                train=_select(matrix, train),
                fit_train=_select(matrix, fit_train),
                validation=_select(matrix, validation[fold]),
                test=_select(matrix, test),
                fold=fold,
                protocol=protocol,
                seed=int(seed),
                dataset_checksum=checksum,
            )
        )
    return splits


def structure_checksum(matrix: sp.csr_matrix) -> str:
    """sha256 of the shape and the sparsity pattern of a canonical CSR matrix."""
    digest = hashlib.sha256(np.asarray(matrix.shape, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(matrix.indptr, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(matrix.indices, dtype=np.int64).tobytes())
    return "csr-sha256:" + digest.hexdigest()


# ----------------------------------------------------------------- assignment
def _positives(matrix: sp.spmatrix) -> sp.csr_matrix:
    """Canonical binary CSR of the stored nonzeros (float32 ones, sorted unique indices)."""
    if not sp.issparse(matrix) or matrix.ndim != 2:
        raise TypeError(f"make_splits expects a 2-d scipy.sparse matrix, got {type(matrix).__name__}")
    matrix = sp.csr_matrix(matrix, copy=True)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    matrix.sort_indices()
    if matrix.nnz == 0:
        raise ValueError("make_splits: the matrix has no positives")
    matrix.data = np.ones(matrix.nnz, dtype=np.float32)
    return matrix


def _rank_within_user(rows: np.ndarray, order: np.ndarray, n_users: int) -> np.ndarray:
    """Position of each entry of ``order`` inside its user's group (``rows[order]`` sorted)."""
    counts = np.bincount(rows[order], minlength=n_users)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return np.arange(len(order)) - starts[rows[order]]


def _grouped_random_order(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Entries grouped by user (ascending), in random order inside each user's group."""
    keys = (rows.astype(np.uint64) << np.uint64(32)) | rng.integers(0, 2**32, len(rows), dtype=np.uint64)
    return np.argsort(keys)


def _assign(
    matrix: sp.csr_matrix, protocol: str, n_folds: int, seed: int, validation_fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """(test_fold per positive, validation mask per split x positive), positives in CSR order.

    test_fold is the split in which the positive is a test item (-1: never, ``paper``).
    """
    n_users = matrix.shape[0]
    rows = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(matrix.indptr))
    fold_seed, validation_seed = np.random.SeedSequence(
        [seed, list(PROTOCOLS).index(protocol), n_folds]
    ).spawn(2)
    rng = np.random.default_rng(fold_seed)
    if protocol == "cv":
        order = _grouped_random_order(rows, rng)
        first_fold = rng.integers(0, n_folds, n_users)
        test_fold = np.empty(matrix.nnz, dtype=np.int16)
        test_fold[order] = (_rank_within_user(rows, order, n_users) + first_fold[rows[order]]) % n_folds
        n_splits = n_folds
    else:
        n_test = int(np.floor(PAPER_TEST_FRACTION * matrix.nnz + 0.5))
        test_fold = np.full(matrix.nnz, -1, dtype=np.int16)
        test_fold[rng.choice(matrix.nnz, size=n_test, replace=False)] = 0
        n_splits = 1
    # one random priority per positive; each split's validation = the user's first
    # round(fraction * n_train) training positives in that priority order
    priority_order = _grouped_random_order(rows, np.random.default_rng(validation_seed))
    validation = np.zeros((n_splits, matrix.nnz), dtype=bool)
    if validation_fraction > 0:
        for fold in range(n_splits):
            candidates = priority_order[test_fold[priority_order] != fold]
            n_train = np.bincount(rows[candidates], minlength=n_users)
            n_valid = np.floor(validation_fraction * n_train + 0.5).astype(np.int64)
            n_valid = np.where(n_train >= 2, np.clip(n_valid, 1, np.maximum(n_train - 1, 1)), 0)
            rank = _rank_within_user(rows, candidates, n_users)
            validation[fold, candidates[rank < n_valid[rows[candidates]]]] = True
    return test_fold, validation


def _select(matrix: sp.csr_matrix, mask: np.ndarray) -> sp.csr_matrix:
    """The positives of ``matrix`` where ``mask`` (CSR order) holds, as canonical binary CSR."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[mask]
    return binary_csr_from_sorted(rows, matrix.indices[mask], matrix.shape)


# ----------------------------------------------------------------- cache
def _cache_path(cache_dir: Path, key: dict) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return Path(cache_dir) / f"splits-{key['protocol']}-{digest}.npz"


def _load_cached(cache_dir: Path, key: dict, matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached assignment, or None when absent, unreadable or not for this matrix/key."""
    path = _cache_path(Path(cache_dir), key)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if json.loads(str(stored["key"])) != key or int(stored["nnz"]) != matrix.nnz:
                return None
            test_fold = stored["test_fold"]
            n_splits = int(stored["n_splits"])
            validation = np.unpackbits(stored["validation"], axis=1, count=matrix.nnz).astype(bool)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
        return None  # unreadable (a truncated file): recomputed and rewritten
    if test_fold.shape != (matrix.nnz,) or validation.shape != (n_splits, matrix.nnz):
        return None
    return test_fold, validation


def _store_cached(
    cache_dir: Path, key: dict, matrix: sp.csr_matrix, test_fold: np.ndarray, validation: np.ndarray
) -> None:
    """Write the assignment to a temporary file in ``cache_dir`` and rename it into place."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = _cache_path(cache_dir, key)
    atomic_write(path, lambda handle: np.savez_compressed(
        handle, key=json.dumps(key, sort_keys=True), nnz=matrix.nnz,
        n_splits=validation.shape[0], test_fold=test_fold,
        validation=np.packbits(validation, axis=1),
    ))
