"""Section 2 — the models: comparison table, train-vs-CV scores, learning curves with an
over-fitting diagnosis, tuning figures, ensemble weights and thresholds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from chemchallenge.report.context import Context, ModelRun
from chemchallenge.report.items import (
    Figure,
    FigureStore,
    Heading,
    Note,
    Section,
    Table,
    fmt,
    plt,
    safe,
    short,
    sig,
    signed,
)
from chemchallenge.report.learning import learning_items
from chemchallenge.report.style import COLORS
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
    sec.add(Heading("Gain ladder: one protocol, paired folds"))
    safe(sec, "the gain ladder", lambda: _ladder_items(ctx, store, facts))
    safe(sec, "the train-vs-CV figure", lambda: _train_vs_cv(ctx, store))
    safe(
        sec, "the learning curve over training-set size", lambda: learning_items(ctx, store, facts)
    )
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
    return f"{sig(d.get('mean'))} ± {sig(d.get('std'))}"


def versus(d: float, ref: float, gib: bool, metric: str) -> str:
    """A difference in metric units, with its sign and whether it is better."""
    if not np.isfinite(d):
        return "–"
    rel = f" ({d / abs(ref):+.0%})".replace("-", "−") if ref and np.isfinite(ref) else ""
    word = "better" if (d > 0) == gib and d != 0 else ("same" if d == 0 else "worse")
    return f"{metric} {signed(d)}{rel}, {word}"


def _table(ctx: Context, facts: dict[str, Any]) -> list[Any]:
    from chemchallenge.report.ladder import ladder, step, uses_thresholds

    runs = ctx.runs()
    base = ctx.run("baseline")
    targets = list(ctx.task.targets) if ctx.task is not None else []
    if ctx.task is not None and ctx.task.task_type == "multiclass":
        targets = []
    metric = str(runs[0].metrics.get("metric", ""))
    gib = runs[0].gib
    thr = uses_thresholds(ctx)
    order = sorted(runs, key=lambda r: -r.fair_mean if gib else r.fair_mean)
    steps = ladder(ctx)
    facts["ladder"] = steps
    triv = step(steps, "trivial")
    facts["trivial"] = triv
    has_hold = any("holdout" in r.metrics for r in runs)
    at = " (thresholds 0.5)" if thr else ""
    cols = ["model", "concept", "features", f"CV {metric}{at}", "train", "vs benchmark"]
    cols += [f"{t}" for t in targets if len(targets) > 1] + (["demo holdout"] if has_hold else [])
    cols += ["seconds"]
    ref = base.fair_mean if base is not None else np.nan

    def row(name: str, concept: str, feats: str, mean: float, std: float, train: str) -> list[str]:
        d = mean - ref
        vs = "–" if base is None or name.startswith("baseline") else versus(d, ref, gib, metric)
        return [name, concept, feats, f"{sig(mean)} ± {sig(std)}", train, vs]

    rows = []
    for r in order:
        ens = r.name == "ensemble"
        label = "ensemble (nested CV)" if ens else r.name
        label += " (tuned)" if r.metrics.get("tuned") and not ens else ""
        feats = ", ".join(r.features) if r.features else ("its members" if ens else "")
        cells = row(
            label, r.concept, feats, r.fair_mean, r.fair_std, "–" if ens else sig(r.train_mean)
        )
        pt = r.metrics.get("per_target", {}) if not (ens and thr) else {}
        if len(targets) > 1:
            cells += [_pm(pt.get(t)) if pt else "–" for t in targets]
        if has_hold:
            cells.append(sig(r.metrics["holdout"]) if "holdout" in r.metrics else "–")
        cells.append(fmt(r.metrics.get("seconds"), 1))
        rows.append(cells)
        if ens and thr and step(steps, "ensemble_tuned") is not None:
            t = step(steps, "ensemble_tuned")
            assert t is not None
            cells = row(
                "ensemble + tuned thresholds (nested)",
                "thresholds per target chosen on the other folds",
                "",
                t.mean,
                t.std,
                "–",
            )
            if len(targets) > 1:
                cells += [_pm(r.metrics.get("per_target", {}).get(x)) for x in targets]
            if has_hold:
                cells.append(sig(r.metrics["holdout"]) if "holdout" in r.metrics else "–")
            cells.append("")
            rows.insert(len(rows) - 1, cells)
    if triv is not None:
        cells = row(
            triv.label.split(": ", 1)[0],
            triv.label.split(": ", 1)[-1],
            "none",
            triv.mean,
            triv.std,
            "–",
        )
        cells += ["–"] * (len(cols) - len(cells))
        rows.append(cells)
    facts["ranking"] = order
    facts["baseline"] = base
    facts["metric"] = metric
    facts["greater_is_better"] = gib
    cap = (
        f"Cross-validated {metric} (mean ± std over the folds, {'higher' if gib else 'lower'} "
        "is better), every row under one protocol"
        + (": labels at threshold 0.5, except the row that says tuned thresholds" if thr else "")
        + ". The ensemble is scored by nested CV (weights"
        + (" and thresholds" if thr else "")
        + " chosen without the scored fold); it has no training score (its inner score is "
        "the blend fitted and scored on the other folds). train = the metric on the "
        "training folds; vs benchmark: "
        "the difference to the organisers' benchmark `baseline`; trivial: a constant "
        "prediction, the floor any model must beat."
        + (" Per-target columns of the ensemble use each fold's tuned thresholds." if thr else "")
    )
    return [Table("Every model", cols, rows, cap)]


def ladder_rows(ctx: Context, facts: dict[str, Any]) -> list[list[str]]:
    from chemchallenge.report.ladder import paired, step

    steps = facts.get("ladder") or []
    metric, gib = facts.get("metric", ""), facts.get("greater_is_better", True)
    rows = []
    for s in steps:
        ref = step(steps, s.vs) if s.vs else None
        p = paired(ref, s, gib) if ref is not None else None
        if ref is None:
            diff, better = "", ""
        elif p is None:
            diff, better = f"{metric} {signed(s.mean - ref.mean)} (folds not paired)", ""
        else:
            word = "better" if p.gain > 0 else "worse" if p.gain < 0 else "same"
            diff = f"{metric} {signed(p.diff)} ± {sig(p.std)}, {word}"
            better = f"{p.better} / {p.n}"
        rows.append(
            [s.label, f"{sig(s.mean)} ± {sig(s.std)}", ref.label if ref else "", diff, better]
        )
    return rows


def _ladder_items(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> list[Any]:
    steps = facts.get("ladder") or []
    if len(steps) < 2:
        return [Note("Fewer than two scored steps: no gain ladder.")]
    rows = ladder_rows(ctx, facts)
    cap = (
        "Each step scored on the same CV folds and the same molecules; the difference to the "
        "step it builds on is computed fold by fold (mean ± std of the per-fold "
        "differences), which is what decides whether a gain is real: a gain smaller than "
        "its std, or better in only some folds, is noise."
    )
    table = Table(
        "Gain ladder",
        ["step", "score (mean ± std)", "compared with", "paired difference", "folds better"],
        rows,
        cap,
    )
    metric = facts.get("metric", "score")
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(steps) + 1.4), layout="constrained")
    y = np.arange(len(steps))[::-1]
    for yi, s in zip(y, steps):
        if s.folds:
            ax.scatter(s.folds, np.full(len(s.folds), yi), s=14, color=COLORS[7], zorder=2)
        ax.errorbar([s.mean], [yi], xerr=[s.std], fmt="o", color=COLORS[0], capsize=4, zorder=3)
        ax.annotate(
            sig(s.mean),
            (s.mean, yi),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=8,
        )
    ax.set_yticks(y, [short([s.label.replace("`", "")], 48)[0] for s in steps], fontsize=8)
    ax.set_xlabel(f"{metric} (grey: the folds; blue: mean ± std)")
    ax.set_title("Gain ladder, one protocol")
    fig_cap = (
        "Every step of the solution on the same folds: grey dots are the folds, so a step "
        "whose dots overlap the previous one's is not a clear gain."
    )
    return [table, store.save(fig, "gain_ladder", "Gain ladder", fig_cap)]


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


def smooth(values: np.ndarray) -> np.ndarray:
    """Centred moving average over ``max(3, n // 8)`` epochs (odd): what the verdicts read."""
    n = len(values)
    w = max(3, n // 8) | 1
    return pd.Series(values).rolling(w, center=True, min_periods=1).mean().to_numpy()


#: smallest relative rise of the smoothed validation loss after its minimum called a rise
MIN_RISE = 0.02


def fold_verdict(val: pd.DataFrame, train: pd.DataFrame | None) -> dict[str, Any]:
    """One fold's validation curve read on its smoothed version.

    ``still improving``: the smoothed minimum lies in the last epochs (≥ 90 % of the run);
    ``over-fitting``: after its minimum the smoothed loss rises by more than ``MIN_RISE``
    and more than twice the oscillation, and it rises consistently (≥ 70 % of the steps
    after the minimum go up); ``unstable``: the raw loss oscillates around the smoothed one
    by more than the rise (or by more than 5 %) without a consistent rise; ``flat``
    otherwise (a plateau: early stopping ended it)."""
    raw = val["value"].to_numpy(dtype=float)
    steps = val["step"].to_numpy(dtype=float)
    sm = smooth(raw)
    n = len(sm)
    b = int(np.argmin(sm))
    ref = abs(sm[b]) if sm[b] else 1.0
    rise = float((sm[-1] - sm[b]) / ref)
    # oscillation: the raw loss around the smoothed one once the first descent is over
    # (during it the moving average lags behind a steep curve)
    settled = int(np.argmax(sm <= sm[b] + 0.2 * (np.max(sm) - sm[b])))
    noise = float(np.std(raw[settled:] - sm[settled:]) / ref)
    after = np.diff(sm[b:])
    up = float(np.mean(after > 0)) if len(after) else 0.0
    train_at = np.nan
    if train is not None and not train.empty:
        train_at = float(np.interp(steps[b], train["step"], train["value"]))
    gap = float((sm[b] - train_at) / ref) if np.isfinite(train_at) else np.nan
    if b >= max(n - max(2, n // 10), int(0.9 * n)) or n < 4:
        verdict = "still improving"
    elif rise > max(MIN_RISE, 2 * noise) and up >= 0.7:
        verdict = "over-fitting"
    elif noise > max(0.05, rise / 2):
        verdict = "unstable"
    else:
        verdict = "flat"
    return {
        "best_epoch": float(steps[b]) + 1,  # 1-based, as the figures' x axis
        "epochs": float(steps[-1]) + 1,
        "rise": rise,
        "noise": noise,
        "up": up,
        "gap": gap,
        "verdict": verdict,
    }


VERDICTS = ("over-fitting", "unstable", "still improving", "flat")


def diagnose(curves: dict[int, dict[str, pd.DataFrame]]) -> dict[str, Any] | None:
    """Per-fold verdicts on the smoothed validation loss, their majority and medians."""
    rows = []
    for per in curves.values():
        va = per.get("val_loss")
        if va is None or len(va) < 2:
            continue
        rows.append(fold_verdict(va, per.get("train_loss")))
    if not rows:
        return None
    df = pd.DataFrame(rows)
    counts = {v: int((df["verdict"] == v).sum()) for v in VERDICTS}
    top = max(VERDICTS, key=lambda v: (counts[v], -VERDICTS.index(v)))
    sel = df[df["verdict"] == top]  # rise and noise: medians over the folds of the verdict
    out: dict[str, Any] = {
        k: float(np.nanmedian((sel if k in ("rise", "noise") else df)[k]))
        if df[k].notna().any()
        else np.nan
        for k in ("best_epoch", "epochs", "rise", "noise", "gap")
    }
    return out | {"folds": len(df), "verdict": top, "counts": counts, "per_fold": rows}


def curves_sentence(name: str, d: dict[str, Any]) -> str:
    """What the smoothed curves show, in words that agree with them."""
    n, c, v = d["folds"], d["counts"], d["verdict"]
    where = f"{c[v]} of {n} folds" if c[v] < n else f"all {n} folds"
    s = (
        f"{name}: smoothed validation loss lowest at epoch {d['best_epoch']:.0f} of "
        f"{d['epochs']:.0f} (median over folds); "
    )
    if v == "over-fitting":
        s += (
            f"in {where} it then rises consistently (+{d['rise']:.0%}) while the training "
            "loss keeps falling: over-fitting, stopped by early stopping (best-epoch weights "
            "kept)."
        )
    elif v == "still improving":
        s += (
            f"in {where} it is still falling at the last epoch: not over-fitting, more epochs "
            "(or a larger patience) could still help."
        )
    elif v == "unstable":
        s += (
            f"in {where} it oscillates (±{d['noise']:.0%} around the smoothed curve) without a "
            "consistent rise: unstable training (learning rate, batch size), not over-fitting."
        )
    else:
        s += (
            f"in {where} it moves by {d['rise']:+.0%} after its minimum against a "
            f"±{d['noise']:.0%} oscillation, not a consistent rise: a plateau, no clear sign "
            "of over-fitting."
        )
    gap = d.get("gap", np.nan)
    if np.isfinite(gap) and gap < -0.02:
        s += (
            f" Validation loss is {-gap:.0%} below the training loss: the training loss is "
            "averaged over the epoch with dropout/augmentation on, the validation loss is "
            "measured after the epoch with them off — not a sign of leakage."
        )
    elif np.isfinite(gap) and gap > 0.02:
        s += f" At the best epoch it is {gap:.0%} above the training loss (the variance gap)."
    return s


def _curves(run: ModelRun, store: FigureStore, facts: dict[str, Any]) -> list[Any]:
    """Two panels of at most 6 curves: each fold's smoothed validation loss (dot: its
    minimum), and train vs validation averaged over the folds (raw and smoothed)."""
    d = diagnose(run.curves)
    folds = sorted(k for k, per in run.curves.items() if per.get("val_loss") is not None)[:6]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    for i, k in enumerate(folds):
        va = run.curves[k]["val_loss"]
        x, sm = va["step"].to_numpy() + 1, smooth(va["value"].to_numpy(dtype=float))
        verdict = d["per_fold"][i]["verdict"] if d and i < len(d["per_fold"]) else ""
        a.plot(x, va["value"].to_numpy(dtype=float), color=COLORS[i], lw=0.7, alpha=0.3)
        a.plot(x, sm, color=COLORS[i], lw=1.6, label=f"fold {k}: {verdict}")
        j = int(np.argmin(sm))
        a.scatter([x[j]], [sm[j]], color=COLORS[i], s=25, zorder=3)
    a.set(
        xlabel="epoch",
        ylabel="validation loss",
        title="Validation loss per fold (faint: raw; bold: smoothed)",
    )
    a.legend(fontsize=7)
    for key, colour, label in (("train_loss", COLORS[0], "train"), ("val_loss", COLORS[1], "val")):
        frames = [run.curves[k][key] for k in folds if run.curves[k].get(key) is not None]
        if not frames:
            continue
        n = max(len(f) for f in frames)
        x = np.arange(n) + 1.0
        stack = np.full((len(frames), n), np.nan)
        for i, f in enumerate(frames):
            stack[i, : len(f)] = f["value"].to_numpy(dtype=float)
        enough = np.sum(~np.isnan(stack), axis=0) * 2 >= len(frames)  # half the folds run
        x, m = x[enough], np.nanmean(stack[:, enough], axis=0)
        b.plot(x, m, color=colour, lw=0.8, alpha=0.45, label=f"{label} (raw)")
        b.plot(x, smooth(m), color=colour, lw=2, label=f"{label} (smoothed)")
    if d is not None:
        b.axvline(d["best_epoch"], color="grey", ls=":", lw=1.2, label="median best epoch")
    b.set(xlabel="epoch", ylabel="loss", title="Train vs validation (mean over folds)")
    b.legend(fontsize=7)
    fig.suptitle(f"{run.name}: learning curves (validation = inner split of the training folds)")
    text = curves_sentence(run.name, d) if d else f"{run.name}: no validation loss was logged."
    facts.setdefault("curves", {})[run.name] = d
    cap = (
        text + " Left: each fold's validation loss, raw (faint) and smoothed over a few epochs "
        "(bold), so that a "
        "consistent rise (over-fitting) is told apart from oscillation (instability); "
        "right: the mean curves, raw and smoothed, over the folds still running (shown "
        "while at least half of them are)."
    )
    f = store.save(fig, f"curves_{run.name}", f"Learning curves: {run.name}", cap)
    return [f]
