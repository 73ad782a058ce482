"""Repeated K-fold cross-validation, for choosing between two close models.

One K-fold CV is one draw of the folds: two models 0.005 apart may swap places with another
fold seed. Here the CV is repeated with several fold seeds (``seed + r``, split as
``prepare`` splits: random, stratified or multilabel-stratified), every model of a repeat
sees the same folds, and each pair is compared fold by fold (a *paired* difference: the
fold's difficulty cancels). A mean difference within one standard deviation of the paired
differences, or won on about half of the repeat-folds by each model, is noise.

The repeat-folds are not independent (the folds of a repeat share their training rows, the
repeats share the molecules), so the spread is reported as a standard deviation, not as a
standard error or a p-value that would assume independence.

Pure computation (no files): ``chemchallenge compare`` (:mod:`chemchallenge.stages.compare`)
loads the inputs and writes the result.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from chemchallenge.data.splits import make_folds
from chemchallenge.models.base import ModelInput
from chemchallenge.models.cv import cross_validate
from chemchallenge.tasks import TaskSpec

#: model seeds of repeat ``r`` start at ``seed + r * REPEAT_SEED_STEP`` (folds add ``k``)
REPEAT_SEED_STEP = 1000


@dataclass
class Candidate:
    """One model to compare: its kind, its params and its inputs (training rows)."""

    kind: str
    params: dict[str, Any]
    X: ModelInput


def fold_sets(
    y: np.ndarray,
    smiles: list[str],
    task: TaskSpec,
    split: str,
    n_folds: int,
    seed: int,
    repeats: int,
) -> list[np.ndarray]:
    """``repeats`` fold assignments, seeds ``seed``, ``seed + 1``, ...: repeat 0 is the
    prepared folds themselves (``prepare`` uses ``seed``)."""
    return [make_folds(y, smiles, task.task_type, split, n_folds, seed + r) for r in range(repeats)]


def repeated_cv(
    candidates: dict[str, Candidate],
    task: TaskSpec,
    y: np.ndarray,
    folds: list[np.ndarray],
    seed: int,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Scores (repeats, n_folds) of every candidate on the same folds, and its seconds."""
    scores: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for name, c in candidates.items():
        t0 = time.perf_counter()
        rows = []
        for r, f in enumerate(folds):
            res = cross_validate(
                c.kind, task, c.params, seed + r * REPEAT_SEED_STEP, c.X, y, f, train_scores=False
            )
            rows.append(res.fold_scores)
        scores[name] = np.asarray(rows, dtype=float)
        seconds[name] = time.perf_counter() - t0
    return scores, seconds


def paired(a: np.ndarray, b: np.ndarray, greater_is_better: bool) -> dict[str, Any]:
    """Paired comparison of two score arrays over the same repeat-folds."""
    diff = (np.asarray(a, float) - np.asarray(b, float)).ravel()
    sign = 1.0 if greater_is_better else -1.0
    mean, std = float(diff.mean()), float(diff.std())
    return {
        "diff_mean": mean,
        "diff_std": std,
        "a_better": int((sign * diff > 0).sum()),
        "b_better": int((sign * diff < 0).sum()),
        "ties": int((diff == 0).sum()),
        "n": int(diff.size),
        # a choice within one std of the paired differences is a choice made on noise
        "within_one_std": bool(abs(mean) <= std),
    }


def summarize(
    scores: dict[str, np.ndarray], metric: str, greater_is_better: bool
) -> dict[str, Any]:
    """Per model mean ± std over repeats × folds; per pair the paired difference."""
    models = {
        name: {
            "mean": float(s.mean()),
            "std": float(s.std()),
            "repeat_means": [float(v) for v in s.mean(axis=1)],
            "scores": s.tolist(),
        }
        for name, s in scores.items()
    }
    pairs = [
        {"a": a, "b": b, **paired(scores[a], scores[b], greater_is_better)}
        for a, b in itertools.combinations(scores, 2)
    ]
    first = next(iter(scores.values()))
    return {
        "metric": metric,
        "greater_is_better": greater_is_better,
        "repeats": int(first.shape[0]),
        "n_folds": int(first.shape[1]),
        "models": models,
        "pairs": pairs,
    }


def describe(result: dict[str, Any], seconds: dict[str, float] | None = None) -> list[str]:
    """The lines ``chemchallenge compare`` prints."""
    m, r, k = result["metric"], result["repeats"], result["n_folds"]
    better = "higher" if result["greater_is_better"] else "lower"
    lines = [f"{m} ({better} is better), {r} repeats x {k} folds, the same folds for every model"]
    width = max(len(n) for n in result["models"])
    for name, s in result["models"].items():
        t = f" in {seconds[name]:.0f} s" if seconds and name in seconds else ""
        reps = " ".join(f"{v:.4f}" for v in s["repeat_means"])
        lines.append(f"  {name:{width}s} {s['mean']:.4f} ± {s['std']:.4f} (repeats {reps}){t}")
    for p in result["pairs"]:
        verdict = (
            "within one std: a choice between them is noise"
            if p["within_one_std"]
            else "beyond one std"
        )
        lines.append(
            f"  {p['a']} - {p['b']}: {p['diff_mean']:+.4f} ± {p['diff_std']:.4f}; "
            f"{p['a']} better on {p['a_better']}/{p['n']} repeat-folds, {p['b']} on "
            f"{p['b_better']}" + (f", {p['ties']} ties" if p["ties"] else "") + f"; {verdict}"
        )
    return lines
