"""Look at ``report.html`` the way a reader does: headless Chromium at a laptop's and a phone's
width. The report is shown in a frame of that width (its viewport); :func:`measure` adds a
small script to the wrapper that writes the page's own measurements (viewport width, page
scroll width, each table's box, each figure's size, every ``<img>``'s load state) into the
DOM, read back with ``--dump-dom``; :func:`screenshot` saves what the reader sees.

Used by the tests (tests/report/test_browser.py) and, to refresh the committed screenshots::

    python -m fawmf_bench.report.browser results/report.html results/screenshots
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

#: widths of the checks: a common laptop and a common phone (CSS pixels)
LAPTOP, PHONE = (1366, 900), (390, 844)
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: runs in the wrapper page once the framed report has loaded; ``doc`` / ``win``: the report's
_MEASURE = """
<script>
document.getElementById("page").addEventListener("load", function () {
  var frame = document.getElementById("page"), doc = frame.contentDocument, win = frame.contentWindow;
  var root = doc.documentElement, out = {viewport: root.clientWidth, scrollWidth: root.scrollWidth,
    height: root.scrollHeight, tables: [], figures: [], images: [], anchors: {}};
  doc.querySelectorAll("section[id],figure[id]").forEach(function (e) {
    out.anchors[e.id] = e.getBoundingClientRect().top + win.scrollY;
  });
  doc.querySelectorAll("table").forEach(function (t) {
    var clip = t.parentElement;  // the nearest box that clips or scrolls it, else the table itself
    while (clip && clip !== doc.body && win.getComputedStyle(clip).overflowX === "visible") clip = clip.parentElement;
    var box = (clip && clip !== doc.body ? clip : t).getBoundingClientRect();
    out.tables.push({id: (t.closest("section[id],figure[id]") || {}).id || "", left: box.left, right: box.right,
                     tableWidth: t.getBoundingClientRect().width});
  });
  doc.querySelectorAll("figure svg").forEach(function (s) {
    var box = s.getBoundingClientRect(), holder = s.closest(".svg").getBoundingClientRect();
    out.figures.push({id: s.closest("figure").id, width: box.width, height: box.height,
                      paths: s.querySelectorAll("path,use").length, right: holder.right});
  });
  Array.prototype.forEach.call(doc.images, function (img) {
    out.images.push({src: img.src.slice(0, 40), loaded: img.complete && img.naturalWidth > 0});
  });
  var pre = document.createElement("pre");
  pre.id = "fawmf-measurements";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def _framed(page: Path, width: int, height: int, script: str = "") -> str:
    """A wrapper page holding the report in a ``width`` x ``height`` frame at its top left: the
    frame is the report's viewport (headless Chromium's window is at least 500 px wide, a
    phone is narrower). ``srcdoc`` keeps the frame same-origin, so ``script`` can measure it."""
    text = Path(page).read_text(encoding="utf-8")
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">'
            f'<iframe id="page" style="border:0;display:block;width:{width}px;height:{height}px" '
            f'srcdoc="{html.escape(text, quote=True)}"></iframe>{script}</body></html>')


def find_chromium() -> str | None:
    """The Chromium executable: ``$FAWMF_BENCH_CHROMIUM`` or the first of the usual names on PATH."""
    explicit = os.environ.get("FAWMF_BENCH_CHROMIUM")
    if explicit:
        return explicit if shutil.which(explicit) else None
    return next((found for name in _CANDIDATES if (found := shutil.which(name))), None)


def _run(chromium: str, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="fawmf-chromium-") as profile:
        command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                   "--disable-extensions", "--force-device-scale-factor=1", f"--user-data-dir={profile}", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def measure(page: Path, size: tuple[int, int], chromium: str | None = None, timeout: float = 120.0) -> dict[str, Any]:
    """The page's own measurements at ``size`` (width, height) CSS pixels."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found (install Debian's chromium package)")
    with tempfile.TemporaryDirectory(prefix="fawmf-page-") as folder:
        probe = Path(folder) / "probe.html"
        probe.write_text(_framed(page, size[0], size[1], _MEASURE), encoding="utf-8")
        done = _run(chromium, [f"--window-size={max(size[0], 800)},{size[1]}", "--virtual-time-budget=5000",
                               "--dump-dom", probe.as_uri()], timeout)
    found = re.search(r'<pre id="fawmf-measurements">(.*?)</pre>', done.stdout, flags=re.S)
    if not found:
        raise RuntimeError(f"Chromium returned no measurements (exit {done.returncode}): {done.stderr[-800:]}")
    return json.loads(found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
                      .replace("&amp;", "&"))


def problems(measured: dict[str, Any]) -> list[str]:
    """What a reader would see wrong: the page scrolls sideways, a table box leaves the page,
    a figure has no size or no drawing, an image did not load."""
    width = measured["viewport"]
    found = []
    if measured["scrollWidth"] > width:
        found.append(f"the page is {measured['scrollWidth']} px wide in a {width} px viewport")
    for table in measured["tables"]:
        if table["left"] < -0.5 or table["right"] > width + 0.5:
            found.append(f"table in {table['id'] or '?'} spans {table['left']:.0f}..{table['right']:.0f} px "
                         f"of a {width} px page")
    for figure in measured["figures"]:
        if figure["width"] < 50 or figure["height"] < 50 or figure["paths"] == 0:
            found.append(f"figure {figure['id']} renders {figure['width']:.0f} x {figure['height']:.0f} px "
                         f"with {figure['paths']} shapes")
        if figure["right"] > width + 0.5:
            found.append(f"figure {figure['id']} leaves the page ({figure['right']:.0f} px)")
    found += [f"image {img['src']}... did not load" for img in measured["images"] if not img["loaded"]]
    return found


def screenshot(page: Path, size: tuple[int, int], target: Path, fragment: str = "", chromium: str | None = None,
               timeout: float = 120.0) -> Path:
    """A PNG of what a reader sees in a ``size`` (width, height) window, scrolled to the
    element ``#fragment`` when given (rendered in a frame tall enough to reach it, then
    cropped: headless Chromium does not paint a scrolled viewport)."""
    from PIL import Image  # matplotlib's dependency

    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found (install Debian's chromium package)")
    top = 0
    if fragment:
        anchors = measure(page, size, chromium, timeout)["anchors"]
        if fragment not in anchors:
            raise ValueError(f"the page has no element #{fragment}")
        top = max(0, int(anchors[fragment]) - 8)
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fawmf-page-") as folder:
        probe = Path(folder) / "probe.html"
        # the frame as tall as the part above the fragment plus one window: nothing needs scrolling
        probe.write_text(_framed(page, size[0], top + size[1]), encoding="utf-8")
        target.unlink(missing_ok=True)  # never crop an older screenshot when Chromium fails
        result = _run(chromium, [f"--window-size={max(size[0], 800)},{top + size[1]}", "--virtual-time-budget=5000",
                                 f"--screenshot={target}", probe.as_uri()], timeout)
    if not target.is_file():
        raise RuntimeError(f"Chromium wrote no screenshot (exit code {result.returncode}): "
                           f"{result.stderr.strip()[-500:]}")
    with Image.open(target) as image:
        view = image.convert("RGB").crop((0, top, size[0], top + size[1]))
    view.quantize(colors=128, dither=Image.Dither.NONE).save(target, optimize=True)  # a small file
    return target


def main(argv: list[str]) -> int:
    """``python -m fawmf_bench.report.browser PAGE FOLDER [FRAGMENT]``: check the page at both
    widths and write ``report-1366.png`` and ``report-390.png`` into FOLDER."""
    if len(argv) not in (2, 3):
        print("usage: python -m fawmf_bench.report.browser PAGE FOLDER [FRAGMENT]", file=sys.stderr)
        return 2
    page, folder = Path(argv[0]), Path(argv[1])
    fragment = argv[2] if len(argv) == 3 else ""
    status = 0
    for size in (LAPTOP, PHONE):
        found = problems(measure(page, size))
        print(f"{size[0]} px: " + ("ok" if not found else "; ".join(found)))
        status |= bool(found)
        print(screenshot(page, size, folder / f"report-{size[0]}.png", fragment))
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
