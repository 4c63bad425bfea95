"""Assemble the report folder from a result store: Tables 1-3 (CSV + Markdown), the figures
(PNG + SVG) and one self-contained HTML page (figures inline as SVG).

Figures are registered in :data:`FIGURES`; a figure whose data is not in the store is skipped
with a note on the page. Table 1 needs each dataset's statistics: they come from the data
cache when it holds the same data (same checksum as the runs) and are then snapshotted to
``<store>/<dataset>/dataset.json``, so a store alone reproduces the tables.

The page's sections are Tables, Figures and then every section that a function in
:data:`EXTRA_SECTIONS` (or the ``extra_sections`` argument) returns, e.g. a claims audit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd
from matplotlib.figure import Figure

from ..data import DataError, dataset_spec, load_dataset, status
from ..experiments.figure_experiments import (
    load_communities,
    load_convergence,
    load_exposure_recovery,
    load_k_sweep,
)
from ..experiments.store import QUARANTINE, ResultStore
from .claims import audit, claims_html, claims_markdown, floor_notes
from .figure_plots import communities_frame, draw_communities, draw_convergence, draw_exposure_recovery, draw_k_sweep
from .figures import plot_running_time, save_figure
from .html import FigureItem, Section, TableItem, figures_section, render_html, tables_section
from .provenance import provenance_lines, records_under
from .table3 import table3
from .tables import Table, final_frame, method_label, preferred_protocol, table1, table2

STATS_SNAPSHOT = "dataset.json"


Records = list[dict[str, Any]]


@dataclass(frozen=True)
class FigureSource:
    """A figure of the report: ``draw(store, final_records)`` returns a Figure, or None when
    the store holds no data for it (then ``missing`` is shown instead); ``sources`` returns
    the stored records behind it (for its provenance); ``table`` an optional companion table."""

    name: str
    caption: str
    draw: Callable[[ResultStore, Records], Figure | None]
    missing: str
    sources: Callable[[ResultStore, Records], Records]
    table: Callable[[ResultStore], tuple[pd.DataFrame, str] | None] | None = None
    notes: tuple[str, ...] = ()


def _chosen_finals(records: Records) -> Records:
    """The final records of each dataset's preferred protocol (cv when stored)."""
    frame = final_frame(records)
    if frame.empty:
        return []
    protocols = preferred_protocol(frame)
    return [r for r in records if r["unit"]["stage"] == "final" and protocols.get(r["unit"]["dataset"]) == r["unit"]["protocol"]]


def _draw_running_time(store: ResultStore, records: Records) -> Figure | None:
    chosen = final_frame(_chosen_finals(records))
    return None if chosen.empty else plot_running_time(chosen)


FIGURE_DATASET = "ml-1m"  # the paper draws Figures 4-6 on MovieLens


def _draw_convergence(store: ResultStore, records: Records) -> Figure | None:
    frame = load_convergence(store.root, FIGURE_DATASET)
    return None if frame.empty else draw_convergence(frame)


def _draw_k_sweep(store: ResultStore, records: Records) -> Figure | None:
    frame = load_k_sweep(store.root, FIGURE_DATASET)
    return None if frame.empty else draw_k_sweep(frame)


def _draw_communities(store: ResultStore, records: Records) -> Figure | None:
    try:
        summary, top_items = load_communities(store.root, FIGURE_DATASET)
    except FileNotFoundError:
        return None
    return draw_communities(summary, top_items)


def _communities_table(store: ResultStore) -> tuple[pd.DataFrame, str] | None:
    try:
        summary, top_items = load_communities(store.root, FIGURE_DATASET)
    except FileNotFoundError:
        return None
    caption = ("Per community: members (sum of memberships), women and each age group as shares of the members "
               "(weighted by membership), and the five items whose exposure logit most exceeds their own mean "
               "over the communities (lift; ranking by the raw exposure would list the same popular items "
               "everywhere, since an item's shared bias saturates it).")
    return communities_frame(summary, top_items), caption


def _experiment_records(experiment: str) -> Callable[[ResultStore, Records], Records]:
    return lambda store, records: records_under(store.root / FIGURE_DATASET / experiment)


def _draw_exposure_recovery(store: ResultStore, records: list[dict[str, Any]]) -> Figure | None:
    frame = load_exposure_recovery(store.root)
    return None if frame.empty else draw_exposure_recovery(frame)


