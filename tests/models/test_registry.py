"""The method registry: local plugin modules, entry-point plugins, clashes, class metadata."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from fawmf_bench.models import (
    BUILTIN_MODELS, MODELS, PluginError, Recommender, make_model, method_info, model_class, registry,
)
from fawmf_bench.testing import check_recommender, tiny_matrix

PLUGIN = '''
import numpy as np
from fawmf_bench.models import Characteristics, Interval, Recommender, run_epochs
from fawmf_bench.models.base import check_train
from numbers import Real


class Damped(Recommender):
    """Popularity with counts raised to a power (a stand-in for a third-party method)."""

    name = "{name}"
    label = "Damped pop"
    plot_order = 3.5
    color = "#123456"
    characteristics = Characteristics("no", "yes", "O(|X+|)")
    default_params = {{"power": 0.5}}
    tuning_grid = {{"power": [0.25, 0.5, 1.0]}}
    _parameter_constraints = {{"power": [Interval(Real, 0, closed="neither")]}}

    def __init__(self, power: float = 1.0, scoring=None):
        self.power = power
        self.scoring = scoring

    def fit(self, train, monitor=None):
        self._validate_params()
        train = check_train(train, "Damped")
        def step(epoch):
            self.item_scores_ = np.bincount(train.indices, minlength=train.shape[1]) ** float(self.power)
            return None  # no training loss
        run_epochs(self, step, 1, monitor, self.scoring)
        return self

    def score(self, users, scoring=None):
        self._check_scoring(scoring)
        return np.tile(self.item_scores_, (len(users), 1))
'''


@pytest.fixture
def clean_registry(monkeypatch):
    monkeypatch.setenv(registry.PLUGINS_ENV, "")  # restored (removed) after the test
    registry._entry_point_models.cache_clear()
    method_info.cache_clear()
    yield
    registry._entry_point_models.cache_clear()
    method_info.cache_clear()


def _write_plugin(folder, name="damped"):
    path = folder / f"{name}_plugin.py"
    path.write_text(PLUGIN.format(name=name))
    return path


def test_builtins_are_registered_first_with_their_metadata(clean_registry):
    assert list(MODELS)[: len(BUILTIN_MODELS)] == list(BUILTIN_MODELS)
    orders = [method_info(m).order for m in BUILTIN_MODELS]
    assert orders == sorted(orders)
    assert method_info("wmf").label == "WMF(ALS)" and method_info("fawmf").characteristics[0] == "yes"
    assert method_info("not-installed").label == "not-installed"  # a store from elsewhere still reports


def test_a_local_module_adds_a_method_for_this_process_and_its_children(clean_registry, tmp_path):
    path = _write_plugin(tmp_path)
    registry.add_plugin_modules([path.name], relative_to=tmp_path)
    assert str(path) in __import__("os").environ[registry.PLUGINS_ENV]
    assert "damped" in MODELS and list(MODELS)[-1] == "damped"
    model = make_model("damped", power=2.0).fit(tiny_matrix())
    assert model.score(np.arange(2)).shape == (2, tiny_matrix().shape[1])
    info = method_info("damped")
    assert (info.label, info.order, info.color) == ("Damped pop", 3.5, "#123456")
    check_recommender(model_class("damped"), {"power": 0.5}, bad_params={"power": -1.0})


def test_a_name_clash_with_a_builtin_is_an_error(clean_registry, tmp_path):
    path = _write_plugin(tmp_path, name="wmf")
    with pytest.raises(PluginError, match="'wmf'.*clashes"):
        registry.add_plugin_modules([str(path)])


def test_a_broken_local_module_names_itself(clean_registry, tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(PluginError, match="broken.py.*boom"):
        registry.add_plugin_modules([str(bad)])


def test_an_entry_point_plugin_is_found_without_being_imported_first(clean_registry, tmp_path, monkeypatch):
    _write_plugin(tmp_path, name="viaentry")
    info = tmp_path / "fake_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[fawmf_bench.models]\nviaentry = viaentry_plugin:Damped\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "viaentry" in MODELS
    cls = model_class("viaentry")
    assert issubclass(cls, Recommender) and cls.label == "Damped pop"
    model = make_model("viaentry").fit(tiny_matrix())
    path = model.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(Recommender.load(path).score(np.arange(3)), model.score(np.arange(3)))


def test_config_plugins_and_class_declared_defaults(clean_registry, tmp_path):
    from fawmf_bench.experiments.config import ConfigError, load_config

    _write_plugin(tmp_path)
    config_path = tmp_path / "hp.yaml"
    config_path.write_text(textwrap.dedent("""\
        plugins: [damped_plugin.py]
        methods:
          wmf: {params: {factors: 4}}
        """))
    config = load_config(config_path)
    chosen = config.method("damped", "synthetic")
    assert chosen.params == {"power": 0.5} and chosen.grid == {"power": [0.25, 0.5, 1.0]}
    assert len(chosen.grid_points()) == 3
    assert config.method("wmf", "synthetic").params == {"factors": 4}  # the file still wins
    config_path.write_text("plugins: [missing_plugin.py]\n")
    with pytest.raises(ConfigError, match="missing_plugin.py"):
        load_config(config_path)


def test_load_refuses_a_file_of_another_class(tmp_path):
    model = make_model("itempop").fit(tiny_matrix())
    path = model.save(tmp_path / "pop.npz")
    with pytest.raises(ValueError, match="holds a ItemPop model"):
        model_class("wmf").load(path)


def test_constraint_messages_say_what_is_allowed():
    with pytest.raises(ValueError, match=r"WMF: factors must be an integer >= 1, got 0"):
        make_model("wmf", factors=0).fit(tiny_matrix())
    with pytest.raises(ValueError, match=r"scoring must be None or one of 'preference', got 'x'"):
        make_model("wmf", scoring="x").fit(tiny_matrix())
    with pytest.raises(ValueError, match=r"corruption must be a number in \[0, 1\)"):
        make_model("cdae", corruption=1.0).fit(tiny_matrix())


def test_config_rejects_a_value_the_class_constraints_forbid(tmp_path):
    from fawmf_bench.experiments.config import ConfigError, load_config

    path = tmp_path / "hp.yaml"
    path.write_text("methods:\n  wmf:\n    grid: {factors: [4, -1]}\n")
    with pytest.raises(ConfigError, match=r"methods.wmf.grid.factors\[1\]: WMF: factors must be an integer >= 1, got -1"):
        load_config(path)


def test_help_lists_plugin_methods_and_a_broken_plugin_exits_2(clean_registry, tmp_path, monkeypatch):
    import subprocess
    import sys
    from pathlib import Path

    from click.testing import CliRunner

    from fawmf_bench.cli import cli

    monkeypatch.setenv(registry.PLUGINS_ENV, str(_write_plugin(tmp_path)))
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0 and "damped" in result.output.split("Methods:")[1]
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_anywhere\n")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "fawmf_bench.cli", "methods"], capture_output=True, text=True,
                         env={**__import__("os").environ, registry.PLUGINS_ENV: str(broken), "PYTHONPATH": str(root)})
    assert out.returncode == 2 and out.stderr.strip().startswith("Error: plugin module") and "Traceback" not in out.stderr


def test_run_takes_a_method_from_the_config_plugins_list(clean_registry, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from fawmf_bench.cli import cli

    _write_plugin(tmp_path)
    (tmp_path / "hp.yaml").write_text("plugins: [damped_plugin.py]\n")
    monkeypatch.setenv("FAWMF_BENCH_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(cli, ["run", "--config", str(tmp_path / "hp.yaml"), "--methods", "damped",
                                      "--folds", "2", "--no-tune", "--quiet", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "damped" in result.output and len(list((tmp_path / "out" / "store").rglob("*.json"))) >= 2
