"""Stage `ensemble`: combine trained models on their out-of-fold predictions.

``ensemble.method``: ``mean_topk`` (mean of the k best models by CV), ``weights``
(non-negative weights summing to one, fitted on OOF), ``stacking`` (a linear model on
OOF) or ``label_stacking`` (multi-label: each label's stacker also sees the other labels'
predictions). For F1-type metrics, per-target decision thresholds are tuned on OOF too. The
honest score is nested CV (see :mod:`chemchallenge.ensemble.nested`), reported at 0.5
and with tuned thresholds, next to the best single model scored the same way.

Every score in ``scores.json`` is nested: the per-target scores and the full-OOF score
use each outer fold's own thresholds, and the best single model is chosen per outer
fold on the other folds (``best_single_per_fold``). Only the fitted combiner,
``thresholds.json``, the test predictions and ``best_single_model`` use all rows.

Writes ``ensemble/{oof,test}.parquet`` (the format of a model's), ``thresholds.json``,
``weights.json`` and ``metrics/ensemble.json`` (the keys of ``metrics/<model>.json``).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from chemchallenge.config import Config
from chemchallenge.ensemble.nested import (
    nested_best_single,
    nested_cv,
    nested_per_target,
    nested_score,
)
from chemchallenge.ensemble.thresholds import tune_thresholds, uses_thresholds
from chemchallenge.ensemble.weights import best_member, make_fit
from chemchallenge.errors import ChemChallengeError, ConfigError, MissingInputError
from chemchallenge.inputs import load_task
from chemchallenge.io import read_parquet, write_json, write_parquet
from chemchallenge.metrics import get_metric, score
from chemchallenge.paths import Paths
from chemchallenge.scores import read_scores, write_scores
from chemchallenge.tasks import TaskSpec, TaskType

NAME = "ensemble"


def members(cfg: Config, paths: Paths) -> list[str]:
    """``ensemble.models``: a list, or "all" = every trained model with predictions."""
    chosen = cfg.ensemble.models
    if chosen == "all":
        names = list(cfg.train.models)
        absent = [m for m in names if not paths.oof(m).exists()]
        if absent:
            raise MissingInputError(
                f"ensemble: no out-of-fold predictions for {', '.join(absent)} "
                f"({paths.oof(absent[0])} not found): run `chemchallenge dvc-yaml` then "
                "`dvc repro`, or train them first"
            )
        return names
    if isinstance(chosen, str):
        raise ConfigError(f"ensemble.models: expected 'all' or a list of models, got {chosen!r}")
    for m in chosen:
        cfg.model(m)
        if not paths.oof(m).exists():
            raise MissingInputError(f"{paths.oof(m)} not found: run train-{m} first")
    return list(chosen)


def load_predictions(
    paths: Paths, names: list[str], task: TaskSpec, train_ids: pd.Series, test_ids: pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """Members' OOF (n, M, k) and test (n_test, M, k) predictions, rows in prepared order."""
    cols = task.output_columns
    oof, test = [], []
    for m in names:
        o = read_parquet(paths.oof(m)).set_index("id")
        t = read_parquet(paths.test_pred(m)).set_index("id")
        if set(o.index) != set(train_ids) or set(t.index) != set(test_ids):
            raise ChemChallengeError(
                f"{paths.model_dir(m)}: predictions are for other IDs; retrain"
            )
        oof.append(o.loc[train_ids, cols].to_numpy(float))
        test.append(t.loc[test_ids, cols].to_numpy(float))
    return np.stack(oof, axis=1), np.stack(test, axis=1)


def member_cv(
    paths: Paths, names: list[str], P: np.ndarray, y: np.ndarray, folds: np.ndarray, task: TaskSpec
) -> np.ndarray:
    """Each member's CV mean: from ``metrics/<model>.json``, else from its OOF per fold."""
    out = []
    for j, m in enumerate(names):
        saved = (read_scores(paths, m) or {}).get("cv_mean")
        if saved is not None:
            out.append(float(saved))
            continue
        ks = sorted(set(folds.tolist()))
        out.append(np.mean([score(task.metric, y[folds == k], P[folds == k, j], task) for k in ks]))
    return np.asarray(out, dtype=float)


