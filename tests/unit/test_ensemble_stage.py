"""The ensemble stage end to end on synthetic member predictions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemchallenge.errors import MissingInputError
from chemchallenge.io import write_json, write_parquet
from chemchallenge.paths import Paths
from chemchallenge.stages import ensemble
from chemchallenge.tasks import TaskSpec, TaskType
from support.params import config_with

N, N_TEST = 120, 30
MODELS = ["m1", "m2", "m3"]


def _cfg(method: str = "weights", models: object = "all", **ens: object):
    return config_with(
        {
            "models": {m: {"kind": "linear"} for m in MODELS},
            "train": {"models": MODELS},
            "submit": {"model": "ensemble"},
            "ensemble": {"method": method, "models": models, **ens},
        },
        replace=["models"],
    )


def make_project(root: Path, task: TaskSpec, holdout: bool = False, seed: int = 0) -> Paths:
    """Labels, folds and three members of decreasing quality (m3 is noise)."""
    rng = np.random.default_rng(seed)
    paths = Paths(root)
    n_all = N + N_TEST
    if task.task_type == TaskType.REGRESSION:
        y_all = rng.normal(size=(n_all, 1))
        truth = y_all
    elif task.task_type == TaskType.MULTICLASS:
        y_all = rng.integers(0, len(task.classes), (n_all, 1)).astype(float)
        truth = np.eye(len(task.classes))[y_all[:, 0].astype(int)]
    else:
        y_all = (rng.random((n_all, len(task.targets))) < 0.25).astype(float)
        truth = y_all
    ids = [f"r{i}" for i in range(N)]
    test_ids = [f"t{i}" for i in range(N_TEST)]
    train = pd.DataFrame({"id": ids, "smiles": ["C"] * N, "valid": True})
    train[task.targets] = y_all[:N]
    write_parquet(paths.train, train)
    write_parquet(
        paths.test, pd.DataFrame({"id": test_ids, "smiles": ["C"] * N_TEST, "valid": True})
    )
    folds = np.arange(N) % 4
    write_parquet(paths.folds, pd.DataFrame({"id": ids, "fold": folds}))
    write_json(paths.task, task.to_dict())
    if holdout:
        write_parquet(
            paths.holdout_labels, pd.DataFrame({"id": test_ids, task.targets[0]: y_all[N:, 0]})
        )
    cols = task.output_columns
    for j, (m, noise) in enumerate(zip(MODELS, (0.3, 0.6, 5.0))):
        raw = truth + noise * rng.normal(size=truth.shape)
        if task.is_classification:  # under-confident probabilities: F1 gains from thresholds
            raw = 1 / (1 + np.exp(-(2 * raw - 1.6)))
            if task.task_type == TaskType.MULTICLASS:
                raw = raw / raw.sum(axis=1, keepdims=True)
        oof = pd.DataFrame(raw[:N], columns=cols)
        oof.insert(0, "fold", folds)
        oof.insert(0, "id", ids[::-1][::-1])
        write_parquet(paths.oof(m), oof.iloc[::-1])  # any row order: aligned by ID
        test = pd.DataFrame(raw[N:], columns=cols)
        test.insert(0, "id", test_ids)
        write_parquet(paths.test_pred(m), test)
        write_json(
            paths.scores(m), {"cv_mean": 1.0 + j if not task.is_classification else 0.9 - 0.1 * j}
        )
    return paths


def _read(paths: Paths) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    metrics = json.loads(paths.scores("ensemble").read_text())
    return (
        metrics,
        pd.read_parquet(paths.oof("ensemble")),
        pd.read_parquet(paths.test_pred("ensemble")),
    )


KEYS = {
    "metric",
    "greater_is_better",
    "cv_mean",
    "cv_std",
    "folds",
    "per_target",
    "oof",
    "nested_cv_at_0.5",
    "nested_cv_tuned_thresholds",
    "best_single_model",
    "best_single_nested_at_0.5",
    "best_single_nested_tuned",
    "weights",
    "method",
}


def test_regression_ensemble_with_holdout(tmp_path: Path) -> None:
    task = TaskSpec(TaskType.REGRESSION, ["y"], "rmse")
    paths = make_project(tmp_path, task, holdout=True)
    ensemble.run(_cfg("weights"), paths)
    m, oof, test = _read(paths)
    assert set(m) >= KEYS and "holdout" in m and m["metric"] == "rmse"
    assert m["best_single_model"] == "m1" and m["nested_cv_tuned_thresholds"] is None
    assert m["cv_mean"] == pytest.approx(m["nested_cv_at_0.5"]["mean"])
    assert m["cv_mean"] <= m["best_single_nested_at_0.5"]["mean"] + 0.02
    w = m["weights"]
    assert set(w) == set(MODELS) and all(v >= 0 for v in w.values())
    assert sum(w.values()) == pytest.approx(1.0) and w["m3"] < 0.05
    assert list(oof.columns) == ["id", "fold", "y"] and len(oof) == N and not oof["y"].isna().any()
    assert list(oof["id"]) == [f"r{i}" for i in range(N)]
    assert list(test.columns) == ["id", "y"] and len(test) == N_TEST
    assert json.loads((paths.model_dir("ensemble") / "thresholds.json").read_text()) == {}
    saved = json.loads((paths.model_dir("ensemble") / "weights.json").read_text())
    assert saved["models"] == MODELS and saved["combiner"]["type"] == "weights"


@pytest.mark.parametrize("method", ["weights", "stacking", "mean_topk", "label_stacking"])
def test_multilabel_f1_thresholds(tmp_path: Path, method: str) -> None:
    task = TaskSpec(TaskType.MULTILABEL, ["a", "b", "c"], "micro_f1")
    paths = make_project(tmp_path, task)
    ensemble.run(_cfg(method, top_k=2), paths)
    m, oof, test = _read(paths)
    assert set(m) >= KEYS and m["method"] == method
    tuned, at05 = m["nested_cv_tuned_thresholds"], m["nested_cv_at_0.5"]
    assert len(tuned["folds"]) == 4
    if method.endswith("stacking"):  # the stacker recalibrates: thresholds matter less
        assert tuned["mean"] > at05["mean"] - 0.03
    else:
        assert tuned["mean"] > at05["mean"]
    assert m["best_single_nested_tuned"]["mean"] > m["best_single_nested_at_0.5"]["mean"]
    assert m["cv_mean"] == pytest.approx(tuned["mean"])
    thr = json.loads((paths.model_dir("ensemble") / "thresholds.json").read_text())
    assert set(thr) == {"a", "b", "c"} and all(0.05 <= v <= 0.95 for v in thr.values())
    assert min(thr.values()) < 0.5
    assert oof.shape == (N, 5) and test.shape == (N_TEST, 4)
    assert ((test[["a", "b", "c"]] >= 0) & (test[["a", "b", "c"]] <= 1)).all().all()


def test_thresholds_off_gives_half(tmp_path: Path) -> None:
    task = TaskSpec(TaskType.BINARY, ["a"], "micro_f1")
    paths = make_project(tmp_path, task)
    ensemble.run(_cfg("weights", models=["m1", "m2"], tune_thresholds=False), paths)
    m, _, _ = _read(paths)
    assert m["members"] == ["m1", "m2"] and m["nested_cv_tuned_thresholds"] is None
    thr = json.loads((paths.model_dir("ensemble") / "thresholds.json").read_text())
    assert thr == {"a": 0.5}


def test_multiclass_stacking(tmp_path: Path) -> None:
    task = TaskSpec(TaskType.MULTICLASS, ["c"], "accuracy", classes=["x", "y", "z"])
    paths = make_project(tmp_path, task)
    ensemble.run(_cfg("stacking"), paths)
    m, oof, test = _read(paths)
    assert list(test.columns) == ["id", "c:x", "c:y", "c:z"]
    assert np.allclose(test[["c:x", "c:y", "c:z"]].sum(axis=1), 1.0)
    assert np.allclose(oof[["c:x", "c:y", "c:z"]].sum(axis=1), 1.0)
    assert m["cv_mean"] > 0.6 and set(m["weights"]) == {"c:x", "c:y", "c:z"}
    assert json.loads((paths.model_dir("ensemble") / "thresholds.json").read_text()) == {"c": 0.5}


def test_missing_members(tmp_path: Path) -> None:
    task = TaskSpec(TaskType.REGRESSION, ["y"], "rmse")
    paths = make_project(tmp_path, task)
    paths.oof("m2").unlink()
    with pytest.raises(MissingInputError, match="train-m2"):
        ensemble.run(_cfg(models=["m1", "m2"]), paths)
    # "all" = every model of train.models: one without predictions (a stale dvc.yaml that
    # did not train it) is an error naming it, not a smaller ensemble
    with pytest.raises(MissingInputError, match=r"m2.*dvc-yaml"):
        ensemble.run(_cfg(models="all"), paths)
