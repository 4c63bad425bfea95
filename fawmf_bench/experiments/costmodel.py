"""A cost model for units: seconds per epoch and per evaluation, calibrated on this machine.

Calibration (once per machine, method, dataset and shape-defining parameters; cached as JSON
under ``<data home>/costmodel/<node>.json``): a random sample of ``SAMPLE_USERS`` users of
the dataset itself, or one in ``SAMPLE_FRACTION`` of a larger one (every item kept), is split
80/20; each method is fitted on it for 1 and for 1 + P epochs on one thread (numba and BLAS),
timed in process CPU seconds (a shared, loaded machine stretches wall time, not CPU time),
with P grown from ``PROBE_EPOCHS`` until the difference is at least ``PROBE_SECONDS`` (a
shorter probe is timer and setup noise: it once gave FAWMF a negative epoch); where the
sample predicts that these probes would cost at most ``FULL_PROBE_SECONDS`` on every user,
they are run again on every user (a sample fits in the CPU's caches where the whole dataset
does not), so that

    seconds per epoch  s_c = (t(1 + P) - t(1)) / P,   setup  a_c = t(1) - s_c,

and one full-ranking evaluation of the held-out part gives seconds per (user x item) e_c.
The measurements are carried to the unit's training part of the dataset (the training fold,
less the validation carve-out when tuning) by the complexity terms of the paper's
Table 2 (per epoch, for n users, m items, |X+| positives, K factors, D communities):

    itempop |X+|;  wmf (n+m)K^3 + |X+|K^2;  eals (n+m)K^2 + |X+|K;  bpr, cdae (n+m+|X+|)K;
    exmf nmK;  fawmf (n+m)K^2 D + |X+|(K+D).

Where the complexity has two terms T1 (users and items) and T2 (positives), a second sample
of half the users gives a second equation and ``s = a T1 + b T2`` is solved for both
coefficients (a user-only sample of a wide dataset is dominated by the item term, so scaling
the sum alone would misweigh them); otherwise ``s = s_c * f(dataset) / f(sample)``. (EXMF's
Table-2 entry, O(nmK^3), is per the authors' code; ours is O(nmK) per pass.) A unit then costs, in single-thread seconds,

    tune:  a + E s + (S E / every) e V' m + e V m    (V validation users, V' = min(V, monitor.max_users),
                                                       S scoring variants the monitor compares)
    final: a + E s + e * n * m                         (one test evaluation over every user)

with E the unit's epochs: a final's chosen epochs are known after tuning; a tuning unit may
stop early, so its E is the configured maximum and the estimate an upper bound.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from ..data import InteractionMatrix
from ..evaluation import evaluate
from ..models import make_model, model_class
from .units import Unit

log = logging.getLogger(__name__)

SAMPLE_USERS = 3000
SAMPLE_FRACTION = 8  # large datasets: at least one user in 8 (caches: a small sample runs faster per positive)
PROBE_EPOCHS = 2
PROBE_SECONDS = 0.5  # a probe shorter than this is timer and setup noise: it is lengthened
MAX_PROBE_EPOCHS = 64
FULL_PROBE_SECONDS = 180.0  # time the epochs on every user when that costs at most this
VALIDATION_FRACTION = 0.1  # make_splits' default carve-out
HELD_OUT_FRACTION = 0.2  # of a calibration sample's positives, for its evaluation
CACHE_VERSION = 5  # 2: CPU time instead of wall time; 3: two samples; 4: probes of >= PROBE_SECONDS,
#                    larger samples; 5: every user where that is cheap
#: parameters that change the work of an epoch (the others, rates and penalties, do not)
STRUCTURAL = frozenset({"factors", "communities", "negatives", "learner", "dtype", "batch_size", "user_influence",
                        "sampler", "negative_ratio"})


def _kd(params: dict[str, Any]) -> tuple[int, int]:
    return int(params.get("factors", 20)), int(params.get("communities", 20))


#: Table 2's per-epoch complexity as (user/item term, positives term) for (n, m, |X+|, params)
TERMS: dict[str, Callable[[int, int, int, dict[str, Any]], tuple[float, ...]]] = {
    "itempop": lambda n, m, r, p: (float(r),),
    "wmf": lambda n, m, r, p: ((n + m) * _kd(p)[0] ** 3, r * _kd(p)[0] ** 2),
    "eals": lambda n, m, r, p: ((n + m) * _kd(p)[0] ** 2, r * _kd(p)[0]),
    "bpr": lambda n, m, r, p: ((n + m) * _kd(p)[0], r * _kd(p)[0]),
    "cdae": lambda n, m, r, p: ((n + m) * _kd(p)[0], r * _kd(p)[0]),
    "exmf": lambda n, m, r, p: (float(n) * m * _kd(p)[0],),
    "fawmf": lambda n, m, r, p: ((n + m) * _kd(p)[0] ** 2 * _kd(p)[1], r * sum(_kd(p))),
}
#: the sum of the terms: Table 2's complexity f(n, m, |X+|, params)
COMPLEXITY: dict[str, Callable[[int, int, int, dict[str, Any]], float]] = {
    method: (lambda terms: lambda n, m, r, p: float(sum(terms(n, m, r, p))))(terms) for method, terms in TERMS.items()
}


@dataclass(frozen=True)
class Calibration:
    """Single-thread seconds measured on a sample of shape (users, items, positives)."""

    users: int
    items: int
    positives: int
    setup_seconds: float
    epoch_seconds: float
    eval_seconds_per_user_item: float
    small_users: int = 0  # a second sample, half the users, separates the two terms
    small_positives: int = 0
    small_epoch_seconds: float = 0.0


def complexity(method: str, n: int, m: int, positives: int, params: dict[str, Any]) -> float:
    """Table 2's per-epoch term for ``method`` (a method not in Table 2 scales with |X+|)."""
    return COMPLEXITY.get(method, COMPLEXITY["itempop"])(n, m, positives, params)


