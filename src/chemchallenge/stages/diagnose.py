"""Stage `diagnose`: a learning curve and a scaffold-split CV of the best tabular model.

The model is the tabular one (tree, forest, boosting, neighbours, linear: cheap to refit)
with the best CV score in ``models/<model>/scores.json`` or, when several are within one
fold standard deviation of it, the quickest of those to train (see :func:`best_tabular`),
with the params it was trained with (tuned ones included). Two stress tests, on the train
stage's seeds:

- learning curve: the fold models refitted on 25, 50 and 75 % of their training folds,
  scored on those rows and on the whole held-out fold; the 100 % point is the train stage's
  own CV (same folds, seeds and rows: refitting it would reproduce it exactly);
- scaffold-split CV: the same K, with whole Bemis–Murcko scaffold groups per fold
  (:func:`chemchallenge.data.splits.scaffold_folds`, prepare's scaffold split), so every
  validation molecule has a ring system never seen in training.

Writes ``diagnostics/diagnostics.json`` and ``diagnostics/scaffold_folds.parquet`` (the
scaffold fold of each training molecule, for the report's similarity profile).
"""

from __future__ import annotations

import contextlib
import io
import time
from typing import Any

import numpy as np
import pandas as pd

from chemchallenge.config import Config
from chemchallenge.data.splits import scaffold_folds
from chemchallenge.errors import MissingInputError
from chemchallenge.inputs import load_task, model_inputs, model_params
from chemchallenge.io import read_parquet, write_json, write_parquet
from chemchallenge.models.cv import cross_validate
from chemchallenge.models.diagnostics import learning_curve
from chemchallenge.models.kinds import KIND_MODULES, TABULAR
from chemchallenge.paths import Paths
from chemchallenge.scores import read_scores

#: shares of the training folds refitted (1.0 is the train stage's CV): three points instead
#: of four (0.2/0.4/0.6/0.8 before) to keep make run within 15 minutes (RESULTS.md "Time
#: budget re-check")
FRACTIONS = [0.25, 0.5, 0.75]
#: models whose CV is within this many fold stds of the best count as tied (the quickest of
#: them is diagnosed): 2 since MiniMol made xgb 3x cheaper to refit than catboost on the
#: demo but 1.7 stds behind it (RESULTS.md "MiniMol"), and the stage refits ~3 CVs
CLOSE_STDS = 2.0


def tabular_models(cfg: Config) -> list[str]:
    """The trained models of a tabular kind, in ``train.models`` order."""
    return [m for m in cfg.train.models if KIND_MODULES.get(cfg.model(m).kind) == TABULAR]


def _ranked(cfg: Config, paths: Paths) -> list[tuple[str, dict[str, Any], float]]:
    """Trained tabular models, best CV first: (name, scores, CV mean made "higher is better")."""
    found = [(m, s) for m in tabular_models(cfg) if (s := read_scores(paths, m)) is not None]
    if not found:
        return []
    sign = 1.0 if bool(found[0][1].get("greater_is_better", True)) else -1.0
    return sorted(((m, s, sign * s["cv_mean"]) for m, s in found), key=lambda t: -t[2])


def best_tabular(cfg: Config, paths: Paths) -> tuple[str, dict[str, Any]] | None:
    """The tabular model to diagnose, and its scores: among the models whose CV mean is
    within :data:`CLOSE_STDS` fold standard deviations of the best one (a difference five
    folds cannot resolve firmly), the quickest to train (``seconds`` in its scores; equal
    seconds: the better CV), since the stage refits it about three times over; the best one
    when it is clearly ahead."""
    return _pick(_ranked(cfg, paths))


def _pick(
    ranked: list[tuple[str, dict[str, Any], float]],
) -> tuple[str, dict[str, Any]] | None:
    """:func:`best_tabular`'s rule on the ranked models."""
    if not ranked:
        return None
    floor = ranked[0][2] - CLOSE_STDS * float(ranked[0][1].get("cv_std") or 0.0)
    close = [(m, s) for m, s, v in ranked if v >= floor]
    return min(close, key=lambda ms: float(ms[1].get("seconds") or 0.0))


