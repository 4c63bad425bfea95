"""Speed of CDAE and EXMF on ML-1M (seconds per epoch, per fit, peak memory).

Usage: python benchmarks/bench_baselines_b.py [--epochs N] [--cdae-factors 50] [--exmf-factors 20]
       [--quality]  (adds a quick held-out Pre@5 on a random 80/20 split)

Reads ../shared/datasets/ml-1m/ratings.csv.gz (or $FAWMF_BENCH_MIRROR/ml-1m/ratings.csv.gz),
drops items with fewer than 3 ratings (6,040 x 3,503, 999,917 positives). Reports medians over
all epochs (kernels are compiled on a tiny fit first). On a shared machine, the CPU seconds
per epoch (all threads) divided by the core count bound the uncontended wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from fawmf_bench.data.dataset import binary_csr
from fawmf_bench.models.cdae import CDAE
from fawmf_bench.models.exmf import EXMF
from fawmf_bench._threading import prefer_workqueue_layer

prefer_workqueue_layer()  # as the CLI and the runner do (the layer is fixed at numba's first parallel run)


def load_ml1m() -> sp.csr_matrix:
    mirror = Path(os.environ.get("FAWMF_BENCH_MIRROR", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    ratings = pd.read_csv(mirror / "ml-1m" / "ratings.csv.gz", usecols=["user_id", "item_id"])
    counts = ratings["item_id"].value_counts()
    ratings = ratings[ratings["item_id"].isin(counts.index[counts >= 3])]
    users = pd.factorize(ratings["user_id"], sort=True)[0]
    items = pd.factorize(ratings["item_id"], sort=True)[0]
    return binary_csr(users, items, (users.max() + 1, items.max() + 1))


def holdout(x: sp.csr_matrix, seed: int = 0) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    rng = np.random.default_rng(seed)
    coo = x.tocoo()
    test = rng.random(coo.nnz) < 0.2
    make = lambda m: binary_csr(coo.row[m], coo.col[m], x.shape)  # noqa: E731
    return make(~test), make(test)


def precision_at_5(model, train: sp.csr_matrix, test: sp.csr_matrix, scoring=None) -> float:
    users = np.flatnonzero(np.diff(test.indptr))
    hits = []
    for block in np.array_split(users, 8):
        scores = np.array(model.score(block, scoring=scoring), dtype=np.float64)
        r, c = train[block].nonzero()
        scores[r, c] = -np.inf
        top = np.argpartition(-scores, 5, axis=1)[:, :5]
        hits.append(np.asarray(test[block][np.arange(len(block))[:, None], top].sum(axis=1)).ravel())
    return float(np.concatenate(hits).mean() / 5)


def timed_fit(model, train) -> tuple[float, float, list[float], float]:
    """Wall seconds, process CPU seconds (all threads), wall seconds per epoch, peak MiB
    allocated through Python/NumPy (tracemalloc) during the fit."""
    tracemalloc.start()
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(train)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    seconds = np.array([row["seconds"] for row in model.trace_])
    return total, cpu, list(np.diff(seconds, prepend=0.0)), peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--cdae-factors", type=int, default=50)
    parser.add_argument("--exmf-factors", type=int, default=20)
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--only", choices=["cdae", "exmf"], default=None)
    args = parser.parse_args()
    x = load_ml1m()
    print(f"ML-1M {x.shape[0]} x {x.shape[1]}, {x.nnz} positives")
    train, test = holdout(x) if args.quality else (x, None)
    models = {
        "cdae": CDAE(factors=args.cdae_factors, epochs=args.epochs),
        "exmf": EXMF(factors=args.exmf_factors, epochs=args.epochs),
    }
    for name, model in models.items():
        if args.only and name != args.only:
            continue
        model.set_params(epochs=1).fit(train[:64])  # compile or load the numba kernels
        model.set_params(epochs=args.epochs)
        total, cpu, per_epoch, peak = timed_fit(model, train)
        print(
            f"{name:5s} K={model.factors:3d} epochs={len(per_epoch)} "
            f"median={np.median(per_epoch):.3f}s/epoch (min {min(per_epoch):.3f}) fit={total:.2f}s "
            f"cpu={cpu:.2f}s ({cpu / len(per_epoch):.3f} cpu-s/epoch) load={os.getloadavg()[0]:.1f} "
            f"python-peak={peak:.0f}MiB losses={[round(r['loss'], 5) for r in model.trace_]}"
        )
        if test is not None:
            for scoring in model.scorings:
                print(f"      Pre@5 ({scoring}) on a random 20% holdout: "
                      f"{precision_at_5(model, train, test, scoring):.4f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
