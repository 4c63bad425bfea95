"""Full-ranking accuracy metrics per user (EVALUATION.md, NOTES.md "Metrics").

For user u with held-out (truth) items T_u and rank r(t) of each t in the full ranking of the
candidate items (all items except the user's excluded training items; ties to the lower
item index), with hits_K = #{t in T_u : r(t) <= K}:

- ``pre@K``  = hits_K / K
- ``rec@K``  = hits_K / |T_u|
- ``ndcg@K`` = sum_{t: r(t) <= K} 1 / log2(r(t) + 1)  /  sum_{i=1}^{min(K, |T_u|)} 1 / log2(i + 1)
- ``hr@K``   = 1 if hits_K > 0 else 0
- ``mrr_sum`` = sum_{t in T_u} 1 / r(t)  (the paper's "MRR", can exceed 1; label "MRR (paper)")
- ``mrr``    = 1 / min_{t in T_u} r(t)   (the standard first-hit MRR)

Every cutoff metric is a function of the truth ranks alone, so the kernel computes ranks and
the metrics are vectorised NumPy over the rank array. Users without truth items are skipped
and counted. Means are over the evaluated users.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from .ranking import canonical_csr, check_users, truth_ranks

#: metric name -> label used in tables
METRIC_LABELS: dict[str, str] = {
    "mrr_sum": "MRR (paper)",
    "mrr": "MRR (first hit)",
}
for _k in (1, 3, 5, 10, 20, 50, 100):
    METRIC_LABELS.update(
        {f"pre@{_k}": f"Pre@{_k}", f"rec@{_k}": f"Rec@{_k}", f"ndcg@{_k}": f"NDCG@{_k}", f"hr@{_k}": f"HR@{_k}"}
    )


def metric_label(name: str) -> str:
    """Table label of a metric name, e.g. "ndcg@7" -> "NDCG@7", "mrr_sum" -> "MRR (paper)"."""
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    prefix, _, cutoff = name.partition("@")
    base = {"pre": "Pre", "rec": "Rec", "ndcg": "NDCG", "hr": "HR"}.get(prefix)
    if base is None or not cutoff.isdigit():
        raise KeyError(f"unknown metric {name!r}")
    return f"{base}@{cutoff}"


def metric_names(cutoffs: Sequence[int] = (5,)) -> list[str]:
    """Names ``evaluate`` reports for these cutoffs, in table order."""
    names = [f"{m}@{k}" for k in cutoffs for m in ("pre", "rec", "ndcg", "hr")]
    return names + ["mrr_sum", "mrr"]


@dataclass(frozen=True)
class EvaluationResult:
    """Per-user and mean metrics of one evaluation.

    ``users``: evaluated users (those with >= 1 truth item), int64; ``per_user``: metric
    name -> float64 array aligned with ``users``; ``means``: metric name -> mean over
    ``users``; ``n_skipped``: requested users without truth items.
    """

    users: np.ndarray
    per_user: dict[str, np.ndarray]
    means: dict[str, float]
    n_skipped: int
    cutoffs: tuple[int, ...] = (5,)


def check_cutoffs(cutoffs: Sequence[int]) -> tuple[int, ...]:
    cutoffs = tuple(int(k) for k in np.atleast_1d(cutoffs))
    if not cutoffs or min(cutoffs) < 1:
        raise ValueError(f"cutoffs must be positive integers, got {cutoffs}")
    return tuple(dict.fromkeys(cutoffs))


def metrics_from_ranks(
    ranks: np.ndarray, offsets: np.ndarray, cutoffs: Sequence[int] = (5,)
) -> dict[str, np.ndarray]:
    """Per-user metrics (module docstring) from 1-based truth ranks grouped by ``offsets``.

    User i's truth ranks are ``ranks[offsets[i]:offsets[i + 1]]``; every user needs >= 1.
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    n_truth = np.diff(offsets)
    if np.any(n_truth < 1):
        raise ValueError("every user needs at least one truth item")
    n_users = len(n_truth)
    owner = np.repeat(np.arange(n_users), n_truth)
    gain = 1.0 / np.log2(ranks + 1.0)
    per_user: dict[str, np.ndarray] = {}
    for k in check_cutoffs(cutoffs):
        in_top = ranks <= k
        hits = np.bincount(owner, weights=in_top.astype(np.float64), minlength=n_users)
        dcg = np.bincount(owner, weights=np.where(in_top, gain, 0.0), minlength=n_users)
        ideal = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))[np.minimum(n_truth, k) - 1]
        per_user[f"pre@{k}"] = hits / k
        per_user[f"rec@{k}"] = hits / n_truth
        per_user[f"ndcg@{k}"] = dcg / ideal
        per_user[f"hr@{k}"] = (hits > 0).astype(np.float64)
    per_user["mrr_sum"] = np.bincount(owner, weights=1.0 / ranks, minlength=n_users)
    first = np.minimum.reduceat(ranks, offsets[:-1]) if n_users else np.zeros(0)
    per_user["mrr"] = 1.0 / first
    return per_user


def evaluate(
    score_fn: Callable[[np.ndarray], np.ndarray],
    exclude: sp.csr_matrix,
    truth: sp.csr_matrix,
    cutoffs: Sequence[int] = (5,),
    memory_budget_mb: float = 256.0,
    users: np.ndarray | None = None,
) -> EvaluationResult:
    """Full-ranking evaluation of ``score_fn`` on held-out ``truth``.

    ``score_fn(user_indices)`` returns dense scores (len, n_items), higher first;
    ``exclude``'s items (the training items of the evaluated model) are removed from each
    user's ranking; ``truth`` holds the held-out positives (must not overlap ``exclude``).
    Users are scored in blocks sized by ``memory_budget_mb``. ``users`` restricts the
    evaluation (default: all rows); requested users without truth items are skipped and
    counted in ``n_skipped``. A ``score_fn`` with a ``device`` other than "cpu" (a
    :class:`~fawmf_bench.models.base.Scorer` of a model fitted with torch) is ranked on that
    device by :mod:`._torch` (its block size follows the free device memory).
    """
    cutoffs = check_cutoffs(cutoffs)
    exclude = canonical_csr(exclude, "exclude")
    truth = canonical_csr(truth, "truth")
    if exclude.shape != truth.shape:
        raise ValueError(f"exclude has shape {exclude.shape} but truth has shape {truth.shape}")
    requested = check_users(users, truth.shape[0])
    has_truth = np.diff(truth.indptr)[requested] > 0
    evaluated = requested[has_truth]
    if len(evaluated) == 0:
        raise ValueError("no requested user has a truth item; nothing to evaluate")
    device = getattr(score_fn, "device", "cpu")
    if device != "cpu":  # a model fitted on a torch device: rank there (same ranks)
        from ._torch import truth_ranks_on_device

        ranks, offsets = truth_ranks_on_device(score_fn.on_device, exclude, truth, evaluated, device)
    else:
        ranks, offsets = truth_ranks(score_fn, exclude, truth, evaluated, memory_budget_mb)
    per_user = metrics_from_ranks(ranks, offsets, cutoffs)
    means = {name: float(values.mean()) for name, values in per_user.items()}
    return EvaluationResult(
        users=evaluated,
        per_user=per_user,
        means=means,
        n_skipped=int(len(requested) - len(evaluated)),
        cutoffs=cutoffs,
    )
