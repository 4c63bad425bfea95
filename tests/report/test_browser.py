"""The report as readers see it: built from the repository's committed store, rendered by
headless Chromium at a laptop's and a phone's width; and built twice, byte for byte the same.

Chromium is Debian's ``chromium`` package (CI installs it, .ci/run); without it the browser
checks skip and say so. ``python -m fawmf_bench.report.browser`` refreshes the committed
screenshots.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from fawmf_bench.report.browser import LAPTOP, PHONE, find_chromium, measure, problems, screenshot
from fawmf_bench.report.build import build_report

COMMITTED_STORE = Path(__file__).resolve().parents[2] / "results" / "store"

pytestmark = pytest.mark.skipif(not COMMITTED_STORE.is_dir(), reason="no committed results/store (not a checkout)")


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def committed_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("committed-report")
    home = tmp_path_factory.mktemp("empty-home")  # Table 1 from the store's snapshots alone
    build_report(COMMITTED_STORE, out, home=home)
    return out


def test_report_on_the_committed_store_is_byte_identical_twice(committed_report, tmp_path_factory):
    again = tmp_path_factory.mktemp("committed-report-again")
    build_report(COMMITTED_STORE, again, home=tmp_path_factory.mktemp("empty-home-again"))
    assert _digests(again) == _digests(committed_report)


needs_chromium = pytest.mark.skipif(find_chromium() is None,
                                    reason="Chromium not installed (apt-get install chromium; CI installs it)")


@needs_chromium
@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop-1366", "phone-390"])
def test_no_table_overflows_the_page_and_every_figure_renders(committed_report, size):
    measured = measure(committed_report / "report.html", size)
    assert measured["viewport"] == size[0]
    assert problems(measured) == []
    assert len(measured["tables"]) >= 7  # Tables 1-3 and the settings under each Table 3
    drawn = {f["id"] for f in measured["figures"]}
    assert {"figure3_running_time", "figure6_communities"} <= drawn
    wide = [t for t in measured["tables"] if t["tableWidth"] > size[0]]
    if size == PHONE:
        assert wide, "on a phone some table is wider than the page: it must scroll inside its own box"


@needs_chromium
def test_problems_are_caught_when_a_table_leaves_the_page(committed_report, tmp_path):
    page = (committed_report / "report.html").read_text(encoding="utf-8")
    broken = tmp_path / "broken.html"
    broken.write_text(page.replace(".scroll { overflow-x: auto;", ".scroll { overflow-x: visible;"), encoding="utf-8")
    found = problems(measure(broken, PHONE))
    assert any("table in" in p for p in found) and any("px wide" in p for p in found)


@needs_chromium
def test_screenshot_is_a_png_of_the_window(committed_report, tmp_path):
    from PIL import Image

    shot = screenshot(committed_report / "report.html", PHONE, tmp_path / "phone.png", fragment="table1")
    with Image.open(shot) as image:
        low, high = image.convert("L").getextrema()
        assert image.size == PHONE and high - low > 100  # not a blank page
