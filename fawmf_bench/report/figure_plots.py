"""Figures 4, 5 and 6 from the figure experiments' stored output
(:mod:`fawmf_bench.experiments.figure_experiments`): ``draw_*`` return a matplotlib Figure,
``plot_*`` write it as PNG + SVG into ``out_dir`` and return the paths.

Colors come from :data:`fawmf_bench.report.figures.PALETTE` (the same method and learner
colors as every other figure). Everything renders with the Agg backend, without a display.

Typical use (what ``fawmf-bench report`` does)::

    from fawmf_bench.experiments.figure_experiments import load_convergence
    plot_convergence(load_convergence(store_root, "ml-1m"), out_dir)
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..experiments.figure_experiments import DEFAULT_LEARNERS  # noqa: E402
from .figures import method_color, save_figure  # noqa: E402  (PALETTE: one color per method / learner)
from .paper import METHOD_LABELS  # noqa: E402

CONVERGENCE_STEM = "figure4_convergence"
K_SWEEP_STEM = "figure5_k_sweep"
COMMUNITIES_STEM = "figure6_communities"
EXPOSURE_RECOVERY_STEM = "figure_exposure_recovery"
_LEARNER_ORDER = [learner.label for learner in DEFAULT_LEARNERS]


def learner_label(label: str) -> str:
    """Legend text of a Figure-4 learner: fBGD, BGD (original), Uniform-5X, Itempop-25X."""
    if label == "fbgd":
        return "fBGD"
    if label == "bgd":
        return "BGD (original)"
    sampler, _, ratio = label.rpartition("-")
    return f"{sampler.capitalize()}-{ratio.upper()}" if sampler else label


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    if frame is None or frame.empty:
        raise ValueError(f"no {what} data to plot")
    missing = [c for c in columns if c not in frame]
    if missing:
        raise ValueError(f"{what} frame lacks column(s) {missing}")


#: the scoring drawn when a stored curve has no validation choice (records from before it was kept)
DEFAULT_SCORING = "preference"


def choose_scoring_on_validation(frame: pd.DataFrame) -> dict[str, str]:
    """Per learner, the scoring chosen on VALIDATION (``validation_scoring``, see
    :mod:`~fawmf_bench.experiments.figure_experiments.convergence`); learners stored without one
    draw :data:`DEFAULT_SCORING` (S1), never a choice made on the test curve."""
    chosen = {}
    for label, group in frame.groupby("label", sort=True):
        values = group["validation_scoring"].dropna() if "validation_scoring" in group else pd.Series(dtype=object)
        chosen[label] = str(values.iloc[0]) if not values.empty else DEFAULT_SCORING
    return chosen


def _validated(frame: pd.DataFrame, label: str) -> bool:
    part = frame.loc[frame["label"] == label]
    return "validation_scoring" in part and part["validation_scoring"].notna().any()


def draw_convergence(frame: pd.DataFrame, metric: str = "pre@5", scoring: str | None = None) -> Figure:
    """Figure 4: ``metric`` on the held-out part versus epochs (left) and training seconds
    (right, log scale) per learner. ``frame``: ``load_convergence``'s tidy rows. ``scoring``
    None draws, per learner, the scoring variant chosen on validation
    (:func:`choose_scoring_on_validation`), named in the legend in brackets when the learners
    differ ("[exposure]": S2, gamma_ij u_i.v_j; "[preference]": S1, u_i.v_j; "*": no validation
    choice stored, S1 drawn); SGD learners' entries give their step size (chosen on validation)
    and their epoch budget; "(projected floor)" marks curves fitted with the old weight floor."""
    _require(frame, ["label", "epoch", "seconds", "scoring", metric], "convergence")
    chosen = choose_scoring_on_validation(frame) if scoring is None else {label: scoring for label in frame["label"]}
    labels = sorted(set(frame["label"]), key=lambda x: (_LEARNER_ORDER.index(x) if x in _LEARNER_ORDER else 99, x))
    mixed = len(set(chosen.values())) > 1
    floors = set(frame["weight_floor"]) if "weight_floor" in frame else set()
    figure, (by_epoch, by_time) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained", sharey=True)
    for label in labels:
        curve = frame[(frame["label"] == label) & (frame["scoring"] == chosen.get(label))].sort_values("epoch")
        if curve.empty:
            continue
        style = {"color": method_color(label), "marker": "o", "markersize": 2.5, "linewidth": 1.4,
                 "linestyle": "--" if label.startswith("itempop") else ":" if label == "bgd" else "-"}
        if label == "bgd":  # same gradient as fBGD, so the same epoch curve: keep both visible
            style.update(linewidth=2.6, marker="s", markersize=4, zorder=1)
        text = learner_label(label) + (f" [{chosen[label]}]" if mixed else "")
        if scoring is None and not _validated(frame, label):
            text += "*"
        if "learning_rate" in curve and label not in ("fbgd", "bgd") and curve["learning_rate"].notna().any():
            text += f", lr {curve['learning_rate'].iloc[0]:g}"   # chosen on validation
        if "epochs" in curve and label not in ("fbgd", "bgd"):
            text += f", {int(curve['epochs'].iloc[0])} ep"
        if len(floors) > 1 and curve["weight_floor"].iloc[0] == "projected":
            text += " (projected floor)"
        by_epoch.plot(curve["epoch"], curve[metric], label=text, **style)
        by_time.plot(np.maximum(curve["seconds"], 1e-3), curve[metric], **style)
    name = metric.replace("pre@", "Pre@")
    by_epoch.set_xlabel("epoch")
    by_epoch.set_ylabel(f"{name} on the held-out test part")
    by_time.set_xlabel("training seconds (log scale; evaluation excluded)")
    by_time.set_xscale("log")
    for axes in (by_epoch, by_time):
        axes.grid(alpha=0.3)
    scorings = "" if mixed else f", scoring: {next(iter(chosen.values()))}"
    validated = scoring is None and any(_validated(frame, label) for label in labels)
    figure.suptitle(f"Figure 4: FAWMF learners, {name} versus epochs and time{scorings}"
                    + (" (chosen on validation)" if validated else ""))
    figure.legend(fontsize=8, frameon=False, loc="outside right center")
    figure.supxlabel(textwrap.fill(CONVERGENCE_NOTE, 190), fontsize=7, color="#444444", x=0.01, ha="left")
    return figure


#: the footnote of Figure 4 (why the curves have different lengths; what the brackets mean)
CONVERGENCE_NOTE = (
    "[exposure] = S2 scores gamma_ij u_i.v_j, [preference] = S1 scores u_i.v_j, chosen per learner on validation "
    "(* none stored: S1). SGD learners stop at their epoch budget ('ep'): one 5X / 25X epoch visits 6 / 26 times "
    "the pairs of a 1X epoch, so 20-30 of their epochs already take longer than fBGD's whole run (right panel).")


def draw_k_sweep(frame: pd.DataFrame, metric: str = "pre@5") -> Figure:
    """Figure 5: test ``metric`` versus the number of factors K per method (mean over the
    stored folds / seeds). ``frame``: ``load_k_sweep``'s rows (method, factors, metrics)."""
    _require(frame, ["method", "factors", metric], "k-sweep")
    means = frame.groupby(["method", "factors"])[metric].mean().reset_index()
    order = list(METHOD_LABELS)
    methods = sorted(set(means["method"]), key=lambda m: (order.index(m) if m in order else 99, m))
    figure, axes = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    for method in methods:
        curve = means[means["method"] == method].sort_values("factors")
        axes.plot(curve["factors"], curve[metric], marker="o", color=method_color(method),
                  label=METHOD_LABELS.get(method, method), linewidth=1.6)
    ks = sorted(set(means["factors"]))
    axes.set_xticks(ks, [str(k) for k in ks])
    name = metric.replace("pre@", "Pre@")
    axes.set_xlabel("number of factors K")
    axes.set_ylabel(f"{name} (test fold)")
    axes.set_title(f"Figure 5: {name} versus K")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=9, frameon=False)
    return figure


