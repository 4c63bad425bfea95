"""Device names and their resolution; the default path never imports torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fawmf_bench.models import devices
from fawmf_bench.models.devices import DeviceUnavailable, resolve_device


def test_cpu_and_auto_without_torch(monkeypatch):
    monkeypatch.setattr(devices, "torch_installed", lambda: False)
    assert resolve_device("cpu") == "cpu" and resolve_device("AUTO") == "cpu"
    for name in ("cuda", "cuda:1", "torch-cpu"):
        with pytest.raises(DeviceUnavailable, match=r'needs PyTorch, which is not installed; install PyTorch: '
                                                    r'pip install "fawmf-bench\[gpu\]"'):
            resolve_device(name)


def test_unknown_device_names():
    for name in ("gpu", "cuda:x", "tpu", ""):
        with pytest.raises(DeviceUnavailable, match="unknown device"):
            resolve_device(name)


def test_cuda_without_a_visible_device():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible here")
    assert resolve_device("auto") == "cpu" and resolve_device("torch-cpu") == "torch-cpu"
    with pytest.raises(DeviceUnavailable, match="no CUDA device is visible"):
        resolve_device("cuda")


def test_default_fit_and_evaluation_never_import_torch():
    code = (
        "import sys, numpy as np\n"
        "import fawmf_bench, fawmf_bench.cli\n"
        "from fawmf_bench.data.synthetic import generate\n"
        "from fawmf_bench.evaluation import evaluate\n"
        "from fawmf_bench.models import make_model\n"
        "from fawmf_bench.models.base import Scorer\n"
        "x = generate('small', seed=0)[0].matrix[:100, :80].tocsr()\n"
        "m = make_model('fawmf', factors=3, communities=2, epochs=2).fit(x)\n"
        "c = x.tocoo(); odd = np.arange(c.nnz) % 2 == 1\n"
        "part = lambda k: __import__('scipy.sparse').sparse.csr_matrix((c.data[k], (c.row[k], c.col[k])), x.shape)\n"
        "evaluate(Scorer(m), part(~odd), part(odd))\n"
        "m.score(np.arange(5))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
