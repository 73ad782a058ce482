"""Learning curve over training-set size of a tabular model (pure computation, no files).

:func:`learning_curve`: on the fixed folds, each fold model is fitted on a seeded
  random ``fraction`` of its training folds (nested subsets: the 50 % sample contains the
25 % one) and scored on that subset (train) and on its whole held-out fold (validation).
The gap between the two curves and the slope of the validation curve read bias against
variance, and whether more data would help.

(The scaffold-split CV needs nothing new: :func:`chemchallenge.models.cv.cross_validate` on
the scaffold folds.)

Only models without a validation split (the tabular kinds) are accepted: their fit takes
the training rows only, exactly as :func:`chemchallenge.models.cv.cross_validate` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chemchallenge.metrics import score
from chemchallenge.models.base import ModelInput, build_model, uses_validation
from chemchallenge.tasks import TaskSpec


def _fit(kind: str, task: TaskSpec, params: dict[str, Any], seed: int) -> Any:
    model = build_model(kind, task, params, seed)
    if uses_validation(model):
        raise ValueError(f"{kind}: a model with a validation split has no cheap learning curve")
    return model


def _summary(values: list[float]) -> dict[str, Any]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "folds": values}


def learning_curve(
    kind: str,
    task: TaskSpec,
    params: dict[str, Any],
    seed: int,
    X: ModelInput,
    y: np.ndarray,
    folds: np.ndarray,
    fractions: list[float],
) -> list[dict[str, Any]]:
    """One point per fraction: ``{"fraction", "n_train", "train", "validation"}`` (each
    score ``{"mean", "std", "folds"}``); fold model ``k`` uses seed ``seed + k``, as in
    the train stage, so fraction 1.0 reproduces its CV."""
    ks = sorted(set(folds.tolist()))
    order = {k: np.random.default_rng(seed + k).permutation(np.flatnonzero(folds != k)) for k in ks}
    out = []
    for f in fractions:
        train, val, sizes = [], [], []
        for k in ks:
            va = np.flatnonzero(folds == k)
            rows = np.sort(order[k][: max(2, round(f * len(order[k])))])
            model = _fit(kind, task, params, seed + k).fit(X.subset(rows), y[rows])
            train.append(score(task.metric, y[rows], model.predict(X.subset(rows)), task))
            val.append(score(task.metric, y[va], model.predict(X.subset(va)), task))
            sizes.append(len(rows))
        out.append(
            {
                "fraction": float(f),
                "n_train": int(np.mean(sizes) + 0.5),
                "train": _summary(train),
                "validation": _summary(val),
            }
        )
    return out
