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
from ..experiments.figure_experiments import load_communities, load_convergence, load_k_sweep
from ..experiments.store import QUARANTINE, ResultStore
from .figure_plots import draw_communities, draw_convergence, draw_k_sweep
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


FIGURES: list[FigureSource] = [
    FigureSource("figure3_running_time", "Figure 3: running time of the methods on each dataset (log scale)",
                 _draw_running_time, "no final fits in the store"),
    FigureSource("figure4_convergence",
                 "Figure 4: FAWMF on ML-1M, Pre@5 on the held-out part versus epochs and training seconds per learner",
                 _draw_convergence,
                 "skipped: no convergence experiment in the store (fawmf-bench run --experiment convergence)"),
    FigureSource("figure5_k_sweep", "Figure 5: Pre@5 versus K for FAWMF, eALS and WMF (cv fold 0)",
                 _draw_k_sweep, "skipped: no k-sweep experiment in the store (fawmf-bench run --experiment k-sweep)"),
    FigureSource("figure6_communities", "Figure 6: learned communities on ML-1M (top exposed movies, members)",
                 _draw_communities,
                 "skipped: no communities case study in the store (fawmf-bench run --experiment communities)"),
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
    for record in finals:  # every table row must come from files that pass their check
        store.verify_arrays(record)
    datasets = sorted({r["unit"]["dataset"] for r in finals})
    stats = {}
    notes = []
    for dataset in datasets:
        checksums = {r.get("dataset_checksum") for r in finals if r["unit"]["dataset"] == dataset}
        folders = {Path(r["_path"]).parent for r in finals if r["unit"]["dataset"] == dataset}
        chosen_on = {(store.selection(f) or {}).get("dataset_checksum") for f in folders} - {None}
        versions = checksums | chosen_on  # records, and the selections that chose them
        if len(versions) > 1:
            raise ValueError(
                f"the store {store.root} holds results of {len(versions)} versions of dataset {dataset} "
                f"(checksums {', '.join(sorted(map(str, versions)))}); they cannot be mixed in one table: rerun "
                f"`fawmf-bench run --dataset {dataset}` on the current data (it moves the other version's "
                f"records to {store.root / QUARANTINE})")
        found = dataset_stats(store.root, dataset, checksums, home)
        if found is not None:
            stats[dataset] = found
        else:
            notes.append(f"{dataset} is not listed: the results were computed on data with checksum "
                         f"{next(iter(checksums))}, and neither the data cache nor the store's snapshot holds "
                         f"that data's statistics (rerun `fawmf-bench run --dataset {dataset}` on the current data).")
    first = table1(stats)
    if notes:
        first = Table(first.name, first.caption, first.data, first.display, first.notes + tuple(notes))
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
    page = out / "report.html"
    page.write_text(render_html("fawmf-bench results", intro, tables, items), encoding="utf-8")
    return written + [page]
