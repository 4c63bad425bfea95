from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fawmf_bench.experiments import runner as runner_module
from fawmf_bench.experiments.config import load_config
from fawmf_bench.experiments.runner import RunFailed, RunSettings, run_benchmark
from fawmf_bench.experiments.store import ResultStore
from fawmf_bench.report.tables import summary_table


def _settings(config: Path, **kw) -> RunSettings:
    base = dict(datasets=["synthetic"], methods=["itempop", "fawmf"], n_folds=3, seed=7, quiet=True,
                config=load_config(config))
    base.update(kw)
    return RunSettings(**base)


def _metrics(records):
    return sorted((r["unit"]["method"], r["unit"]["fold"], json.dumps(r["metrics"], sort_keys=True)) for r in records)


def test_run_tunes_then_runs_every_fold_and_writes_selection(tmp_path, small_config, data_home):
    store = ResultStore(tmp_path / "store")
    records = run_benchmark(_settings(small_config), store)
    assert sorted((r["unit"]["method"], r["unit"]["fold"]) for r in records) == [
        (m, f) for m in ("fawmf", "itempop") for f in range(3)
    ]
    selection = json.loads((tmp_path / "store/synthetic/cv/fawmf/selection.json").read_text())
    assert len(selection["grid"]) == 2
    best = max(selection["grid"], key=lambda g: g["validation"]["pre@5"])
    assert selection["chosen"]["learning_rate"] == best["params"]["learning_rate"]
    assert selection["chosen"]["epochs"] == best["best_epoch"]
    for record in records:
        assert record["dataset_checksum"]
        assert record["provenance"]["versions"]["numpy"]
        arrays = store.load_arrays(record)
        assert len(arrays["users"]) == record["n_users"]
        assert np.isclose(arrays["pre@5"].mean(), record["metrics"]["pre@5"])


def test_widened_grid_supersedes_the_old_finals(tmp_path, small_config, data_home):
    full = run_benchmark(_settings(small_config, methods=["fawmf"]), ResultStore(tmp_path / "reference"))
    winner = full[0]["unit"]["params"]["learning_rate"]
    loser = 0.1 if winner == 0.05 else 0.05
    narrow = tmp_path / "narrow.yaml"
    narrow.write_text(small_config.read_text().replace("[0.05, 0.1]", f"[{loser}]"))

    store = ResultStore(tmp_path / "store")
    run_benchmark(_settings(narrow, methods=["fawmf"]), store)
    run_benchmark(_settings(small_config, methods=["fawmf"]), store)      # the grid widened
    finals = store.final_records()
    assert sorted(r["unit"]["fold"] for r in finals) == [0, 1, 2]
    assert {r["unit"]["params"]["learning_rate"] for r in finals} == {winner}
    assert _metrics(finals) == _metrics(full)
    stale = [r for r in store.records() if r["unit"]["stage"] == "final" and r not in finals]
    assert {r["unit"]["params"]["learning_rate"] for r in stale} == {loser} and len(stale) == 3
    assert len(summary_table(finals)) == 1                               # no duplicate folds


def test_rerun_reuses_the_store(tmp_path, small_config, data_home, monkeypatch):
    store = ResultStore(tmp_path / "store")
    first = run_benchmark(_settings(small_config), store)
    calls = []
    monkeypatch.setattr(runner_module, "execute_unit", lambda unit, home: calls.append(unit) or 1 / 0)
    second = run_benchmark(_settings(small_config), store)
    assert calls == []
    assert _metrics(first) == _metrics(second)


def test_resume_after_a_crash_computes_only_the_missing_units(tmp_path, small_config, data_home, monkeypatch):
    reference = run_benchmark(_settings(small_config), ResultStore(tmp_path / "reference"))

    store = ResultStore(tmp_path / "store")
    real = runner_module.execute_unit

    def crash_on_fold_1(unit, home):
        if unit.stage == "final" and unit.fold == 1 and unit.method == "fawmf":
            raise RuntimeError("simulated crash halfway")
        return real(unit, home)

    monkeypatch.setattr(runner_module, "execute_unit", crash_on_fold_1)
    with pytest.raises(RunFailed, match="fawmf/final/fold1"):
        run_benchmark(_settings(small_config), store)

    computed = []
    monkeypatch.setattr(runner_module, "execute_unit", lambda unit, home: computed.append(unit.label) or real(unit, home))
    resumed = run_benchmark(_settings(small_config), store)
    assert computed == ["synthetic/fawmf/final/fold1"]
    assert _metrics(resumed) == _metrics(reference)
    assert summary_table(resumed).equals(summary_table(reference))


def test_whole_run_is_deterministic_for_a_fixed_seed(tmp_path, small_config, data_home):
    a = run_benchmark(_settings(small_config), ResultStore(tmp_path / "a"))
    b = run_benchmark(_settings(small_config), ResultStore(tmp_path / "b"))
    assert _metrics(a) == _metrics(b)
    store_a, store_b = ResultStore(tmp_path / "a"), ResultStore(tmp_path / "b")
    for ra, rb in zip(sorted(a, key=lambda r: r["key"]), sorted(b, key=lambda r: r["key"])):
        for name, array in store_a.load_arrays(ra).items():
            np.testing.assert_array_equal(array, store_b.load_arrays(rb)[name])


def _run_in_process(config: str, store: str, home: str) -> None:
    os.environ["FAWMF_BENCH_HOME"] = home
    run_benchmark(_settings(Path(config)), ResultStore(store))


@pytest.mark.slow
def test_two_concurrent_runs_on_one_store(tmp_path, small_config, data_home):
    context = multiprocessing.get_context("spawn")
    args = (str(small_config), str(tmp_path / "store"), str(data_home))
    procs = [context.Process(target=_run_in_process, args=args) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0
    store = ResultStore(tmp_path / "store")
    records = list(store.records())
    assert len([r for r in records if r["unit"]["stage"] == "final"]) == 6
    assert not list((tmp_path / "store").rglob(".*.json.*"))  # no temporary file left behind
    reference = run_benchmark(_settings(small_config), ResultStore(tmp_path / "reference"))
    assert _metrics([r for r in records if r["unit"]["stage"] == "final"]) == _metrics(reference)


@pytest.mark.slow
def test_kill_9_loses_nothing_completed(tmp_path, small_config, data_home):
    out = tmp_path / "results"
    command = [sys.executable, "-m", "fawmf_bench.cli", "run", "--dataset", "synthetic", "--methods", "itempop,fawmf",
               "--folds", "3", "--seed", "7", "--config", str(small_config), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(command, env={**os.environ, "FAWMF_BENCH_HOME": str(data_home)})
    deadline = time.time() + 240
    while time.time() < deadline and len(list(out.rglob("final-*.json"))) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p: p.read_bytes() for p in out.rglob("*.json") if p.name != "selection.json"}
    assert before, "the run stored nothing before it was killed"
    done = subprocess.run(command, env={**os.environ, "FAWMF_BENCH_HOME": str(data_home)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for path, content in before.items():
        assert path.read_bytes() == content  # completed units were kept, not recomputed
    assert len(list(out.rglob("final-*.json"))) == 6
