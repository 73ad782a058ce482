"""Tree, neighbour and linear models on tabular features (scikit-learn, XGBoost, CatBoost).

One estimator per target, each fitted on the rows where that target is labelled, so
missing labels in multi-label data cost nothing. Hyper-parameters in params.yaml are
passed to the underlying scikit-learn / XGBoost / CatBoost constructor unchanged, and one
params.yaml does not give takes the library's default: the code sets only how a model runs
(``n_jobs``/``thread_count``, XGBoost's ``tree_method`` and device, CatBoost's silence and
task type) and what a wrapper needs (knn's Tanimoto ``metric``, the linear models'
regularisation per task family). None of them uses
a validation set, and predictions are bit-identical for a seed (see :func:`forest_predict`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from chemchallenge.device import catboost_task_type, xgboost_device
from chemchallenge.errors import ConfigError
from chemchallenge.models.base import ModelInput, register_model
from chemchallenge.tasks import TaskSpec, TaskType


class PerTargetModel:
    """Fits a clone of ``template`` per target; outputs follow the TaskSpec contract."""

    uses_validation: ClassVar[bool] = False  # fit ignores X_val / y_val

    def __init__(self, task: TaskSpec, template: BaseEstimator) -> None:
        self.task = task
        self.template = template
        self.models: list[BaseEstimator | float] = []
        self.classes: np.ndarray | None = None  # multi-class: class indices seen in fit

    def check_params(self) -> None:
        """Let the library validate the hyper-parameters before any training:
        scikit-learn's ``_validate_params`` on every step, then a fit on 64 random rows
        (at most 2 trees, one thread), which catches what only ``fit`` checks (XGBoost's
        parameters, incompatible solver/penalty pairs). XGBoost's "parameters not used"
        warning is an error here: a misspelt name would otherwise be silently ignored."""
        import warnings

        steps = [s for _, s in self.template.steps] if hasattr(self.template, "steps") else []
        xgb = type(self.template).__module__.startswith("xgboost")
        for est in [self.template, *steps]:
            if getattr(est, "_parameter_constraints", None) and not xgb:
                est._validate_params()
        tiny = clone(self.template)
        names = tiny.get_params()
        tiny.set_params(**{k: v for k, v in _TINY if k in names})
        rng = np.random.default_rng(0)
        k = max(len(self.task.classes), 2) if self.task.is_classification else 0
        y = np.arange(64) % k if k else rng.normal(size=64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tiny.fit(rng.random(size=(64, 8)), y)
        if xgb:
            unused = sorted(set(getattr(tiny, "kwargs", None) or {}) - _config_keys(tiny))
            if unused:
                raise ConfigError(f"XGBoost does not know the parameter(s) {unused}")

    def _matrix(self, X: ModelInput) -> np.ndarray:
        if X.features is None:
            raise ConfigError("this model needs tabular features: list them under 'features'")
        return X.features

    def fit(
        self,
        X: ModelInput,
        y: np.ndarray,
        X_val: ModelInput | None = None,
        y_val: np.ndarray | None = None,
        log_dir: Path | None = None,
    ) -> PerTargetModel:
        F = self._matrix(X)
        y = np.asarray(y, dtype=float).reshape(len(F), -1)
        self.models = []
        self.classes = None
        for j in range(y.shape[1]):
            mask = ~np.isnan(y[:, j])
            target = y[mask, j]
            if self.task.is_classification:
                target = target.astype(int)
                if len(np.unique(target)) < 2:  # one class only: predict its rate
                    self.models.append(float(target.mean()) if len(target) else 0.5)
                    continue
                if self.task.task_type == TaskType.MULTICLASS:
                    # a fold may lack a class; XGBoost wants labels 0..m-1
                    self.classes = np.unique(target)
                    target = np.searchsorted(self.classes, target)
            model = clone(self.template)
            model.fit(F[mask], target)
            self.models.append(model)
        return self

    def predict(self, X: ModelInput) -> np.ndarray:
        F = self._matrix(X)
        if self.task.task_type == TaskType.MULTICLASS:
            return self._predict_classes(self.models[0], F)
        cols = []
        for model in self.models:
            if isinstance(model, float):
                cols.append(np.full(len(F), model))
            elif self.task.is_classification:
                proba = _predict(model, F, proba=True)
                classes = list(model.classes_)
                cols.append(proba[:, classes.index(1)] if 1 in classes else np.zeros(len(F)))
            else:
                cols.append(_predict(model, F, proba=False))
        return np.column_stack(cols).astype(float)

    def _predict_classes(self, model: BaseEstimator | float, F: np.ndarray) -> np.ndarray:
        k = len(self.task.classes)
        out = np.zeros((len(F), k))
        if isinstance(model, float):
            out[:, round(model)] = 1.0
            return out
        assert self.classes is not None
        out[:, self.classes[model.classes_.astype(int)]] = _predict(model, F, proba=True)
        return out

    def feature_importances(self) -> np.ndarray | None:
        """Mean impurity/gain importance over targets (None for models without one)."""
        imps = [m.feature_importances_ for m in self.models if hasattr(m, "feature_importances_")]
        return np.mean(imps, axis=0) if imps else None


#: the tiny fit of ``check_params``: 2 trees, one thread, whatever the library calls them
_TINY = (("n_estimators", 2), ("iterations", 2), ("n_jobs", 1), ("thread_count", 1))


def _config_keys(model: Any) -> set[str]:
    """Every parameter name in a fitted XGBoost model's configuration."""
    import json

    keys: set[str] = set()

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            keys.update(obj)
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(json.loads(model.get_booster().save_config()))
    return keys


#: forests whose parallel predict sums trees in thread order
_FORESTS = (
    RandomForestClassifier,
    RandomForestRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
)


