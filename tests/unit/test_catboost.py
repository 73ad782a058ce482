"""The ``catboost`` kind: params checked early, safe persistence, threads, devices, silence.

Shapes per task type, NaN labels, one-class folds and determinism with one thread are
covered with the other tabular kinds in ``test_tabular.py``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from chemchallenge.errors import ConfigError
from chemchallenge.models.base import ModelInput, build_model, check_params
from chemchallenge.models.persist import allowed_globals, load_estimators, save_estimators
from chemchallenge.tasks import TaskSpec, TaskType

REG = TaskSpec(TaskType.REGRESSION, ["y"], "rmse")
MULTILABEL = TaskSpec(TaskType.MULTILABEL, ["Y1", "Y2"], "micro_f1")


def _data(n: int = 80, d: int = 8) -> tuple[ModelInput, np.ndarray]:
    rng = np.random.default_rng(0)
    F = rng.random((n, d))
    y = np.column_stack([F[:, 0] > 0.5, F[:, 1] + F[:, 2] > 1]).astype(float)
    return ModelInput(["C"] * n, F), y


def test_unknown_parameter_is_one_line_naming_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        check_params("catboost", REG, {"iteratons": 10}, 0, "models.cb.params")
    msg = str(err.value)
    assert msg.startswith("models.cb.params:") and "iteratons" in msg and "\n" not in msg


@pytest.mark.parametrize("params", [{"depth": "deep"}, {"depth": 40}, {"l2_leaf_reg": -1}])
def test_bad_value_is_refused_by_catboost(params: dict) -> None:
    with pytest.raises(ConfigError, match=r"^models\.cb\.params: "):
        check_params("catboost", REG, params, 0, "models.cb.params")


def test_good_params_pass() -> None:
    check_params("catboost", MULTILABEL, {"iterations": 50, "depth": 4}, 0, "models.cb.params")


def test_threads_and_silence() -> None:
    model = build_model("catboost", REG, {}, 0).template
    assert "thread_count" not in model.get_params()  # -1 (all cores) is CatBoost's default
    one = build_model("catboost", REG, {"n_jobs": 1}, 0).template.get_params()
    assert one["thread_count"] == 1
    p = build_model("catboost", REG, {"verbose": True, "thread_count": 2}, 7).template.get_params()
    assert p["logging_level"] == "Silent" and "verbose" not in p
    assert p["thread_count"] == 2 and p["random_seed"] == 7
    assert p["allow_writing_files"] is False and p["task_type"] == "CPU"  # no GPU in CI


def test_fit_writes_no_catboost_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    X, y = _data()
    build_model("catboost", MULTILABEL, {"iterations": 5}, 0).fit(X, y)
    assert os.listdir(tmp_path) == []


def test_all_threads_bit_reproducible() -> None:
    X, y = _data()
    a = build_model("catboost", MULTILABEL, {"iterations": 30}, 3).fit(X, y).predict(X)
    b = build_model("catboost", MULTILABEL, {"iterations": 30}, 3).fit(X, y).predict(X)
    c = build_model("catboost", MULTILABEL, {"iterations": 30}, 4).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)  # the seed matters


def test_save_load_round_trip_with_weights_only(tmp_path: Path) -> None:
    X, y = _data()
    est = build_model("catboost", MULTILABEL, {"iterations": 20}, 0).fit(X, y)
    save_estimators(tmp_path / "e.pt", [est])
    names = torch.serialization.get_unsafe_globals_in_checkpoint(str(tmp_path / "e.pt"))
    assert "catboost.core.CatBoostClassifier" in names
    (loaded,) = load_estimators(tmp_path / "e.pt")
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_array_equal(loaded.feature_importances(), est.feature_importances())


def test_only_catboost_estimators_are_allowed() -> None:
    _, refused = allowed_globals(
        ["catboost.core.CatBoostRegressor", "catboost.core.Pool", "catboost.utils.eval_metric"]
    )
    assert refused == ["catboost.core.Pool", "catboost.utils.eval_metric"]


def test_feature_importances_per_feature() -> None:
    X, y = _data()
    imp = build_model("catboost", MULTILABEL, {"iterations": 30}, 0).fit(X, y).feature_importances()
    assert imp is not None and imp.shape == (8,)
    assert imp[:3].sum() > imp[3:].sum()  # the features the labels are made of


def test_gpu_only_when_asked_or_present(monkeypatch: pytest.MonkeyPatch) -> None:
    from chemchallenge import device

    monkeypatch.setattr(device, "_catboost_cuda", lambda: True)
    assert device.catboost_task_type("auto", {}) == "GPU"
    assert device.catboost_task_type(None, {"rsm": 0.5}) == "CPU"  # rsm: CPU only
    assert device.catboost_task_type("CPU", {}) == "CPU"
    monkeypatch.setattr(device, "_catboost_cuda", lambda: False)
    assert device.catboost_task_type("auto", {}) == "CPU"
