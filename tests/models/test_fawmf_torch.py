"""FAWMF's torch backend (run on the CPU build of PyTorch): gradient, one epoch's update and a
short fit equal to the numba path; the exposure-weight floor rules; memory errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")

from fawmf_bench.data.synthetic import generate  # noqa: E402
from fawmf_bench.models.devices import DeviceOutOfMemory  # noqa: E402
from fawmf_bench.models.fawmf import FAWMF  # noqa: E402
from fawmf_bench.models.fawmf_gradient import FBGDWorkspace, fbgd_loss_and_gradient  # noqa: E402
from fawmf_bench.models._torch import fawmf as torch_fawmf  # noqa: E402
from fawmf_bench.models._torch._sparse import DeviceCSR  # noqa: E402

from .test_fawmf_gradient import D, K, _problem, _rel  # noqa: E402

SMALL = dict(factors=6, communities=4)


@pytest.fixture(scope="module")
def synthetic() -> sp.csr_matrix:
    data, _ = generate("small", seed=0)
    return data.matrix


def _tensors(params: dict[str, np.ndarray]) -> dict[str, "torch.Tensor"]:
    return {k: torch.from_numpy(v.copy()) for k, v in params.items()}


@pytest.mark.parametrize("learn_influence", [False, True])
def test_torch_fbgd_and_dense_gradients_equal_the_numba_fbgd(learn_influence):
    train, params, objective = _problem(3, learn_influence)
    work = FBGDWorkspace(train, train.T.tocsr(), K, D, np.float64)
    loss, grads = fbgd_loss_and_gradient(work, params, objective)
    x = DeviceCSR(train, torch.device("cpu"), torch.float64)
    fast_loss, fast = torch_fawmf.fbgd_loss_and_gradient(x, _tensors(params), objective)
    dense_loss, dense = torch_fawmf.dense_loss_and_gradient(
        torch.from_numpy(train.toarray()), _tensors(params), objective)
    assert set(fast) == set(dense) == set(grads)
    assert fast_loss == pytest.approx(loss, rel=1e-12) and dense_loss == pytest.approx(loss, rel=1e-12)
    for key, reference in grads.items():
        assert _rel(fast[key].numpy(), reference) < 1e-10, key
        assert _rel(dense[key].numpy(), reference) < 1e-10, key


@pytest.mark.parametrize("learner", ["fbgd", "bgd"])
@pytest.mark.parametrize("user_influence", [False, True])
def test_one_epoch_update_equals_the_numba_path(synthetic, learner, user_influence):
    common = dict(SMALL, epochs=1, dtype="float64", learner=learner, user_influence=user_influence)
    cpu = FAWMF(**common).fit(synthetic)
    dev = FAWMF(**common, device="torch-cpu").fit(synthetic)
    assert dev.device_ == "torch-cpu" and cpu.device_ == "cpu"
    assert dev.trace_[0]["loss"] == pytest.approx(cpu.trace_[0]["loss"], rel=1e-12)
    for key in ("user_factors_", "item_factors_", "membership_logits_", "exposure_weight_",
                "exposure_bias_", "user_influence_"):
        assert getattr(dev, key).dtype == np.float64
        assert _rel(getattr(dev, key), getattr(cpu, key)) < 1e-10, key


def test_same_seed_same_start_on_every_device(synthetic):
    frozen = dict(SMALL, epochs=1, learning_rate=0.0, exposure_learning_rate=0.0, random_state=11)
    cpu = FAWMF(**frozen).fit(synthetic)
    dev = FAWMF(**frozen, device="torch-cpu").fit(synthetic)
    for key in ("user_factors_", "item_factors_", "membership_logits_", "exposure_weight_", "exposure_bias_"):
        assert np.array_equal(getattr(dev, key), getattr(cpu, key)), key


def test_float32_fit_follows_float64(synthetic):
    wide = FAWMF(**SMALL, epochs=10, dtype="float64").fit(synthetic)
    narrow = FAWMF(**SMALL, epochs=10, dtype="float32", device="torch-cpu").fit(synthetic)
    assert narrow.user_factors_.dtype == np.float32
    assert narrow.trace_[-1]["loss"] == pytest.approx(wide.trace_[-1]["loss"], rel=1e-5)
    assert np.max(np.abs(narrow.user_factors_ - wide.user_factors_)) < 1e-3


def test_device_scores_and_best_epoch_restore(synthetic):
    calls = []

    def evaluate_fn(score_fn):
        calls.append(score_fn.device)
        return {"pre@5": float(-abs(len(calls) - 2))}          # best at the 2nd evaluation

    from fawmf_bench.models import FitMonitor

    model = FAWMF(**SMALL, epochs=8, dtype="float64", device="torch-cpu", scoring="preference")
    model.fit(synthetic, monitor=FitMonitor(evaluate_fn, every=2, patience=10))
    assert set(calls) == {"torch-cpu"} and model.best_epoch_ == 4
    reference = FAWMF(**SMALL, epochs=4, dtype="float64").fit(synthetic)
    assert _rel(model.user_factors_, reference.user_factors_) < 1e-10
    users = np.arange(10)
    scores = model.score(users, scoring="exposure")
    assert np.allclose(scores, reference.score(users, scoring="exposure"), rtol=1e-10, atol=0)
    assert np.array_equal(model.score_tensor(users, "exposure").numpy(), scores)


def _backend(train, weight_floor: str) -> "torch_fawmf.TorchFAWMF":
    _, params, objective = _problem(5, False)
    params["exposure_weight"][:] = 1e-7              # below the floor
    return torch_fawmf.TorchFAWMF(train, params, objective, "torch-cpu", "fbgd", weight_floor, 0.1, 0.1)


def test_weight_floor_rules():
    train = _problem(5, False)[0]
    projected, on_read = _backend(train, "projected"), _backend(train, "on_read")
    assert torch.all(on_read.read()["exposure_weight"] == 1e-5)
    clamped = on_read.params["exposure_weight"].clamp(min=1e-5)
    projected.params["exposure_weight"].copy_(clamped)
    _, g_read = on_read.loss_and_gradient()
    _, g_proj = projected.loss_and_gradient()
    for key in g_proj:                                # on_read: the gradient at max(floor, shadow)
        assert torch.equal(g_read[key], g_proj[key]), key
    projected.step(1)
    on_read.step(1)
    # same gradient, same Adam move; only the projected rule clamps the stored w afterwards
    move = on_read.params["exposure_weight"] - 1e-7
    assert torch.allclose(projected.params["exposure_weight"], (1e-5 + move).clamp(min=1e-5), rtol=0, atol=1e-15)
    assert torch.any(on_read.params["exposure_weight"] < 1e-5)   # the shadow is not clamped


def test_sgd_learner_refuses_a_torch_device(synthetic):
    with pytest.raises(ValueError, match="runs on the CPU only"):
        FAWMF(learner="sgd", device="torch-cpu").fit(synthetic)


def test_out_of_device_memory_is_a_clear_error(synthetic, monkeypatch):
    monkeypatch.setattr(torch_fawmf, "free_device_bytes", lambda device: 1e6)
    with pytest.raises(DeviceOutOfMemory, match=r"needs about 0\.\d\d GiB of device memory, 0\.00 GiB free"):
        FAWMF(**SMALL, epochs=1, device="torch-cpu").fit(synthetic)