FIGURES: list[FigureSource] = [
    FigureSource("figure3_running_time", "Figure 3: running time of the methods on each dataset (log scale)",
                 _draw_running_time, "no final fits in the store", lambda store, records: _chosen_finals(records),
                 notes=("Fit seconds of the final fits, measured while other runs shared the machine: compare "
                        "within the figure only.",)),
    FigureSource("figure4_convergence",
                 "Figure 4: FAWMF on ML-1M, Pre@5 on the held-out part versus epochs and training seconds per learner. "
                 "Each curve's scoring is chosen on validation: [exposure] = S2 (gamma_ij u_i.v_j), [preference] = "
                 "S1 (u_i.v_j); * = no validation choice stored, S1 drawn. The 5X / 25X SGD learners stop at 30 / 20 "
                 "epochs ('ep'): each of their epochs visits 6 / 26 times the pairs of a 1X epoch, so 20-30 of them "
                 "take about as long as fBGD's whole run (right panel; seconds from a shared, loaded machine)",
                 _draw_convergence,
                 "skipped: no convergence experiment in the store (fawmf-bench run --experiment convergence)",
                 _experiment_records("convergence")),
    FigureSource("figure5_k_sweep", "Figure 5: Pre@5 versus K for FAWMF, eALS and WMF (cv fold 0)",
                 _draw_k_sweep, "skipped: no k-sweep experiment in the store (fawmf-bench run --experiment k-sweep)",
                 _experiment_records("k-sweep")),
    FigureSource("figure6_communities", "Figure 6: learned communities on ML-1M (age groups, women, top items)",
                 _draw_communities,
                 "skipped: no communities case study in the store (fawmf-bench run --experiment communities)",
                 _experiment_records("communities"), table=_communities_table),
    FigureSource("figure_exposure_recovery",
                 "Exposure recovery: on synthetic data with known exposure, how well FAWMF's gamma, EXMF's posterior "
                 "and item popularity rank the true exposure of unconsumed pairs, versus density",
                 _draw_exposure_recovery,
                 "skipped: no exposure-recovery experiment in the store (fawmf-bench run --experiment exposure-recovery)",
                 lambda store, records: records_under(store.root / "synthetic" / "exposure-recovery")),
]

#: functions (store, final records) -> Section | None whose sections follow the figures
EXTRA_SECTIONS: list[Callable[[ResultStore, Records], Section | None]] = []


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


def _selection(store: ResultStore, dataset: str, protocol: str, method: str) -> dict[str, Any] | None:
    path = store.root / dataset / protocol / method / "selection.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _settings_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(params.items())) or "-"


def chosen_settings(store: ResultStore, records: Records, dataset: str, protocol: str) -> pd.DataFrame:
    """One row per method of a Table 3: the settings its final fits used (``selection.json``'s
    ``chosen`` when the method was tuned, else the fits' own params), split into what was chosen
    on validation (grid parameters that varied, epochs, scoring) and what was fixed."""
    finals = [r for r in records if r["unit"]["stage"] == "final" and r["unit"]["dataset"] == dataset
              and r["unit"]["protocol"] == protocol]
    order = final_frame(finals).drop_duplicates("method")["method"].tolist()
    rows = []
    for method in order:
        own = [r for r in finals if r["unit"]["method"] == method]
        selection = _selection(store, dataset, protocol, method)
        if selection:
            chosen = dict(selection["chosen"])
            grid = [dict(g.get("params", {}), scoring=g.get("scoring")) for g in selection.get("grid", [])]
            varied = {k for k in {k for g in grid for k in g} if len({json.dumps(g.get(k), sort_keys=True) for g in grid}) > 1}
            varied |= {"epochs", "scoring"} & set(chosen)
            source = f"grid of {len(grid)} on validation (metric {selection.get('metric', '?')})"
        else:
            chosen = dict(own[0]["unit"]["params"])
            epochs = sorted({int(r["epochs"]) for r in own if r.get("epochs") is not None})
            scorings = sorted({str(r["scoring"]) for r in own if r.get("scoring")})
            if epochs:
                chosen["epochs"] = "/".join(map(str, epochs))
            if scorings:
                chosen["scoring"] = "/".join(scorings)
            varied = {"epochs", "scoring"} & set(chosen)
            source = "fixed settings (not tuned); epochs and scoring on validation"
        dates = sorted({str((r.get("provenance") or {}).get("written", ""))[:10] for r in own} - {""})
        revisions = sorted({str((r.get("provenance") or {}).get("git_revision") or "unknown")[:10] for r in own})
        rows.append({
            "method": method_label(method),
            "chosen on validation": _settings_text({k: v for k, v in chosen.items() if k in varied}),
            "fixed": _settings_text({k: v for k, v in chosen.items() if k not in varied}),
            "how": source,
            "run date": dates[0] if len(dates) == 1 else (f"{dates[0]} to {dates[-1]}" if dates else "?"),
            "git revision": ", ".join(revisions),
        })
    return pd.DataFrame(rows)


