"""Pure functions from stored records to tables (pandas DataFrames; CSV / Markdown writers)."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

#: the Table-3 columns, in order, with their printed labels
TABLE3_METRICS: dict[str, str] = {
    "pre@5": "Pre@5",
    "rec@5": "Rec@5",
    "ndcg@5": "NDCG@5",
    "mrr_sum": "MRR (paper)",
    "mrr": "MRR (first hit)",
}

METHOD_ORDER = ["itempop", "wmf", "eals", "bpr", "cdae", "exmf", "fawmf"]


def final_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per final (test-fold) record: dataset, protocol, method, fold, metrics, seconds."""
    rows = []
    for record in records:
        unit = record["unit"]
        if unit["stage"] != "final":
            continue
        rows.append(
            {
                "dataset": unit["dataset"],
                "protocol": unit["protocol"],
                "method": unit["method"],
                "fold": unit["fold"],
                "fit_seconds": record["fit_seconds"],
                "epochs": record["epochs"],
                **record["metrics"],
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    order = {m: i for i, m in enumerate(METHOD_ORDER)}
    frame["_order"] = frame["method"].map(lambda m: order.get(m, len(order)))
    frame = frame.sort_values(["dataset", "protocol", "_order", "fold"]).drop(columns="_order")
    return frame.reset_index(drop=True)


def summary_table(records: Iterable[dict[str, Any]], metrics: dict[str, str] = TABLE3_METRICS) -> pd.DataFrame:
    """Mean +- std over folds per (dataset, protocol, method), as printable strings."""
    frame = final_frame(records)
    if frame.empty:
        return frame
    keys = ["dataset", "protocol", "method"]
    grouped = frame.groupby(keys, sort=False)
    out = grouped.size().rename("folds").to_frame()
    for name, label in metrics.items():
        if name not in frame:
            continue
        mean, std = grouped[name].mean(), grouped[name].std(ddof=1)
        out[label] = [_mean_std(m, s) for m, s in zip(mean, std)]
    out["fit s"] = grouped["fit_seconds"].median().map(lambda s: f"{s:.1f}")
    return out.reset_index()


def _mean_std(mean: float, std: float) -> str:
    if np.isnan(std):
        return f"{mean:.4f}"
    return f"{mean:.4f} ± {std:.4f}"
