"""The contract every Recommender passes, exported for plugin authors (like scikit-learn's
``check_estimator``): run it on your class in your own tests::

    from fawmf_bench.testing import check_recommender
    def test_contract():
        check_recommender(MyModel, params={"epochs": 3})

or one pytest case per check::

    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_contract(check):
        check(MyModel, {"epochs": 3})

Each check takes the class and the hyperparameters to use (small ones keep it fast) and
raises AssertionError saying what broke. The checks fit on a tiny random binary matrix in
which one user has no positives.
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from numbers import Integral
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import scipy.sparse as sp

from .models.base import Interval, Options, Recommender

TINY_SHAPE = (16, 12)
EMPTY_USER = 3


def tiny_matrix(seed: int = 0, shape: tuple[int, int] = TINY_SHAPE) -> sp.csr_matrix:
    """A binary CSR matrix with about 30% positives, every item used, user 3 with none."""
    rng = np.random.default_rng(seed)
    dense = rng.random(shape) < 0.3
    dense[np.arange(shape[0]), rng.integers(0, shape[1], shape[0])] = True  # no other empty user
    dense[rng.integers(0, shape[0], shape[1]), np.arange(shape[1])] = True  # every item used
    dense[EMPTY_USER] = False
    dense[:, dense.sum(axis=0) == 0] = False
    dense[(EMPTY_USER + 1) % shape[0], dense.sum(axis=0) == 0] = True
    return sp.csr_matrix(dense.astype(np.float32))


@contextmanager
def _one_thread(cls: type[Recommender]) -> Iterator[None]:
    """Lock-free (Hogwild) models are reproducible only on one numba thread."""
    if not cls.lock_free:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _fit(cls: type[Recommender], params: dict[str, Any], train: sp.csr_matrix | None = None) -> Recommender:
    with _one_thread(cls):
        model = cls(**params)
        fitted = model.fit(tiny_matrix() if train is None else train)
    assert fitted is model, f"{cls.__name__}.fit must return self"
    return model


def _all_scores(model: Recommender, scoring: str | None = None) -> np.ndarray:
    users = np.arange(TINY_SHAPE[0])
    return np.asarray(model.score(users, scoring=scoring), dtype=np.float64)


# --------------------------------------------------------------------------- checks
def check_params_round_trip(cls: type[Recommender], params: dict[str, Any]) -> None:
    """The constructor stores its arguments unchanged; get_params / set_params round-trip;
    an unknown name is rejected."""
    model = cls(**params)
    got = model.get_params()
    for key, value in params.items():
        assert got[key] == value, f"{cls.__name__}: get_params()[{key!r}] = {got[key]!r}, expected {value!r}"
    assert set(got) == set(cls.param_names()), f"{cls.__name__}: get_params() keys differ from the constructor's"
    fitted_like = [k for k in vars(model) if k.endswith("_")]
    assert not fitted_like, f"{cls.__name__}: the constructor sets fitted attributes {fitted_like}"
    clone = cls().set_params(**got)
    assert clone.get_params() == got, f"{cls.__name__}: set_params(**get_params()) does not round-trip"
    assert repr(clone).startswith(cls.__name__ + "(")
    try:
        cls().set_params(no_such_parameter_xyz=1)
    except ValueError as exc:
        assert "no_such_parameter_xyz" in str(exc), f"{cls.__name__}: unclear error for an unknown parameter"
    else:
        raise AssertionError(f"{cls.__name__}.set_params accepted an unknown parameter")
    assert cls.name, f"{cls.__name__}: declare a registry name (class attribute 'name')"
    assert cls.scorings, f"{cls.__name__}: declare at least one scoring variant"


def _invalid_values(constraints: list[Any]) -> list[Any]:
    """Values no constraint of the list accepts (None, a string, numbers out of range)."""
    candidates: list[Any] = ["not-a-valid-value", float("nan")]
    if None not in constraints:
        candidates.append(None)
    for c in constraints:
        if isinstance(c, Interval):
            if c.low is not None:
                candidates.append(c.low - 1)
            if c.high is not None:
                candidates.append(c.high + 1)
            if c.kind is Integral:
                candidates.append(1.5)
    from .models.base import _accepts

    return [v for v in candidates if not any(_accepts(c, v) for c in constraints)]


def check_bad_params_rejected(cls: type[Recommender], params: dict[str, Any],
                              bad_params: dict[str, Any] | None = None) -> None:
    """Every declared constraint (and ``bad_params``) is enforced at fit: a ValueError that
    names the parameter."""
    constraints = {"scoring": [None, Options(tuple(cls.scorings))], **cls._parameter_constraints}
    cases = [(k, v) for k, allowed in constraints.items() if k in cls.param_names() for v in _invalid_values(allowed)]
    cases += list((bad_params or {}).items())
    train = tiny_matrix()
    for key, value in cases:
        model = cls(**{**params, key: value})
        try:
            with _one_thread(cls):
                model.fit(train)
        except ValueError as exc:
            assert key in str(exc), f"{cls.__name__}: the error for {key}={value!r} does not name it: {exc}"
        else:
            raise AssertionError(f"{cls.__name__}.fit accepted {key}={value!r}")


def check_fit_tiny_scores_finite(cls: type[Recommender], params: dict[str, Any]) -> None:
    """Fit on a tiny matrix; every scoring variant gives finite (n_users, n_items) scores,
    also for the user without positives; recommend excludes training items."""
    train = tiny_matrix()
    model = _fit(cls, params, train)
    for scoring in (None, *cls.scorings):
        scores = _all_scores(model, scoring)
        assert scores.shape == TINY_SHAPE, f"{cls.__name__}: score shape {scores.shape}, expected {TINY_SHAPE}"
        assert np.all(np.isfinite(scores)), f"{cls.__name__}: non-finite scores (scoring={scoring})"
        assert np.all(np.isfinite(scores[EMPTY_USER])), f"{cls.__name__}: a user without positives"
    subset = np.array([EMPTY_USER, 0, 5])
    assert np.asarray(model.score(subset)).shape == (3, TINY_SHAPE[1]), f"{cls.__name__}: score(users) shape"
    items, item_scores = model.recommend(np.arange(TINY_SHAPE[0]), exclude=train, k=4)
    assert items.shape == (TINY_SHAPE[0], 4) and item_scores.shape == items.shape
    for user in range(TINY_SHAPE[0]):
        seen = set(train[user].indices)
        top = [i for i, s in zip(items[user], item_scores[user]) if np.isfinite(s)]
        assert not seen & set(top), f"{cls.__name__}: recommended a training item to user {user}"
    try:
        model.score(subset, scoring="no-such-scoring")
    except ValueError:
        pass
    else:
        raise AssertionError(f"{cls.__name__}.score accepted an unknown scoring variant")


def check_seed_reproducible(cls: type[Recommender], params: dict[str, Any]) -> None:
    """Two fits with the same hyperparameters (and seed) give bit-identical scores."""
    first = _all_scores(_fit(cls, params))
    second = _all_scores(_fit(cls, params))
    np.testing.assert_array_equal(first, second, err_msg=f"{cls.__name__}: two fits with one seed differ")


def check_save_load_round_trip(cls: type[Recommender], params: dict[str, Any]) -> None:
    """save() then load() (on the class and, when registered, on Recommender) gives the same
    hyperparameters and scores."""
    model = _fit(cls, params)
    with tempfile.TemporaryDirectory() as folder:
        path = model.save(Path(folder) / "model.npz")
        loaders: list[Callable[[Path], Recommender]] = [cls.load]
        from .models import MODELS

        if cls.name.lower() in MODELS:
            loaders.append(Recommender.load)
        for load in loaders:
            again = load(path)
            assert type(again) is cls, f"{cls.__name__}: load gave a {type(again).__name__}"
            assert again.get_params() == model.get_params(), f"{cls.__name__}: params changed by save/load"
            for scoring in (None, *cls.scorings):
                np.testing.assert_array_equal(_all_scores(again, scoring), _all_scores(model, scoring),
                                              err_msg=f"{cls.__name__}: scores changed by save/load")


CHECKS: tuple[Callable[..., None], ...] = (
    check_params_round_trip,
    check_bad_params_rejected,
    check_fit_tiny_scores_finite,
    check_seed_reproducible,
    check_save_load_round_trip,
)


def check_recommender(cls: type[Recommender], params: dict[str, Any] | None = None,
                      bad_params: dict[str, Any] | None = None) -> None:
    """Run every check of :data:`CHECKS` on ``cls`` with hyperparameters ``params``."""
    params = dict(params or {})
    for check in CHECKS:
        if check is check_bad_params_rejected:
            check(cls, params, bad_params)
        else:
            check(cls, params)
