"""`plan` lists exactly what `run` executes; the cost model scales by Table 2's terms."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from fawmf_bench.cli import PROTOCOL_CHOICES, cli
from fawmf_bench.data import load_dataset
from fawmf_bench.experiments import plan as planning
from fawmf_bench.experiments import runner as runner_module
from fawmf_bench.experiments.config import load_config
from fawmf_bench.experiments.costmodel import COMPLEXITY, TERMS, Calibration, CostModel, scaled_epoch_seconds
from fawmf_bench.experiments.runner import PROTOCOLS, RunSettings, run_benchmark
from fawmf_bench.experiments.store import ResultStore


def _settings(config, **kw) -> RunSettings:
    base = dict(datasets=["synthetic"], methods=["itempop", "fawmf"], n_folds=3, seed=7, quiet=True,
                config=load_config(config))
    base.update(kw)
    return RunSettings(**base)


def _executed(monkeypatch) -> list:
    calls = []
    real = runner_module.execute_unit
    monkeypatch.setattr(runner_module, "execute_unit", lambda unit, home: calls.append(unit) or real(unit, home))
    return calls


def test_plan_lists_exactly_the_units_run_executes(tmp_path, small_config, data_home, monkeypatch):
    store = ResultStore(tmp_path / "store")
    empty = planning.plan_units(_settings(small_config), store)
    calls = _executed(monkeypatch)
    run_benchmark(_settings(small_config, folds=[0]), store)          # tuning + fold 0 stored
    tuned = {p.unit for p in empty if p.status == planning.RUN}
    assert tuned == {u for u in calls if u.stage == "tune"} and len(tuned) == 3
    assert sum(p.status == planning.AFTER_TUNING for p in empty) == 6

    planned = planning.plan_units(_settings(small_config), store)
    assert {p.status for p in planned if p.unit.stage == "tune"} == {planning.STORED}
    to_run = {p.unit for p in planned if p.status == planning.RUN}
    calls.clear()
    run_benchmark(_settings(small_config), store)
    assert set(calls) == to_run and len(calls) == len(to_run) == 4   # folds 1 and 2 of both methods
    assert planning.plan_units(_settings(small_config), store) == [
        planning.PlannedUnit(p.unit, planning.STORED) for p in planned]


def test_plan_command_prints_units_costs_and_projection(tmp_path, small_config, data_home):
    args = ["plan", "--methods", "itempop,fawmf", "--folds", "3", "--config", str(small_config),
            "--out", str(tmp_path / "out"), "--workers", "1", "--workers", "4"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "units: 3 to run, 0 stored, 6 final(s) decided after tuning" in result.output
    assert "projected wall time on 1 worker(s)" in result.output and "on 4 worker(s)" in result.output
    assert result.output.count("run          synthetic/fawmf/tune/fold0") == 2
    cache = list((data_home / "costmodel").glob("*.json"))
    assert len(cache) == 1                                           # calibrated once, cached per machine
    again = CliRunner().invoke(cli, args + ["--no-units"])
    assert "calibrating" not in again.output and "synthetic/fawmf/tune" not in again.output


def test_cost_model_scales_by_table_2(tmp_path, small_config, data_home):
    data = load_dataset("synthetic")
    planned = planning.plan_units(_settings(small_config), ResultStore(tmp_path / "s"))
    unit = next(p.unit for p in planned if p.unit.method == "fawmf" and p.unit.stage == "tune")
    model = CostModel(tmp_path / "cost")
    setup, per_epoch = model.epoch_seconds(unit, data)
    cal = model.calibration(unit, data)
    positives = int(data.matrix.nnz * (1 - 1 / 3) * 0.9)                # fold 0's fit_train
    assert cal.small_users == cal.users // 2 and cal.small_epoch_seconds > 0
    assert per_epoch == scaled_epoch_seconds("fawmf", cal, *data.matrix.shape, positives, unit.param_dict) > 0
    short, long = model.unit_seconds(unit, data, epochs=2), model.unit_seconds(unit, data, epochs=12)
    assert long["fit"] > short["fit"] > 0 and long["evaluate"] == short["evaluate"] > 0
    assert COMPLEXITY["exmf"](10, 20, 5, {"factors": 4}) == 10 * 20 * 4


def test_two_samples_separate_table_2s_terms():
    params = {"factors": 20, "communities": 20}
    a, b = 2e-9, 5e-8                                   # seconds per unit of each term

    def seconds(n, r):
        t1, t2 = TERMS["fawmf"](n, 20_000, r, params)
        return a * t1 + b * t2

    cal = Calibration(3000, 20_000, 400_000, 0.0, seconds(3000, 400_000), 1e-9, 1500, 200_000,
                      seconds(1500, 200_000))
    assert scaled_epoch_seconds("fawmf", cal, 120_000, 20_000, 16_000_000, params) == pytest.approx(
        seconds(120_000, 16_000_000))
    ratio_only = cal.epoch_seconds * COMPLEXITY["fawmf"](120_000, 20_000, 16_000_000, params) / COMPLEXITY["fawmf"](
        3000, 20_000, 400_000, params)
    assert ratio_only < 0.5 * seconds(120_000, 16_000_000)   # what scaling the sum alone would miss


def test_workers_projection_is_bounded_by_the_critical_path():
    unit = planning.plan_units(_settings(None, datasets=["synthetic"], methods=["itempop"]),
                               ResultStore("/nonexistent"))[0].unit
    planned = [planning.PlannedUnit(unit, planning.RUN, 10.0), planning.PlannedUnit(unit, planning.RUN, 30.0)]
    assert planning.projected_wall_seconds(planned, 1) == 40.0
    assert planning.projected_wall_seconds(planned, 64) == 30.0


def test_protocol_choices_are_the_runners():
    assert tuple(PROTOCOL_CHOICES) == tuple(PROTOCOLS)


def _fake_probe(epoch_seconds: float, calls: list):
    def probe(method, params, names, data, users, evaluate_too=True):
        calls.append((users, evaluate_too))
        positives = int(data.matrix.nnz * users / data.matrix.shape[0])
        return Calibration(users, data.matrix.shape[1], positives, 0.01, epoch_seconds * users / 1000,
                           1e-9 if evaluate_too else 0.0, users // 2, positives // 2, epoch_seconds * users / 2000)
    return probe


@pytest.mark.parametrize("epoch_seconds, every_user", [(0.001, True), (10.0, False)])
def test_calibration_times_every_user_when_that_is_cheap(monkeypatch, epoch_seconds, every_user):
    """A sample fits in the CPU's caches where the whole dataset may not (FAWMF's Douban-size epoch
    took 4x a one-in-eight sample's prediction): cheap methods are timed again on every user,
    keeping the sample's evaluation rate; expensive ones keep the sample."""
    import scipy.sparse as sp
    from types import SimpleNamespace

    from fawmf_bench.experiments import costmodel

    n = 8 * costmodel.SAMPLE_USERS + 800
    data = SimpleNamespace(matrix=sp.random(n, 50, density=0.1, format="csr", random_state=0), name="fake")
    calls: list = []
    monkeypatch.setattr(costmodel, "_probe", _fake_probe(epoch_seconds, calls))
    calibration = costmodel.calibrate("fawmf", {"factors": 4, "communities": 4}, data)
    sample = costmodel.sample_users(data)
    assert sample == n // costmodel.SAMPLE_FRACTION > costmodel.SAMPLE_USERS
    assert calls == ([(sample, True), (n, False)] if every_user else [(sample, True)])
    assert calibration.users == (n if every_user else sample)
    assert calibration.eval_seconds_per_user_item == 1e-9
