"""Weighted means of member models: top-k by CV, or simplex weights fitted on OOF.

Weights are shared by all outputs, non-negative and sum to one (softmax parametrisation,
optimised with L-BFGS). The loss is a smooth surrogate of the challenge metric: the
mean squared error scaled per target for regression, the log-loss of the blended
probabilities for classification (F1, accuracy and ROC-AUC are step functions of the
weights and would give the optimiser no gradient).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy.optimize import minimize
from scipy.special import softmax

from chemchallenge.errors import ConfigError
from chemchallenge.metrics import get_metric, score
from chemchallenge.tasks import TaskSpec, TaskType

EPS = 1e-6


class Combiner(Protocol):
    def predict(self, P: np.ndarray) -> np.ndarray:
        """(n, n_models, n_outputs) member predictions -> (n, n_outputs)."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (``weights.json``); ``combiner_from_dict`` reverses it."""
        ...


@dataclass
class WeightedMean:
    """``sum_m w_m P[:, m, :]`` with fixed weights (top-k mean, fitted weights, one model)."""

    weights: np.ndarray
    kind: str = "weights"

    def predict(self, P: np.ndarray) -> np.ndarray:
        return np.tensordot(P, self.weights, axes=([1], [0]))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "weights": [float(w) for w in self.weights]}


def model_scores(P: np.ndarray, y: np.ndarray, task: TaskSpec) -> np.ndarray:
    """The challenge metric of each member on the given rows (thresholds 0.5)."""
    return np.array([score(task.metric, y, P[:, m, :], task) for m in range(P.shape[1])])


def rank_models(P: np.ndarray, y: np.ndarray, task: TaskSpec) -> np.ndarray:
    """Member indices from best to worst on these rows."""
    s = model_scores(P, y, task)
    s = np.where(np.isnan(s), -np.inf if get_metric(task.metric).greater_is_better else np.inf, s)
    order = np.argsort(-s if get_metric(task.metric).greater_is_better else s, kind="stable")
    return order


def fold_mean_scores(P: np.ndarray, y: np.ndarray, folds: np.ndarray, task: TaskSpec) -> np.ndarray:
    """Each member's challenge metric (thresholds 0.5) per fold of these rows, averaged
    over the folds: the CV mean of the member restricted to these rows."""
    y = np.asarray(y, dtype=float).reshape(len(P), -1)
    folds = np.asarray(folds)
    per_fold = [model_scores(P[folds == k], y[folds == k], task) for k in np.unique(folds)]
    with warnings.catch_warnings():  # a member with no finite fold score: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.asarray(per_fold, dtype=float), axis=0)


def best_member(P: np.ndarray, y: np.ndarray, folds: np.ndarray, task: TaskSpec) -> int:
    """The member with the best :func:`fold_mean_scores` on these rows (ties: the first)."""
    gib = get_metric(task.metric).greater_is_better
    s = fold_mean_scores(P, y, folds, task)
    s = np.where(np.isnan(s), -np.inf if gib else np.inf, s)
    return int(np.argmax(s) if gib else np.argmin(s))


def fit_best_single(
    P: np.ndarray, y: np.ndarray, folds: np.ndarray, task: TaskSpec
) -> WeightedMean:
    """All weight on the :func:`best_member` of these rows (the "best single model")."""
    return WeightedMean(np.eye(P.shape[1])[best_member(P, y, folds, task)], "single")


def fit_top_k(P: np.ndarray, y: np.ndarray, task: TaskSpec, k: int) -> WeightedMean:
    """Equal weights on the ``k`` members that score best on these rows."""
    top = rank_models(P, y, task)[: max(1, min(k, P.shape[1]))]
    w = np.zeros(P.shape[1])
    w[top] = 1.0 / len(top)
    return WeightedMean(w, "mean_topk")


def surrogate_loss(task: TaskSpec) -> Callable[[np.ndarray, np.ndarray], float]:
    """Smooth loss(pred, y) used to fit weights and stackers."""
    if task.task_type == TaskType.REGRESSION:

        def mse(pred: np.ndarray, y: np.ndarray) -> float:
            var = np.nanvar(y, axis=0)
            scale = np.where(var > 0, var, 1.0)
            return float(np.nanmean((pred - y) ** 2 / scale))

        return mse
    if task.task_type == TaskType.MULTICLASS:

        def cross_entropy(pred: np.ndarray, y: np.ndarray) -> float:
            keep = ~np.isnan(y[:, 0])
            p = pred[keep, y[keep, 0].astype(int)]
            return float(-np.mean(np.log(np.clip(p, EPS, 1.0))))

        return cross_entropy

    def log_loss(pred: np.ndarray, y: np.ndarray) -> float:
        p = np.clip(pred, EPS, 1 - EPS)
        return float(np.nanmean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))

    return log_loss


def fit_weights(P: np.ndarray, y: np.ndarray, task: TaskSpec) -> WeightedMean:
    """Non-negative weights summing to one that minimise the surrogate loss on OOF."""
    n_models = P.shape[1]
    if n_models == 1:
        return WeightedMean(np.ones(1))
    loss = surrogate_loss(task)
    y = np.asarray(y, dtype=float).reshape(len(P), -1)

    def objective(z: np.ndarray) -> float:
        return loss(np.tensordot(P, softmax(z), axes=([1], [0])), y)

    res = minimize(objective, np.zeros(n_models), method="L-BFGS-B")
    w = softmax(res.x)
    w[w < 1e-3] = 0.0  # exact zeros for models the blend does not use
    return WeightedMean(w / w.sum())


Fit = Callable[[np.ndarray, np.ndarray], Combiner]


def _stacking(task: TaskSpec, top_k: int) -> Fit:
    from chemchallenge.ensemble.stacking import fit_stacker

    return lambda P, y: fit_stacker(P, y, task)


def _label_stacking(task: TaskSpec, top_k: int) -> Fit:
    from chemchallenge.ensemble.stacking import fit_label_stacker

    return lambda P, y: fit_label_stacker(P, y, task)


#: ``ensemble.method`` name -> (task, top_k) -> ``fit(P, y) -> Combiner``
METHODS: dict[str, Callable[[TaskSpec, int], Fit]] = {
    "mean_topk": lambda task, top_k: lambda P, y: fit_top_k(P, y, task, top_k),
    "weights": lambda task, top_k: lambda P, y: fit_weights(P, y, task),
    "stacking": _stacking,
    "label_stacking": _label_stacking,
}


def make_fit(method: str, task: TaskSpec, top_k: int = 3) -> Fit:
    """``fit(P, y) -> Combiner`` for ``ensemble.method``."""
    if method not in METHODS:
        raise ConfigError(f"ensemble.method: {method!r} is not one of {list(METHODS)}")
    return METHODS[method](task, top_k)


def combiner_from_dict(d: dict[str, Any], task: TaskSpec) -> Combiner:
    """Rebuild the combiner saved in ``weights.json`` (used by the predictor)."""
    if d["type"] in ("weights", "mean_topk", "single"):
        return WeightedMean(np.asarray(d["weights"], dtype=float), d["type"])
    if d["type"] == "stacking":
        from chemchallenge.ensemble.stacking import Stacker

        return Stacker.from_dict(d, task)
    raise ValueError(f"unknown combiner type {d['type']!r}")
