"""Douban-scale rehearsal (issue 12): the plan for the full benchmark on ``synthetic-douban``
(123,480 x 20,029, 16.6M positives), then FAWMF's pipeline on a reduced grid (tuning + one
fold) through a local Dask cluster, and the plan's error against what was measured.

    nice -n 10 python benchmarks/rehearsal_douban.py --out /tmp/rehearsal [--workers 2] [--epochs 50]

The store goes under --out (keep it out of the repository). Prints the full benchmark's
projection (CPU hours; wall hours on 1, 8 and 64 workers), the rehearsal's wall time, peak
memory per worker, and per unit the estimated vs measured seconds.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from fawmf_bench.data import data_home, load_dataset
from fawmf_bench.experiments import plan as planning
from fawmf_bench.experiments.config import load_config
from fawmf_bench.experiments.costmodel import CostModel
from fawmf_bench.experiments.runner import RunSettings, run_benchmark
from fawmf_bench.experiments.store import ResultStore
from fawmf_bench.models import MODELS

DATASET = "synthetic-douban"


def reduced_config(path: Path, epochs: int) -> Path:
    """FAWMF's packaged settings with a 2-point eta grid and ``epochs`` epochs."""
    path.write_text(f"""
datasets:
  {DATASET}: {{monitor: {{max_users: 20000}}}}
methods:
  fawmf:
    params: {{factors: 20, communities: 20, epsilon: 1.0e-5, eta: 1.0, learning_rate: 0.1,
             exposure_learning_rate: 0.1, factor_reg: 0.01, membership_reg: 0.001,
             exposure_weight_reg: 0.01, exposure_bias_reg: 0.01, user_influence: false,
             learner: fbgd, epochs: {epochs}, dtype: float32}}
    monitor: {{every: 10, patience: 2}}
    grid: {{eta: [1.0, 5.0]}}
""")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--skip-full-plan", action="store_true")
    parser.add_argument("--no-run", action="store_true",
                        help="plans only, and the comparison with a rehearsal stored under --out")
    parser.add_argument("--wait", type=float, default=0.0,
                        help="with --no-run: wait up to this many seconds for that rehearsal to finish")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(args.out / "store")
    model = CostModel(data_home() / "costmodel")
    started = time.perf_counter()
    data = load_dataset(DATASET)
    print(f"{DATASET}: {data.stats()} (generated in {time.perf_counter() - started:.0f} s)", flush=True)

    if not args.skip_full_plan:
        full = RunSettings(datasets=[DATASET], methods=list(MODELS), config=load_config(), quiet=True)
        planned = planning.estimate(planning.plan_units(full, ResultStore(args.out / "empty-store")), model,
                                    lambda name: data)
        print(planning.summary(planned).to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
        total = sum(p.seconds or 0 for p in planned)
        print(f"full benchmark on {DATASET}: {total / 3600:,.1f} CPU-hours (single-thread upper bound); wall: "
              + ", ".join(f"{n} workers {planning.projected_wall_seconds(planned, n) / 3600:,.1f} h"
                          for n in (1, 8, 64)), flush=True)

    config = load_config(reduced_config(args.out / "rehearsal.yaml", args.epochs))
    settings = RunSettings(datasets=[DATASET], methods=["fawmf"], config=config, folds=[0], quiet=True,
                           cluster=f"local:{args.workers}")
    estimated = planning.estimate(planning.plan_units(settings, store), model, lambda name: data)
    print(f"rehearsal plan: {sum(p.seconds or 0 for p in estimated):,.0f} single-thread s; projected wall on "
          f"{args.workers} workers {planning.projected_wall_seconds(estimated, args.workers):,.0f} s", flush=True)
    if args.no_run:
        deadline = time.time() + args.wait
        while time.time() < deadline and any(p.status != planning.STORED for p in planning.plan_units(settings, store)):
            time.sleep(30)
        finals = [store.load(p.unit) for p in planning.plan_units(settings, store)
                  if p.unit.stage == "final" and p.status == planning.STORED]
    else:
        start = time.perf_counter()
        finals = run_benchmark(settings, store)
        wall = time.perf_counter() - start
        print(f"rehearsal wall time: {wall:,.0f} s through --cluster local:{args.workers}")
    data = load_dataset(DATASET)  # in this process's cache
    executed = [p.unit for p in estimated if p.unit.stage == "tune"] + [planning.unit_for_record(r) for r in finals]
    a_priori = {p.unit.key: p.seconds for p in estimated}
    for unit in executed:
        if not store.has(unit):
            continue
        record = store.load(unit)
        again = model.unit_seconds(unit, data, epochs=record["epochs"])
        prior = a_priori.get(unit.key)
        print(f"  {unit.label} {dict(unit.params).get('eta')}: plan {prior or float('nan'):,.0f} s (max epochs); "
              f"model at the {record['epochs']} epochs run: fit {again['fit']:,.0f} s vs measured "
              f"{record['fit_seconds']:,.0f} s (ratio {again['fit'] / record['fit_seconds']:.2f}); "
              f"pre@5 {record['metrics']['pre@5']:.4f}")

if __name__ == "__main__":
    main()
