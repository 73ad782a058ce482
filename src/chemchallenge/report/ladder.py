"""The gain ladder: every step of the solution scored under one protocol, fold by fold.

benchmark → trivial predictor → best single model → ensemble (thresholds 0.5) → tuned
thresholds. Every score comes from a stage output (``scores.json``) except the trivial
predictor's, computed here from the labels on the same folds. Steps are compared by
*paired* per-fold differences (the same molecules score both), which removes the
fold-to-fold difficulty the stds of two independent means would double count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chemchallenge.report.context import Context, ModelRun
from chemchallenge.tasks import TaskType


@dataclass
class Step:
    key: str  # benchmark | trivial | single | ensemble | single_tuned | ensemble_tuned
    label: str
    mean: float
    std: float
    folds: list[float] = field(default_factory=list)
    source: str = ""  # where the number comes from
    vs: str | None = None  # the key of the step it is compared with


@dataclass
class Paired:
    """``b`` against ``a`` over the same folds; ``gain`` > 0 means better."""

    diff: float  # mean of b - a, in metric units (raw sign)
    std: float  # std over folds of b - a
    gain: float  # diff oriented so that positive is better
    better: int  # folds where b beats a
    n: int


def is_f1(metric: str) -> bool:
    return "f1" in metric.lower()


def uses_thresholds(ctx: Context) -> bool:
    """Labels are thresholded probabilities: F1 or accuracy on binary or multi-label tasks."""
    if ctx.task is None or ctx.task.task_type not in (TaskType.BINARY, TaskType.MULTILABEL):
        return False
    return ctx.task.metric in ("micro_f1", "macro_f1", "accuracy")


def trivial_name(ctx: Context) -> str:
    assert ctx.task is not None
    tt, metric = ctx.task.task_type, ctx.task.metric
    if tt == TaskType.REGRESSION:
        return "trivial: the training folds' mean for every molecule"
    if tt == TaskType.MULTICLASS:
        return "trivial: the training folds' majority class for every molecule"
    if is_f1(metric):
        return "trivial: predict 1 for every molecule and target"
    return "trivial: the training folds' positive rate for every molecule (no ranking)"


def trivial_predictions(ctx: Context, y_fit: np.ndarray, n: int) -> np.ndarray:
    """A constant prediction learnt from ``y_fit`` for ``n`` molecules."""
    assert ctx.task is not None
    tt = ctx.task.task_type
    if tt == TaskType.MULTICLASS:
        k = len(ctx.task.classes)
        lab = y_fit[~np.isnan(y_fit[:, 0]), 0].astype(int)
        freq = np.bincount(lab, minlength=k) / max(1, len(lab))
        return np.tile(freq, (n, 1))
    if tt != TaskType.REGRESSION and is_f1(ctx.task.metric):
        return np.ones((n, y_fit.shape[1]))
    return np.tile(np.nanmean(y_fit, axis=0), (n, 1))


def trivial_step(ctx: Context) -> Step | None:
    """The trivial predictor scored on the CV folds (fit on the training folds)."""
    from chemchallenge.metrics import score

    folds = ctx.fold_of_train()
    if ctx.task is None or folds is None:
        return None
    y = ctx.y()
    scores = []
    for k in sorted(int(f) for f in np.unique(folds[~np.isnan(folds)])):
        va = folds == k
        p = trivial_predictions(ctx, y[~va & ~np.isnan(folds)], int(va.sum()))
        scores.append(float(score(ctx.task.metric, y[va], p, ctx.task)))
    if not scores:
        return None
    return Step(
        "trivial",
        trivial_name(ctx),
        float(np.mean(scores)),
        float(np.std(scores)),
        scores,
        "computed by the report from the labels, on the same folds",
    )


def _summary(d: Any) -> tuple[float, float, list[float]] | None:
    if not isinstance(d, dict) or d.get("mean") is None:
        return None
    return float(d["mean"]), float(d.get("std", np.nan)), [float(v) for v in d.get("folds") or []]


def picks(ens: ModelRun) -> list[str]:
    """The best single model of each outer fold (nested CV), in fold order."""
    per = ens.metrics.get("best_single_per_fold")
    if isinstance(per, dict) and per:
        return [str(per[k]) for k in sorted(per, key=lambda k: int(k))]
    single = ens.metrics.get("best_single_model")
    return [str(single)] if single else []


def ladder(ctx: Context) -> list[Step]:
    """The steps that exist for this run, in the order of the talk."""
    steps: list[Step] = []
    base = ctx.run("baseline")
    if base is not None and np.isfinite(base.fair_mean):
        f = base.fair
        steps.append(
            Step(
                "benchmark",
                "organisers' benchmark (`baseline`)",
                f["mean"],
                f["std"],
                f["folds"],
                "models/baseline/scores.json",
            )
        )
    triv = trivial_step(ctx) if ctx.prepared else None
    if triv is not None:
        steps.append(triv)
    thr = uses_thresholds(ctx)
    at = ", thresholds 0.5" if thr else ""
    ens = ctx.ensemble
    m = ens.metrics if ens is not None else {}
    single = _summary(m.get("best_single_nested_at_0.5"))
    if ens is not None and single is not None:
        who = sorted(set(picks(ens)))
        steps.append(
            Step(
                "single",
                f"best single model ({', '.join(who)}; picked without the scored fold){at}",
                *single,
                source="ensemble/scores.json: best_single_nested_at_0.5",
            )
        )
    else:
        singles = [r for r in ctx.models if np.isfinite(r.fair_mean)]
        if singles:
            gib = singles[0].gib
            b = max(singles, key=lambda r: r.fair_mean if gib else -r.fair_mean)
            f = b.fair
            steps.append(
                Step(
                    "single",
                    f"best single model ({b.name}; picked on the same folds: optimistic){at}",
                    f["mean"],
                    f["std"],
                    f["folds"],
                    f"models/{b.name}/scores.json",
                )
            )
    ens05 = _summary(m.get("nested_cv_at_0.5"))
    if ens is not None and ens05 is not None:
        steps.append(
            Step(
                "ensemble",
                f"ensemble (nested CV){at}",
                *ens05,
                source="ensemble/scores.json: nested_cv_at_0.5",
            )
        )
    if thr:
        s_t = _summary(m.get("best_single_nested_tuned"))
        e_t = _summary(m.get("nested_cv_tuned_thresholds"))
        if s_t is not None:
            steps.append(
                Step(
                    "single_tuned",
                    "best single model, tuned thresholds (nested)",
                    *s_t,
                    source="ensemble/scores.json: best_single_nested_tuned",
                    vs="single",
                )
            )
        if e_t is not None:
            steps.append(
                Step(
                    "ensemble_tuned",
                    "ensemble, tuned thresholds (nested)",
                    *e_t,
                    source="ensemble/scores.json: nested_cv_tuned_thresholds",
                    vs="ensemble",
                )
            )
    keys = [s.key for s in steps]
    for i, s in enumerate(steps):
        if s.vs is None and i > 0:
            s.vs = keys[i - 1]
    return steps


def paired(a: Step, b: Step, gib: bool) -> Paired | None:
    """Per-fold differences ``b - a`` (only when both have the same number of folds)."""
    if not a.folds or len(a.folds) != len(b.folds):
        return None
    d = np.asarray(b.folds, dtype=float) - np.asarray(a.folds, dtype=float)
    sign = 1.0 if gib else -1.0
    return Paired(
        float(d.mean()),
        float(d.std()),
        float(sign * d.mean()),
        int(np.sum(sign * d > 0)),
        len(d),
    )


def step(steps: list[Step], key: str) -> Step | None:
    return next((s for s in steps if s.key == key), None)
