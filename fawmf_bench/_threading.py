"""numba's threading layer, chosen where work starts (the CLI, the runner), never at import.

numba's default OpenMP layer spin-waits between parallel regions; with short kernels called
every epoch on a busy 2-core machine that made a FAWMF epoch 3.5x slower than the simple
static "workqueue" layer (measured: 30 epochs of the synthetic preset, 0.99 s vs 0.28 s;
benchmarks/bench_threading_layer.py measures it again). Importing fawmf_bench changes nothing;
a user's own NUMBA_THREADING_LAYER always wins.
"""

from __future__ import annotations

import os
import sys

LAYER_ENV = "NUMBA_THREADING_LAYER"
PREFERRED_LAYER = "workqueue"


def prefer_workqueue_layer() -> None:
    """Use numba's workqueue layer in this process and its children unless the user chose one.

    Takes effect when numba first runs a parallel kernel (the layer cannot change after that).
    """
    if os.environ.get(LAYER_ENV):
        return
    os.environ[LAYER_ENV] = PREFERRED_LAYER  # pool workers inherit it
    if "numba" in sys.modules:  # numba read its config at import; set it there too
        import numba

        numba.config.THREADING_LAYER = PREFERRED_LAYER
