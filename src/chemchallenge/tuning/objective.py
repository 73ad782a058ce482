"""The tuning objective: the challenge metric of K-fold CV on the fixed folds.

After each fold the trial reports the running mean of the fold scores; the pruner may
then stop an unpromising trial early (``optuna.TrialPruned``). Folds are always visited
in the same order, so running means of different trials compare like with like.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna

from chemchallenge.models.base import ModelInput
from chemchallenge.models.cv import cross_validate
from chemchallenge.tasks import TaskSpec
from chemchallenge.tuning.space import SearchSpace, suggest_params

#: user attribute marking the trial that evaluates the params.yaml defaults
DEFAULT_ATTR = "default"


@dataclass
class TuneData:
    """Everything one trial needs (arrays only: the objective never reads files)."""

    kind: str
    task: TaskSpec
    X: ModelInput
    y: np.ndarray
    folds: np.ndarray
    fold_ids: list[int]
    base_params: dict[str, Any] = field(default_factory=dict)
    seed: int = 42

    def fingerprint(self, features: list[str]) -> str:
        """Hash of the data trials are scored on: rows, labels, folds, task and metric, the
        feature names and values."""
        h = hashlib.sha256()
        h.update(json.dumps([self.kind, features, self.task.to_dict(), self.fold_ids]).encode())
        h.update(np.ascontiguousarray(np.nan_to_num(self.y, nan=-999.0)).tobytes())
        h.update(np.ascontiguousarray(self.folds).astype(np.int64).tobytes())
        h.update("\n".join(self.X.smiles).encode())
        if self.X.features is not None:
            h.update(np.ascontiguousarray(self.X.features, dtype=np.float64).tobytes())
            h.update("\n".join(self.X.feature_names or []).encode())
        return h.hexdigest()[:16]


def make_objective(
    data: TuneData, space: SearchSpace, default: dict[str, Any]
) -> Callable[[optuna.Trial], float]:
    """Objective for ``study.optimize``.

    Parameters
    ----------
    data
        Inputs, labels and folds of the model being tuned.
    space
        The parsed search space.
    default
        The params.yaml values of tuned parameters (see ``default_point``); the trial
        enqueued with ``user_attrs={"default": True}`` suggests only those, leaving the
        others at the model's own defaults, and is never pruned.
    """

    def objective(trial: optuna.Trial) -> float:
        is_default = bool(trial.user_attrs.get(DEFAULT_ATTR, False))
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        suggested = suggest_params(trial, space, set(default) if is_default else None)
        params = {**data.base_params, **suggested}
        running: list[float] = []

        def on_fold(k: int, score: float) -> None:
            running.append(score)
            step = len(running) - 1
            trial.report(float(np.nanmean(running)), step)
            if not is_default and trial.should_prune():
                trial.set_user_attr("fold_scores", [float(s) for s in running])
                raise optuna.TrialPruned(f"pruned after fold {k} (step {step})")

        res = cross_validate(
            data.kind,
            data.task,
            params,
            data.seed,
            data.X,
            data.y,
            data.folds,
            fold_callback=on_fold,
            only_folds=data.fold_ids,
            train_scores=False,
        )
        trial.set_user_attr("fold_scores", [float(s) for s in res.fold_scores])
        trial.set_user_attr("seconds", round(res.seconds, 2))
        return float(np.nanmean(res.fold_scores))

    return objective
