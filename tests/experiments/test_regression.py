"""The metric regression suite: comparison logic on hand-made values, the suite file, a tiny
end-to-end run, and (slow, real data) the committed references against the real suite."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from fawmf_bench.cli import cli
from fawmf_bench.experiments import regression as rg
from fawmf_bench.experiments.config import ConfigError

TINY_SUITE = """
suite:
  datasets: {synthetic: {folds: 2}}
  metrics: [pre@5, ndcg@5]
  tolerance_floor: {absolute: 0.001, relative: 0.0}
methods:
  itempop: {params: {}}
  wmf: {params: {factors: 4, epochs: 1}}
  eals: {params: {factors: 4, epochs: 1}}
  bpr: {params: {factors: 4, epochs: 3}}
  cdae: {params: {factors: 4, epochs: 1}}
  exmf: {params: {factors: 4, epochs: 1}}
  fawmf: {params: {factors: 4, communities: 2, epochs: 2}}
"""


def _suite_text(**replace: str) -> str:
    text = TINY_SUITE
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


@pytest.fixture
def tiny_suite(tmp_path: Path) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(_suite_text())
    return path


def _long(values: dict[tuple[str, str], float], dataset: str = "ml-100k") -> pd.DataFrame:
    return pd.DataFrame([{"dataset": dataset, "method": m, "metric": k, "value": v} for (m, k), v in values.items()])


def _refs(values: dict[tuple[str, str], float], tolerance: float = 0.01) -> pd.DataFrame:
    refs = _long(values).rename(columns={"value": "reference"})
    refs["tolerance"] = tolerance
    return refs


REFERENCE = {("eals", "pre@5"): 0.40, ("fawmf", "pre@5"): 0.42, ("fawmf", "mrr_sum"): 1.50}


# ------------------------------------------------------------------ comparison on hand-made values


def test_within_tolerance_passes() -> None:
    now = _long({("eals", "pre@5"): 0.395, ("fawmf", "pre@5"): 0.429, ("fawmf", "mrr_sum"): 1.50})
    table = rg.compare(now, _refs(REFERENCE))
    assert list(table["status"]) == ["ok", "ok", "ok"]
    assert not rg.failed(table)
    difference = table.set_index(["method", "metric"])["difference"]
    assert difference[("eals", "pre@5")] == pytest.approx(-0.005) and difference[("fawmf", "pre@5")] == pytest.approx(0.009)


def test_drop_beyond_tolerance_fails_and_is_tabled() -> None:
    now = _long({("eals", "pre@5"): 0.40, ("fawmf", "pre@5"): 0.30, ("fawmf", "mrr_sum"): 1.50})
    table = rg.compare(now, _refs(REFERENCE))
    assert table.set_index(["method", "metric"]).loc[("fawmf", "pre@5"), "status"] == "drop"
    assert rg.failed(table)
    text = rg.format_table(table, ["drop"])
    for column in ("method", "metric", "reference", "now", "difference"):
        assert column in text
    assert "fawmf" in text and "-0.1200" in text and "eals" not in text


def test_improvement_beyond_tolerance_is_reported_not_failed() -> None:
    now = _long({("eals", "pre@5"): 0.45, ("fawmf", "pre@5"): 0.42, ("fawmf", "mrr_sum"): 1.50})
    table = rg.compare(now, _refs(REFERENCE))
    assert table.set_index(["method", "metric"]).loc[("eals", "pre@5"), "status"] == "improved"
    assert not rg.failed(table)
    assert "1 improved" in rg.summary_line(table)


def test_boundary_is_within_tolerance() -> None:
    now = _long({("eals", "pre@5"): 0.39, ("fawmf", "pre@5"): 0.43, ("fawmf", "mrr_sum"): 1.50})
    table = rg.compare(now, _refs(REFERENCE, tolerance=0.0100001))
    assert set(table["status"]) == {"ok"}


def test_missing_measurement_fails_and_new_one_is_reported() -> None:
    now = _long({("eals", "pre@5"): 0.40, ("fawmf", "pre@5"): 0.42, ("bpr", "pre@5"): 0.3})
    table = rg.compare(now, _refs(REFERENCE)).set_index(["method", "metric"])["status"]
    assert table[("fawmf", "mrr_sum")] == "missing" and table[("bpr", "pre@5")] == "new"
    assert rg.failed(rg.compare(now, _refs(REFERENCE)))


def test_tolerance_is_three_std_of_model_seed_means_with_floors(tiny_suite: Path) -> None:
    config = rg.load_suite_config(tiny_suite)  # floors: absolute 0.001, relative 0
    current = _long({("eals", "pre@5"): 0.40, ("itempop", "pre@5"): 0.2})
    model_runs = pd.concat([
        _long({("eals", "pre@5"): v, ("itempop", "pre@5"): 0.2}).assign(seed=s) for s, v in enumerate([0.39, 0.41, 0.40])
    ])
    refs = rg.derive_references(current, model_runs, None, config).set_index("method")
    assert refs.loc["eals", "std_model_seeds"] == pytest.approx(0.01)
    assert refs.loc["eals", "tolerance"] == pytest.approx(0.03)
    assert refs.loc["itempop", "tolerance"] == pytest.approx(0.001)  # no variation: the floor
    assert refs.loc["eals", "n_model_seeds"] == 3 and refs.loc["eals", "n_split_seeds"] == 0


def test_references_round_trip(tmp_path: Path, tiny_suite: Path) -> None:
    config = rg.load_suite_config(tiny_suite)
    refs = rg.derive_references(_long({("eals", "pre@5"): 0.4}), None, None, config)
    rg.write_references(tmp_path, refs, {"config_sha1": config.text_sha1})
    back, meta = rg.read_references(tmp_path)
    assert meta["config_sha1"] == config.text_sha1
    pd.testing.assert_frame_equal(back[["reference", "tolerance"]], refs[["reference", "tolerance"]], check_dtype=False)
    with pytest.raises(FileNotFoundError, match="--update"):
        rg.read_references(tmp_path / "absent")


# ------------------------------------------------------------------ the suite file


def test_packaged_suite_covers_every_method_without_tuning() -> None:
    from fawmf_bench.models import MODELS

    config = rg.load_suite_config()
    assert set(config.methods.methods) == set(MODELS)
    assert config.datasets == {"ml-100k": 5, "synthetic": 5}
    for dataset in config.datasets:
        for method in MODELS:
            assert config.methods.method(method, dataset).grid == {}
            params = config.params(method, dataset)
            assert method == "itempop" or 0 < params["epochs"] <= 200
    units = rg.suite_units(config)
    assert len(units) == len(MODELS) * 10 and all(u.stage == "final" for u in units)


@pytest.mark.parametrize("change, message", [
    ({"  itempop: {params: {}}": "  itempop: {params: {}, grid: {}}\n  wmf2: {}"}, "unknown method"),
    ({"wmf: {params: {factors: 4, epochs: 1}}": "wmf: {params: {epochs: 1}, grid: {factors: [4, 8]}}"}, "does not tune"),
    ({"  bpr: {params: {factors: 4, epochs: 3}}\n": ""}, "missing"),
    ({"  metrics: [pre@5, ndcg@5]\n": ""}, "metrics"),
])
def test_bad_suite_files_fail_clearly(tmp_path: Path, change: dict[str, str], message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(_suite_text(**change))
    with pytest.raises(ConfigError, match=message):
        rg.load_suite_config(path)


def test_model_seed_variation_keeps_the_splits(tiny_suite: Path) -> None:
    config = rg.load_suite_config(tiny_suite)
    fixed = {u.label: u for u in rg.suite_units(config, ["bpr", "itempop"])}
    varied = {u.label: u for u in rg.suite_units(config, ["bpr", "itempop"], model_seed_of=5)}
    assert all(varied[k].seed == fixed[k].seed for k in fixed)
    assert varied["synthetic/bpr/final/fold0"].param_dict["random_state"] != varied["synthetic/bpr/final/fold1"].param_dict["random_state"]
    assert "random_state" not in varied["synthetic/itempop/final/fold0"].param_dict
    assert {u.seed for u in rg.suite_units(config, ["bpr"], split_seed=3)} == {3}


# ------------------------------------------------------------------ end to end (tiny, synthetic)


def test_cli_update_then_pass_then_fail_on_a_degraded_config(tmp_path: Path, tiny_suite: Path, data_home: Path) -> None:
    runner = CliRunner()
    refs = tmp_path / "refs"
    base = ["regress", "--config", str(tiny_suite), "--references", str(refs), "--quiet", "--methods", "itempop,bpr"]
    assert runner.invoke(cli, base).exit_code == 2  # no references yet
    update = ["regress", "--update", "--variation-seeds", "0", "--config", str(tiny_suite), "--references", str(refs)]
    assert runner.invoke(cli, update).exit_code == 2  # nothing to keep tolerances from
    rg.write_references(refs, rg.derive_references(
        rg.fold_means(rg.run_suite(rg.load_suite_config(tiny_suite), ["itempop", "bpr"]), ["pre@5", "ndcg@5"]),
        None, None, rg.load_suite_config(tiny_suite)), {})
    passed = runner.invoke(cli, base)
    assert passed.exit_code == 0, passed.output
    assert "4 ok" in passed.output
    degraded = tmp_path / "degraded.yaml"
    # BPR that barely moves from its random initialisation ranks items at random
    degraded.write_text(_suite_text(**{"bpr: {params: {factors: 4, epochs: 3}}":
                                       "bpr: {params: {factors: 4, epochs: 3, learning_rate: 1.0e-9}}"}))
    result = runner.invoke(cli, base[:1] + ["--config", str(degraded)] + base[3:])
    assert result.exit_code == 1, result.output
    assert "drop" in result.output and "bpr" in result.output and "REGRESSION" in result.output


# ------------------------------------------------------------------ the real suite (CI)


@pytest.mark.slow
@pytest.mark.realdata
def test_real_suite_matches_the_committed_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fawmf_bench.data import download

    mirror = os.environ.get("FAWMF_BENCH_MIRROR")
    if not mirror or not Path(mirror).is_dir():
        pytest.skip("FAWMF_BENCH_MIRROR is not set to the dataset mirror")
    monkeypatch.setenv("FAWMF_BENCH_HOME", str(tmp_path / "home"))
    download(["ml-100k"], progress=False)
    config = rg.load_suite_config()
    refs, meta = rg.read_references(rg.DEFAULT_REFERENCES)
    assert meta["config_sha1"] == config.text_sha1, "regression.yaml changed: run `fawmf-bench regress --update`"
    comparison = rg.compare(rg.fold_means(rg.run_suite(config), config.metrics), refs)
    assert not rg.failed(comparison), "\n" + rg.format_table(comparison, ["drop", "missing"])
