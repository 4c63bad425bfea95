"""Figures as pure functions: data frame in, matplotlib Figure out; :func:`save_figure` writes
PNG and SVG. Every method has the same color in every figure: the one its class declares
(``Recommender.color``); Figure 4's learner variants take theirs from :data:`LEARNER_PALETTE`.

Adding a figure (Figures 4-6: ``plot_convergence(frame)``, ``plot_k_sweep(frame)``,
``plot_communities(table)``): write the plot function here, taking a tidy frame and returning a
Figure, then register a loader for its data in :mod:`fawmf_bench.report.build`.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..models import method_info  # noqa: E402
from .paper import paper_match  # noqa: E402
from .tables import _method_key, method_label  # noqa: E402

#: Figure-4 optimizer variant -> color (methods declare theirs on their class; together
#: colorblind-safe, Okabe-Ito + Tableau); sampling variants share a hue per sampler
LEARNER_PALETTE: dict[str, str] = {
    "fbgd": "#0072B2",
    "bgd": "#000000",
    "uniform-1x": "#8fd175", "uniform-5x": "#3fa34d", "uniform-25x": "#1b5e20",
    "itempop-1x": "#f4a582", "itempop-5x": "#d6604d", "itempop-25x": "#8b1a1a",
}
_FALLBACK = plt.get_cmap("tab20").colors

#: rcParams that make the files byte-stable across runs (no dates, fixed SVG ids)
_STABLE = {"svg.hashsalt": "fawmf-bench", "svg.fonttype": "path", "figure.dpi": 100}


def method_color(name: str) -> str | tuple[float, float, float]:
    """The color a method's class declares, a Figure-4 learner's, or a stable fallback derived
    from the name."""
    declared = method_info(name.lower()).color
    if declared:
        return declared
    return LEARNER_PALETTE.get(name.lower(), _FALLBACK[zlib.crc32(name.encode()) % len(_FALLBACK)])


def save_figure(figure: Figure, stem: Path) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg`` (no timestamps in either); closes the figure."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    with matplotlib.rc_context(_STABLE):
        figure.savefig(paths[0], dpi=150, metadata={"Software": None})
        figure.savefig(paths[1], metadata={"Date": None, "Creator": None})
    plt.close(figure)
    return paths


def _dataset_tick(dataset: str) -> str:
    match = paper_match(dataset)
    if match is not None and match[1]:
        return f"{dataset}\n(stand-in: {match[0].title})"
    return dataset


def plot_running_time(frame: pd.DataFrame) -> Figure:
    """Figure 3: fit seconds of each method on each dataset (log scale).

    ``frame``: one row per final fit with columns dataset, method, fit_seconds (``final_frame``
    of the runs that stand for each dataset). Bars show the median over folds, whiskers the
    range.
    """
    if frame.empty:
        raise ValueError("no fits to plot")
    datasets = sorted(set(frame["dataset"]))
    methods = sorted(set(frame["method"]), key=_method_key)
    stats = frame.groupby(["dataset", "method"])["fit_seconds"].agg(["median", "min", "max"])
    width = 0.8 / len(methods)
    figure, axes = plt.subplots(figsize=(max(6.0, 1.6 * len(datasets) + 3), 4.2), layout="constrained")
    for index, method in enumerate(methods):
        x, median, low, high = [], [], [], []
        for position, dataset in enumerate(datasets):
            if (dataset, method) in stats.index:
                row = stats.loc[(dataset, method)]
                x.append(position - 0.4 + width * (index + 0.5))
                median.append(max(row["median"], 1e-4))
                low.append(max(row["median"] - row["min"], 0.0))
                high.append(max(row["max"] - row["median"], 0.0))
        axes.bar(x, median, width=width * 0.92, color=method_color(method),
                 label=method_label(method), yerr=np.array([low, high]), capsize=2,
                 error_kw={"elinewidth": 0.8, "ecolor": "#333333"})
    axes.set_yscale("log")
    axes.set_xticks(range(len(datasets)), [_dataset_tick(d) for d in datasets], fontsize=8)
    axes.set_ylabel("training time per fit (s, log scale)")
    axes.set_title("Figure 3: running time (median over folds; whiskers: range)")
    axes.grid(axis="y", which="major", alpha=0.3)
    axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure
