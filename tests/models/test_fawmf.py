"""FAWMF the model: learners, loss decrease, reproducibility, inspection, exposure recovery."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import spearmanr

from fawmf_bench.data.synthetic import generate
from fawmf_bench.models import FitMonitor, make_model
from fawmf_bench.models.fawmf import FAWMF, bgd_memory_mb

SMALL = dict(factors=6, communities=4)


@pytest.fixture(scope="module")
def synthetic():
    data, truth = generate("small", seed=0)
    return data.matrix, truth


@pytest.fixture(scope="module")
def tiny(synthetic):
    return synthetic[0][:200, :150].tocsr()


def test_registered_under_its_name():
    model = make_model("fawmf", factors=5)
    assert isinstance(model, FAWMF) and model.factors == 5 and model.learner == "fbgd"


def test_loss_decreases_with_default_settings(synthetic):
    model = FAWMF(epochs=30).fit(synthetic[0])
    losses = np.array([row["loss"] for row in model.trace_])
    assert len(losses) == 30 and np.all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    assert losses[-5:].max() < losses[:5].min()
    assert np.mean(np.diff(losses) < 0) > 0.8
    assert [row["epoch"] for row in model.trace_] == list(range(1, 31))
    assert np.all(np.diff([row["seconds"] for row in model.trace_]) > 0)


@pytest.mark.parametrize("user_influence", [False, True])
def test_bgd_and_fbgd_follow_the_same_trajectory(tiny, user_influence):
    kwargs = dict(SMALL, epochs=6, dtype="float64", user_influence=user_influence, eta=0.8)
    fast = FAWMF(learner="fbgd", **kwargs).fit(tiny)
    dense = FAWMF(learner="bgd", **kwargs).fit(tiny)
    for name, value in fast._state().items():
        np.testing.assert_allclose(dense._state()[name], value, rtol=1e-6, atol=1e-9, err_msg=name)
    np.testing.assert_allclose([r["loss"] for r in dense.trace_], [r["loss"] for r in fast.trace_],
                               rtol=1e-9)


def test_bgd_refuses_dense_matrices_over_budget(tiny):
    needed = bgd_memory_mb(tiny.shape, "float32")
    with pytest.raises(ValueError, match=r"needs about .* MB.*bgd_memory_budget_mb"):
        FAWMF(learner="bgd", bgd_memory_budget_mb=needed / 2, epochs=1).fit(tiny)


@pytest.mark.parametrize("sampler,ratio", [("uniform", 1), ("itempop", 5)])
def test_sgd_learns_to_rank_positives_first(synthetic, sampler, ratio):
    train = synthetic[0]
    model = FAWMF(learner="sgd", sampler=sampler, negative_ratio=ratio, batch_size=4096,
                  epochs=4, **SMALL).fit(train)
    assert np.all(np.isfinite([row["loss"] for row in model.trace_]))
    scores = model.score(np.arange(train.shape[0]))
    positives = scores[train.nonzero()]
    assert positives.mean() > scores.mean() + scores.std() * 0.5


def test_sgd_epoch_partitions_every_pair_into_user_ordered_batches(synthetic, monkeypatch):
    train = synthetic[0]
    seen: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    original = FAWMF._sgd_batch

    def record(self, users, items, labels, *args):
        seen.append((users, items, labels))
        return original(self, users, items, labels, *args)

    monkeypatch.setattr(FAWMF, "_sgd_batch", record)
    FAWMF(learner="sgd", negative_ratio=2, batch_size=2048, epochs=1, **SMALL).fit(train)
    users = np.concatenate([u for u, _, _ in seen])
    labels = np.concatenate([lab for _, _, lab in seen])
    expected = np.repeat(np.arange(train.shape[0]), 3 * np.diff(train.indptr))
    np.testing.assert_array_equal(np.sort(users), expected)       # each pair exactly once
    assert labels.sum() >= train.nnz                                # every positive, labelled 1
    assert abs(len(seen) - expected.size / 2048) <= 1
    for batch_users, _, _ in seen:   # two runs in user order: the positives, then the sampled pairs
        assert np.sum(np.diff(batch_users) < 0) <= 1


def test_fit_is_reproducible_for_a_seed(tiny):
    first = FAWMF(epochs=5, **SMALL).fit(tiny)._state()
    again = FAWMF(epochs=5, **SMALL).fit(tiny)._state()
    other = FAWMF(epochs=5, random_state=1, **SMALL).fit(tiny)._state()
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first["user_factors_"], other["user_factors_"])


def test_scoring_and_inspection(tiny):
    model = FAWMF(epochs=5, user_influence=True, **SMALL).fit(tiny)
    n, m = tiny.shape
    users, items = np.array([3, 0, 7]), np.array([5, 1])
    theta = model.community_membership()
    q = model.item_community_exposure()
    assert theta.shape == (n, 4) and q.shape == (m, 4)
    np.testing.assert_allclose(theta.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all((q > 0) & (q < 1))
    gamma = model.exposure(users)
    np.testing.assert_allclose(model.exposure(users, items), gamma[:, items], rtol=1e-6)
    preference = model.score(users, scoring="preference")
    np.testing.assert_allclose(preference, model.user_factors_[users] @ model.item_factors_.T)
    np.testing.assert_allclose(model.score(users, scoring="exposure"), gamma * preference, rtol=1e-5)
    assert np.all(model.exposure_weight_ >= 1e-5) and np.all(model.user_influence_ >= 0)
    assert not np.allclose(model.user_influence_, 1.0)
    with pytest.raises(ValueError, match="unknown scoring"):
        model.score(users, scoring="nope")


@pytest.mark.parametrize("params,match", [
    ({"learner": "als"}, "learner"), ({"sampler": "random"}, "sampler"),
    ({"factors": 0}, "factors"), ({"eta": -1.0}, "eta"), ({"dtype": "int32"}, "dtype"),
    ({"scoring": "best"}, "scoring"),
])
def test_bad_hyperparameters_fail_at_fit(tiny, params, match):
    with pytest.raises(ValueError, match=match):
        FAWMF(epochs=1, **params).fit(tiny)


def test_non_binary_input_is_refused(tiny):
    counts = tiny.copy()
    counts.data[:] = 3.0
    with pytest.raises(ValueError, match="binary"):
        FAWMF(epochs=1).fit(counts)
    with pytest.raises(TypeError):
        FAWMF(epochs=1).fit(tiny.toarray())


def test_monitor_picks_epoch_and_scoring(synthetic):
    matrix = synthetic[0]
    rng = np.random.default_rng(0)
    rows, cols = matrix.nonzero()
    held = rng.random(rows.size) < 0.1
    train = sp.csr_matrix((np.ones((~held).sum(), np.float32), (rows[~held], cols[~held])),
                          shape=matrix.shape)
    target = sp.csr_matrix((np.ones(held.sum()), (rows[held], cols[held])), shape=matrix.shape)

    def evaluate(score_fn):
        users = np.unique(rows[held])
        scores = np.array(score_fn(users), dtype=np.float64)
        scores[train[users].nonzero()] = -np.inf
        top = np.argsort(-scores, axis=1)[:, :5]
        hits = np.take_along_axis(target[users].toarray(), top, axis=1)
        return {"pre@5": float(hits.mean())}

    model = FAWMF(epochs=20, **SMALL).fit(train, FitMonitor(evaluate, every=5, patience=2))
    assert model.scoring_ in FAWMF.scorings
    assert model.best_epoch_ % 5 == 0
    evaluated = [row for row in model.trace_ if "preference/pre@5" in row]
    assert evaluated and all("exposure/pre@5" in row for row in evaluated)
    best = max(max(r["preference/pre@5"], r["exposure/pre@5"]) for r in evaluated)
    assert evaluate(lambda u: model.score(u, scoring=model.scoring_))["pre@5"] == pytest.approx(best)


def test_learned_exposure_ranks_true_exposure(synthetic):
    """Spearman(gamma, true exposure probability) rises well above the untrained model's (a
    constant-weight model has no ranking at all: its correlation is 0)."""
    train, truth = synthetic
    users = np.arange(train.shape[0])
    true = truth.exposure_probability(users).ravel()
    untrained = FAWMF(epochs=1, learning_rate=0.0, exposure_learning_rate=0.0, **SMALL).fit(train)
    trained = FAWMF(epochs=25, **SMALL).fit(train)
    rho_untrained = spearmanr(untrained.exposure(users).ravel(), true)[0]
    rho_trained = spearmanr(trained.exposure(users).ravel(), true)[0]
    assert rho_trained > rho_untrained + 0.1
    assert rho_trained > 0.3
