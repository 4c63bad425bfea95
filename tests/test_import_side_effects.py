"""Importing fawmf_bench leaves the process alone: no matplotlib backend, no numba layer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "NUMBA_THREADING_LAYER")}
    clean["PYTHONPATH"] = os.pathsep.join([str(ROOT), clean.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**clean, **env},
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_sets_neither_backend_nor_threading_layer():
    out = _python(
        "import os, matplotlib\n"
        "import fawmf_bench, fawmf_bench.models, fawmf_bench.report.build, fawmf_bench.experiments.runner\n"
        "import fawmf_bench.models.fawmf\n"
        "print(os.environ.get('NUMBA_THREADING_LAYER'), matplotlib.rcParams._get_backend_or_none())\n"
    )
    assert out == "None None"


def test_the_runner_path_prefers_workqueue_unless_the_user_chose():
    code = (
        "import numba, numpy as np\n"
        "from fawmf_bench._threading import prefer_workqueue_layer\n"
        "prefer_workqueue_layer()\n"
        "@numba.njit(parallel=True)\n"
        "def total(x):\n"
        "    s = 0.0\n"
        "    for i in numba.prange(x.size):\n"
        "        s += x[i]\n"
        "    return s\n"
        "total(np.ones(1000))\n"
        "print(numba.threading_layer())\n"
    )
    assert _python(code) == "workqueue"
    assert _python(code.replace("print(numba.threading_layer())", "import os; print(os.environ['NUMBA_THREADING_LAYER'])"),
                   NUMBA_THREADING_LAYER="omp") == "omp"
