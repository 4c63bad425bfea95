from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fawmf_bench.data import load_dataset
from fawmf_bench.report.paper import PAPER_TABLE3, dataset_label, paper_table3
from fawmf_bench.report.table3 import IMPV_ROW, TABLE3_CSV_COLUMNS, table3
from fawmf_bench.models import BUILTIN_MODELS
from fawmf_bench.report.tables import (
    TABLE3_METRICS,
    csv_text,
    epoch_seconds,
    final_frame,
    markdown_text,
    summary_table,
    table1,
    table2,
)

METHODS = ["itempop", "wmf", "eals"]  # as in conftest.TINY_CONFIG, in the classes' plot_order
N_FOLDS = 3


def _fold_values(records, method, metric):
    by_fold = {r["unit"]["fold"]: r["metrics"][metric] for r in records if r["unit"]["method"] == method}
    return np.array([by_fold[f] for f in sorted(by_fold)])


def test_summary_table_still_prints_the_runs(final_records):
    table = summary_table(final_records)
    assert list(table["method"]) == METHODS
    assert set(table["folds"]) == {N_FOLDS}


def test_table1_lists_the_dataset_beside_the_paper(data_home):
    data = load_dataset("synthetic", home=data_home)
    table = table1({"synthetic": data.stats(), "ml-1m": {"users": 6040, "items": 3503, "positives": 999917}})
    assert list(table.data["dataset"]) == ["ml-1m", "synthetic"]  # sorted rows
    row = table.data.set_index("dataset").loc["synthetic"]
    assert (int(row["users"]), int(row["items"]), int(row["positives"])) == (
        data.n_users, data.n_items, data.n_interactions)
    assert row["paper users"] == ""
    assert table.data.set_index("dataset").loc["ml-1m", "paper positives"] == "1000209"


def test_table1_footnotes_speak_only_of_the_datasets_in_it():
    ml100k = {"users": 943, "items": 1473, "positives": 99723}
    alone = table1({"ml-100k": ml100k})
    assert not any("ML-1M" in note or "stand-in" in note for note in alone.notes)
    both = table1({"ml-100k": ml100k, "ml-1m": {"users": 6040, "items": 3503, "positives": 999917},
                   "douban-monti": {"users": 2999, "items": 3000, "positives": 136891}})
    assert any("ML-1M" in note and "3,503" in note for note in both.notes)
    assert any("stand-in" in note for note in both.notes)


def test_table2_has_every_method_and_the_median_epoch_seconds(final_records):
    table = table2(final_records)
    assert list(table.data["method"]) == list(BUILTIN_MODELS)
    assert list(table.data.columns[:4]) == ["method", "adaptive weights", "without sampling", "complexity"]
    fawmf = table.data.set_index("method").loc["fawmf"]
    assert (fawmf["adaptive weights"], fawmf["without sampling"]) == ("yes", "yes")
    for method in ("eals", "wmf"):
        diffs = [np.diff([0.0] + [row["seconds"] for row in r["trace"]]) for r in final_records
                 if r["unit"]["method"] == method]
        expected = float(np.median(np.concatenate(diffs)))
        measured = float(table.data.set_index("method").loc[method, "s/epoch synthetic"])
        assert measured == pytest.approx(expected, rel=1e-3)
    assert table.data.set_index("method").loc["bpr", "s/epoch synthetic"] == ""
    assert set(epoch_seconds(final_records)["method"]) <= set(METHODS)


def test_table3_means_and_stds_equal_the_stored_folds(final_records, small_store):
    table = table3(final_records, "synthetic", "cv", small_store.load_arrays, target="wmf")
    data = table.data
    assert list(data.columns) == TABLE3_CSV_COLUMNS
    assert len(data) == len(METHODS) * len(TABLE3_METRICS) + len(TABLE3_METRICS)  # + the Impv% rows
    assert list(table.display["method"]) == ["Item-pop", "WMF(ALS)", "eALS", IMPV_ROW]
    assert list(table.display.columns) == ["method", "folds", *TABLE3_METRICS.values()]
    for method in METHODS:
        for metric in TABLE3_METRICS:
            values = _fold_values(final_records, method, metric)
            row = data[(data["method"] == method) & (data["metric"] == metric)].iloc[0]
            assert row["mean"] == f"{values.mean():.4f}"
            assert row["std"] == f"{values.std(ddof=1):.4f}"
            assert row["folds"] == str(N_FOLDS)
    assert "protocol 'cv'" in table.caption and "t-test" in table.notes[0] and "Wilcoxon" in table.notes[0]


