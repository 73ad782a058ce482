"""Stage `train-<model>`: K-fold CV on the fixed folds; writes out-of-fold predictions,
fold-averaged test predictions, the fitted fold models, ``models/<model>/scores.json`` and
its summary ``metrics/<model>.json``.

A tuned model's CV is scored on the folds its Optuna study selected it on: it is optimistic,
and ``scores.json`` says so (``cv_selected_on_folds``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from chemchallenge.config import Config
from chemchallenge.inputs import load_task, model_inputs, model_params
from chemchallenge.io import read_parquet, write_csv, write_parquet
from chemchallenge.metrics import get_metric, score
from chemchallenge.models.base import check_params
from chemchallenge.models.curves import write_fold_curves
from chemchallenge.models.cv import CVResult, cross_validate
from chemchallenge.models.persist import save_estimators
from chemchallenge.paths import Paths
from chemchallenge.scores import write_scores
from chemchallenge.tasks import TaskSpec, TaskType


def prior(y: np.ndarray, task: TaskSpec) -> np.ndarray:
    """Fallback prediction for test molecules RDKit cannot read: the training prior."""
    if task.task_type == TaskType.MULTICLASS:
        counts = np.bincount(y[~np.isnan(y[:, 0]), 0].astype(int), minlength=len(task.classes))
        return counts / counts.sum()
    return np.nanmean(y, axis=0)


def run(cfg: Config, paths: Paths, name: str) -> None:
    mc = cfg.model(name)
    task = load_task(paths)
    params, tuned = model_params(cfg, paths, name)
    where = f"models.{name}.params" + (f" (with {paths.best_params(name)})" if tuned else "")
    check_params(mc.kind, task, params, cfg.seed, where)  # before any data is loaded
    X, X_test, train, test = model_inputs(cfg, paths, name)
    y = train[task.targets].to_numpy(dtype=float)
    folds = read_parquet(paths.folds)["fold"].to_numpy()
    curves = paths.curves(name)
    shutil.rmtree(curves, ignore_errors=True)
    print(
        f"train-{name}: {mc.kind} on {mc.features or 'SMILES'}, {len(set(folds))}-fold CV"
        + (" (tuned params)" if tuned else "")
    )
    res = cross_validate(
        mc.kind, task, params, cfg.seed, X, y, folds, X_test, log_dir=curves, keep_estimators=True
    )
    paths.model_dir(name).mkdir(parents=True, exist_ok=True)
    save_estimators(paths.estimators(name), res.estimators)
    _write_cv_scores(curves, res)
    write_fold_curves(curves)
    cols = task.output_columns
    oof = pd.DataFrame(res.oof, columns=cols)
    oof.insert(0, "fold", folds)
    oof.insert(0, "id", train["id"].to_numpy())
    write_parquet(paths.oof(name), oof)
    test_pred = np.tile(prior(y, task), (len(test), 1))
    valid = test["valid"].to_numpy(dtype=bool)
    if res.test is not None:
        test_pred[valid] = res.test
    tp = pd.DataFrame(test_pred, columns=cols)
    tp.insert(0, "id", test["id"].to_numpy())
    write_parquet(paths.test_pred(name), tp)
    metrics = _metrics(name, mc.kind, mc.features, params, tuned, task, y, res)
    if paths.holdout_labels.exists():
        hold = read_parquet(paths.holdout_labels).set_index("id").loc[test["id"], task.targets]
        metrics["holdout"] = score(task.metric, hold.to_numpy(float), test_pred, task)
    write_scores(paths, name, metrics)
    print(
        f"train-{name}: CV {task.metric} = {metrics['cv_mean']:.4f} ± {metrics['cv_std']:.4f}"
        f" (train {metrics['train_mean']:.4f}) in {res.seconds:.1f}s"
        + (f"; demo holdout {metrics['holdout']:.4f}" if "holdout" in metrics else "")
    )


def _write_cv_scores(curves: Path, res: CVResult) -> None:
    """Per-fold train and validation scores (a DVC plot for every model, nets or not)."""
    curves.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(
        {
            "fold": range(len(res.fold_scores)),
            "train": res.train_scores,
            "validation": res.fold_scores,
        }
    )
    write_csv(curves / "cv_scores.csv", df)


def _metrics(
    name: str,
    kind: str,
    features: list[str],
    params: dict,
    tuned: bool,
    task: TaskSpec,
    y: np.ndarray,
    res: CVResult,
) -> dict:
    m = get_metric(task.metric)
    per = {t: [fp[t] for fp in res.fold_per_target] for t in res.fold_per_target[0]}
    return {
        "model": name,
        "kind": kind,
        "features": features,
        "metric": task.metric,
        "greater_is_better": m.greater_is_better,
        "cv_mean": float(np.mean(res.fold_scores)),
        "cv_std": float(np.std(res.fold_scores)),
        "oof": score(task.metric, y, res.oof, task),
        "train_mean": float(np.mean(res.train_scores)),
        "train_std": float(np.std(res.train_scores)),
        "folds": res.fold_scores,
        "per_target": {
            t: {"mean": float(np.nanmean(v)), "std": float(np.nanstd(v))} for t, v in per.items()
        },
        "tuned": tuned,
        # the study picked these params by this very CV: an optimistic estimate
        "cv_selected_on_folds": tuned,
        "params": params,
        "seconds": round(res.seconds, 2),
    }
