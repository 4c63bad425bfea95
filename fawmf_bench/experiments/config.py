"""Typed view of the hyperparameter file (``hyperparameters.yaml``): one place for every
method's fixed parameters, its tuning grid and per-dataset overrides.

File layout::

    monitor: {metric: pre@5, every: 5, patience: 4}   # max_users: N samples validation users
    plugins: [my_models, ./ease.py]       # optional: local modules whose Recommenders join the registry
    datasets:
      <dataset>: {monitor: {max_users: 20000}}   # per-dataset monitor overrides (large datasets)
    methods:
      <method>:
        monitor: {every: 25}              # optional override of the monitor settings
        params: {name: value, ...}        # fixed values
        grid: {name: [v1, v2, ...], ...}  # searched on fold 0's validation
        datasets:
          <dataset>: {params: {...}, grid: {...}}   # overrides, merged key by key
    experiments:
      convergence: {sgd_learning_rates: [0.1, 0.01, 0.001, 0.0003]}   # Figure 4 (ConvergenceConfig)

Every key is checked when the file is loaded, through the typed schema of
:mod:`fawmf_bench._schema`: the monitor and experiment sections against their dataclasses
below, every hyperparameter (fixed value or grid value) against the type hints of the model's
constructor (and FAWMF's ``scoring`` against the model's scorings). A mistake names the file,
the key, the expected type and what is allowed. A registered method without a section here (a plugin)
uses the ``default_params`` and ``tuning_grid`` its class declares.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .._schema import check_fields, check_value, parameter_hints
from ..evaluation.metrics import metric_names
from ..models import MODELS, PluginError, add_plugin_modules, model_class

DEFAULT_CONFIG = "hyperparameters.yaml"
#: the cutoffs every unit evaluates (``Unit.cutoffs``): the monitor metric must be among them
MONITOR_CUTOFFS = (5, 10, 20)


class ConfigError(ValueError):
    """The hyperparameter file is unreadable or names something unknown."""


@dataclass(frozen=True)
class MonitorConfig:
    """Early stopping on validation: evaluate ``metric`` every ``every`` epochs, stop after
    ``patience`` evaluations without improvement. ``max_users``: evaluate only a fixed,
    seeded random sample of that many validation users during training (None: all users);
    a tuning unit's reported validation metrics and every test evaluation rank every user."""

    metric: str = field(default="pre@5", metadata={"choices": tuple(metric_names(MONITOR_CUTOFFS))})
    every: int = field(default=5, metadata={"min": 1})
    patience: int = field(default=4, metadata={"min": 1})
    max_users: int | None = field(default=None, metadata={"min": 1})


