"""WMF through implicit's exact ALS: confidence semantics, monotone objective, epoch loop."""

import numpy as np
import pytest
import scipy.sparse as sp

from fawmf_bench.data.synthetic import generate
from fawmf_bench.models import FitMonitor
from fawmf_bench.models._kernels.eals import weighted_square_loss_reference
from fawmf_bench.models.wmf import WMF


@pytest.fixture(scope="module")
def small():
    data, _ = generate("small", seed=2)
    return data.matrix


def _exact_rows(dense, fixed, confidence_scale, lam):
    """Hu et al. Eq. 4: x_u = (Y^T C_u Y + lam I)^-1 Y^T C_u p_u with C = 1 + a X."""
    out = np.empty((dense.shape[0], fixed.shape[1]))
    for u in range(dense.shape[0]):
        conf = 1.0 + confidence_scale * dense[u]
        A = (fixed * conf[:, None]).T @ fixed + lam * np.eye(fixed.shape[1])
        out[u] = np.linalg.solve(A, fixed.T @ (conf * dense[u]))
    return out


def test_item_step_is_the_exact_solve_with_confidence_one_plus_a():
    rng = np.random.default_rng(0)
    dense = (rng.random((40, 25)) < 0.25).astype(np.float64)
    a, lam = 9.0, 0.3
    model = WMF(factors=5, epochs=1, regularization=lam, confidence_scale=a).fit(sp.csr_matrix(dense))
    U = model.user_factors_.astype(np.float64)
    expected = _exact_rows(dense.T, U, a, lam)
    np.testing.assert_allclose(model.item_factors_, expected, rtol=2e-3, atol=2e-4)
    wrong = _exact_rows(dense.T, U, a - 1.0, lam)  # implicit's alpha taken as a: must differ
    assert not np.allclose(model.item_factors_, wrong, rtol=2e-3, atol=2e-4)


def test_loss_is_the_wmf_objective_and_falls(small):
    model = WMF(epochs=8, regularization=0.2, confidence_scale=5.0).fit(small)
    losses = np.array([row["loss"] for row in model.trace_])
    assert np.all(np.diff(losses) <= 1e-4 * losses[:-1])  # float32 factors
    dense = small.toarray().astype(np.float64)
    expected = weighted_square_loss_reference(
        dense, model.user_factors_.astype(np.float64), model.item_factors_.astype(np.float64),
        np.ones(small.shape[1]), 6.0, 0.2)
    assert losses[-1] == pytest.approx(expected, rel=1e-6)


def test_deterministic_by_seed(small):
    first = WMF(epochs=2, random_state=3).fit(small)
    second = WMF(epochs=2, random_state=3).fit(small)
    np.testing.assert_allclose(first.user_factors_, second.user_factors_, rtol=1e-6)
    other = WMF(epochs=2, random_state=4).fit(small)
    assert not np.allclose(first.user_factors_, other.user_factors_)


def test_monitor_keeps_the_best_epoch(small):
    snapshots = []

    def evaluate(score_fn):
        scores = score_fn(np.arange(4))
        snapshots.append(scores.copy())
        return {"pre@5": [0.1, 0.3, 0.2, 0.2, 0.2][len(snapshots) - 1]}

    model = WMF(epochs=20).fit(small, FitMonitor(evaluate, every=1, patience=3))
    assert model.best_epoch_ == 2 and model.n_epochs_ == 5
    assert len(model.trace_) == 5 and "preference/pre@5" in model.trace_[1]
    np.testing.assert_allclose(model.score(np.arange(4)), snapshots[1])


@pytest.mark.parametrize("bad", [{"factors": 0}, {"confidence_scale": -1.0}, {"regularization": -0.1}])
def test_invalid_hyperparameters(small, bad):
    with pytest.raises(ValueError):
        WMF(**bad).fit(small)


def test_rejects_dense_input():
    with pytest.raises(TypeError):
        WMF().fit(np.ones((3, 3)))
