"""Figures 4, 5 and 6 from the figure experiments' stored output
(:mod:`fawmf_bench.experiments.figure_experiments`): ``draw_*`` return a matplotlib Figure,
``plot_*`` write it as PNG + SVG into ``out_dir`` and return the paths.

Colors come from :func:`fawmf_bench.report.figures.method_color` (the same method and learner
colors as every other figure). `fawmf-bench report` renders with the Agg backend, without a
display; imported elsewhere (a notebook) the module leaves the user's backend alone.

Typical use (what ``fawmf-bench report`` does)::

    from fawmf_bench.experiments.figure_experiments import load_convergence
    plot_convergence(load_convergence(store_root, "ml-1m"), out_dir)
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..experiments.figure_experiments import DEFAULT_LEARNERS  # noqa: E402
from .figures import method_color, save_figure  # noqa: E402  (one color per method / learner)
from .tables import _method_key, method_label  # noqa: E402

CONVERGENCE_STEM = "figure4_convergence"
K_SWEEP_STEM = "figure5_k_sweep"
COMMUNITIES_STEM = "figure6_communities"
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


def choose_scoring(frame: pd.DataFrame, metric: str = "pre@5") -> dict[str, str]:
    """Per learner, the scoring variant whose curve reaches the higher ``metric``."""
    best = frame.groupby(["label", "scoring"])[metric].max().reset_index()
    best = best.sort_values(["label", metric, "scoring"], ascending=[True, False, True], kind="stable")
    return dict(best.drop_duplicates("label")[["label", "scoring"]].itertuples(index=False))


def draw_convergence(frame: pd.DataFrame, metric: str = "pre@5", scoring: str | None = None) -> Figure:
    """Figure 4: ``metric`` on the held-out part versus epochs (left) and training seconds
    (right, log scale) per learner. ``frame``: ``load_convergence``'s tidy rows. ``scoring``
    None draws, per learner, the scoring variant that reaches the higher value (named in the
    legend when the learners differ); SGD learners' legend entries give their step size."""
    _require(frame, ["label", "epoch", "seconds", "scoring", metric], "convergence")
    chosen = choose_scoring(frame, metric) if scoring is None else {label: scoring for label in frame["label"]}
    labels = sorted(set(frame["label"]), key=lambda x: (_LEARNER_ORDER.index(x) if x in _LEARNER_ORDER else 99, x))
    mixed = len(set(chosen.values())) > 1
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
        if "learning_rate" in curve and label not in ("fbgd", "bgd") and curve["learning_rate"].notna().any():
            text += f", lr {curve['learning_rate'].iloc[0]:g}"   # chosen on validation
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
    figure.suptitle(f"Figure 4: FAWMF learners, {name} versus epochs and time{scorings}")
    figure.legend(fontsize=8, frameon=False, loc="outside right center")
    return figure


def draw_k_sweep(frame: pd.DataFrame, metric: str = "pre@5") -> Figure:
    """Figure 5: test ``metric`` versus the number of factors K per method (mean over the
    stored folds / seeds). ``frame``: ``load_k_sweep``'s rows (method, factors, metrics)."""
    _require(frame, ["method", "factors", metric], "k-sweep")
    means = frame.groupby(["method", "factors"])[metric].mean().reset_index()
    methods = sorted(set(means["method"]), key=_method_key)
    figure, axes = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    for method in methods:
        curve = means[means["method"] == method].sort_values("factors")
        axes.plot(curve["factors"], curve[metric], marker="o", color=method_color(method),
                  label=method_label(method), linewidth=1.6)
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
