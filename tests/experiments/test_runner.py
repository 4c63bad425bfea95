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
    timeless = ["fit s"]  # a timing, not a result
    assert summary_table(resumed).drop(columns=timeless).equals(summary_table(reference).drop(columns=timeless))


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


def _events(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "fawmf_bench.experiments.runner"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_finals_are_submitted_as_soon_as_their_own_tuning_is_done(tmp_path, small_config, data_home, caplog, jobs):
    caplog.set_level("DEBUG", logger="fawmf_bench.experiments.runner")
    run_benchmark(_settings(small_config, jobs=jobs), ResultStore(tmp_path / "store"))
    events = _events(caplog)
    submitted = [e.split()[1] for e in events if e.startswith("submit ")]
    # once a method's grid is done, its folds are queued ahead of every grid point still waiting:
    # no tuning unit is submitted before all of them (the queue decides, whichever grid finishes
    # first; with two slots FAWMF's may outrun ItemPop's)
    for method in ("itempop", "fawmf"):
        tuned = max(i for i, e in enumerate(events) if f"done synthetic/{method}/tune/" in e)
        later = [e.split()[1] for e in events[tuned:] if e.startswith("submit ")]
        finals = [i for i, unit in enumerate(later) if unit.startswith(f"synthetic/{method}/final/")]
        assert len(finals) == 3
        assert not any("/tune/" in unit for unit in later[:max(finals)])
    if jobs == 1:  # one slot: itempop's folds overtake FAWMF's waiting grid points
        first_final = events.index("submit synthetic/itempop/final/fold0")
        last_tune = max(i for i, e in enumerate(events) if "done synthetic/fawmf/tune/fold0" in e)
        assert first_final < last_tune
        assert submitted[:4] == ["synthetic/itempop/tune/fold0"] + [f"synthetic/itempop/final/fold{f}" for f in range(3)]
    done = [e for e in events if " done " in e]
    assert len(done) == 9 and all(e.rstrip().endswith(" s") for e in done)   # one line per unit, with its time


def test_monitor_max_users_samples_validation_users_fixed_by_seed(tmp_path, data_home):
    from fawmf_bench.experiments.config import MonitorConfig
    from fawmf_bench.experiments.units import load_split, make_unit, monitor_users

    unit = make_unit("synthetic", "fawmf", {}, 0, "tune", n_folds=3, seed=7, monitor=MonitorConfig(max_users=50))
    _, split = load_split(unit)
    users = monitor_users(split, unit)
    assert len(users) == 50 and np.all(np.diff(split.validation.indptr)[users] > 0)
    other = make_unit("synthetic", "eals", {"epochs": 3}, 0, "tune", n_folds=3, seed=7, monitor=unit.monitor)
    np.testing.assert_array_equal(users, monitor_users(split, other))      # same sample for every method
    assert monitor_users(split, make_unit("synthetic", "fawmf", {}, 0, "tune", n_folds=3, seed=7)) is None


_ORPHAN_SCRIPT = """
import os, sys, time
from fawmf_bench.experiments.executors import PoolExecutor
pool = PoolExecutor(time.sleep, (), 2)
pool.submit(120)
pool.submit(120)
time.sleep(3)
print(" ".join(str(p) for p in pool.pool._processes), flush=True)
time.sleep(120)
"""


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_workers_and_resource_tracker_exit_when_the_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    workers = {int(p) for p in parent.stdout.readline().split()}
    children = _children(parent.pid)
    assert len(workers) == 2 and workers <= children       # the two workers (and the resource tracker)
    assert_no_orphans_after_kill(parent, children)


def assert_no_orphans_after_kill(parent: subprocess.Popen, processes: set[int], seconds: float = 20) -> None:
    """SIGKILL ``parent``; every one of ``processes`` must be gone within ``seconds``."""
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + seconds
    while time.time() < deadline and any(_alive(p) for p in processes):
        time.sleep(0.2)
    assert not [p for p in processes if _alive(p)], "orphans left after kill -9 of the parent"
