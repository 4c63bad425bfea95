"""Does FAWMF learn exposure? The synthetic generator knows the true exposure, so ask it.

For each density of ``DENSITIES`` (growing sparsity) and each seed, draw a synthetic dataset
from the exposure model (:func:`fawmf_bench.data.synthetic.generate` with a custom shape), fit
FAWMF and EXMF on all of it, and compare each model's exposure estimate of the unconsumed pairs
with the truth over a fixed sample of ``pairs`` unconsumed (user, item) pairs:

- the truth of an unconsumed pair is its posterior exposure P(a_ij = 1 | x_ij = 0) =
  gamma (1 - rho) / (1 - gamma rho) (``SyntheticTruth.unobserved_exposure_probability``);
- ``spearman``: rank correlation of the estimate with that probability;
- ``auc``: how well the estimate separates exposed from unexposed pairs, the exposure a_ij drawn
  once from that probability with a fixed seed (ties count one half).

Estimates: FAWMF's gamma_ij = theta_i . q_j (the confidence weight, Eq. 6), with the authors'
floor on w (default) and with the projected one (``fawmf-projected``); EXMF's posterior
E[a_ij | y_ij = 0]; and the baseline any estimate must beat, the item's training popularity.

Output: ``<store>/synthetic/exposure-recovery/d<density>-s<seed>.json``, one piece per
(density, seed) with its settings key; a rerun skips the pieces stored with the same settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy.stats import rankdata, spearmanr

from ...data.synthetic import generate
from ...models import make_model
from .common import experiment_dir, read_piece, settings_key, write_json

EXPOSURE_RECOVERY = "exposure-recovery"
DATASET = "synthetic"
DENSITIES = (0.08, 0.04, 0.02, 0.01)
SEEDS = (0, 1, 2)
#: users, items, true communities, true factors of every generated dataset
SHAPE = (800, 600, 5, 8)
PAIRS = 20_000
MODELS = ("fawmf", "fawmf-projected", "exmf", "popularity")
#: fixed fits (no tuning: the question is what each model's weights capture, not its accuracy)
MODEL_PARAMS: dict[str, dict[str, Any]] = {
    "fawmf": {"factors": 20, "communities": 20, "epochs": 100, "dtype": "float64"},
    "fawmf-projected": {"factors": 20, "communities": 20, "epochs": 100, "dtype": "float64",
                        "weight_floor": "projected"},
    "exmf": {"factors": 20, "epochs": 20, "init_mu": 0.01},
}


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for the binary ``label`` (Mann-Whitney, average
    ranks for ties); NaN when one class is empty."""
    label = np.asarray(label, dtype=bool)
    n_pos, n_neg = int(label.sum()), int((~label).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[label].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def sample_unobserved(matrix, n_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n_pairs`` distinct unconsumed (user, item) pairs drawn uniformly (fewer if there are not
    that many), sorted by user then item."""
    n, m = matrix.shape
    flat = rng.choice(n * m, size=min(n * m, 2 * n_pairs + 1000), replace=False)
    users, items = flat // m, flat % m
    keep = np.asarray(matrix[users, items]).ravel() == 0
    users, items = users[keep][:n_pairs], items[keep][:n_pairs]
    order = np.lexsort((items, users))
    return users[order], items[order]


def recovery_scores(data, truth, seed: int, pairs: int = PAIRS) -> list[dict[str, Any]]:
    """Fit the models on one dataset and score their exposure estimates (module docstring)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2024]))
    matrix = data.matrix.tocsr()
    users, items = sample_unobserved(matrix, pairs, rng)
    target = truth.unobserved_exposure_probability(np.arange(matrix.shape[0]))[users, items]
    exposed = rng.random(target.size) < target
    all_users = np.arange(matrix.shape[0])
    estimates = {"popularity": np.asarray(matrix.sum(axis=0)).ravel().astype(np.float64)[items]}
    for name in ("fawmf", "fawmf-projected"):
        fawmf = make_model("fawmf", **MODEL_PARAMS[name], random_state=seed).fit(matrix)
        estimates[name] = fawmf.exposure(all_users)[users, items]
    exmf = make_model("exmf", **MODEL_PARAMS["exmf"], random_state=seed).fit(matrix)
    estimates["exmf"] = exmf.exposure(all_users)[users, items]
    rows = []
    for model in MODELS:
        estimate = estimates[model]
        rho = spearmanr(estimate, target)[0] if np.ptp(estimate) > 0 else float("nan")
        rows.append({"model": model, "auc": auc(estimate, exposed), "spearman": float(rho),
                     "exposed_share": float(exposed.mean()), "pairs": int(target.size)})
    return rows


def run_exposure_recovery(store_root: str | Path, densities: tuple[float, ...] = DENSITIES,
                          seeds: tuple[int, ...] = SEEDS, shape: tuple[int, int, int, int] = SHAPE,
                          pairs: int = PAIRS, force: bool = False,
                          progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Run every (density, seed) not stored yet; returns :func:`load_exposure_recovery`'s frame."""
    if not densities or any(not 0.0 < d < 1.0 for d in densities):
        raise ValueError(f"densities must lie in (0, 1), got {densities}")
    folder = experiment_dir(store_root, DATASET, EXPOSURE_RECOVERY)
    for density in densities:
        for seed in seeds:
            settings = {"shape": [*shape, float(density)], "seed": int(seed), "pairs": int(pairs),
                        "models": MODEL_PARAMS}
            key = settings_key(settings)
            path = folder / f"d{density:g}-s{seed}.json"
            if not force and read_piece(path, key) is not None:
                continue
            if progress:
                progress(f"{DATASET}/{EXPOSURE_RECOVERY}/density {density:g} seed {seed}")
            data, truth = generate(seed=int(seed), shape=(*shape, float(density)))
            rows = recovery_scores(data, truth, int(seed), int(pairs))
            write_json(path, {"experiment": EXPOSURE_RECOVERY, "key": key, "settings": settings,
                              "density": float(density), "seed": int(seed),
                              "measured_density": float(data.matrix.nnz / np.prod(data.matrix.shape)),
                              "rows": rows})
    return load_exposure_recovery(store_root)


def load_exposure_recovery(store_root: str | Path) -> pd.DataFrame:
    """One row per (density, seed, model): auc, spearman, exposed_share, pairs; empty if none."""
    rows = []
    for path in sorted(experiment_dir(store_root, DATASET, EXPOSURE_RECOVERY).glob("*.json")):
        piece = json.loads(path.read_text())
        for row in piece["rows"]:
            rows.append({"density": piece["density"], "seed": piece["seed"], **row})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values(["density", "seed", "model"], ascending=[False, True, True]).reset_index(drop=True)
