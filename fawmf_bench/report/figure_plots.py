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

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..experiments.figure_experiments import DEFAULT_LEARNERS  # noqa: E402
from ..experiments.figure_experiments.communities import AGE_BRACKETS  # noqa: E402
from .figures import method_color, save_figure  # noqa: E402  (one color per method / learner)
from .tables import _method_key, method_label  # noqa: E402

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
    "the pairs of a 1X epoch, so 20-30 of their epochs take about as long as fBGD's whole run (right panel).")


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


def draw_communities(summary: pd.DataFrame, top_items: pd.DataFrame | None = None) -> Figure:
    """Figure 6: who the learned communities are. Left: the share of each ML-1M age group among
    a community's members (stacked bars; "all" is every user). Right: women among the members
    against the share aged under 25, bubble area = members (sum of memberships). The top items
    per community are a table beside the figure (:func:`communities_frame`): text inside an
    image would be too small to read. ``top_items`` is accepted for symmetry and unused."""
    _require(summary, ["community", "size", "female_share"], "communities")
    ages = [f"age_{code}" for code in AGE_BRACKETS]
    has_ages = all(c in summary for c in ages) and summary[ages].notna().all(axis=None)
    has_women = summary["female_share"].notna().all()
    n = len(summary)
    figure = plt.figure(figsize=(11, max(4.2, 1.6 + 0.3 * (n + 1))), layout="constrained")
    bars, bubbles = figure.subplots(1, 2, width_ratios=[1.35, 1])
    if has_ages:
        shares = summary[ages].to_numpy(dtype=float)
        overall = summary["size"].to_numpy() @ shares / summary["size"].sum()  # = the share among all users
        rows = np.vstack([overall, shares])
        labels = ["all"] + [str(c) for c in summary["community"]]
        colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.95, len(ages)))
        left = np.zeros(len(rows))
        y = np.arange(len(rows))
        for k, (code, label) in enumerate(AGE_BRACKETS.items()):
            bars.barh(y, 100 * rows[:, k], left=100 * left, color=colors[k], label=label, height=0.8,
                      edgecolor="white", linewidth=0.4)
            left += rows[:, k]
        bars.set_yticks(y, labels, fontsize=9)
        bars.invert_yaxis()
        bars.set_xlim(0, 100)
        bars.set_xlabel("members per age group (%, weighted by membership)")
        bars.set_ylabel("community")
        bars.legend(title="age", fontsize=8, title_fontsize=8, ncols=len(ages), loc="lower center",
                    bbox_to_anchor=(0.5, 1.0), frameon=False, columnspacing=0.8, handlelength=1.2)
    else:
        bars.axis("off")
        bars.text(0.5, 0.5, "no age side information", ha="center", va="center", fontsize=10)
    if has_ages and has_women:
        young = 100 * summary[["age_1", "age_18"]].sum(axis=1)
        women = 100 * summary["female_share"]
        area = 900 * summary["size"] / summary["size"].max()
        bubbles.scatter(young, women, s=area, alpha=0.45, color=method_color("fawmf"), edgecolor="#333333",
                        linewidth=0.5, clip_on=False)
        for c, x, v in zip(summary["community"], young, women):
            bubbles.annotate(str(c), (x, v), fontsize=8, ha="center", va="center")
        all_young = 100 * overall[:2].sum()
        all_women = 100 * float(summary["size"] @ summary["female_share"] / summary["size"].sum())
        bubbles.scatter([all_young], [all_women], marker="+", s=120, color="#b00020", label="all users", zorder=3)
        pad_x, pad_y = 0.18 * np.ptp(young) + 2, 0.18 * np.ptp(women) + 2  # room for the largest bubble
        bubbles.set_xlim(young.min() - pad_x, young.max() + pad_x)
        bubbles.set_ylim(women.min() - pad_y, women.max() + pad_y)
        bubbles.set_xlabel("members aged under 25 (%)")
        bubbles.set_ylabel("women among members (%)")
        bubbles.legend(fontsize=8, frameon=False, loc="upper right")
        bubbles.grid(alpha=0.3)
    else:
        bubbles.axis("off")
        bubbles.text(0.5, 0.5, "no gender / age side information", ha="center", va="center", fontsize=10)
    figure.suptitle("Figure 6: who is in each learned community (ML-1M users.dat; never seen in training)")
    return figure


def communities_frame(summary: pd.DataFrame, top_items: pd.DataFrame | None = None) -> pd.DataFrame:
    """Figure 6's companion table for people: per community its members, the share of women
    and of each age group (%), and its top items by exposure lift (titles only)."""
    titles = _top_titles(summary, top_items)
    rows = []
    for r in summary.to_dict("records"):
        row = {"community": str(r["community"]), "members": f"{r['size']:.0f}", "women": _percent(r["female_share"])}
        for code, label in AGE_BRACKETS.items():
            row[f"age {label}"] = _percent(r.get(f"age_{code}", np.nan))
        row["top items (exposure lift)"] = "; ".join(titles.get(int(r["community"]), []))
        rows.append(row)
    return pd.DataFrame(rows)


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
