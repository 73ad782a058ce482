"""Learning curve over training-set size (the diagnose stage's): bias or variance, and
whether more data would help. Nothing is computed here but differences of its numbers."""

from __future__ import annotations

from typing import Any

import numpy as np

from chemchallenge.report.context import Context
from chemchallenge.report.items import Figure, FigureStore, Note, plt, sig, signed
from chemchallenge.report.style import COLORS

#: a train–CV gap above this share of the CV score is called high variance
HIGH_VARIANCE = 0.25
#: the last step (from the largest refitted share to 100 %) still "improves" when it gains
#: at least this share of the score
STILL_IMPROVING = 0.01


def learning_items(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> Figure | Note:
    d = ctx.diagnostics
    if not d or len(d.get("learning_curve") or []) < 2:
        return Note(
            "No learning curve over training-set size: the diagnose stage has not run "
            "(`chemchallenge diagnose`)."
        )
    facts["learning_curve"] = d
    pts = d["learning_curve"]
    n = [p["n_train"] for p in pts]
    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    for key, color, label in (
        ("train", COLORS[0], "training rows (fitted on)"),
        ("validation", COLORS[1], "held-out fold (CV)"),
    ):
        m = np.array([p[key]["mean"] for p in pts])
        s = np.array([p[key].get("std", np.nan) for p in pts])
        ax.plot(n, m, "o-", color=color, label=label)
        ax.fill_between(n, m - s, m + s, color=color, alpha=0.2)
    ax.set_xticks(n, [f"{p['n_train']}\n({p['fraction']:.0%})" for p in pts], fontsize=8)
    ax.set_xlabel("training molecules per fold model (share of the training folds)")
    ax.set_ylabel(f"{d['metric']} ({'higher' if d['greater_is_better'] else 'lower'} is better)")
    ax.set_title(f"Learning curve of {d['model']} ({why_chosen(d)})")
    ax.legend(fontsize=8)
    cap = (
        f"{d['model']} refitted on growing random shares of each fold's training rows (same "
        f"{d['n_folds']} folds and seeds as its CV; the last point is its CV), scored on those "
        "rows and on the whole held-out fold; bands: ± one fold std. What to see: a wide gap "
        "between the curves is variance (a gap that narrows with more data means more data "
        "helps); a held-out curve still going "
        + ("up" if d["greater_is_better"] else "down")
        + " at the right means more molecules would still pay; flat curves close together "
        "mean bias (model and features are the limit)."
    )
    return store.save(fig, "learning_curve_size", "Learning curve over training-set size", cap)


def why_chosen(d: dict[str, Any]) -> str:
    """Why the stage diagnosed this model: the best tabular CV, or a quicker one as good."""
    best = d.get("best_cv_model", d["model"])
    if best == d["model"]:
        return "best tabular model"
    return f"within two fold stds of the best, {best}, and quicker to refit"


def learning_sentences(f: dict[str, Any]) -> list[str]:
    """The gap and the slope of the learning curve, read as bias / variance."""
    d = f.get("learning_curve")
    if not d:
        return []
    pts, gib, metric = d["learning_curve"], bool(d["greater_is_better"]), d["metric"]
    first, last, before = pts[0], pts[-1], pts[-2]
    v0, v1, vb = (p["validation"]["mean"] for p in (first, last, before))
    t1 = last["train"]["mean"]
    sign = 1 if gib else -1
    gap0 = sign * (first["train"]["mean"] - v0)
    gap1 = sign * (t1 - v1)
    rel = gap1 / abs(v1) if v1 else np.nan
    step = sign * (v1 - vb)  # > 0: the last step improved CV
    std = last["validation"].get("std", np.nan)
    out = [
        f"Learning curve of {d['model']} ({why_chosen(d)}): CV {metric} {sig(v0)} with "
        f"{first['n_train']} training molecules ({first['fraction']:.0%}) → {sig(v1)} with "
        f"{last['n_train']} (100%); on its training rows {sig(first['train']['mean'])} → "
        f"{sig(t1)}."
    ]
    if np.isfinite(rel) and rel > HIGH_VARIANCE:
        gap = (
            f"The train–CV gap at full size, {sig(gap1)} ({rel:.0%} of the CV score), is "
            "large: high variance"
        )
        gap += (
            ", and it narrows with more data"
            if gap1 < gap0
            else ", and it does not narrow with more data"
        ) + f" ({sig(gap0)} at {first['fraction']:.0%})."
    else:
        gap = (
            f"The train–CV gap at full size is small ({sig(gap1)}, "
            + (f"{rel:.0%}" if np.isfinite(rel) else "–")
            + " of the CV score): low variance; the remaining error is bias."
        )
    out.append(gap)
    moved = (
        f"from {before['fraction']:.0%} to 100% of the data CV moves by {signed(v1 - vb)} "
        f"(fold std {sig(std)})"
    )
    if step >= STILL_IMPROVING * abs(v1):
        out.append(
            f"Still improving at full size: {moved}; more molecules of the same kind would help."
        )
    elif step > 0:
        out.append(
            f"Flattening: {moved}; more data would help only a little — better features or "
            "models would help more."
        )
    else:
        out.append(
            f"Flat: {moved}; more data of the same kind would not help, the limit is the "
            "model and its features (bias)."
        )
    return out
