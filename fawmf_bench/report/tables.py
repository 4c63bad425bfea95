"""Pure functions from stored records to tables (pandas DataFrames; CSV / Markdown writers).

Every table is a :class:`Table`: a CSV frame of fixed-format strings for machines and a display
frame with a caption for people. Rows are sorted and no cell holds a timestamp, so the same store
always gives the same bytes. Table 3 lives in :mod:`fawmf_bench.report.table3`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..models import method_info, method_names
from .paper import dataset_label, paper_match

#: the Table-3 columns, in order, with their printed labels
TABLE3_METRICS: dict[str, str] = {
    "pre@5": "Pre@5",
    "rec@5": "Rec@5",
    "ndcg@5": "NDCG@5",
    "mrr_sum": "MRR (paper)",
    "mrr": "MRR (first hit)",
}

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
    keys = ["dataset", "protocol", "method", "fold"]
    clashes = frame[frame.duplicated(keys, keep=False)]
    if not clashes.empty:
        where = sorted({f"{d}/{p}/{m}" for d, p, m in zip(clashes["dataset"], clashes["protocol"], clashes["method"])})
        raise ValueError(
            f"the store holds several final records for the same fold of {', '.join(where)} "
            "(runs with other settings or seeds share one store); give each configuration its own --out"
        )
    frame["_order"] = frame["method"].map(lambda m: method_info(m).order)
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


# --------------------------------------------------------------------------- writers
def format_number(value: float | None, spec: str = ".4f") -> str:
    """Fixed formatting for table cells; missing and NaN values print as an empty cell."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return format(value, spec)


def csv_text(frame: pd.DataFrame) -> str:
    """CSV of a table of strings (byte-stable: "\\n" line ends, no index)."""
    return frame.to_csv(index=False, lineterminator="\n")


