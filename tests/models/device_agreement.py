"""What the torch-backend agreement tests share: a held-out split and Pre@5 of a fit on the
numba path (one thread: the Hogwild learners are reproducible only there) and on torch-cpu."""

from __future__ import annotations

from typing import Callable

import numba
import numpy as np
import scipy.sparse as sp

from fawmf_bench.evaluation import evaluate
from fawmf_bench.models.base import Recommender, Scorer


def holdout(matrix: sp.csr_matrix, seed: int = 0) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """A random 80/20 split of the positives (train, test)."""
    rows, cols = matrix.nonzero()
    held = np.random.default_rng(seed).random(rows.size) < 0.2

    def part(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((np.ones(mask.sum()), (rows[mask], cols[mask])), shape=matrix.shape)

    return part(~held), part(held)


def cpu_and_device_fits(make: Callable[..., Recommender], matrix: sp.csr_matrix, **device_params
                        ) -> tuple[Recommender, Recommender, float, float]:
    """``make()`` fitted on one numba thread and ``make(device="torch-cpu", **device_params)``,
    both on the training part of :func:`holdout`, with their test Pre@5."""
    train, test = holdout(matrix)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        cpu = make().fit(train)
    finally:
        numba.set_num_threads(before)
    device = make(device="torch-cpu", **device_params).fit(train)
    pre = [evaluate(Scorer(model, "preference"), train, test, cutoffs=(5,)).means["pre@5"] for model in (cpu, device)]
    return cpu, device, pre[0], pre[1]
