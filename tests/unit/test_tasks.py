"""Task detection from the label columns, and the TaskSpec output contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chemchallenge.tasks import DEFAULT_METRIC, TaskSpec, TaskType, detect_task


def frame(**cols: list) -> pd.DataFrame:
    return pd.DataFrame(cols)


@pytest.mark.parametrize(
    ("y", "expected"),
    [
        (frame(a=[0, 1, 1, 0]), TaskType.BINARY),
        (frame(a=["0", "1", "1", "0"]), TaskType.BINARY),  # raw cells are text
        (frame(a=["0.0", "1.0", "1", None]), TaskType.BINARY),
        (frame(a=[0, 1, 0], b=[1, 1, 0], c=[0, 0, 1]), TaskType.MULTILABEL),
        (frame(a=["0", None, "1"], b=["1", "1", None]), TaskType.MULTILABEL),
        (frame(a=[1, 2, 3, 1, 2]), TaskType.MULTICLASS),  # 3..10 integer values
        (frame(a=["low", "high", "mid", "low"]), TaskType.MULTICLASS),  # text
        (frame(a=["A", "B"]), TaskType.MULTICLASS),
        (frame(a=list(range(11))), TaskType.REGRESSION),  # too many integers for classes
        (frame(a=[0, 1, 2, 0, 1, 2]), TaskType.MULTICLASS),
        (frame(a=[0.5, -1.2, 3.0]), TaskType.REGRESSION),
        (frame(a=["-3.2", "1e-3", "4"]), TaskType.REGRESSION),
        (frame(a=[1, 2]), TaskType.REGRESSION),  # two integers other than 0/1
        (frame(a=[0, 1, 2], b=[1, 0, 0]), TaskType.REGRESSION),  # several non-binary columns
        (frame(a=[0.1, 0.2], b=[1.0, 3.0]), TaskType.REGRESSION),
    ],
)
def test_detect_task(y: pd.DataFrame, expected: TaskType) -> None:
    assert detect_task(y) == expected


@pytest.mark.parametrize(
    ("y", "expected"),
    [
        # a stray word in a numeric column must not turn it into hundreds of "classes":
        # the task follows the numbers and validation reports the word
        (frame(a=[f"{v:.2f}" for v in np.linspace(-3, 2, 40)] + ["n/a"]), TaskType.REGRESSION),
        (frame(a=["0", "1"] * 20 + ["yes"]), TaskType.BINARY),
        (frame(a=["0", "1", "1"], b=["1", "x", "0"]), TaskType.MULTILABEL),
    ],
)
def test_detect_task_with_stray_text(y: pd.DataFrame, expected: TaskType) -> None:
    assert detect_task(y) == expected


def test_detect_task_ignores_unlabelled_rows() -> None:
    y = frame(a=[0, 1, None, 1], b=[1, 0, None, None]).astype(float)
    assert detect_task(y) == TaskType.MULTILABEL


def test_output_columns() -> None:
    mc = TaskSpec(TaskType.MULTICLASS, ["potency"], "accuracy", classes=["low", "mid", "high"])
    assert mc.output_columns == ["potency:low", "potency:mid", "potency:high"]
    assert mc.n_outputs == 3 and mc.is_classification
    ml = TaskSpec(TaskType.MULTILABEL, ["Y1", "Y2"], "micro_f1")
    assert ml.output_columns == ["Y1", "Y2"] and ml.n_outputs == 2
    reg = TaskSpec(TaskType.REGRESSION, ["logS"], "rmse")
    assert not reg.is_classification and reg.output_columns == ["logS"]


def test_round_trip_through_dict() -> None:
    spec = TaskSpec(TaskType.MULTICLASS, ["c"], "accuracy", id_column="Compound", classes=["1"])
    d = spec.to_dict()
    assert d["task_type"] == "multiclass" and isinstance(d["task_type"], str)
    assert TaskSpec.from_dict(d) == spec
    assert TaskSpec.from_dict({"task_type": "binary", "targets": ["a"], "metric": "roc_auc"}) == (
        TaskSpec(TaskType.BINARY, ["a"], "roc_auc", id_column="ID")
    )


def test_default_metric_for_each_task() -> None:
    assert DEFAULT_METRIC == {
        TaskType.REGRESSION: "rmse",
        TaskType.BINARY: "roc_auc",
        TaskType.MULTILABEL: "micro_f1",
        TaskType.MULTICLASS: "accuracy",
    }