def markdown_text(frame: pd.DataFrame, caption: str = "", notes: Sequence[str] = ()) -> str:
    """A GitHub Markdown table, the caption above it in bold and notes below (no tabulate needed)."""
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = [f"**{caption}**", ""] if caption else []
    lines.append("| " + " | ".join(cell(c) for c in frame.columns) + " |")
    numeric = [i > 0 and all(_looks_numeric(v) for v in frame.iloc[:, i]) for i in range(len(frame.columns))]
    lines.append("|" + "|".join("---:" if right else "---" for right in numeric) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    if notes:
        lines.append("")
        lines += [f"{note}  " if i < len(notes) - 1 else note for i, note in enumerate(notes)]
    return "\n".join(lines) + "\n"


def _looks_numeric(value: Any) -> bool:
    text = str(value).strip()
    return text in ("", "—") or text[0].isdigit() or text[0] in "+-."


@dataclass(frozen=True)
class Table:
    """One report table: a CSV frame for machines, a display frame and caption for people."""

    name: str
    caption: str
    data: pd.DataFrame
    display: pd.DataFrame
    notes: tuple[str, ...] = ()
    #: (display column, "max" | "min"): columns whose best plain number the HTML page marks
    best: tuple[tuple[str, str], ...] = ()
    #: first-column values of rows holding signed changes (gains / losses), e.g. "Impv%"
    change_rows: tuple[str, ...] = ()

    def write(self, folder: Path) -> list[Path]:
        """Write ``<name>.csv`` and ``<name>.md`` into ``folder``; returns their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        csv_path, md_path = folder / f"{self.name}.csv", folder / f"{self.name}.md"
        csv_path.write_text(csv_text(self.data), encoding="utf-8")
        md_path.write_text(markdown_text(self.display, self.caption, self.notes), encoding="utf-8")
        return [csv_path, md_path]


def method_label(method: str) -> str:
    """The printed name its class declares (``label``), else the name itself."""
    return method_info(method).label


def _method_key(method: str) -> tuple[float, str]:
    """Table / legend order: the class's ``plot_order``, unknown methods last, then by name."""
    return method_info(method).sort_key


# --------------------------------------------------------------------------- Table 1
def table1(stats: Mapping[str, Mapping[str, Any]]) -> Table:
    """Dataset statistics after preprocessing next to the paper's Table 1.

    ``stats``: dataset -> {users, items, positives, density} (``InteractionMatrix.stats()``).
    """
    rows = []
    for dataset in sorted(stats):
        s = stats[dataset]
        match = paper_match(dataset)
        paper, stand_in = match if match else (None, False)
        rows.append({
            "dataset": dataset,
            "users": str(int(s["users"])),
            "items": str(int(s["items"])),
            "positives": str(int(s["positives"])),
            "density %": format_number(100.0 * float(s["positives"]) / (int(s["users"]) * int(s["items"])), ".4f"),
            "paper dataset": (paper.title + (" (ours is a stand-in)" if stand_in else "")) if paper else "",
            "paper users": str(paper.users) if paper else "",
            "paper items": str(paper.items) if paper else "",
            "paper positives": str(paper.positives) if paper else "",
        })
    data = pd.DataFrame(rows, columns=_TABLE1_COLUMNS)
    display = data.copy()
    for column in ("users", "items", "positives", "paper users", "paper items", "paper positives"):
        display[column] = [f"{int(v):,}" if v else "" for v in display[column]]
    display["dataset"] = [dataset_label(d) for d in display["dataset"]]
    caption = ("Table 1: dataset statistics after preprocessing (every rating a positive, items with < 3 "
               "interactions dropped) beside the paper's Table 1")
    notes = []
    if "ml-1m" in stats:
        notes.append(f"ML-1M: the paper's 3,952 items is the largest movie id before filtering; "
                     f"{int(stats['ml-1m']['items']):,} items keep at least 3 interactions here.")
    if any((paper_match(d) or (None, False))[1] for d in stats):
        notes.append("A stand-in is different data from the paper's dataset: compare orderings and gaps, not levels.")
    if not rows:
        notes.append("No dataset statistics available (neither cached nor snapshotted in the store).")
    return Table("table1", caption, data, display, tuple(notes))


_TABLE1_COLUMNS = ["dataset", "users", "items", "positives", "density %", "paper dataset", "paper users",
                   "paper items", "paper positives"]


# --------------------------------------------------------------------------- Table 2
def epoch_seconds(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Seconds of every training epoch of the final fits (differences of the traces'
    cumulative training seconds; evaluation excluded): dataset, protocol, method, fold, seconds."""
    rows = []
    for record in records:
        unit = record["unit"]
        if unit["stage"] != "final" or not record.get("trace"):
            continue
        cumulative = np.array([row["seconds"] for row in record["trace"]], dtype=np.float64)
        for seconds in np.diff(cumulative, prepend=0.0):
            rows.append((unit["dataset"], unit["protocol"], unit["method"], unit["fold"], float(seconds)))
    return pd.DataFrame(rows, columns=["dataset", "protocol", "method", "fold", "seconds"])


def preferred_protocol(frame: pd.DataFrame) -> dict[str, str]:
    """Per dataset the protocol whose runs stand for it in timing tables and figures: "cv" when
    stored, else the first in sorted order."""
    chosen = {}
    for dataset, group in frame.groupby("dataset", sort=True):
        protocols = sorted(set(group["protocol"]))
        chosen[dataset] = "cv" if "cv" in protocols else protocols[0]
    return chosen


def table2(records: Iterable[dict[str, Any]], sizes: Mapping[str, Mapping[str, Any]] | None = None) -> Table:
    """Method characteristics (the paper's Table 2) plus the measured median seconds per
    epoch of the final fits on each stored dataset (``sizes``: dataset -> stats, for the header)."""
    records = list(records)
    finals = final_frame(records)
    epochs = epoch_seconds(records)
    protocols = preferred_protocol(finals) if not finals.empty else {}
    medians = {} if epochs.empty else epochs.groupby(["dataset", "protocol", "method"])["seconds"].median().to_dict()
    # Table 2 of the paper: each class declares its row (``characteristics``); Item-pop is ours
    described = {m for m in method_names() if method_info(m).characteristics is not None}
    methods = sorted(set(finals["method"]) | described if not finals.empty else described, key=_method_key)
    data_rows, display_rows = [], []
    for method in methods:
        adaptive, no_sampling, complexity = method_info(method).characteristics or ("", "", "")
        data_row = {"method": method, "adaptive weights": adaptive, "without sampling": no_sampling,
                    "complexity": complexity}
        display_row = {"method": method_label(method), **{k: v for k, v in data_row.items() if k != "method"}}
        for dataset, protocol in protocols.items():
            median = medians.get((dataset, protocol, method))
            value = format_number(median, ".4g") if median is not None else ""
            data_row[f"s/epoch {dataset}"] = value
            size = (sizes or {}).get(dataset)
            header = f"s/epoch {dataset}" + (f" ({int(size['users']):,}x{int(size['items']):,})" if size else "")
            display_row[header] = value or "—"
        data_rows.append(data_row)
        display_rows.append(display_row)
    caption = ("Table 2: characteristics of the methods (paper's Table 2; Item-pop added) and measured median "
               "seconds per training epoch of the final fits (evaluation excluded)")
    notes = ("n users, m items, |X+| positives, K factors, D communities. Timing columns use the cv runs "
             "of each dataset when stored; '—': not run.",)
    return Table("table2", caption, pd.DataFrame(data_rows), pd.DataFrame(display_rows), notes)