def run(cfg: Config, paths: Paths) -> None:
    t0 = time.time()
    task = load_task(paths)
    metric = get_metric(task.metric, task.task_type)
    names = members(cfg, paths)
    train, test = read_parquet(paths.train), read_parquet(paths.test)
    folds_df = read_parquet(paths.folds).set_index("id")
    folds = folds_df.loc[train["id"], "fold"].to_numpy()
    y = train[task.targets].to_numpy(float)
    P, P_test = load_predictions(paths, names, task, train["id"], test["id"])
    tune = cfg.ensemble.tune_thresholds and uses_thresholds(task)
    fit = make_fit(cfg.ensemble.method, task, cfg.ensemble.top_k)

    cv = member_cv(paths, names, P, y, folds, task)  # descriptive only
    # small matrices: BLAS threads only cost time (8x on a busy 2-core machine)
    with threadpool_limits(1, user_api="blas"):
        nested = nested_cv(P, y, folds, task, fit, tune)
        # chosen per outer fold on the other folds only, then thresholds, then scored
        single, single_pick = nested_best_single(P, y, folds, task, tune)
        combiner = fit(P, y)
    # descriptive / test-time: the best member on all rows (the same rule)
    best = best_member(P, y, folds, task)
    # all-rows thresholds: for the test predictions and thresholds.json only, never scored
    thr = tune_thresholds(y, combiner.predict(P), task) if tune else np.full(task.n_outputs, 0.5)
    test_pred = combiner.predict(P_test)
    chosen = nested.tuned if tune else nested.at_05
    # each outer fold at its own nested thresholds
    per = nested_per_target(nested, y, folds, task)

    cols = task.output_columns
    oof_df = pd.DataFrame(nested.pred, columns=cols)
    oof_df.insert(0, "fold", folds)
    oof_df.insert(0, "id", train["id"].to_numpy())
    write_parquet(paths.oof(NAME), oof_df)
    test_df = pd.DataFrame(test_pred, columns=cols)
    test_df.insert(0, "id", test["id"].to_numpy())
    write_parquet(paths.test_pred(NAME), test_df)
    # {target: threshold} for classification (0.5 unless tuned); {} for regression, so
    # that the file (a DVC output) always exists
    thr_out = thr if len(thr) == len(task.targets) else np.full(len(task.targets), 0.5)
    thresholds = dict(zip(task.targets, thr_out)) if task.is_classification else {}
    write_json(paths.thresholds(NAME), thresholds)
    weights = _weights(names, combiner.to_dict(), task)
    write_json(
        paths.ensemble_weights,
        {
            "method": cfg.ensemble.method,
            "models": names,
            "weights": weights,
            "combiner": combiner.to_dict(),
        },
    )
    metrics = {
        "model": NAME,
        "kind": cfg.ensemble.method,
        "features": [],
        "metric": task.metric,
        "greater_is_better": metric.greater_is_better,
        "cv_mean": float(np.mean(chosen)),
        "cv_std": float(np.std(chosen)),
        "oof": nested_score(nested, y, folds, task),
        # the combiner's in-sample score on the other folds of each outer fold (fitted and
        # thresholds tuned on them): not a training score in the models' sense, so the
        # ensemble has no ``train_mean``
        "inner_mean": float(np.mean(nested.inner)),
        "inner_std": float(np.std(nested.inner)),
        "folds": [float(s) for s in chosen],
        "per_target": {
            t: {
                "mean": float(np.nanmean([p[t] for p in per])),
                "std": float(np.nanstd([p[t] for p in per])),
            }
            for t in per[0]
        },
        "tuned": bool(tune),
        "params": {"method": cfg.ensemble.method, "top_k": cfg.ensemble.top_k},
        "method": cfg.ensemble.method,
        "members": names,
        "member_cv": dict(zip(names, cv.tolist())),
        "weights": weights,
        "thresholds": thresholds or None,
        "nested_thresholds": {
            str(k): dict(zip(task.output_columns, t))
            for k, t in zip(nested.fold_ids, nested.thresholds)
        }
        if tune
        else None,
        "nested_cv_at_0.5": nested.summary_at_05(),
        "nested_cv_tuned_thresholds": nested.summary_tuned(),
        "best_single_model": names[best],
        "best_single_per_fold": {str(k): names[j] for k, j in zip(single.fold_ids, single_pick)},
        "best_single_cv": float(np.mean(single.tuned if tune else single.at_05)),
        "best_single_nested_at_0.5": single.summary_at_05(),
        "best_single_nested_tuned": single.summary_tuned(),
        "seconds": round(time.time() - t0, 2),
    }
    if paths.holdout_labels.exists():
        hold = read_parquet(paths.holdout_labels).set_index("id").loc[test["id"], task.targets]
        metrics["holdout"] = score(task.metric, hold.to_numpy(float), test_pred, task, thr)
    write_scores(paths, NAME, metrics)
    _print(metrics, task.metric)


def _weights(names: list[str], d: dict, task: TaskSpec) -> dict:
    """Per-member weight (weighted means), or per-output member coefficients (stacking;
    multi-class and label stacking: the coefficient of each member's own output)."""
    if "weights" in d:
        return dict(zip(names, d["weights"]))
    coef = np.asarray(d["coef"])
    cols = task.output_columns
    if task.task_type == TaskType.MULTICLASS or d.get("cross"):
        k = len(cols)
        return {
            c: {m: float(coef[i, j * k + i]) for j, m in enumerate(names)}
            for i, c in enumerate(cols)
        }
    return {c: {m: float(coef[i, j]) for j, m in enumerate(names)} for i, c in enumerate(cols)}


def _print(m: dict, metric: str) -> None:
    def fmt(s: dict | None) -> str:
        return "n/a" if s is None else f"{s['mean']:.4f} ± {s['std']:.4f}"

    def both(at_half: dict | None, tuned: dict | None) -> str:
        if tuned is None:  # no decision thresholds (regression, or thresholds off)
            return fmt(at_half)
        return f"{fmt(at_half)} at 0.5, {fmt(tuned)} with tuned thresholds"

    print(
        f"ensemble ({m['method']} of {', '.join(m['members'])}): nested-CV {metric} "
        f"{both(m['nested_cv_at_0.5'], m['nested_cv_tuned_thresholds'])}; "
        f"best single {m['best_single_model']} (nested picks per fold: "
        f"{', '.join(m['best_single_per_fold'].values())}): "
        f"{both(m['best_single_nested_at_0.5'], m['best_single_nested_tuned'])}"
        + (f"; demo holdout {m['holdout']:.4f}" if "holdout" in m else "")
    )