def _table_items(store: ResultStore, tables: list[Table], finals: Records) -> list[TableItem]:
    items = []
    for table in tables:
        if table.name.startswith("table3-"):
            dataset, protocol = _table3_key(table, finals)
            own = [r for r in finals if r["unit"]["dataset"] == dataset and r["unit"]["protocol"] == protocol]
            items.append(TableItem(table, chosen_settings(store, finals, dataset, protocol),
                                   "Chosen hyperparameters and the runs behind each row", tuple(provenance_lines(own))))
        elif table.name == "table2":
            items.append(TableItem(table, provenance=tuple(provenance_lines(_chosen_finals(finals)))))
        else:
            items.append(TableItem(table))
    return items


def _table3_key(table: Table, finals: Records) -> tuple[str, str]:
    for dataset, protocol in {(r["unit"]["dataset"], r["unit"]["protocol"]) for r in finals}:
        if table.name == f"table3-{dataset}-{protocol}":
            return dataset, protocol
    raise ValueError(f"no records behind {table.name}")


def build_report(
    store_root: str | Path, out: str | Path, home: Path | None = None, target: str = "fawmf",
    extra_sections: Sequence[Callable[[ResultStore, Records], Section | None]] = (),
) -> list[Path]:
    """Write every table, figure and ``report.html`` into ``out``; returns the written paths.

    ``extra_sections`` (after :data:`EXTRA_SECTIONS`) add sections after the figures."""
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
        table = source.table(store) if source.table else None
        items.append(FigureItem(source.name, source.caption, svg=paths[1], notes=source.notes,
                                provenance=tuple(provenance_lines(source.sources(store, finals))),
                                table=table[0] if table else None, table_caption=table[1] if table else ""))
    sections = [tables_section(_table_items(store, tables, finals)), figures_section(items)]
    for make in [*EXTRA_SECTIONS, *extra_sections]:
        section = make(store, finals)
        if section is not None:
            sections.append(section)
    intro = [
        "Reproduction of Chen et al., Fast Adaptively Weighted Matrix Factorization (AAAI 2020), "
        "generated by `fawmf-bench report` from the result store; the commands are in results/README.md.",
        "Stand-in datasets (amazon-grocery-5core for Amazon fine foods, douban-monti for Douban) are "
        "different data from the paper's: compare orderings and gaps, not levels.",
        "Under each table: the hyperparameters chosen on validation and the runs behind it (date, machine, "
        "package versions, git revision); under each figure: its provenance.",
    ]
    claims = audit(store.root, tables, finals, _table1_stats(tables), target)
    claims_path = out / "CLAIMS.md"
    notes = floor_notes(finals)
    claims_path.write_text(claims_markdown(claims, notes), encoding="utf-8")
    page = out / "report.html"
    sections.append(Section("claims", "Claims audit", claims_html(claims, notes)))
    page.write_text(render_html("fawmf-bench results", intro, sections), encoding="utf-8")
    return written + [claims_path, page]


def _table1_stats(tables: list[Table]) -> dict[str, dict[str, Any]]:
    """dataset -> {users, items, positives} from Table 1's CSV frame."""
    first = next((t for t in tables if t.name == "table1"), None)
    if first is None or first.data.empty:
        return {}
    return {row["dataset"]: {"users": int(row["users"]), "items": int(row["items"]),
                             "positives": int(row["positives"])} for _, row in first.data.iterrows()}
