"""EASE^R: the fawmf-bench contract suite and the closed form against a dense solve."""

import numpy as np
import pytest

from fawmf_bench.testing import CHECKS, tiny_matrix
from fawmf_bench_ease import EASE, ease_weights


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_contract(check):
    check(EASE, {"regularization": 10.0})


def test_weights_solve_the_constrained_least_squares():
    """Each column b_j minimises |x_j - X b|^2 + lam |b|^2 with b_j = 0 (Steck Eq. 1, column-wise)."""
    x = tiny_matrix(seed=2)
    lam = 3.0
    weights = ease_weights(x, lam)
    dense = x.toarray().astype(np.float64)
    m = dense.shape[1]
    assert np.all(np.diag(weights) == 0.0)
    for j in range(m):
        others = [i for i in range(m) if i != j]
        a = dense[:, others]
        expected = np.linalg.solve(a.T @ a + lam * np.eye(m - 1), a.T @ dense[:, j])
        np.testing.assert_allclose(weights[others, j], expected, rtol=1e-9, atol=1e-12)


def test_scores_are_the_users_rows_times_b():
    x = tiny_matrix(seed=1)
    model = EASE(regularization=5.0).fit(x)
    np.testing.assert_allclose(model.score(np.arange(4)), x[:4].toarray() @ model.item_weights_)
