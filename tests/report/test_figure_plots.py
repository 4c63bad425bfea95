"""Figures 4-6 render without a display from frames shaped like the experiments' output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fawmf_bench.report.figure_plots import (
    choose_scoring_on_validation,
    communities_frame,
    draw_communities,
    draw_convergence,
    learner_label,
    plot_communities,
    plot_convergence,
    plot_k_sweep,
)


def _convergence_frame() -> pd.DataFrame:
    rows = []
    for label, learner, rate in (("fbgd", "fbgd", 1.0), ("bgd", "bgd", 1.0), ("uniform-5x", "sgd", 0.5)):
        for epoch in (5, 10, 15):
            for scoring, bonus in (("preference", 0.0), ("exposure", 0.01 if label == "uniform-5x" else -0.01)):
                rows.append({"label": label, "learner": learner, "epoch": epoch, "seconds": epoch * rate,
                             "loss": 1.0 / epoch, "scoring": scoring, "pre@5": 0.02 * epoch * rate + bonus})
    return pd.DataFrame(rows)


def _assert_written(paths, stem):
    assert [p.name for p in paths] == [f"{stem}.png", f"{stem}.svg"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_convergence_writes_png_and_svg(tmp_path):
    paths = plot_convergence(_convergence_frame(), tmp_path)
    _assert_written(paths, "figure4_convergence")


def test_scoring_is_chosen_on_validation_not_on_the_test_curve():
    frame = _convergence_frame()
    # the test curves favour exposure for uniform-5x; validation chose preference for it
    frame["validation_scoring"] = frame["label"].map({"fbgd": "exposure", "bgd": "exposure",
                                                      "uniform-5x": "preference"})
    assert choose_scoring_on_validation(frame) == {"bgd": "exposure", "fbgd": "exposure",
                                                   "uniform-5x": "preference"}
    legend = [t.get_text() for t in draw_convergence(frame).legends[0].get_texts()]
    assert legend == ["fBGD [exposure]", "BGD (original) [exposure]", "Uniform-5X [preference]"]


def test_learners_without_a_validation_choice_draw_s1_and_are_starred():
    frame = _convergence_frame()
    frame["validation_scoring"] = np.where(frame["label"] == "fbgd", "exposure", None)
    assert choose_scoring_on_validation(frame)["uniform-5x"] == "preference"
    legend = [t.get_text() for t in draw_convergence(frame).legends[0].get_texts()]
    assert legend == ["fBGD [exposure]", "BGD (original) [preference]*", "Uniform-5X [preference]*"]


def test_convergence_legend_gives_budget_and_old_floor():
    frame = _convergence_frame()
    frame["epochs"] = np.where(frame["learner"] == "sgd", 30, 150)
    frame["weight_floor"] = np.where(frame["learner"] == "sgd", "projected", "on_read")
    legend = [t.get_text() for t in draw_convergence(frame, scoring="preference").legends[0].get_texts()]
    assert legend == ["fBGD", "BGD (original)", "Uniform-5X, 30 ep (projected floor)"]


def test_convergence_legend_names_the_sgd_step_size():
    frame = _convergence_frame()
    frame["learning_rate"] = np.where(frame["learner"] == "sgd", 0.01, 0.1)
    legend = [t.get_text() for t in draw_convergence(frame, scoring="preference").legends[0].get_texts()]
    assert legend == ["fBGD", "BGD (original)", "Uniform-5X, lr 0.01"]


def test_learner_label():
    assert [learner_label(x) for x in ("fbgd", "bgd", "itempop-25x")] == ["fBGD", "BGD (original)", "Itempop-25X"]


def test_plot_k_sweep_averages_and_writes(tmp_path):
    frame = pd.DataFrame([{"method": m, "factors": k, "fold": 0, "pre@5": 0.1 + k / 1000 + (m == "fawmf") * 0.01}
                          for m in ("wmf", "eals", "fawmf") for k in (10, 20, 40)])
    _assert_written(plot_k_sweep(frame, tmp_path), "figure5_k_sweep")


def test_plot_communities_with_and_without_side_information(tmp_path):
    ages = {f"age_{code}": [0.1, 0.2, 0.05, 0.3] for code in (1, 18, 25)}
    ages.update({f"age_{code}": [0.7 / 4, 0.4 / 4, 0.85 / 4, 0.1 / 4] for code in (35, 45, 50, 56)})
    summary = pd.DataFrame({"community": range(4), "size": [10.0, 20.0, 5.0, 1.0], "argmax_members": [9, 21, 5, 0],
                            "female_share": [0.2, 0.5, 0.3, 0.9], **ages,
                            "top_items": ["A very long movie title that goes on (1999) (Drama); B (Comedy)"] * 4})
    top = pd.DataFrame({"community": np.repeat(range(4), 2), "rank": [1, 2] * 4, "title": ["A", "B"] * 4})
    _assert_written(plot_communities((summary, top), tmp_path / "with"), "figure6_communities")
    bare = summary.assign(female_share=np.nan, **{k: np.nan for k in ages})
    _assert_written(plot_communities(bare, tmp_path / "bare"), "figure6_communities")
    frame = communities_frame(summary, top)
    assert list(frame.columns[:4]) == ["community", "members", "women", "age under 18"]
    assert frame.loc[1, "women"] == "50%" and frame.loc[0, "top items (exposure lift)"] == "A; B"


@pytest.mark.parametrize("sizes", [(100.0, 300.0, 50.0), (300.0, 290.0, 310.0)])
def test_figure6_bubbles_stay_inside_their_axes(sizes):
    ages = {f"age_{code}": [0.8 / 5] * 3 for code in (25, 35, 45, 50, 56)}
    summary = pd.DataFrame({"community": range(3), "size": list(sizes), "female_share": [0.1, 0.5, 0.3],
                            "age_1": [0.0, 0.05, 0.1], "age_18": [0.2, 0.15, 0.1], **ages, "top_items": ["A"] * 3})
    figure = draw_communities(summary)
    figure.canvas.draw()
    bubbles = figure.axes[1]
    box = bubbles.get_window_extent()
    points = bubbles.collections[0]
    centres = bubbles.transData.transform(points.get_offsets())
    radii = np.sqrt(points.get_sizes()) / 2 * figure.dpi / 72  # marker area is in points^2
    assert (centres[:, 0] - radii >= box.x0).all() and (centres[:, 0] + radii <= box.x1).all()
    assert (centres[:, 1] - radii >= box.y0).all() and (centres[:, 1] + radii <= box.y1).all()


def test_empty_data_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no convergence data"):
        plot_convergence(pd.DataFrame(), tmp_path)
    with pytest.raises(ValueError, match="lacks column"):
        plot_k_sweep(pd.DataFrame({"method": ["wmf"]}), tmp_path)


def test_exposure_recovery_figure_renders(tmp_path):
    from fawmf_bench.report.figure_plots import draw_exposure_recovery
    from fawmf_bench.report.figures import save_figure

    frame = pd.DataFrame([{"density": d, "seed": s, "model": m, "auc": 0.5 + d + 0.01 * s, "spearman": d}
                          for d in (0.08, 0.02) for s in (0, 1) for m in ("fawmf", "exmf", "popularity")])
    _assert_written(save_figure(draw_exposure_recovery(frame), tmp_path / "rec"), "rec")
