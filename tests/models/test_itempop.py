"""ItemPop: exact popularity ranking with deterministic ties."""

import numpy as np
import pytest
import scipy.sparse as sp

from fawmf_bench.data.synthetic import generate
from fawmf_bench.models import FitMonitor, make_model
from fawmf_bench.models.itempop import ItemPop


def test_ranks_by_count_then_lower_index():
    # item counts: [2, 3, 2, 0, 3]
    X = sp.csr_matrix(np.array([[1, 1, 1, 0, 1], [1, 1, 0, 0, 1], [0, 1, 1, 0, 1]], dtype=np.float32))
    model = ItemPop().fit(X)
    np.testing.assert_array_equal(model.item_counts_, [2, 3, 2, 0, 3])
    order, _ = model.recommend(np.array([0]), k=5)
    np.testing.assert_array_equal(order[0], [1, 4, 0, 2, 3])
    # any sort gives the same order: scores are distinct
    assert len(np.unique(model.item_scores_)) == 5
    np.testing.assert_array_equal(np.argsort(model.item_scores_)[::-1], [1, 4, 0, 2, 3])


def test_exact_on_synthetic_and_excludes_seen():
    X = generate("small", seed=4)[0].matrix
    model = make_model("itempop").fit(X)
    counts = np.bincount(X.indices, minlength=X.shape[1])
    expected = np.lexsort((np.arange(X.shape[1]), -counts))
    assert np.array_equal(np.argsort(-model.item_scores_, kind="quicksort"), expected)
    users = np.arange(20)
    scores = model.score(users)
    assert scores.shape == (20, X.shape[1]) and np.all(scores == model.item_scores_)
    order, _ = model.recommend(users, exclude=X, k=10)
    for u, row in zip(users, order):
        seen = set(X.indices[X.indptr[u] : X.indptr[u + 1]])
        ranked = [j for j in expected if j not in seen][:10]
        assert list(row) == ranked


def test_fit_records_a_trace_through_the_monitor():
    X = generate("small", seed=4)[0].matrix
    model = ItemPop().fit(X, FitMonitor(lambda score_fn: {"pre@5": 0.2}))
    assert model.n_epochs_ == 1 and model.scoring_ == "popularity"
    assert model.trace_[0]["popularity/pre@5"] == 0.2


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        ItemPop().fit(sp.csr_matrix((3, 4)))
    with pytest.raises(ValueError):
        ItemPop(scoring="preference").fit(sp.csr_matrix(np.eye(3)))
