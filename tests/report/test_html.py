"""The HTML page's pieces: best cells, wins and losses, notes once, inline SVG, the contents."""

from __future__ import annotations

import pandas as pd

from fawmf_bench.report.html import (
    FigureItem,
    Section,
    TableItem,
    figures_section,
    inline,
    render_html,
    svg_inline,
    table_html,
    tables_section,
)
from fawmf_bench.report.tables import Table


def _table(name: str = "table3-x-cv", notes: tuple[str, ...] = ("shared note", "own note")) -> Table:
    display = pd.DataFrame({
        "method": ["A", "B", "Impv%"],
        "Pre@5": ["0.2000 ± 0.0010", "0.3000 ± 0.0020", "-33.33% *† (behind B)"],
        "Rec@5": ["0.1000", "0.0500", "+100.00% * (ahead of A)"],
    })
    return Table(name, "Table 3: x (stand-in for y), protocol 'cv' (details)", display, display, notes,
                 best=(("Pre@5", "max"), ("Rec@5", "max")), change_rows=("Impv%",))


def test_best_cell_per_column_is_marked_and_the_change_row_is_not_a_candidate():
    page = table_html(_table())
    assert page.count('class="best"') == 2
    assert '<td class="best">0.3000<span class="std"> ± 0.0020</span></td>' in page
    assert '<td class="best">0.1000</td>' in page  # +100.00% in the Impv% row is not a value of the column


def test_a_loss_reads_as_a_loss_even_with_significance_marks():
    page = table_html(_table())
    loss = page[page.index('<td class="loss">'):]
    assert loss.startswith('<td class="loss"><span class="sign" aria-hidden="true">▼</span>−33.33% *†'
                           '<br><span class="vs">(behind B)</span>')
    assert '<td class="win"><span class="sign" aria-hidden="true">▲</span>+100.00% *<br>' in page


def test_notes_shared_by_several_tables_print_once_and_own_notes_stay_with_their_table():
    section = tables_section([TableItem(_table("table3-x-cv")), TableItem(_table("table3-y-cv", ("shared note",)))])
    assert section.body.count("shared note") == 1 and section.body.count("own note") == 1
    assert section.entries == (("table3-x-cv", "Table 3: x, protocol cv"), ("table3-y-cv", "Table 3: y, protocol cv"))


def test_backticks_become_code_and_text_is_escaped():
    assert inline("run `fawmf-bench report` <now>") == "run <code>fawmf-bench report</code> &lt;now&gt;"


def test_svg_is_inlined_without_prolog_urls_or_id_clashes(tmp_path):
    svg = tmp_path / "f.svg"
    svg.write_text('<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "x" "http://www.w3.org/x.dtd">\n'
                   '<svg xmlns:xlink="http://www.w3.org/1999/xlink" width="460.8pt" height="302.4pt" '
                   'viewBox="0 0 460.8 302.4" xmlns="http://www.w3.org/2000/svg" version="1.1">'
                   '<metadata><a href="http://purl.org/dc"/></metadata><defs><path id="g1" d="M0 0"/>'
                   '<clipPath id="c1"><rect/></clipPath></defs><use xlink:href="#g1"/>'
                   '<g clip-path="url(#c1)"/></svg>')
    text = svg_inline(svg, "fig")
    assert text.startswith("<svg") and "http" not in text and "<metadata" not in text
    assert 'id="fig-g1"' in text and 'xlink:href="#fig-g1"' in text and "url(#fig-c1)" in text
    assert 'width="460.8pt"' not in text and "max-width: 799px" in text


def test_page_has_contents_viewport_and_extra_sections(tmp_path):
    extra = Section("claims", "Claims audit", "<p>body</p>")
    figure = FigureItem("figure9", "Figure 9: absent", note="skipped: nothing stored")
    page = render_html("t", ["intro with `code`"], [tables_section([TableItem(_table())]),
                                                   figures_section([figure]), extra])
    assert '<meta name="viewport"' in page and '<a href="#claims">Claims audit</a>' in page
    assert '<a href="#figure9">Figure 9: absent</a>' in page and "skipped: nothing stored" in page
    assert page.index('id="tables"') < page.index('id="figures"') < page.index('id="claims"')
