"""Nested cross-validation of an ensembling procedure on out-of-fold predictions.

Member predictions are already out-of-fold, but fitting ensemble weights (or a stacker,
or thresholds) on all of them and scoring on the same rows is optimistic. For each outer
fold k, the whole procedure — fit the combiner, then tune thresholds on the combiner's
predictions — sees only the rows of the other folds; fold k is scored once, at 0.5 and
with the tuned thresholds. The combined out-of-fold predictions are honest too, and so
are scores computed from them with each outer fold's own thresholds
(:func:`nested_labels`, :func:`nested_score`, :func:`nested_per_target`).

Choosing a model is part of the procedure too: the "best single model" of outer fold k
is chosen on the other folds only (``fit_best_single`` with ``fit_sees_folds=True``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chemchallenge.ensemble.thresholds import tune_thresholds, uses_thresholds
from chemchallenge.ensemble.weights import Combiner, fit_best_single
from chemchallenge.metrics import per_target, score
from chemchallenge.tasks import TaskSpec

Fit = Callable[[np.ndarray, np.ndarray], Combiner]
#: ``fit(P_rows, y_rows, folds_rows)``: a fit that also uses the folds of its rows
FitFolds = Callable[[np.ndarray, np.ndarray, np.ndarray], Combiner]


@dataclass
class NestedResult:
    pred: np.ndarray  # (n, n_outputs) honest out-of-fold predictions of the procedure
    at_05: list[float] = field(default_factory=list)  # outer-fold scores, thresholds 0.5
    tuned: list[float] = field(default_factory=list)  # outer-fold scores, tuned thresholds
    inner: list[float] = field(default_factory=list)  # in-sample scores on the other folds
    thresholds: list[list[float]] = field(default_factory=list)  # per outer fold
    fold_ids: list[int] = field(default_factory=list)  # the outer folds, in this order
    combiners: list[Combiner] = field(default_factory=list)  # fitted per outer fold
    tuned_thresholds: bool = False  # whether ``thresholds`` were tuned (else all 0.5)

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
    fit: Fit | FitFolds,
    tune: bool = True,
    fit_sees_folds: bool = False,
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
    fit_sees_folds
        Call ``fit(P_rows, y_rows, folds_rows)`` instead (a selection by per-fold CV).
    """
    y = np.asarray(y, dtype=float).reshape(len(P), -1)
    folds = np.asarray(folds)
    tune = tune and uses_thresholds(task)
    result = NestedResult(pred=np.full((len(P), P.shape[2]), np.nan), tuned_thresholds=tune)
    for k in sorted({int(f) for f in folds}):
        tr, va = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        combiner = fit(P[tr], y[tr], folds[tr]) if fit_sees_folds else fit(P[tr], y[tr])
        inner = combiner.predict(P[tr])
        thr = tune_thresholds(y[tr], inner, task) if tune else np.full(P.shape[2], 0.5)
        result.pred[va] = combiner.predict(P[va])
        result.at_05.append(score(task.metric, y[va], result.pred[va], task))
        result.inner.append(score(task.metric, y[tr], inner, task, thr))
        if tune:
            result.tuned.append(score(task.metric, y[va], result.pred[va], task, thr))
        result.thresholds.append([float(t) for t in thr])
        result.fold_ids.append(k)
        result.combiners.append(combiner)
    return result


def nested_best_single(
    P: np.ndarray, y: np.ndarray, folds: np.ndarray, task: TaskSpec, tune: bool = True
) -> tuple[NestedResult, list[int]]:
    """The best single model, chosen inside the nested procedure: for each outer fold,
    the member with the best per-fold CV mean on the other folds' rows; then thresholds
    tuned on those rows; then the fold is scored. Also returns the member chosen for each
    outer fold (in ``result.fold_ids`` order)."""
    result = nested_cv(
        P,
        y,
        folds,
        task,
        lambda P_, y_, f_: fit_best_single(P_, y_, f_, task),
        tune,
        fit_sees_folds=True,
    )
    chosen = [int(np.argmax(c.weights)) for c in result.combiners]  # type: ignore[attr-defined]
    return result, chosen


def nested_labels(result: NestedResult, folds: np.ndarray) -> np.ndarray:
    """The nested predictions made 0/1 with each outer fold's own thresholds (F1-type
    metrics with tuned thresholds only: the labels a nested procedure predicts)."""
    folds = np.asarray(folds)
    out = np.full(result.pred.shape, np.nan)
    for k, thr in zip(result.fold_ids, result.thresholds):
        rows = folds == k
        out[rows] = (result.pred[rows] >= np.asarray(thr)[None, :]).astype(float)
    return out


def nested_score(result: NestedResult, y: np.ndarray, folds: np.ndarray, task: TaskSpec) -> float:
    """The metric on all rows of the nested predictions, each outer fold's rows at its own
    nested thresholds (0.5 when thresholds were not tuned)."""
    if not result.tuned_thresholds:
        return score(task.metric, y, result.pred, task)
    # 0/1 labels scored at 0.5 are the labels themselves
    return score(task.metric, y, nested_labels(result, folds), task)


def nested_per_target(
    result: NestedResult, y: np.ndarray, folds: np.ndarray, task: TaskSpec
) -> list[dict[str, float]]:
    """Per outer fold: each target's metric on the fold at that fold's nested thresholds."""
    y = np.asarray(y, dtype=float).reshape(len(result.pred), -1)
    folds = np.asarray(folds)
    return [
        per_target(task.metric, y[folds == k], result.pred[folds == k], task, np.asarray(thr))
        for k, thr in zip(result.fold_ids, result.thresholds)
    ]
