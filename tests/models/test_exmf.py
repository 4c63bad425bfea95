"""EXMF (ExpoMF): E-step against the direct posterior, exact M-steps, monotone objective."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import norm

from fawmf_bench.data.dataset import binary_csr
from fawmf_bench.data.synthetic import generate
from fawmf_bench.models import make_model
from fawmf_bench.models._kernels.exmf import exposure_posterior
from fawmf_bench.models.exmf import EXMF


def _random_csr(rng, n, m, density):
    mask = rng.random((n, m)) < density
    mask[np.arange(n), rng.integers(0, m, n)] = True
    r, c = np.nonzero(mask)
    return binary_csr(r, c, (n, m))


def posterior_reference(pred, mu, y, lambda_y):
    """Bayes' rule with scipy's Gaussian density: p(a=1 | y) and log p(y), elementwise."""
    sd = 1.0 / np.sqrt(lambda_y)
    exposed = mu * norm.pdf(y, loc=pred, scale=sd)  # p(y, a=1)
    unexposed = (1.0 - mu) * (y == 0)  # p(y, a=0): y = 0 surely
    evidence = exposed + unexposed
    return exposed / evidence, np.log(evidence)


def objective_reference(model, x, mu):
    """Negative log posterior J (exmf module docstring), dense."""
    pred = model.user_factors_ @ model.item_factors_.T
    _, loglik = posterior_reference(pred, mu, x.toarray(), model.lambda_y)
    a, b = model.prior_a, model.prior_b
    return (
        -loglik.sum()
        + 0.5 * model.lambda_theta * (model.user_factors_**2).sum()
        + 0.5 * model.lambda_beta * (model.item_factors_**2).sum()
        - ((a - 1) * np.log(mu) + (b - 1) * np.log1p(-mu)).sum()
    )


@pytest.mark.parametrize("lambda_y", [1.0, 3.0])
def test_kernel_matches_direct_posterior(lambda_y):
    rng = np.random.default_rng(0)
    n, m, start = 6, 9, 4
    x = _random_csr(rng, start + n + 2, m, 0.3)
    pred = rng.normal(0.0, 0.8, (n, m))
    mu = rng.uniform(0.01, 0.9, m)
    want_p, want_ll = posterior_reference(pred, mu, x[start : start + n].toarray(), lambda_y)
    block = pred.copy()
    loglik = np.zeros(n)
    exposure_posterior(block, mu, lambda_y, x.indptr.astype(np.int64), x.indices.astype(np.int64),
                       start, loglik)
    np.testing.assert_allclose(block, want_p, rtol=1e-12)
    np.testing.assert_allclose(loglik, want_ll.sum(axis=1), rtol=1e-12)
    skipped = pred.copy()  # loglik work is optional
    exposure_posterior(skipped, mu, lambda_y, x.indptr.astype(np.int64), x.indices.astype(np.int64),
                       start, np.empty(0))
    np.testing.assert_allclose(skipped, want_p, rtol=1e-12)


def _fitted(x, **params):
    model = EXMF(factors=4, epochs=2, init_std=0.3, random_state=1, **params)
    return model.fit(x)


def _prepare_buffer(model, x, block_users):
    """Re-create fit's scratch state so the update methods can be called one at a time."""
    model._buffer = np.empty((block_users, x.shape[1]), dtype=np.float32)
    model._item_factors32 = model.item_factors_.astype(np.float32)


def test_e_step_blocks_equal_direct_posterior():
    rng = np.random.default_rng(1)
    x = _random_csr(rng, 23, 15, 0.2)
    model = _fitted(x, block_users=5)
    _prepare_buffer(model, x, 5)
    pred = model.user_factors_ @ model.item_factors_.T
    want, _ = posterior_reference(pred, model.exposure_prior_, x.toarray(), model.lambda_y)
    got = np.vstack([model.posterior_block(s, e).copy() for s, e in model._blocks])
    assert len(model._blocks) == 5
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)


