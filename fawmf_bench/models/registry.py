"""The method registry: built-in methods, installed plugins and local plugin modules.

A method is found by name in three places, in this order:

1. the built-ins (:data:`BUILTIN_MODELS`, modules under ``fawmf_bench.models``);
2. Python entry points in the group ``fawmf_bench.models`` of installed packages, e.g. in a
   plugin's pyproject.toml::

       [project.entry-points."fawmf_bench.models"]
       ease = "fawmf_bench_ease:EASE"

3. local modules named in ``FAWMF_BENCH_PLUGINS`` (``os.pathsep``-separated module names or
   ``.py`` paths; the hyperparameter file's ``plugins:`` list adds to it), whose Recommender
   subclasses with a ``name`` are registered. Child processes inherit the variable, so pool
   workers see the same methods.

Modules are imported only when their method is asked for (entry points and built-ins), so a
missing optional dependency of one method never breaks the others. A name that two places
claim is an error, never silently shadowed.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from .base import Characteristics, Recommender

ENTRY_POINT_GROUP = "fawmf_bench.models"
PLUGINS_ENV = "FAWMF_BENCH_PLUGINS"

#: registry name -> "module:Class" (modules under fawmf_bench.models)
BUILTIN_MODELS: dict[str, str] = {
    "itempop": "itempop:ItemPop",
    "wmf": "wmf:WMF",
    "eals": "eals:EALS",
    "bpr": "bpr:BPR",
    "cdae": "cdae:CDAE",
    "exmf": "exmf:EXMF",
    "fawmf": "fawmf:FAWMF",
}


class PluginError(ValueError):
    """A plugin cannot be loaded or clashes with another method (one clear line)."""


@functools.lru_cache(maxsize=1)
def _entry_point_models() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        name = point.name.lower()
        if name in BUILTIN_MODELS or name in found:
            raise PluginError(f"plugin method {name!r} ({point.value}) clashes with a method already registered")
        found[name] = point
    return found


def _import_local(source: str) -> Any:
    if source.endswith(".py"):
        path = Path(source).expanduser().resolve()
        module_name = f"fawmf_bench_local_{path.stem}"
        if module_name in sys.modules:
            return sys.modules[module_name]
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or not path.is_file():
            raise PluginError(f"plugin module {source}: no such file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[module_name]
            raise PluginError(f"plugin module {source}: {type(exc).__name__}: {exc}") from exc
        return module
    try:
        return importlib.import_module(source)
    except Exception as exc:
        raise PluginError(f"plugin module {source}: {type(exc).__name__}: {exc}") from exc


@functools.lru_cache(maxsize=16)
def _local_models(sources: str) -> dict[str, type[Recommender]]:
    found: dict[str, type[Recommender]] = {}
    for source in filter(None, (s.strip() for s in sources.split(os.pathsep))):
        module = _import_local(source)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (issubclass(cls, Recommender) and cls.name and cls.__module__ == module.__name__
                    and not inspect.isabstract(cls)):
                name = cls.name.lower()
                if name in BUILTIN_MODELS or name in _entry_point_models() or found.get(name, cls) is not cls:
                    raise PluginError(f"plugin method {name!r} ({source}) clashes with a method already registered")
                found[name] = cls
    return found


def add_plugin_modules(sources: list[str], relative_to: Path | None = None) -> None:
    """Register the Recommenders of local modules (names or ``.py`` paths, the latter relative
    to ``relative_to``) for this process and its children (through ``FAWMF_BENCH_PLUGINS``)."""
    if not sources:
        return
    current = [s for s in os.environ.get(PLUGINS_ENV, "").split(os.pathsep) if s]
    for source in sources:
        if source.endswith(".py") and relative_to is not None:
            source = str((relative_to / source).resolve())
        if source not in current:
            current.append(source)
    os.environ[PLUGINS_ENV] = os.pathsep.join(current)
    _local_models(os.environ[PLUGINS_ENV])  # fail now, with the file named, not at first use


class _Registry(Mapping[str, Any]):
    """name -> where the class lives, over the three places above (read on every access, so
    that plugin modules added later are seen)."""

    def _all(self) -> dict[str, Any]:
        local = _local_models(os.environ.get(PLUGINS_ENV, ""))
        return {**BUILTIN_MODELS, **_entry_point_models(), **local}

    def __getitem__(self, name: str) -> Any:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return f"MODELS({', '.join(self)})"


#: every method name, built-ins first (a read-only mapping; see module docstring)
MODELS: Mapping[str, Any] = _Registry()


def method_names() -> list[str]:
    """Every registered method, built-ins first."""
    return list(MODELS)


def model_class(name: str) -> type[Recommender]:
    """The class registered under ``name`` (KeyError listing the known names otherwise)."""
    key = name.lower()
    try:
        target = MODELS[key]
    except KeyError:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(MODELS)}") from None
    if isinstance(target, str):
        module_name, class_name = target.split(":")
        return getattr(importlib.import_module(f"fawmf_bench.models.{module_name}"), class_name)
    if isinstance(target, type):
        return target
    try:
        cls = target.load()
    except Exception as exc:
        raise PluginError(f"plugin method {key!r} ({target.value}): {type(exc).__name__}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Recommender)):
        raise PluginError(f"plugin method {key!r} ({target.value}) is not a fawmf_bench Recommender subclass")
    if cls.name and cls.name.lower() != key:
        raise PluginError(f"plugin method {key!r} ({target.value}) declares name {cls.name!r}; they must agree")
    return cls


def make_model(name: str, **params: Any) -> Recommender:
    """Instantiate method ``name`` with hyperparameters ``params``."""
    return model_class(name)().set_params(**params)


def method_origin(name: str) -> str:
    """Where ``name`` comes from: "built-in", "plugin <distribution>" or "local <module>"."""
    target = MODELS[name.lower()]
    if isinstance(target, str):
        return "built-in"
    if isinstance(target, type):
        return f"local {target.__module__}"
    dist = getattr(target, "dist", None)
    return f"plugin {dist.name if dist is not None else target.value}"


@dataclass(frozen=True)
class MethodInfo:
    """What tables and figures show of a method (declared on its class)."""

    name: str
    label: str
    order: float
    color: str | None
    characteristics: Characteristics | None

    @property
    def sort_key(self) -> tuple[float, str]:
        return (self.order, self.name)


@functools.lru_cache(maxsize=256)
def method_info(name: str) -> MethodInfo:
    """Label, order, color and Table-2 row of ``name``; a method that is not registered here
    (a store written with a plugin that is not installed) gets its name and goes last."""
    try:
        cls = model_class(name)
    except (KeyError, ImportError, PluginError):
        return MethodInfo(name, name, float("inf"), None, None)
    return MethodInfo(name, cls.label or name, float(cls.plot_order), cls.color, cls.characteristics)
