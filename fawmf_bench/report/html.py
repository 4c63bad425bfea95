"""One self-contained HTML page for people: a table of contents, the tables (scrolling inside
themselves on a narrow screen, never the page), the figures as inline SVG, and per table and
figure the settings and runs behind it. No script, no external resource, no timestamp.

The page is a list of :class:`Section` (Tables, Figures, then any extra section a caller adds,
e.g. a claims audit); each section carries its own entries for the table of contents.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

from .tables import Table


@dataclass(frozen=True)
class TableItem:
    """A table for the page, with what produced it: ``details`` (one row per method: the
    chosen hyperparameters, revision, run date) and ``provenance`` lines."""

    table: Table
    details: pd.DataFrame | None = None
    details_caption: str = ""
    provenance: tuple[str, ...] = ()


@dataclass(frozen=True)
class FigureItem:
    """A figure for the page: its SVG when drawn, else the reason it was skipped (``note``);
    optionally a table shown below it (text that would be too small inside the image)."""

    name: str
    caption: str
    svg: Path | None = None
    note: str = ""
    provenance: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    table: pd.DataFrame | None = None
    table_caption: str = ""


@dataclass(frozen=True)
class Section:
    """A top-level section of the page: ``body`` is ready HTML; ``entries`` are its
    (anchor id, title) pairs for the table of contents."""

    id: str
    title: str
    body: str
    entries: tuple[tuple[str, str], ...] = field(default_factory=tuple)


_STYLE = """
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1180px;
       padding: 1rem 1.25rem 3rem; color: #1f2328; line-height: 1.45; overflow-wrap: break-word; }
h1 { font-size: 1.6rem; margin: 0.4rem 0 0.6rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 0.6rem; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2rem; }
h3 { font-size: 1rem; margin: 1.6rem 0 0.4rem; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 0.9em; background: #f3f4f6;
       padding: 0 0.2em; border-radius: 3px; overflow-wrap: anywhere; }
