"""Tabular models: shapes and ranges per task type, per-target NaN masking, one-class folds."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

from chemchallenge.errors import ConfigError
from chemchallenge.models.base import ModelInput, build_model, needs_features
from chemchallenge.models.tabular import PerTargetModel
from chemchallenge.tasks import TaskSpec, TaskType

KINDS = ["decision_tree", "random_forest", "xgboost", "catboost", "knn", "linear"]
FAST = {
    "random_forest": {"n_estimators": 10, "n_jobs": 1},
    "xgboost": {"n_estimators": 10, "max_depth": 3, "n_jobs": 1},
    "catboost": {"iterations": 10, "depth": 3, "thread_count": 1},
    "knn": {"n_neighbors": 3},
}
TASKS = {
    "regression": TaskSpec(TaskType.REGRESSION, ["a", "b"], "rmse"),
    "binary": TaskSpec(TaskType.BINARY, ["active"], "roc_auc"),
    "multilabel": TaskSpec(TaskType.MULTILABEL, ["Y1", "Y2", "Y3"], "micro_f1"),
    "multiclass": TaskSpec(TaskType.MULTICLASS, ["c"], "accuracy", classes=["x", "y", "z"]),
}
N_TRAIN, N_TEST, D = 60, 13, 24


def data(task: TaskSpec, seed: int = 0) -> tuple[ModelInput, np.ndarray, ModelInput]:
    rng = np.random.default_rng(seed)
    F = (rng.random((N_TRAIN + N_TEST, D)) < 0.3).astype(float)
    signal = F[:, :3].sum(axis=1)
    if task.task_type == TaskType.REGRESSION:
        y = np.column_stack([signal, -signal]) + rng.normal(scale=0.1, size=(len(F), 2))
    elif task.task_type == TaskType.MULTICLASS:
        y = (np.arange(len(F)) % 3).astype(float)[:, None]
    else:
        y = (rng.random((len(F), len(task.targets))) < 0.4).astype(float)
    smiles = ["C"] * len(F)
    X = ModelInput(smiles[:N_TRAIN], F[:N_TRAIN], [f"f{i}" for i in range(D)])
    X_test = ModelInput(smiles[N_TRAIN:], F[N_TRAIN:], X.feature_names)
    return X, y[:N_TRAIN], X_test


def fit(kind: str, task: TaskSpec, X: ModelInput, y: np.ndarray) -> PerTargetModel:
    model = build_model(kind, task, FAST.get(kind, {}), seed=0)
    assert isinstance(model, PerTargetModel)
    return model.fit(X, y)


@pytest.mark.parametrize("task_name", list(TASKS))
@pytest.mark.parametrize("kind", KINDS)
def test_shape_and_range(kind: str, task_name: str) -> None:
    task = TASKS[task_name]
    X, y, X_test = data(task)
    pred = fit(kind, task, X, y).predict(X_test)
    assert pred.shape == (N_TEST, task.n_outputs) and pred.dtype == float
    assert np.isfinite(pred).all()
    if task.is_classification:
        assert ((pred >= 0) & (pred <= 1)).all()
    if task.task_type == TaskType.MULTICLASS:
        np.testing.assert_allclose(pred.sum(axis=1), 1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_for_a_seed(kind: str) -> None:
    task = TASKS["binary"]
    X, y, X_test = data(task)
    a = fit(kind, task, X, y).predict(X_test)
    b = fit(kind, task, X, y).predict(X_test)
    np.testing.assert_array_equal(a, b)


def test_nan_labels_are_skipped_per_target() -> None:
    task = TASKS["multilabel"]
    X, y, X_test = data(task)
    y[::2, 1] = np.nan  # half of Y2 unlabelled
    y[:5, 2] = np.nan
    model = fit("decision_tree", task, X, y)
    n_rows = [m.tree_.n_node_samples[0] for m in model.models]
    assert n_rows == [N_TRAIN, N_TRAIN // 2, N_TRAIN - 5]
    pred = model.predict(X_test)
    assert np.isfinite(pred).all()


def test_nan_labels_regression() -> None:
    task = TASKS["regression"]
    X, y, X_test = data(task)
    y[10:30, 0] = np.nan
    pred = fit("linear", task, X, y).predict(X_test)
    assert np.isfinite(pred).all() and pred.shape == (N_TEST, 2)


@pytest.mark.parametrize("kind", KINDS)
def test_single_class_fold_predicts_its_rate(kind: str) -> None:
    task = TASKS["multilabel"]
    X, y, X_test = data(task)
    y[:, 0] = 0.0
    y[:, 2] = 1.0
    y[:4, 2] = np.nan
    pred = fit(kind, task, X, y).predict(X_test)
    np.testing.assert_array_equal(pred[:, 0], 0.0)
    np.testing.assert_array_equal(pred[:, 2], 1.0)
    assert 0 < pred[:, 1].max() <= 1


def test_single_class_binary() -> None:
    task = TASKS["binary"]
    X, _, X_test = data(task)
    model = fit("xgboost", task, X, np.ones((N_TRAIN, 1)))
    np.testing.assert_array_equal(model.predict(X_test), np.ones((N_TEST, 1)))


@pytest.mark.parametrize("kind", KINDS)
def test_multiclass_fold_missing_a_class(kind: str) -> None:
    task = TASKS["multiclass"]
    X, _, X_test = data(task)
    y = (np.arange(N_TRAIN) % 2 * 2).astype(float)[:, None]  # classes 0 and 2 only
    pred = fit(kind, task, X, y).predict(X_test)
    assert pred.shape == (N_TEST, 3)
    np.testing.assert_array_equal(pred[:, 1], 0.0)
    np.testing.assert_allclose(pred.sum(axis=1), 1.0)


def test_multiclass_single_class() -> None:
    task = TASKS["multiclass"]
    X, _, X_test = data(task)
    pred = fit("random_forest", task, X, np.full((N_TRAIN, 1), 2.0)).predict(X_test)
    np.testing.assert_array_equal(pred, np.tile([0.0, 0.0, 1.0], (N_TEST, 1)))


def test_regression_learns_the_signal() -> None:
    task = TASKS["regression"]
    X, y, _ = data(task)
    pred = fit("linear", task, X, y).predict(X)
    assert pred.shape == (N_TRAIN, 2)
    assert np.corrcoef(pred[:, 0], y[:, 0])[0, 1] > 0.9
    assert np.corrcoef(pred[:, 1], y[:, 1])[0, 1] > 0.9


@pytest.mark.parametrize("kind", KINDS)
def test_fitted_models_pickle(kind: str) -> None:
    """The train stage saves fitted fold models with torch.save (pickle)."""
    task = TASKS["binary"]
    X, y, X_test = data(task)
    model = fit(kind, task, X, y)
    buf = io.BytesIO()
    pickle.dump(model, buf)
    restored = pickle.loads(buf.getvalue())
    np.testing.assert_array_equal(restored.predict(X_test), model.predict(X_test))


def test_feature_importances() -> None:
    task = TASKS["multilabel"]
    X, y, _ = data(task)
    imp = fit("random_forest", task, X, y).feature_importances()
    assert imp is not None and imp.shape == (D,)
    assert fit("knn", task, X, y).feature_importances() is None


def test_needs_features() -> None:
    task = TASKS["binary"]
    X, y, _ = data(task)
    assert all(needs_features(k) for k in KINDS)
    model = build_model("decision_tree", task, {}, 0)
    with pytest.raises(ConfigError, match="needs tabular features"):
        model.fit(ModelInput(X.smiles), y)


def test_bad_parameter_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="max_dept"):
        build_model("decision_tree", TASKS["binary"], {"max_dept": 3}, 0)
    with pytest.raises(ConfigError, match="unknown model kind 'svm'"):
        build_model("svm", TASKS["binary"], {}, 0)


def test_params_are_not_mutated() -> None:
    params = {"n_estimators": 5}
    build_model("xgboost", TASKS["binary"], params, 0)
    assert params == {"n_estimators": 5}


def test_hyper_parameters_come_from_params_or_the_library() -> None:
    """No code default shadows params.yaml: what params.yaml gives reaches the estimator
    unchanged, what it leaves out is the library's own default."""
    from sklearn.ensemble import RandomForestRegressor
    from xgboost import XGBRegressor

    from support.params import repo_params

    task = TASKS["regression"]
    xgb = build_model("xgboost", task, {}, 0).template
    library = XGBRegressor().get_params()
    for key in ("n_estimators", "learning_rate", "max_depth", "subsample", "colsample_bytree"):
        assert xgb.get_params()[key] == library[key], key
    rf = build_model("random_forest", task, {}, 0).template
    assert rf.n_estimators == RandomForestRegressor().n_estimators
    knn = build_model("knn", task, {}, 0).template[-1]
    assert knn.n_neighbors == 5 and knn.weights == "uniform"  # scikit-learn's
    models = repo_params()["models"]
    for name in ("rf", "xgb", "knn"):
        kind, params = models[name]["kind"], models[name]["params"]
        est = build_model(kind, task, dict(params), 0).template
        got = (est[-1] if hasattr(est, "steps") else est).get_params()
        assert {k: got[k] for k in params} == params, name