def draw_communities(summary: pd.DataFrame, top_items: pd.DataFrame | None = None, width: int = 30) -> Figure:
    """Figure 6: one table row per community (members, share of women, mean age code, the
    top exposed titles), with a bubble panel of age against gender (bubble area: members)."""
    _require(summary, ["community", "size", "female_share", "mean_age_code"], "communities")
    titles = _top_titles(summary, top_items)
    rows = [[str(r.community), f"{r.size:.0f}", _percent(r.female_share), _number(r.mean_age_code),
             "; ".join(textwrap.shorten(t, width, placeholder="...") for t in titles.get(r.community, []))]
            for r in summary.itertuples(index=False)]
    height = 1.2 + 0.28 * len(rows)
    figure = plt.figure(figsize=(15, max(4.0, height)), layout="constrained")
    bubbles, table_axes = figure.subplots(1, 2, width_ratios=[1, 3.6])
    known = summary.dropna(subset=["female_share", "mean_age_code"])
    if not known.empty:
        area = 600 * known["size"] / known["size"].max()
        bubbles.scatter(known["mean_age_code"], 100 * known["female_share"], s=area, alpha=0.45,
                        color=method_color("fawmf"), edgecolor="#333333", linewidth=0.5)
        for r in known.itertuples(index=False):
            bubbles.annotate(str(r.community), (r.mean_age_code, 100 * r.female_share), fontsize=7,
                             ha="center", va="center")
        bubbles.set_xlabel("mean age code (membership-weighted)")
        bubbles.set_ylabel("women among members (%)")
        bubbles.grid(alpha=0.3)
    else:
        bubbles.axis("off")
        bubbles.text(0.5, 0.5, "no gender / age side information", ha="center", va="center", fontsize=9)
    table_axes.axis("off")
    table = table_axes.table(cellText=rows, colLabels=["d", "members", "women", "age code", "top exposed items"],
                             colWidths=[0.04, 0.08, 0.07, 0.08, 0.73], loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1.0, 1.15)
    figure.suptitle("Figure 6: learned communities (size = sum of memberships; women and age weighted by membership)")
    return figure


