"""CDAE's torch backend (mini-batches of users, AdaGrad; run on the CPU build of PyTorch): the
batch gradient against finite differences, a step against a NumPy reference, batch_size=1
against the numba kernel's own ``user_step``, the sampler, the shared initialisation,
reproducibility, a short fit against the numba path and device memory."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")

from fawmf_bench.data.synthetic import generate  # noqa: E402
from fawmf_bench.models import cdae as cdae_module  # noqa: E402
from fawmf_bench.models._kernels.cdae import user_step  # noqa: E402
from fawmf_bench.models.cdae import CDAE  # noqa: E402
from fawmf_bench.models.devices import DeviceOutOfMemory  # noqa: E402
from fawmf_bench.models._torch import cdae as torch_cdae  # noqa: E402
from fawmf_bench.models._torch._sparse import DeviceCSR  # noqa: E402
from fawmf_bench.testing import CHECKS, check_save_load_round_trip, tiny_matrix  # noqa: E402
from tests.models.device_agreement import cpu_and_device_fits  # noqa: E402
from tests.models.finite_differences import central_differences  # noqa: E402

NAMES = torch_cdae.PARAMETER_NAMES
REG, INV_KEEP, LR = 0.05, 1.25, 0.1
CPU = torch.device("cpu")
SMALL_ON_TORCH = {"factors": 3, "epochs": 2, "device": "torch-cpu", "batch_size": 4}


def _params(seed: int, n: int = 5, m: int = 8, k: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = {"input_weights": (m, k), "user_weights": (n, k), "hidden_bias": (k,), "output_weights": (m, k),
              "output_bias": (m,)}
    return {key: rng.normal(0, 0.7, shape) for key, shape in shapes.items()}


def _batch(users, kept, targets, labels) -> torch_cdae.UserBatch:
    """A UserBatch from per-user lists (kept inputs, targets, labels)."""
    def flat(lists):
        owner = np.repeat(np.arange(len(lists)), [len(a) for a in lists])
        return torch.from_numpy(owner), torch.from_numpy(np.concatenate(lists).astype(np.int64))

    kept_owner, kept_items = flat(kept)
    target_owner, target_items = flat(targets)
    return torch_cdae.UserBatch(torch.tensor(users), kept_owner, kept_items, target_owner, target_items,
                                torch.from_numpy(np.concatenate(labels).astype(np.float64)))


#: users 0, 2, 4: kept inputs (subsets of their positives), targets (positives, then
#: negatives; item 6 and 1 are targets of two users) and labels
FIXED = ([0, 2, 4], [[1, 3], [5], []], [[1, 3, 6], [5, 7, 0, 6, 1], [2, 1]],
         [[1, 1, 0], [1, 1, 0, 0, 0], [1, 0]])


def _numpy_loss_and_gradient(params, users, kept, targets, labels, inv_keep=INV_KEEP, reg=REG):
    """sum_u L_u and its gradient, user by user (NumPy; the kernel's formulas)."""
    w_in, v, b, w_out, b_out = (params[key] for key in NAMES)
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    loss = 0.0
    for u, kept_u, targets_u, y in zip(users, kept, targets, labels):
        kept_u, targets_u, y = np.asarray(kept_u, int), np.asarray(targets_u, int), np.asarray(y, float)
        z = 1.0 / (1.0 + np.exp(-(inv_keep * w_in[kept_u].sum(axis=0) + v[u] + b)))
        logits = w_out[targets_u] @ z + b_out[targets_u]
        loss += np.sum(np.logaddexp(0.0, logits) - y * logits)
        loss += 0.5 * reg * (np.sum(w_in[kept_u] ** 2) + np.sum(v[u] ** 2) + np.sum(w_out[targets_u] ** 2))
        d = 1.0 / (1.0 + np.exp(-logits)) - y
        np.add.at(grads["output_weights"], targets_u, d[:, None] * z + reg * w_out[targets_u])
        np.add.at(grads["output_bias"], targets_u, d)
        delta = (d @ w_out[targets_u]) * z * (1 - z)
        np.add.at(grads["input_weights"], kept_u, inv_keep * delta + reg * w_in[kept_u])
        grads["user_weights"][u] += delta + reg * v[u]
        grads["hidden_bias"] += delta
    return loss, grads


def _numpy_adagrad(params, accumulators, grads, lr=LR):
    """Dense AdaGrad (rows with a zero gradient do not move)."""
    for key in params:
        accumulators[key] = accumulators[key] + grads[key] ** 2
        params[key] = params[key] - lr * grads[key] / (np.sqrt(accumulators[key]) + 1e-10)


def _dense(grads, params):
    out = {}
    for key, (rows, grad) in grads.items():
        full = torch.zeros_like(torch.from_numpy(params[key]))
        if rows is None:
            full += grad
        else:
            full[rows] = grad
        out[key] = full.numpy()
    return out


def _tensors(params):
    return {key: torch.from_numpy(value.copy()) for key, value in params.items()}


def test_batch_gradient_equals_finite_differences():
    params = _params(0)
    loss, grads = torch_cdae.cdae_loss_and_gradient(_tensors(params), _batch(*FIXED), INV_KEEP, REG)
    assert float(loss) == pytest.approx(_numpy_loss_and_gradient(params, *FIXED)[0], rel=1e-12)
    analytic = _dense(grads, params)
    numeric = central_differences(lambda p: _numpy_loss_and_gradient(p, *FIXED)[0], params)
    for key in params:
        np.testing.assert_allclose(analytic[key], numeric[key], rtol=1e-7, atol=1e-8, err_msg=key)


def test_gradient_equals_autograd():
    params = _tensors(_params(1))
    batch = _batch(*FIXED)
    _, grads = torch_cdae.cdae_loss_and_gradient(params, batch, INV_KEEP, REG)
    leaves = {key: value.clone().requires_grad_(True) for key, value in params.items()}
    loss, _ = torch_cdae.cdae_loss_and_gradient({k: v.clone() for k, v in leaves.items()}, batch, INV_KEEP, REG)
    # the loss is built from gathers of the leaves' clones: differentiate the returned graph
    auto = torch.autograd.grad(loss, list(leaves.values()))
    for (key, value), expected in zip(leaves.items(), auto):
        np.testing.assert_allclose(_dense(grads, {k: v.detach().numpy() for k, v in leaves.items()})[key],
                                   expected.numpy(), rtol=0, atol=1e-12, err_msg=key)


def test_one_step_equals_the_numpy_reference():
    params = _params(2)
    accumulators = {key: np.abs(np.random.default_rng(3).normal(size=value.shape)) for key, value in params.items()}
    tensors, accumulator_tensors = _tensors(params), _tensors(accumulators)
    _, grads = torch_cdae.cdae_loss_and_gradient(tensors, _batch(*FIXED), INV_KEEP, REG)
    torch_cdae.adagrad_step(tensors, accumulator_tensors, grads, LR)
    _, reference = _numpy_loss_and_gradient(params, *FIXED)
    _numpy_adagrad(params, accumulators, reference)
    for key in NAMES:
        np.testing.assert_allclose(tensors[key].numpy(), params[key], rtol=0, atol=1e-10, err_msg=key)
        np.testing.assert_allclose(accumulator_tensors[key].numpy(), accumulators[key], rtol=0, atol=1e-10)


def test_batch_size_one_is_the_kernels_user_step():
    """Users one at a time (no repeated target within a user): the numba ``user_step`` itself."""
    params = _params(4)
    accumulators = {key: np.zeros_like(value) for key, value in params.items()}
    tensors, accumulator_tensors = _tensors(params), _tensors(accumulators)
    for user, kept, targets, labels in zip(*FIXED):
        _, grads = torch_cdae.cdae_loss_and_gradient(tensors, _batch([user], [kept], [targets], [labels]),
                                                     INV_KEEP, REG)
        torch_cdae.adagrad_step(tensors, accumulator_tensors, grads, LR)
        user_step(user, np.array(kept, dtype=np.int64), np.array(targets, dtype=np.int64),
                  np.array(labels, dtype=np.float64), *(params[k] for k in NAMES),
                  *(accumulators[k] for k in NAMES), INV_KEEP, LR, REG)
    for key in NAMES:
        np.testing.assert_allclose(tensors[key].numpy(), params[key], rtol=0, atol=1e-10, err_msg=key)


def test_an_epoch_replays_its_draws_through_the_reference(monkeypatch):
    rng = np.random.default_rng(5)
    dense = rng.random((12, 10)) < 0.4
    dense[3] = False                                  # skipped: no positives
    train = sp.csr_matrix(dense.astype(np.float32))
    params = _params(6, 12, 10)
    draws = []
    draw = torch_cdae.draw_user_batch
    monkeypatch.setattr(torch_cdae, "draw_user_batch", lambda *a: draws.append(draw(*a)) or draws[-1])
    backend = torch_cdae.TorchCDAE(train, params, corruption=0.2, negatives=2, learning_rate=LR,
                                   regularization=REG, batch_size=4, seed=1, device="torch-cpu")
    backend.step(1)
    assert [len(b.users) for b in draws] == [4, 4, 3] and 3 not in torch.cat([b.users for b in draws])
    accumulators = {key: np.zeros_like(value) for key, value in params.items()}
    expected = {key: value.copy() for key, value in params.items()}
    for b in draws:
        per_user = [[a[owner == s].numpy() for s in range(len(b.users))]
                    for a, owner in ((b.kept_items, b.kept_owner), (b.target_items, b.target_owner),
                                     (b.labels, b.target_owner))]
        _, grads = _numpy_loss_and_gradient(expected, b.users.numpy(), *per_user, inv_keep=1.25)
        _numpy_adagrad(expected, accumulators, grads)
    for key, value in backend.to_numpy().items():
        np.testing.assert_allclose(value, expected[key], rtol=0, atol=1e-10, err_msg=key)


def test_the_sample_of_a_batch():
    rng = np.random.default_rng(0)
    dense = rng.random((40, 30)) < 0.5
    dense[7] = True                                   # consumed everything: no negatives
    train = sp.csr_matrix(dense.astype(np.float32))
    x = DeviceCSR(train, CPU, torch.float32)
    users = torch.arange(40)
    batch = torch_cdae.draw_user_batch(x, users, 0.3, 4, torch.Generator().manual_seed(0), torch.float64)
    owner, items = batch.target_owner.numpy(), batch.target_items.numpy()
    positive = batch.labels.numpy() == 1
    assert np.all(dense[owner[positive], items[positive]]) and not np.any(dense[owner[~positive], items[~positive]])
    counts = dense.sum(axis=1)
    np.testing.assert_array_equal(np.bincount(owner[positive], minlength=40), counts)
    expected_negatives = np.where(counts < 30, 4 * counts, 0)
    np.testing.assert_array_equal(np.bincount(owner[~positive], minlength=40), expected_negatives)
    kept_owner, kept_items = batch.kept_owner.numpy(), batch.kept_items.numpy()
    assert np.all(dense[kept_owner, kept_items])
    assert abs(len(kept_items) / dense.sum() - 0.7) < 0.05


def test_same_start_as_the_cpu_path_and_reproducible_refits(monkeypatch):
    train = generate("small", seed=0)[0].matrix[:300]
    common = dict(factors=4, epochs=1, random_state=7)
    monkeypatch.setattr(cdae_module, "cdae_epoch", lambda *args: 0.0)
    monkeypatch.setattr(torch_cdae.TorchCDAE, "step", lambda self, epoch: 0.0)
    cpu = CDAE(**common).fit(train)
    dev = CDAE(**common, device="torch-cpu").fit(train)
    for key in NAMES:
        assert np.array_equal(getattr(dev, key + "_"), getattr(cpu, key + "_")), key
    monkeypatch.undo()
    first = CDAE(**common, device="torch-cpu").fit(train)
    second = CDAE(**common, device="torch-cpu").fit(train)
    assert first.device_ == "torch-cpu" and first.input_weights_.dtype == np.float32
    assert first.trace_[0]["loss"] == second.trace_[0]["loss"]
    for key in NAMES:
        assert np.array_equal(getattr(first, key + "_"), getattr(second, key + "_")), key
    assert not np.array_equal(first.output_weights_, cpu.output_weights_)   # it trained


@pytest.mark.parametrize("check", [c for c in CHECKS if c is not check_save_load_round_trip],
                         ids=lambda c: c.__name__)
def test_contract_on_torch_cpu(check):
    check(CDAE, SMALL_ON_TORCH)


def test_save_load_keeps_the_parameters_and_the_scores_to_float32_rounding(tmp_path):
    """The loaded model scores with NumPy (scipy's expit), the fitted one on the device
    (torch.sigmoid): equal parameters, scores equal to float32 rounding (not bit for bit)."""
    model = CDAE(**SMALL_ON_TORCH).fit(tiny_matrix())
    again = CDAE.load(model.save(tmp_path / "model.npz"))
    assert again.get_params() == model.get_params() and again._backend is None
    for key in NAMES:
        assert np.array_equal(getattr(again, key + "_"), getattr(model, key + "_")), key
    users = np.arange(tiny_matrix().shape[0])
    np.testing.assert_allclose(again.score(users), model.score(users), rtol=1e-6, atol=1e-6)


def test_a_short_fit_matches_the_numba_path():
    """Different learners (one summed AdaGrad step per 32 users vs per-user Hogwild steps) after
    the default 50 epochs (the batches need more epochs; 1000 users make 32 steps an epoch):
    Pre@5 within 10% relative."""
    cpu, dev, pre_cpu, pre_dev = cpu_and_device_fits(lambda **device: CDAE(factors=8, epochs=50, **device),
                                                     generate("small", seed=0)[0].matrix, batch_size=32)
    print(f"CDAE synthetic small, 50 epochs, batch 32: Pre@5 cpu {pre_cpu:.4f} torch-cpu {pre_dev:.4f}; "
          f"loss cpu {cpu.trace_[-1]['loss']:.4f} torch-cpu {dev.trace_[-1]['loss']:.4f}")
    assert pre_dev == pytest.approx(pre_cpu, rel=0.10)


def test_out_of_device_memory(monkeypatch):
    monkeypatch.setattr(torch_cdae, "free_device_bytes", lambda device: 1e5)
    with pytest.raises(DeviceOutOfMemory, match="GiB of device memory"):
        CDAE(factors=4, epochs=1, device="torch-cpu").fit(generate("small", seed=0)[0].matrix)


def test_the_best_epoch_is_restored_from_the_device_snapshot():
    """A monitor whose metric only falls keeps epoch 1: the fit ends with epoch 1's parameters."""
    from fawmf_bench.models.base import FitMonitor

    train = generate("small", seed=0)[0].matrix[:300]
    falling = iter(range(100, 0, -1))
    monitor = FitMonitor(lambda score_fn: {"pre@5": float(next(falling))}, every=1, patience=10)
    best = CDAE(factors=4, epochs=3, device="torch-cpu").fit(train, monitor)
    once = CDAE(factors=4, epochs=1, device="torch-cpu").fit(train)
    assert best.best_epoch_ == 1 and best.n_epochs_ == 3
    for key in NAMES:
        assert np.array_equal(getattr(best, key + "_"), getattr(once, key + "_")), key
    assert np.array_equal(best.score(np.arange(5)), once.score(np.arange(5)))
