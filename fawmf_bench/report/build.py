"""Assemble the report folder from a result store: Tables 1-3 (CSV + Markdown), the figures
(PNG + SVG) and one self-contained HTML page.

Figures are registered in :data:`FIGURES`; a figure whose data is not in the store is skipped
with a note on the page. Table 1 needs each dataset's statistics: they come from the data
cache when it holds the same data (same checksum as the runs) and are then snapshotted to
``<store>/<dataset>/dataset.json``, so a store alone reproduces the tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from matplotlib.figure import Figure

from ..data import DataError, dataset_spec, load_dataset, status
from ..experiments.figure_experiments import (
    load_communities,
    load_convergence,
    load_exposure_recovery,
    load_k_sweep,
)
from ..experiments.store import ResultStore
from .claims import audit, claims_html, claims_markdown, floor_notes
from .figure_plots import draw_communities, draw_convergence, draw_exposure_recovery, draw_k_sweep
from .figures import plot_running_time, save_figure
from .html import FigureItem, render_html
from .table3 import table3
from .tables import Table, final_frame, preferred_protocol, table1, table2

STATS_SNAPSHOT = "dataset.json"


@dataclass(frozen=True)
class FigureSource:
    """A figure of the report: ``draw(store, final_records)`` returns a Figure, or None when
    the store holds no data for it (then ``missing`` is shown instead)."""

    name: str
    caption: str
    draw: Callable[[ResultStore, list[dict[str, Any]]], Figure | None]
    missing: str


def _draw_running_time(store: ResultStore, records: list[dict[str, Any]]) -> Figure | None:
    frame = final_frame(records)
    if frame.empty:
        return None
    protocols = preferred_protocol(frame)
    chosen = frame[[protocols[d] == p for d, p in zip(frame["dataset"], frame["protocol"])]]
    return plot_running_time(chosen)


FIGURE_DATASET = "ml-1m"  # the paper draws Figures 4-6 on MovieLens


def _draw_convergence(store: ResultStore, records: list[dict[str, Any]]) -> Figure | None:
    frame = load_convergence(store.root, FIGURE_DATASET)
    return None if frame.empty else draw_convergence(frame)


def _draw_k_sweep(store: ResultStore, records: list[dict[str, Any]]) -> Figure | None:
    frame = load_k_sweep(store.root, FIGURE_DATASET)
    return None if frame.empty else draw_k_sweep(frame)


def _draw_communities(store: ResultStore, records: list[dict[str, Any]]) -> Figure | None:
    try:
        summary, top_items = load_communities(store.root, FIGURE_DATASET)
    except FileNotFoundError:
        return None
    return draw_communities(summary, top_items)


def _draw_exposure_recovery(store: ResultStore, records: list[dict[str, Any]]) -> Figure | None:
    frame = load_exposure_recovery(store.root)
    return None if frame.empty else draw_exposure_recovery(frame)


FIGURES: list[FigureSource] = [
    FigureSource("figure3_running_time", "Figure 3: running time of the methods on each dataset (log scale)",
                 _draw_running_time, "no final fits in the store"),
    FigureSource("figure4_convergence",
                 "Figure 4: FAWMF on ML-1M, Pre@5 on the held-out part versus epochs and training seconds per learner. "
                 "Each curve's scoring is chosen on validation: [exposure] = S2 (gamma_ij u_i.v_j), [preference] = "
                 "S1 (u_i.v_j); * = no validation choice stored, S1 drawn. The 5X / 25X SGD learners stop at 30 / 20 "
                 "epochs ('ep'): each of their epochs visits 6 / 26 times the pairs of a 1X epoch, so their budget "
                 "already exceeds fBGD's whole run in time (right panel)",
                 _draw_convergence,
                 "skipped: no convergence experiment in the store (fawmf-bench run --experiment convergence)"),
    FigureSource("figure5_k_sweep", "Figure 5: Pre@5 versus K for FAWMF, eALS and WMF (cv fold 0)",
                 _draw_k_sweep, "skipped: no k-sweep experiment in the store (fawmf-bench run --experiment k-sweep)"),
    FigureSource("figure6_communities", "Figure 6: learned communities on ML-1M (top exposed movies, members)",
                 _draw_communities,
                 "skipped: no communities case study in the store (fawmf-bench run --experiment communities)"),
    FigureSource("figure_exposure_recovery",
                 "Exposure recovery: on synthetic data with known exposure, how well FAWMF's gamma, EXMF's posterior "
                 "and item popularity rank the true exposure of unconsumed pairs, versus density",
                 _draw_exposure_recovery,
                 "skipped: no exposure-recovery experiment in the store (fawmf-bench run --experiment exposure-recovery)"),
]


def dataset_stats(
    store_root: Path, dataset: str, checksums: set[str], home: Path | None = None
) -> dict[str, Any] | None:
    """Statistics of ``dataset`` after preprocessing, for the data the runs used.

    Read from the data cache (generated for synthetic data) when its checksum is one of the
    runs' ``checksums``, and snapshotted beside the records; else read from that snapshot;
    None when neither is available.
    """
    snapshot = store_root / dataset / STATS_SNAPSHOT
    found = None
    try:
        if dataset_spec(dataset).is_synthetic:
            data = load_dataset(dataset, home=home)
            found = {"checksum": data.checksum, "stats": data.stats()}
        else:
            meta = status(dataset, home).get("meta")
            if meta:
                found = {"checksum": meta.get("checksum"), "stats": meta.get("stats")}
    except DataError:
        found = None
    if found and found["stats"] and (not checksums or found["checksum"] in checksums):
        text = json.dumps({"dataset": dataset, **found}, indent=1, sort_keys=True) + "\n"
        if not snapshot.is_file() or snapshot.read_text() != text:
            snapshot.write_text(text)
        return found["stats"]
    if snapshot.is_file():
        saved = json.loads(snapshot.read_text())
        if not checksums or saved.get("checksum") in checksums:
            return saved["stats"]
    return None


def build_tables(store: ResultStore, home: Path | None = None, target: str = "fawmf") -> tuple[list[Table], list[dict]]:
    """Every table the store supports, and the records they came from."""
    finals = store.final_records()
    datasets = sorted({r["unit"]["dataset"] for r in finals})
    stats = {}
    for dataset in datasets:
        checksums = {r["dataset_checksum"] for r in finals if r["unit"]["dataset"] == dataset}
        found = dataset_stats(store.root, dataset, checksums, home)
        if found is not None:
            stats[dataset] = found
    first = table1(stats)
    missing = [d for d in datasets if d not in stats]
    if missing:
        note = f"Not listed (data neither cached nor snapshotted in the store): {', '.join(missing)}."
        first = Table(first.name, first.caption, first.data, first.display, first.notes + (note,))
    tables = [first, table2(finals, stats)]
    for dataset, protocol in sorted({(r["unit"]["dataset"], r["unit"]["protocol"]) for r in finals}):
        tables.append(table3(finals, dataset, protocol, store.load_arrays, target=target))
    return tables, finals


def _provenance_line(records: list[dict[str, Any]]) -> str:
    revisions = sorted({str((r.get("provenance") or {}).get("git_revision"))[:12] for r in records})
    versions: dict[str, set[str]] = {}
    for record in records:
        for name, version in ((record.get("provenance") or {}).get("versions") or {}).items():
            versions.setdefault(name, set()).add(str(version))
    packages = ", ".join(f"{n} {'/'.join(sorted(v))}" for n, v in sorted(versions.items()))
    return f"Runs recorded at git revision(s) {', '.join(revisions) or '?'} with {packages or 'unknown versions'}."


def build_report(
    store_root: str | Path, out: str | Path, home: Path | None = None, target: str = "fawmf"
) -> list[Path]:
    """Write every table, figure and ``report.html`` into ``out``; returns the written paths."""
    store = ResultStore(store_root)
    if not store.root.is_dir():
        raise FileNotFoundError(f"no result store at {store.root}")
    out = Path(out)
    tables, finals = build_tables(store, home, target)
    if not finals:
        raise ValueError(f"the store at {store.root} holds no final records; run `fawmf-bench run` first")
    written = [path for t in tables for path in t.write(out)]
    items = []
    for source in FIGURES:
        figure = source.draw(store, finals)
        if figure is None:
            items.append(FigureItem(source.name, source.caption, note=source.missing))
            continue
        paths = save_figure(figure, out / source.name)
        written += paths
        items.append(FigureItem(source.name, source.caption, png=paths[0]))
    intro = [
        "Reproduction of Chen et al., Fast Adaptively Weighted Matrix Factorization (AAAI 2020), "
        "generated by `fawmf-bench report` from the result store; the commands are in results/README.md.",
        "Stand-in datasets (amazon-grocery-5core for Amazon fine foods, douban-monti for Douban) are "
        "different data from the paper's: compare orderings and gaps, not levels.",
        _provenance_line(finals),
    ]
    claims = audit(store.root, tables, finals, _table1_stats(tables), target)
    claims_path = out / "CLAIMS.md"
    notes = floor_notes(finals)
    claims_path.write_text(claims_markdown(claims, notes), encoding="utf-8")
    page = out / "report.html"
    text = render_html("fawmf-bench results", intro, tables, items)
    text = text.replace("</body></html>", claims_html(claims, notes) + "\n</body></html>")
    page.write_text(text, encoding="utf-8")
    return written + [claims_path, page]


def _table1_stats(tables: list[Table]) -> dict[str, dict[str, Any]]:
    """dataset -> {users, items, positives} from Table 1's CSV frame."""
    first = next((t for t in tables if t.name == "table1"), None)
    if first is None or first.data.empty:
        return {}
    return {row["dataset"]: {"users": int(row["users"]), "items": int(row["items"]),
                             "positives": int(row["positives"])} for _, row in first.data.iterrows()}
