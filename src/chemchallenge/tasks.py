"""Task types and their detection from the training labels."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd


class TaskType(StrEnum):
    REGRESSION = "regression"
    BINARY = "binary"
    MULTILABEL = "multilabel"
    MULTICLASS = "multiclass"


#: A single integer column with at most this many distinct values is read as classes.
MAX_AUTO_CLASSES = 10

DEFAULT_METRIC: dict[TaskType, str] = {
    TaskType.REGRESSION: "rmse",
    TaskType.BINARY: "roc_auc",
    TaskType.MULTILABEL: "micro_f1",
    TaskType.MULTICLASS: "accuracy",
}


@dataclass(frozen=True)
class TaskSpec:
    """What is predicted and how it is scored.

    Model outputs always form a float matrix with one column per ``output_columns``:
    values (regression), probabilities of label 1 (binary, multi-label), or class
    probabilities (multi-class: one column per class of the single target).
    """

    task_type: TaskType
    targets: list[str]
    metric: str
    id_column: str = "ID"
    classes: list[str] = field(default_factory=list)

    @property
    def is_classification(self) -> bool:
        return self.task_type != TaskType.REGRESSION

    @property
    def output_columns(self) -> list[str]:
        if self.task_type == TaskType.MULTICLASS:
            return [f"{self.targets[0]}:{c}" for c in self.classes]
        return list(self.targets)

    @property
    def n_outputs(self) -> int:
        return len(self.output_columns)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["task_type"] = str(self.task_type)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskSpec:
        return cls(
            task_type=TaskType(d["task_type"]),
            targets=list(d["targets"]),
            metric=d["metric"],
            id_column=d.get("id_column", "ID"),
            classes=[str(c) for c in d.get("classes", [])],
        )


def _is_integer_like(s: pd.Series) -> bool:
    v = pd.to_numeric(s.dropna(), errors="coerce")
    return bool(v.notna().all() and np.all(np.isclose(v, np.round(v))))


def detect_task(y: pd.DataFrame) -> TaskType:
    """Guess the task from the label columns (every column of ``y`` is a target).

    - all values in {0, 1}: binary (one column) or multi-label (several columns);
    - one column of text, or of integers with 3..10 distinct values: multi-class;
    - anything else numeric: regression;
    - mostly numbers with a few text cells: decided on the numbers (validation then
      reports the text cells as errors).
    """
    values = y.dropna(how="all")
    numeric = values.apply(pd.to_numeric, errors="coerce")
    all_numeric = bool(numeric.notna().sum().sum() == values.notna().sum().sum())
    if all_numeric:
        uniq = set(np.unique(numeric.to_numpy(dtype=float)[~np.isnan(numeric.to_numpy(float))]))
        if uniq and uniq <= {0.0, 1.0}:
            return TaskType.BINARY if y.shape[1] == 1 else TaskType.MULTILABEL
        if y.shape[1] == 1 and _is_integer_like(y.iloc[:, 0]):
            n = y.iloc[:, 0].nunique(dropna=True)
            if 3 <= n <= MAX_AUTO_CLASSES:
                return TaskType.MULTICLASS
        return TaskType.REGRESSION
    if 2 * numeric.notna().sum().sum() >= values.notna().sum().sum():
        # mostly numbers with a few stray words: a numeric task whose validation then
        # reports the non-numeric cells (not hundreds of "classes")
        return detect_task(numeric)
    if y.shape[1] == 1:
        return TaskType.MULTICLASS
    return TaskType.REGRESSION  # validation will then report the non-numeric cells
