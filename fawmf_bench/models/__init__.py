"""Recommenders behind one interface (:class:`~fawmf_bench.models.base.Recommender`).

Models are looked up by name; each module is imported only when its model is asked for, so
that a missing optional dependency of one method never breaks the others.
"""

from __future__ import annotations

import importlib

from .base import FitMonitor, Recommender, run_epochs

#: registry name -> "module:Class" (modules under fawmf_bench.models)
MODELS: dict[str, str] = {
    "itempop": "itempop:ItemPop",
    "wmf": "wmf:WMF",
    "eals": "eals:EALS",
    "bpr": "bpr:BPR",
    "cdae": "cdae:CDAE",
    "exmf": "exmf:EXMF",
    "fawmf": "fawmf:FAWMF",
}


def model_class(name: str) -> type[Recommender]:
    """The class registered under ``name`` (KeyError listing the known names otherwise)."""
    try:
        target = MODELS[name.lower()]
    except KeyError:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(MODELS)}") from None
    module_name, class_name = target.split(":")
    module = importlib.import_module(f"{__name__}.{module_name}")
    return getattr(module, class_name)


def make_model(name: str, **params) -> Recommender:
    """Instantiate method ``name`` with hyperparameters ``params``."""
    cls = model_class(name)
    model = cls()
    return model.set_params(**params)


__all__ = ["FitMonitor", "MODELS", "Recommender", "make_model", "model_class", "run_epochs"]
