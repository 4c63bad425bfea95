"""CDAE: sampler, AdaGrad step vs finite differences, epoch kernel vs NumPy, model behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from fawmf_bench.data.dataset import binary_csr
from fawmf_bench.data.synthetic import generate
from fawmf_bench.models import FitMonitor, make_model
from fawmf_bench.models._kernels.cdae import cdae_epoch, draw_user_sample, user_step
from fawmf_bench.models.cdae import CDAE


def _random_csr(rng, n, m, density):
    mask = rng.random((n, m)) < density
    mask[np.arange(n), rng.integers(0, m, n)] = True  # every user has a positive
    r, c = np.nonzero(mask)
    return binary_csr(r, c, (n, m))


def _params(rng, n, m, k, dtype=np.float64):
    return [
        rng.uniform(-0.5, 0.5, (m, k)).astype(dtype),  # input weights W
        rng.uniform(-0.5, 0.5, (n, k)).astype(dtype),  # user node V
        rng.uniform(-0.5, 0.5, k).astype(dtype),  # hidden bias b
        rng.uniform(-0.5, 0.5, (m, k)).astype(dtype),  # output weights W'
        rng.uniform(-0.5, 0.5, m).astype(dtype),  # output bias b'
    ]


def user_loss_reference(params, user, kept, targets, labels, inv_keep, reg):
    """L_u of the kernel's docstring, in NumPy."""
    w_in, v_user, b_hidden, w_out, b_out = params
    z = 1.0 / (1.0 + np.exp(-(inv_keep * w_in[kept].sum(axis=0) + v_user[user] + b_hidden)))
    logits = w_out[targets] @ z + b_out[targets]
    bce = np.logaddexp(0.0, logits) - labels * logits
    sq = (w_in[kept] ** 2).sum() + (v_user[user] ** 2).sum() + (w_out[targets] ** 2).sum()
    return bce.sum() + 0.5 * reg * sq


def _adagrad_reference(param, accum, where, grad, lr):
    accum[where] += grad * grad
    param[where] -= lr * grad / (np.sqrt(accum[where]) + 1e-10)


def user_step_reference(params, accums, user, kept, targets, labels, inv_keep, lr, reg):
    """One AdaGrad step in NumPy; returns L_u. Targets are visited in order (like the kernel),
    so a target drawn twice sees its own first update."""
    w_in, v_user, b_hidden, w_out, b_out = params
    z = 1.0 / (1.0 + np.exp(-(inv_keep * w_in[kept].sum(axis=0) + v_user[user] + b_hidden)))
    loss = 0.5 * reg * ((w_in[kept] ** 2).sum() + (v_user[user] ** 2).sum())
    dz = np.zeros_like(z)
    for i, label in zip(targets, labels):
        row = w_out[i].copy()
        logit = row @ z + b_out[i]
        loss += np.logaddexp(0.0, logit) - label * logit + 0.5 * reg * (row @ row)
        d = 1.0 / (1.0 + np.exp(-logit)) - label
        dz += d * row
        _adagrad_reference(w_out, accums[3], i, d * z + reg * row, lr)
        _adagrad_reference(b_out, accums[4], i, d, lr)
    delta = dz * z * (1 - z)
    _adagrad_reference(w_in, accums[0], kept, inv_keep * delta + reg * w_in[kept], lr)
    _adagrad_reference(v_user, accums[1], user, delta + reg * v_user[user], lr)
    _adagrad_reference(b_hidden, accums[2], slice(None), delta, lr)
    return loss


def test_draw_user_sample_is_valid_and_reproducible():
    rng = np.random.default_rng(0)
    x = _random_csr(rng, 20, 30, 0.2)
    indptr, indices = x.indptr.astype(np.int64), x.indices.astype(np.int64)
    observed = np.zeros(30, dtype=np.bool_)
    for user in range(20):
        positives = set(indices[indptr[user] : indptr[user + 1]])
        kept, targets, labels = draw_user_sample(np.uint64(7), user, indptr, indices, observed, 0.5, 3)
        assert not observed.any()
        assert set(kept) <= positives
        assert set(targets[labels == 1]) == positives and (labels == 1).sum() == len(positives)
        negatives = targets[labels == 0]
        assert len(negatives) == 3 * len(positives)
        assert not set(negatives) & positives
        again = draw_user_sample(np.uint64(7), user, indptr, indices, observed, 0.5, 3)
        np.testing.assert_array_equal(again[1], targets)
    # corruption drops about q of the inputs over many users
    x = _random_csr(rng, 200, 100, 0.3)
    kept_total = sum(
        len(draw_user_sample(np.uint64(1), u, x.indptr.astype(np.int64), x.indices.astype(np.int64),
                             np.zeros(100, np.bool_), 0.3, 0)[0])
        for u in range(200)
    )
    assert abs(kept_total / x.nnz - 0.7) < 0.03


