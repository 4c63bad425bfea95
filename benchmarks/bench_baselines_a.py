"""Speed (and an optional quick quality check) of ItemPop, WMF, eALS and BPR on ML-1M.

    python benchmarks/bench_baselines_a.py [--repeats 3] [--quality]

Speed: seconds per epoch (median over epochs of ``trace_``) and per full fit at K = 20,
next to implicit's own ALS fit (15 exact iterations) measured in the same run. A warm-up fit
on a tiny matrix compiles the numba kernels first, so compile time is excluded.

--quality: one seeded random 80/20 split of ML-1M (a quick stand-in for the evaluation
layer), 10% of the training part held out for validation (epochs chosen on it with the
standard FitMonitor), then Pre@5, Rec@5, NDCG@5 and the paper's summed MRR on the test part.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from fawmf_bench.data.dataset import binary_csr
from fawmf_bench.models import FitMonitor, make_model
from fawmf_bench._threading import prefer_workqueue_layer

prefer_workqueue_layer()  # as the CLI and the runner do (the layer is fixed at numba's first parallel run)

RATINGS = Path(os.environ.get("FAWMF_BENCH_MIRROR", "/work/shared/datasets")) / "ml-1m/ratings.csv.gz"

SETTINGS = {
    "itempop": {},
    "wmf": {"epochs": 15, "regularization": 10.0, "confidence_scale": 3.0},
    "eals": {"epochs": 15, "regularization": 0.01, "missing_weight": 1024.0, "popularity_exponent": 0.4},
    "bpr": {"epochs": 15, "learning_rate": 0.02, "regularization": 0.01},
}


def load_ml1m() -> sp.csr_matrix:
    frame = pd.read_csv(RATINGS)
    counts = frame["item_id"].value_counts()
    frame = frame[frame["item_id"].isin(counts.index[counts >= 3])]
    users = pd.factorize(frame["user_id"], sort=True)[0]
    items = pd.factorize(frame["item_id"], sort=True)[0]
    return binary_csr(users, items, (users.max() + 1, items.max() + 1))


def split_rows(matrix: sp.csr_matrix, fraction: float, rng: np.random.Generator):
    """Hold out ``fraction`` of each user's positives at random: (kept, held_out)."""
    coo = matrix.tocoo()
    held = rng.random(coo.nnz) < fraction
    make = lambda mask: binary_csr(coo.row[mask], coo.col[mask], matrix.shape)  # noqa: E731
    return make(~held), make(held)


def top5_metrics(model, train: sp.csr_matrix, test: sp.csr_matrix, full_rank: bool = False):
    """Pre@5, Rec@5, NDCG@5 (and with ``full_rank`` the paper's summed MRR) over test users."""
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    out = {"pre@5": [], "rec@5": [], "ndcg@5": [], "mrr_sum": []}
    discounts = 1.0 / np.log2(np.arange(2, 7))
    for block in np.array_split(users, max(1, len(users) // 1024)):
        scores = np.asarray(model.score(block), dtype=np.float64)
        seen = train[block].nonzero()
        scores[seen] = -np.inf
        truth = test[block].toarray() > 0
        top = np.argpartition(-scores, 5, axis=1)[:, :5]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)
        hits = np.take_along_axis(truth, top, axis=1)
        n_true = truth.sum(axis=1)
        out["pre@5"].append(hits.sum(axis=1) / 5)
        out["rec@5"].append(hits.sum(axis=1) / n_true)
        ideal = np.array([discounts[: min(5, t)].sum() for t in n_true])
        out["ndcg@5"].append((hits * discounts).sum(axis=1) / ideal)
        if full_rank:
            ranks = np.argsort(np.argsort(-scores, axis=1, kind="stable"), axis=1) + 1
            out["mrr_sum"].append(np.where(truth, 1.0 / ranks, 0.0).sum(axis=1))
    return {k: float(np.concatenate(v).mean()) for k, v in out.items() if v}


def bench_speed(X: sp.csr_matrix, repeats: int) -> None:
    from implicit.cpu.als import AlternatingLeastSquares

    tiny = X[:200]
    for name, params in SETTINGS.items():  # compile numba kernels outside the timings
        make_model(name, **{**params, **({"epochs": 1} if params else {})}).fit(tiny)
    times = []
    for _ in range(repeats):
        with threadpool_limits(1, "blas"):
            als = AlternatingLeastSquares(factors=20, use_cg=False, iterations=15, alpha=4.0,
                                          regularization=10.0, random_state=0)
            start = time.perf_counter()
            als.fit(X, show_progress=False)
            times.append(time.perf_counter() - start)
    ref = float(np.median(times))
    print(f"implicit ALS (exact, K=20, 15 it): fit {ref:.2f} s, {ref / 15:.3f} s/iteration")
    for name, params in SETTINGS.items():
        fits, per_epoch = [], []
        for _ in range(repeats):
            model = make_model(name, **({"factors": 20, **params} if params else {}))
            start = time.perf_counter()
            model.fit(X)
            fits.append(time.perf_counter() - start)
            seconds = np.diff([0.0] + [row["seconds"] for row in model.trace_])
            per_epoch.append(float(np.median(seconds)))
        n = model.n_epochs_
        print(f"{name:8s} {n:3d} epochs: fit {np.median(fits):6.2f} s, "
              f"{np.median(per_epoch):.3f} s/epoch (median), fit / implicit fit = "
              f"{np.median(fits) / ref:.2f}")


def bench_quality(X: sp.csr_matrix, grid: dict[str, list[dict]]) -> None:
    rng = np.random.default_rng(2020)
    train, test = split_rows(X, 0.2, rng)
    fit_train, validation = split_rows(train, 0.1, rng)
    monitor = FitMonitor(lambda fn: top5_metrics(_Scorer(fn), fit_train, validation), every=5, patience=3)
    for name, candidates in grid.items():
        best = None
        for params in candidates:
            model = make_model(name, **params).fit(fit_train, monitor)
            value = max(r.get(f"{model.scoring_}/pre@5", -1) for r in model.trace_)
            print(f"  {name} {params}: val pre@5 {value:.4f} at epoch {model.best_epoch_}")
            if best is None or value > best[0]:
                best = (value, params, model.best_epoch_)
        params = {**best[1]}
        if "epochs" in params:
            params["epochs"] = best[2]
        final = make_model(name, **params).fit(train)
        metrics = top5_metrics(final, train, test, full_rank=True)
        print(f"{name:8s} {params}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))


class _Scorer:
    def __init__(self, fn):
        self.score = fn


QUALITY_GRID = {
    "itempop": [{}],
    "wmf": [{"epochs": 25, "regularization": r, "confidence_scale": a}
            for a in (3.0, 10.0, 30.0) for r in (0.1, 10.0)],
    "eals": [{"epochs": 25, "regularization": 0.01, "missing_weight": c, "popularity_exponent": e}
             for c in (256.0, 1024.0, 4096.0) for e in (0.0, 0.4)],
    "bpr": [{"epochs": 100, "learning_rate": lr, "regularization": r}
            for lr in (0.02, 0.05) for r in (0.001, 0.01)],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quality", action="store_true")
    args = parser.parse_args()
    X = load_ml1m()
    print(f"ML-1M: {X.shape[0]} x {X.shape[1]}, {X.nnz} positives")
    if args.repeats > 0:
        bench_speed(X, args.repeats)
    if args.quality:
        bench_quality(X, QUALITY_GRID)


if __name__ == "__main__":
    main()
