"""Stage `submit`: the submission CSV in the challenge's exact format, validated against
X_test, archived under ``submissions/history/`` and logged in ``submissions/registry.csv``.

An earlier submission is never overwritten or lost: ``submission.csv`` is a copy of the
newest archived file, and the history and the registry are not DVC outputs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from chemchallenge.config import Config
from chemchallenge.errors import ChemChallengeError, ConfigError, MissingInputError
from chemchallenge.inputs import load_task
from chemchallenge.io import read_json, read_parquet
from chemchallenge.metrics import to_labels
from chemchallenge.paths import Paths
from chemchallenge.registry import REGISTRY_COLUMNS, archive_submission
from chemchallenge.scores import read_scores
from chemchallenge.tasks import TaskSpec, TaskType

__all__ = ["REGISTRY_COLUMNS", "archive", "build_submission", "run", "validate_submission"]


def thresholds_for(cfg: Config, paths: Paths, model: str, task: TaskSpec) -> np.ndarray:
    """Per-target decision thresholds: from params.yaml, or tuned by the ensemble, or 0.5."""
    k = len(task.targets)
    thr = cfg.submit.thresholds
    if isinstance(thr, float | int):
        return np.full(k, float(thr))
    if isinstance(thr, dict):
        unknown = sorted(set(thr) - set(task.targets))
        if unknown:
            raise ConfigError(f"submit.thresholds: {unknown} are not targets {task.targets}")
        return np.array([float(thr.get(t, 0.5)) for t in task.targets])
    tuned = paths.thresholds(model)
    if tuned.exists():
        d = read_json(tuned)
        return np.array([float(d.get(t, 0.5)) for t in task.targets])
    return np.full(k, 0.5)


def build_submission(
    pred: pd.DataFrame, test: pd.DataFrame, task: TaskSpec, thresholds: np.ndarray
) -> pd.DataFrame:
    scores = pred[task.output_columns].to_numpy(dtype=float)
    if task.task_type == TaskType.REGRESSION:
        values: np.ndarray = scores
    else:
        values = to_labels(scores, task, thresholds)
    sub = pd.DataFrame({task.id_column: test["id"].to_numpy()})
    for j, t in enumerate(task.targets):
        col = values[:, j]
        if task.task_type == TaskType.MULTICLASS:
            sub[t] = [task.classes[int(c)] for c in col]
        elif task.is_classification:
            sub[t] = col.astype(int)
        else:
            sub[t] = col.astype(float)
    return sub


def validate_submission(sub: pd.DataFrame, test: pd.DataFrame, task: TaskSpec) -> None:
    """The checks the challenge site makes, before anything is written."""
    expected = [task.id_column, *task.targets]
    if list(sub.columns) != expected:
        raise ChemChallengeError(f"submission columns {list(sub.columns)} != {expected}")
    if list(sub[task.id_column]) != list(test["id"]):
        raise ChemChallengeError("submission IDs differ from X_test's IDs or their order")
    if sub[task.targets].isna().any().any():
        rows = sub.loc[sub[task.targets].isna().any(axis=1), task.id_column].tolist()
        raise ChemChallengeError(f"submission has missing predictions for IDs {rows[:10]}")
    if task.task_type in (TaskType.BINARY, TaskType.MULTILABEL):
        bad = ~sub[task.targets].isin([0, 1]).all(axis=1)
        if bad.any():
            raise ChemChallengeError("submission has labels outside {0, 1}")


def _cv(paths: Paths, model: str) -> tuple[str, float, float]:
    m = read_scores(paths, model)
    if m is None:
        return "", float("nan"), float("nan")
    return m.get("metric", ""), float(m.get("cv_mean", np.nan)), float(m.get("cv_std", np.nan))


def archive(paths: Paths, sub: pd.DataFrame, model: str) -> Path:
    """Write the submission into history (unless identical to an archived one) and return it."""
    metric, mean, std = _cv(paths, model)
    return archive_submission(paths, sub, model, metric, mean, std)


def run(cfg: Config, paths: Paths) -> None:
    model = cfg.submit.model
    task = load_task(paths)
    test = read_parquet(paths.test)
    if not paths.test_pred(model).exists():
        raise MissingInputError(
            f"{paths.test_pred(model)} not found: run train-{model} (or the ensemble stage) first"
        )
    pred = read_parquet(paths.test_pred(model))
    if list(pred["id"]) != list(test["id"]):
        raise ChemChallengeError(f"{paths.test_pred(model)}: IDs differ from the prepared test set")
    sub = build_submission(pred, test, task, thresholds_for(cfg, paths, model, task))
    validate_submission(sub, test, task)
    archived = archive(paths, sub, model)
    out = paths.submissions / "submission.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(archived, out)
    n_fallback = int((~test["valid"]).sum())
    print(
        f"submit: {out} ({len(sub)} rows, model {model}; archived as {archived.name})"
        + (f"; {n_fallback} invalid test SMILES got the fallback prediction" if n_fallback else "")
    )
