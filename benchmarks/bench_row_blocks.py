"""Why the parallel CSR loops run over equal-work row blocks (``_kernels/csr.balanced_row_blocks``).

    python benchmarks/bench_row_blocks.py [--repeats 15]

On ML-1M at K = D = 20 and the current numba thread count, times the fBGD gradient (one
epoch's work) and one eALS item sweep twice in the same run: with the balanced blocks the
models use, and with blocks of equal row counts (what a plain ``prange`` over rows does with
static scheduling). Items are ordered by first appearance, so popular items come first.
Prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from bench_fawmf import load_ml1m
from fawmf_bench.models._kernels.csr import balanced_row_blocks
from fawmf_bench.models._kernels.eals import eals_sweep
from fawmf_bench.models.fawmf import FAWMF
from fawmf_bench.models.fawmf_gradient import FBGDWorkspace, fbgd_loss_and_gradient
from fawmf_bench._threading import prefer_workqueue_layer

prefer_workqueue_layer()  # as the CLI and the runner do (the layer is fixed at numba's first parallel run)


def median_seconds(run, repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def equal_rows(indptr: np.ndarray) -> np.ndarray:
    """One block per thread with equal row counts (a plain static prange)."""
    return np.linspace(0, indptr.size - 1, numba.get_num_threads() + 1).astype(np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    train = load_ml1m()
    train_t = train.T.tocsr()
    head = np.diff(train_t.indptr)[: train.shape[1] // 2].sum() / train.nnz
    print(f"ML-1M {train.shape}, {train.nnz:,} positives; first half of the items holds {head:.0%}; "
          f"numba threads {numba.get_num_threads()}")

    model = FAWMF(epochs=2).fit(train)
    params, objective = model._params(), model._objective()
    work = FBGDWorkspace(train, train_t, 20, 20, np.dtype("float32"))
    balanced = median_seconds(lambda: fbgd_loss_and_gradient(work, params, objective), args.repeats)
    work.user_blocks, work.item_blocks = equal_rows(train.indptr), equal_rows(train_t.indptr)
    plain = median_seconds(lambda: fbgd_loss_and_gradient(work, params, objective), args.repeats)
    print(f"fBGD gradient: balanced blocks {balanced * 1e3:.1f} ms, equal-row blocks {plain * 1e3:.1f} ms "
          f"({plain / balanced:.2f}x)")

    rng = np.random.default_rng(0)
    users, items = rng.normal(0, 0.1, (train.shape[0], 20)), rng.normal(0, 0.1, (train.shape[1], 20))
    weight, ones = np.full(train.shape[1], 0.01), np.ones(train.shape[0])
    cache, prediction = users.T @ users, np.empty(train.nnz)
    indptr, indices = train_t.indptr.astype(np.int64), train_t.indices.astype(np.int32)

    def sweep(blocks):
        return lambda: eals_sweep(indptr, indices, blocks, items.copy(), users, ones, weight, cache, 1.0,
                                  0.01, prediction)
    balanced = median_seconds(sweep(balanced_row_blocks(indptr, 20 / 3)), args.repeats)
    plain = median_seconds(sweep(equal_rows(indptr)), args.repeats)
    print(f"eALS item sweep: balanced blocks {balanced * 1e3:.1f} ms, equal-row blocks {plain * 1e3:.1f} ms "
          f"({plain / balanced:.2f}x)")


if __name__ == "__main__":
    main()
