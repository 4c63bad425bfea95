"""Recommenders behind one interface (:class:`~fawmf_bench.models.base.Recommender`).

Models are looked up by name in :mod:`fawmf_bench.models.registry` (built-ins, entry-point
plugins, local plugin modules); each module is imported only when its model is asked for, so
that a missing optional dependency of one method never breaks the others.
"""

from __future__ import annotations

from .base import Characteristics, FitMonitor, Interval, Options, Recommender, check_train, run_epochs
from .registry import (
    BUILTIN_MODELS,
    MODELS,
    MethodInfo,
    PluginError,
    add_plugin_modules,
    make_model,
    method_info,
    method_names,
    model_class,
)

__all__ = [
    "BUILTIN_MODELS", "Characteristics", "FitMonitor", "Interval", "MODELS", "MethodInfo", "Options",
    "PluginError", "Recommender", "add_plugin_modules", "make_model", "method_info", "method_names",
    "check_train", "model_class", "run_epochs",
]
