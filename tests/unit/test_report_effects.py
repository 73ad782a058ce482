"""Signed effects of an XGBoost model: exact TreeSHAP, each fold model on its own fold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import xgboost as xgb

from chemchallenge.features.store import load_features
from chemchallenge.models.base import ModelInput
from chemchallenge.models.tabular import PerTargetModel
from chemchallenge.paths import Paths
from chemchallenge.report.context import ModelRun, load_context
from chemchallenge.report.effects import direction, effect_sentences, summarise, tree_contributions
from support.synthetic import make_project


def test_tree_contributions_are_out_of_fold_and_add_up(tmp_path: Path) -> None:
    cfg = make_project(tmp_path, "regression", n=40, report={"tsne": False})
    paths = Paths(tmp_path)
    ctx = load_context(cfg, paths)
    assert ctx.task is not None
    X = load_features(paths, ["morgan"]).train
    y, folds = ctx.y(), ctx.fold_of_train()
    assert folds is not None
    ests = []
    for k in range(3):
        tr = folds != k
        model = PerTargetModel(ctx.task, xgb.XGBRegressor(n_estimators=15, max_depth=3))
        ests.append(model.fit(ModelInput([""] * int(tr.sum()), X[tr]), y[tr]))
    torch.save(ests, tmp_path / "xgb.pt")
    run = ModelRun(
        "xgb", {}, kind="xgboost", features=["morgan"], estimators_path=tmp_path / "xgb.pt"
    )
    c = tree_contributions(ctx, run)
    assert c is not None and set(c) == {"logS", "logS:values"}
    # every molecule is explained by the model that did not see it: contributions + bias
    # equal that fold model's prediction
    effects = c["logS"].to_numpy()
    for k, est in enumerate(ests):
        rows = folds == k
        booster = est.models[0].get_booster()
        full = booster.predict(xgb.DMatrix(X[rows]), pred_contribs=True)
        np.testing.assert_allclose(effects[rows], full[:, :-1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            full.sum(axis=1), est.models[0].predict(X[rows]), rtol=1e-4, atol=1e-4
        )
    said = effect_sentences("xgb", summarise(c), classification=False)
    assert said and said[0].startswith("xgb, logS: ")
    assert "P(" not in said[0] and ("predicted logS" in said[0] or "mixed" in said[0])
    assert direction(np.arange(5.0), np.arange(5.0) * 2) > 0.99
    assert direction(np.arange(5.0), -np.arange(5.0)) < -0.99
    assert np.isnan(direction(np.ones(5), np.arange(5.0)))
