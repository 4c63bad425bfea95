"""numba threading layer: seconds of 30 FAWMF epochs (synthetic preset) under "workqueue"
(what the CLI and the runner choose, fawmf_bench._threading) and "omp" (numba's default when
OpenMP is available). Each layer runs in its own process (the layer is fixed per process).

    python benchmarks/bench_threading_layer.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

CHILD = """
import time
from fawmf_bench.data import load_dataset
from fawmf_bench.models import make_model
x = load_dataset("synthetic").matrix
make_model("fawmf", epochs=1).fit(x)  # compile (numba cache) and start the threads
start = time.perf_counter()
make_model("fawmf", epochs=30).fit(x)
import numba
print(time.perf_counter() - start, numba.threading_layer())
"""


def seconds(layer: str) -> float:
    env = {**os.environ, "NUMBA_THREADING_LAYER": layer}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    value, used = out.stdout.split()
    assert used == layer, f"asked for {layer}, numba used {used}"
    return float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    medians = {layer: statistics.median(seconds(layer) for _ in range(args.repeats)) for layer in ("workqueue", "omp")}
    for layer, value in medians.items():
        print(f"{layer:>10}: {value:.3f} s for 30 FAWMF epochs (median of {args.repeats})")
    print(f"omp / workqueue: {medians['omp'] / medians['workqueue']:.2f}x")


if __name__ == "__main__":
    main()