def run(cfg: Config, paths: Paths) -> None:
    t0 = time.perf_counter()
    ranked = _ranked(cfg, paths)
    best = _pick(ranked)
    if best is None:
        raise MissingInputError(
            "diagnose: no tabular model (decision_tree, random_forest, xgboost, knn, linear) "
            "has been trained: run `chemchallenge train <model>` first"
        )
    name, scores = best
    mc = cfg.model(name)
    task = load_task(paths)
    with contextlib.redirect_stdout(io.StringIO()):  # its "tuned values override" note
        params, _ = model_params(cfg, paths, name)
    X, _, train, _ = model_inputs(cfg, paths, name)
    y = train[task.targets].to_numpy(dtype=float)
    folds = read_parquet(paths.folds)["fold"].to_numpy()  # as the train stage reads them
    k = len(set(folds.tolist()))
    seed = cfg.seed
    t = time.perf_counter()
    curve = learning_curve(mc.kind, task, params, seed, X, y, folds, FRACTIONS)
    curve_s = time.perf_counter() - t
    curve.append(_full_point(scores, folds))
    t = time.perf_counter()
    scaffold = scaffold_folds(list(train["smiles"]), k, seed)
    res = cross_validate(mc.kind, task, params, seed, X, y, scaffold, train_scores=False)
    stress = {
        "mean": float(np.mean(res.fold_scores)),
        "std": float(np.std(res.fold_scores)),
        "folds": res.fold_scores,
    }
    stress_s = time.perf_counter() - t
    out = {
        "model": name,
        "kind": mc.kind,
        "features": list(mc.features),
        "chosen_from": tabular_models(cfg),
        "best_cv_model": ranked[0][0],  # differs when a quicker one is as good
        "metric": task.metric,
        "greater_is_better": bool(scores.get("greater_is_better", True)),
        "n_folds": k,
        "learning_curve": curve,
        "random_cv": {
            "mean": float(scores["cv_mean"]),
            "std": float(scores["cv_std"]),
            "folds": list(scores["folds"]),
        },
        "scaffold_cv": stress,
        "seconds": {
            "learning_curve": round(curve_s, 2),
            "scaffold_cv": round(stress_s, 2),
            "total": round(time.perf_counter() - t0, 2),
        },
    }
    write_json(paths.diagnostics / "diagnostics.json", out)
    write_parquet(
        paths.diagnostics / "scaffold_folds.parquet",
        pd.DataFrame({"id": train["id"].to_numpy(), "fold": scaffold}),
    )
    lc = {p["fraction"]: p["validation"]["mean"] for p in curve}
    print(
        f"diagnose: {name} ({mc.kind}) {task.metric} at "
        + "/".join(f"{100 * f:g}" for f in lc)
        + " % of the training folds: "
        + ", ".join(f"{v:.4f}" for v in lc.values())
        + f"; scaffold-split CV {stress['mean']:.4f} ± {stress['std']:.4f} vs "
        f"{scores['cv_mean']:.4f} ± {scores['cv_std']:.4f} "
        f"(learning curve {curve_s:.1f}s, scaffold CV {stress_s:.1f}s)"
    )


def _full_point(scores: dict[str, Any], folds: np.ndarray) -> dict[str, Any]:
    """The 100 % point: the train stage's per-fold train and validation scores."""
    n = int(np.mean([np.sum(folds != k) for k in sorted(set(folds.tolist()))]))
    return {
        "fraction": 1.0,
        "n_train": n,
        "train": {"mean": float(scores["train_mean"]), "std": float(scores["train_std"])},
        "validation": {
            "mean": float(scores["cv_mean"]),
            "std": float(scores["cv_std"]),
            "folds": list(scores["folds"]),
        },
        "from": "the train stage",
    }
