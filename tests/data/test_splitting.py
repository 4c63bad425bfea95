"""Splits: exact partitions, disjointness, determinism, caching, the two protocols."""

import os

import numpy as np
import pytest
import scipy.sparse as sp

from fawmf_bench.data.splitting import PROTOCOLS, Split, make_splits


def random_matrix(seed=0, n_users=120, n_items=90, density=0.12):
    rng = np.random.default_rng(seed)
    dense = rng.random((n_users, n_items)) < density * rng.random((n_users, 1)) * 2
    dense[0] = False
    dense[1, :1] = True  # users with a single positive
    dense[2, :2] = True
    return sp.csr_matrix(dense, dtype=np.float32)


def pairs(matrix):
    return set(zip(*matrix.nonzero()))


@pytest.fixture(scope="module")
def matrix():
    return random_matrix()


@pytest.fixture(scope="module")
def cv_splits(matrix):
    return make_splits(matrix, "cv", n_folds=5, seed=3)


def test_cv_test_folds_partition_each_users_positives(matrix, cv_splits):
    assert [s.fold for s in cv_splits] == list(range(5))
    total = sum(s.test for s in cv_splits)
    assert (total != matrix).nnz == 0 and total.max() == 1  # every positive in exactly one test fold
    counts = np.diff(matrix.indptr)
    per_fold = np.stack([np.diff(s.test.indptr) for s in cv_splits])
    assert np.all(per_fold.max(axis=0) - per_fold.min(axis=0) <= 1)
    assert np.all(per_fold[:, counts >= 5] >= 1)  # a test item in every fold


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_parts_are_disjoint_and_complete(matrix, protocol):
    for split in make_splits(matrix, protocol, seed=1):
        assert isinstance(split, Split) and split.protocol == protocol and split.seed == 1
        all_pairs, test, train = pairs(matrix), pairs(split.test), pairs(split.train)
        fit, valid = pairs(split.fit_train), pairs(split.validation)
        assert not test & train and test | train == all_pairs
        assert not fit & valid and fit | valid == train
        for part in (split.train, split.fit_train, split.validation, split.test):
            assert part.shape == matrix.shape and part.has_sorted_indices
            assert part.dtype == np.float32 and np.all(part.data == 1)


def test_validation_carve_out_per_user(matrix, cv_splits):
    for split in cv_splits:
        n_train = np.diff(split.train.indptr)
        n_valid = np.diff(split.validation.indptr)
        expected = np.floor(0.1 * n_train + 0.5)
        expected = np.where(n_train >= 2, np.clip(expected, 1, n_train - 1), 0)
        np.testing.assert_array_equal(n_valid, expected)
        assert np.all(np.diff(split.fit_train.indptr)[n_train >= 1] >= 1)
    no_validation = make_splits(matrix, "cv", validation_fraction=0.0)
    assert all(s.validation.nnz == 0 for s in no_validation)


def test_paper_protocol_is_one_80_20_split(matrix):
    (split,) = make_splits(matrix, "paper", seed=5)
    assert split.fold == 0
    assert split.test.nnz == round(0.2 * matrix.nnz)


def test_same_seed_same_splits_other_seed_differs(matrix, cv_splits):
    again = make_splits(matrix, "cv", n_folds=5, seed=3)
    other = make_splits(matrix, "cv", n_folds=5, seed=4)
    for a, b in zip(cv_splits, again):
        assert (a.test != b.test).nnz == 0 and (a.validation != b.validation).nnz == 0
    assert any((a.test != b.test).nnz for a, b in zip(cv_splits, other))


def test_cache_round_trip_and_key(matrix, tmp_path):
    first = make_splits(matrix, "cv", seed=2, dataset_checksum="abc", cache_dir=tmp_path)
    files = sorted(os.listdir(tmp_path))
    assert len(files) == 1 and files[0].endswith(".npz")
    cached = make_splits(matrix, "cv", seed=2, dataset_checksum="abc", cache_dir=tmp_path)
    for a, b in zip(first, cached):
        assert a.dataset_checksum == "abc"
        for name in ("train", "fit_train", "validation", "test"):
            assert (getattr(a, name) != getattr(b, name)).nnz == 0
    make_splits(matrix, "cv", seed=2, validation_fraction=0.2, dataset_checksum="abc", cache_dir=tmp_path)
    assert len(os.listdir(tmp_path)) == 2  # another key, another file; no temporary left
    # a corrupt cache file is ignored and rewritten
    (tmp_path / files[0]).write_bytes(b"garbage")
    again = make_splits(matrix, "cv", seed=2, dataset_checksum="abc", cache_dir=tmp_path)
    assert (again[0].test != first[0].test).nnz == 0


def test_structural_checksum_recorded_when_none_given(matrix):
    split = make_splits(matrix, "paper")[0]
    assert split.dataset_checksum.startswith("csr-sha256:")


def test_bad_arguments(matrix):
    with pytest.raises(ValueError, match="cv, paper"):
        make_splits(matrix, "loo")
    with pytest.raises(ValueError, match="n_folds"):
        make_splits(matrix, "cv", n_folds=1)
    with pytest.raises(ValueError, match="validation_fraction"):
        make_splits(matrix, validation_fraction=1.0)
    with pytest.raises(TypeError):
        make_splits(np.ones((3, 3)))
    with pytest.raises(ValueError, match="no positives"):
        make_splits(sp.csr_matrix((3, 3)))
