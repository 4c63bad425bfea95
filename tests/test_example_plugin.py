"""The example plugin (examples/fawmf-bench-ease): its class passes the contract here; the slow
test pip-installs it into a fresh virtual environment and runs methods / datasets / run /
report / its own tests there, with no edit to fawmf-bench."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "fawmf-bench-ease"


@pytest.fixture
def ease_module(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN / "src"))
    import fawmf_bench_ease

    return fawmf_bench_ease


def test_the_example_passes_the_contract(ease_module):
    from fawmf_bench.testing import check_recommender

    check_recommender(ease_module.EASE, {"regularization": 10.0}, bad_params={"regularization": 0.0})


def test_the_example_declares_what_the_report_needs(ease_module):
    ease = ease_module.EASE
    assert ease.name == "ease" and ease.label == "EASE^R" and ease.plot_order > 6
    assert ease.characteristics is not None and ease.tuning_grid and ease.default_params
    assert ease_module.datasets_file().is_file()


@pytest.mark.slow
def test_pip_install_into_a_fresh_venv_then_list_run_report(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    # the system site has fawmf-bench, pip and setuptools (a venv pip would bring an old setuptools)
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items()
           if k not in ("FAWMF_BENCH_DATASETS", "FAWMF_BENCH_PLUGINS", "MPLBACKEND", "PYTHONPATH")}
    env.update(PYTHONPATH=str(ROOT), FAWMF_BENCH_HOME=str(tmp_path / "home"))

    def call(*args: str) -> str:
        out = subprocess.run([str(python), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, f"{args}: {out.stdout}\n{out.stderr}"
        return out.stdout

    source = tmp_path / "plugin"  # pip builds in the source folder: keep the checkout clean
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    call("-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", str(source))
    before = subprocess.run([sys.executable, "-m", "fawmf_bench.cli", "methods"], env=env,
                            capture_output=True, text=True, timeout=300).stdout
    assert "ease" not in before  # installed only in the venv
    listed = call("-m", "fawmf_bench.cli", "methods")
    assert any(line.split()[:2] == ["ease", "EASE^R"] and "plugin fawmf-bench-ease" in line
               for line in listed.splitlines()), listed
    assert "ease-demo" in call("-m", "fawmf_bench.cli", "datasets")
    help_text = call("-m", "fawmf_bench.cli", "--help")
    assert "ease" in help_text.split("Methods:")[1] and "ease-demo" in help_text.split("Datasets:")[1]
    out = tmp_path / "results"
    summary = call("-m", "fawmf_bench.cli", "run", "--dataset", "ease-demo", "--methods", "itempop,ease",
                   "--folds", "2", "--out", str(out), "--quiet")
    assert "ease" in summary
    selection = list((out / "store").rglob("selection.json"))
    assert any("ease" in str(p) for p in selection)  # tuned over the class-declared grid
    call("-m", "fawmf_bench.cli", "report", "--out", str(out))
    table3 = (out / "table3-ease-demo-cv.md").read_text()
    assert "EASE^R" in table3 and table3.index("Item-pop") < table3.index("EASE^R")
    assert "O(m^3 + \\|X+\\|m)" in (out / "table2.md").read_text()
    assert "EASE^R" in (out / "report.html").read_text()
    assert (out / "figure3_running_time.svg").is_file()
    call("-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(source), str(source / "tests"))
