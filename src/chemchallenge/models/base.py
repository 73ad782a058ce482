"""The estimator contract shared by tree models and neural networks.

Every estimator sees a :class:`ModelInput` (SMILES plus the tabular feature matrix its
params.yaml entry asked for) and returns a float matrix with one column per
``TaskSpec.output_columns``: values in the original units (regression), probabilities
of label 1 (binary, multi-label) or class probabilities (multi-class). ``y`` is an
(n, n_targets) float array with NaN for missing labels; for multi-class it is (n, 1)
of class indices. Models never read files: the train stage hands them arrays.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from chemchallenge.errors import ConfigError
from chemchallenge.models.kinds import KIND_MODULES
from chemchallenge.tasks import TaskSpec


@dataclass
class ModelInput:
    """What a model may use for a set of molecules (rows aligned)."""

    smiles: list[str]
    features: np.ndarray | None = None  # (n, d) float, NaN-free, or None
    feature_names: list[str] | None = None

    def __len__(self) -> int:
        return len(self.smiles)

    def subset(self, idx: np.ndarray) -> ModelInput:
        idx = np.asarray(idx)
        return ModelInput(
            smiles=[self.smiles[i] for i in idx],
            features=None if self.features is None else self.features[idx],
            feature_names=self.feature_names,
        )


class Estimator(Protocol):
    #: True when ``fit`` uses (X_val, y_val) to choose anything (early stopping, best
    #: epoch, LR schedule): cross-validation then hands it an inner split of the training
    #: folds, never the scored fold (see :func:`chemchallenge.models.cv.cross_validate`)
    uses_validation: ClassVar[bool]

    def fit(
        self,
        X: ModelInput,
        y: np.ndarray,
        X_val: ModelInput | None = None,
        y_val: np.ndarray | None = None,
        log_dir: Path | None = None,
    ) -> Estimator:
        """Fit on (X, y). Networks use (X_val, y_val) for early stopping and write
        learning curves to ``log_dir`` (DVCLive) when given; tree models may ignore both."""
        ...

    def predict(self, X: ModelInput) -> np.ndarray:
        """(n, task.n_outputs) float scores."""
        ...


def uses_validation(model: Any) -> bool:
    """Whether ``model`` fits on a validation set (False for estimators that do not say)."""
    return bool(getattr(model, "uses_validation", False))


#: kind -> factory(task, params, seed) -> Estimator
MODEL_KINDS: dict[str, Callable[[TaskSpec, dict[str, Any], int], Estimator]] = {}

#: kind -> True when the model needs a tabular feature matrix (``features`` in params.yaml)
NEEDS_FEATURES: dict[str, bool] = {}


def register_model(
    kind: str, needs_features: bool = True
) -> Callable[[Callable[..., Estimator]], Callable[..., Estimator]]:
    def deco(factory: Callable[..., Estimator]) -> Callable[..., Estimator]:
        MODEL_KINDS[kind] = factory
        NEEDS_FEATURES[kind] = needs_features
        return factory

    return deco


def _load_kind(kind: str) -> None:
    """Import the module that registers ``kind`` (only that one: see ``models/kinds.py``)."""
    if kind not in KIND_MODULES:
        raise ConfigError(f"unknown model kind {kind!r}; choose one of {sorted(KIND_MODULES)}")
    importlib.import_module(KIND_MODULES[kind])


def build_model(kind: str, task: TaskSpec, params: dict[str, Any], seed: int) -> Estimator:
    """Build an unfitted estimator of ``kind`` with hyper-parameters ``params``."""
    _load_kind(kind)
    try:
        return MODEL_KINDS[kind](task, dict(params), seed)
    except TypeError as err:
        raise ConfigError(f"model kind {kind!r}: bad parameters {params}: {err}") from err


def needs_features(kind: str) -> bool:
    _load_kind(kind)
    return NEEDS_FEATURES.get(kind, True)


def check_params(kind: str, task: TaskSpec, params: dict[str, Any], seed: int, where: str) -> None:
    """Validate ``params`` before any training, with the library's own checks: build the
    estimator, then let it check itself (scikit-learn's ``_validate_params``, a tiny XGBoost
    fit, the networks' typed settings). A bad value stops the run with a
    :class:`ConfigError` naming ``where`` (e.g. ``models.xgb.params``)."""
    try:
        est = build_model(kind, task, params, seed)
        check = getattr(est, "check_params", None)
        if check is not None:
            check()
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from err
    except Exception as err:  # the library's own message: InvalidParameterError, XGBoostError
        text = " ".join(str(err).split()) or type(err).__name__
        raise ConfigError(f"{where}: {text[:300]}") from err
