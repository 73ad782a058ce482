"""Stage `submit`: the submission CSV in the challenge's exact format, validated against
X_test, archived under ``submissions/history/`` and logged in ``submissions/registry.csv``.

An earlier submission is never overwritten or lost: ``submission.csv`` is a copy of the
newest archived file, and the history and the registry are not DVC outputs.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from chemchallenge.config import Config
from chemchallenge.errors import ChemChallengeError, ConfigError, MissingInputError
from chemchallenge.inputs import load_task
from chemchallenge.io import atomic_write, read_json, read_parquet
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
        values = [d.get(t, 0.5) if isinstance(d, dict) else None for t in task.targets]
        bad = [
            v
            for v in values
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1
        ]
        if bad:
            raise ChemChallengeError(
                f"{tuned}: thresholds {bad[:3]} are not numbers in (0, 1): rerun the ensemble "
                "stage (dvc repro ensemble)"
            )
        return np.array([float(v) for v in values if v is not None])
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


def _refuse(problem: str) -> ChemChallengeError:
    return ChemChallengeError(
        f"submission check failed: {problem}; nothing was written (a bug upstream: please "
        "report it with data/prepared/task.json)"
    )


def validate_submission(sub: pd.DataFrame, test: pd.DataFrame, task: TaskSpec) -> None:
    """The checks the challenge site makes, and more, before anything is written: the
    columns are exactly the ID column and the targets, the IDs are X_test's IDs exactly as
    spelled and in the same order, and every value is in the task's domain (0/1 for
    binary and multi-label, a training class for multi-class, a finite number for
    regression). A submission that fails is never written."""
    expected = [task.id_column, *task.targets]
    if list(sub.columns) != expected:
        raise _refuse(f"columns {list(sub.columns)} are not {expected}")
    if len(sub) != len(test):
        raise _refuse(f"IDs differ from X_test's IDs: {len(sub)} rows for {len(test)}")
    ids = [str(i) for i in sub[task.id_column]]
    if ids != [str(i) for i in test["id"]]:
        raise _refuse("IDs differ from X_test's IDs or their order")
    if sub[task.targets].isna().any().any():
        rows = sub.loc[sub[task.targets].isna().any(axis=1), task.id_column].tolist()
        raise _refuse(f"missing predictions for IDs {rows[:10]}")
    for t in task.targets:
        col = sub[t]
        if task.task_type in (TaskType.BINARY, TaskType.MULTILABEL):
            ok = pd.api.types.is_integer_dtype(col) and bool(col.isin([0, 1]).all())
            domain = "the labels 0/1 (labels outside {0, 1})"
        elif task.task_type == TaskType.MULTICLASS:
            ok = bool(col.astype(str).isin(task.classes).all())
            domain = f"the classes {task.classes}"
        else:
            values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            ok = pd.api.types.is_numeric_dtype(col) and bool(np.isfinite(values).all())
            domain = "finite numbers"
        if not ok:
            raise _refuse(f"column {t!r} holds values other than {domain}")
    _check_round_trip(sub, expected, ids)


def _check_round_trip(sub: pd.DataFrame, header: list[str], ids: list[str]) -> None:
    """The CSV text, parsed back, has the same header and IDs (quoting, odd characters)."""
    rows = list(csv.reader(io.StringIO(sub.to_csv(index=False), newline="")))
    if rows[0] != header or [r[0] for r in rows[1:]] != ids:
        raise _refuse("the CSV text does not read back as the same header and IDs")


def _check_predictions(pred: pd.DataFrame, task: TaskSpec, path: Path, model: str) -> None:
    """Every output column is there and finite (a NaN would become a wrong label)."""
    missing = [c for c in task.output_columns if c not in pred.columns]
    if missing:
        raise ChemChallengeError(f"{path}: columns {missing} missing: rerun train-{model}")
    values = pred[task.output_columns].to_numpy(dtype=float)
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise ChemChallengeError(
            f"{path}: missing predictions (non-finite) for IDs "
            f"{pred.loc[bad, 'id'].tolist()[:10]}: "
            f"rerun train-{model} (or the ensemble stage)"
        )


def _cv(paths: Paths, model: str) -> tuple[str, float, float]:
    m = read_scores(paths, model)
    if m is None:
        return "", float("nan"), float("nan")

    def num(key: str) -> float:
        v = m.get(key)
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else np.nan

    return str(m.get("metric") or ""), num("cv_mean"), num("cv_std")


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
    _check_predictions(pred, task, paths.test_pred(model), model)
    sub = build_submission(pred, test, task, thresholds_for(cfg, paths, model, task))
    validate_submission(sub, test, task)
    archived = archive(paths, sub, model)
    out = paths.submissions / "submission.csv"
    atomic_write(out, lambda p: shutil.copyfile(archived, p))
    n_fallback = int((~test["valid"]).sum())
    print(
        f"submit: {out} ({len(sub)} rows, model {model}; archived as {archived.name})"
        + (f"; {n_fallback} invalid test SMILES got the fallback prediction" if n_fallback else "")
    )
