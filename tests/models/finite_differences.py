"""The finite-difference oracle the gradient tests share."""

from __future__ import annotations

from typing import Callable

import numpy as np


def central_differences(objective: Callable[[dict[str, np.ndarray]], float], params: dict[str, np.ndarray],
                        h: float = 1e-6) -> dict[str, np.ndarray]:
    """(f(x + h e_i) - f(x - h e_i)) / 2h for every coordinate of every array in ``params``."""
    numeric = {}
    for key, value in params.items():
        numeric[key] = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][index] += h
            minus[key][index] -= h
            numeric[key][index] = (objective(plus) - objective(minus)) / (2 * h)
    return numeric
