"""Where does FAWMF's exposure go? A measured account of a dataset where FAWMF trails.

Refit FAWMF with the setting cv tuning chose for ``dataset`` (``<store>/<dataset>/cv/fawmf/
selection.json``) on cv fold 0's training part, once per weight-floor rule, and every ``every``
epochs record:

- ``floor_share``: share of items whose exposure weight w_j sits on the floor 1e-5 (then
  q_jd = sigmoid(b_j) for every community d: the item's exposure ignores who consumed it);
- ``personal_share``: share of the variance of gamma_ij (over a fixed sample of users x all
  items) that is not explained by the item: var(gamma_ij - mean_i gamma_ij) / var(gamma_ij).
  Near 0, gamma is an item-level (popularity-like) weight, not a personalised one;
- ``popularity_spearman``: rank correlation of the item's mean gamma with its training
  popularity;

and at the end the test Pre@5 of the fit (fold 0's test part, the chosen scoring).

Output: ``<store>/<dataset>/diagnosis/fawmf.json`` with both traces and a one-line summary
built from the numbers (read by the claims audit).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
from scipy.stats import spearmanr

from ...evaluation import evaluate
from ...models import FitMonitor, make_model
from ..units import model_seed
from .common import experiment_dir, jsonable, load_split, read_piece, settings_key, write_json

DIAGNOSIS = "diagnosis"
FLOOR = 1e-5
SAMPLE_USERS = 500
MEASURES = ("floor_share", "personal_share", "popularity_spearman", "test_pre@5")


def exposure_state(model, train, users: np.ndarray) -> dict[str, float]:
    """The three measures of the module docstring for a fitted FAWMF."""
    w = model.exposure_weight_
    gamma = model.exposure(users).astype(np.float64)
    item_mean = gamma.mean(axis=0)
    total = float(gamma.var())
    popularity = np.asarray(train.sum(axis=0)).ravel()
    return {"floor_share": float(np.mean(w <= FLOOR * (1 + 1e-6))),
            "personal_share": float((gamma - item_mean).var() / total) if total > 0 else float("nan"),
            "popularity_spearman": float(spearmanr(item_mean, popularity)[0])}


def run_exposure_diagnosis(store_root: str | Path, dataset: str, every: int = 25, seed: int = 0,
                           data_home: Path | None = None, force: bool = False,
                           progress: Callable[[str], None] | None = None, eta: float | None = None) -> dict[str, Any]:
    """Fit and measure (module docstring); returns the stored piece. ``eta`` replaces the chosen
    eta (stored as ``fawmf-eta<eta>.json``), e.g. the authors' 1 where validation chose another."""
    selection = Path(store_root) / dataset / "cv" / "fawmf" / "selection.json"
    if not selection.is_file():
        raise ValueError(f"no FAWMF selection for {dataset} under cv in {store_root}; run the table first")
    chosen = json.loads(selection.read_text())["chosen"]
    params = {k: v for k, v in chosen.items() if k != "scoring"}
    if eta is not None:
        params["eta"] = float(eta)
    data, split = load_split(dataset, "cv", 5, seed, data_home=data_home)
    settings = {"params": params, "every": int(every), "seed": int(seed), "dataset_checksum": data.checksum,
                "measures": list(MEASURES)}
    key = settings_key(settings)
    path = experiment_dir(store_root, data.name, DIAGNOSIS) / ("fawmf.json" if eta is None else f"fawmf-eta{eta:g}.json")
    stored = None if force else read_piece(path, key)
    if stored is not None:
        return stored
    users = np.random.default_rng(seed).choice(split.train.shape[0], min(SAMPLE_USERS, split.train.shape[0]),
                                               replace=False)
    users.sort()
    scoring = chosen.get("scoring") or "preference"
    traces, tests = {}, {}
    for rule in ("on_read", "projected"):
        if progress:
            progress(f"{data.name}/{DIAGNOSIS}/fawmf weight_floor={rule}")
        model = make_model("fawmf", **{**params, "weight_floor": rule, "scoring": "exposure"},
                           random_state=model_seed(seed, 0, "fawmf"))
        rows: list[dict[str, Any]] = []

        def measure(score_fn, model=model, rows=rows):
            rows.append(exposure_state(model, split.train, users))
            return {"pre@5": float(len(rows))}   # always "better": the fit keeps its last state

        model.fit(split.train, monitor=FitMonitor(measure, metric="pre@5", every=every,
                                                  patience=int(params["epochs"]) // every + 2))
        epochs = int(params["epochs"])
        evaluated = [e for e in range(1, epochs + 1) if e % every == 0 or e == epochs]
        traces[rule] = [{"epoch": e, **row} for e, row in zip(evaluated, rows)]
        tests[rule] = float(evaluate(lambda u, model=model: model.score(u, scoring=scoring), split.train, split.test,
                                     cutoffs=(5,)).means["pre@5"])
    last = {rule: trace[-1] for rule, trace in traces.items()}
    summary = (f"refit with the {'chosen setting' if eta is None else 'chosen setting but eta'} (eta {params.get('eta')}, factor_reg {params.get('factor_reg')}, "
               f"{params['epochs']} epochs, cv fold 0): w on the floor for {last['on_read']['floor_share']:.1%} of items "
               f"under the authors' floor ({last['projected']['floor_share']:.1%} projected); the personal share of "
               f"gamma's variance is {last['on_read']['personal_share']:.3f} ({last['projected']['personal_share']:.3f}), "
               f"and the item's mean gamma has Spearman {last['on_read']['popularity_spearman']:.2f} "
               f"({last['projected']['popularity_spearman']:.2f}) with its popularity; test Pre@5 "
               f"{tests['on_read']:.4f} ({tests['projected']:.4f})")
    piece = {"experiment": DIAGNOSIS, "dataset": data.name, "key": key, "settings": settings,
             "traces": jsonable(traces), "test_pre@5": tests, "summary": summary}
    write_json(path, piece)
    return piece