def forest_predict(
    forest: BaseEstimator, F: np.ndarray, proba: bool, rows: int = 2048
) -> np.ndarray:
    """``forest.predict`` / ``predict_proba``, bit-identical from run to run.

    scikit-learn's parallel forest prediction adds the trees' outputs in the order its
    threads finish, so the last bits vary with ``n_jobs`` != 1. Here every row sums its
    trees in their fixed order (``n_jobs=1`` on a shallow copy); blocks of ``rows`` rows
    run in parallel threads (tree prediction releases the GIL), which changes nothing
    per row.
    """
    one = copy.copy(forest)
    one.n_jobs = 1
    predict = one.predict_proba if proba else one.predict
    blocks = [F[i : i + rows] for i in range(0, len(F), rows)]
    if len(blocks) <= 1 or forest.n_jobs in (None, 1):
        return predict(F)
    parts = Parallel(n_jobs=forest.n_jobs, prefer="threads")(delayed(predict)(b) for b in blocks)
    return np.concatenate(parts)


def _predict(model: BaseEstimator, F: np.ndarray, proba: bool) -> np.ndarray:
    if isinstance(model, _FORESTS):
        return forest_predict(model, F, proba)
    return model.predict_proba(F) if proba else model.predict(F)


def _factory(
    make: Callable[[TaskSpec, dict[str, Any], int], BaseEstimator],
) -> Callable[[TaskSpec, dict[str, Any], int], PerTargetModel]:
    def build(task: TaskSpec, params: dict[str, Any], seed: int) -> PerTargetModel:
        try:
            template = make(task, dict(params), seed)
        except TypeError as err:
            raise ConfigError(f"bad parameter: {err}") from err
        return PerTargetModel(task, template)

    return build


def _decision_tree(task: TaskSpec, p: dict[str, Any], seed: int) -> BaseEstimator:
    cls = DecisionTreeClassifier if task.is_classification else DecisionTreeRegressor
    return cls(random_state=seed, **p)


def _random_forest(task: TaskSpec, p: dict[str, Any], seed: int) -> BaseEstimator:
    p.setdefault("n_jobs", -1)
    cls = RandomForestClassifier if task.is_classification else RandomForestRegressor
    return cls(random_state=seed, **p)


def _xgboost(task: TaskSpec, p: dict[str, Any], seed: int) -> BaseEstimator:
    from xgboost import XGBClassifier, XGBRegressor

    p.setdefault("n_jobs", -1)
    p.setdefault("tree_method", "hist")
    p["device"] = xgboost_device(p.get("device"))  # auto: cuda when a GPU is present
    cls = XGBClassifier if task.is_classification else XGBRegressor
    return cls(random_state=seed, verbosity=0, **p)


def _catboost(task: TaskSpec, p: dict[str, Any], seed: int) -> BaseEstimator:
    """CatBoost (ordered boosting on oblivious trees) with MapLight's defaults, CatBoost's
    own (1000 iterations of depth 6, learning rate chosen by CatBoost from the data size).
    Seeded (``random_seed``) and bit-reproducible on the CPU; silent; never writes its
    ``catboost_info/`` folder. ``task_type: auto`` trains on a GPU when one is present
    (see :func:`chemchallenge.device.catboost_task_type`)."""
    from catboost import CatBoostClassifier, CatBoostRegressor

    if not {"iterations", "n_estimators", "num_boost_round", "num_trees"} & set(p):
        p["iterations"] = 1000  # CatBoost's default, explicit so that check_params can shrink it
    if "thread_count" not in p:
        p["thread_count"] = p.pop("n_jobs", -1)  # -1: all cores, as n_jobs elsewhere
    p["task_type"] = catboost_task_type(p.get("task_type"), p)
    p.setdefault("allow_writing_files", False)
    for noisy in ("verbose", "silent", "logging_level", "verbose_eval"):
        p.pop(noisy, None)
    cls = CatBoostClassifier if task.is_classification else CatBoostRegressor
    return cls(random_seed=seed, logging_level="Silent", **p)


def _to_bits(F: np.ndarray) -> np.ndarray:
    return np.asarray(F) > 0


def _knn(task: TaskSpec, p: dict[str, Any], seed: int) -> BaseEstimator:
    metric = p.setdefault("metric", "jaccard")  # the wrapper's: Tanimoto on fingerprints
    cls = KNeighborsClassifier if task.is_classification else KNeighborsRegressor
    if metric == "jaccard":  # Tanimoto distance on fingerprint bits
        to_bits = FunctionTransformer(_to_bits)  # a module-level function: picklable
        return make_pipeline(to_bits, cls(**p))
    return make_pipeline(StandardScaler(), cls(**p))


def _linear(task: TaskSpec, p: dict[str, Any], seed: int) -> BaseEstimator:
    """One ``params`` for both task families, so the regularisation defaults are the
    wrapper's, per family (C for the logistic regression, alpha for the ridge)."""
    if task.is_classification:
        p.setdefault("C", 0.1)
        p.setdefault("max_iter", 2000)
        if p.get("penalty") == "l1" or p.get("l1_ratio"):
            p.setdefault("solver", "saga")
        return make_pipeline(StandardScaler(), LogisticRegression(random_state=seed, **p))
    p.setdefault("alpha", 10.0)
    return make_pipeline(StandardScaler(), Ridge(**p))


for _kind, _make in {
    "decision_tree": _decision_tree,
    "random_forest": _random_forest,
    "xgboost": _xgboost,
    "catboost": _catboost,
    "knn": _knn,
    "linear": _linear,
}.items():
    register_model(_kind, needs_features=True)(_factory(_make))
