"""The predictor reproduces the pipeline's test predictions and scores new molecules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemchallenge.config import Config, config_from_dict
from chemchallenge.errors import MissingInputError
from chemchallenge.paths import Paths
from chemchallenge.predictor import load_predictor, predict_file
from chemchallenge.stages import ensemble, featurize, prepare, train
from conftest import make_tables, tiny_params, write_tables


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Paths, pd.DataFrame]:
    """Prepared regression data, morgan features, two trained models and an ensemble."""
    root = tmp_path_factory.mktemp("predictor")
    tables = make_tables("regression")
    write_tables(root / "challenge", tables)
    params = tiny_params(root / "challenge")
    params["train"]["models"] = ["baseline", "knn"]
    params["ensemble"]["method"] = "weights"
    cfg = config_from_dict(params)
    paths = Paths(root)
    prepare.run(cfg, paths)
    featurize.run(cfg, paths, "morgan")
    for m in ("baseline", "knn"):
        train.run(cfg, paths, m)
    ensemble.run(cfg, paths)
    return cfg, paths, tables.x_test


@pytest.mark.parametrize("model", ["baseline", "knn", "ensemble"])
def test_reproduces_test_predictions(project: tuple, model: str) -> None:
    cfg, paths, x_test = project
    pred = load_predictor(paths, cfg, model).predict(x_test["SMILES"].tolist())
    expected = pd.read_parquet(paths.test_pred(model))
    assert list(expected["id"]) == list(x_test["ID"])
    assert np.allclose(pred["logS"], expected["logS"], atol=1e-5)
    assert pred["valid"].all() and (pred["logS_std"] >= 0).all()
    assert list(pred.columns) == [
        "smiles",
        "standardized",
        "valid",
        "logS",
        "logS_std",
        "max_tanimoto",
        "in_domain",
    ]


def test_invalid_and_in_domain(project: tuple) -> None:
    cfg, paths, _ = project
    known = pd.read_parquet(paths.train)["smiles"].iloc[0]
    pred = load_predictor(paths, cfg, "ensemble").predict([known, "C1CC(", "", "[Xe]"])
    assert pred["valid"].tolist() == [True, False, False, True]
    assert pred.loc[0, "max_tanimoto"] == pytest.approx(1.0) and pred.loc[0, "in_domain"]
    assert pred.loc[1:2, "logS"].isna().all() and not pred.loc[1:2, "in_domain"].any()
    assert not pred.loc[3, "in_domain"] and np.isfinite(pred.loc[3, "logS"])


def test_default_model_is_submit_model(project: tuple) -> None:
    cfg, paths, _ = project
    assert load_predictor(paths, cfg).name == cfg.submit.model


def test_untrained_model_raises(project: tuple) -> None:
    cfg, paths, _ = project
    with pytest.raises(MissingInputError, match="train-xgb"):
        load_predictor(paths, cfg, "xgb")
    with pytest.raises(MissingInputError):
        load_predictor(Paths(paths.root / "nowhere"), cfg, "baseline")


def test_predict_file_never_overwrites(project: tuple, tmp_path: Path) -> None:
    cfg, paths, x_test = project
    src = tmp_path / "molecules.csv"
    pd.DataFrame({"name": ["a", "b"], "smi": x_test["SMILES"].head(2)}).to_csv(src, index=False)
    first = predict_file(cfg, paths, src, None, "baseline")
    assert first == tmp_path / "molecules.predictions.csv"
    out = pd.read_csv(first)
    assert list(out.columns[:3]) == ["name", "smi", "standardized"] and len(out) == 2
    second = predict_file(cfg, paths, src, None, "baseline")
    assert second == tmp_path / "molecules.predictions.1.csv" and first.exists()


def test_spread_follows_ensemble_weights(project: tuple) -> None:
    """A member with weight 0 adds nothing to the mean nor to the spread."""
    cfg, paths, x_test = project
    smiles = x_test["SMILES"].tolist()[:5]
    ens = load_predictor(paths, cfg, "ensemble")
    first = ens.members[0].name
    ens.combiner.weights = np.array([1.0, 0.0])  # type: ignore[union-attr]
    got = ens.predict(smiles)
    single = load_predictor(paths, cfg, first).predict(smiles)
    assert np.allclose(got["logS"], single["logS"]) and np.allclose(
        got["logS_std"], single["logS_std"]
    )
