"""Figure 6 (case study): what FAWMF's learned communities look like on ML-1M.

FAWMF is fitted (no monitor, a fixed number of epochs) on the training part of the ``paper``
split. For each community d it reports

- the items that characterise it: ranked by the lift of their exposure logit over the item's mean
  logit across communities, (w_j s_jd + b_j) - mean_d' (w_j s_jd' + b_j) = w_j (s_jd - mean_d' s_jd')
  (Eq. 6 without the item's shared part). Ranking by q_jd itself lists the same popular items in
  every community: their bias b_j saturates the sigmoid everywhere. Titles and genres come from
  ``item_features`` (ML-1M's movies.dat);
- its size: the expected number of members sum_i theta_id, and the users whose largest
  membership is d;
- its make-up from ``user_features`` (ML-1M's users.dat, never seen in training), weighted by
  membership theta_id: the share of women and the share of each age group. ML-1M records age as
  a bracket code (1: under 18, 18: 18-24, 25: 25-34, 35: 35-44, 45: 45-49, 50: 50-55, 56: 56+):
  categories, so they are reported as shares (columns ``age_<code>``), never averaged.

Epochs and other hyperparameters: the ``chosen`` settings of a stored FAWMF tuning
(``<store>/<dataset>/{paper,cv}/fawmf/selection.json``, paper first) when present, else the
config's params; an explicit ``epochs`` overrides either (default 200 when nothing is stored).

Output in ``<store>/<dataset>/communities/``: ``fit.npz`` (memberships theta, exposures Q),
``communities.json`` (settings and provenance, written last), ``communities.csv`` (one row per
community), ``communities_top_items.csv`` (long form) and ``communities.md``. A rerun with the
same settings reuses the fit and only rebuilds the tables.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from ...data import InteractionMatrix
from ...models import make_model
from ..config import BenchConfig, load_config
from ..units import model_seed
from .common import atomic_write, experiment_dir, jsonable, load_split, read_piece, settings_key, write_json, write_text

COMMUNITIES = "communities"
METHOD = "fawmf"
DEFAULT_EPOCHS = 200
AGE_BRACKETS = {1: "under 18", 18: "18-24", 25: "25-34", 35: "35-44", 45: "45-49", 50: "50-55", 56: "56+"}


def community_table(membership: np.ndarray, exposure: np.ndarray, data: InteractionMatrix,
                    top_n: int = 5, exposure_logit: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, top_items) of the communities given theta (n, D) and Q (m, D).

    Items are ranked by their lift: ``exposure_logit`` (w_j s_jd + b_j) minus its mean over the
    communities when given, else Q minus its mean over the communities (ties: lower item index).

    ``summary``: one row per community with size, argmax_members, female_share, age_<code> (the
    membership-weighted share of each of ML-1M's age brackets; NaN where ``data`` has no gender /
    age) and top_items ("title (genres)" joined by "; ").
    ``top_items``: community, rank, item, item_id, title, genres, exposure, lift.
    """
    theta = np.asarray(membership, dtype=np.float64)
    q = np.asarray(exposure, dtype=np.float64)
    if theta.shape[0] != data.n_users or q.shape[0] != data.n_items or theta.shape[1] != q.shape[1]:
        raise ValueError(f"membership {theta.shape} and exposure {q.shape} do not fit a "
                         f"{data.n_users} x {data.n_items} dataset with a common number of communities")
    n_communities = theta.shape[1]
    top_n = min(int(top_n), q.shape[0])
    scores = q if exposure_logit is None else np.asarray(exposure_logit, dtype=np.float64)
    lift = scores - scores.mean(axis=1, keepdims=True)
    top = np.argsort(-lift, axis=0, kind="stable")[:top_n]  # (top_n, D), ties: lower item index
    items = _item_labels(data)
    ranks, communities = np.meshgrid(np.arange(1, top_n + 1), np.arange(n_communities), indexing="ij")
    top_items = pd.DataFrame({
        "community": communities.ravel(), "rank": ranks.ravel(), "item": top.ravel(),
        "item_id": data.item_ids[top.ravel()], "title": items["title"].to_numpy()[top.ravel()],
        "genres": items["genres"].to_numpy()[top.ravel()],
        "exposure": np.take_along_axis(q, top, axis=0).ravel(),
        "lift": np.take_along_axis(lift, top, axis=0).ravel(),
    }).sort_values(["community", "rank"], kind="stable").reset_index(drop=True)
    labels = [f"{t} ({g})" if g else str(t) for t, g in zip(top_items["title"], top_items["genres"])]
    joined = pd.Series(labels).groupby(top_items["community"].to_numpy()).agg("; ".join)
    users = data.user_features
    summary = pd.DataFrame({
        "community": np.arange(n_communities),
        "size": theta.sum(axis=0),
        "argmax_members": np.bincount(theta.argmax(axis=1), minlength=n_communities),
        "female_share": _weighted_mean(theta, _column(users, "gender", lambda g: (g == "F").astype(float))),
        **_age_shares(theta, users),
        "top_items": joined.reindex(range(n_communities)).to_numpy(),
    })
    return summary, top_items


