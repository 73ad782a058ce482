"""The challenge metrics against scikit-learn / SciPy, with NaN masking and thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn import metrics as skm

from chemchallenge.errors import ConfigError
from chemchallenge.metrics import METRICS, get_metric, per_target, score, to_labels
from chemchallenge.tasks import TaskSpec, TaskType

RNG = np.random.default_rng(0)
N = 80

REG = TaskSpec(TaskType.REGRESSION, ["a", "b"], "rmse")
BIN = TaskSpec(TaskType.BINARY, ["active"], "roc_auc")
ML = TaskSpec(TaskType.MULTILABEL, ["Y1", "Y2", "Y3"], "micro_f1")
MC = TaskSpec(TaskType.MULTICLASS, ["potency"], "accuracy", classes=["low", "mid", "high"])


def multilabel_data() -> tuple[np.ndarray, np.ndarray]:
    y = (RNG.random((N, 3)) < [0.5, 0.3, 0.15]).astype(float)
    s = np.clip(0.35 * y + 0.65 * RNG.random((N, 3)), 0, 1)
    return y, s


def regression_data() -> tuple[np.ndarray, np.ndarray]:
    y = RNG.normal(size=(N, 2))
    return y, y + RNG.normal(scale=0.7, size=(N, 2))


def multiclass_data() -> tuple[np.ndarray, np.ndarray]:
    y = RNG.integers(0, 3, N).astype(float)[:, None]
    s = RNG.dirichlet([1, 1, 1], N)
    s[np.arange(N), y[:, 0].astype(int)] += 0.3
    return y, s / s.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("thr", [0.5, 0.3, np.array([0.3, 0.5, 0.6])])
def test_multilabel_f1_with_thresholds(thr: float | np.ndarray) -> None:
    y, s = multilabel_data()
    pred = (s >= np.broadcast_to(thr, (3,))).astype(int)
    assert score("micro_f1", y, s, ML, thr) == pytest.approx(skm.f1_score(y, pred, average="micro"))
    assert score("macro_f1", y, s, ML, thr) == pytest.approx(skm.f1_score(y, pred, average="macro"))
    per = per_target("macro_f1", y, s, ML, thr)
    for j, t in enumerate(ML.targets):
        assert per[t] == pytest.approx(skm.f1_score(y[:, j], pred[:, j]))


def test_multilabel_roc_auc_and_accuracy() -> None:
    y, s = multilabel_data()
    assert score("roc_auc", y, s, ML) == pytest.approx(skm.roc_auc_score(y, s, average="macro"))
    pred = (s >= 0.5).astype(int)
    expected = np.mean([skm.accuracy_score(y[:, j], pred[:, j]) for j in range(3)])
    assert score("accuracy", y, s, ML) == pytest.approx(expected)


def test_binary_metrics() -> None:
    y = (RNG.random(N) < 0.4).astype(float)[:, None]
    s = np.clip(0.3 * y + 0.7 * RNG.random((N, 1)), 0, 1)
    assert score("roc_auc", y, s, BIN) == pytest.approx(skm.roc_auc_score(y[:, 0], s[:, 0]))
    pred = (s[:, 0] >= 0.4).astype(int)
    assert score("accuracy", y, s, BIN, 0.4) == pytest.approx(skm.accuracy_score(y[:, 0], pred))
    assert score("micro_f1", y, s, BIN, 0.4) == pytest.approx(skm.f1_score(y[:, 0], pred))
    assert score("macro_f1", y, s, BIN, 0.4) == pytest.approx(skm.f1_score(y[:, 0], pred))


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("mse", skm.mean_squared_error),
        ("rmse", skm.root_mean_squared_error),
        ("mae", skm.mean_absolute_error),
        ("r2", skm.r2_score),
    ],
)
def test_regression_against_sklearn(name: str, reference) -> None:
    y, p = regression_data()
    assert score(name, y, p, REG) == pytest.approx(reference(y, p))  # mean over targets
    per = per_target(name, y, p, REG)
    assert per["a"] == pytest.approx(reference(y[:, 0], p[:, 0]))
    assert per["b"] == pytest.approx(reference(y[:, 1], p[:, 1]))


def test_pearson_against_scipy() -> None:
    y, p = regression_data()
    expected = np.mean([pearsonr(y[:, j], p[:, j])[0] for j in range(2)])
    assert score("pearson", y, p, REG) == pytest.approx(expected)


def test_regression_single_column_1d_input() -> None:
    task = TaskSpec(TaskType.REGRESSION, ["logS"], "rmse")
    y = RNG.normal(size=N)
    p = y + 0.5
    assert score("rmse", y, p[:, None], task) == pytest.approx(0.5)


def test_nan_labels_are_masked_regression() -> None:
    y, p = regression_data()
    y[::4, 0] = np.nan
    y[1::5, 1] = np.nan
    per = per_target("mse", y, p, REG)
    for j, t in enumerate(REG.targets):
        keep = ~np.isnan(y[:, j])
        assert per[t] == pytest.approx(skm.mean_squared_error(y[keep, j], p[keep, j]))
    assert score("mse", y, p, REG) == pytest.approx(np.mean(list(per.values())))


def test_nan_labels_are_masked_multilabel() -> None:
    y, s = multilabel_data()
    y[::3, 1] = np.nan
    mask = ~np.isnan(y)
    pred = (s >= 0.5).astype(int)
    expected = skm.f1_score(y[mask].astype(int), pred[mask])  # micro F1 over labelled cells
    assert score("micro_f1", y, s, ML) == pytest.approx(expected)
    keep = mask[:, 1]
    auc = per_target("roc_auc", y, s, ML)
    assert auc["Y2"] == pytest.approx(skm.roc_auc_score(y[keep, 1], s[keep, 1]))


def test_target_without_both_classes_is_skipped_in_the_mean() -> None:
    y, s = multilabel_data()
    y[:, 2] = 0.0
    per = per_target("roc_auc", y, s, ML)
    assert np.isnan(per["Y3"])
    assert score("roc_auc", y, s, ML) == pytest.approx(np.mean([per["Y1"], per["Y2"]]))


def test_all_missing_target_is_nan() -> None:
    y, p = regression_data()
    y[:, 1] = np.nan
    assert np.isnan(per_target("rmse", y, p, REG)["b"])
    assert score("rmse", y, p, REG) == pytest.approx(skm.root_mean_squared_error(y[:, 0], p[:, 0]))


def test_multiclass_against_sklearn() -> None:
    y, s = multiclass_data()
    t = y[:, 0].astype(int)
    pred = s.argmax(axis=1)
    assert score("accuracy", y, s, MC) == pytest.approx(skm.accuracy_score(t, pred))
    assert score("micro_f1", y, s, MC) == pytest.approx(skm.f1_score(t, pred, average="micro"))
    assert score("macro_f1", y, s, MC) == pytest.approx(skm.f1_score(t, pred, average="macro"))
    assert score("roc_auc", y, s, MC) == pytest.approx(skm.roc_auc_score(t, s, multi_class="ovr"))
    assert per_target("accuracy", y, s, MC) == {"potency": score("accuracy", y, s, MC)}


def test_multiclass_nan_rows_are_masked() -> None:
    y, s = multiclass_data()
    y[::4] = np.nan
    keep = ~np.isnan(y[:, 0])
    expected = skm.accuracy_score(y[keep, 0].astype(int), s[keep].argmax(axis=1))
    assert score("accuracy", y, s, MC) == pytest.approx(expected)


def test_to_labels() -> None:
    s = np.array([[0.2, 0.6, 0.5], [0.8, 0.4, 0.1]])
    np.testing.assert_array_equal(to_labels(s, ML), [[0, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(to_labels(s, ML, [0.1, 0.7, 0.05]), [[1, 0, 1], [1, 0, 1]])
    assert to_labels(s, ML).dtype.kind == "i"
    np.testing.assert_array_equal(to_labels(s, MC), [[1], [0]])


def test_get_metric_errors() -> None:
    with pytest.raises(ConfigError, match="unknown metric 'f2'"):
        get_metric("f2")
    with pytest.raises(ConfigError, match="does not apply to a regression task"):
        get_metric("roc_auc", TaskType.REGRESSION)
    with pytest.raises(ConfigError, match="does not apply"):
        score("rmse", np.zeros((3, 1)), np.zeros((3, 1)), BIN)


def test_direction_of_each_metric() -> None:
    lower = {name for name, m in METRICS.items() if not m.greater_is_better}
    assert lower == {"mse", "rmse", "mae"}
    for name in ("micro_f1", "macro_f1", "roc_auc", "accuracy"):
        assert TaskType.REGRESSION not in METRICS[name].tasks
    for name in ("mse", "rmse", "mae", "r2", "pearson"):
        assert METRICS[name].tasks == frozenset({TaskType.REGRESSION})


def test_perfect_predictions() -> None:
    y, _ = multilabel_data()
    assert score("micro_f1", y, y, ML) == 1.0
    assert score("roc_auc", y, y, ML) == 1.0
    yr, _ = regression_data()
    assert score("rmse", yr, yr, REG) == 0.0
    assert score("r2", yr, yr, REG) == 1.0
