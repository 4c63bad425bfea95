"""The exposure-recovery experiment: its AUC, its pair sample, EXMF's posterior and a tiny run."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from fawmf_bench.data.synthetic import generate
from fawmf_bench.experiments.figure_experiments import exposure_recovery as er
from fawmf_bench.models import make_model

TINY = (60, 50, 3, 4)


def test_auc_matches_the_pair_count_definition():
    rng = np.random.default_rng(0)
    score, label = rng.integers(0, 5, 200).astype(float), rng.random(200) < 0.3
    pos, neg = score[label], score[~label]
    expected = np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))
    assert er.auc(score, label) == pytest.approx(expected)
    assert np.isnan(er.auc(score, np.zeros(200, bool)))


def test_sampled_pairs_are_distinct_and_unconsumed():
    data, _ = generate(seed=1, shape=(*TINY, 0.2))
    users, items = er.sample_unobserved(data.matrix, 300, np.random.default_rng(0))
    assert users.size == 300
    assert np.all(np.asarray(data.matrix[users, items]).ravel() == 0)
    assert len(set(zip(users.tolist(), items.tolist()))) == 300


def test_custom_shape_and_the_true_unconsumed_exposure():
    data, truth = generate(seed=2, shape=(*TINY, 0.1))
    assert data.name == "synthetic-custom" and data.matrix.shape == TINY[:2]
    assert 0.05 < data.matrix.nnz / np.prod(TINY[:2]) < 0.2
    users = np.arange(5)
    gamma, rho = truth.exposure_probability(users), truth.preference_probability(users)
    posterior = truth.unobserved_exposure_probability(users)
    # Bayes: P(a=1 | x=0) = P(x=0 | a=1) P(a=1) / P(x=0)
    np.testing.assert_allclose(posterior, (1 - rho) * gamma / ((1 - rho) * gamma + (1 - gamma)))
    with pytest.raises(ValueError, match="density"):
        generate(shape=(*TINY, 1.5))


def test_exmf_exposure_is_its_posterior_for_unconsumed_pairs():
    data, _ = generate(seed=3, shape=(*TINY, 0.1))
    model = make_model("exmf", factors=4, epochs=3).fit(sp.csr_matrix(data.matrix))
    pred = model.user_factors_ @ model.item_factors_.T
    mu, lam = model.exposure_prior_, model.lambda_y
    like = np.sqrt(lam / (2 * np.pi)) * np.exp(-lam * pred**2 / 2)
    np.testing.assert_allclose(model.exposure(np.arange(TINY[0])), mu * like / (mu * like + 1 - mu))


def test_a_tiny_run_stores_pieces_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setitem(er.MODEL_PARAMS, "fawmf", {"factors": 4, "communities": 3, "epochs": 5})
    monkeypatch.setitem(er.MODEL_PARAMS, "fawmf-projected",
                        {"factors": 4, "communities": 3, "epochs": 5, "weight_floor": "projected"})
    monkeypatch.setitem(er.MODEL_PARAMS, "exmf", {"factors": 4, "epochs": 3})
    seen = []
    frame = er.run_exposure_recovery(tmp_path, densities=(0.2, 0.1), seeds=(0,), shape=TINY, pairs=400,
                                     progress=seen.append)
    assert len(seen) == 2 and len(frame) == 2 * len(er.MODELS)
    assert set(frame["model"]) == set(er.MODELS)
    assert frame["auc"].between(0, 1).all() and frame["spearman"].between(-1, 1).all()
    again = er.run_exposure_recovery(tmp_path, densities=(0.2, 0.1), seeds=(0,), shape=TINY, pairs=400,
                                     progress=seen.append)
    assert len(seen) == 2 and again.equals(frame)
    with pytest.raises(ValueError, match="densities"):
        er.run_exposure_recovery(tmp_path, densities=(0.0,))


def test_exposure_diagnosis_measures_both_floor_rules(tmp_path):
    import json

    from fawmf_bench.experiments.figure_experiments.exposure_diagnosis import run_exposure_diagnosis

    folder = tmp_path / "store" / "synthetic" / "cv" / "fawmf"
    folder.mkdir(parents=True)
    chosen = {"factors": 4, "communities": 3, "epochs": 12, "eta": 1.0, "exposure_weight_reg": 5.0,
              "scoring": "exposure"}
    (folder / "selection.json").write_text(json.dumps({"chosen": chosen}))
    piece = run_exposure_diagnosis(tmp_path / "store", "synthetic", every=5, data_home=tmp_path / "home")
    for rule in ("on_read", "projected"):
        trace = piece["traces"][rule]
        assert [row["epoch"] for row in trace] == [5, 10, 12]
        assert all(0.0 <= row["floor_share"] <= 1.0 and 0.0 <= row["personal_share"] <= 1.0 for row in trace)
    assert piece["traces"]["on_read"][-1]["floor_share"] > 0.5      # the strong L2 on w pins it
    assert "of items" in piece["summary"] and set(piece["test_pre@5"]) == {"on_read", "projected"}
    other = run_exposure_diagnosis(tmp_path / "store", "synthetic", every=5, data_home=tmp_path / "home", eta=0.5)
    assert "eta 0.5" in other["summary"]
    assert (tmp_path / "store" / "synthetic" / "diagnosis" / "fawmf-eta0.5.json").is_file()
    again = run_exposure_diagnosis(tmp_path / "store", "synthetic", every=5, data_home=tmp_path / "home")
    assert again["key"] == piece["key"]
