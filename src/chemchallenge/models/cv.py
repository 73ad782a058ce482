"""K-fold cross-validation on fixed folds: out-of-fold and fold-averaged test predictions.

Pure computation (no files): the train and tune stages call :func:`cross_validate`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chemchallenge.metrics import per_target, score
from chemchallenge.models.base import Estimator, ModelInput, build_model
from chemchallenge.tasks import TaskSpec


@dataclass
class CVResult:
    oof: np.ndarray  # (n_train, n_outputs); NaN rows for folds not run
    test: np.ndarray | None  # (n_test, n_outputs), mean over folds
    fold_scores: list[float] = field(default_factory=list)
    train_scores: list[float] = field(default_factory=list)
    fold_per_target: list[dict[str, float]] = field(default_factory=list)
    estimators: list[Estimator] = field(default_factory=list)
    seconds: float = 0.0


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

    ``fold_callback(k, score)`` runs after each fold (Optuna pruning raises from it).
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
        model.fit(X.subset(tr), y[tr], X.subset(va), y[va], log_dir=fold_dir)
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