@dataclass(frozen=True)
class MethodConfig:
    """Resolved settings of one method on one dataset."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)

    def grid_points(self, tune: bool = True) -> list[dict[str, Any]]:
        """Every hyperparameter setting to try: params overridden by each grid combination.

        Without tuning (or with an empty grid) this is the single setting ``params``.
        """
        if not tune or not self.grid:
            return [dict(self.params)]
        names = sorted(self.grid)
        points = []
        for values in itertools.product(*(self.grid[n] for n in names)):
            point = dict(self.params)
            point.update(zip(names, values))
            points.append(point)
        return points


@dataclass(frozen=True)
class ConvergenceConfig:
    """Settings of the convergence experiment (Figure 4).

    ``sgd_learning_rates``: the Adam step sizes tried for each SGD learner (used for both the
    factor and the exposure parameters); the one with the best validation Pre@5 draws the
    curve. fBGD and BGD keep the method's own rates (the authors' 0.1).
    """

    sgd_learning_rates: tuple[float, ...] = (0.1, 0.01, 0.001, 0.0003)


@dataclass(frozen=True)
class BenchConfig:
    """The whole file: monitor settings, raw per-method sections, experiment settings."""

    source: str
    monitor: MonitorConfig
    methods: dict[str, dict[str, Any]]
    convergence: ConvergenceConfig = field(default_factory=ConvergenceConfig)
    dataset_monitors: dict[str, dict[str, Any]] = field(default_factory=dict)

    def method(self, method: str, dataset: str) -> MethodConfig:
        if method in self.methods:
            section = self.methods[method] or {}
        else:  # a plugin without an entry here: what its class declares
            cls = model_class(method)
            section = {"params": dict(cls.default_params), "grid": dict(cls.tuning_grid)}
        params = dict(section.get("params") or {})
        grid = dict(section.get("grid") or {})
        override = (section.get("datasets") or {}).get(dataset) or {}
        params.update(override.get("params") or {})
        grid.update(override.get("grid") or {})
        monitor = {**vars(self.monitor), **self.dataset_monitors.get(dataset, {}), **(section.get("monitor") or {}),
                   **(override.get("monitor") or {})}
        return MethodConfig(method, params, grid, MonitorConfig(**monitor))


def load_config(path: str | Path | None = None) -> BenchConfig:
    """Read and validate the hyperparameter file (the packaged default when ``path`` is None)."""
    if path is None:
        text = resources.files("fawmf_bench.experiments").joinpath(DEFAULT_CONFIG).read_text()
        source = f"<package>/{DEFAULT_CONFIG}"
    else:
        source = str(path)
        try:
            text = Path(path).read_text()
        except OSError as err:
            raise ConfigError(f"{source}: cannot read the config file ({err.strerror})") from None
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    unknown_top = sorted(set(raw) - {"monitor", "methods", "experiments", "plugins", "datasets"})
    if unknown_top:
        raise ConfigError(f"{source}: unknown top-level key(s) {unknown_top}; "
                          "allowed: ['datasets', 'experiments', 'methods', 'monitor', 'plugins']")
    plugins = raw.get("plugins") or []
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        raise ConfigError(f"{source}: plugins: expected a list of module names or .py paths")
    try:
        add_plugin_modules(plugins, relative_to=None if path is None else Path(path).resolve().parent)
    except PluginError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    monitor = MonitorConfig(**check_monitor(source, "monitor", raw.get("monitor")))
    methods = raw.get("methods") or {}
    if not isinstance(methods, dict):
        raise ConfigError(f"{source}: methods: expected a mapping of method name to section, got {methods!r}")
    for method, section in methods.items():
        check_method_section(source, method, section or {})
    dataset_monitors = {}
    datasets = raw.get("datasets") or {}
    if not isinstance(datasets, dict):
        raise ConfigError(f"{source}: datasets: expected a mapping of dataset name to {{monitor: ...}}, got {datasets!r}")
    for dataset, section in datasets.items():
        section = section or {}
        if not isinstance(section, dict) or set(section) - {"monitor"}:
            raise ConfigError(f"{source}: datasets.{dataset}: expected a mapping with only 'monitor'")
        dataset_monitors[str(dataset)] = check_monitor(source, f"datasets.{dataset}.monitor", section.get("monitor"))
    return BenchConfig(source, monitor, methods, _convergence_config(source, raw.get("experiments") or {}),
                       dataset_monitors)


def _convergence_config(source: str, experiments: Any) -> ConvergenceConfig:
    if not isinstance(experiments, dict):
        raise ConfigError(f"{source}: experiments: expected a mapping, got {experiments!r}")
    bad = sorted(set(experiments) - {"convergence"})
    if bad:
        raise ConfigError(f"{source}: experiments: unknown key(s) {bad}; allowed: ['convergence']")
    section = check_fields(experiments.get("convergence"), ConvergenceConfig, "experiments.convergence", source,
                           ConfigError)
    rates = section.get("sgd_learning_rates")
    if rates is not None and (not rates or not all(r > 0 for r in rates)):
        raise ConfigError(f"{source}: experiments.convergence.sgd_learning_rates: expected a non-empty "
                          f"list of positive numbers, got {list(rates)!r}")
    return ConvergenceConfig(**section)


def check_monitor(source: str, where: str, monitor: Any) -> dict[str, Any]:
    """A monitor section checked against :class:`MonitorConfig` (types, bounds, metric names)."""
    return check_fields(monitor, MonitorConfig, where, source, ConfigError)


def check_params(source: str, where: str, method: str, values: Any, grid: bool) -> None:
    """Hyperparameters (``grid``: lists of values) checked against the model constructor's
    names and type hints; values are checked, never converted (they are part of unit keys)."""
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: {where}: expected a mapping, got {values!r}")
    cls = model_class(method)
    allowed = set(cls.param_names())
    hints = parameter_hints(cls.__init__)
    for key, value in values.items():
        if key not in allowed:
            raise ConfigError(f"{source}: {where}.{key}: unknown hyperparameter of {method}; "
                              f"allowed: {', '.join(sorted(allowed))}")
        if grid and (not isinstance(value, list) or not value):
            raise ConfigError(f"{source}: {where}.{key}: expected a non-empty list of values, got {value!r}")
        metadata = {"choices": (*cls.scorings, None)} if key == "scoring" else None
        for index, item in enumerate(value if grid else [value]):
            label = f"{where}.{key}[{index}]" if grid else f"{where}.{key}"
            if key in hints:
                check_value(item, hints[key], label, source, ConfigError, metadata)
            try:  # the class's declared constraints (bounds, options), not only the type
                cls().set_params(**{key: item})._validate_params()
            except ValueError as exc:
                raise ConfigError(f"{source}: {label}: {exc}") from None


def check_method_section(source: str, method: str, section: Any) -> None:
    """One ``methods.<method>`` section: its keys, monitor overrides and hyperparameters."""
    if method not in MODELS:
        raise ConfigError(f"{source}: methods.{method}: unknown method; known: {', '.join(MODELS)}")
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: methods.{method}: expected a mapping, got {section!r}")
    allowed_keys = {"params", "grid", "datasets", "monitor"}
    bad = sorted(set(section) - allowed_keys)
    if bad:
        raise ConfigError(f"{source}: methods.{method}: unknown key(s) {bad}; allowed: {sorted(allowed_keys)}")
    datasets = section.get("datasets") or {}
    if not isinstance(datasets, dict):
        raise ConfigError(f"{source}: methods.{method}.datasets: expected a mapping of dataset name to overrides")
    blocks = [(f"methods.{method}", section)] + [
        (f"methods.{method}.datasets.{name}", sub or {}) for name, sub in datasets.items()
    ]
    for where, block in blocks:
        if not isinstance(block, dict):
            raise ConfigError(f"{source}: {where}: expected a mapping, got {block!r}")
        if where != f"methods.{method}":
            bad = sorted(set(block) - {"params", "grid", "monitor"})
            if bad:
                raise ConfigError(f"{source}: {where}: unknown key(s) {bad}; allowed: ['grid', 'monitor', 'params']")
        check_monitor(source, f"{where}.monitor", block.get("monitor"))
        check_params(source, f"{where}.params", method, block.get("params") or {}, grid=False)
        check_params(source, f"{where}.grid", method, block.get("grid") or {}, grid=True)

