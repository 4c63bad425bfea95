"""Typed view of the hyperparameter file (``hyperparameters.yaml``): one place for every
method's fixed parameters, its tuning grid and per-dataset overrides.

File layout::

    monitor: {metric: pre@5, every: 5, patience: 4}   # max_users: N samples validation users
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

Every parameter name is checked against the model's constructor; a mistake names the file,
the key and what is allowed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..models import MODELS, model_class

DEFAULT_CONFIG = "hyperparameters.yaml"


class ConfigError(ValueError):
    """The hyperparameter file is unreadable or names something unknown."""


@dataclass(frozen=True)
class MonitorConfig:
    """Early stopping on validation: evaluate ``metric`` every ``every`` epochs, stop after
    ``patience`` evaluations without improvement. ``max_users``: evaluate only a fixed,
    seeded random sample of that many validation users during training (None: all users);
    a tuning unit's reported validation metrics and every test evaluation rank every user."""

    metric: str = "pre@5"
    every: int = 5
    patience: int = 4
    max_users: int | None = None


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
        section = self.methods.get(method, {}) or {}
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
    unknown_top = sorted(set(raw) - {"monitor", "methods", "experiments", "datasets"})
    if unknown_top:
        raise ConfigError(f"{source}: unknown top-level key(s) {unknown_top}; "
                          "allowed: ['datasets', 'experiments', 'methods', 'monitor']")
    monitor_raw = raw.get("monitor") or {}
    _check_monitor(source, "monitor", monitor_raw)
    methods = raw.get("methods") or {}
    for method, section in methods.items():
        _check_method_section(source, method, section or {})
    dataset_monitors = {}
    for dataset, section in (raw.get("datasets") or {}).items():
        section = section or {}
        if not isinstance(section, dict) or set(section) - {"monitor"}:
            raise ConfigError(f"{source}: datasets.{dataset}: expected a mapping with only 'monitor'")
        _check_monitor(source, f"datasets.{dataset}.monitor", section.get("monitor") or {})
        dataset_monitors[str(dataset)] = dict(section.get("monitor") or {})
    return BenchConfig(source, MonitorConfig(**monitor_raw), methods,
                       _convergence_config(source, raw.get("experiments") or {}), dataset_monitors)


def _convergence_config(source: str, experiments: dict[str, Any]) -> ConvergenceConfig:
    bad = sorted(set(experiments) - {"convergence"})
    if bad:
        raise ConfigError(f"{source}: experiments: unknown key(s) {bad}; allowed: ['convergence']")
    section = experiments.get("convergence") or {}
    allowed = set(ConvergenceConfig.__dataclass_fields__)
    bad = sorted(set(section) - allowed)
    if bad:
        raise ConfigError(f"{source}: experiments.convergence: unknown key(s) {bad}; allowed: {sorted(allowed)}")
    if "sgd_learning_rates" not in section:
        return ConvergenceConfig()
    rates = section["sgd_learning_rates"]
    if (not isinstance(rates, list) or not rates
            or not all(isinstance(r, (int, float)) and not isinstance(r, bool) and r > 0 for r in rates)):
        raise ConfigError(f"{source}: experiments.convergence.sgd_learning_rates: expected a non-empty "
                          f"list of positive numbers, got {rates!r}")
    return ConvergenceConfig(tuple(float(r) for r in rates))


def _check_monitor(source: str, where: str, monitor: dict[str, Any]) -> None:
    allowed = set(MonitorConfig.__dataclass_fields__)
    bad = sorted(set(monitor) - allowed)
    if bad:
        raise ConfigError(f"{source}: {where}: unknown key(s) {bad}; allowed: {sorted(allowed)}")
    max_users = monitor.get("max_users")
    if max_users is not None and (not isinstance(max_users, int) or isinstance(max_users, bool) or max_users < 1):
        raise ConfigError(f"{source}: {where}.max_users: expected a positive integer or null, got {max_users!r}")


def _check_method_section(source: str, method: str, section: dict[str, Any]) -> None:
    if method not in MODELS:
        raise ConfigError(f"{source}: methods.{method}: unknown method; known: {', '.join(MODELS)}")
    allowed_keys = {"params", "grid", "datasets", "monitor"}
    bad = sorted(set(section) - allowed_keys)
    if bad:
        raise ConfigError(f"{source}: methods.{method}: unknown key(s) {bad}; allowed: {sorted(allowed_keys)}")
    allowed = set(model_class(method).param_names())
    blocks = [(f"methods.{method}", section)] + [
        (f"methods.{method}.datasets.{name}", sub or {}) for name, sub in (section.get("datasets") or {}).items()
    ]
    for where, block in blocks:
        _check_monitor(source, f"{where}.monitor", block.get("monitor") or {})
        for kind in ("params", "grid"):
            values = block.get(kind) or {}
            if not isinstance(values, dict):
                raise ConfigError(f"{source}: {where}.{kind}: expected a mapping")
            for key, value in values.items():
                if key not in allowed:
                    raise ConfigError(
                        f"{source}: {where}.{kind}.{key}: unknown hyperparameter of {method}; "
                        f"allowed: {', '.join(sorted(allowed))}"
                    )
                if kind == "grid" and (not isinstance(value, list) or not value):
                    raise ConfigError(f"{source}: {where}.grid.{key}: expected a non-empty list of values")
