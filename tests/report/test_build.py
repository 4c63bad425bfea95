from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fawmf_bench.cli import cli
from fawmf_bench.report.build import FIGURES, STATS_SNAPSHOT, build_report, dataset_stats
from fawmf_bench.models import BUILTIN_MODELS, model_class
from fawmf_bench.report.figures import method_color

EXPECTED = ["table1.csv", "table1.md", "table2.csv", "table2.md", "table3-synthetic-cv.csv",
            "table3-synthetic-cv.md", "figure3_running_time.png", "figure3_running_time.svg", "CLAIMS.md",
            "report.html"]


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def report_dir(small_store, data_home, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("results")
    build_report(small_store.root, out, home=data_home, target="wmf")
    return out


def test_report_writes_every_table_and_figure(report_dir):
    assert sorted(p.name for p in report_dir.iterdir()) == sorted(EXPECTED)
    for name in EXPECTED:
        assert (report_dir / name).stat().st_size > 0, name
    assert (report_dir / "figure3_running_time.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (report_dir / "figure3_running_time.svg").read_text()


def test_html_is_self_contained_and_notes_the_missing_figures(report_dir):
    page = (report_dir / "report.html").read_text()
    assert page.count("<svg") == 1 and "<img" not in page  # Figure 3 inline, scaling with the page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "`" not in page  # backticks become <code>
    assert '<nav class="toc"' in page and 'href="#table3-synthetic-cv"' in page
    for source in FIGURES[1:]:
        assert f'id="{source.name}"' in page and source.missing in page
    for table in ("table1", "table2", "table3-synthetic-cv"):
        assert f'id="{table}"' in page


def test_regenerating_gives_identical_bytes(report_dir, small_store, data_home, tmp_path):
    build_report(small_store.root, tmp_path, home=data_home, target="wmf")
    assert _digests(tmp_path) == _digests(report_dir)


def test_table1_comes_from_the_snapshot_without_the_data(small_store, data_home):
    snapshot = small_store.root / "synthetic" / STATS_SNAPSHOT
    assert snapshot.is_file()  # written by the report fixture
    records = [r for r in small_store.records() if "unit" in r]
    checksums = {r["dataset_checksum"] for r in records}
    assert dataset_stats(small_store.root, "synthetic", checksums, data_home)["users"] > 0
    assert dataset_stats(small_store.root, "synthetic", {"other-data"}, data_home) is None


def test_tables_carry_their_chosen_settings_and_provenance(report_dir):
    page = (report_dir / "report.html").read_text()
    section = page[page.index('<section id="table3-synthetic-cv">'):]
    section = section[:section.index("</section>")]
    assert "Chosen hyperparameters" in section and "regularization 10.0" in section  # WMF's fixed setting
    assert "Git revision:" in section and "Machine:" in section and "Run date:" in section


def test_notes_shared_by_tables_print_once(report_dir):
    page = (report_dir / "report.html").read_text()
    assert page.count("MRR (first hit): reciprocal rank") == 1


def test_cli_default_output_is_not_the_committed_results(small_store, data_home, tmp_path, monkeypatch):
    from fawmf_bench.cli import DEFAULT_OUT

    assert DEFAULT_OUT.name != "results"
    for command in ("run", "report"):
        out = next(p for p in cli.commands[command].params if p.name == "out")
        assert out.default == DEFAULT_OUT
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["report", "--store", str(small_store.root), "--home", str(data_home),
                                      "--target", "wmf"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / DEFAULT_OUT / "report.html").is_file() and not (tmp_path / "results").exists()


def test_cli_report_and_its_errors(small_store, data_home, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["report", "--out", str(tmp_path), "--store", str(small_store.root),
                                 "--home", str(data_home), "--target", "wmf"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.html").is_file() and "table3-synthetic-cv.md" in result.output
    missing = runner.invoke(cli, ["report", "--out", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no result store" in missing.output


def test_one_palette_gives_each_method_its_own_stable_color():
    colors = [method_color(m) for m in BUILTIN_MODELS]
    assert len(set(colors)) == len(BUILTIN_MODELS)
    assert method_color("FAWMF") == model_class("fawmf").color
    assert method_color("some-new-method") == method_color("some-new-method")


def test_running_time_figure_renders_without_a_display(tmp_path):
    script = (
        "import sys, pandas as pd\n"
        "from pathlib import Path\n"
        "from fawmf_bench.report.figures import plot_running_time, save_figure\n"
        "import matplotlib; assert matplotlib.get_backend().lower() == 'agg'\n"
        "frame = pd.DataFrame({'dataset': ['a', 'a', 'b'], 'method': ['wmf', 'fawmf', 'wmf'],"
        " 'fit_seconds': [1.0, 2.0, 30.0]})\n"
        "save_figure(plot_running_time(frame), Path(sys.argv[1]) / 'fig')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "Agg"
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, env=env, timeout=120)
    assert (tmp_path / "fig.png").stat().st_size > 1000 and (tmp_path / "fig.svg").stat().st_size > 1000
