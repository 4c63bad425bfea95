"""Table 3: accuracy of every method on one (dataset, protocol), mean ± std over folds, the
target method's (FAWMF's) Impv% over the best other method per metric, two paired tests, and
the paper's values side by side where the dataset is (or stands in for) one of the paper's.

Impv% = 100 (x_target - x_best) / x_best on fold means (``improvement_percent``). Marks compare
the target with that best other method: "*" paired t-test over folds (p < 0.05, two-sided) and
"†" Wilcoxon signed-rank test on per-user values pooled over folds (p < 0.05, two-sided).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from ..data.splitting import PROTOCOLS
from ..evaluation.metrics import EvaluationResult
from ..evaluation.statistics import (
    best_other,
    fold_summary,
    improvement_percent,
    paired_ttest,
    paired_wilcoxon,
    pooled_per_user,
    significance_mark,
)
from .paper import PAPER_PROTOCOL_NOTE, dataset_label, paper_match, paper_table3
from .tables import TABLE3_METRICS, Table, _method_key, final_frame, format_number, method_label

TTEST_MARK, WILCOXON_MARK = "*", "†"
IMPV_ROW = "Impv%"
TABLE3_CSV_COLUMNS = ["method", "metric", "folds", "mean", "std", "paper", "best_baseline", "ttest_p",
                      "wilcoxon_p", "marks"]

ArraysLoader = Callable[[dict[str, Any]], dict[str, np.ndarray]]


def _significance(records_by_method: dict[str, dict[int, dict[str, Any]]], target: str, other: str,
                  metric: str, load_arrays: ArraysLoader) -> tuple[float, float]:
    """p-values (t-test over shared folds, Wilcoxon over pooled per-user values); NaN if undefined."""
    folds = sorted(set(records_by_method[target]) & set(records_by_method[other]))
    a = [records_by_method[target][f]["metrics"][metric] for f in folds]
    b = [records_by_method[other][f]["metrics"][metric] for f in folds]
    t_p = paired_ttest(a, b).pvalue if len(folds) >= 2 else float("nan")

    def results(method: str) -> list[EvaluationResult]:
        out = []
        for fold in folds:
            arrays = load_arrays(records_by_method[method][fold])
            out.append(EvaluationResult(arrays["users"], {metric: arrays[metric]}, {}, 0))
        return out

    try:
        per_a, per_b = pooled_per_user(results(target), results(other), metric)
        w_p = paired_wilcoxon(per_a, per_b).pvalue
    except (KeyError, ValueError):  # arrays without this metric, or fewer than two users
        w_p = float("nan")
    return t_p, w_p


def table3(records: Iterable[dict[str, Any]], dataset: str, protocol: str, load_arrays: ArraysLoader,
           target: str = "fawmf") -> Table:
    """Table 3 for one (dataset, protocol) from its final records.

    ``load_arrays(record)`` returns the record's per-user arrays (``ResultStore.load_arrays``).
    Without the ``target`` method (or with no other method) the Impv% row is left out.
    """
    finals = [r for r in records if r["unit"]["stage"] == "final" and r["unit"]["dataset"] == dataset
              and r["unit"]["protocol"] == protocol]
    if not finals:
        raise ValueError(f"no final records for dataset {dataset!r} under protocol {protocol!r}")
    frame = final_frame(finals)
    by_method: dict[str, dict[int, dict[str, Any]]] = {}
    for record in finals:
        by_method.setdefault(record["unit"]["method"], {})[record["unit"]["fold"]] = record
    methods = sorted(by_method, key=_method_key)
    paper = paper_table3(dataset)
    summaries = {m: {metric: fold_summary(frame.loc[frame["method"] == m, metric].to_numpy())
                     for metric in TABLE3_METRICS} for m in methods}
    n_folds = {m: len(by_method[m]) for m in methods}

    data_rows, display_rows = [], []
    for method in methods:
        display = {"method": method_label(method), "folds": str(n_folds[method])}
        for metric, label in TABLE3_METRICS.items():
            mean, std = summaries[method][metric]
            paper_value = paper.get(method, {}).get(metric)
            data_rows.append({"method": method, "metric": metric, "folds": str(n_folds[method]),
                              "mean": format_number(mean), "std": format_number(std),
                              "paper": format_number(paper_value)})
            display[label] = format_number(mean) + (f" ± {format_number(std)}" if not np.isnan(std) else "")
            if paper:
                display[f"AAAI-20 {label}"] = format_number(paper_value) or "—"
        display_rows.append(display)

    if target in by_method and len(methods) > 1:
        display = {"method": IMPV_ROW, "folds": ""}
        for metric, label in TABLE3_METRICS.items():
            means = {m: summaries[m][metric][0] for m in methods}
            other = best_other(means, target)
            impv = improvement_percent(means, target)
            t_p, w_p = _significance(by_method, target, other, metric, load_arrays)
            marks = (TTEST_MARK if significance_mark(t_p) else "") + (WILCOXON_MARK if significance_mark(w_p) else "")
            # the paper's Impv% over the same set of methods as ours, so the two are comparable
            paper_means = {m: paper[m][metric] for m in methods if metric in paper.get(m, {})}
            comparable = target in paper_means and len(paper_means) > 1
            paper_impv = improvement_percent(paper_means, target) if comparable else None
            data_rows.append({"method": IMPV_ROW, "metric": metric, "folds": "", "mean": format_number(impv, "+.2f"),
                              "std": "", "paper": format_number(paper_impv, "+.2f"), "best_baseline": other,
                              "ttest_p": format_number(t_p, ".4g"), "wilcoxon_p": format_number(w_p, ".4g"),
                              "marks": marks})
            relation = "behind" if impv < 0 else "ahead of" if impv > 0 else "level with"
            display[label] = f"{format_number(impv, '+.2f')}% {marks}".rstrip() + f" ({relation} {method_label(other)})"
            if paper:
                paper_text = f"{format_number(paper_impv, '+.2f')}%" if paper_impv is not None else "—"
                display[f"AAAI-20 {label}"] = paper_text
        display_rows.append(display)

    data = pd.DataFrame([{c: row.get(c, "") for c in TABLE3_CSV_COLUMNS} for row in data_rows],
                        columns=TABLE3_CSV_COLUMNS)
    match = paper_match(dataset)
    protocol_text = PROTOCOLS.get(protocol, protocol)
    fold_text = f"{max(n_folds.values())} fold(s)"
    caption = (f"Table 3: {dataset_label(dataset)}, protocol '{protocol}' ({protocol_text}; hyperparameters, "
               f"epochs and scoring chosen on validation data carved from the training fold), "
               f"mean ± std over {fold_text}")
    notes = [
        f"Impv%: {method_label(target)} over the best other method per metric (100 (x - x_best) / x_best, fold means). "
        f"Marks (p < 0.05, two-sided, vs that method): {TTEST_MARK} paired t-test over folds; "
        f"{WILCOXON_MARK} Wilcoxon signed-rank test on per-user values pooled over folds. "
        "A mark says the difference is unlikely to be chance, whichever its direction: a negative Impv% "
        "with marks is a significant loss.",
        "MRR (paper): sum of reciprocal ranks of all the user's test items (can exceed 1); "
        "MRR (first hit): reciprocal rank of the first test item.",
    ]
    if match is not None:
        paper_dataset, stand_in = match
        which = (f"'AAAI-20' columns: the paper's {paper_dataset.title} values; {dataset} is only a stand-in "
                 f"for it (different data), so compare orders and gaps, not levels" if stand_in
                 else f"'AAAI-20' columns: the paper's {paper_dataset.title} values")
        notes.append(f"{which}; {PAPER_PROTOCOL_NOTE}.")
    if target not in by_method:
        notes.append(f"No Impv% row: {method_label(target)} is not in the store for this dataset.")
    display = pd.DataFrame(display_rows)
    best = tuple((c, "max") for c in display.columns if c not in ("method", "folds"))
    return Table(f"table3-{dataset}-{protocol}", caption, data, display, tuple(notes), best=best,
                 change_rows=(IMPV_ROW,))
