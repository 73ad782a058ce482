"""Per-target decision thresholds for F1-type metrics, chosen on out-of-fold predictions.

Only binary and multi-label tasks scored by ``micro_f1`` or ``macro_f1`` use them
(multi-class predictions are an argmax; ROC-AUC needs no threshold). For ``macro_f1``
each target's F1 is maximised separately; ``micro_f1`` pools TP/FP/FN over targets, so
thresholds are improved one target at a time (coordinate ascent) on the pooled score.
"""

from __future__ import annotations

import numpy as np

from chemchallenge.metrics import score
from chemchallenge.tasks import TaskSpec, TaskType

#: candidate thresholds 0.05, 0.10, ..., 0.95
GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)
F1_METRICS = ("micro_f1", "macro_f1")


def uses_thresholds(task: TaskSpec, metric: str | None = None) -> bool:
    """Whether decision thresholds change the metric (F1 on binary/multi-label)."""
    metric = metric or task.metric
    return metric in F1_METRICS and task.task_type in (TaskType.BINARY, TaskType.MULTILABEL)


def _best(values: np.ndarray, grid: np.ndarray) -> float:
    """The grid value with the best score; ties go to the value closest to 0.5."""
    best = np.nanmax(values)
    tied = grid[np.isclose(values, best)]
    return float(tied[np.argmin(np.abs(tied - 0.5))])


def tune_thresholds(
    y: np.ndarray,
    scores: np.ndarray,
    task: TaskSpec,
    metric: str | None = None,
    grid: np.ndarray = GRID,
    passes: int = 3,
) -> np.ndarray:
    """Thresholds (one per target) maximising the F1-type ``metric`` on these rows.

    Returns 0.5 for every target when thresholds do not apply to the task/metric.
    """
    metric = metric or task.metric
    k = scores.shape[1]
    thr = np.full(k, 0.5)
    if not uses_thresholds(task, metric):
        return thr
    y = np.asarray(y, dtype=float).reshape(len(scores), -1)
    for _ in range(passes if metric == "micro_f1" and k > 1 else 1):
        before = thr.copy()
        for j in range(k):
            vals = []
            for g in grid:
                trial = thr.copy()
                trial[j] = g
                if metric == "micro_f1":
                    vals.append(score(metric, y, scores, task, trial))
                else:  # macro: the target's own F1
                    vals.append(score(metric, y[:, [j]], scores[:, [j]], _one(task, j), g))
            thr[j] = _best(np.asarray(vals), grid)
        if np.array_equal(before, thr):
            break
    return thr


def _one(task: TaskSpec, j: int) -> TaskSpec:
    return TaskSpec(TaskType.BINARY, [task.targets[j]], task.metric, task.id_column)
