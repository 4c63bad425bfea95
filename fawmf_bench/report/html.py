"""One self-contained HTML page: the tables (from their display frames) and the figures
embedded as base64 PNG; a figure whose data is not in the store appears as a note."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .tables import Table


@dataclass(frozen=True)
class FigureItem:
    """A figure for the page: its PNG when drawn, else the reason it was skipped."""

    name: str
    caption: str
    png: Path | None = None
    note: str = ""


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 0.3em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 0.3em; }
p.note { font-size: 0.8em; color: #555; margin: 0.2em 0; }
p.skipped { color: #8a4b00; }
figure { margin: 1.5em 0; } img { max-width: 100%; }
"""


def table_html(table: Table) -> str:
    """A table with its caption and notes."""
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in table.display.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>"
        for row in table.display.itertuples(index=False)
    )
    notes = "".join(f'<p class="note">{e(n)}</p>' for n in table.notes)
    return (f'<section id="{e(table.name)}"><table><caption>{e(table.caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}</section>")


def figure_html(item: FigureItem) -> str:
    """An embedded PNG with its caption, or a note saying why the figure is absent."""
    e = html.escape
    if item.png is None:
        return (f'<section id="{e(item.name)}"><h3>{e(item.caption)}</h3>'
                f'<p class="note skipped">{e(item.note)}</p></section>')
    data = base64.b64encode(Path(item.png).read_bytes()).decode("ascii")
    return (f'<figure id="{e(item.name)}"><img alt="{e(item.caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{e(item.caption)}</figcaption></figure>")


def render_html(title: str, intro: Sequence[str], tables: Sequence[Table], figures: Sequence[FigureItem]) -> str:
    """The whole page as text (no external resources, no timestamps)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title><style>{_STYLE}</style></head><body>',
        f"<h1>{e(title)}</h1>",
        *(f"<p>{e(line)}</p>" for line in intro),
        "<h2>Tables</h2>",
        *(table_html(t) for t in tables),
        "<h2>Figures</h2>",
        *(figure_html(f) for f in figures),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
