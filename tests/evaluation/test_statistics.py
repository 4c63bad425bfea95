"""Fold summaries, Impv%, paired tests and the significance mark."""

import numpy as np
import pytest
from scipy import stats

from fawmf_bench.evaluation.metrics import EvaluationResult
from fawmf_bench.evaluation.statistics import (
    PairedTest,
    best_other,
    fold_summary,
    improvement_percent,
    paired_ttest,
    paired_wilcoxon,
    pooled_per_user,
    significance_mark,
)


def test_fold_summary_uses_sample_std():
    mean, std = fold_summary([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == 3.0 and std == pytest.approx(np.sqrt(2.5))
    assert np.isnan(fold_summary([0.4])[1])
    with pytest.raises(ValueError):
        fold_summary([])


def test_improvement_over_best_other():
    values = {"fawmf": 0.4054, "wmf": 0.3841, "eals": 0.3955, "itempop": 0.2092}
    assert best_other(values, "fawmf") == "eals"
    assert improvement_percent(values, "fawmf") == pytest.approx(100 * (0.4054 - 0.3955) / 0.3955)
    assert improvement_percent({"a": 1.0, "b": 2.0}, "a") == pytest.approx(-50.0)
    assert np.isnan(improvement_percent({"a": 1.0, "b": 0.0}, "a"))
    with pytest.raises(ValueError):
        best_other({"a": 1.0}, "a")


def test_paired_ttest_matches_scipy_and_handles_equal_samples():
    rng = np.random.default_rng(0)
    a = rng.random(5)
    b = a - 0.05 + 0.01 * rng.standard_normal(5)
    result = paired_ttest(a, b)
    expected = stats.ttest_rel(a, b)
    assert result.pvalue == pytest.approx(expected.pvalue) and result.n_pairs == 5
    assert result.significant and significance_mark(result.pvalue) == "*"
    assert paired_ttest(a, a) == PairedTest(0.0, 1.0, 5)
    with pytest.raises(ValueError):
        paired_ttest(a, b[:4])


def test_wilcoxon_pools_the_same_users_across_folds():
    rng = np.random.default_rng(1)

    def result(users, values):
        return EvaluationResult(users=np.asarray(users), per_user={"pre@5": np.asarray(values)}, means={}, n_skipped=0)

    fold0_a = result([0, 1, 2, 3], [0.2, 0.4, 0.6, 0.8])
    fold0_b = result([1, 3, 4], [0.1, 0.3, 0.9])  # user 4 only in b, users 0, 2 only in a
    fold1_a = result([5, 6], [0.5, 0.7])
    fold1_b = result([5, 6], [0.4, 0.2])
    a, b = pooled_per_user([fold0_a, fold1_a], [fold0_b, fold1_b], "pre@5")
    np.testing.assert_allclose(a, [0.4, 0.8, 0.5, 0.7])
    np.testing.assert_allclose(b, [0.1, 0.3, 0.4, 0.2])
    x = rng.random(200)
    y = x - 0.02 + 0.05 * rng.standard_normal(200)
    test = paired_wilcoxon(x, y)
    assert test.pvalue == pytest.approx(stats.wilcoxon(x, y).pvalue)
    assert paired_wilcoxon(x, x).pvalue == 1.0
    null = paired_wilcoxon(x, x + 0.05 * rng.standard_normal(200))
    assert significance_mark(null.pvalue) == ("*" if null.pvalue < 0.05 else "")


def test_significance_mark():
    assert significance_mark(0.049) == "*"
    assert significance_mark(0.05) == ""
    assert significance_mark(float("nan")) == ""
