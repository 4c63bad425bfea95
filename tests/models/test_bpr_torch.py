"""BPR's torch backend (synchronous mini-batch SGD, run on the CPU build of PyTorch): the batch
gradient against finite differences, a step against a NumPy reference of the kernel's
per-sample rule (sequential SGD at batch_size=1), the negative sampler, the shared
initialisation, reproducibility, a short fit against the numba path and device memory."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")

from fawmf_bench.data.synthetic import generate  # noqa: E402
from fawmf_bench.models import bpr as bpr_module  # noqa: E402
from fawmf_bench.models.bpr import BPR  # noqa: E402
from fawmf_bench.models.devices import DeviceOutOfMemory  # noqa: E402
from fawmf_bench.models._torch import bpr as torch_bpr  # noqa: E402
from fawmf_bench.models._torch._sparse import DeviceCSR  # noqa: E402
from fawmf_bench.testing import check_recommender, tiny_matrix  # noqa: E402
from tests.models.device_agreement import cpu_and_device_fits  # noqa: E402
from tests.models.finite_differences import central_differences  # noqa: E402

REG = 0.03
CPU = torch.device("cpu")


def _problem(seed: int = 0, n: int = 6, m: int = 9, k: int = 3, size: int = 40):
    """Random float64 parameters and triples (with repeated users and items)."""
    rng = np.random.default_rng(seed)
    params = {"user_factors": rng.normal(0, 0.5, (n, k)), "item_factors": rng.normal(0, 0.5, (m, k)),
              "item_bias": rng.normal(0, 0.5, m)}
    users = rng.integers(0, n, size)
    positives = rng.integers(0, m, size)
    negatives = (positives + rng.integers(1, m, size)) % m   # j != i
    return params, users, positives, negatives


def _tensors(params):
    return {key: torch.from_numpy(value.copy()) for key, value in params.items()}


def _objective(params, users, positives, negatives, reg=REG):
    """sum_s ln sigmoid(x_s) - reg/2 (|p_u|^2 + |q_i|^2 + |q_j|^2 + b_i^2 + b_j^2) (NumPy)."""
    p, qi, qj = params["user_factors"][users], params["item_factors"][positives], params["item_factors"][negatives]
    bi, bj = params["item_bias"][positives], params["item_bias"][negatives]
    x = np.sum(p * (qi - qj), axis=1) + bi - bj
    penalty = np.sum(p * p) + np.sum(qi * qi) + np.sum(qj * qj) + np.sum(bi * bi) + np.sum(bj * bj)
    return float(np.sum(-np.logaddexp(0.0, -x)) - 0.5 * reg * penalty)


def _kernel_update(params, u, i, j, lr, reg):
    """One LearnBPR step exactly as ``bpr_chunk`` (NumPy, in place)."""
    p, qi, qj = params["user_factors"][u].copy(), params["item_factors"][i].copy(), params["item_factors"][j].copy()
    x = p @ (qi - qj) + params["item_bias"][i] - params["item_bias"][j]
    g = 1.0 / (1.0 + np.exp(x))
    params["user_factors"][u] = p + lr * (g * (qi - qj) - reg * p)
    params["item_factors"][i] = qi + lr * (g * p - reg * qi)
    params["item_factors"][j] = qj + lr * (-g * p - reg * qj)
    params["item_bias"][i] += lr * (g - reg * params["item_bias"][i])
    params["item_bias"][j] += lr * (-g - reg * params["item_bias"][j])


def _reference_batch_step(params, users, positives, negatives, lr, reg):
    """The kernel's per-sample directions at the pre-step parameters, summed (NumPy)."""
    p, qi, qj = params["user_factors"][users], params["item_factors"][positives], params["item_factors"][negatives]
    bi, bj = params["item_bias"][positives], params["item_bias"][negatives]
    g = 1.0 / (1.0 + np.exp(np.sum(p * (qi - qj), axis=1) + bi - bj))
    new = {key: value.copy() for key, value in params.items()}
    np.add.at(new["user_factors"], users, lr * (g[:, None] * (qi - qj) - reg * p))
    np.add.at(new["item_factors"], positives, lr * (g[:, None] * p - reg * qi))
    np.add.at(new["item_factors"], negatives, lr * (-g[:, None] * p - reg * qj))
    np.add.at(new["item_bias"], positives, lr * (g - reg * bi))
    np.add.at(new["item_bias"], negatives, lr * (-g - reg * bj))
    return new