nav.toc { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 0.5rem 1rem; }
nav.toc h2 { border: 0; margin: 0.2rem 0; font-size: 1.05rem; }
nav.toc ol { margin: 0.2rem 0; padding-left: 1.3rem; }
nav.toc a { text-decoration: none; }
.scroll { overflow-x: auto; max-width: 100%; margin: 0.3rem 0; border: 1px solid #d0d7de; border-radius: 4px; }
table { border-collapse: collapse; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 0.28rem 0.55rem; text-align: right; white-space: nowrap; }
th { background: #f6f8fa; font-weight: 600; vertical-align: bottom; }
th:first-child, td:first-child { text-align: left; position: sticky; left: 0; background: #fff;
                                 border-right: 1px solid #d0d7de; }
th:first-child { background: #f6f8fa; }
table.wrap td, table.wrap th { white-space: normal; text-align: left; vertical-align: top; }
table.wrap td.long { min-width: 16rem; }
td.best { font-weight: 700; background: #dbeafe; }
td.win { background: #dcfce7; color: #14532d; font-weight: 600; }
td.loss { background: #fee2e2; color: #991b1b; font-weight: 600; }
span.vs { font-size: 0.82em; font-weight: 400; }
span.std { font-size: 0.82em; color: #6b7280; font-weight: 400; }
span.sign { font-size: 0.8em; margin-right: 0.25em; }
p.note, ul.notes { font-size: 0.85rem; color: #4b5563; margin: 0.3rem 0; }
ul.notes { padding-left: 1.2rem; }
p.skipped { color: #8a4b00; }
details { margin: 0.4rem 0; font-size: 0.85rem; }
details summary { cursor: pointer; color: #0b5cad; }
details ul { margin: 0.3rem 0; padding-left: 1.2rem; }
figure { margin: 1.2rem 0 2rem; }
figure .svg { overflow-x: auto; max-width: 100%; }
figure .svg svg { display: block; width: 100%; height: auto; min-width: 300px; }
figcaption { font-weight: 600; margin: 0.3rem 0; }
.legend { font-size: 0.8rem; color: #4b5563; }
.legend span { display: inline-block; padding: 0 0.35em; margin-right: 0.4em; border-radius: 3px; }
@media (max-width: 640px) {
  body { padding: 0.6rem 0.7rem 2rem; }
  h1 { font-size: 1.3rem; }
  table { font-size: 0.78rem; }
  th, td { padding: 0.22rem 0.4rem; }
  figure .svg svg { min-width: 560px; }
}
"""

_E = html.escape
_BACKTICKS = re.compile(r"`([^`]+)`")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?: ± \d+(?:\.\d+)?)?$")


def inline(text: str) -> str:
    """Escape ``text`` for HTML; spans in backticks become ``<code>`` (no literal backticks)."""
    parts = _BACKTICKS.split(str(text))
    return "".join(f"<code>{_E(p)}</code>" if i % 2 else _E(p).replace("`", "'") for i, p in enumerate(parts))


def _number(cell: str) -> float | None:
    text = str(cell).strip()
    if not _PLAIN_NUMBER.match(text):
        return None
    return float(text.split(" ± ")[0])


def _best_cells(table: Table) -> set[tuple[int, int]]:
    """(row, column) of each column's best plain number, for the columns ``table.best`` names."""
    marked = set()
    columns = list(table.display.columns)
    for column, direction in table.best:
        if column not in columns:
            continue
        j = columns.index(column)
        values = {i: _number(v) for i, v in enumerate(table.display.iloc[:, j])}
        values = {i: v for i, v in values.items() if v is not None}
        if len(values) < 2:
            continue
        target = max(values.values()) if direction == "max" else min(values.values())
        marked |= {(i, j) for i, v in values.items() if v == target}
    return marked


def _cell(value: object, best: bool, change: bool) -> str:
    text = str(value)
    if change and text[:1] in "+-" and _leading_float(text) not in (None, 0.0):
        win = text.startswith("+")
        sign = '<span class="sign" aria-hidden="true">▲</span>' if win else '<span class="sign" aria-hidden="true">▼</span>'
        shown = text if win else "−" + text[1:]  # a real minus sign
        value, paren, rest = shown.partition(" (")  # "(behind eALS)" on a line of its own: narrower columns
        body = inline(value) + (f'<br><span class="vs">({inline(rest)}</span>' if paren else "")
        return f'<td class="{"win" if win else "loss"}">{sign}{body}</td>'
    body = inline(text)
    if " ± " in text and _PLAIN_NUMBER.match(text.strip()):
        mean, std = text.split(" ± ", 1)
        body = f'{_E(mean)}<span class="std"> ± {_E(std)}</span>'
    return f'<td class="best">{body}</td>' if best else f"<td>{body}</td>"


def _leading_float(text: str) -> float | None:
    match = re.match(r"[+-]?\d+(?:\.\d+)?", text)
    return float(match.group(0)) if match else None


def table_html(table: Table, shared_notes: frozenset[str] = frozenset()) -> str:
    """The display table in a self-scrolling box; best cells and win / loss cells get classes.
    Notes in ``shared_notes`` are left out (the page prints them once)."""
    best = _best_cells(table)
    head = "".join(f'<th scope="col">{inline(c)}</th>' for c in table.display.columns)
    rows = []
    for i, row in enumerate(table.display.itertuples(index=False)):
        change = str(row[0]) in table.change_rows
        cells = [_cell(row[0], False, False)]
        cells += [_cell(v, (i, j) in best, change) for j, v in enumerate(row) if j > 0]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    notes = [n for n in table.notes if n not in shared_notes]
    notes_html = f'<ul class="notes">{"".join(f"<li>{inline(n)}</li>" for n in notes)}</ul>' if notes else ""
    return (f'<div class="scroll" role="region" aria-label="{_E(table.name)}" tabindex="0"><table>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{notes_html}")


def frame_html(frame: pd.DataFrame, long_columns: Sequence[str] = ()) -> str:
    """A plain table whose cells wrap (for settings and other text), in a self-scrolling box."""
    head = "".join(f"<th>{inline(c)}</th>" for c in frame.columns)
    long = {i for i, c in enumerate(frame.columns) if c in long_columns}
    body = "".join(
        "<tr>" + "".join(f'<td class="long">{inline(v)}</td>' if j in long else f"<td>{inline(v)}</td>"
                         for j, v in enumerate(row)) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return (f'<div class="scroll" tabindex="0"><table class="wrap"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _provenance_html(lines: Sequence[str], summary: str = "Provenance: the runs behind it") -> str:
    if not lines:
        return ""
    return f"<details><summary>{_E(summary)}</summary><ul>{''.join(f'<li>{inline(x)}</li>' for x in lines)}</ul></details>"


def table_item_html(item: TableItem, shared_notes: frozenset[str] = frozenset()) -> str:
    """A table section: caption as heading, the table, its own notes, settings and provenance."""
    table = item.table
    title = _toc_title(table)
    heading = (f"<h3>{inline(title)}</h3><p class=\"note\">{inline(table.caption)}</p>" if title != table.caption
               else f"<h3>{inline(table.caption)}</h3>")
    parts = [f'<section id="{_E(table.name)}">{heading}', table_html(table, shared_notes)]
    if item.details is not None and not item.details.empty:
        parts.append(f"<details><summary>{_E(item.details_caption or 'Chosen hyperparameters')}</summary>"
                     f"{frame_html(item.details, long_columns=('chosen settings',))}</details>")
    parts.append(_provenance_html(item.provenance))
    parts.append("</section>")
    return "".join(parts)


def svg_inline(path: Path, prefix: str) -> str:
    """The SVG file as an inline ``<svg>`` element that scales with the page: no XML prolog,
    DOCTYPE, metadata or namespace URLs; its ids prefixed with ``prefix`` so that several
    figures on one page never share an id."""
    text = Path(path).read_text(encoding="utf-8")
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", text)
    text = re.sub(r'\s+version="1\.1"', "", text)
    size = re.search(r'\swidth="([\d.]+)pt"', text)
    text = re.sub(r'\s(width|height)="[^"]*pt"', "", text, count=2)  # size from the viewBox
    # at most 1.3 x its natural size (1 pt = 4/3 CSS px), at least the page's width when narrower
    cap = f' style="max-width: {round(float(size.group(1)) * 4 / 3 * 1.3)}px"' if size else ""
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(r'(href=")#([^"]+)"', lambda m: f'{m.group(1)}#{prefix}-{m.group(2)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", text)
    return text.replace("<svg", f'<svg role="img" preserveAspectRatio="xMidYMin meet"{cap}', 1).strip()


def figure_html(item: FigureItem) -> str:
    """A figure as inline SVG with caption, notes, optional table and provenance; or a note
    saying why it is absent."""
    if item.svg is None:
        return (f'<section id="{_E(item.name)}"><h3>{inline(item.caption)}</h3>'
                f'<p class="note skipped">{inline(item.note)}</p></section>')
    parts = [f'<figure id="{_E(item.name)}"><figcaption>{inline(item.caption)}</figcaption>',
             f'<div class="svg" tabindex="0" aria-label="{_E(item.caption)}">{svg_inline(item.svg, item.name)}</div>']
    if item.notes:
        parts.append(f'<ul class="notes">{"".join(f"<li>{inline(n)}</li>" for n in item.notes)}</ul>')
    if item.table is not None and not item.table.empty:
        if item.table_caption:
            parts.append(f'<p class="note">{inline(item.table_caption)}</p>')
        parts.append(frame_html(item.table, long_columns=[c for c in item.table.columns if "items" in c]))
    parts.append(_provenance_html(item.provenance))
    parts.append("</figure>")
    return "".join(parts)


def shared_notes(tables: Sequence[Table]) -> list[str]:
    """Notes that appear under more than one table (printed once on the page), in first-seen order."""
    counts = Counter(n for t in tables for n in dict.fromkeys(t.notes))
    seen = dict.fromkeys(n for t in tables for n in t.notes if counts[n] > 1)
    return list(seen)


def tables_section(items: Sequence[TableItem]) -> Section:
    """The Tables section: the notes shared by several tables once, then each table."""
    common = shared_notes([i.table for i in items])
    legend = ('<p class="legend">In the tables: <span class="best-key" style="background:#dbeafe">bold on blue</span>'
              'best value of its column; <span style="background:#dcfce7">▲ green</span> the target method ahead '
              'of the best other method; <span style="background:#fee2e2">▼ red</span> behind it (significance '
              'marks say only that the difference, in either direction, is unlikely to be chance).</p>')
    notes = (f'<ul class="notes">{"".join(f"<li>{inline(n)}</li>" for n in common)}</ul>' if common else "")
    body = legend + notes + "".join(table_item_html(i, frozenset(common)) for i in items)
    entries = tuple((i.table.name, _toc_title(i.table)) for i in items)
    return Section("tables", "Tables", body, entries)


def figures_section(items: Sequence[FigureItem]) -> Section:
    """The Figures section."""
    return Section("figures", "Figures", "".join(figure_html(f) for f in items),
                   tuple((f.name, _short(f.caption)) for f in items))


def _toc_title(table: Table) -> str:
    """Table 3's entries name dataset and protocol (its caption's parentheses come earlier)."""
    if table.name.startswith("table3-"):
        dataset, _, protocol = table.name.removeprefix("table3-").rpartition("-")
        return f"Table 3: {dataset}, protocol {protocol}"
    return _short(table.caption)


def _short(caption: str) -> str:
    """The part of a caption before its first parenthesis or semicolon, for the contents."""
    return re.split(r" \(|; ", caption, maxsplit=1)[0]


def render_html(title: str, intro: Sequence[str], sections: Sequence[Section]) -> str:
    """The whole page as text (no external resources, no script, no timestamps)."""
    toc = []
    for s in sections:
        sub = "".join(f'<li><a href="#{_E(a)}">{inline(t)}</a></li>' for a, t in s.entries)
        toc.append(f'<li><a href="#{_E(s.id)}">{_E(s.title)}</a>' + (f"<ol>{sub}</ol>" if sub else "") + "</li>")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_E(title)}</title><style>{_STYLE}</style></head><body>",
        f"<header><h1>{_E(title)}</h1>",
        *(f"<p>{inline(line)}</p>" for line in intro),
        "</header>",
        f'<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>{"".join(toc)}</ol></nav>',
        "<main>",
        *(f'<section id="{_E(s.id)}"><h2>{_E(s.title)}</h2>{s.body}</section>' for s in sections),
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"