def scaled_epoch_seconds(method: str, cal: Calibration, n: int, m: int, positives: int,
                         params: dict[str, Any]) -> float:
    """Seconds per epoch at (n, m, positives): with two terms, their coefficients are solved
    from the two samples, s = a T1 + b T2 (both >= 0, else the plain ratio of the sums)."""
    terms = TERMS.get(method, TERMS["itempop"])
    target = terms(n, m, positives, params)
    big = terms(cal.users, cal.items, cal.positives, params)
    if len(big) == 2 and cal.small_users:
        small = terms(cal.small_users, cal.items, cal.small_positives, params)
        try:
            a, b = np.linalg.solve(np.array([big, small], dtype=float),
                                   np.array([cal.epoch_seconds, cal.small_epoch_seconds]))
        except np.linalg.LinAlgError:
            a = b = -1.0
        if a >= 0 and b >= 0:
            return float(a * target[0] + b * target[1])
    return cal.epoch_seconds * sum(target) / sum(big)


def sample_users(data: InteractionMatrix) -> int:
    """Users in the calibration sample: SAMPLE_USERS, or one in SAMPLE_FRACTION of a larger dataset."""
    n = data.matrix.shape[0]
    return min(n, max(SAMPLE_USERS, n // SAMPLE_FRACTION))


def _sample(data: InteractionMatrix, size: int, seed: int = 0) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``size`` random users (all items; the smaller sample is part of the larger), split
    80/20 into train / held-out."""
    matrix = data.matrix.tocsr()
    rng = np.random.default_rng(seed)
    users = np.sort(rng.permutation(matrix.shape[0])[:size])
    sample = matrix[users].tocoo()
    held = rng.random(sample.nnz) < HELD_OUT_FRACTION
    shape = sample.shape

    def part(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((np.ones(mask.sum(), np.float32), (sample.row[mask], sample.col[mask])), shape=shape)

    return part(~held), part(held)


def calibrate(method: str, params: dict[str, Any], data: InteractionMatrix) -> Calibration:
    """Time ``method`` with ``params`` on a sample of ``data`` on one thread (see module doc);
    where the sample predicts that probing every user costs at most ``FULL_PROBE_SECONDS``, the
    epochs are timed again on every user (caches make a sample faster per positive: FAWMF's
    epoch on the Douban-size preset took 4x what a one-in-eight sample predicted)."""
    import numba
    from threadpoolctl import threadpool_limits

    names = set(model_class(method).param_names())
    params = {k: v for k, v in params.items() if k in names}
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(1):
            calibration = _probe(method, params, names, data, sample_users(data))
            n, m = data.matrix.shape
            if "epochs" in names and calibration.users < n:
                positives = int((1 - HELD_OUT_FRACTION) * data.matrix.nnz)
                full_epoch = scaled_epoch_seconds(method, calibration, n, m, positives, params)
                # the fits of a probe on all users and on half of them: about 3 (2 + P) epochs of all users
                if full_epoch * 3 * (2 + PROBE_EPOCHS) <= FULL_PROBE_SECONDS:
                    every_user = _probe(method, params, names, data, n, evaluate_too=False)
                    calibration = dataclasses.replace(
                        every_user, eval_seconds_per_user_item=calibration.eval_seconds_per_user_item)
    finally:
        numba.set_num_threads(previous)
    return calibration


def _probe(method: str, params: dict[str, Any], names: set[str], data: InteractionMatrix, users: int,
           evaluate_too: bool = True) -> Calibration:
    """The timings of :func:`calibrate` on a sample of ``users`` users (the caller limits threads)."""
    train, held_out = _sample(data, users)

    def timed(epochs: int, matrix: sp.csr_matrix = train):
        model = make_model(method, **({**params, "epochs": epochs} if "epochs" in names else params))
        start = time.process_time()
        model.fit(matrix)
        return time.process_time() - start, model

    def probe(matrix: sp.csr_matrix, first: float):
        """Seconds per epoch from t(1 + P) - t(1), P grown until that difference is at least
        PROBE_SECONDS (or P reaches MAX_PROBE_EPOCHS); returns it and the model."""
        epochs = PROBE_EPOCHS
        while True:
            longer, model = timed(1 + epochs, matrix)
            spent = longer - first
            if spent >= PROBE_SECONDS or epochs >= MAX_PROBE_EPOCHS:
                return max(spent, 0.0) / epochs, model
            epochs = min(MAX_PROBE_EPOCHS, max(2 * epochs, int(np.ceil(epochs * PROBE_SECONDS / max(spent, 1e-3)))))

    timed(1)  # compile and warm caches
    first, _ = timed(1)
    small_users = small_positives = 0
    small_epoch = 0.0
    if "epochs" in names:
        per_epoch, model = probe(train, first)
        if method in TERMS and len(TERMS[method](1, 1, 1, params)) == 2 and train.shape[0] >= 200:
            small, _ = _sample(data, train.shape[0] // 2)
            small_epoch, _ = probe(small, timed(1, small)[0])
            small_users, small_positives = small.shape[0], int(small.nnz)
    else:
        (per_epoch, model), first = timed(1), 0.0
    eval_rate = 0.0
    if evaluate_too:
        evaluate(lambda users: model.score(users), train, held_out, cutoffs=(5, 10, 20))  # compile
        start = time.process_time()
        evaluate(lambda users: model.score(users), train, held_out, cutoffs=(5, 10, 20))
        evaluated = int((np.diff(held_out.indptr) > 0).sum())
        eval_rate = (time.process_time() - start) / max(1, evaluated * train.shape[1])
    return Calibration(train.shape[0], train.shape[1], int(train.nnz), max(first - per_epoch, 0.0), per_epoch,
                       eval_rate, small_users, small_positives, small_epoch)


class CostModel:
    """Calibrations cached per machine; estimates of units' single-thread seconds."""

    def __init__(self, cache_dir: Path, recalibrate: bool = False) -> None:
        self.path = Path(cache_dir) / f"{platform.node() or 'machine'}.json"
        self.recalibrate = recalibrate
        try:
            self.cache = json.loads(self.path.read_text()) if not recalibrate else {}
        except (OSError, ValueError):
            self.cache = {}
        if self.cache.get("version") != CACHE_VERSION:
            self.cache = {"version": CACHE_VERSION, "entries": {}}

    @staticmethod
    def _shape_params(unit: Unit) -> dict[str, Any]:
        """The parameters that shape an epoch's work (sizes, learner, precision); a calibration
        is shared by every grid point that agrees on them (rates and penalties do not count)."""
        return {k: v for k, v in unit.param_dict.items() if k in STRUCTURAL}

    def calibration(self, unit: Unit, data: InteractionMatrix) -> Calibration:
        params = self._shape_params(unit)
        key = json.dumps([unit.method, data.name, data.checksum, params], sort_keys=True, default=str)
        entry = self.cache["entries"].get(key)
        if entry is None:
            log.info("calibrating %s on %s (a %d-user sample, one thread)", unit.method, data.name,
                     sample_users(data))
            entry = vars(calibrate(unit.method, params, data))
            self.cache["entries"][key] = entry
            self._save()
        return Calibration(**entry)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(self.cache, indent=1, sort_keys=True))
        os.replace(tmp, self.path)

    def epoch_seconds(self, unit: Unit, data: InteractionMatrix) -> tuple[float, float]:
        """(setup seconds, seconds per epoch) of ``unit``'s model on its training part of ``data``."""
        cal = self.calibration(unit, data)
        n, m = data.matrix.shape
        positives = int(data.matrix.nnz * train_fraction(unit))
        params = self._shape_params(unit)
        per_epoch = scaled_epoch_seconds(unit.method, cal, n, m, positives, params)
        return cal.setup_seconds * positives / max(1, cal.positives), per_epoch

    def unit_seconds(self, unit: Unit, data: InteractionMatrix, epochs: int | None = None) -> dict[str, float]:
        """Estimated single-thread seconds of ``unit``: fit (training plus, for tuning, the
        monitor's evaluations) and the evaluation after it. ``epochs`` overrides the unit's."""
        cal = self.calibration(unit, data)
        setup, per_epoch = self.epoch_seconds(unit, data)
        names = set(model_class(unit.method).param_names())
        epochs = epochs if epochs is not None else int(unit.param_dict.get("epochs", 1) if "epochs" in names else 1)
        n, m = data.matrix.shape
        fit = setup + epochs * per_epoch
        if unit.stage == "tune":
            users = _validation_users(data)
            monitored = min(users, unit.monitor.max_users or users)
            # the monitor ranks every scoring variant the model offers unless one is fixed
            variants = 1 if unit.param_dict.get("scoring") else len(model_class(unit.method).scorings)
            evaluations = variants * (epochs // max(1, unit.monitor.every)) if "epochs" in names else 0
            fit += evaluations * cal.eval_seconds_per_user_item * monitored * m
            after = cal.eval_seconds_per_user_item * users * m
        else:
            after = cal.eval_seconds_per_user_item * n * m
        return {"fit": fit, "evaluate": after, "total": fit + after}


def train_fraction(unit: Unit) -> float:
    """Share of the positives a unit trains on: the training fold (1 - 1/k, or the paper's
    0.8), less the validation carve-out (10% of it) for tuning."""
    train = 0.8 if unit.protocol == "paper" else 1.0 - 1.0 / unit.n_folds
    return train * (1.0 - VALIDATION_FRACTION) if unit.stage == "tune" else train


def _validation_users(data: InteractionMatrix) -> int:
    """Users who can have validation items (at least two positives): about every user."""
    return int((np.diff(data.matrix.indptr) >= 2).sum())
