"""Ensemble building blocks: simplex weights, stacking, thresholds, nested CV."""

from __future__ import annotations

import numpy as np
import pytest

from chemchallenge.ensemble.nested import nested_cv
from chemchallenge.ensemble.stacking import fit_label_stacker, fit_stacker
from chemchallenge.ensemble.thresholds import GRID, tune_thresholds, uses_thresholds
from chemchallenge.ensemble.weights import (
    WeightedMean,
    combiner_from_dict,
    fit_top_k,
    fit_weights,
    make_fit,
)
from chemchallenge.metrics import score
from chemchallenge.tasks import TaskSpec, TaskType

REG = TaskSpec(TaskType.REGRESSION, ["y"], "rmse")
ML = TaskSpec(TaskType.MULTILABEL, ["a", "b"], "micro_f1")


def _regression(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n, 1))
    P = np.stack([y + 0.3 * rng.normal(size=(n, 1)), y + 0.6 * rng.normal(size=(n, 1)), -y], axis=1)
    return P, y


def test_weights_are_a_convex_combination() -> None:
    P, y = _regression()
    w = fit_weights(P, y, REG).weights
    assert np.all(w >= 0) and np.isclose(w.sum(), 1.0)
    assert w[0] > w[1] > w[2] >= 0.0
    blended = WeightedMean(w).predict(P)
    assert score("rmse", y, blended, REG) <= score("rmse", y, P[:, 0], REG) + 1e-9


def test_weights_for_probabilities() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random((300, 2)) < 0.4).astype(float)
    y[:20, 1] = np.nan  # missing labels are ignored
    good = np.clip(0.7 * y + 0.15 + 0.1 * rng.random(y.shape), 0, 1)
    noise = rng.random(y.shape)
    w = fit_weights(np.stack([noise, np.nan_to_num(good)], axis=1), y, ML).weights
    assert np.all(w >= 0) and np.isclose(w.sum(), 1.0) and w[1] > 0.8


def test_top_k_and_roundtrip() -> None:
    P, y = _regression()
    c = fit_top_k(P, y, REG, k=2)
    assert np.allclose(c.weights, [0.5, 0.5, 0.0])
    again = combiner_from_dict(c.to_dict(), REG)
    assert np.allclose(again.predict(P), c.predict(P))


def test_stacking_regression_and_binary() -> None:
    P, y = _regression()
    st = fit_stacker(P, y, REG)
    assert np.all(st.coef >= 0)  # non-negative stacked regression ignores the bad model
    assert score("rmse", y, st.predict(P), REG) < score("rmse", y, P[:, 1], REG)
    rng = np.random.default_rng(2)
    yb = (rng.random((200, 1)) < 0.3).astype(float)
    Pb = np.stack([np.clip(0.6 * yb + 0.2 * rng.random(yb.shape), 0, 1), rng.random(yb.shape)], 1)
    task = TaskSpec(TaskType.BINARY, ["t"], "roc_auc")
    st = fit_stacker(Pb, yb, task)
    pred = st.predict(Pb)
    assert pred.shape == (200, 1) and np.all((pred > 0) & (pred < 1))
    assert np.allclose(combiner_from_dict(st.to_dict(), task).predict(Pb), pred)


def test_thresholds_improve_f1_on_skewed_data() -> None:
    rng = np.random.default_rng(3)
    n = 1000
    y = np.column_stack([rng.random(n) < 0.08, rng.random(n) < 0.5]).astype(float)
    # under-confident scores for the rare label: positives sit around 0.35
    s = np.column_stack(
        [np.clip(0.35 * y[:, 0] + 0.15 * rng.random(n), 0, 1), 0.3 + 0.4 * y[:, 1] * rng.random(n)]
    )
    for metric in ("micro_f1", "macro_f1"):
        task = TaskSpec(TaskType.MULTILABEL, ["a", "b"], metric)
        thr = tune_thresholds(y, s, task)
        assert set(thr) <= set(GRID)
        assert score(metric, y, s, task, thr) > score(metric, y, s, task, 0.5) + 0.05
    assert not uses_thresholds(TaskSpec(TaskType.BINARY, ["t"], "roc_auc"))
    assert np.all(
        tune_thresholds(y[:, :1], s[:, :1], TaskSpec(TaskType.BINARY, ["t"], "accuracy")) == 0.5
    )


def test_nested_cv_never_fits_on_the_held_out_fold() -> None:
    """A spy records the rows each fit sees: y holds the row number."""
    n = 50
    folds = np.arange(n) % 5
    y = np.arange(n, dtype=float)[:, None]
    P = np.repeat(y[:, None, :], 2, axis=1)
    seen: list[set[int]] = []

    def spy(P_: np.ndarray, y_: np.ndarray) -> WeightedMean:
        seen.append({int(v) for v in y_[:, 0]})
        return WeightedMean(np.array([0.5, 0.5]))

    nested_cv(P, y, folds, REG, spy)
    assert len(seen) == 5
    for k, rows in enumerate(seen):
        assert rows == set(np.flatnonzero(folds != k))


