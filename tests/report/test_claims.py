"""The claims audit: verdicts computed from numbers (synthetic tables), deterministic output."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from fawmf_bench.report.claims import (
    HOLDS,
    NOT_HOLD,
    PARTLY,
    UNTESTABLE,
    audit,
    claim_beats_every_baseline,
    claim_exposure_weighting,
    claim_impv,
    claim_speedup,
    claims_html,
    claims_markdown,
    time_to_reach,
    verdict,
)
from fawmf_bench.report.tables import Table
from fawmf_bench.report.table3 import TABLE3_CSV_COLUMNS

METRICS = ("pre@5", "rec@5", "ndcg@5", "mrr_sum")


def _table3(dataset: str, protocol: str, impv: dict[str, float], p: float, paper: float = 2.0) -> Table:
    rows = [{"method": "Impv%", "metric": m, "folds": "", "mean": f"{impv[m]:+.2f}", "std": "",
             "paper": f"{paper:+.2f}", "best_baseline": "wmf", "ttest_p": f"{p:.4g}", "wilcoxon_p": f"{p:.4g}",
             "marks": ""} for m in METRICS]
    data = pd.DataFrame(rows, columns=TABLE3_CSV_COLUMNS)
    return Table(f"table3-{dataset}-{protocol}", "", data, data)


def test_verdict_thresholds():
    assert verdict([True, True]) == HOLDS
    assert verdict([True, False]) == PARTLY
    assert verdict([False, False]) == NOT_HOLD
    assert verdict([]) == UNTESTABLE


def test_table3_claim_needs_a_significant_win_per_dataset_and_metric():
    win = {m: 1.5 for m in METRICS}
    t3 = {("ml-1m", "cv"): _table3("ml-1m", "cv", win, 0.01).data,
          ("ml-100k", "cv"): _table3("ml-100k", "cv", win, 0.20).data}   # ahead but not significant
    for frame in t3.values():
        for column in ("mean", "paper", "ttest_p", "wilcoxon_p"):
            frame[column] = pd.to_numeric(frame[column])
    claim = claim_beats_every_baseline(t3)
    assert claim.cv_verdict == PARTLY and claim.paper_verdict == UNTESTABLE
    assert "ml-1m: 4/4 metrics won" in claim.evidence and "ml-100k: 0/4 metrics won" in claim.evidence


def test_impv_claim_compares_with_half_the_papers_gain():
    t3 = {("ml-1m", "paper"): _table3("ml-1m", "paper", {m: 1.2 for m in METRICS}, 0.01, paper=2.0).data,
          ("ml-1m", "cv"): _table3("ml-1m", "cv", {m: 0.5 for m in METRICS}, 0.01, paper=2.0).data}
    for frame in t3.values():
        for column in ("mean", "paper", "ttest_p", "wilcoxon_p"):
            frame[column] = pd.to_numeric(frame[column])
    claim = claim_impv(t3)
    assert claim.paper_verdict == HOLDS       # 1.2 >= 0.5 * 2.0
    assert claim.cv_verdict == NOT_HOLD       # 0.5 < 1.0


def _final(dataset, method, fold, pre, protocol="cv"):
    return {"unit": {"dataset": dataset, "protocol": protocol, "method": method, "fold": fold, "stage": "final"},
            "fit_seconds": 1.0, "epochs": 10, "metrics": {"pre@5": pre}}


def test_exposure_weighting_needs_fawmf_significantly_above_wmf():
    finals = []
    for fold in range(5):
        finals += [_final("a", "fawmf", fold, 0.30 + 0.001 * fold), _final("a", "wmf", fold, 0.20 + 0.002 * fold),
                   _final("b", "fawmf", fold, 0.10 + 0.001 * fold), _final("b", "wmf", fold, 0.12 + 0.0015 * fold)]
    claim = claim_exposure_weighting(finals)
    assert claim.cv_verdict == PARTLY and claim.paper_verdict == UNTESTABLE


def test_speedup_claim_reads_the_convergence_records(tmp_path):
    folder = tmp_path / "ml-1m" / "convergence"
    folder.mkdir(parents=True)
    (folder / "fbgd.json").write_text(json.dumps({"fit_seconds": 10.0, "epochs": 100}))
    (folder / "bgd.json").write_text(json.dumps({"fit_seconds": 200.0, "epochs": 100}))
    assert claim_speedup(tmp_path, [], {}).paper_verdict == HOLDS      # 20x >= 8x
    (folder / "bgd.json").write_text(json.dumps({"fit_seconds": 50.0, "epochs": 100}))
    assert claim_speedup(tmp_path, [], {}).paper_verdict == NOT_HOLD   # 5x


def test_time_to_reach():
    curve = pd.DataFrame({"seconds": [1.0, 2.0, 3.0], "pre@5": [0.1, 0.3, 0.2]})
    assert time_to_reach(curve, 0.25) == 2.0
    assert time_to_reach(curve, 0.5) == float("inf")


def test_an_empty_store_gives_untestable_rows_and_stable_text(tmp_path):
    claims = audit(tmp_path, [], [])
    assert all(c.paper_verdict in (UNTESTABLE,) or c.paper_verdict.startswith(("not run", UNTESTABLE))
               for c in claims)
    assert claims_markdown(claims) == claims_markdown(audit(tmp_path, [], []))
    page = claims_html(claims)
    assert page.startswith("<p>") and '<div class="scroll"' in page and page.count("<tr>") == len(claims) + 1


@pytest.mark.parametrize("target", ["wmf"])
def test_other_targets_do_not_read_impv_as_fawmfs(tmp_path, target):
    tables = [_table3("ml-1m", "cv", {m: 1.5 for m in METRICS}, 0.01)]
    claims = {c.key: c for c in audit(tmp_path, tables, [], target=target)}
    assert claims["table3-wins"].cv_verdict == UNTESTABLE


def test_floor_notes_name_each_datasets_rule():
    from fawmf_bench.report.claims import floor_notes

    old = _final("ml-1m", "fawmf", 0, 0.4)
    new = _final("ml-100k", "fawmf", 0, 0.4)
    new["unit"]["params"] = {"weight_floor": "on_read"}
    old["unit"]["params"] = {}
    (note,) = floor_notes([old, new, _final("ml-1m", "wmf", 0, 0.4)])
    assert "ml-100k cv: on_read" in note and "ml-1m cv: projected" in note
    assert floor_notes([]) == []
