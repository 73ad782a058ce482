"""K-fold cross-validation on fixed folds: out-of-fold and fold-averaged test predictions.

Pure computation (no files): the train and tune stages call :func:`cross_validate`.

The fold a model is scored on is never shown to it. Estimators that use a validation set
(``uses_validation``: the networks, for early stopping, best-epoch weights and the plateau
schedule) get an inner validation split of the *training* folds instead
(:func:`inner_split`), so their out-of-fold scores are as honest as the trees'.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedShuffleSplit

from chemchallenge.metrics import per_target, score
from chemchallenge.models.base import Estimator, ModelInput, build_model, uses_validation
from chemchallenge.tasks import TaskSpec, TaskType

#: share of a fold's training rows held out when a model does not say (``val_fraction``)
DEFAULT_VAL_FRACTION = 0.1


@dataclass
class CVResult:
    oof: np.ndarray  # (n_train, n_outputs); NaN rows for folds not run
    test: np.ndarray | None  # (n_test, n_outputs), mean over folds
    fold_scores: list[float] = field(default_factory=list)
    train_scores: list[float] = field(default_factory=list)
    fold_per_target: list[dict[str, float]] = field(default_factory=list)
    estimators: list[Estimator] = field(default_factory=list)
    seconds: float = 0.0


def inner_split(
    y: np.ndarray, task: TaskSpec, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into the rows of ``y``, each sorted) of an inner train and validation part.

    ``round(fraction * n)`` of the ``n`` labelled rows (at least 1, at most n - 1) go to
    validation, stratified on the label for single-target binary/multi-class tasks when
    the classes allow it, at random otherwise; rows without any label always train.
    Fewer than two labelled rows: everything trains and the validation part is empty.
    """
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    labelled = np.flatnonzero(~np.isnan(y).all(axis=1))
    if len(labelled) < 2:
        return np.arange(len(y)), np.zeros(0, dtype=np.intp)
    n_val = min(max(1, round(fraction * len(labelled))), len(labelled) - 1)
    val = None
    if task.task_type in (TaskType.BINARY, TaskType.MULTICLASS) and y.shape[1] == 1:
        labels = y[labelled, 0].astype(int)
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
        try:  # ValueError: a class with one row, or fewer validation rows than classes
            _, val = next(splitter.split(np.zeros((len(labels), 1)), labels))
        except ValueError:
            val = None
    if val is None:
        val = np.random.default_rng(seed).choice(len(labelled), size=n_val, replace=False)
    is_val = np.zeros(len(y), dtype=bool)
    is_val[labelled[val]] = True
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def cross_validate(
    kind: str,
    task: TaskSpec,
    params: dict[str, Any],
    seed: int,
    X: ModelInput,
    y: np.ndarray,
    folds: np.ndarray,
    X_test: ModelInput | None = None,
    log_dir: Path | None = None,
    fold_callback: Callable[[int, float], None] | None = None,
    only_folds: list[int] | None = None,
    train_scores: bool = True,
    keep_estimators: bool = False,
) -> CVResult:
    """Fit one model per fold on the other folds; score it on its own fold.

    A model that ``uses_validation`` trains on the other folds less an inner validation
    part (its ``val_fraction`` of them, split with seed ``seed + k``) and early-stops on
    that part; the others train on all of the other folds. ``fold_callback(k, score)``
    runs after each fold (Optuna pruning raises from it).
    """
    t0 = time.time()
    fold_ids = sorted(set(folds.tolist())) if only_folds is None else only_folds
    oof = np.full((len(X), task.n_outputs), np.nan)
    test_sum = None if X_test is None else np.zeros((len(X_test), task.n_outputs))
    result = CVResult(oof=oof, test=None)
    for k in fold_ids:
        tr, va = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        model = build_model(kind, task, params, seed + k)
        fold_dir = None if log_dir is None else Path(log_dir) / f"fold_{k}"
        if uses_validation(model):
            fraction = float(getattr(model, "val_fraction", DEFAULT_VAL_FRACTION))
            fit_pos, val_pos = inner_split(y[tr], task, fraction, seed + k)
            fit_rows, val_rows = tr[fit_pos], tr[val_pos]
            model.fit(
                X.subset(fit_rows),
                y[fit_rows],
                X.subset(val_rows),
                y[val_rows],
                log_dir=fold_dir,
            )
        else:
            model.fit(X.subset(tr), y[tr], log_dir=fold_dir)
        oof[va] = model.predict(X.subset(va))
        s = score(task.metric, y[va], oof[va], task)
        result.fold_scores.append(s)
        result.fold_per_target.append(per_target(task.metric, y[va], oof[va], task))
        if train_scores:
            result.train_scores.append(score(task.metric, y[tr], model.predict(X.subset(tr)), task))
        if test_sum is not None and X_test is not None and len(X_test):
            test_sum += model.predict(X_test)
        if keep_estimators:
            result.estimators.append(model)
        if fold_callback is not None:
            fold_callback(k, s)
    if test_sum is not None:
        result.test = test_sum / len(fold_ids)
    result.seconds = time.time() - t0
    return result
