"""Speed of the evaluation core (figures printed, nothing asserted).

ML-1M scale (default): all 6,040 users x 3,706 items of the synthetic "ml-1m" preset, paper
80/20 split, random rank-20 factors. Times (median of --repeats, after compilation):
  evaluate(): scoring + exclusion + ranks of all test items -> Pre/Rec/NDCG/HR@5, MRR (paper), MRR
  numpy baseline: same scoring, exclusion by -inf, np.argpartition top-5 (no metrics)
Douban scale (--douban): 123,480 x 20,029, 16.6M random training positives, ~4.2M test
positives, random rank-20 factors; one evaluate() run, wall time and peak RSS.

    python benchmarks/bench_evaluation.py [--repeats 5] [--douban]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numba
import numpy as np
import scipy.sparse as sp

from fawmf_bench.data.splitting import make_splits
from fawmf_bench.data.synthetic import generate
from fawmf_bench.evaluation import evaluate
from fawmf_bench._threading import prefer_workqueue_layer

prefer_workqueue_layer()  # as the CLI and the runner do (the layer is fixed at numba's first parallel run)


def median_seconds(fn, repeats: int) -> tuple[float, float]:
    """Median wall seconds and median process CPU seconds (all threads) over ``repeats``."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(wall)), float(np.median(cpu))


def factor_scorer(n_users: int, n_items: int, rank: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    users = rng.standard_normal((n_users, rank), dtype=np.float32)
    items = rng.standard_normal((n_items, rank), dtype=np.float32)
    return lambda u: users[u] @ items.T


def numpy_top5(score_fn, exclude: sp.csr_matrix) -> np.ndarray:
    scores = score_fn(np.arange(exclude.shape[0]))
    rows, cols = exclude.nonzero()
    scores[rows, cols] = -np.inf
    return np.argpartition(-scores, 5, axis=1)[:, :5]


def bench_ml1m(repeats: int) -> None:
    data, _ = generate("ml-1m", seed=0)
    split = make_splits(data.matrix, "paper", seed=0)[0]
    train, test = split.train, split.test
    score_fn = factor_scorer(*train.shape)
    evaluate(score_fn, train, test, cutoffs=(5,))  # compile / load the cached kernels
    t_eval = median_seconds(lambda: evaluate(score_fn, train, test, cutoffs=(5,)), repeats)
    t_numpy = median_seconds(lambda: numpy_top5(score_fn, train), repeats)
    t_score = median_seconds(lambda: score_fn(np.arange(train.shape[0])), repeats)
    print(f"ML-1M scale: {train.shape[0]} users x {train.shape[1]} items, "
          f"{train.nnz} train / {test.nnz} test positives, median of {repeats}, "
          f"{numba.get_num_threads()} numba threads, load average {os.getloadavg()[0]:.1f}")
    print("                                               wall s    cpu s")
    for label, (wall, cpu) in (
        ("scoring alone (U @ V.T)", t_score),
        ("evaluate (K=5 + MRR (paper) + MRR)", t_eval),
        ("numpy: score + exclude + argpartition top-5", t_numpy),
    ):
        print(f"  {label:<44} {wall:7.3f}  {cpu:7.3f}")
    print(f"  ratio evaluate / numpy top-5 (wall)          {t_eval[0] / t_numpy[0]:7.2f}")


def douban_like(seed: int = 0):
    n_users, n_items, n_train = 123_480, 20_029, 16_624_937
    rng = np.random.default_rng(seed)
    keys = np.unique(rng.integers(0, n_users * n_items, int(n_train / 0.8 * 1.002)))
    is_test = np.zeros(len(keys), dtype=bool)
    is_test[rng.choice(len(keys), len(keys) - n_train, replace=False)] = True

    def csr(selected):
        rows, cols = np.divmod(selected, n_items)
        indptr = np.zeros(n_users + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_users), out=indptr[1:])
        return sp.csr_matrix((np.ones(len(selected), np.float32), cols.astype(np.int32), indptr),
                             shape=(n_users, n_items))

    return csr(keys[~is_test]), csr(keys[is_test])


def bench_douban() -> None:
    train, test = douban_like()
    score_fn = factor_scorer(*train.shape)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    start, start_cpu = time.perf_counter(), time.process_time()
    result = evaluate(score_fn, train, test, cutoffs=(5,))
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(f"Douban scale: {train.shape[0]} users x {train.shape[1]} items, "
          f"{train.nnz} train / {test.nnz} test positives")
    print(f"  evaluate (K=5 + MRR (paper) + MRR)  {seconds:7.1f} s wall, {cpu:7.1f} s cpu, "
          f"{len(result.users)} users, load average {os.getloadavg()[0]:.1f}")
    print(f"  peak RSS: {peak:.0f} MiB (before evaluate: {rss_before:.0f} MiB, incl. data build)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--douban", action="store_true", help="also run the Douban-scale case")
    args = parser.parse_args()
    bench_ml1m(args.repeats)
    if args.douban:
        bench_douban()


if __name__ == "__main__":
    main()
