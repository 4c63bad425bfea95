"""WMF's torch backend (batched exact ALS) equals implicit's exact Cholesky ALS within float32
rounding, from the same initial factors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fawmf_bench.data.synthetic import generate  # noqa: E402
from fawmf_bench.models.wmf import WMF  # noqa: E402
from fawmf_bench.models._torch.wmf import implicit_initial_factors, solve_side  # noqa: E402
from fawmf_bench.models._torch._sparse import DeviceCSR  # noqa: E402


@pytest.fixture(scope="module")
def matrix():
    return generate("small", seed=0)[0].matrix


def test_same_start_as_implicit(matrix):
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):   # implicit warns about threaded BLAS otherwise
        als = AlternatingLeastSquares(factors=6, iterations=0, random_state=5, use_cg=False, dtype=np.float32)
        als.fit(matrix, show_progress=False)
    users, items = implicit_initial_factors(*matrix.shape, 6, 5)
    assert np.array_equal(als.user_factors, users) and np.array_equal(als.item_factors, items)


def test_user_update_solves_the_normal_equations(matrix):
    rng = np.random.default_rng(0)
    items = rng.normal(size=(matrix.shape[1], 4))
    x = DeviceCSR(matrix, torch.device("cpu"), torch.float64)
    solved = solve_side(x.matrix(), torch.from_numpy(items), 0.5, 3.0).numpy()
    dense = matrix.toarray()
    for u in (0, 7, 123):
        confidence = np.where(dense[u] > 0, 3.0, 1.0)
        a = (items * confidence[:, None]).T @ items + 0.5 * np.eye(4)
        b = (items * (confidence * dense[u])[:, None]).sum(axis=0)
        assert np.allclose(solved[u], np.linalg.solve(a, b), rtol=1e-10, atol=1e-12)


def test_als_iterations_equal_implicit(matrix):
    cpu = WMF(factors=6, epochs=3, random_state=5).fit(matrix)
    dev = WMF(factors=6, epochs=3, random_state=5, device="torch-cpu").fit(matrix)
    assert dev.user_factors_.dtype == np.float32
    np.testing.assert_allclose([r["loss"] for r in dev.trace_], [r["loss"] for r in cpu.trace_], rtol=1e-6)
    for key in ("user_factors_", "item_factors_"):
        a, b = getattr(cpu, key), getattr(dev, key)
        assert np.max(np.abs(a - b)) <= 1e-4 * np.max(np.abs(a)), key
    assert np.allclose(dev.score(np.arange(5)), cpu.score(np.arange(5)), rtol=1e-3, atol=1e-6)
