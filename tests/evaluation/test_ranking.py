"""Ranking kernels against their NumPy references (ties, exclusions, blocks, bad input)."""

import numpy as np
import pytest
import scipy.sparse as sp

from fawmf_bench.evaluation.ranking import (
    block_rows,
    canonical_csr,
    top_k_items,
    top_k_reference,
    truth_ranks,
    truth_ranks_reference,
)


def random_case(seed, n_users=40, n_items=35, n_levels=4, dtype=np.float64):
    """Disjoint exclude / truth matrices and tie-heavy scores (n_levels distinct values)."""
    rng = np.random.default_rng(seed)
    exclude = rng.random((n_users, n_items)) < 0.3
    truth = (rng.random((n_users, n_items)) < 0.25) & ~exclude
    truth[0] = False  # a user without truth items
    exclude[1] = True  # a user without candidates ...
    truth[1] = False  # ... and so without truth items
    scores = rng.integers(0, n_levels, (n_users, n_items)).astype(dtype)
    return scores, sp.csr_matrix(exclude, dtype=np.float32), sp.csr_matrix(truth, dtype=np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_levels", [2, 5, 10_000])
@pytest.mark.parametrize("direct_max_truth", [0, 4, 10**6])  # histogram, mixed, direct
def test_truth_ranks_match_reference(dtype, n_levels, direct_max_truth):
    scores, exclude, truth = random_case(n_levels, n_levels=n_levels, dtype=dtype)
    users = np.flatnonzero(np.diff(truth.indptr))
    ranks, offsets = truth_ranks(
        lambda u: scores[u], exclude, truth, users, memory_budget_mb=1e-3, direct_max_truth=direct_max_truth
    )
    np.testing.assert_array_equal(ranks, truth_ranks_reference(scores[users], users, exclude, truth))
    np.testing.assert_array_equal(np.diff(offsets), np.diff(truth.indptr)[users])


def test_truth_ranks_do_not_depend_on_block_size_or_user_order():
    scores, exclude, truth = random_case(1)
    users = np.flatnonzero(np.diff(truth.indptr))
    whole, _ = truth_ranks(lambda u: scores[u], exclude, truth, users, memory_budget_mb=100)
    single, _ = truth_ranks(lambda u: scores[u], exclude, truth, users, memory_budget_mb=1e-9)
    reversed_users = users[::-1]
    rev, rev_offsets = truth_ranks(lambda u: scores[u], exclude, truth, reversed_users)
    np.testing.assert_array_equal(whole, single)
    back = np.concatenate([rev[rev_offsets[i]:rev_offsets[i + 1]] for i in range(len(users))][::-1])
    np.testing.assert_array_equal(whole, back)


@pytest.mark.parametrize("k", [1, 3, 40])
def test_top_k_matches_reference(k):
    scores, exclude, _ = random_case(k, n_levels=3)
    users = np.arange(scores.shape[0])
    top = top_k_items(lambda u: scores[u], exclude, k, memory_budget_mb=1e-3)
    np.testing.assert_array_equal(top, top_k_reference(scores, users, exclude, k))
    assert np.all(top[1] == -1)  # the user whose items are all excluded


def test_top_k_agrees_with_truth_ranks():
    scores, exclude, truth = random_case(7, n_levels=3)
    users = np.flatnonzero(np.diff(truth.indptr))
    ranks, offsets = truth_ranks(lambda u: scores[u], exclude, truth, users)
    top = top_k_items(lambda u: scores[u], exclude, 5, users=users)
    for i, user in enumerate(users):
        in_top = np.isin(truth[user].indices, top[i])
        np.testing.assert_array_equal(in_top, ranks[offsets[i]:offsets[i + 1]] <= 5)


@pytest.mark.parametrize("direct_max_truth", [0, 10**6])
def test_nan_scores_and_overlap_are_rejected(direct_max_truth):
    scores, exclude, truth = random_case(3)
    users = np.flatnonzero(np.diff(truth.indptr))
    for item in (truth[users[2]].indices[0], np.setdiff1d(np.arange(35), truth[users[2]].indices)[0]):
        bad = scores.copy()
        bad[users[2], item] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            truth_ranks(lambda u: bad[u], exclude, truth, users, direct_max_truth=direct_max_truth)
    with pytest.raises(ValueError, match="overlap"):
        truth_ranks(lambda u: scores[u], canonical_csr(exclude + truth, "x"), truth, users, direct_max_truth=direct_max_truth)
    with pytest.raises(ValueError, match="shape"):
        truth_ranks(lambda u: scores[u][:, :-1], exclude, truth, users)


def test_block_rows_follows_budget():
    assert block_rows(1000, 1.0) == 2**20 // 16_000
    assert block_rows(10**9, 1.0) == 1
    with pytest.raises(ValueError):
        block_rows(10, 0.0)


def test_canonical_csr_sums_duplicates_and_drops_zeros():
    coo = sp.coo_matrix((np.array([1.0, 1.0, 0.0]), (np.array([0, 0, 1]), np.array([2, 2, 1]))), shape=(2, 3))
    out = canonical_csr(coo, "m")
    assert out.nnz == 1 and out.has_canonical_format
    with pytest.raises(TypeError):
        canonical_csr(np.ones((2, 2)), "m")
