"""The installed package carries datasets.yaml (issue 13, item 9).

The top-level datasets.yaml is the one users read and edit; setup.py copies it into the built
package. The wheel install itself is exercised by .ci/run (a fresh virtual environment)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fawmf_bench.data import registry

REPO = Path(__file__).resolve().parents[1]


def test_source_checkout_reads_the_top_level_registry() -> None:
    if not (REPO / "datasets.yaml").is_file():
        pytest.skip("not a source checkout")
    assert registry.DEFAULT_REGISTRY == REPO / "datasets.yaml"
    assert not registry.PACKAGED_REGISTRY.exists()  # no second copy in the source tree to drift


def test_built_package_carries_an_identical_registry(tmp_path: Path) -> None:
    if not (REPO / "setup.py").is_file():
        pytest.skip("not a source checkout")
    build = tmp_path / "lib"
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(build)], cwd=REPO,
                   check=True, capture_output=True)
    packaged = build / "fawmf_bench" / "data" / "datasets.yaml"
    assert packaged.read_bytes() == (REPO / "datasets.yaml").read_bytes()
    assert (build / "fawmf_bench" / "experiments" / "hyperparameters.yaml").is_file()