def test_table3_impv_and_marks_follow_their_definitions(final_records, small_store):
    data = table3(final_records, "synthetic", "cv", small_store.load_arrays, target="wmf").data
    impv_rows = data[data["method"] == IMPV_ROW].set_index("metric")
    for metric in TABLE3_METRICS:
        means = {m: _fold_values(final_records, m, metric).mean() for m in METHODS}
        best = max((m for m in METHODS if m != "wmf"), key=means.get)
        row = impv_rows.loc[metric]
        assert row["best_baseline"] == best
        assert row["mean"] == f"{100 * (means['wmf'] - means[best]) / means[best]:+.2f}"
        ours, theirs = _fold_values(final_records, "wmf", metric), _fold_values(final_records, best, metric)
        t_p = stats.ttest_rel(ours, theirs).pvalue
        assert float(row["ttest_p"]) == pytest.approx(t_p, rel=1e-3)
        per_user = {}
        for method in ("wmf", best):
            chunks = [small_store.load_arrays(r)[metric] for r in sorted(
                (r for r in final_records if r["unit"]["method"] == method), key=lambda r: r["unit"]["fold"])]
            per_user[method] = np.concatenate(chunks)  # every user is evaluated by both methods
        w_p = stats.wilcoxon(per_user["wmf"], per_user[best]).pvalue
        assert float(row["wilcoxon_p"]) == pytest.approx(w_p, rel=1e-3)
        assert row["marks"] == ("*" if t_p < 0.05 else "") + ("†" if w_p < 0.05 else "")


def test_table3_without_the_target_has_no_impv_row(final_records, small_store):
    table = table3(final_records, "synthetic", "cv", small_store.load_arrays, target="fawmf")
    assert IMPV_ROW not in set(table.data["method"])
    assert any("not in the store" in note for note in table.notes)
    with pytest.raises(ValueError, match="no final records"):
        table3(final_records, "synthetic", "paper", small_store.load_arrays)


def test_table3_puts_the_papers_values_beside_a_paper_dataset(final_records, small_store):
    relabelled = copy.deepcopy(final_records)
    for record in relabelled:
        record["unit"]["dataset"] = "douban-monti"
    table = table3(relabelled, "douban-monti", "cv", small_store.load_arrays, target="wmf")
    rows = table.data.set_index(["method", "metric"])
    assert rows.loc[("eals", "pre@5"), "paper"] == f"{PAPER_TABLE3['eals']['Db']['pre@5']:.4f}"
    assert rows.loc[("eals", "mrr"), "paper"] == ""  # the paper printed no first-hit MRR
    paper = {m: v["Db"]["pre@5"] for m, v in PAPER_TABLE3.items() if m in METHODS}
    assert rows.loc[(IMPV_ROW, "pre@5"), "paper"] == f"{100 * (paper['wmf'] - paper['eals']) / paper['eals']:+.2f}"
    assert "AAAI-20 Pre@5" in table.display.columns
    assert "stand-in" in table.caption and any("stand-in" in n for n in table.notes)


def test_paper_values_map_to_the_right_columns():
    assert paper_table3("ml-1m")["fawmf"] == {"pre@5": 0.4054, "rec@5": 0.0949, "ndcg@5": 0.4275, "mrr_sum": 1.6279}
    assert paper_table3("amazon-grocery-5core")["itempop"]["mrr_sum"] == 0.0191
    assert paper_table3("ml-100k") == {}
    assert dataset_label("ml-1m") == "ml-1m"
    assert "stand-in" in dataset_label("amazon-grocery-5core")


def test_writers_are_stable_and_escape_pipes():
    frame = pd.DataFrame({"a": ["x|y", "z"], "b": ["1.0000", "—"]})
    text = markdown_text(frame, "cap", ("note one", "note two"))
    assert "x\\|y" in text and text.startswith("**cap**") and text.endswith("note two\n")
    assert "|---|---:|" in text  # text column left, numbers right
    assert csv_text(frame) == 'a,b\nx|y,1.0000\nz,—\n'


def test_two_configurations_in_one_store_are_refused_not_averaged(final_records):
    clash = copy.deepcopy([r for r in final_records if r["unit"]["method"] == "wmf"][0])
    clash["unit"]["params"] = {**clash["unit"]["params"], "regularization": 123.0}
    with pytest.raises(ValueError, match="synthetic/cv/wmf"):
        final_frame([*final_records, clash])
