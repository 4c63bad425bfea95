"""The figure experiments (Figures 4-6) on the synthetic dataset with tiny settings."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fawmf_bench.cli import cli
from fawmf_bench.data import load_dataset
from fawmf_bench.experiments import runner
from fawmf_bench.experiments.config import ConvergenceConfig, load_config
from fawmf_bench.experiments.figure_experiments import (
    Learner,
    community_table,
    communities,
    convergence,
    learners_by_label,
    load_communities,
    load_convergence,
    load_k_sweep,
    run_communities,
    run_convergence,
    run_k_sweep,
)
from fawmf_bench.experiments.store import ResultStore
from fawmf_bench.data.synthetic import generate
from fawmf_bench.models import make_model

TINY = """
monitor: {metric: pre@5, every: 2, patience: 2}
methods:
  fawmf: {params: {factors: 4, communities: 3, epochs: 6}}
  eals: {params: {factors: 4, epochs: 4, missing_weight: 256}}
  wmf: {params: {factors: 4, epochs: 3}, monitor: {every: 1}}
experiments:
  convergence: {sgd_learning_rates: [0.05, 0.005]}
"""
LEARNERS = (Learner("fbgd"), Learner("bgd"), Learner("sgd", "uniform", 1))


@pytest.fixture
def tiny_config(tmp_path: Path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return load_config(path)


@pytest.fixture
def with_features(data_home: Path):
    """The synthetic data with fake ML-1M-like side information."""
    data = load_dataset("synthetic")
    rng = np.random.default_rng(7)
    users = pd.DataFrame({"gender": rng.choice(["F", "M"], data.n_users),
                          "age": rng.choice([1, 18, 25, 35, 45, 50, 56], data.n_users)})
    items = pd.DataFrame({"title": [f"Movie {i}" for i in range(data.n_items)], "genres": "Drama|Comedy"})
    return dataclasses.replace(data, user_features=users, item_features=items)


def _boom(*args, **kwargs):
    raise AssertionError("a stored piece was recomputed")


# ----------------------------------------------------------------------------- convergence
def test_convergence_curves_per_learner_and_resume(tmp_path, data_home, tiny_config, monkeypatch):
    store = tmp_path / "store"
    frame = run_convergence(store, "synthetic", epochs=4, every=2, learners=LEARNERS, config=tiny_config)
    assert set(frame["label"]) == {"fbgd", "bgd", "uniform-1x"}
    assert set(frame["scoring"]) == {"preference", "exposure"}
    for label, curve in frame.groupby("label"):
        assert sorted(set(curve["epoch"])) == [2, 4]  # never stopped early
        seconds = curve.drop_duplicates("epoch").sort_values("epoch")["seconds"].to_numpy()
        assert np.all(np.diff(seconds) > 0)
        assert curve["pre@5"].between(0, 1).all()
    record = json.loads((store / "synthetic" / "convergence" / "uniform-1x.json").read_text())
    assert record["params"]["learner"] == "sgd" and record["params"]["negative_ratio"] == 1
    assert len(record["trace"]) == 4 and "provenance" in record
    # the SGD step size was chosen on validation among the config's rates and drew the curve
    search = record["learning_rate_search"]
    assert set(search["scores"]) == {"0.05", "0.005"}
    assert search["chosen"] == max((0.05, 0.005), key=lambda rate: search["scores"][f"{rate:g}"])
    assert record["params"]["learning_rate"] == record["params"]["exposure_learning_rate"] == search["chosen"]
    fbgd = json.loads((store / "synthetic" / "convergence" / "fbgd.json").read_text())
    assert fbgd["learning_rate_search"] is None and fbgd["params"]["learning_rate"] == 0.1
    # same init and the same exact gradient: fBGD and the dense BGD trace the same curve
    by = frame.set_index(["label", "scoring", "epoch"])["pre@5"]
    np.testing.assert_allclose(by["fbgd"].sort_index(), by["bgd"].sort_index(), atol=0.02)

    original = convergence._fit_learner
    monkeypatch.setattr(convergence, "_fit_learner", _boom)
    again = run_convergence(store, "synthetic", epochs=4, every=2, learners=LEARNERS, config=tiny_config)
    pd.testing.assert_frame_equal(again, frame)
    with pytest.raises(AssertionError, match="recomputed"):  # other settings: a new piece
        run_convergence(store, "synthetic", epochs=4, every=1, learners=LEARNERS[:1], config=tiny_config)

    # a rate added to the config: only that rate's trial is fitted (plus the curve if it wins)
    calls = []
    monkeypatch.setattr(convergence, "_fit_learner", lambda *a: calls.append(a) or original(*a))
    wider = dataclasses.replace(tiny_config, convergence=ConvergenceConfig((0.05, 0.005, 0.5)))
    run_convergence(store, "synthetic", epochs=4, every=2, learners=LEARNERS[2:], config=wider)
    record = json.loads((store / "synthetic" / "convergence" / "uniform-1x.json").read_text())
    assert set(record["learning_rate_search"]["scores"]) == {"0.05", "0.005", "0.5"}
    assert len(calls) == (1 if record["learning_rate_search"]["chosen"] == search["chosen"] else 2)
    assert calls[0][0]["learning_rate"] == 0.5


def test_learners_by_label():
    assert [lr.label for lr in learners_by_label(["itempop-25x", "fbgd"])] == ["itempop-25x", "fbgd"]
    with pytest.raises(ValueError, match="unknown learner"):
        learners_by_label(["sgd"])


def test_load_convergence_empty(tmp_path):
    assert load_convergence(tmp_path, "synthetic").empty


# ----------------------------------------------------------------------------- k-sweep
def test_k_sweep_tunes_then_refits_and_stays_out_of_table3(tmp_path, data_home, tiny_config, monkeypatch):
    store = tmp_path / "store"
    frame = run_k_sweep(store, "synthetic", methods=("eals", "wmf"), k_values=(2, 6), n_folds=3, config=tiny_config)
    assert sorted(zip(frame["method"], frame["factors"])) == [("eals", 2), ("eals", 6), ("wmf", 2), ("wmf", 6)]
    assert (frame["fold"] == 0).all() and frame["pre@5"].between(0, 1).all()
    assert frame["validation_pre@5"].notna().all()
    sweep = ResultStore(store / "synthetic" / "k-sweep")
    tunes = {(r["unit"]["method"], r["unit"]["params"]["factors"]): r for r in sweep.records() if r["unit"]["stage"] == "tune"}
    for row in frame.itertuples():
        assert row.epochs == tunes[row.method, row.factors]["best_epoch"]
    assert list(ResultStore(store).records()) == []  # Table 3 never sees these fits
    assert (store / "synthetic" / "k-sweep" / "k_sweep.csv").exists()

    monkeypatch.setattr(runner, "execute_unit", _boom)
    pd.testing.assert_frame_equal(run_k_sweep(store, "synthetic", methods=("eals", "wmf"), k_values=(2, 6),
                                              n_folds=3, config=tiny_config), frame)
    pd.testing.assert_frame_equal(load_k_sweep(store, "synthetic"), frame)


def test_k_sweep_rejects_methods_without_factors(tmp_path, data_home):
    with pytest.raises(ValueError, match="factors"):
        run_k_sweep(tmp_path, "synthetic", methods=("itempop",))
    with pytest.raises(ValueError, match="positive integers"):
        run_k_sweep(tmp_path, "synthetic", k_values=(0,))


# ----------------------------------------------------------------------------- communities
def test_community_table_matches_hand_computation(with_features):
    data = with_features
    rng = np.random.default_rng(0)
    theta = rng.dirichlet(np.ones(3), data.n_users)
    q = rng.random((data.n_items, 3))
    summary, top = community_table(theta, q, data, top_n=4)
    np.testing.assert_allclose(summary["size"], theta.sum(axis=0))
    assert summary["argmax_members"].sum() == data.n_users
    women = (data.user_features["gender"] == "F").to_numpy()
    np.testing.assert_allclose(summary["female_share"], theta[women].sum(axis=0) / theta.sum(axis=0))
    ages = data.user_features["age"].to_numpy()
    for code in (1, 18, 25, 35, 45, 50, 56):  # age brackets are categories: shares, never a mean of codes
        np.testing.assert_allclose(summary[f"age_{code}"], theta[ages == code].sum(axis=0) / theta.sum(axis=0))
    np.testing.assert_allclose(summary[[c for c in summary if c.startswith("age_")]].sum(axis=1), 1.0)
    assert "mean_age_code" not in summary
    lift = q - q.mean(axis=1, keepdims=True)
    for d in range(3):
        rows = top[top["community"] == d]
        np.testing.assert_array_equal(rows["item"], np.argsort(-lift[:, d], kind="stable")[:4])
        assert rows["lift"].is_monotonic_decreasing
        assert summary.loc[d, "top_items"].split("; ")[0] == f"Movie {rows['item'].iloc[0]} (Drama|Comedy)"


def test_community_table_ranks_by_the_logit_lift_not_the_shared_bias(with_features):
    data = with_features
    rng = np.random.default_rng(1)
    theta = rng.dirichlet(np.ones(2), data.n_users)
    bias = np.zeros(data.n_items)
    bias[:5] = 50.0  # five items exposed everywhere: top by raw exposure in every community
    own = rng.normal(0.0, 3.0, (data.n_items, 2))
    logit = bias[:, None] + own
    q = (1.0 / (1.0 + np.exp(-logit))).astype(np.float32)  # many exact 1.0 ties in float32
    assert (q == 1.0).sum() > 4
    _, top = community_table(theta, q, data, top_n=3, exposure_logit=logit)
    lift = own - own.mean(axis=1, keepdims=True)  # the shared bias cancels
    for d in range(2):
        np.testing.assert_array_equal(top[top["community"] == d]["item"], np.argsort(-lift[:, d])[:3])
    assert set(top.loc[top["community"] == 0, "item"]) != set(top.loc[top["community"] == 1, "item"])


def test_fawmf_exposure_logits_are_the_logits_of_q():
    data, _ = generate("small")
    model = make_model("fawmf", epochs=5, factors=4, communities=3).fit(data.matrix)
    logits = model.item_community_exposure_logits()
    np.testing.assert_allclose(1.0 / (1.0 + np.exp(-logits)), model.item_community_exposure(), rtol=1e-5, atol=1e-6)


def test_community_table_without_side_information(data_home):
    data = load_dataset("synthetic")
    theta = np.eye(2)[np.arange(data.n_users) % 2]
    summary, top = community_table(theta, np.ones((data.n_items, 2)), data, top_n=2)
    assert summary["female_share"].isna().all() and summary["age_25"].isna().all()
    assert list(summary["argmax_members"]) == [(data.n_users + 1) // 2, data.n_users // 2]
    assert list(top["item"]) == [0, 1, 0, 1]  # ties: lower item index first
    with pytest.raises(ValueError, match="do not fit"):
        community_table(theta[:5], np.ones((data.n_items, 2)), data)


def test_run_communities_writes_tables_and_reuses_the_fit(tmp_path, with_features, tiny_config, monkeypatch):
    store = tmp_path / "store"
    summary = run_communities(store, with_features, epochs=3, config=tiny_config)
    assert len(summary) == 3 and summary["female_share"].between(0, 1).all()
    folder = store / "synthetic" / "communities"
    for name in ("fit.npz", "communities.json", "communities.csv", "communities_top_items.csv", "communities.md"):
        assert (folder / name).stat().st_size > 0
    stored, top = load_communities(store, "synthetic")
    np.testing.assert_allclose(stored["size"], summary["size"])
    assert len(top) == 3 * 5
    assert "age 25-34" in (folder / "communities.md").read_text()

    monkeypatch.setattr(communities, "make_model", _boom)
    run_communities(store, with_features, epochs=3, config=tiny_config, top_n=2)
    assert len(load_communities(store, "synthetic")[1]) == 3 * 2


def test_run_communities_takes_epochs_from_a_stored_tuning(tmp_path, with_features, tiny_config):
    store = tmp_path / "store"
    selection = store / "synthetic" / "paper" / "fawmf" / "selection.json"
    selection.parent.mkdir(parents=True)
    selection.write_text(json.dumps({"chosen": {"factors": 4, "communities": 2, "epochs": 2, "scoring": "exposure"}}))
    summary = run_communities(store, with_features, config=tiny_config)
    record = json.loads((store / "synthetic" / "communities" / "communities.json").read_text())
    assert record["epochs"] == 2 and record["params"]["communities"] == 2 == len(summary)
    assert record["params_source"] == str(selection)


# ----------------------------------------------------------------------------- CLI
def test_cli_runs_an_experiment_and_reports_usage_errors(tmp_path, data_home):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    base = ["run", "--dataset", "synthetic", "--config", str(config), "--out", str(tmp_path / "out"), "--quiet"]
    result = CliRunner().invoke(cli, [*base, "--experiment", "k-sweep", "--methods", "eals", "--k-values", "2",
                                      "--folds", "3"])
    assert result.exit_code == 0, result.output
    assert "stored under" in result.output
    assert (tmp_path / "out" / "store" / "synthetic" / "k-sweep" / "k_sweep.csv").exists()
    bad_k = CliRunner().invoke(cli, [*base, "--experiment", "k-sweep", "--k-values", "ten"])
    assert bad_k.exit_code == 2 and "--k-values" in bad_k.output
    bad_learner = CliRunner().invoke(cli, [*base, "--experiment", "convergence", "--methods", "adam"])
    assert bad_learner.exit_code == 2 and "unknown learner" in bad_learner.output


@pytest.mark.slow
@pytest.mark.realdata
def test_communities_on_ml1m_name_real_movies(tmp_path, data_home, tiny_config):
    import os

    from fawmf_bench.data import download

    mirror = os.environ.get("FAWMF_BENCH_MIRROR")
    if not mirror or not Path(mirror).is_dir():
        pytest.skip("FAWMF_BENCH_MIRROR is not set to the dataset mirror")
    download(["ml-1m"], source=Path(mirror), progress=False)
    summary = run_communities(tmp_path / "store", "ml-1m", epochs=3, config=tiny_config)
    assert len(summary) == 3
    assert summary["female_share"].between(0.05, 0.95).all()
    assert np.allclose(summary[[c for c in summary if c.startswith("age_")]].sum(axis=1), 1.0)
    assert summary["top_items"].str.contains(r"\(\d{4}\)").all()  # movie titles carry their year


def test_best_scoring_reads_a_validation_trace():
    from fawmf_bench.experiments.figure_experiments.convergence import best_scoring

    trace = [{"epoch": 1, "loss": 1.0}, {"epoch": 5, "preference/pre@5": 0.2, "exposure/pre@5": 0.1},
             {"epoch": 10, "preference/pre@5": 0.25, "exposure/pre@5": 0.3}]
    assert best_scoring(trace) == "exposure"
    assert best_scoring([{"epoch": 1, "loss": 1.0}]) is None


def test_k_sweep_keeps_the_latest_record_of_a_rerun_setting(tmp_path):
    import json

    from fawmf_bench.experiments.figure_experiments import load_k_sweep

    folder = tmp_path / "ml-1m" / "k-sweep" / "ml-1m" / "cv" / "fawmf"
    folder.mkdir(parents=True)
    for key, written, pre, floor in (("aaa", "2026-11-27T07:00:00+00:00", 0.40, None),
                                     ("bbb", "2026-12-02T03:00:00+00:00", 0.41, "on_read")):
        params = {"factors": 20, **({"weight_floor": floor} if floor else {})}
        record = {"unit": {"method": "fawmf", "params": params, "seed": 0, "fold": 0, "stage": "final",
                           "dataset": "ml-1m", "protocol": "cv"},
                  "key": key, "provenance": {"written": written}, "epochs": 100, "scoring": "exposure",
                  "fit_seconds": 1.0, "metrics": {"pre@5": pre}}
        (folder / f"final-fold0-{key}.json").write_text(json.dumps(record))
    frame = load_k_sweep(tmp_path, "ml-1m")
    assert len(frame) == 1 and frame["pre@5"].iloc[0] == 0.41
