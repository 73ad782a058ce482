"""Honest cross-validation: the scored fold never reaches ``fit`` (not even as the
validation set of early-stopping nets), and same seed -> byte-identical predictions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from chemchallenge.errors import ConfigError
from chemchallenge.models import cv
from chemchallenge.models.base import ModelInput, build_model, uses_validation
from chemchallenge.models.cv import cross_validate, inner_split
from chemchallenge.models.tabular import forest_predict
from chemchallenge.tasks import TaskSpec, TaskType

REG = TaskSpec(TaskType.REGRESSION, ["y"], "rmse")
BINARY = TaskSpec(TaskType.BINARY, ["active"], "roc_auc")
MULTICLASS = TaskSpec(TaskType.MULTICLASS, ["cls"], "accuracy", classes=["lo", "mid", "hi"])


class Spy:
    """Records the rows (by their SMILES, ``r<i>``) it is fitted and validated on."""

    calls: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, task: TaskSpec, params: dict[str, Any], seed: int) -> None:
        self.task, self.seed = task, seed
        self.uses_validation = params.get("uses_validation", True)
        if "val_fraction" in params:
            self.val_fraction = params["val_fraction"]

    def fit(self, X, y, X_val=None, y_val=None, log_dir=None) -> Spy:
        call = {"seed": self.seed, "fit": _ids(X), "val": _ids(X_val), "y_val": y_val}
        self.calls.append(call)
        return self

    def predict(self, X: ModelInput) -> np.ndarray:
        return np.full((len(X), self.task.n_outputs), 0.5)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(Spy, "calls", calls)
    real = cv.build_model

    def build(kind: str, task: TaskSpec, params: dict[str, Any], seed: int) -> Any:
        return Spy(task, params, seed) if kind == "spy" else real(kind, task, params, seed)

    monkeypatch.setattr(cv, "build_model", build)  # what cross_validate builds its models with
    return calls


def _ids(X: ModelInput | None) -> list[int] | None:
    return None if X is None else [int(s[1:]) for s in X.smiles]


def _rows(n: int) -> ModelInput:
    return ModelInput([f"r{i}" for i in range(n)])


def _folds(n: int, k: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).permutation(np.arange(n) % k)


def test_scored_fold_is_never_fitted_nor_validated_on(spy: list[dict[str, Any]]) -> None:
    n, folds = 50, _folds(50, 5)
    y = np.random.default_rng(0).normal(size=(n, 1))
    res = cross_validate("spy", REG, {}, 3, _rows(n), y, folds, X_test=_rows(7))
    assert len(spy) == 5 and res.test is not None and res.test.shape == (7, 1)
    for k, call in enumerate(spy):
        scored = set(np.flatnonzero(folds == k))
        training = set(np.flatnonzero(folds != k))
        fit, val = set(call["fit"]), set(call["val"])
        assert call["seed"] == 3 + k
        assert not scored & fit and not scored & val  # the old code validated on `scored`
        assert val and not fit & val and fit | val == training  # inner split of the rest
        assert len(val) == 4  # 10% of the 40 training rows
        assert call["fit"] == sorted(call["fit"]) and call["val"] == sorted(call["val"])
        np.testing.assert_array_equal(call["y_val"], y[call["val"]])
    first = [(c["fit"], c["val"]) for c in spy]
    spy.clear()
    cross_validate("spy", REG, {}, 3, _rows(n), y, folds)
    assert [(c["fit"], c["val"]) for c in spy] == first  # deterministic for a seed
    spy.clear()
    cross_validate("spy", REG, {}, 4, _rows(n), y, folds)
    assert [c["val"] for c in spy] != [v for _, v in first]  # and the seed matters


def test_models_without_validation_train_on_all_training_folds(spy) -> None:
    n, folds = 30, _folds(30, 3)
    y = np.random.default_rng(1).normal(size=(n, 1))
    cross_validate("spy", REG, {"uses_validation": False}, 0, _rows(n), y, folds)
    for k, call in enumerate(spy):
        assert call["fit"] == np.flatnonzero(folds != k).tolist() and call["val"] is None
    assert not uses_validation(build_model("random_forest", REG, {}, 0))
    assert uses_validation(build_model("mlp", REG, {}, 0))
    assert not uses_validation(object())  # estimators that do not say


def test_val_fraction_and_unlabelled_rows(spy) -> None:
    n, folds = 60, _folds(60, 3)
    y = np.random.default_rng(2).normal(size=(n, 1))
    y[::5] = np.nan  # 12 unlabelled rows
    cross_validate("spy", REG, {"val_fraction": 0.25}, 0, _rows(n), y, folds)
    for call in spy:
        assert not np.isnan(y[call["val"]]).any()
        n_labelled = (~np.isnan(y[call["fit"] + call["val"]])).sum()
        assert len(call["val"]) == round(0.25 * n_labelled)


def test_inner_split_is_stratified_for_classes() -> None:
    y = np.repeat([0.0, 1.0, 2.0], [40, 20, 20])[:, None]
    fit, val = inner_split(y, MULTICLASS, 0.1, seed=5)
    assert np.bincount(y[val, 0].astype(int)).tolist() == [4, 2, 2]
    assert sorted([*fit, *val]) == list(range(80))
    again = inner_split(y, MULTICLASS, 0.1, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip((fit, val), again, strict=True))
    yb = (np.arange(50) % 5 == 0).astype(float)[:, None]  # 10 actives
    _, val = inner_split(yb, BINARY, 0.2, seed=0)
    assert yb[val].sum() == 2 and len(val) == 10
    lonely = np.array([[0.0], [0.0], [0.0], [1.0]])  # one active: cannot stratify
    fit, val = inner_split(lonely, BINARY, 0.1, seed=0)
    assert len(val) == 1 and len(fit) == 3
    fit, val = inner_split(np.array([[1.0], [np.nan]]), REG, 0.1, seed=0)
    assert fit.tolist() == [0, 1] and len(val) == 0  # one labelled row: no validation


@pytest.mark.parametrize("bad", [0, 0.0, 0.6, -0.1, "0.1", True])
def test_val_fraction_is_validated(bad: object) -> None:
    with pytest.raises(ConfigError, match="val_fraction"):
        build_model("mlp", REG, {"val_fraction": bad}, 0)
    assert build_model("gcn", REG, {"val_fraction": 0.5}, 0).val_fraction == 0.5


# -- byte-identical predictions for a seed ----------------------------------------------------


def _molecules(drug_smiles: list[str]) -> tuple[ModelInput, ModelInput]:
    smiles = drug_smiles[:40]
    feats = np.array([[len(s), s.count("c"), s.count("O"), s.count("N")] for s in smiles], float)
    x = ModelInput(smiles, feats, ["len", "c", "O", "N"])
    return x.subset(np.arange(32)), x.subset(np.arange(32, 40))


@pytest.mark.parametrize("kind", ["mlp", "gcn", "dmpnn", "smiles_cnn"])
def test_deep_cv_is_byte_reproducible(kind: str, drug_smiles: list[str], tmp_path: Path) -> None:
    X, X_test = _molecules(drug_smiles)
    y = np.random.default_rng(7).normal(size=(len(X), 1))
    folds = _folds(len(X), 3)
    params: dict[str, Any] = {"epochs": 2, "batch_size": 16, "scheduler": "plateau"}
    if kind == "smiles_cnn":
        params.update(tta=2, augment=2)
    t0 = time.perf_counter()
    runs = [
        cross_validate(kind, REG, params, 11, X, y, folds, X_test, log_dir=tmp_path / run)
        for run in ("a", "b")
    ]
    a, b = runs
    assert a.test is not None and b.test is not None
    assert np.isfinite(a.oof).all() and a.oof.tobytes() == b.oof.tobytes()
    assert a.test.tobytes() == b.test.tobytes()
    for k in range(3):  # fold curves: inner train vs inner validation loss
        metrics = tmp_path / "a" / f"fold_{k}" / "plots" / "metrics"
        assert (metrics / "train_loss.tsv").exists() and (metrics / "val_loss.tsv").exists()
    assert time.perf_counter() - t0 < 40


def test_random_forest_regression_is_byte_reproducible_in_parallel() -> None:
    rng = np.random.default_rng(0)
    F = rng.normal(size=(400, 20))
    y = (F[:, :1] + rng.normal(size=(400, 1))).astype(float)
    X = ModelInput(["C"] * 400, F, [f"f{i}" for i in range(20)])
    params = {"n_estimators": 200, "n_jobs": -1}
    preds = [build_model("random_forest", REG, params, 0).fit(X, y).predict(X) for _ in "ab"]
    assert preds[0].tobytes() == preds[1].tobytes()
    sequential = RandomForestRegressor(n_estimators=200, n_jobs=1, random_state=0)
    assert preds[0][:, 0].tobytes() == sequential.fit(F, y[:, 0]).predict(F).tobytes()


def test_forest_predict_in_row_blocks_matches_sequential() -> None:
    rng = np.random.default_rng(1)
    F = rng.normal(size=(300, 10))
    labels = (F[:, 0] > 0).astype(int) + (F[:, 1] > 0)
    forest = RandomForestClassifier(n_estimators=50, n_jobs=-1, random_state=0).fit(F, labels)
    blocks = forest_predict(forest, F, proba=True, rows=37)
    forest.set_params(n_jobs=1)
    assert blocks.tobytes() == forest.predict_proba(F).tobytes()
    X = ModelInput(["C"] * 300, F)
    model = build_model("random_forest", MULTICLASS, {"n_estimators": 50, "n_jobs": -1}, 0)
    a = model.fit(X, labels[:, None].astype(float)).predict(X)
    assert a.tobytes() == model.predict(X).tobytes()