def _age_shares(theta: np.ndarray, users: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """``age_<code>``: per community the membership-weighted share of each age bracket among
    the members whose age is known (sum_i theta_id [age_i = a] / sum_i theta_id [age known])."""
    ages = _column(users, "age", lambda a: pd.to_numeric(a, errors="coerce"))
    if ages is None:
        return {f"age_{code}": np.full(theta.shape[1], np.nan) for code in AGE_BRACKETS}
    return {f"age_{code}": _weighted_mean(theta, np.where(np.isfinite(ages), (ages == code).astype(float), np.nan))
            for code in AGE_BRACKETS}


def _item_labels(data: InteractionMatrix) -> pd.DataFrame:
    features = data.item_features
    titles = (features["title"].astype(str).to_numpy() if features is not None and "title" in features
              else np.array([f"item {i}" for i in data.item_ids], dtype=object))
    genres = (features["genres"].fillna("").astype(str).to_numpy() if features is not None and "genres" in features
              else np.full(data.n_items, "", dtype=object))
    return pd.DataFrame({"title": titles, "genres": genres})


def _column(users: pd.DataFrame | None, name: str, convert) -> np.ndarray | None:
    if users is None or name not in users:
        return None
    values = users[name]
    return np.where(values.isna(), np.nan, convert(values)).astype(np.float64)


def _weighted_mean(theta: np.ndarray, values: np.ndarray | None) -> np.ndarray:
    """sum_i theta_id v_i / sum_i theta_id over the users whose value is known."""
    if values is None:
        return np.full(theta.shape[1], np.nan)
    known = np.isfinite(values)
    weights = theta[known]
    with np.errstate(invalid="ignore", divide="ignore"):
        return weights.T @ values[known] / weights.sum(axis=0)


def communities_markdown(summary: pd.DataFrame) -> str:
    """The case-study table in Markdown (the columns explained below it)."""
    ages = [f"age {label}" for label in AGE_BRACKETS.values()]
    lines = ["| community | members (sum theta) | argmax members | women | " + " | ".join(ages)
             + " | top items (exposure lift) |",
             "|---:|---:|---:|---:|" + "---:|" * len(ages) + "---|"]
    for row in summary.to_dict("records"):
        shares = [_share(row.get(f"age_{code}")) for code in AGE_BRACKETS]
        items = str(row["top_items"]).replace("|", "/")
        lines.append(f"| {row['community']} | {row['size']:.1f} | {row['argmax_members']} | "
                     f"{_share(row['female_share'])} | " + " | ".join(shares) + f" | {items} |")
    lines.append("")
    lines.append("Women and age groups: shares of the members, weighted by membership theta_id (ML-1M's age "
                 "brackets are categories). Top items: the largest lift of the exposure logit over the item's "
                 "mean logit across communities (the item's shared bias removed).")
    return "\n".join(lines) + "\n"


def _share(value: float | None) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{100 * value:.1f}%"


def stored_choice(store_root: str | Path, dataset: str) -> tuple[dict[str, Any] | None, str | None]:
    """FAWMF's chosen settings from a stored tuning (paper protocol first), and its path."""
    for protocol in ("paper", "cv"):
        path = Path(store_root) / dataset / protocol / METHOD / "selection.json"
        if path.exists():
            return json.loads(path.read_text())["chosen"], str(path)
    return None, None


def run_communities(store_root: str | Path, dataset: str | InteractionMatrix = "ml-1m", epochs: int | None = None,
                    seed: int = 0, top_n: int = 5, config: BenchConfig | None = None,
                    data_home: Path | None = None, force: bool = False,
                    progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Fit FAWMF (or reuse the stored fit) and write the case-study tables; returns the summary."""
    config = config or load_config()
    data, split = load_split(dataset, "paper", 1, seed, data_home=data_home)
    folder = experiment_dir(store_root, data.name, COMMUNITIES)
    chosen, source = stored_choice(store_root, data.name)
    params = dict(config.method(METHOD, data.name).params)
    params.update(chosen or {})
    if epochs is not None or chosen is None:
        params["epochs"] = int(epochs if epochs is not None else DEFAULT_EPOCHS)
        source = "--epochs" if epochs is not None else f"default {DEFAULT_EPOCHS} epochs"
    params["random_state"] = model_seed(seed, 0, METHOD)
    settings = {"params": params, "seed": int(seed), "dataset_checksum": data.checksum, "train": "paper train part"}
    key = settings_key(settings)
    record_path, arrays_path = folder / "communities.json", folder / "fit.npz"
    if force or read_piece(record_path, key) is None or not arrays_path.exists():
        if progress:
            progress(f"{data.name}/{COMMUNITIES}/fit ({params['epochs']} epochs)")
        model = make_model(METHOD, **params)
        start = time.perf_counter()
        model.fit(split.train)
        seconds = time.perf_counter() - start
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {"membership": model.community_membership(), "exposure": model.item_community_exposure(),
                  "exposure_logit": model.item_community_exposure_logits()}
        atomic_write(arrays_path, lambda f: np.savez_compressed(f, **arrays))
        write_json(record_path, {"experiment": COMMUNITIES, "dataset": data.name, "key": key, "settings": settings,
                                 "params_source": source, "fit_seconds": seconds, "epochs": int(model.n_epochs_),
                                 "params": jsonable(model.get_params()), "split_seed": split.seed})
    with np.load(arrays_path) as npz:
        summary, top_items = community_table(npz["membership"], npz["exposure"], data, top_n, npz["exposure_logit"])
    write_text(folder / "communities.csv", summary.to_csv(index=False))
    write_text(folder / "communities_top_items.csv", top_items.to_csv(index=False))
    write_text(folder / "communities.md", communities_markdown(summary))
    return summary


def load_communities(store_root: str | Path, dataset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, top_items) as stored by :func:`run_communities` (FileNotFoundError if absent)."""
    folder = experiment_dir(store_root, dataset, COMMUNITIES)
    return pd.read_csv(folder / "communities.csv"), pd.read_csv(folder / "communities_top_items.csv")