def test_m_steps_solve_the_weighted_ridge_problems():
    rng = np.random.default_rng(2)
    x = _random_csr(rng, 17, 12, 0.25)
    model = _fitted(x, block_users=4, lambda_theta=0.1, lambda_beta=0.2, lambda_y=2.0)
    _prepare_buffer(model, x, 4)
    y = x.toarray()
    k = model.factors

    def ridge(weights, factors, targets, lam):
        gram = np.einsum("ri,ik,il->rkl", weights, factors, factors) + lam * np.eye(k)
        return np.linalg.solve(gram, np.einsum("ri,ri,ik->rk", weights, targets, factors)[..., None])[..., 0]

    p, _ = posterior_reference(model.user_factors_ @ model.item_factors_.T, model.exposure_prior_, y, 2.0)
    expected_users = ridge(p, model.item_factors_, y, 0.1 / 2.0)
    model.update_users()
    np.testing.assert_allclose(model.user_factors_, expected_users, rtol=1e-3, atol=1e-5)

    p, _ = posterior_reference(model.user_factors_ @ model.item_factors_.T, model.exposure_prior_, y, 2.0)
    expected_items = ridge(p.T, model.user_factors_, y.T, 0.2 / 2.0)
    model.update_items()
    np.testing.assert_allclose(model.item_factors_, expected_items, rtol=1e-3, atol=1e-5)

    mu_before = model.exposure_prior_.copy()
    p, _ = posterior_reference(model.user_factors_ @ model.item_factors_.T, mu_before, y, 2.0)
    objective = model.update_exposure()
    assert objective == pytest.approx(objective_reference(model, x, mu_before), rel=1e-5)
    n = y.shape[0]
    expected_mu = np.clip((model.prior_a + p.sum(axis=0) - 1) / (model.prior_a + model.prior_b + n - 2),
                          1e-8, 1 - 1e-8)
    np.testing.assert_allclose(model.exposure_prior_, expected_mu, rtol=1e-4)


def test_objective_improves_every_epoch():
    data, _ = generate("small", seed=0)
    model = make_model("exmf", epochs=8, init_mu=0.05, block_users=300, random_state=0)
    model.fit(data.matrix)
    losses = np.array([row["loss"] for row in model.trace_])
    assert np.all(np.diff(losses) <= 1e-6 * np.abs(losses[1:])), losses
    assert losses[-1] < losses[0]
    assert np.all((model.exposure_prior_ > 0) & (model.exposure_prior_ < 1))


def test_block_size_does_not_change_the_fit():
    rng = np.random.default_rng(3)
    x = _random_csr(rng, 40, 30, 0.15)
    small = EXMF(factors=5, epochs=3, block_users=7).fit(x)
    whole = EXMF(factors=5, epochs=3).fit(x)
    np.testing.assert_allclose(small.score(np.arange(40)), whole.score(np.arange(40)), rtol=1e-3, atol=1e-4)


def test_scorings_and_held_out_quality():
    data, truth = generate("small", seed=2)
    coo = data.matrix.tocoo()
    test_mask = np.random.default_rng(0).random(coo.nnz) < 0.2
    train = binary_csr(coo.row[~test_mask], coo.col[~test_mask], data.matrix.shape)
    test = binary_csr(coo.row[test_mask], coo.col[test_mask], data.matrix.shape)
    model = EXMF(factors=8, epochs=10, init_mu=0.05).fit(train)
    users = np.arange(train.shape[0])
    preference = model.score(users, scoring="preference")
    exposure = model.score(users, scoring="exposure")
    np.testing.assert_allclose(exposure, preference * model.exposure_prior_)

    def pre5(scores):
        scores = scores.copy()
        r, c = train.nonzero()
        scores[r, c] = -np.inf
        rows = np.flatnonzero(np.diff(test.indptr))
        top = np.argsort(-scores[rows], axis=1)[:, :5]
        return test[rows][np.arange(len(rows))[:, None], top].sum() / (5 * len(rows))

    random_scores = np.random.default_rng(1).random(train.shape)
    assert pre5(preference) > 2 * pre5(random_scores)
    # learned exposure priors follow item popularity (mu_i is a smoothed exposure rate)
    popularity = np.asarray(train.sum(axis=0)).ravel()
    assert np.corrcoef(model.exposure_prior_, popularity)[0, 1] > 0.5


@pytest.mark.parametrize(
    "params",
    [{"init_mu": 0.0}, {"init_mu": 1.0}, {"lambda_y": 0.0}, {"prior_a": 0.5}, {"block_users": 0},
     {"scoring": "popularity"}],
)
def test_invalid_hyperparameters_fail_at_fit(params):
    x = sp.csr_matrix(np.eye(4, dtype=np.float32))
    with pytest.raises(ValueError):
        EXMF(**params).fit(x)


def test_unknown_scoring_is_rejected():
    model = EXMF(factors=2, epochs=1).fit(sp.csr_matrix(np.eye(4, dtype=np.float32)))
    with pytest.raises(ValueError):
        model.score(np.arange(2), scoring="gamma")
