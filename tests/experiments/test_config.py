from __future__ import annotations

from pathlib import Path

import pytest

from fawmf_bench.experiments.config import ConfigError, MethodConfig, load_config
from fawmf_bench.models import MODELS


def test_packaged_config_is_valid_and_covers_every_method():
    config = load_config()
    assert set(config.methods) == set(MODELS)
    for method in MODELS:
        assert config.method(method, "ml-1m").grid_points()  # at least one setting


def test_dataset_override_merges_key_by_key(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "methods:\n  fawmf:\n    params: {factors: 20, communities: 20}\n"
        "    grid: {learning_rate: [0.1, 0.01]}\n"
        "    datasets:\n      ml-100k: {params: {factors: 10}, grid: {learning_rate: [0.5]}}\n"
    )
    config = load_config(path)
    assert config.method("fawmf", "ml-1m").params == {"factors": 20, "communities": 20}
    over = config.method("fawmf", "ml-100k")
    assert over.params == {"factors": 10, "communities": 20}
    assert over.grid_points() == [{"factors": 10, "communities": 20, "learning_rate": 0.5}]


def test_grid_points_are_the_cartesian_product_in_sorted_name_order():
    config = MethodConfig("wmf", {"factors": 20}, {"regularization": [0.1, 1.0], "alpha": [1, 10]})
    points = config.grid_points()
    assert len(points) == 4
    assert points[0] == {"factors": 20, "alpha": 1, "regularization": 0.1}
    assert config.grid_points(tune=False) == [{"factors": 20}]


@pytest.mark.parametrize(
    "text, message",
    [
        ("methods: [1, 2", "not valid YAML"),
        ("methods:\n  nosuch: {}\n", "unknown method"),
        ("methods:\n  fawmf: {params: {learnin_rate: 0.1}}\n", "methods.fawmf.params.learnin_rate"),
        ("methods:\n  fawmf: {grid: {learning_rate: 0.1}}\n", "expected a non-empty list"),
        ("monitor: {metrc: pre@5}\n", "monitor: unknown key"),
        ("method: {}\n", "unknown top-level key"),
        ("experiments: {convergance: {}}\n", "experiments: unknown key"),
        ("experiments: {convergence: {sgd_rates: [0.1]}}\n", "experiments.convergence: unknown key"),
        ("experiments: {convergence: {sgd_learning_rates: [0.1, -1]}}\n", "list of positive numbers"),
        ("experiments: {convergence: {sgd_learning_rates: []}}\n", "list of positive numbers"),
    ],
)
def test_bad_config_names_file_key_and_what_is_allowed(tmp_path: Path, text: str, message: str):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_unknown_hyperparameter_lists_the_allowed_ones(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("methods:\n  fawmf: {params: {learnin_rate: 0.1}}\n")
    with pytest.raises(ConfigError, match="allowed: .*learning_rate"):
        load_config(path)


def test_convergence_learning_rates_default_and_override(tmp_path: Path):
    assert load_config().convergence.sgd_learning_rates == (0.1, 0.01, 0.001, 0.0003)
    path = tmp_path / "rates.yaml"
    path.write_text("experiments:\n  convergence: {sgd_learning_rates: [0.02, 1]}\n")
    assert load_config(path).convergence.sgd_learning_rates == (0.02, 1.0)
    path.write_text("methods: {}\n")
    assert load_config(path).convergence.sgd_learning_rates == (0.1, 0.01, 0.001, 0.0003)


def test_missing_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")
