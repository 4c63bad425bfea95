"""Evaluation: full-ranking metrics per user, ranking kernels, fold statistics.

``evaluate(score_fn, exclude, truth, cutoffs)`` is the one entry point the runner calls;
see :mod:`.metrics` for the metric definitions and :mod:`.statistics` for the tests.
"""

from .metrics import METRIC_LABELS, EvaluationResult, evaluate, metric_label, metric_names
from .ranking import truth_ranks

__all__ = [
    "METRIC_LABELS",
    "EvaluationResult",
    "evaluate",
    "metric_label",
    "metric_names",
    "truth_ranks",
]
