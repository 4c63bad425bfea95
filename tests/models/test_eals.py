"""eALS: kernels against dense references, monotone loss, equivalence with WMF's objective."""

import numpy as np
import pytest
import scipy.sparse as sp

from fawmf_bench.data.synthetic import generate
from fawmf_bench.models import FitMonitor, make_model
from fawmf_bench.models._kernels.csr import balanced_row_blocks
from fawmf_bench.models._kernels.eals import (
    eals_sweep,
    eals_sweep_reference,
    weighted_square_loss,
    weighted_square_loss_reference,
)
from fawmf_bench.models.eals import EALS


def _random_problem(seed=0, n=30, m=20, k=4, density=0.2):
    rng = np.random.default_rng(seed)
    dense = (rng.random((n, m)) < density).astype(np.float64)
    dense[0, :] = 0.0  # a user without positives
    X = sp.csr_matrix(dense)
    X.sort_indices()
    P = rng.normal(0, 0.3, (n, k))
    Q = rng.normal(0, 0.3, (m, k))
    c = rng.uniform(0.1, 2.0, m)
    return rng, dense, X, P, Q, c


@pytest.fixture(scope="module")
def small():
    data, _ = generate("small", seed=1)
    return data.matrix


def test_user_sweep_matches_dense_reference():
    _, dense, X, P, Q, c = _random_problem()
    w, lam = 3.0, 0.1
    expected = eals_sweep_reference(dense, P, Q, np.where(dense > 0, w, c[None, :]), lam)
    got = P.copy()
    cache = (Q * c[:, None]).T @ Q
    eals_sweep(X.indptr.astype(np.int64), X.indices.astype(np.int32), balanced_row_blocks(X.indptr, n_blocks=3),
               got, Q, c, np.ones(len(P)), cache, w, lam, np.empty(X.nnz))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_item_sweep_matches_dense_reference():
    _, dense, X, P, Q, c = _random_problem(seed=3)
    w, lam = 2.0, 0.5
    weights = np.where(dense > 0, w, c[None, :])
    expected = eals_sweep_reference(dense.T, Q, P, weights.T, lam)
    XT = X.T.tocsr()
    XT.sort_indices()
    got = Q.copy()
    eals_sweep(XT.indptr.astype(np.int64), XT.indices.astype(np.int32), balanced_row_blocks(XT.indptr, n_blocks=3),
               got, P, np.ones(len(P)),
               c, P.T @ P, w, lam, np.empty(X.nnz))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_loss_matches_dense_reference():
    _, dense, X, P, Q, c = _random_problem(seed=5)
    got = weighted_square_loss(X.indptr.astype(np.int64), X.indices.astype(np.int32), P, Q, c, 4.0, 0.3)
    expected = weighted_square_loss_reference(dense, P, Q, c, 4.0, 0.3)
    assert got == pytest.approx(expected, rel=1e-10)


def test_item_weights_follow_popularity(small):
    model = EALS(missing_weight=100.0, popularity_exponent=0.5)
    c = model.item_weights(small)
    counts = np.bincount(small.indices, minlength=small.shape[1])
    assert c.sum() == pytest.approx(100.0)
    np.testing.assert_allclose(c / c.max(), np.sqrt(counts) / np.sqrt(counts).max())


def test_loss_falls_every_epoch(small):
    model = EALS(epochs=12, missing_weight=200.0, popularity_exponent=0.5, regularization=0.05).fit(small)
    losses = np.array([row["loss"] for row in model.trace_])
    assert np.all(np.diff(losses) <= 1e-9 * np.abs(losses[:-1]))
    assert losses[-1] < 0.9 * losses[0]


def test_reaches_the_wmf_objective_of_implicit_exact_als(small):
    a, lam, epochs = 4.0, 0.5, 40
    eals = EALS(epochs=epochs, regularization=lam, popularity_exponent=0.0,
                missing_weight=float(small.shape[1]), positive_weight=1.0 + a).fit(small)
    np.testing.assert_allclose(eals.item_weight_, 1.0)
    wmf = make_model("wmf", epochs=epochs, regularization=lam, confidence_scale=a).fit(small)
    eals_loss, wmf_loss = eals.trace_[-1]["loss"], wmf.trace_[-1]["loss"]
    assert eals_loss == pytest.approx(wmf_loss, rel=0.005)
    # both evaluated by the same objective: recompute WMF's from its factors
    recomputed = weighted_square_loss(
        small.indptr.astype(np.int64), small.indices.astype(np.int32),
        eals.user_factors_, eals.item_factors_, np.ones(small.shape[1]), 1.0 + a, lam)
    assert recomputed == pytest.approx(eals_loss, rel=1e-9)


def test_deterministic_by_seed(small):
    first = EALS(epochs=3, random_state=7).fit(small)
    second = EALS(epochs=3, random_state=7).fit(small)
    np.testing.assert_array_equal(first.user_factors_, second.user_factors_)
    assert first.score(np.arange(5)).shape == (5, small.shape[1])


def test_monitor_drives_early_stopping(small):
    calls = []

    def evaluate(score_fn):
        calls.append(score_fn(np.arange(10)).shape)
        return {"pre@5": 1.0 if len(calls) == 1 else 0.5}

    model = EALS(epochs=50).fit(small, FitMonitor(evaluate, every=2, patience=2))
    assert model.best_epoch_ == 2 and model.n_epochs_ == 6
    assert calls[0] == (10, small.shape[1])


@pytest.mark.parametrize("bad", [{"factors": 0}, {"regularization": -1.0},
                                 {"positive_weight": 0.0}, {"scoring": "nope"}])
def test_invalid_hyperparameters(small, bad):
    with pytest.raises(ValueError):
        EALS(**bad).fit(small)
