"""Every built-in method passes the exported contract suite (fawmf_bench.testing)."""

from __future__ import annotations

import pytest

from fawmf_bench.models import BUILTIN_MODELS, model_class
from fawmf_bench.testing import CHECKS, check_bad_params_rejected, tiny_matrix

#: small settings that keep each check to a fraction of a second
FAST = {
    "itempop": {},
    "wmf": {"factors": 3, "epochs": 2},
    "eals": {"factors": 3, "epochs": 2},
    "bpr": {"factors": 3, "epochs": 2},
    "cdae": {"factors": 3, "epochs": 2},
    "exmf": {"factors": 3, "epochs": 2},
    "fawmf": {"factors": 3, "communities": 2, "epochs": 2},
}


def test_every_builtin_has_fast_settings():
    assert set(FAST) == set(BUILTIN_MODELS)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("method", list(FAST))
def test_builtin_contract(method, check):
    check(model_class(method), FAST[method])


def test_tiny_matrix_has_one_empty_user_and_no_empty_item():
    x = tiny_matrix()
    assert (x.getnnz(axis=1) == 0).sum() == 1 and x.getnnz(axis=0).min() > 0


def test_bad_params_check_catches_a_model_that_ignores_its_constraints():
    wmf = model_class("wmf")

    class Lax(wmf):
        _parameter_constraints = {}

        def _validate_params(self):  # accepts anything
            pass

    with pytest.raises(AssertionError, match="accepted"):
        check_bad_params_rejected(Lax, FAST["wmf"], {"factors": -1})


@pytest.mark.parametrize("method", list(FAST))
def test_yaml_settings_pass_the_constraints(method):
    """The packaged hyperparameters (fixed values and every grid point) satisfy the declared
    constraints, so moving the checks onto the classes rejects nothing that used to run."""
    from fawmf_bench.experiments.config import load_config

    config = load_config()
    for dataset in ["synthetic", "ml-1m", "ml-100k", "amazon-grocery-5core", "douban-monti"]:
        for point in config.method(method, dataset).grid_points(tune=True):
            model_class(method)(**point)._validate_params()
