"""What a run would do, before it does it: the units it executes, those already stored, and
their estimated cost (:mod:`~fawmf_bench.experiments.costmodel`).

The units come from the runner's own functions (:func:`~.runner.tune_units`,
:func:`~.runner.final_units`, :func:`~.runner.pending`), so the plan lists exactly the units
``run`` executes. A method's final units are exact once its tuning is stored; before that
their hyperparameters are unknown and they are listed as "after tuning" (costed with the
method's configured epochs, an upper bound like the tuning units' own estimates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from ..data import InteractionMatrix
from .costmodel import CostModel
from .runner import RunSettings, choose_best, final_units, pending, tune_units
from .store import ResultStore
from .units import Unit, make_unit

RUN, STORED, AFTER_TUNING = "run", "stored", "after tuning"


@dataclass(frozen=True)
class PlannedUnit:
    unit: Unit  # for AFTER_TUNING: a stand-in with the first grid point's parameters
    status: str
    seconds: float | None = None  # estimated single-thread seconds (None: not estimated)

    @property
    def label(self) -> str:
        return self.unit.label


def plan_units(settings: RunSettings, store: ResultStore) -> list[PlannedUnit]:
    """Every unit of the run with its status (no estimates)."""
    planned = []
    for (dataset, method), tuned in tune_units(settings).items():
        todo = set(pending(settings, tuned, store))
        planned += [PlannedUnit(u, RUN if u in todo else STORED) for u in tuned]
        if todo:
            first = tuned[0]
            stand_ins = final_units(settings, first.param_dict, tuned)
            planned += [PlannedUnit(u, AFTER_TUNING) for u in stand_ins]
        else:
            chosen, _ = choose_best(store, tuned, tuned[0].monitor.metric)
            finals = final_units(settings, chosen, tuned)
            todo = set(pending(settings, finals, store))
            planned += [PlannedUnit(u, RUN if u in todo else STORED) for u in finals]
    return planned


def estimate(planned: list[PlannedUnit], model: CostModel,
             load: Callable[[str], InteractionMatrix]) -> list[PlannedUnit]:
    """``planned`` with the estimated seconds of every unit still to run."""
    datasets: dict[str, InteractionMatrix] = {}
    out = []
    for item in planned:
        if item.status == STORED:
            out.append(item)
            continue
        data = datasets.get(item.unit.dataset)
        if data is None:
            data = datasets[item.unit.dataset] = load(item.unit.dataset)
        out.append(PlannedUnit(item.unit, item.status, model.unit_seconds(item.unit, data)["total"]))
    return out


def summary(planned: list[PlannedUnit]) -> pd.DataFrame:
    """Per (dataset, method): units to run / stored and estimated CPU-seconds by stage."""
    rows = []
    for item in planned:
        u = item.unit
        rows.append({"dataset": u.dataset, "method": u.method, "stage": u.stage, "status": item.status,
                     "seconds": item.seconds or 0.0})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    out = []
    for (dataset, method), group in frame.groupby(["dataset", "method"], sort=False):
        tune, final = group[group.stage == "tune"], group[group.stage == "final"]
        out.append({
            "dataset": dataset, "method": method,
            "tune run": int((tune.status == RUN).sum()), "tune stored": int((tune.status == STORED).sum()),
            "folds run": int((final.status != STORED).sum()), "folds stored": int((final.status == STORED).sum()),
            "tune CPU-s": float(tune.seconds.sum()), "folds CPU-s": float(final.seconds.sum()),
        })
    return pd.DataFrame(out)


def projected_wall_seconds(planned: list[PlannedUnit], workers: int) -> float:
    """Wall time on ``workers`` single-threaded workers with pipelining: the larger of the
    total work shared evenly and the longest chain, max over methods of (slowest grid point
    + slowest fold)."""
    total = sum(p.seconds or 0.0 for p in planned)
    chains: dict[tuple[str, str], dict[str, float]] = {}
    for p in planned:
        chain = chains.setdefault((p.unit.dataset, p.unit.method), {"tune": 0.0, "final": 0.0})
        chain[p.unit.stage] = max(chain[p.unit.stage], p.seconds or 0.0)
    critical = max((c["tune"] + c["final"] for c in chains.values()), default=0.0)
    return max(total / max(1, workers), critical)


def unit_for_record(record: dict) -> Unit:
    """The unit a stored record describes (to re-estimate it against its measured seconds)."""
    from .config import MonitorConfig

    description = record["unit"]
    return make_unit(description["dataset"], description["method"], description["params"], description["fold"],
                     description["stage"], protocol=description["protocol"], n_folds=description["n_folds"],
                     seed=description["seed"], monitor=MonitorConfig(**description["monitor"]),
                     cutoffs=tuple(description["cutoffs"]))
