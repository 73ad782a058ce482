"""Stacking: a linear model on the members' out-of-fold predictions.

- regression: per target, ridge regression with non-negative coefficients on the
  members' predictions (Breiman's stacked regression);
- binary / multi-label: per target, logistic regression on the members' logits;
- multi-class: multinomial logistic regression on the members' log-probabilities;
- ``label_stacking`` (multi-label): per label, a logistic regression on the members'
  logits of *every* label, so that one label's predictions inform another's (the
  label structure: e.g. P(Y1=1 | Y2=1) = 0.97 on challenge-admet). Like a classifier
  chain, but order-free and fitted on out-of-fold predictions only, so it is scored
  by the same nested CV as every other combiner.

The fitted coefficients are kept as plain arrays, so ``weights.json`` holds the whole
stacker and the predictor can rebuild it without pickles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, softmax
from sklearn.linear_model import LogisticRegression, Ridge

from chemchallenge.tasks import TaskSpec, TaskType

EPS = 1e-6


def _features(P: np.ndarray, task: TaskSpec) -> np.ndarray:
    """Per-output feature blocks: (n, n_models, n_outputs) in the stacker's scale."""
    if task.task_type == TaskType.REGRESSION:
        return P
    p = np.clip(P, EPS, 1 - EPS)
    if task.task_type == TaskType.MULTICLASS:
        return np.log(p)
    return np.log(p) - np.log1p(-p)


@dataclass
class Stacker:
    task: TaskSpec
    coef: np.ndarray  # (n_outputs, n_models); multi-class: (n_classes, n_models * n_classes)
    intercept: np.ndarray  # (n_outputs,)
    #: label stacking: every output sees all members' logits of all outputs
    cross: bool = False

    def predict(self, P: np.ndarray) -> np.ndarray:
        F = _features(P, self.task)
        if self.cross:
            return expit(F.reshape(len(F), -1) @ self.coef.T + self.intercept)
        if self.task.task_type == TaskType.MULTICLASS:
            return softmax(F.reshape(len(F), -1) @ self.coef.T + self.intercept, axis=1)
        z = np.einsum("nmk,km->nk", F, self.coef) + self.intercept
        return z if self.task.task_type == TaskType.REGRESSION else expit(z)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "stacking",
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
            "cross": self.cross,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], task: TaskSpec) -> Stacker:
        coef, intercept = np.asarray(d["coef"], float), np.asarray(d["intercept"], float)
        return cls(task, coef, intercept, bool(d.get("cross", False)))


def _mean_of_members(n_models: int, task: TaskSpec, prior: float) -> tuple[np.ndarray, float]:
    """Coefficients that reproduce the members' mean (regression) or a constant prior."""
    if task.task_type == TaskType.REGRESSION:
        return np.full(n_models, 1.0 / n_models), 0.0
    p = float(np.clip(prior, EPS, 1 - EPS))
    return np.zeros(n_models), float(np.log(p) - np.log1p(-p))


def fit_stacker(P: np.ndarray, y: np.ndarray, task: TaskSpec, C: float = 1.0) -> Stacker:
    """Fit the stacker on member predictions ``P`` and labels ``y`` (NaN: unlabelled)."""
    n, n_models, k = P.shape
    y = np.asarray(y, dtype=float).reshape(n, -1)
    F = _features(P, task)
    if task.task_type == TaskType.MULTICLASS:
        keep = ~np.isnan(y[:, 0])
        t = y[keep, 0].astype(int)
        coef = np.zeros((k, n_models * k))
        intercept = np.full(k, -30.0)  # classes never seen in training: probability ~0
        if len(np.unique(t)) < 2:
            intercept[t[0] if len(t) else 0] = 0.0
            return Stacker(task, coef, intercept)
        model = LogisticRegression(C=C, max_iter=2000).fit(F[keep].reshape(keep.sum(), -1), t)
        seen = model.classes_.astype(int)
        if len(seen) == 2:  # sklearn keeps one row of coefficients for two classes
            coef[seen[1]], intercept[seen[1]] = model.coef_[0], model.intercept_[0]
            intercept[seen[0]] = 0.0
        else:
            coef[seen], intercept[seen] = model.coef_, model.intercept_
        return Stacker(task, coef, intercept)
    coef = np.zeros((k, n_models))
    intercept = np.zeros(k)
    for j in range(k):
        keep = ~np.isnan(y[:, j])
        X, t = F[keep, :, j], y[keep, j]
        if task.task_type == TaskType.REGRESSION:
            if len(t) < 2:
                coef[j], intercept[j] = _mean_of_members(n_models, task, 0.0)
                continue
            model = Ridge(alpha=1.0, positive=True).fit(X, t)
            coef[j], intercept[j] = model.coef_, model.intercept_
        elif len(np.unique(t)) < 2:
            coef[j], intercept[j] = _mean_of_members(n_models, task, t.mean() if len(t) else 0.5)
        else:
            model = LogisticRegression(C=C, max_iter=2000).fit(X, t.astype(int))
            coef[j], intercept[j] = model.coef_[0], model.intercept_[0]
    return Stacker(task, coef, intercept)


def fit_label_stacker(P: np.ndarray, y: np.ndarray, task: TaskSpec, C: float = 1.0) -> Stacker:
    """Label stacking (multi-label): per label, a logistic regression on the logits of all
    members for all labels (coefficients ``(k, n_models * k)``, column ``m * k + o`` =
    member ``m``'s output ``o``). Other task types have one output per decision, so this
    is :func:`fit_stacker` there."""
    if task.task_type != TaskType.MULTILABEL:
        return fit_stacker(P, y, task, C)
    n, n_models, k = P.shape
    y = np.asarray(y, dtype=float).reshape(n, -1)
    X = _features(P, task).reshape(n, -1)
    coef = np.zeros((k, n_models * k))
    intercept = np.zeros(k)
    for j in range(k):
        keep = ~np.isnan(y[:, j])
        t = y[keep, j]
        if len(np.unique(t)) < 2:
            coef[j], intercept[j] = _mean_of_members(
                n_models * k, task, t.mean() if len(t) else 0.5
            )
            continue
        model = LogisticRegression(C=C, max_iter=2000).fit(X[keep], t.astype(int))
        coef[j], intercept[j] = model.coef_[0], model.intercept_[0]
    return Stacker(task, coef, intercept, cross=True)