def test_user_step_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    n, m, k, reg, inv_keep = 3, 7, 4, 0.05, 1.0 / 0.75
    params = _params(rng, n, m, k)
    user = 1
    kept = np.array([1, 3], dtype=np.int64)
    targets = np.array([1, 3, 4, 0, 5], dtype=np.int64)
    labels = np.array([1.0, 1.0, 0.0, 0.0, 0.0])
    loss = user_loss_reference(params, user, kept, targets, labels, inv_keep, reg)
    # with a huge AdaGrad accumulator C and lr = sqrt(C), the step is exactly -gradient
    big = 1e16
    updated = [p.copy() for p in params]
    accums = [np.full_like(p, big) for p in params]
    kernel_loss = user_step(user, kept, targets, labels, *updated, *accums, inv_keep, np.sqrt(big), reg)
    assert kernel_loss == pytest.approx(loss, rel=1e-12)
    h = 1e-6
    for index, (param, new) in enumerate(zip(params, updated)):
        analytic = param - new
        numeric = np.zeros_like(param)
        for pos in np.ndindex(param.shape):
            shifted = [p.copy() for p in params]
            shifted[index][pos] += h
            up = user_loss_reference(shifted, user, kept, targets, labels, inv_keep, reg)
            shifted[index][pos] -= 2 * h
            down = user_loss_reference(shifted, user, kept, targets, labels, inv_keep, reg)
            numeric[pos] = (up - down) / (2 * h)
        np.testing.assert_allclose(analytic, numeric, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 2e-4)])
def test_epoch_kernel_matches_numpy_reference(dtype, tol):
    rng = np.random.default_rng(2)
    n, m, k, lr, reg, q, negatives = 40, 25, 5, 0.1, 0.01, 0.25, 2  # one chunk: sequential
    x = _random_csr(rng, n, m, 0.15)
    indptr, indices = x.indptr.astype(np.int64), x.indices.astype(np.int64)
    params = _params(rng, n, m, k, dtype)
    accums = [np.full_like(p, 0.5) for p in params]
    ref_params = [p.astype(np.float64) for p in params]
    ref_accums = [a.astype(np.float64) for a in accums]
    order = rng.permutation(n).astype(np.int64)
    seed = np.uint64(12345)
    expected_loss = 0.0
    observed = np.zeros(m, dtype=np.bool_)
    for user in order:
        kept, targets, labels = draw_user_sample(seed, user, indptr, indices, observed, q, negatives)
        expected_loss += user_step_reference(
            ref_params, ref_accums, user, kept, targets, labels, 1 / (1 - q), lr, reg
        )
    loss = cdae_epoch(indptr, indices, m, order, seed, q, negatives, *params, *accums, lr, reg)
    assert loss == pytest.approx(expected_loss, rel=tol)
    for got, want in zip(params, ref_params):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def _holdout(x, rng, fraction=0.2):
    coo = x.tocoo()
    test = rng.random(coo.nnz) < fraction
    return (binary_csr(coo.row[~test], coo.col[~test], x.shape),
            binary_csr(coo.row[test], coo.col[test], x.shape))


def _precision_at_5(scores, train, test):
    scores = np.array(scores, dtype=np.float64)
    r, c = train.nonzero()
    scores[r, c] = -np.inf
    users = np.flatnonzero(np.diff(test.indptr))
    top = np.argsort(-scores[users], axis=1)[:, :5]
    return test[users][np.arange(len(users))[:, None], top].sum() / (5 * len(users))


def test_fit_learns_and_loss_falls():
    data, _ = generate("small", seed=0)
    train, test = _holdout(data.matrix, np.random.default_rng(0))
    model = make_model("cdae", factors=16, epochs=15, random_state=3)
    assert isinstance(model, CDAE)
    model.fit(train)
    losses = [row["loss"] for row in model.trace_]
    assert len(losses) == 15 and losses[-1] < losses[0]
    scores = model.score(np.arange(train.shape[0]))
    assert scores.shape == train.shape and np.isfinite(scores).all()
    popularity = np.tile(np.asarray(train.sum(axis=0)).ravel(), (train.shape[0], 1))
    untrained = CDAE(factors=16, epochs=1, learning_rate=1e-9).fit(train)
    learned = _precision_at_5(scores, train, test)
    assert learned > _precision_at_5(untrained.score(np.arange(train.shape[0])), train, test)
    assert learned > 0.8 * _precision_at_5(popularity, train, test)


def test_monitor_selects_epoch_and_records_trace():
    data, _ = generate("small", seed=1)
    calls = []

    def evaluate(score_fn):
        calls.append(score_fn(np.arange(5)).shape)
        return {"pre@5": float(len(calls) == 2)}  # best at the second evaluation

    model = CDAE(factors=8, epochs=12).fit(data.matrix, FitMonitor(evaluate, every=3, patience=5))
    assert calls[0] == (5, data.n_items)
    assert model.best_epoch_ == 6 and model.n_epochs_ == 12 and model.scoring_ == "preference"
    assert "preference/pre@5" in model.trace_[2]


def test_fit_is_reproducible_single_chunk():
    rng = np.random.default_rng(4)
    x = _random_csr(rng, 50, 40, 0.1)  # 50 users: one chunk, no races
    a = CDAE(factors=6, epochs=3, random_state=9).fit(x).score(np.arange(50))
    b = CDAE(factors=6, epochs=3, random_state=9).fit(x).score(np.arange(50))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "params", [{"corruption": 1.0}, {"negatives": -1}, {"learning_rate": 0.0}, {"scoring": "exposure"}]
)
def test_invalid_hyperparameters_fail_at_fit(params):
    x = sp.csr_matrix(np.eye(4, dtype=np.float32))
    with pytest.raises(ValueError):
        CDAE(**params).fit(x)


def test_dense_input_is_rejected():
    with pytest.raises(TypeError):
        CDAE().fit(np.eye(3))