_RECOVERY_STYLE = {"fawmf": ("FAWMF gamma (authors' floor)", "fawmf", "-"),
                   "fawmf-projected": ("FAWMF gamma (projected floor)", "fawmf", ":"),
                   "exmf": ("EXMF posterior", "exmf", "-"),
                   "popularity": ("item popularity (baseline)", "itempop", "--")}


def draw_exposure_recovery(frame: pd.DataFrame) -> Figure:
    """How well each model's exposure estimate ranks the true exposure of unconsumed pairs on
    synthetic data, versus density: AUC (left) and Spearman (right), mean and range over seeds.
    ``frame``: ``load_exposure_recovery``'s rows (density, seed, model, auc, spearman)."""
    _require(frame, ["density", "seed", "model", "auc", "spearman"], "exposure-recovery")
    figure, panels = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    models = [m for m in _RECOVERY_STYLE if m in set(frame["model"])]
    for axes, metric, name in zip(panels, ("auc", "spearman"), ("AUC (exposed vs not)", "Spearman with P(exposed)")):
        for model in models:
            label, color_key, style = _RECOVERY_STYLE[model]
            part = frame[frame["model"] == model].groupby("density")[metric]
            mean, low, high = part.mean(), part.min(), part.max()
            axes.plot(mean.index, mean.values, marker="o", linestyle=style, color=method_color(color_key),
                      label=label if axes is panels[0] else None)
            axes.fill_between(mean.index, low.values, high.values, color=method_color(color_key), alpha=0.15)
        axes.set_xscale("log")
        densities = sorted(set(frame["density"]))
        axes.set_xticks(densities, [f"{d:g}" for d in densities])
        axes.minorticks_off()
        axes.invert_xaxis()
        axes.set_xlabel("density of the synthetic data (log scale; sparser to the right)")
        axes.set_ylabel(name)
        axes.grid(alpha=0.3)
    seeds = frame["seed"].nunique()
    figure.suptitle(f"Exposure recovery on synthetic data: estimates of the unconsumed pairs' true exposure "
                    f"({seeds} seeds; line: mean, band: range)")
    figure.legend(fontsize=8, frameon=False, loc="outside right center")
    return figure


def _top_titles(summary: pd.DataFrame, top_items: pd.DataFrame | None) -> dict[int, list[str]]:
    if top_items is not None and not top_items.empty:
        ordered = top_items.sort_values(["community", "rank"])
        return {int(c): list(g["title"].astype(str)) for c, g in ordered.groupby("community")}
    if "top_items" in summary:
        return {int(c): [t.rsplit(" (", 1)[0] for t in str(s).split("; ")]
                for c, s in zip(summary["community"], summary["top_items"])}
    return {}


def _percent(value: float) -> str:
    return "-" if pd.isna(value) else f"{100 * value:.0f}%"


def _number(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.1f}"


def plot_convergence(frame: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Write Figure 4 (``figure4_convergence.png`` / ``.svg``) into ``out_dir``."""
    return save_figure(draw_convergence(frame), Path(out_dir) / CONVERGENCE_STEM)


def plot_k_sweep(frame: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Write Figure 5 (``figure5_k_sweep.png`` / ``.svg``) into ``out_dir``."""
    return save_figure(draw_k_sweep(frame), Path(out_dir) / K_SWEEP_STEM)


def plot_communities(communities: pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame], out_dir: str | Path) -> list[Path]:
    """Write Figure 6 (``figure6_communities.png`` / ``.svg``) into ``out_dir``; ``communities``
    is ``load_communities``'s (summary, top_items) or the summary alone."""
    summary, top_items = communities if isinstance(communities, tuple) else (communities, None)
    return save_figure(draw_communities(summary, top_items), Path(out_dir) / COMMUNITIES_STEM)
