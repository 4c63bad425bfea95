"""Dask execution (a LocalCluster of 2 processes shared by the module) and executor faults."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from fawmf_bench.cli import cli
from fawmf_bench.experiments import executors
from fawmf_bench.experiments.config import load_config
from fawmf_bench.experiments.executors import (FAULT_ENV, DaskExecutor, ExecutorError, local_worker_settings,
                                               make_executor)
from fawmf_bench.experiments.runner import RunSettings, run_and_store, run_benchmark
from fawmf_bench.experiments.store import ResultStore

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")


@pytest.fixture(scope="module")
def cluster():
    # the executor's worker settings: Dask's own would also leave MALLOC_TRIM_THRESHOLD_ in this
    # process's environment, for every later cluster to inherit
    with dask.config.set(local_worker_settings()), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, memory_limit=0, dashboard_address=None) as local:
        yield local


def _settings(config, **kw) -> RunSettings:
    base = dict(datasets=["synthetic"], methods=["itempop", "fawmf"], n_folds=3, seed=7, quiet=True,
                config=load_config(config))
    base.update(kw)
    return RunSettings(**base)


def _same_results(a: ResultStore, b: ResultStore, records_a, records_b) -> None:
    assert sorted(r["key"] for r in records_a) == sorted(r["key"] for r in records_b)
    by_key = {r["key"]: r for r in records_b}
    for ra in records_a:
        rb = by_key[ra["key"]]
        assert json.dumps(ra["metrics"], sort_keys=True) == json.dumps(rb["metrics"], sort_keys=True)
        arrays_b = b.load_arrays(rb)
        for name, array in a.load_arrays(ra).items():
            np.testing.assert_array_equal(array, arrays_b[name])


def test_a_dask_run_equals_a_local_run_bit_for_bit(tmp_path, small_config, data_home, cluster):
    local = ResultStore(tmp_path / "local")
    dask = ResultStore(tmp_path / "dask")
    reference = run_benchmark(_settings(small_config), local)
    records = run_benchmark(_settings(small_config, scheduler=cluster.scheduler_address), dask)
    _same_results(local, dask, reference, records)
    tuned_local = sorted(r["key"] for r in local.records() if r["unit"]["stage"] == "tune")
    assert tuned_local == sorted(r["key"] for r in dask.records() if r["unit"]["stage"] == "tune")


def test_a_worker_killed_mid_unit_is_survived(tmp_path, small_config, data_home, cluster):
    reference_store = ResultStore(tmp_path / "local")
    reference = run_benchmark(_settings(small_config), reference_store)
    marker = tmp_path / "killed"
    with distributed.Client(cluster, set_as_default=False) as client:
        hook = f"synthetic/fawmf/final/fold1={marker}"
        client.run(lambda: os.environ.update({FAULT_ENV: hook}))  # a lambda travels by value
        try:
            store = ResultStore(tmp_path / "dask")
            records = run_benchmark(_settings(small_config, scheduler=cluster.scheduler_address), store)
        finally:
            client.run(lambda: os.environ.pop(FAULT_ENV, None))
    assert marker.exists(), "the fault hook never fired"
    _same_results(reference_store, store, reference, records)
    assert not list((tmp_path / "dask").rglob(".*.json.*"))  # nothing half-written


def test_finals_are_submitted_before_other_methods_tuning_ends(tmp_path, small_config, data_home, cluster, caplog):
    caplog.set_level("DEBUG", logger="fawmf_bench.experiments.runner")
    run_benchmark(_settings(small_config, scheduler=cluster.scheduler_address), ResultStore(tmp_path / "s"))
    events = [r.getMessage() for r in caplog.records if r.name == "fawmf_bench.experiments.runner"]
    # Dask may run the methods' tuning units in any order, so the test does not rely on which
    # grid finishes first: whichever it is, that method's finals are submitted at once, before
    # any other unit is collected (not after every method's tuning).
    completions = [i for i, e in enumerate(events) if " done synthetic/" in e]
    for method in ("itempop", "fawmf"):
        last_tune = max(i for i, e in enumerate(events) if f"done synthetic/{method}/tune/" in e)
        first_final = next(i for i, e in enumerate(events) if e.startswith(f"submit synthetic/{method}/final/"))
        assert last_tune < first_final < min(i for i in completions if i > last_tune)


def test_a_store_no_worker_sees_is_refused_naming_path_and_worker(cluster, tmp_path):
    missing = str(tmp_path / "not-shared")
    with pytest.raises(ExecutorError, match=r"worker tcp://.*not-shared does not exist"):
        DaskExecutor(run_and_store, (), address=cluster.scheduler_address, shared_paths=(missing,))


def test_local_cluster_option_runs_through_the_cli(tmp_path, small_config, data_home):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", "--methods", "itempop", "--folds", "2", "--config", str(small_config),
                                      "--out", str(out), "--cluster", "local:2"])
    assert result.exit_code == 0, result.output
    assert "itempop" in result.output
    assert len(list((out / "store").rglob("final-*.json"))) == 2
    log = (out / "store" / "fawmf-bench.log").read_text()
    assert "local Dask cluster of 2 worker processes" in log and "done synthetic/itempop/final/fold1" in log


def test_an_unreachable_scheduler_exits_2_naming_it(tmp_path, small_config, data_home):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", "--methods", "itempop", "--config", str(small_config), "--out", str(out),
                                      "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output
    assert not list(out.rglob("*-fold*.json"))


def test_dask_missing_names_the_extra(monkeypatch, tmp_path, small_config, data_home):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ExecutorError, match=r'pip install "fawmf-bench\[cluster\]"'):
        make_executor(run_and_store, (), cluster="local:2")
    result = CliRunner().invoke(cli, ["run", "--methods", "itempop", "--config", str(small_config),
                                      "--out", str(tmp_path / "out"), "--cluster", "local:1"])
    assert result.exit_code == 2 and "fawmf-bench[cluster]" in result.output


def test_bad_cluster_spec_and_both_options_exit_2(tmp_path):
    runner = CliRunner()
    for extra in (["--cluster", "remote:2"], ["--cluster", "local:2", "--scheduler", "tcp://x:1"]):
        result = runner.invoke(cli, ["run", "--methods", "itempop", "--out", str(tmp_path), *extra])
        assert result.exit_code == 2, result.output
    assert executors.parse_cluster("local:3") == 3


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_local_cluster_workers_keep_adaptive_malloc_and_stop_when_closed_early(tmp_path):
    executor = DaskExecutor(run_and_store, (), local_workers=1, shared_paths=(str(tmp_path),))
    executor._ready()  # the cluster starts in the background; submit waits the same way
    environ = executor.client.run(lambda: (os.getpid(), os.environ.get("MALLOC_TRIM_THRESHOLD_")))
    ((pid, trim),) = environ.values()
    assert trim is None  # Dask's default disables glibc's adaptive mmap threshold (15% slower units)
    executor.close()  # closed before any unit: the workers stop with it
    assert not _alive(pid)


def test_a_local_cluster_that_fails_to_start_is_one_clear_error(monkeypatch, tmp_path, small_config, data_home):
    def refuse(*args, **kwargs):
        raise OSError("no free port")

    monkeypatch.setattr(distributed, "LocalCluster", refuse)
    executor = DaskExecutor(run_and_store, (), local_workers=2)  # starting in the background: no error yet
    with pytest.raises(ExecutorError, match=r"local Dask cluster did not start \(OSError: no free port\)"):
        executor.submit(None)
    executor.close()
    result = CliRunner().invoke(cli, ["run", "--methods", "itempop", "--config", str(small_config),
                                      "--out", str(tmp_path / "out"), "--cluster", "local:2"])
    assert result.exit_code == 2 and "local Dask cluster did not start" in result.output


_ORPHAN_SCRIPT = """
import time
from fawmf_bench.experiments.executors import DaskExecutor
from fawmf_bench.experiments.runner import run_and_store
executor = DaskExecutor(run_and_store, (), local_workers=2)
executor._ready()
print(" ".join(str(pid) for pid in executor.client.run(__import__("os").getpid).values()), flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_local_cluster_workers_and_fork_server_exit_when_the_parent_is_killed():
    from tests.experiments.test_runner import _children, assert_no_orphans_after_kill

    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    workers = {int(p) for p in parent.stdout.readline().split()}
    descendants, frontier = set(), {parent.pid}
    while frontier:
        frontier = set().union(*(_children(p) for p in frontier)) - descendants
        descendants |= frontier
    assert len(workers) == 2 and workers <= descendants    # the workers (forked from the fork server)
    assert_no_orphans_after_kill(parent, descendants)


def test_a_dataset_not_downloaded_stops_before_any_cluster_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("FAWMF_BENCH_HOME", str(tmp_path / "empty-home"))
    monkeypatch.delenv("FAWMF_BENCH_MIRROR", raising=False)
    started = []
    monkeypatch.setattr(executors.DaskExecutor, "_start_local", lambda *args: started.append(args))
    result = CliRunner().invoke(cli, ["run", "--dataset", "ml-1m", "--out", str(tmp_path / "out"),
                                      "--cluster", "local:2"])
    assert result.exit_code == 2 and "is not in the cache" in result.output
    assert not started