@pytest.fixture(scope="module")
def synthetic() -> sp.csr_matrix:
    return generate("small", seed=0)[0].matrix


def test_batch_gradient_equals_finite_differences():
    params, users, positives, negatives = _problem()
    # a step at learning rate 1 adds the batch objective's gradient to the parameters
    stepped = _tensors(params)
    loss = float(torch_bpr.bpr_minibatch_step(stepped, *(torch.from_numpy(a) for a in (users, positives, negatives)),
                                              1.0, REG))
    ascent = {key: stepped[key] - torch.from_numpy(value) for key, value in params.items()}
    assert loss == pytest.approx(-_objective(params, users, positives, negatives, reg=0.0), rel=1e-12)
    numeric = central_differences(lambda p: _objective(p, users, positives, negatives), params)
    for key in params:
        np.testing.assert_allclose(ascent[key].numpy(), numeric[key], rtol=1e-7, atol=1e-8, err_msg=key)


def test_one_minibatch_step_equals_the_numpy_reference():
    params, users, positives, negatives = _problem(1)
    tensors = _tensors(params)
    loss = torch_bpr.bpr_minibatch_step(tensors, *(torch.from_numpy(a) for a in (users, positives, negatives)),
                                        0.1, REG)
    expected = _reference_batch_step(params, users, positives, negatives, 0.1, REG)
    assert float(loss) == pytest.approx(-_objective(params, users, positives, negatives, reg=0.0), rel=1e-12)
    for key, value in expected.items():
        np.testing.assert_allclose(tensors[key].numpy(), value, rtol=0, atol=1e-10, err_msg=key)


def test_batch_size_one_is_the_kernels_sequential_sgd():
    params, users, positives, negatives = _problem(2)
    tensors = _tensors(params)
    for u, i, j in zip(users, positives, negatives):
        torch_bpr.bpr_minibatch_step(tensors, *(torch.tensor([a]) for a in (u, i, j)), 0.1, REG)
        _kernel_update(params, u, i, j, 0.1, REG)
    for key, value in params.items():
        np.testing.assert_allclose(tensors[key].numpy(), value, rtol=0, atol=1e-10, err_msg=key)


def test_an_epoch_replays_its_draws_through_the_reference(monkeypatch):
    """TorchBPR.step: |X+| triples in batches, each step the reference's (batch 5 and 1)."""
    train = tiny_matrix()
    n, m = train.shape
    rng = np.random.default_rng(0)
    start = {"user_factors": rng.normal(0, 0.1, (n, 3)), "item_factors": rng.normal(0, 0.1, (m, 3)),
             "item_bias": np.zeros(m)}
    for batch_size in (5, 1):
        backend = torch_bpr.TorchBPR(train, *start.values(), learning_rate=0.05, regularization=REG,
                                     update_bias=True, batch_size=batch_size, seed=3, device="torch-cpu")
        draws = []
        draw = backend.draw_batch
        monkeypatch.setattr(backend, "draw_batch", lambda size: draws.append(draw(size)) or draws[-1])
        backend.step(1)
        assert [len(d[0]) for d in draws] == [min(batch_size, train.nnz - s) for s in range(0, train.nnz, batch_size)]
        expected = {key: value.copy() for key, value in start.items()}
        for users, positives, negatives in draws:
            expected = _reference_batch_step(expected, users.numpy(), positives.numpy(), negatives.numpy(), 0.05, REG)
        for key, value in backend.to_numpy().items():
            np.testing.assert_allclose(value, expected[key], rtol=0, atol=1e-10, err_msg=key)