def test_nested_cv_score_reflects_out_of_fold_fitting() -> None:
    """Model A is perfect on fold 0 only, model B everywhere else. An honest procedure
    fits B's weight on folds 1..4, so fold 0 gets B's (bad) predictions; a leak would
    let the fit see fold 0 and move weight to A."""
    rng = np.random.default_rng(4)
    n = 100
    folds = np.arange(n) % 5
    y = rng.normal(size=(n, 1))
    a = np.where(folds[:, None] == 0, y, y + 2.0 * rng.normal(size=(n, 1)))
    b = np.where(folds[:, None] == 0, y + 2.0 * rng.normal(size=(n, 1)), y)
    P = np.stack([a, b], axis=1)
    res = nested_cv(P, y, folds, REG, make_fit("weights", REG))
    fold0 = folds == 0
    assert res.at_05[0] == pytest.approx(score("rmse", y[fold0], b[fold0], REG), rel=0.05)
    assert res.at_05[0] > 1.0 and max(res.at_05[1:]) < 1.0
    assert not np.isnan(res.pred).any()


def test_nested_thresholds_are_tuned_without_the_held_out_fold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A spy on the threshold search records the rows it sees: y[:, 1] holds the row."""
    from chemchallenge.ensemble import nested

    n = 100
    folds = np.arange(n) % 5
    rng = np.random.default_rng(6)
    y = np.column_stack([rng.random(n) < 0.3, rng.random(n) < 0.5]).astype(float)
    rows = np.arange(n)
    seen: list[set[int]] = []
    real = nested.tune_thresholds

    def spy(y_: np.ndarray, s_: np.ndarray, task: TaskSpec) -> np.ndarray:
        seen.append({int(r) for r in s_[:, 1].round()})
        return real(y_, s_, task)

    monkeypatch.setattr(nested, "tune_thresholds", spy)
    P = np.stack([np.column_stack([rng.random(n), rows]), np.column_stack([y[:, 0], rows])], 1)
    res = nested_cv(P, y, folds, ML, lambda P_, y_: WeightedMean(np.array([0.0, 1.0])))
    assert len(seen) == 5 and len(res.tuned) == 5
    for k in range(5):
        assert seen[k] == set(rows[folds != k])


def test_multiclass_stacking_and_weights() -> None:
    rng = np.random.default_rng(5)
    n, k = 300, 3
    t = rng.integers(0, k, n)
    task = TaskSpec(TaskType.MULTICLASS, ["c"], "accuracy", classes=["0", "1", "2"])
    onehot = np.eye(k)[t]
    good = 0.6 * onehot + 0.4 * rng.dirichlet(np.ones(k), n)
    bad = rng.dirichlet(np.ones(k), n)
    P = np.stack([bad, good], axis=1)
    y = t[:, None].astype(float)
    w = fit_weights(P, y, task).weights
    assert w[1] > 0.9 and np.isclose(w.sum(), 1.0)
    st = fit_stacker(P, y, task)
    pred = st.predict(P)
    assert np.allclose(pred.sum(axis=1), 1.0)
    assert score("accuracy", y, pred, task) > 0.9


def test_label_stacking_uses_the_other_labels() -> None:
    """Label b follows label a (P(b | a) ~ 0.95) but the members see b only through noise:
    per-label stacking cannot recover b, label stacking can (through a's predictions)."""
    rng = np.random.default_rng(3)
    n = 600
    a = (rng.random(n) < 0.5).astype(float)
    b = np.where(rng.random(n) < 0.95, a, 1 - a)
    y = np.column_stack([a, b])
    y[:30, 1] = np.nan  # missing labels are ignored
    p_a = np.clip(0.6 * a + 0.2 + 0.2 * rng.random(n), 0.01, 0.99)
    p_b = rng.random(n)  # the members know nothing of b
    P = np.stack([np.column_stack([p_a, p_b]), np.column_stack([p_a, rng.random(n)])], axis=1)
    folds = np.arange(n) % 4
    own = nested_cv(P, y, folds, ML, lambda P_, y_: fit_stacker(P_, y_, ML), tune=False)
    cross = nested_cv(P, y, folds, ML, lambda P_, y_: fit_label_stacker(P_, y_, ML), tune=False)
    assert np.mean(cross.at_05) > np.mean(own.at_05) + 0.1
    stacker = fit_label_stacker(P, y, ML)
    assert stacker.coef.shape == (2, 4) and abs(stacker.coef[1, 0]) > abs(stacker.coef[1, 1])
    again = combiner_from_dict(stacker.to_dict(), ML)
    assert np.allclose(again.predict(P), stacker.predict(P))
    # one output per decision elsewhere: the plain stacker
    Pr, yr = _regression()
    assert not fit_label_stacker(Pr, yr, REG).cross
