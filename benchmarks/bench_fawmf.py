"""Speed of FAWMF's learners (issue 4): fBGD vs original BGD on ML-1M, scaling with |X+|,
the Douban-size synthetic preset (with its peak memory), and optionally a full fit.

    python benchmarks/bench_fawmf.py                       # ML-1M fbgd / bgd / ratio + scaling
    python benchmarks/bench_fawmf.py --douban              # + Douban-size preset (subprocess)
    python benchmarks/bench_fawmf.py --full-fit            # + 1000-epoch fit, eval every 25
    python benchmarks/bench_fawmf.py --skip-ml1m --ratio-datasets ml-100k douban-monti amazon-grocery-5core
                                                           # fbgd / bgd on other densities

Figures are medians of per-epoch training seconds (run_epochs' trace), measured in one run.
Thread counts come from the environment (NUMBA_NUM_THREADS, OPENBLAS_NUM_THREADS); pass
--threads to set numba's for this process only.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

from fawmf_bench.data.dataset import binary_csr
from fawmf_bench.models import FitMonitor
from fawmf_bench.models.fawmf import FAWMF
from fawmf_bench._threading import prefer_workqueue_layer

prefer_workqueue_layer()  # as the CLI and the runner do (the layer is fixed at numba's first parallel run)

MIRROR = os.environ.get("FAWMF_BENCH_MIRROR", os.path.join(os.path.dirname(__file__), "..", "..",
                                                            "shared", "datasets"))


def load_ml1m() -> sp.csr_matrix:
    """ML-1M as the paper preprocesses it: every rating a positive, items with < 3 dropped."""
    frame = pd.read_csv(os.path.join(MIRROR, "ml-1m", "ratings.csv.gz"))
    counts = frame.item_id.value_counts()
    frame = frame[frame.item_id.isin(counts[counts >= 3].index)]
    users, items = pd.factorize(frame.user_id)[0], pd.factorize(frame.item_id)[0]
    return binary_csr(users, items, (users.max() + 1, items.max() + 1))


def densify(train: sp.csr_matrix, factor: int, seed: int = 0) -> sp.csr_matrix:
    """``train`` plus uniformly random extra positives up to ``factor`` x |X+| (same n, m)."""
    n, m = train.shape
    rng = np.random.default_rng(seed)
    target = factor * train.nnz
    rows, cols = train.nonzero()
    while True:
        extra = target - rows.size
        if extra <= 0:
            break
        keys = np.unique(np.concatenate([rows.astype(np.int64) * m + cols,
                                         rng.integers(0, n * m, int(extra * 1.05))]))
        rows, cols = np.divmod(keys, m)
    keep = np.sort(np.random.default_rng(seed + 1).permutation(rows.size)[:target])
    return binary_csr(rows[keep], cols[keep], (n, m))


def epoch_seconds(train: sp.csr_matrix, epochs: int, **params) -> tuple[float, float]:
    """(median wall seconds per epoch, process CPU seconds per epoch) after a warm-up epoch.

    CPU seconds (all threads) are the robust figure on a shared machine, where wall time
    depends on what else runs."""
    FAWMF(epochs=1, **params).fit(train)
    cpu = time.process_time()
    model = FAWMF(epochs=epochs, **params).fit(train)
    cpu = (time.process_time() - cpu) / epochs
    seconds = np.diff([0.0] + [row["seconds"] for row in model.trace_])
    return float(np.median(seconds)), cpu


def holdout_monitor(train_full: sp.csr_matrix, seed: int = 0):
    """80/20 split per positive and a numpy Pre@5 monitor on the 20% (a quick check only)."""
    rows, cols = train_full.nonzero()
    test = np.random.default_rng(seed).random(rows.size) < 0.2
    train = binary_csr(rows[~test], cols[~test], train_full.shape)
    target = binary_csr(rows[test], cols[test], train_full.shape)
    users = np.unique(rows[test])

    def evaluate(score_fn):
        hits = 0.0
        for start in range(0, users.size, 1024):
            block = users[start:start + 1024]
            scores = np.array(score_fn(block), dtype=np.float64)
            scores[train[block].nonzero()] = -np.inf
            top = np.argpartition(-scores, 5, axis=1)[:, :5]
            hits += np.take_along_axis(target[block].toarray(), top, axis=1).sum()
        return {"pre@5": hits / (5 * users.size)}

    return train, FitMonitor(evaluate, every=25, patience=1000)


def ml1m_learners(train: sp.csr_matrix, epochs: int, bgd_epochs: int) -> None:
    """fbgd vs bgd (and float64, sgd) per-epoch times on ML-1M, in one run."""
    fbgd, fbgd_cpu = epoch_seconds(train, epochs)
    bgd, bgd_cpu = epoch_seconds(train, bgd_epochs, learner="bgd")
    print(f"fbgd {fbgd:.4f} s/epoch (cpu {fbgd_cpu:.4f})   bgd {bgd:.4f} s/epoch (cpu "
          f"{bgd_cpu:.4f})   bgd / fbgd = {bgd / fbgd:.1f}x wall, {bgd_cpu / fbgd_cpu:.1f}x cpu")
    slow, slow_cpu = epoch_seconds(train, max(3, epochs // 2), dtype="float64")
    dense, dense_cpu = epoch_seconds(train, bgd_epochs, learner="bgd", dtype="float64")
    print(f"float64: fbgd {slow:.4f} s/epoch (cpu {slow_cpu:.4f})   bgd {dense:.4f} s/epoch (cpu "
          f"{dense_cpu:.4f})   bgd / fbgd = {dense / slow:.1f}x wall, {dense_cpu / slow_cpu:.1f}x cpu")
    for sampler, ratio in (("uniform", 1), ("itempop", 5)):
        sec, sec_cpu = epoch_seconds(train, 2, learner="sgd", sampler=sampler, negative_ratio=ratio)
        print(f"sgd {sampler}-{ratio}x: {sec:.4f} s/epoch (cpu {sec_cpu:.4f})")


def density_ratios(names: list[str], epochs: int, bgd_epochs: int) -> None:
    """fbgd vs bgd per-epoch times on datasets of other sizes and densities (from the data
    home, FAWMF_BENCH_HOME): the dense gradient costs O(nm(K + D)), fBGD O((n + m) K^2 D +
    |X+|(K + D)), so the ratio grows with nm / |X+|."""
    from fawmf_bench.data import load_dataset
    for name in names:
        train = load_dataset(name).matrix
        n, m = train.shape
        fbgd, fbgd_cpu = epoch_seconds(train, epochs)
        bgd, bgd_cpu = epoch_seconds(train, bgd_epochs, learner="bgd", bgd_memory_budget_mb=16384.0)
        print(f"{name} {n} x {m}, {train.nnz:,} positives (density {train.nnz / (n * m):.2%}): fbgd "
              f"{fbgd:.4f} s/epoch (cpu {fbgd_cpu:.4f})   bgd {bgd:.4f} (cpu {bgd_cpu:.4f})   bgd / fbgd = "
              f"{bgd / fbgd:.1f}x wall, {bgd_cpu / fbgd_cpu:.1f}x cpu")


def douban_worker(path: str, epochs: int) -> None:
    train = sp.load_npz(path).tocsr()
    median, cpu = epoch_seconds(train, epochs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"douban-size synthetic {train.shape[0]} x {train.shape[1]}, {train.nnz:,} positives: "
          f"fbgd {median:.3f} s/epoch (median of {epochs}; cpu {cpu:.3f}), peak RSS of the fitting process "
          f"{peak_mb:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="fbgd epochs timed")
    parser.add_argument("--bgd-epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--douban", action="store_true")
    parser.add_argument("--skip-ml1m", action="store_true", help="only --douban / --full-fit")
    parser.add_argument("--full-fit", action="store_true")
    parser.add_argument("--ratio-datasets", nargs="*", default=[], metavar="NAME",
                        help="also time fbgd vs bgd on these datasets (from the data home)")
    parser.add_argument("--douban-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        import numba
        numba.set_num_threads(args.threads)
    if args.douban_worker:
        douban_worker(args.douban_worker, args.epochs)
        return
    import numba
    train = load_ml1m()
    print(f"ML-1M {train.shape[0]} x {train.shape[1]}, {train.nnz:,} positives, K = D = 20, "
          f"numba threads {numba.get_num_threads()} ({numba.config.THREADING_LAYER} layer)")
    if args.skip_ml1m:
        args.no_scaling = True
    else:
        ml1m_learners(train, args.epochs, args.bgd_epochs)
    if not args.no_scaling:
        base = None
        for factor in (1, 2, 4):
            dense = train if factor == 1 else densify(train, factor)
            sec, sec_cpu = epoch_seconds(dense, args.epochs)
            base = base or sec_cpu
            print(f"scaling {factor}x positives ({dense.nnz:,}): fbgd {sec:.4f} s/epoch, cpu "
                  f"{sec_cpu:.4f} ({sec_cpu / base:.2f} x the 1x cpu time)")
    if args.ratio_datasets:
        density_ratios(args.ratio_datasets, args.epochs, args.bgd_epochs)
    if args.douban:
        from fawmf_bench.data.synthetic import generate
        start = time.perf_counter()
        matrix = generate("douban", seed=0)[0].matrix
        print(f"generated the douban preset in {time.perf_counter() - start:.0f} s")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "douban.npz")
            sp.save_npz(path, matrix, compressed=False)
            del matrix
            cmd = [sys.executable, __file__, "--douban-worker", path, "--epochs", "5"]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            subprocess.run(cmd, check=True)
    if args.full_fit:
        split, monitor = holdout_monitor(train)
        start = time.perf_counter()
        model = FAWMF(epochs=1000).fit(split, monitor)
        wall = time.perf_counter() - start
        best = max(row.get(f"{model.scoring_}/pre@5", -1) for row in model.trace_)
        print(f"full fit (1000 epochs, eval every 25 on a random 20% holdout): wall {wall:.0f} s, "
              f"training {model.fit_seconds_:.0f} s, best epoch {model.best_epoch_}, scoring "
              f"{model.scoring_}, holdout Pre@5 {best:.4f} (max over epochs, as awmf.m)")


if __name__ == "__main__":
    main()
