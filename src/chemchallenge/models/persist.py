"""Saving and loading the fitted fold models (``models/<model>/estimators.pt``) safely.

A plain ``torch.load(weights_only=False)`` is a pickle load: a file from a shared DVC
remote or a teammate could run any code on ``predict`` or ``report``. Here the file is read
with ``torch.load(weights_only=True)``, torch's restricted unpickler, which builds only
tensors and the classes and functions it is given. That allow-list is exactly what this
project writes, checked before anything is built:

- numpy arrays, dtypes and scalars (their reconstruction functions);
- scikit-learn estimators (subclasses of ``BaseEstimator``) and the few compiled
  structures they hold (trees, ball/KD trees, distance metrics);
- XGBoost's scikit-learn wrappers and its ``Booster`` (restored from XGBoost's own
  serialised model bytes, no pickle inside);
- CatBoost's ``CatBoostClassifier`` / ``CatBoostRegressor`` (exactly these two classes:
  their state is their params and the model as CatBoost's own binary ``cbm`` bytes, which
  CatBoost's C++ loader reads back, no pickle inside);
- this project's estimator containers, listed by name in :data:`PROJECT_GLOBALS`
  (networks are stored as a ``state_dict`` plus their settings and rebuilt on load:
  no ``nn.Module`` is pickled).

Anything else (``os.system``, ``builtins.eval``, ``getattr``, any other class or
function) makes the load stop with a one-line :class:`~chemchallenge.errors.InputError`
before any object is built.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from chemchallenge.errors import InputError, MissingInputError
from chemchallenge.io import atomic_write

#: classes and functions of this project that a saved estimator may reference
PROJECT_GLOBALS = frozenset(
    {
        "chemchallenge.tasks.TaskSpec",
        "chemchallenge.tasks.TaskType",
        "chemchallenge.models.tabular.PerTargetModel",
        "chemchallenge.models.tabular._to_bits",
        "chemchallenge.models.deep.DeepEstimator",
        "chemchallenge.models.datamodules.TabularAdapter",
        "chemchallenge.models.datamodules.SmilesAdapter",
        "chemchallenge.models.datamodules.GraphAdapter",
        "chemchallenge.features.tokenizer.SmilesVocab",
    }
)
#: functions of numpy / scikit-learn that rebuild arrays and compiled objects
LIBRARY_FUNCTIONS = frozenset(
    {
        "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray.scalar",
        "numpy.core.multiarray.scalar",
        "sklearn.neighbors._ball_tree.newObj",
        "sklearn.neighbors._kd_tree.newObj",
        "sklearn.metrics._dist_metrics.newObj",
        "collections.OrderedDict",
        "builtins.set",
        "builtins.frozenset",
        "builtins.bytearray",
        "builtins.slice",
        "builtins.complex",
    }
)
#: CatBoost's estimators (not its other classes: pools, loaders, widgets)
CATBOOST_CLASSES = frozenset(
    {"catboost.core.CatBoostClassifier", "catboost.core.CatBoostRegressor"}
)
#: compiled scikit-learn classes (not estimators) found inside fitted estimators
SKLEARN_STRUCTURES = ("sklearn.tree._tree.", "sklearn.neighbors.", "sklearn.metrics._dist_metrics.")


def _allowed_class(name: str, obj: Any) -> bool:
    import numpy as np

    if not isinstance(obj, type):
        return False
    module = name.rsplit(".", 1)[0]
    if module == "numpy" or module.startswith("numpy."):
        return issubclass(obj, np.ndarray | np.dtype | np.generic)
    if module.startswith("sklearn."):
        from sklearn.base import BaseEstimator

        if ".tests" in module or "_mocking" in module:
            return False
        return issubclass(obj, BaseEstimator) or name.startswith(SKLEARN_STRUCTURES)
    if module.startswith("xgboost."):
        from xgboost import Booster
        from xgboost.sklearn import XGBModel

        return issubclass(obj, XGBModel | Booster)
    if module.startswith("catboost."):
        return name in CATBOOST_CLASSES
    return False


def _resolve(name: str) -> Any:
    module, _, attr = name.rpartition(".")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj


def allowed_globals(names: list[str]) -> tuple[list[Any], list[str]]:
    """The objects for the allowed ``names`` and the names refused (nothing is imported
    for a name outside numpy, scikit-learn, XGBoost, CatBoost and this project)."""
    allowed, refused = [], []
    libraries = (
        "numpy.",
        "sklearn.",
        "xgboost.",
        "catboost.",
        "chemchallenge.",
        "collections.",
        "builtins.",
    )
    for name in names:
        if not name.startswith(libraries):
            refused.append(name)
            continue
        if name.startswith("chemchallenge.") and name not in PROJECT_GLOBALS:
            refused.append(name)
            continue
        obj = _resolve(name)
        if obj is None:
            refused.append(name)
        elif name in PROJECT_GLOBALS or name in LIBRARY_FUNCTIONS or _allowed_class(name, obj):
            allowed.append(obj)
        else:
            refused.append(name)
    return allowed, refused


def _numpy_dtype_classes() -> list[Any]:
    """numpy's per-dtype classes: torch's unpickler must be told it may ``BUILD`` them."""
    import numpy as np

    dtypes = getattr(np, "dtypes", None)
    if dtypes is None:
        return []
    return [c for c in vars(dtypes).values() if isinstance(c, type) and issubclass(c, np.dtype)] + [
        np.dtype,
        np.ndarray,
    ]


def save_estimators(path: Path, estimators: list[Any]) -> None:
    """Write the fitted fold models (atomically; networks as state dicts, see module doc)."""
    import torch

    atomic_write(Path(path), lambda p: torch.save(list(estimators), p))


def load_estimators(path: Path, model: str = "") -> list[Any]:
    """The fitted fold models of ``path``, refusing any file that references something
    this project never writes (see the module docstring)."""
    import pickle

    import torch

    path = Path(path)
    retrain = f"retrain it with `dvc repro train-{model}`" if model else "retrain the model"
    if not path.exists():
        raise MissingInputError(f"{path} not found: {retrain} (dvc repro) first")
    if not path.is_file():
        raise InputError(str(path), f"is not a file; {retrain}")
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception as err:  # not a torch zip file, truncated, ...
        raise InputError(
            str(path), f"not a model file written by chemchallenge ({err}); {retrain}"
        ) from err
    objs, refused = allowed_globals(sorted(names))
    if refused:
        raise InputError(
            str(path),
            f"refused to load: it references {refused[:5]}, which no model saved by "
            f"chemchallenge contains (a foreign or tampered file could run code); {retrain}",
        )
    try:
        with torch.serialization.safe_globals(objs + _numpy_dtype_classes()):
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(str(path), f"refused to load: {first}; {retrain}") from err
    if not isinstance(loaded, list):
        raise InputError(str(path), f"does not hold a list of fold models; {retrain}")
    return loaded
