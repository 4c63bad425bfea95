"""Metric definitions: hand-computed cases and independent implementations (cornac, implicit)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from fawmf_bench.evaluation import METRIC_LABELS, evaluate, metric_label, metric_names
from fawmf_bench.evaluation.metrics import metrics_from_ranks
from fawmf_bench.evaluation.ranking import ranking_order_reference

LOG2 = np.log2


@pytest.fixture(scope="module")
def hand_case():
    """Four users, eight items (rank lists worked out in the comments)."""
    n_items = 8
    scores = np.zeros((4, n_items))
    scores[0] = 8 - np.arange(n_items)  # strictly decreasing
    scores[1] = 1.0  # all tied: ranking by item index
    scores[2] = np.arange(n_items)  # increasing: the truth items 0, 1 come last
    scores[3] = np.arange(n_items)
    exclude = sp.csr_matrix(
        (np.ones(5), ([0, 0, 1, 2, 3], [0, 1, 1, 7, 0])), shape=(4, n_items)
    )
    truth = sp.csr_matrix((np.ones(7), ([0, 0, 0, 1, 1, 2, 2], [2, 4, 7, 0, 5, 0, 1])), shape=(4, n_items))
    return evaluate(lambda u: scores[u], exclude, truth, cutoffs=(1, 5))


def test_hand_computed_decreasing_scores(hand_case):
    # user 0: candidates 2..7 in order -> truth ranks 1 (item 2), 3 (item 4), 6 (item 7)
    m = {name: values[0] for name, values in hand_case.per_user.items()}
    assert m["pre@5"] == pytest.approx(2 / 5) and m["rec@5"] == pytest.approx(2 / 3)
    assert m["ndcg@5"] == pytest.approx((1 + 1 / LOG2(4)) / (1 + 1 / LOG2(3) + 1 / LOG2(4)))
    assert m["hr@5"] == 1 and m["pre@1"] == 1 and m["ndcg@1"] == 1
    assert m["mrr_sum"] == pytest.approx(1 + 1 / 3 + 1 / 6)  # the paper's MRR exceeds 1
    assert m["mrr"] == 1


def test_hand_computed_ties_go_to_lower_index(hand_case):
    # user 1: all tied, item 1 excluded -> order 0, 2, 3, 4, 5, 6, 7: ranks 1 (item 0), 5 (item 5)
    m = {name: values[1] for name, values in hand_case.per_user.items()}
    assert m["pre@5"] == pytest.approx(2 / 5) and m["rec@5"] == 1
    # fewer truth items than K: ideal DCG over min(5, 2) = 2 positions
    assert m["ndcg@5"] == pytest.approx((1 + 1 / LOG2(6)) / (1 + 1 / LOG2(3)))
    assert m["mrr_sum"] == pytest.approx(1.2) and m["mrr"] == 1


def test_hand_computed_truth_ranked_last(hand_case):
    # user 2: item 7 excluded, order 6, 5, ..., 0 -> truth ranks 6 (item 1) and 7 (item 0)
    m = {name: values[2] for name, values in hand_case.per_user.items()}
    for name in ("pre@5", "rec@5", "ndcg@5", "hr@5", "pre@1", "hr@1"):
        assert m[name] == 0
    assert m["mrr_sum"] == pytest.approx(1 / 6 + 1 / 7) and m["mrr"] == pytest.approx(1 / 6)


def test_users_without_truth_are_skipped_and_counted(hand_case):
    np.testing.assert_array_equal(hand_case.users, [0, 1, 2])
    assert hand_case.n_skipped == 1
    assert set(hand_case.per_user) == set(metric_names((1, 5)))
    for name, values in hand_case.per_user.items():
        assert values.dtype == np.float64 and len(values) == 3
        assert hand_case.means[name] == pytest.approx(values.mean())


def test_users_argument_restricts_and_counts():
    scores = np.arange(12.0).reshape(3, 4)
    truth = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]], dtype=np.float32))
    exclude = sp.csr_matrix((3, 4), dtype=np.float32)
    result = evaluate(lambda u: scores[u], exclude, truth, users=np.array([2, 1]))
    np.testing.assert_array_equal(result.users, [2])
    assert result.n_skipped == 1
    assert result.per_user["mrr"][0] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="no requested user"):
        evaluate(lambda u: scores[u], exclude, truth, users=np.array([1]))
    with pytest.raises(ValueError, match="duplicates"):
        evaluate(lambda u: scores[u], exclude, truth, users=np.array([0, 0]))
    with pytest.raises(ValueError, match="cutoffs"):
        evaluate(lambda u: scores[u], exclude, truth, cutoffs=(0,))


def test_metrics_from_ranks_bounds():
    rng = np.random.default_rng(0)
    counts = rng.integers(1, 9, 50)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    # distinct ranks per user, as a real ranking gives
    ranks = np.concatenate([rng.choice(np.arange(1, 40), c, replace=False) for c in counts]).astype(float)
    m = metrics_from_ranks(ranks, offsets, (1, 5, 10))
    for name, values in m.items():
        assert np.all(values >= 0)
        if name != "mrr_sum":
            assert np.all(values <= 1 + 1e-12), name
    assert np.all(m["mrr_sum"] >= m["mrr"])
    assert np.all(m["hr@10"] >= m["hr@5"]) and np.all(m["rec@10"] >= m["rec@5"])


def test_labels():
    assert METRIC_LABELS["mrr_sum"] == "MRR (paper)"
    assert metric_label("ndcg@5") == "NDCG@5" and metric_label("rec@7") == "Rec@7"
    with pytest.raises(KeyError):
        metric_label("auc")


def random_factor_case(seed, n_users=60, n_items=200, n_factors=6):
    """Scores exact in float32 and distinct per user: integer dot products plus item j / 1024."""
    rng = np.random.default_rng(seed)
    user_factors = np.hstack([rng.integers(-4, 5, (n_users, n_factors)), np.ones((n_users, 1))])
    item_factors = np.hstack([rng.integers(-4, 5, (n_items, n_factors)), np.arange(n_items)[:, None] / 1024])
    train = rng.random((n_users, n_items)) < 0.2
    test = (rng.random((n_users, n_items)) < 0.08) & ~train
    return (
        user_factors.astype(np.float32),
        item_factors.astype(np.float32),
        sp.csr_matrix(train, dtype=np.float32),
        sp.csr_matrix(test, dtype=np.float32),
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_cornac_per_user(seed):
    from cornac.metrics import NDCG, Precision, Recall

    user_factors, item_factors, train, test = random_factor_case(seed)
    scores = (user_factors @ item_factors.T).astype(np.float64)
    # a coarse copy of the scores, so that ties and their tie-break are exercised too
    tied = np.floor(scores / 3)
    for matrix in (scores, tied):
        result = evaluate(lambda u: matrix[u], train, test, cutoffs=(5, 10))
        for i, user in enumerate(result.users):
            ranking = ranking_order_reference(matrix[user], train[user].indices)
            gt = test[user].indices
            for k in (5, 10):
                for name, metric in (("pre", Precision(k=k)), ("rec", Recall(k=k)), ("ndcg", NDCG(k=k))):
                    expected = metric.compute(gt_pos=gt, pd_rank=ranking)
                    assert abs(result.per_user[f"{name}@{k}"][i] - expected) <= 1e-12


@pytest.mark.parametrize("k", [5, 10])
def test_ndcg_matches_implicit(k):
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.evaluation import ndcg_at_k
    from threadpoolctl import threadpool_limits

    user_factors, item_factors, train, test = random_factor_case(k)
    with warnings.catch_warnings(), threadpool_limits(1, "blas"):
        warnings.simplefilter("ignore", RuntimeWarning)
        model = AlternatingLeastSquares(factors=user_factors.shape[1], random_state=0)
        model.user_factors, model.item_factors = user_factors, item_factors
        expected = ndcg_at_k(model, train, test, K=k, show_progress=False)
    result = evaluate(lambda u: user_factors[u] @ item_factors.T, train, test, cutoffs=(k,))
    assert abs(result.means[f"ndcg@{k}"] - expected) <= 1e-12