def test_sampled_negatives_are_never_positives_and_uniform():
    rng = np.random.default_rng(0)
    dense = rng.random((30, 25)) < 0.6
    dense[4] = True                         # a user who consumed every item: never drawn by BPR
    dense[5] = False
    dense[5, :24] = True                    # a user with a single unconsumed item
    train = sp.csr_matrix(dense.astype(np.float32))
    x = DeviceCSR(train, CPU, torch.float32)
    generator = torch.Generator().manual_seed(0)
    users = torch.from_numpy(np.repeat(np.setdiff1d(np.arange(30), [4]), 400))
    items = x.sample_unconsumed(users, generator).numpy()
    assert not np.any(dense[users.numpy(), items])
    assert np.all(items[users.numpy() == 5] == 24)
    counts = np.bincount(items[users.numpy() == 0], minlength=25)[~dense[0]]
    assert counts.min() > 0.5 * counts.mean() and counts.max() < 1.5 * counts.mean()
    backend = torch_bpr.TorchBPR(train, np.zeros((30, 2)), np.zeros((25, 2)), np.zeros(25), learning_rate=0.1,
                                 regularization=0.0, update_bias=True, batch_size=500, seed=0, device="torch-cpu")
    users, positives, negatives = backend.draw_batch(500)
    u, i, j = users.numpy(), positives.numpy(), negatives.numpy()
    assert len(u) < 500 and not np.any(u == 4) and np.all(dense[u, i]) and not np.any(dense[u, j])


def test_same_start_as_the_cpu_path_and_reproducible_refits(synthetic, monkeypatch):
    common = dict(factors=4, epochs=1, random_state=7)
    monkeypatch.setattr(bpr_module, "bpr_epoch", lambda *args: 0.0)
    monkeypatch.setattr(torch_bpr.TorchBPR, "step", lambda self, epoch: 0.0)
    cpu = BPR(**common).fit(synthetic)
    dev = BPR(**common, device="torch-cpu").fit(synthetic)
    for key in ("user_factors_", "item_factors_", "item_bias_"):
        assert np.array_equal(getattr(dev, key), getattr(cpu, key)), key
    monkeypatch.undo()
    first = BPR(**common, device="torch-cpu", batch_size=2048).fit(synthetic)
    second = BPR(**common, device="torch-cpu", batch_size=2048).fit(synthetic)
    assert first.device_ == "torch-cpu" and first.user_factors_.dtype == np.float64
    assert first.trace_[0]["loss"] == second.trace_[0]["loss"]
    for key in ("user_factors_", "item_factors_", "item_bias_"):
        assert np.array_equal(getattr(first, key), getattr(second, key)), key
        assert not np.array_equal(getattr(first, key), getattr(cpu, key)), key   # it trained


def test_contract_on_torch_cpu():
    check_recommender(BPR, {"factors": 3, "epochs": 2, "device": "torch-cpu", "batch_size": 16})


def test_a_short_fit_matches_the_numba_path(synthetic):
    """Different learners (synchronous mini-batches vs Hogwild): Pre@5 within 10% relative."""
    cpu, dev, pre_cpu, pre_dev = cpu_and_device_fits(
        lambda **device: BPR(factors=8, epochs=30, learning_rate=0.05, **device), synthetic)
    print(f"BPR synthetic small, 30 epochs: Pre@5 cpu {pre_cpu:.4f} torch-cpu {pre_dev:.4f}; "
          f"loss cpu {cpu.trace_[-1]['loss']:.4f} torch-cpu {dev.trace_[-1]['loss']:.4f}")
    assert pre_dev == pytest.approx(pre_cpu, rel=0.10)
    assert dev.trace_[-1]["loss"] == pytest.approx(cpu.trace_[-1]["loss"], rel=0.10)


def test_out_of_device_memory(synthetic, monkeypatch):
    monkeypatch.setattr(torch_bpr, "free_device_bytes", lambda device: 1e5)
    with pytest.raises(DeviceOutOfMemory, match="GiB of device memory"):
        BPR(factors=4, epochs=1, device="torch-cpu").fit(synthetic)


def test_the_best_epoch_is_restored_from_the_device_snapshot(synthetic):
    """A monitor whose metric only falls keeps epoch 1: the fit ends with epoch 1's parameters."""
    from fawmf_bench.models.base import FitMonitor

    falling = iter(range(100, 0, -1))
    monitor = FitMonitor(lambda score_fn: {"pre@5": float(next(falling))}, every=1, patience=10)
    best = BPR(factors=4, epochs=3, device="torch-cpu").fit(synthetic, monitor)
    once = BPR(factors=4, epochs=1, device="torch-cpu").fit(synthetic)
    assert best.best_epoch_ == 1 and best.n_epochs_ == 3
    for key in ("user_factors_", "item_factors_", "item_bias_"):
        assert np.array_equal(getattr(best, key), getattr(once, key)), key
    assert np.array_equal(best.score(np.arange(5)), once.score(np.arange(5)))
