"""BPR: kernel against its NumPy reference, uniform sampler, rising training AUC, determinism."""

import numba
import numpy as np
import pytest
import scipy.sparse as sp

from fawmf_bench.data.synthetic import generate
from fawmf_bench.models import FitMonitor
from fawmf_bench.models._kernels.bpr import (
    bpr_chunk,
    bpr_chunk_reference,
    contains_sorted,
    uniform_index,
    xorshift_next,
)
from fawmf_bench.models.bpr import BPR


@pytest.fixture(scope="module")
def small():
    data, _ = generate("small", seed=3)
    return data.matrix


@pytest.fixture
def one_thread():
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


def training_auc(train: sp.csr_matrix, scores: np.ndarray) -> float:
    """Mean over users of the fraction of (positive, negative) pairs ranked correctly."""
    dense = train.toarray() > 0
    ranks = scores.argsort(axis=1).argsort(axis=1) + 1.0  # 1 = lowest
    n_pos = dense.sum(axis=1)
    n_neg = dense.shape[1] - n_pos
    ok = (n_pos > 0) & (n_neg > 0)
    pos_rank_sum = np.where(dense, ranks, 0.0).sum(axis=1)
    auc = (pos_rank_sum - n_pos * (n_pos + 1) / 2) / np.maximum(n_pos * n_neg, 1)
    return float(auc[ok].mean())


def test_chunk_matches_numpy_reference():
    rng = np.random.default_rng(0)
    X = sp.csr_matrix((rng.random((25, 15)) < 0.3).astype(np.float32))
    X.sort_indices()
    indptr, indices = X.indptr.astype(np.int64), X.indices.astype(np.int32)
    row_of = np.repeat(np.arange(25, dtype=np.int32), np.diff(indptr))
    P, Q, b = rng.normal(0, 0.1, (25, 4)), rng.normal(0, 0.1, (15, 4)), rng.normal(0, 0.1, 15)
    P2, Q2, b2 = P.copy(), Q.copy(), b.copy()
    loss = bpr_chunk(indptr, indices, row_of, P, Q, b, 500, np.uint64(12345), 0.1, 0.01, True)
    ref = bpr_chunk_reference(indptr, indices, P2, Q2, b2, 500, 12345, 0.1, 0.01, True)
    assert loss == pytest.approx(ref, rel=1e-10)
    np.testing.assert_allclose(P, P2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(Q, Q2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b, b2, rtol=1e-10, atol=1e-12)


def test_sampler_is_uniform_and_search_is_exact():
    state, n, draws = np.uint64(99), 7, 70_000
    counts = np.zeros(n)
    for _ in range(draws):
        state = np.uint64(xorshift_next(state))
        counts[uniform_index(state, n)] += 1
    chi2 = np.sum((counts - draws / n) ** 2 / (draws / n))
    assert chi2 < 30.0  # 6 degrees of freedom: p < 1e-4 for a fair sampler to exceed
    values = np.array([1, 4, 5, 9, 12], dtype=np.int32)
    for target in range(14):
        assert contains_sorted(values, 1, 4, target) == (target in (4, 5, 9))


def test_training_auc_rises(small):
    aucs = []

    def evaluate(score_fn):
        aucs.append(training_auc(small, score_fn(np.arange(small.shape[0]))))
        return {"pre@5": aucs[-1]}

    BPR(epochs=20, learning_rate=0.05).fit(small, FitMonitor(evaluate, every=1, patience=100))
    assert len(aucs) == 20
    assert aucs[-1] > aucs[0] + 0.01
    assert aucs[-1] > max(aucs[:3])
    assert aucs[-1] > 0.5


def test_deterministic_with_one_thread(small, one_thread):
    first = BPR(epochs=3, random_state=5).fit(small)
    second = BPR(epochs=3, random_state=5).fit(small)
    np.testing.assert_array_equal(first.user_factors_, second.user_factors_)
    np.testing.assert_array_equal(first.item_bias_, second.item_bias_)
    other = BPR(epochs=3, random_state=6).fit(small)
    assert not np.allclose(first.user_factors_, other.user_factors_)


def test_loss_falls_and_scores_include_bias(small):
    model = BPR(epochs=10).fit(small)
    losses = [row["loss"] for row in model.trace_]
    assert losses[-1] < losses[0] < np.log(2) + 1e-6
    users = np.array([0, 3])
    expected = model.user_factors_[users] @ model.item_factors_.T + model.item_bias_
    np.testing.assert_allclose(model.score(users), expected)
    plain = BPR(epochs=2, item_bias=False).fit(small)
    assert np.all(plain.item_bias_ == 0.0)


@pytest.mark.parametrize("bad", [{"learning_rate": 0.0}, {"factors": 0}, {"sampler_chunks": 0}])
def test_invalid_hyperparameters(small, bad):
    with pytest.raises(ValueError):
        BPR(**bad).fit(small)


def test_rejects_users_without_negatives():
    with pytest.raises(ValueError, match="no negatives"):
        BPR().fit(sp.csr_matrix(np.ones((3, 4))))
