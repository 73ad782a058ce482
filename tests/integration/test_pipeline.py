"""The whole pipeline on tiny data for each task type:
prepare -> featurize -> train (baseline, xgboost, knn; 3 folds) -> submit."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemchallenge.config import Config
from chemchallenge.features.store import load_features
from chemchallenge.paths import Paths
from chemchallenge.stages import featurize, prepare, submit, train
from chemchallenge.tasks import TaskSpec, TaskType

MODELS = ["baseline", "xgb", "knn"]
INVALID_TEST_ROW = 2  # its SMILES is replaced by one RDKit rejects


def run_pipeline(cfg: Config, paths: Paths) -> None:
    prepare.run(cfg, paths)
    needed = {f for model in cfg.train.models for f in cfg.model(model).features}
    for name in sorted(needed):
        featurize.run(cfg, paths, name)
    for name in cfg.train.models:
        train.run(cfg, paths, name)
    submit.run(cfg, paths)


@pytest.mark.parametrize("task_name", ["regression", "binary", "multilabel", "multiclass"])
def test_pipeline(
    task_name: str,
    tables_factory: Callable,
    write_challenge: Callable,
    cfg_factory: Callable[..., Config],
    paths: Paths,
) -> None:
    tables = tables_factory(task_name)
    tables.x_test.loc[INVALID_TEST_ROW, "SMILES"] = "c1cccc1"
    write_challenge(tables)
    cfg = cfg_factory(
        extra={
            "models": {"xgb": {"features": ["morgan", "rdkit2d"]}},
            "submit": {"model": "xgb"},
        }
    )
    run_pipeline(cfg, paths)

    # prepare
    task = TaskSpec.from_dict(json.loads(paths.task.read_text()))
    assert task.task_type == TaskType(task_name)
    train_df = pd.read_parquet(paths.train)
    test_df = pd.read_parquet(paths.test)
    folds = pd.read_parquet(paths.folds)
    assert len(train_df) == 45 and list(folds["id"]) == list(train_df["id"])
    assert sorted(set(folds["fold"])) == [0, 1, 2]
    assert list(test_df["id"]) == list(tables.x_test["ID"])
    invalid_id = tables.x_test.loc[INVALID_TEST_ROW, "ID"]
    assert list(test_df.loc[~test_df["valid"], "id"]) == [invalid_id]
    report = json.loads(paths.prepare_report.read_text())
    assert report["counts"]["invalid_test"] == 1 and report["fold_sizes"] == [15, 15, 15]

    # featurize
    for name in ("morgan", "rdkit2d"):
        feats = pd.read_parquet(paths.features(name))
        assert list(feats.columns[:2]) == ["split", "id"]
        assert list(feats["split"]) == ["train"] * 45 + ["test"] * 15
        assert list(feats["id"]) == list(train_df["id"]) + list(test_df["id"])
    morgan = pd.read_parquet(paths.features("morgan"))
    assert morgan.shape[1] == 2 + 256
    assert morgan[morgan["id"] == invalid_id].iloc[:, 2:].isna().all(axis=None)
    fs = load_features(paths, ["morgan", "rdkit2d"])
    assert fs.train.shape[0] == 45 and fs.test.shape[0] == 15
    assert not np.isnan(fs.train).any() and not np.isnan(fs.test).any()

    # train
    y = train_df[task.targets].to_numpy(dtype=float)
    for name in MODELS:
        oof = pd.read_parquet(paths.oof(name))
        assert list(oof.columns) == ["id", "fold", *task.output_columns]
        assert list(oof["id"]) == list(train_df["id"])
        assert list(oof["fold"]) == list(folds["fold"])
        pred = pd.read_parquet(paths.test_pred(name))
        assert list(pred.columns) == ["id", *task.output_columns]
        assert list(pred["id"]) == list(test_df["id"])
        for frame in (oof, pred):
            values = frame[task.output_columns].to_numpy(dtype=float)
            assert np.isfinite(values).all()
            if task.is_classification:
                assert ((values >= 0) & (values <= 1)).all()
            if task.task_type == TaskType.MULTICLASS:
                np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=1e-6)
        # the invalid test molecule gets the training prior
        fallback = pred.set_index("id").loc[invalid_id, task.output_columns].to_numpy(float)
        np.testing.assert_allclose(fallback, train.prior(y, task))
        assert paths.estimators(name).exists()
        assert (paths.curves(name) / "cv_scores.csv").exists()
        metrics = json.loads(paths.scores(name).read_text())
        assert metrics["model"] == name and metrics["metric"] == task.metric
        assert len(metrics["folds"]) == 3
        assert np.isfinite([metrics["cv_mean"], metrics["oof"], metrics["train_mean"]]).all()
        assert set(metrics["per_target"]) == set(task.targets)
        summary = json.loads(paths.metrics(name).read_text())  # what `dvc metrics show` lists
        assert summary["cv_mean"] == round(metrics["cv_mean"], 5)
        assert all(isinstance(v, float) for v in summary.values()), summary

    # submit
    sub_path = paths.submissions / "submission.csv"
    lines = sub_path.read_text().splitlines()
    assert lines[0] == ",".join(["ID", *task.targets])
    sub = pd.read_csv(sub_path, dtype=str, keep_default_na=False)
    assert list(sub["ID"]) == list(tables.x_test["ID"])
    assert (sub[task.targets] != "").all(axis=None)
    if task.task_type == TaskType.REGRESSION:
        values = sub[task.targets].astype(float)
        row = values[sub["ID"] == invalid_id].to_numpy()[0]
        np.testing.assert_allclose(row, np.nanmean(y, axis=0), rtol=1e-6)
    elif task.task_type == TaskType.MULTICLASS:
        assert set(sub[task.targets[0]]) <= set(task.classes)
    else:
        assert set(np.unique(sub[task.targets].to_numpy())) <= {"0", "1"}
        row = sub.loc[sub["ID"] == invalid_id, task.targets].astype(int).to_numpy()[0]
        np.testing.assert_array_equal(row, (np.nanmean(y, axis=0) >= 0.5).astype(int))
    assert len(list((paths.submissions / "history").iterdir())) == 1
    assert len(pd.read_csv(paths.submissions / "registry.csv")) == 1


def test_pipeline_is_deterministic(
    write_challenge: Callable, cfg_factory: Callable[..., Config], tmp_path: Path
) -> None:
    write_challenge("binary")
    cfg = cfg_factory()  # its models use morgan only
    outputs = []
    for run in ("a", "b"):
        paths = Paths(tmp_path / run)
        run_pipeline(cfg, paths)
        outputs.append(
            (
                pd.read_parquet(paths.folds),
                pd.read_parquet(paths.oof("xgb")),
                (paths.submissions / "submission.csv").read_text(),
            )
        )
    pd.testing.assert_frame_equal(outputs[0][0], outputs[1][0])
    pd.testing.assert_frame_equal(outputs[0][1], outputs[1][1])
    assert outputs[0][2] == outputs[1][2]
