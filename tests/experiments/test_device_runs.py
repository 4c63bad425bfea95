"""``run --device``: checked before any work; device units keyed apart from CPU units; out of
device memory fails the unit with a clear message and stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fawmf_bench.cli import cli
from fawmf_bench.experiments.config import load_config
from fawmf_bench.experiments.runner import RunFailed, RunSettings, run_benchmark
from fawmf_bench.experiments.store import ResultStore
from fawmf_bench.models import devices


def _run(args: list[str]):
    return CliRunner().invoke(cli, ["run", "--quiet", *args])


def test_cuda_without_torch_is_one_line_and_exit_2(tmp_path, data_home, monkeypatch):
    monkeypatch.setattr(devices, "torch_installed", lambda: False)
    result = _run(["--device", "cuda", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: device 'cuda' needs PyTorch, which is not installed; install PyTorch: "
        'pip install "fawmf-bench[gpu]" (see README, "GPU backend")']
    assert not (tmp_path / "store").exists()


def test_cuda_without_a_visible_device_is_one_line_and_exit_2(tmp_path, data_home):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible here")
    result = _run(["--device", "cuda", "--out", str(tmp_path)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "no CUDA device is visible" in result.output


def test_device_named_in_the_config_is_checked_first(tmp_path, data_home, monkeypatch):
    monkeypatch.setattr(devices, "torch_installed", lambda: False)
    config = tmp_path / "hp.yaml"
    config.write_text("methods:\n  fawmf: {params: {epochs: 2, device: cuda}}\n")
    result = _run(["--methods", "fawmf", "--config", str(config), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "needs PyTorch" in result.output


def test_device_is_for_the_table_experiment_only(tmp_path, data_home):
    pytest.importorskip("torch")
    result = _run(["--device", "torch-cpu", "--experiment", "k-sweep", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--device applies to --experiment table only" in result.output


def _settings(config: Path, **kw) -> RunSettings:
    kw.setdefault("seed", 3)
    return RunSettings(datasets=["synthetic"], methods=["itempop", "fawmf"], n_folds=2, quiet=True,
                       tune=False, config=load_config(config), **kw)


def test_device_units_are_keyed_apart_and_oom_stores_nothing(tmp_path, small_config, data_home, monkeypatch):
    pytest.importorskip("torch")
    from fawmf_bench.models._torch import fawmf as torch_fawmf

    store = ResultStore(tmp_path / "store")
    cpu = run_benchmark(_settings(small_config, folds=[0]), store)
    dev = run_benchmark(_settings(small_config, folds=[0], device="torch-cpu"), store)
    by_method = {r["unit"]["method"]: r for r in cpu}
    for record in dev:
        same = by_method[record["unit"]["method"]]
        if record["unit"]["method"] == "itempop":          # no torch backend: the same unit
            assert record["key"] == same["key"]
        else:
            assert record["key"] != same["key"] and record["unit"]["params"]["device"] == "torch-cpu"
            assert "device" not in same["unit"]["params"]
            assert record["metrics"]["pre@5"] == pytest.approx(same["metrics"]["pre@5"], abs=0.02)
    monkeypatch.setattr(torch_fawmf, "free_device_bytes", lambda device: 2.0**20)
    with pytest.raises(RunFailed, match=r"synthetic/fawmf/tune/fold0: DeviceOutOfMemory: needs about "
                                        r"\d+\.\d\d GiB of device memory, 0\.00 GiB free on torch-cpu"):
        run_benchmark(_settings(small_config, folds=[0], device="torch-cpu", seed=4), store)
    stored = {p.name for p in (tmp_path / "store/synthetic/cv/fawmf").glob("*.json")}
    assert len([n for n in stored if n.startswith("tune")]) == 2   # the cpu and torch-cpu tunes only
