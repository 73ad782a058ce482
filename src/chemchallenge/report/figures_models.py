"""Section 2 — the models: comparison table, train-vs-CV scores, learning curves with an
over-fitting diagnosis, tuning figures, ensemble weights and thresholds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from chemchallenge.report.context import Context, ModelRun
from chemchallenge.report.items import (
    COLORS,
    Figure,
    FigureStore,
    Heading,
    Note,
    Section,
    Table,
    fmt,
    grid,
    plt,
    safe,
)
from chemchallenge.report.tuning import ensemble_items, tuning_items


def gain(run: ModelRun, base: ModelRun | None) -> float:
    """Improvement of ``run`` over ``base`` in metric units (positive: better)."""
    if base is None:
        return np.nan
    d = run.cv_mean - base.cv_mean
    return d if run.metrics.get("greater_is_better", True) else -d


def optimism(run: ModelRun) -> float:
    """How much better the model scores on its training folds than in CV (positive: over)."""
    d = run.train_mean - run.cv_mean
    return d if run.metrics.get("greater_is_better", True) else -d


def models_section(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> Section:
    sec = Section("models", "2. The models")
    if not ctx.runs():
        sec.add(Note("No model has been trained: run `chemchallenge train <model>`."))
        return sec
    if ctx.not_trained:
        sec.add(Note(f"Not trained yet (no metrics file): {', '.join(ctx.not_trained)}."))
    safe(sec, "the model table", lambda: _table(ctx, facts))
    safe(sec, "the train-vs-CV figure", lambda: _train_vs_cv(ctx, store))
    sec.add(Heading("Learning curves"))
    nets = [r for r in ctx.models if r.curves]
    if not nets:
        sec.add(Note("No learning curves: no network (dvclive/<model>/fold_k/) has been trained."))
    for run in nets:
        safe(sec, f"the learning curves of {run.name}", lambda run=run: _curves(run, store, facts))
    sec.add(Heading("Hyper-parameter tuning"))
    safe(sec, "the tuning figures", lambda: tuning_items(ctx, store, facts))
    sec.add(Heading("Ensemble"))
    safe(sec, "the ensemble figures", lambda: ensemble_items(ctx, store, facts))
    return sec


def _pm(d: dict[str, Any] | None) -> str:
    if not isinstance(d, dict):
        return "–"
    return f"{fmt(d.get('mean'))} ± {fmt(d.get('std'))}"


def _table(ctx: Context, facts: dict[str, Any]) -> list[Any]:
    runs = ctx.runs()
    base = ctx.run("baseline")
    targets = list(ctx.task.targets) if ctx.task is not None else []
    if ctx.task is not None and ctx.task.task_type == "multiclass":
        targets = []
    metric = str(runs[0].metrics.get("metric", ""))
    gib = bool(runs[0].metrics.get("greater_is_better", True))
    order = sorted(runs, key=lambda r: -r.cv_mean if gib else r.cv_mean)
    has_hold = any("holdout" in r.metrics for r in runs)
    cols = ["model", "concept", f"CV {metric}", "train", "gain vs baseline"]
    cols += [f"{t}" for t in targets if len(targets) > 1] + (["demo holdout"] if has_hold else [])
    cols += ["seconds"]
    rows = []
    for r in order:
        g = gain(r, base)
        row = [
            r.name + (" (tuned)" if r.metrics.get("tuned") else ""),
            r.concept,
            f"{fmt(r.cv_mean)} ± {fmt(r.cv_std)}",
            fmt(r.train_mean),
            "–" if r is base or base is None else f"{g:+.3f} ({g / abs(base.cv_mean):+.0%})",
        ]
        if len(targets) > 1:
            row += [_pm(r.metrics.get("per_target", {}).get(t)) for t in targets]
        if has_hold:
            row.append(fmt(r.metrics.get("holdout")))
        row.append(fmt(r.metrics.get("seconds"), 1))
        rows.append(row)
    facts["ranking"] = order
    facts["baseline"] = base
    facts["metric"] = metric
    facts["greater_is_better"] = gib
    cap = (
        f"Cross-validated {metric} (mean ± std over folds, {'higher' if gib else 'lower'} is "
        "better); train = the same metric on the training folds (– for the ensemble: it has "
        "no training score); gain over the organisers' "
        "benchmark `baseline`."
    )
    return [Table("Every model", cols, rows, cap)]


def _train_vs_cv(ctx: Context, store: FigureStore) -> Figure | None:
    runs = [r for r in ctx.runs() if np.isfinite(r.cv_mean)]
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(max(6.0, 1.0 * len(runs) + 2), 3.8))
    x = np.arange(len(runs))
    for i, r in enumerate(runs):
        if np.isfinite(r.train_mean):
            ax.plot([i, i], [r.train_mean, r.cv_mean], color="grey", lw=1, zorder=1)
        if r.cv_scores is not None and "validation" in r.cv_scores:
            v = r.cv_scores["validation"].to_numpy(dtype=float)
            ax.scatter(np.full(len(v), i + 0.12), v, s=10, color=COLORS[1], alpha=0.5, zorder=2)
    ax.scatter(x, [r.train_mean for r in runs], color=COLORS[0], s=40, label="train", zorder=3)
    ax.errorbar(
        x,
        [r.cv_mean for r in runs],
        yerr=[r.cv_std for r in runs],
        fmt="o",
        color=COLORS[1],
        ms=7,
        capsize=4,
        label="CV (mean ± std; dots: folds)",
        zorder=3,
    )
    ax.set_xticks(x, [r.name for r in runs], rotation=20)
    ax.set_ylabel(str(runs[0].metrics.get("metric", "score")))
    ax.legend(fontsize=8)
    ax.set_title("Train vs cross-validation score (bias / variance)")
    cap = (
        "A large distance between train and CV is variance (over-fitting); a poor score on "
        "both is bias (under-fitting); the spread of the fold dots is the CV uncertainty."
    )
    return store.save(fig, "train_vs_cv", "Train vs CV scores", cap)


def diagnose(curves: dict[int, dict[str, pd.DataFrame]]) -> dict[str, float] | None:
    """Best epoch, train/validation gap and rise after the best epoch (medians over folds)."""
    rows = []
    for per in curves.values():
        tr, va = per.get("train_loss"), per.get("val_loss")
        if va is None or va.empty:
            continue
        b = int(va["value"].idxmin())
        best_step, best_val = float(va["step"][b]), float(va["value"][b])
        last = float(va["value"].iloc[-1])
        train_at = np.nan
        if tr is not None and not tr.empty:
            train_at = float(np.interp(best_step, tr["step"], tr["value"]))
        rows.append(
            {
                "best_epoch": best_step,
                "epochs": float(va["step"].iloc[-1]),
                "gap": (best_val - train_at) / abs(best_val) if best_val else np.nan,
                "rise": (last - best_val) / abs(best_val) if best_val else np.nan,
                "still_falling": float(b >= len(va) - 2),
            }
        )
    if not rows:
        return None
    df = pd.DataFrame(rows)
    return {k: float(np.nanmedian(df[k])) for k in df.columns} | {"folds": float(len(df))}


def curves_sentence(name: str, d: dict[str, float]) -> str:
    s = (
        f"{name}: the validation loss is lowest at epoch {d['best_epoch']:.0f} (median over "
        f"{d['folds']:.0f} folds, {d['epochs']:.0f} epochs run); there it is "
        f"{d['gap']:.0%} above the training loss"
    )
    if d["still_falling"] >= 0.5:
        return s + ", and it was still falling at the end: more epochs could help (under-fit)."
    if d["rise"] > 0.05 or d["gap"] > 0.3:
        return (
            s + f" and it rises by {d['rise']:.0%} afterwards while the training loss keeps "
            "falling: over-fitting, limited by early stopping (best-epoch weights kept)."
        )
    return s + ": no clear sign of over-fitting."


def _curves(run: ModelRun, store: FigureStore, facts: dict[str, Any]) -> list[Any]:
    names = sorted({n for per in run.curves.values() for n in per})
    losses = [n for n in names if n.endswith("loss")]
    others = [n for n in names if n not in losses]
    panels = (["loss"] if losses else []) + others[:2]
    fig, axes = grid(len(panels), 3, (4.4, 3.2))
    for ax, panel in zip(axes, panels):
        for k, per in sorted(run.curves.items()):
            for n in losses if panel == "loss" else [panel]:
                df = per.get(n)
                if df is None:
                    continue
                ls = "-" if n.startswith("val") else "--"
                c = COLORS[k % len(COLORS)]
                lab = f"fold {k}" if n.startswith("val") or panel != "loss" else None
                ax.plot(df["step"], df["value"], ls=ls, color=c, lw=1.2, alpha=0.8, label=lab)
        title = panel if panel != "loss" else "loss (solid: validation, dashed: train)"
        ax.set(xlabel="epoch", title=f"{run.name}: {title}")
    if axes:
        axes[0].legend(fontsize=7)
    d = diagnose(run.curves)
    text = curves_sentence(run.name, d) if d else f"{run.name}: no validation loss was logged."
    facts.setdefault("curves", {})[run.name] = d
    f = store.save(fig, f"curves_{run.name}", f"Learning curves: {run.name}", text)
    return [f]
