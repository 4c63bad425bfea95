"""Ranking kernels against their NumPy references (ties, exclusions, blocks, bad input)."""

import numpy as np
import pytest
import scipy.sparse as sp

from fawmf_bench.models import Recommender

from fawmf_bench.evaluation.ranking import (
    block_rows,
    canonical_csr,
    ranking_order_reference,
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


class _FixedScores(Recommender):
    """A model that returns given scores (to test the base class's ranking)."""

    name = "fixed-scores"

    def __init__(self, table=None):
        self.table = table

    def fit(self, train, monitor=None):
        return self

    def score(self, users, scoring=None):
        return self.table[users]


@pytest.mark.parametrize("k", [1, 3, 5])
def test_recommend_matches_the_reference_order_and_truth_ranks(k):
    """Recommender.recommend (the one top-k) ranks as evaluation does: ties to the lower index."""
    scores, exclude, truth = random_case(7, n_levels=3)
    users = np.flatnonzero(np.diff(truth.indptr))
    top, _ = _FixedScores(scores).recommend(users, exclude=exclude, k=k)
    ranks, offsets = truth_ranks(lambda u: scores[u], exclude, truth, users)
    for i, user in enumerate(users):
        np.testing.assert_array_equal(top[i], ranking_order_reference(scores[user], exclude[user].indices)[:k])
        in_top = np.isin(truth[user].indices, top[i])
        np.testing.assert_array_equal(in_top, ranks[offsets[i]:offsets[i + 1]] <= k)


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
