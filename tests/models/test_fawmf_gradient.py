"""FAWMF's gradient: fBGD == dense (original BGD) == finite differences, and kernel references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, softmax

from fawmf_bench.models._kernels.fawmf_sgd import (
    fawmf_batch_gradient,
    fawmf_pair_labels,
    fawmf_pair_labels_reference,
    fawmf_softmax_backward,
)
from fawmf_bench.models._kernels.fbgd import fawmf_adam_step, fawmf_weighted_outer
from fawmf_bench.models.fawmf_gradient import (
    PARAMETER_NAMES,
    FBGDWorkspace,
    Objective,
    dense_loss_and_gradient,
    fbgd_loss_and_gradient,
    item_exposure,
)

N_USERS, N_ITEMS, K, D = 23, 17, 4, 3


def _problem(seed: int, learn_influence: bool, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = (rng.random((N_USERS, N_ITEMS)) < 0.25).astype(dtype)
    x[0, :] = 0.0                                   # a user with no positives
    x[:, 1] = 0.0                                   # an item with no positives
    train = sp.csr_matrix(x)
    params = {
        "user_factors": rng.uniform(-0.5, 0.5, (N_USERS, K)),
        "item_factors": rng.uniform(-0.5, 0.5, (N_ITEMS, K)),
        "membership_logits": rng.uniform(-1.0, 1.0, (N_USERS, D)),
        "exposure_weight": rng.uniform(0.1, 0.6, N_ITEMS),
        "exposure_bias": rng.uniform(-1.0, 1.0, N_ITEMS),
        "user_influence": rng.uniform(0.5, 1.5, N_USERS) if learn_influence else np.ones(N_USERS),
    }
    params = {k: v.astype(dtype) for k, v in params.items()}
    objective = Objective(eta=0.7, epsilon=0.05, factor_reg=0.03, membership_reg=0.002,
                          exposure_weight_reg=0.02, exposure_bias_reg=0.04, influence_reg=0.05,
                          learn_influence=learn_influence)
    return train, params, objective


def _fbgd(train, params, objective):
    work = FBGDWorkspace(train, train.T.tocsr(), K, D, params["user_factors"].dtype)
    loss, grads = fbgd_loss_and_gradient(work, params, objective)
    return loss, {k: v.copy() for k, v in grads.items()}


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.mark.parametrize("learn_influence", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_fbgd_gradient_equals_dense_gradient(seed, learn_influence):
    train, params, objective = _problem(seed, learn_influence)
    dense_loss, dense_grads = dense_loss_and_gradient(train, params, objective)
    fast_loss, fast_grads = _fbgd(train, params, objective)
    expected = set(PARAMETER_NAMES) if learn_influence else set(PARAMETER_NAMES[:5])
    assert set(dense_grads) == set(fast_grads) == expected
    assert fast_loss == pytest.approx(dense_loss, rel=1e-10)
    for name in expected:
        assert _rel(fast_grads[name], dense_grads[name]) < 1e-8, name


@pytest.mark.parametrize("learn_influence", [False, True])
def test_dense_gradient_matches_finite_differences(learn_influence):
    train, params, objective = _problem(3, learn_influence)
    _, grads = dense_loss_and_gradient(train, params, objective)
    rng = np.random.default_rng(7)
    step = 1e-6
    for name, grad in grads.items():
        for flat in rng.choice(grad.size, size=min(6, grad.size), replace=False):
            idx = np.unravel_index(flat, grad.shape)
            shifted = {k: v.copy() for k, v in params.items()}
            shifted[name][idx] += step
            plus, _ = dense_loss_and_gradient(train, shifted, objective)
            shifted[name][idx] -= 2 * step
            minus, _ = dense_loss_and_gradient(train, shifted, objective)
            numeric = (plus - minus) / (2 * step)
            assert numeric == pytest.approx(grad[idx], rel=1e-5, abs=1e-6), (name, idx)


def test_fbgd_float32_agrees_with_float64():
    train, params, objective = _problem(4, True)
    loss64, grads64 = _fbgd(train, params, objective)
    loss32, grads32 = _fbgd(train, {k: v.astype(np.float32) for k, v in params.items()}, objective)
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    for name, grad in grads64.items():
        assert grads32[name].dtype == np.float32
        assert _rel(grads32[name].astype(np.float64), grad) < 1e-4, name


def test_item_exposure_matches_numpy():
    train, params, _ = _problem(5, True)
    theta = softmax(params["membership_logits"], axis=1)
    load, exposure = item_exposure(train.T.tocsr(), theta, params)
    expected_load = train.T @ (params["user_influence"][:, None] * theta)
    w, b = params["exposure_weight"], params["exposure_bias"]
    np.testing.assert_allclose(load, expected_load, rtol=1e-12)
    np.testing.assert_allclose(exposure, expit(w[:, None] * expected_load + b[:, None]), rtol=1e-12)


def test_weighted_outer_matches_numpy():
    rng = np.random.default_rng(0)
    weights, factors = rng.random((9, D)), rng.random((9, K))
    out = np.empty((9, D * K))
    fawmf_weighted_outer(weights, factors, out)
    np.testing.assert_allclose(out, (weights[:, :, None] * factors[:, None, :]).reshape(9, D * K))


def test_adam_step_matches_numpy_and_respects_floor():
    rng = np.random.default_rng(1)
    param, grad = rng.normal(size=50), rng.normal(size=50)
    first, second = rng.random(50), rng.random(50)
    m = 0.9 * first + 0.1 * grad
    v = 0.999 * second + 0.001 * grad**2
    expected = param - 0.05 * (m / (1 - 0.9**3)) / (np.sqrt(v / (1 - 0.999**3)) + 1e-8)
    fawmf_adam_step(param, grad, first, second, 0.05, 3.0, 0.0, param)
    np.testing.assert_allclose(first, m)
    np.testing.assert_allclose(second, v)
    np.testing.assert_allclose(param, np.maximum(expected, 0.0))
    assert np.any(expected < 0)


def test_pair_labels_match_reference():
    train, _, _ = _problem(6, False)
    rng = np.random.default_rng(2)
    users, items = rng.integers(0, N_USERS, 300), rng.integers(0, N_ITEMS, 300)
    labels = np.empty(300)
    fawmf_pair_labels(train.indptr, train.indices, users, items, labels)
    np.testing.assert_array_equal(labels, fawmf_pair_labels_reference(train, users, items))
    assert 0 < labels.sum() < 300


def test_batch_gradient_matches_dense_restriction():
    """The sgd kernel on ALL pairs equals the dense gradient with S held fixed (no S path)."""
    train, params, objective = _problem(8, False)
    theta = softmax(params["membership_logits"], axis=1)
    _, q = item_exposure(train.T.tocsr(), theta, params)
    users, items = (a.ravel() for a in np.meshgrid(np.arange(N_USERS), np.arange(N_ITEMS), indexing="ij"))
    labels = train.toarray().ravel()
    u, v = params["user_factors"], params["item_factors"]
    grads = [np.zeros_like(u), np.zeros_like(v), np.zeros_like(theta), np.zeros_like(q)]
    loss = fawmf_batch_gradient(users, items, labels, u, v, theta, q, objective.eta,
                                objective.epsilon, *grads)
    x = train.toarray()
    gamma, res = theta @ q.T, u @ v.T - x
    miss = (objective.epsilon - x) ** 2
    assert loss == pytest.approx(np.sum(gamma * res**2 + objective.eta * (1 - gamma) * miss))
    d_res, d_gamma = 2 * gamma * res, res**2 - objective.eta * miss
    for got, want in zip(grads, (d_res @ v, d_res.T @ u, d_gamma @ q, d_gamma.T @ theta)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    out = np.empty_like(theta)
    fawmf_softmax_backward(theta, grads[2], params["membership_logits"], 0.1, 0.5, out)
    dot = np.sum(theta * grads[2], axis=1, keepdims=True)
    np.testing.assert_allclose(out, theta * (grads[2] - dot) + 0.05 * params["membership_logits"])
