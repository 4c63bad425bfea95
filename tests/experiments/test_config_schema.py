"""Config files validated when loaded (issue 13, item 5): file, key, expected type, allowed values;
exit code 2 from the CLI, before any work."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from fawmf_bench._schema import check_fields
from fawmf_bench.cli import cli
from fawmf_bench.experiments.config import MONITOR_CUTOFFS, ConfigError, MonitorConfig, load_config
from fawmf_bench.experiments.regression import load_suite_config
from fawmf_bench.experiments.units import Unit

BAD_HYPERPARAMETERS = [
    ('monitor: {every: "often"}\n', "monitor.every: expected an integer, got 'often'"),
    ("monitor: {every: 0}\n", "monitor.every: expected an integer >= 1, got 0"),
    ("monitor: {metric: foo@5}\n", "monitor.metric: got 'foo@5'; allowed: pre@5"),
    ("monitor: {patience: 2.5}\n", "monitor.patience: expected an integer, got 2.5"),
    ('methods:\n  fawmf:\n    params: {factors: "twenty"}\n', "methods.fawmf.params.factors: expected an integer, got 'twenty'"),
    ("methods:\n  fawmf:\n    grid: {learning_rate: [0.1, fast]}\n",
     "methods.fawmf.grid.learning_rate[1]: expected a number, got 'fast'"),
    ("methods:\n  bpr:\n    params: {item_bias: 1}\n", "methods.bpr.params.item_bias: expected true or false, got 1"),
    ("methods:\n  fawmf:\n    params: {scoring: best}\n", "methods.fawmf.params.scoring: got 'best'; allowed:"),
    ("methods:\n  wmf:\n    datasets:\n      ml-1m: {monitor: {every: -3}}\n",
     "methods.wmf.datasets.ml-1m.monitor.every: expected an integer >= 1"),
    ("methods:\n  wmf:\n    datasets:\n      ml-1m: {grids: {}}\n", "methods.wmf.datasets.ml-1m: unknown key(s) ['grids']"),
    ("methods: [wmf]\n", "methods: expected a mapping"),
    ("experiments:\n  convergence: {sgd_learning_rates: 0.1}\n",
     "experiments.convergence.sgd_learning_rates: expected a list of numbers, got 0.1"),
    ("monitor: [\n", "not valid YAML"),
]


@pytest.mark.parametrize("text, message", BAD_HYPERPARAMETERS)
def test_bad_hyperparameter_file_is_one_line_with_exit_2(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "hp.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)
    result = CliRunner().invoke(cli, ["run", "--config", str(path), "--methods", "itempop", "--quiet",
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()  # nothing ran


def test_values_are_checked_not_converted(tmp_path: Path) -> None:
    """Config values are hashed into unit keys: an integer where a float is declared stays an integer."""
    path = tmp_path / "hp.yaml"
    path.write_text("methods:\n  eals:\n    params: {missing_weight: 1024}\n")
    assert load_config(path).method("eals", "ml-1m").params["missing_weight"] == 1024
    assert isinstance(load_config(path).method("eals", "ml-1m").params["missing_weight"], int)


def test_a_field_added_to_a_dataclass_is_validated_without_more_code() -> None:
    @dataclasses.dataclass(frozen=True)
    class Extended(MonitorConfig):
        max_users: int | None = dataclasses.field(default=None, metadata={"min": 1})

    assert check_fields({"max_users": 500}, Extended, "monitor", "f.yaml") == {"max_users": 500}
    assert check_fields({"max_users": None}, Extended, "monitor", "f.yaml") == {"max_users": None}
    with pytest.raises(ValueError, match=r"f.yaml: monitor.max_users: expected an integer or null, got 'all'"):
        check_fields({"max_users": "all"}, Extended, "monitor", "f.yaml")
    with pytest.raises(ValueError, match=r"monitor.max_users: expected an integer or null >= 1, got 0"):
        check_fields({"max_users": 0}, Extended, "monitor", "f.yaml")


def test_monitor_cutoffs_are_the_units_cutoffs() -> None:
    assert MONITOR_CUTOFFS == Unit.__dataclass_fields__["cutoffs"].default


@pytest.mark.parametrize("change, message", [
    (("seed: 0", 'seed: "zero"'), "suite.seed: expected an integer, got 'zero'"),
    (("ml-100k: {folds: 5}", "ml-100k: {folds: 1}"), "suite.datasets.ml-100k.folds: expected an integer >= 2"),
    (("metrics: [pre@5,", "metrics: [prec@5,"), "suite.metrics: unknown metric 'prec@5'"),
    (("relative: 0.01", "relative: lots"), "suite.tolerance_floor.relative: expected a number, got 'lots'"),
])
def test_bad_regression_suite_is_one_line(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    from importlib import resources

    text = resources.files("fawmf_bench.experiments").joinpath("regression.yaml").read_text()
    assert change[0] in text
    path = tmp_path / "suite.yaml"
    path.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(ConfigError, match=message):
        load_suite_config(path)
    result = CliRunner().invoke(cli, ["regress", "--config", str(path)])
    assert result.exit_code == 2 and message.split(":")[0] in result.output
