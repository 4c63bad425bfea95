"""EXMF's torch backend (CPU build of PyTorch) follows the numba / NumPy EM: the E-step is
float32 on both paths, so they agree to float32 rounding."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fawmf_bench.data.synthetic import generate  # noqa: E402
from fawmf_bench.models.base import Scorer  # noqa: E402
from fawmf_bench.models.devices import DeviceOutOfMemory  # noqa: E402
from fawmf_bench.models.exmf import EXMF  # noqa: E402
from fawmf_bench.models._torch import exmf as torch_exmf  # noqa: E402


@pytest.fixture(scope="module")
def matrix():
    return generate("small", seed=0)[0].matrix


def test_em_epochs_follow_the_cpu_path(matrix):
    cpu = EXMF(factors=6, epochs=2, block_users=300).fit(matrix)
    dev = EXMF(factors=6, epochs=2, block_users=300, device="torch-cpu").fit(matrix)
    assert dev.device_ == "torch-cpu" and dev.user_factors_.dtype == np.float64
    np.testing.assert_allclose([r["loss"] for r in dev.trace_], [r["loss"] for r in cpu.trace_], rtol=1e-8)
    for key in ("user_factors_", "item_factors_", "exposure_prior_"):
        a, b = getattr(cpu, key), getattr(dev, key)
        assert np.max(np.abs(a - b)) <= 1e-4 * np.max(np.abs(a)), key
    users = np.arange(20)
    for scoring in EXMF.scorings:
        assert np.allclose(dev.score(users, scoring), cpu.score(users, scoring), rtol=1e-3, atol=1e-6)
        assert Scorer(dev, scoring).device == "torch-cpu"
        assert torch.equal(dev.score_tensor(users, scoring), torch.from_numpy(dev.score(users, scoring)))


def test_out_of_device_memory(matrix, monkeypatch):
    monkeypatch.setattr(torch_exmf, "free_device_bytes", lambda device: 1e5)
    with pytest.raises(DeviceOutOfMemory, match="GiB of device memory"):
        EXMF(factors=6, epochs=1, device="torch-cpu").fit(matrix)
