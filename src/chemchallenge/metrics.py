"""Challenge metrics on the model-output contract of :class:`~chemchallenge.tasks.TaskSpec`.

``y_true`` is an (n, n_targets) float array with NaN for missing labels (multi-class:
(n, 1) of class indices). ``scores`` is the (n, n_outputs) model output. Classification
metrics that need labels threshold the probabilities (per-target thresholds allowed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import pearsonr
from sklearn import metrics as skm

from chemchallenge.errors import ConfigError
from chemchallenge.tasks import TaskSpec, TaskType


@dataclass(frozen=True)
class Metric:
    name: str
    greater_is_better: bool
    tasks: frozenset[TaskType]
    per_target: Callable[[np.ndarray, np.ndarray], float] | None = None


_CLS = frozenset({TaskType.BINARY, TaskType.MULTILABEL, TaskType.MULTICLASS})
_REG = frozenset({TaskType.REGRESSION})

METRICS: dict[str, Metric] = {
    "micro_f1": Metric("micro_f1", True, _CLS),
    "macro_f1": Metric("macro_f1", True, _CLS),
    "roc_auc": Metric("roc_auc", True, _CLS),
    "accuracy": Metric("accuracy", True, _CLS),
    "mse": Metric("mse", False, _REG, lambda t, p: float(skm.mean_squared_error(t, p))),
    "rmse": Metric("rmse", False, _REG, lambda t, p: float(np.sqrt(skm.mean_squared_error(t, p)))),
    "mae": Metric("mae", False, _REG, lambda t, p: float(skm.mean_absolute_error(t, p))),
    "r2": Metric("r2", True, _REG, lambda t, p: float(skm.r2_score(t, p))),
    "pearson": Metric("pearson", True, _REG, lambda t, p: float(pearsonr(t, p)[0])),
}


def get_metric(name: str, task: TaskType | None = None) -> Metric:
    if name not in METRICS:
        raise ConfigError(f"unknown metric {name!r}; choose one of {sorted(METRICS)}")
    m = METRICS[name]
    if task is not None and task not in m.tasks:
        raise ConfigError(f"metric {name!r} does not apply to a {task} task")
    return m


def _thresholds(thresholds: float | np.ndarray | None, k: int) -> np.ndarray:
    if thresholds is None:
        return np.full(k, 0.5)
    return np.broadcast_to(np.asarray(thresholds, dtype=float), (k,))


def to_labels(
    scores: np.ndarray, task: TaskSpec, thresholds: float | np.ndarray | None = None
) -> np.ndarray:
    """Turn model outputs into integer labels (classification only)."""
    if task.task_type == TaskType.MULTICLASS:
        return np.argmax(scores, axis=1)[:, None]
    return (scores >= _thresholds(thresholds, scores.shape[1])[None, :]).astype(int)


def _f1_counts(t: np.ndarray, p: np.ndarray) -> tuple[int, int, int]:
    tp = int(np.sum((t == 1) & (p == 1)))
    fp = int(np.sum((t == 0) & (p == 1)))
    fn = int(np.sum((t == 1) & (p == 0)))
    return tp, fp, fn


def _f1(tp: int, fp: int, fn: int) -> float:
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def score(
    name: str,
    y_true: np.ndarray,
    scores: np.ndarray,
    task: TaskSpec,
    thresholds: float | np.ndarray | None = None,
) -> float:
    """Overall value of metric ``name`` (missing labels ignored)."""
    get_metric(name, task.task_type)
    y_true = np.asarray(y_true, dtype=float).reshape(len(scores), -1)
    scores = np.asarray(scores, dtype=float)
    if task.task_type == TaskType.MULTICLASS:
        keep = ~np.isnan(y_true[:, 0])
        t = y_true[keep, 0].astype(int)
        s = scores[keep]
        pred = np.argmax(s, axis=1)
        if name == "accuracy":
            return float(skm.accuracy_score(t, pred))
        if name in ("micro_f1", "macro_f1"):
            return float(skm.f1_score(t, pred, average=name.split("_")[0]))
        labels = np.arange(s.shape[1])
        return float(skm.roc_auc_score(t, s, multi_class="ovr", labels=labels))
    if name == "micro_f1":
        pred = to_labels(scores, task, thresholds)
        mask = ~np.isnan(y_true)
        return _f1(*_f1_counts(y_true[mask], pred[mask]))
    # every other metric: the mean over targets of the per-target value
    vals = [v for v in per_target(name, y_true, scores, task, thresholds).values() if v == v]
    return float(np.mean(vals)) if vals else float("nan")


def per_target(
    name: str,
    y_true: np.ndarray,
    scores: np.ndarray,
    task: TaskSpec,
    thresholds: float | np.ndarray | None = None,
) -> dict[str, float]:
    """Metric ``name`` for each target separately (multi-class: its single target)."""
    metric = get_metric(name, task.task_type)
    y_true = np.asarray(y_true, dtype=float).reshape(len(scores), -1)
    scores = np.asarray(scores, dtype=float)
    if task.task_type == TaskType.MULTICLASS:
        return {task.targets[0]: score(name, y_true, scores, task)}
    out: dict[str, float] = {}
    thr = _thresholds(thresholds, scores.shape[1])
    for j, target in enumerate(task.targets):
        mask = ~np.isnan(y_true[:, j])
        t, s = y_true[mask, j], scores[mask, j]
        if len(t) == 0:
            out[target] = float("nan")
        elif metric.per_target is not None:
            out[target] = metric.per_target(t, s) if len(t) > 1 else float("nan")
        elif name == "roc_auc":
            out[target] = float(skm.roc_auc_score(t, s)) if len(np.unique(t)) == 2 else np.nan
        else:
            pred = (s >= thr[j]).astype(int)
            if name == "accuracy":
                out[target] = float(np.mean(pred == t))
            else:  # micro_f1 / macro_f1 coincide on a single target
                out[target] = _f1(*_f1_counts(t, pred))
    return out
