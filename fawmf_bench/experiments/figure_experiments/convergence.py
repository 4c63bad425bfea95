"""Figure 4: FAWMF's held-out Pre@5 versus epochs and versus training seconds per learner.

Learners (:class:`Learner`): fBGD, the original dense BGD, and mini-batch SGD with
``uniform`` or ``itempop`` negative sampling at 1X / 5X / 25X the positives. Every learner
starts from the same initialisation, trains a fixed budget of ``epochs`` on the training part
of the ``paper`` split (one random 80/20 split) and is evaluated on its test part every
``every`` epochs.

The SGD learners get their own Adam step size: every rate of the config's
``experiments.convergence.sgd_learning_rates`` trains the same budget on the training part
minus its validation carve-out, and the rate with the best validation Pre@5 (max over the
evaluations, either scoring) draws the curve; the search is stored with the curve, and each
trial under ``learning-rate-search/`` (reused when rates are added). fBGD and
BGD use the method's rates (the authors' 0.1), so they stay the same exact-gradient learner.

The scoring drawn for each curve (S1 "preference" u.v or S2 "exposure" gamma * u.v) is chosen on
validation too, never on the test part: for an SGD learner from its chosen step size's trial, for
fBGD and BGD from one fBGD fit on the training part minus its validation carve-out (BGD follows
fBGD's trajectory exactly: same gradient, same initialisation), stored as
``learning-rate-search/fbgd-validation.json``; the choice is the scoring with the best validation
Pre@5 over the evaluations (``validation_scoring`` in each record).

Evaluating on the test part is allowed here, as in the paper's figure, because nothing is
selected from it: the monitor's patience exceeds the number of evaluations, so no learner
stops early, and the curves are reported as they are (the best-epoch snapshot that
:func:`~fawmf_bench.models.base.run_epochs` keeps is never used). ``seconds`` is the
cumulative training time from the model's ``trace_`` (evaluation excluded).

Output: ``<store>/<dataset>/convergence/<learner label>.json``, one per learner, each with
its trace; a rerun skips the learners (and step-size trials) stored with the same settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ...data import InteractionMatrix
from ...evaluation import evaluate
from ...models import FitMonitor, make_model
from ..config import BenchConfig, load_config
from ..units import model_seed
from .common import experiment_dir, jsonable, load_json, load_split, read_piece, settings_key, write_json

CONVERGENCE = "convergence"
TRIALS = "learning-rate-search"          # sub-folder of the SGD step-size trials
METHOD = "fawmf"
CUTOFFS = (5,)


@dataclass(frozen=True)
class Learner:
    """One curve of Figure 4: a FAWMF learner and, for ``sgd``, its negative sampling."""

    learner: str
    sampler: str = "uniform"
    negative_ratio: int = 1

    @property
    def label(self) -> str:
        """"fbgd", "bgd", or "<sampler>-<ratio>x" for SGD (the palette's keys)."""
        return self.learner if self.learner != "sgd" else f"{self.sampler}-{self.negative_ratio}x"

    def params(self) -> dict[str, Any]:
        if self.learner != "sgd":
            return {"learner": self.learner}
        return {"learner": "sgd", "sampler": self.sampler, "negative_ratio": self.negative_ratio}


DEFAULT_LEARNERS: tuple[Learner, ...] = (
    Learner("fbgd"), Learner("bgd"),
    *(Learner("sgd", sampler, ratio) for sampler in ("uniform", "itempop") for ratio in (1, 5, 25)),
)


def learners_by_label(labels: list[str] | tuple[str, ...]) -> tuple[Learner, ...]:
    """The default learners named by ``labels`` (e.g. ["fbgd", "uniform-5x"]), in that order."""
    known = {learner.label: learner for learner in DEFAULT_LEARNERS}
    unknown = [label for label in labels if label not in known]
    if unknown or not labels:
        raise ValueError(f"unknown learner(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(known)}")
    return tuple(known[label] for label in labels)


def run_convergence(store_root: str | Path, dataset: str | InteractionMatrix = "ml-1m", epochs: int = 200,
                    every: int = 5, seed: int = 0, learners: tuple[Learner, ...] = DEFAULT_LEARNERS,
                    config: BenchConfig | None = None, data_home: Path | None = None, force: bool = False,
                    progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Fit every learner for ``epochs`` epochs and store its test curve; returns
    :func:`load_convergence`'s frame of the learners asked for.

    Hyperparameters other than the learner's are the ``fawmf`` section of ``config`` for the
    dataset (its ``epochs`` replaced by ``epochs``); the model seed is the runner's seed of
    fold 0, so every learner starts from the same point.
    """
    if epochs < 1 or every < 1:
        raise ValueError(f"epochs and every must be positive, got epochs={epochs}, every={every}")
    config = config or load_config()
    rates = config.convergence.sgd_learning_rates
    data, split = load_split(dataset, "paper", 1, seed, data_home=data_home)
    folder = experiment_dir(store_root, data.name, CONVERGENCE)
    base = dict(config.method(METHOD, data.name).params)
    base.update(epochs=int(epochs), random_state=model_seed(seed, 0, METHOD))
    for learner in learners:
        params = {**base, **learner.params()}
        common = {"every": int(every), "seed": int(seed), "dataset_checksum": data.checksum, "cutoffs": CUTOFFS}
        search = None
        if learner.learner == "sgd":
            search = _choose_learning_rate(folder, learner.label, params, common, split, rates, force, progress)
            params = {**params, "learning_rate": search["chosen"], "exposure_learning_rate": search["chosen"]}
            validation_scoring = search.get("scoring")
        else:
            validation_scoring = _full_batch_scoring(folder, {**base, "learner": "fbgd"}, common, split, force,
                                                     progress)
        settings = {"params": params, **common}
        key = settings_key(settings)
        path = folder / f"{learner.label}.json"
        if not force and read_piece(path, key) is not None:
            continue
        if progress:
            progress(f"{data.name}/{CONVERGENCE}/{learner.label}")
        record = _fit_learner(params, split.train, split.test, int(every), int(epochs))
        write_json(path, {"experiment": CONVERGENCE, "dataset": data.name, "label": learner.label,
                          "learner": learner.learner, "key": key, "learning_rate_search": search,
                          "validation_scoring": validation_scoring,
                          "sampler": learner.sampler if learner.learner == "sgd" else None,
                          "negative_ratio": learner.negative_ratio if learner.learner == "sgd" else None, "settings": settings,
                          "split_seed": split.seed, **record})
    frame = load_convergence(store_root, data.name)
    return frame[frame["label"].isin([lr.label for lr in learners])].reset_index(drop=True)


def _choose_learning_rate(folder: Path, label: str, params: dict[str, Any], common: dict[str, Any], split,
                          rates: tuple[float, ...], force: bool = False,
                          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The SGD step size with the best validation Pre@5 (module docstring): {"chosen", "metric",
    "scores"}. Each rate's trial is stored under ``<folder>/learning-rate-search/`` and reused,
    so adding a rate to the config fits only that rate."""
    metric = f"pre@{CUTOFFS[0]}"
    scores, scorings = {}, {}
    for rate in rates:
        trial = {**params, "learning_rate": rate, "exposure_learning_rate": rate}
        settings = {"params": trial, "target": "validation", **common}
        key = settings_key(settings)
        path = folder / TRIALS / f"{label}-lr{rate:g}.json"
        stored = None if force else read_piece(path, key)
        if stored is None:
            if progress:
                progress(f"{folder.parent.name}/{CONVERGENCE}/{label}: learning rate {rate:g} on validation")
            record = _fit_learner(trial, split.fit_train, split.validation, common["every"], trial["epochs"])
            best = max((value for row in record["trace"] for name, value in row.items()
                        if name.endswith("/" + metric)), default=float("-inf"))
            stored = {"experiment": CONVERGENCE, "label": label, "key": key, "settings": settings,
                      "metric": metric, "score": best, **record}
            write_json(path, stored)
        scores[f"{rate:g}"] = float(stored["score"])
        scorings[f"{rate:g}"] = best_scoring(stored.get("trace") or [], metric)
    best_rate = max(rates, key=lambda rate: scores[f"{rate:g}"])   # first of equals: rates' order
    return {"chosen": float(best_rate), "metric": metric, "scores": scores, "scoring": scorings[f"{best_rate:g}"]}


def best_scoring(trace: list[dict[str, Any]], metric: str = f"pre@{CUTOFFS[0]}") -> str | None:
    """The scoring whose ``metric`` peaks highest over a validation ``trace`` (first of equals
    in sorted order); None when the trace holds no evaluation (a migrated trial)."""
    best: dict[str, float] = {}
    for row in trace:
        for name, value in row.items():
            if name.endswith("/" + metric):
                scoring = name.split("/", 1)[0]
                best[scoring] = max(best.get(scoring, float("-inf")), float(value))
    return max(sorted(best), key=lambda s: best[s]) if best else None


def _full_batch_scoring(folder: Path, params: dict[str, Any], common: dict[str, Any], split, force: bool,
                        progress: Callable[[str], None] | None) -> str | None:
    """The scoring fBGD (and BGD) curves draw: chosen on validation (module docstring)."""
    settings = {"params": params, "target": "validation", **common}
    key = settings_key(settings)
    path = folder / TRIALS / "fbgd-validation.json"
    stored = None if force else read_piece(path, key)
    if stored is None:
        if progress:
            progress(f"{folder.parent.name}/{CONVERGENCE}/fbgd: scoring on validation")
        record = _fit_learner(params, split.fit_train, split.validation, common["every"], params["epochs"])
        stored = {"experiment": CONVERGENCE, "label": "fbgd", "key": key, "settings": settings, **record}
        write_json(path, stored)
    return best_scoring(stored["trace"])


def _fit_learner(params: dict[str, Any], train, target, every: int, epochs: int) -> dict[str, Any]:
    """Fit one learner on ``train``, evaluated on ``target`` every ``every`` epochs, never
    stopping early (module docstring)."""
    def on_target(score_fn):
        return evaluate(score_fn, train, target, cutoffs=CUTOFFS).means

    monitor = FitMonitor(on_target, metric=f"pre@{CUTOFFS[0]}", every=every, patience=epochs // every + 2)
    model = make_model(METHOD, **params)
    start = time.perf_counter()
    model.fit(train, monitor=monitor)
    wall = time.perf_counter() - start
    return {"trace": jsonable(model.trace_), "fit_seconds": float(model.fit_seconds_), "wall_seconds": wall,
            "epochs": int(model.n_epochs_), "params": jsonable(model.get_params())}


def load_convergence(store_root: str | Path, dataset: str) -> pd.DataFrame:
    """Tidy frame of the stored curves: one row per (learner, evaluated epoch, scoring) with
    columns label, learner, sampler, negative_ratio, learning_rate, epochs (the curve's budget),
    weight_floor (records from before the option: "projected"), validation_scoring (None when not
    recorded), epoch, seconds, loss, scoring and the metrics (pre@5, rec@5, ndcg@5, ...); empty when
    nothing is stored."""
    rows = []
    for path in sorted(experiment_dir(store_root, dataset, CONVERGENCE).glob("*.json")):
        record = load_json(path)
        validation_scoring = record.get("validation_scoring")
        if validation_scoring is None and record.get("learning_rate_search"):
            search = record["learning_rate_search"]
            validation_scoring = search.get("scoring")
        for row in record["trace"]:
            metrics: dict[str, dict[str, float]] = {}
            for name, value in row.items():
                if "/" in name:
                    scoring, metric = name.split("/", 1)
                    metrics.setdefault(scoring, {})[metric] = value
            for scoring, values in metrics.items():
                rows.append({"label": record["label"], "learner": record["learner"], "sampler": record["sampler"],
                             "negative_ratio": record["negative_ratio"],
                             "learning_rate": record["params"].get("learning_rate"),
                             "epochs": int(record["epochs"]),
                             "weight_floor": record["params"].get("weight_floor", "projected"),
                             "validation_scoring": validation_scoring, "epoch": row["epoch"],
                             "seconds": row["seconds"], "loss": row["loss"], "scoring": scoring, **values})
    return pd.DataFrame(rows)
