"""Full ranking on a torch device (the CPU build of PyTorch in CI) equals the numba kernels:
same ranks, ties to the lower index, same per-user metrics; and on ml-100k a short FAWMF fit
on torch-cpu gives the numba path's metrics."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")

from fawmf_bench.evaluation import evaluate  # noqa: E402
from fawmf_bench.evaluation._torch import truth_ranks_on_device  # noqa: E402
from fawmf_bench.evaluation.ranking import truth_ranks  # noqa: E402
from fawmf_bench.models.base import Scorer  # noqa: E402
from fawmf_bench.models.fawmf import FAWMF  # noqa: E402


def _problem(dtype, seed=0, n=120, m=90):
    rng = np.random.default_rng(seed)
    scores = np.round(rng.normal(size=(n, m)), 1).astype(dtype)   # many ties
    scores[scores == 0] = -0.0                                     # -0.0 ties with +0.0
    scores[3] = -np.inf                                            # a truth item at -inf
    scores[4, ::2] = np.inf
    exclude = sp.random(n, m, 0.2, format="csr", random_state=seed + 1, dtype=np.float64)
    truth = sp.random(n, m, 0.1, format="csr", random_state=seed + 2, dtype=np.float64)
    exclude.data[:] = 1.0
    truth.data[:] = 1.0
    truth = (truth - truth.multiply(exclude)).tocsr()
    truth.eliminate_zeros()
    truth.sort_indices()
    exclude.sort_indices()
    return scores, exclude, truth


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_device_ranks_equal_the_numba_kernels(dtype):
    scores, exclude, truth = _problem(dtype)
    users = np.flatnonzero(np.diff(truth.indptr))
    on_device = lambda u: torch.from_numpy(scores[u].copy())  # noqa: E731
    ranks, offsets = truth_ranks(lambda u: scores[u], exclude, truth, users)
    dev_ranks, dev_offsets = truth_ranks_on_device(on_device, exclude, truth, users, "torch-cpu",
                                                   memory_budget_mb=0.05)   # several blocks
    assert np.array_equal(dev_offsets, offsets) and np.array_equal(dev_ranks, ranks)


def test_device_ranking_refuses_nan_and_overlap():
    scores, exclude, truth = _problem(np.float64)
    users = np.flatnonzero(np.diff(truth.indptr))
    bad = scores.copy()
    bad[users[1], 5] = np.nan
    with pytest.raises(ValueError, match=f"NaN scores \\(first for user {users[1]}\\)"):
        truth_ranks_on_device(lambda u: torch.from_numpy(bad[u].copy()), exclude, truth, users, "torch-cpu")
    with pytest.raises(ValueError, match="truth and exclude overlap"):
        truth_ranks_on_device(lambda u: torch.from_numpy(scores[u].copy()), exclude, truth + exclude, users,
                              "torch-cpu")


class _DeviceScores:
    """A score_fn that hands the same (host-computed) scores to both ranking paths."""

    device = "torch-cpu"

    def __init__(self, model, scoring):
        self.model, self.scoring = model, scoring

    def __call__(self, users):
        return self.model.score(users, scoring=self.scoring)

    def on_device(self, users):
        return torch.from_numpy(self(users))


@pytest.fixture(scope="module")
def ml100k(tmp_path_factory):
    mirror = os.environ.get("FAWMF_BENCH_MIRROR")
    if not mirror or not Path(mirror, "ml-100k").is_dir():
        pytest.skip("FAWMF_BENCH_MIRROR is not set to the dataset mirror")
    from fawmf_bench.data import download
    from fawmf_bench.data.splitting import make_splits

    (data,) = download(["ml-100k"], home=tmp_path_factory.mktemp("home"), progress=False)
    return make_splits(data.matrix, protocol="paper", seed=0)[0]


@pytest.mark.realdata
def test_ml100k_per_user_metrics_identical_and_short_fit_within_1e6(ml100k):
    train, test = ml100k.train, ml100k.test
    cpu = FAWMF(epochs=10, dtype="float64").fit(train)
    dev = FAWMF(epochs=10, dtype="float64", device="torch-cpu").fit(train)
    for scoring in FAWMF.scorings:
        for dtype in (np.float64, np.float32):   # equal scores -> identical ranks, both widths
            class Cast(_DeviceScores):
                def __call__(self, users):
                    return self.model.score(users, scoring=self.scoring).astype(dtype)
            host = evaluate(lambda u, s=Cast(cpu, scoring): s(u), train, test)
            device = evaluate(Cast(cpu, scoring), train, test)
            for name, values in host.per_user.items():
                assert np.array_equal(device.per_user[name], values), (scoring, name)
        reference = evaluate(Scorer(cpu, scoring), train, test).means
        on_device = evaluate(Scorer(dev, scoring), train, test)
        assert Scorer(dev, scoring).device == "torch-cpu"
        for name, value in reference.items():
            assert on_device.means[name] == pytest.approx(value, abs=1e-6), (scoring, name)
