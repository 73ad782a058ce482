"""Nested cross-validation of an ensembling procedure on out-of-fold predictions.

Member predictions are already out-of-fold, but fitting ensemble weights (or a stacker,
or thresholds) on all of them and scoring on the same rows is optimistic. For each outer
fold k, the whole procedure — fit the combiner, then tune thresholds on the combiner's
predictions — sees only the rows of the other folds; fold k is scored once, at 0.5 and
with the tuned thresholds. The combined out-of-fold predictions are honest too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chemchallenge.ensemble.thresholds import tune_thresholds, uses_thresholds
from chemchallenge.ensemble.weights import Combiner
from chemchallenge.metrics import score
from chemchallenge.tasks import TaskSpec

Fit = Callable[[np.ndarray, np.ndarray], Combiner]


@dataclass
class NestedResult:
    pred: np.ndarray  # (n, n_outputs) honest out-of-fold predictions of the procedure
    at_05: list[float] = field(default_factory=list)  # outer-fold scores, thresholds 0.5
    tuned: list[float] = field(default_factory=list)  # outer-fold scores, tuned thresholds
    inner: list[float] = field(default_factory=list)  # in-sample scores on the other folds
    thresholds: list[list[float]] = field(default_factory=list)  # per outer fold

    @staticmethod
    def _summary(values: list[float]) -> dict[str, Any]:
        return {
            "mean": float(np.mean(values)),
            "std": float(np.std(values)),
            "folds": [float(v) for v in values],
        }

    def summary_at_05(self) -> dict[str, Any]:
        return self._summary(self.at_05)

    def summary_tuned(self) -> dict[str, Any] | None:
        return self._summary(self.tuned) if self.tuned else None


def nested_cv(
    P: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    task: TaskSpec,
    fit: Fit,
    tune: bool = True,
) -> NestedResult:
    """Score ``fit`` (+ threshold tuning when ``tune`` and the metric is F1-type).

    Parameters
    ----------
    P
        (n, n_models, n_outputs) out-of-fold predictions of the members.
    y
        (n, n_targets) labels (NaN: missing).
    folds
        (n,) fold of each row: the same folds the members were trained on.
    fit
        ``fit(P_rows, y_rows) -> Combiner``; it is only ever given other folds' rows.
    """
    y = np.asarray(y, dtype=float).reshape(len(P), -1)
    tune = tune and uses_thresholds(task)
    result = NestedResult(pred=np.full((len(P), P.shape[2]), np.nan))
    for k in sorted({int(f) for f in folds}):
        tr, va = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        combiner = fit(P[tr], y[tr])
        inner = combiner.predict(P[tr])
        thr = tune_thresholds(y[tr], inner, task) if tune else np.full(P.shape[2], 0.5)
        result.pred[va] = combiner.predict(P[va])
        result.at_05.append(score(task.metric, y[va], result.pred[va], task))
        result.inner.append(score(task.metric, y[tr], inner, task, thr))
        if tune:
            result.tuned.append(score(task.metric, y[va], result.pred[va], task, thr))
        result.thresholds.append([float(t) for t in thr])
    return result
