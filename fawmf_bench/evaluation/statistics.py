"""Variance and significance over folds and users (EVALUATION.md item 5).

- :func:`fold_summary`: mean and sample standard deviation (ddof=1) over folds;
- :func:`improvement_percent` / :func:`best_other`: Impv% of a chosen method over the best
  other method on one metric, 100 * (x_method - x_best_other) / x_best_other;
- :func:`paired_ttest`: paired t-test over folds (scipy.stats.ttest_rel, two-sided);
- :func:`pooled_per_user` + :func:`paired_wilcoxon`: per-user values of two methods on the
  same users, pooled across folds, and the Wilcoxon signed-rank test on them (two-sided);
- :func:`significance_mark`: "*" when p < alpha (0.05), else "".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy import stats

from .metrics import EvaluationResult

SIGNIFICANCE_LEVEL = 0.05


@dataclass(frozen=True)
class PairedTest:
    """Outcome of a paired two-sided test: statistic, p-value, number of pairs."""

    statistic: float
    pvalue: float
    n_pairs: int

    @property
    def significant(self) -> bool:
        return self.pvalue < SIGNIFICANCE_LEVEL


def fold_summary(values: Sequence[float]) -> tuple[float, float]:
    """(mean, sample std with ddof=1) of one metric over folds; std is NaN for one fold."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError("fold_summary needs a non-empty 1-d sequence of fold values")
    std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    return float(values.mean()), std


def best_other(values_by_method: Mapping[str, float], method: str) -> str:
    """The method other than ``method`` with the highest value (first listed wins ties)."""
    others = {name: v for name, v in values_by_method.items() if name != method}
    if method not in values_by_method or not others:
        raise ValueError(f"need {method!r} and at least one other method, got {list(values_by_method)}")
    return max(others, key=lambda name: others[name])


def improvement_percent(values_by_method: Mapping[str, float], method: str) -> float:
    """Impv% of ``method`` over the best other method: 100 (x - x_best) / x_best.

    NaN when the best other value is 0 (the relative gain is undefined).
    """
    reference = float(values_by_method[best_other(values_by_method, method)])
    if reference == 0:
        return float("nan")
    return 100.0 * (float(values_by_method[method]) - reference) / reference


def _check_pairs(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {len(a)} vs {len(b)}")
    if len(a) < 2:
        raise ValueError("a paired test needs at least two pairs")
    return a, b


def paired_ttest(a_per_fold: Sequence[float], b_per_fold: Sequence[float]) -> PairedTest:
    """Two-sided paired t-test of fold values (scipy.stats.ttest_rel).

    All differences zero gives p = 1 (no evidence of a difference) instead of NaN.
    """
    a, b = _check_pairs(a_per_fold, b_per_fold)
    if np.all(a == b):
        return PairedTest(0.0, 1.0, len(a))
    result = stats.ttest_rel(a, b)
    return PairedTest(float(result.statistic), float(result.pvalue), len(a))


def paired_wilcoxon(a_per_user: Sequence[float], b_per_user: Sequence[float]) -> PairedTest:
    """Two-sided Wilcoxon signed-rank test of paired per-user values (zero differences
    dropped, scipy's default "wilcox" zero method). All differences zero gives p = 1."""
    a, b = _check_pairs(a_per_user, b_per_user)
    if np.all(a == b):
        return PairedTest(0.0, 1.0, len(a))
    result = stats.wilcoxon(a, b)
    return PairedTest(float(result.statistic), float(result.pvalue), len(a))


def pooled_per_user(
    results_a: Sequence[EvaluationResult], results_b: Sequence[EvaluationResult], metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-user ``metric`` values of two methods, fold by fold on the users both evaluated,
    concatenated over folds (inputs for :func:`paired_wilcoxon`)."""
    if len(results_a) != len(results_b):
        raise ValueError(f"{len(results_a)} folds for one method but {len(results_b)} for the other")
    pooled_a, pooled_b = [], []
    for a, b in zip(results_a, results_b):
        _, in_a, in_b = np.intersect1d(a.users, b.users, assume_unique=True, return_indices=True)
        pooled_a.append(a.per_user[metric][in_a])
        pooled_b.append(b.per_user[metric][in_b])
    return np.concatenate(pooled_a), np.concatenate(pooled_b)


def significance_mark(pvalue: float, alpha: float = SIGNIFICANCE_LEVEL) -> str:
    """"*" when ``pvalue`` < ``alpha``, else "" (NaN p-values give "")."""
    return "*" if pvalue < alpha else ""
