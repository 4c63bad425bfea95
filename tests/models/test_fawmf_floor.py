"""FAWMF's exposure-weight floor w >= 1e-5 (models/fawmf.py, ``weight_floor``).

The reference is written here from the paper's notation (NOTES.md "FAWMF"), dense and in
float64, independently of the package's gradient code: J(U, V, g, w, b) of Eq. 5 with
Gamma = softmax(g) sigmoid(w * X^T softmax(g) + b)^T (Eq. 6) and the authors' L2 halves, its
gradient checked against central finite differences, then full-batch Adam as in awmf.m:

- on_read:   h <- h - lr * adam(dJ/dw at w = max(floor, h)),  w = max(floor, h)
- projected: w <- max(floor, w - lr * adam(dJ/dw at w))
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, softmax

from fawmf_bench.models.fawmf import FAWMF

FLOOR = 1e-5
SETTINGS = dict(factors=3, communities=2, epsilon=0.01, eta=0.8, learning_rate=0.05,
                exposure_learning_rate=0.1, factor_reg=0.02, membership_reg=0.01,
                exposure_weight_reg=5.0, exposure_bias_reg=0.03, dtype="float64")


def _data(seed: int = 0) -> np.ndarray:
    x = (np.random.default_rng(seed).random((12, 9)) < 0.3).astype(np.float64)
    x[0, 0] = x[1, 1] = 1.0
    return x


def _paper_loss(x, u, v, g, w, b, s=SETTINGS) -> float:
    """Eq. 5 with Eq. 6, dense: sum G (UV^T - X)^2 + eta (1 - G)(eps - X)^2 + L2 / 2."""
    theta = softmax(g, axis=1)
    q = expit(w[:, None] * (x.T @ theta) + b[:, None])
    gamma = theta @ q.T
    fit = np.sum(gamma * (u @ v.T - x) ** 2) + s["eta"] * np.sum((1 - gamma) * (s["epsilon"] - x) ** 2)
    l2 = (s["factor_reg"] * (np.sum(u**2) + np.sum(v**2)) + s["membership_reg"] * np.sum(g**2)
          + s["exposure_weight_reg"] * np.sum(w**2) + s["exposure_bias_reg"] * np.sum(b**2))
    return float(fit + 0.5 * l2)


def _paper_gradient(x, u, v, g, w, b, s=SETTINGS) -> list[np.ndarray]:
    """dJ/d(U, V, g, w, b) by the chain rule through R, Gamma, Q, S and the softmax."""
    theta = softmax(g, axis=1)
    load = x.T @ theta                                       # S, (m, D)
    q = expit(w[:, None] * load + b[:, None])                # Q
    gamma = theta @ q.T
    res = u @ v.T - x
    d_gamma = res**2 - s["eta"] * (s["epsilon"] - x) ** 2   # dJ/dGamma
    d_u = 2 * (gamma * res) @ v + s["factor_reg"] * u
    d_v = 2 * (gamma * res).T @ u + s["factor_reg"] * v
    d_z = (d_gamma.T @ theta) * q * (1 - q)                  # dJ/d(w S + b)
    d_w = np.einsum("jd,jd->j", d_z, load) + s["exposure_weight_reg"] * w
    d_b = d_z.sum(axis=1) + s["exposure_bias_reg"] * b
    d_theta = d_gamma @ q + x @ (d_z * w[:, None])           # direct + through S
    d_g = theta * (d_theta - np.sum(theta * d_theta, axis=1, keepdims=True)) + s["membership_reg"] * g
    return [d_u, d_v, d_g, d_w, d_b]


def _reference_trajectory(x, init, epochs, mode):
    """Full-batch Adam (awmf.m) from ``init`` = [U, V, g, w, b]; returns (params, shadow h)."""
    params = [a.copy() for a in init]
    shadow = init[3].copy()
    moments = [(np.zeros_like(a), np.zeros_like(a)) for a in params]
    rates = [SETTINGS["learning_rate"]] * 2 + [SETTINGS["exposure_learning_rate"]] * 3
    for t in range(1, epochs + 1):
        grads = _paper_gradient(x, *params)
        for k, (grad, rate) in enumerate(zip(grads, rates)):
            first, second = moments[k]
            first[:] = 0.9 * first + 0.1 * grad
            second[:] = 0.999 * second + 0.001 * grad**2
            step = rate * (first / (1 - 0.9**t)) / (np.sqrt(second / (1 - 0.999**t)) + 1e-8)
            if k != 3:
                params[k] = params[k] - step
            elif mode == "on_read":
                shadow = shadow - step
                params[3] = np.maximum(FLOOR, shadow)
            else:
                params[3] = np.maximum(FLOOR, params[3] - step)
                shadow = params[3].copy()
    return params, shadow


def _initial(model: FAWMF, x: np.ndarray) -> list[np.ndarray]:
    """The initialisation FAWMF.fit draws (one epoch of fit would move it)."""
    probe = FAWMF(**SETTINGS, epochs=1, random_state=model.random_state)
    rng = np.random.default_rng(np.random.SeedSequence(probe.random_state))
    n, m = x.shape
    u = rng.uniform(0.0, 0.1, (n, 3))
    v = rng.uniform(0.0, 0.1, (m, 3))
    g = rng.uniform(-0.5, 0.5, (n, 2))
    w = rng.uniform(0.01, 0.02, m)
    b = rng.uniform(-0.5, 0.5, m)
    return [u, v, g, w, b]


def test_paper_reference_gradient_matches_finite_differences():
    x = _data()
    rng = np.random.default_rng(3)
    point = [rng.normal(0, 0.3, (12, 3)), rng.normal(0, 0.3, (9, 3)), rng.normal(0, 0.5, (12, 2)),
             rng.uniform(0.1, 0.5, 9), rng.normal(0, 0.5, 9)]
    grads = _paper_gradient(x, *point)
    for k, grad in enumerate(grads):
        numeric = np.zeros_like(grad)
        for idx in np.ndindex(grad.shape):
            hi = [a.copy() for a in point]
            lo = [a.copy() for a in point]
            hi[k][idx] += 1e-6
            lo[k][idx] -= 1e-6
            numeric[idx] = (_paper_loss(x, *hi) - _paper_loss(x, *lo)) / 2e-6
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("learner", ["fbgd", "bgd"])
@pytest.mark.parametrize("mode", ["on_read", "projected"])
def test_full_batch_learners_follow_the_paper_reference(learner, mode):
    x = _data()
    epochs = 8
    model = FAWMF(**SETTINGS, epochs=epochs, learner=learner, weight_floor=mode, random_state=4)
    init = _initial(model, x)
    model.fit(sp.csr_matrix(x))
    (u, v, g, w, b), shadow = _reference_trajectory(x, init, epochs, mode)
    for got, want in [(model.user_factors_, u), (model.item_factors_, v),
                      (model.membership_logits_, g), (model.exposure_weight_, w),
                      (model.exposure_bias_, b), (model.exposure_weight_shadow_, shadow)]:
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    # the strong L2 on w pushes it to the floor: the shadow drifts below it only when read-clamped
    assert np.all(model.exposure_weight_ >= FLOOR)
    np.testing.assert_array_equal(model.exposure_weight_, np.maximum(FLOOR, model.exposure_weight_shadow_))
    if mode == "on_read":
        assert np.mean(model.exposure_weight_shadow_ < -0.1) > 0.5
        assert np.mean(model.exposure_weight_ == FLOOR) > 0.5
    else:
        np.testing.assert_array_equal(model.exposure_weight_shadow_, model.exposure_weight_)


def test_the_two_rules_part_ways_once_w_hits_the_floor():
    x = sp.csr_matrix(_data())
    fits = {mode: FAWMF(**SETTINGS, epochs=12, weight_floor=mode, random_state=4).fit(x)
            for mode in ("on_read", "projected")}
    # under projection w leaves the floor as soon as the gradient turns; the shadow has to climb back
    assert not np.allclose(fits["on_read"].exposure_weight_, fits["projected"].exposure_weight_)


@pytest.mark.parametrize("sampler", ["uniform", "itempop"])
def test_sgd_learners_read_the_floor_from_the_shadow(sampler):
    x = sp.csr_matrix(_data())
    model = FAWMF(**SETTINGS, epochs=6, learner="sgd", sampler=sampler, negative_ratio=2,
                  batch_size=16, random_state=4).fit(x)
    shadow = model.exposure_weight_shadow_
    assert np.any(shadow < -0.05)                   # unclamped below the floor
    np.testing.assert_array_equal(model.exposure_weight_, np.maximum(FLOOR, shadow))


def test_unknown_floor_rule_is_refused():
    with pytest.raises(ValueError, match="weight_floor must be one of"):
        FAWMF(weight_floor="clip").fit(sp.csr_matrix(_data()))
