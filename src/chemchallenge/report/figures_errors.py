"""Section 3 — the errors of the best model, from its out-of-fold predictions: confusion
matrices or predicted-vs-true, ROC / precision–recall, calibration, the worst molecules
and the error as a function of the similarity to the training folds."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from chemchallenge.report import chem
from chemchallenge.report.context import Context, ModelRun
from chemchallenge.report.items import (
    Figure,
    FigureStore,
    Note,
    Section,
    fmt,
    grid,
    plt,
    safe,
    short,
)
from chemchallenge.report.scaffold_cv import scaffold_items
from chemchallenge.report.style import COLORS
from chemchallenge.tasks import TaskType

SIM_BINS = np.array([0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0001])
MAX_PANELS = 6


def oof_matrix(ctx: Context, run: ModelRun) -> np.ndarray:
    """The run's OOF outputs aligned with the training rows (NaN where missing)."""
    assert ctx.task is not None and ctx.train is not None and run.oof is not None
    cols = ctx.task.output_columns
    oof = run.oof.drop_duplicates("id").set_index("id").reindex(ctx.train["id"])
    return oof.reindex(columns=cols).to_numpy(dtype=float)


def molecule_error(ctx: Context, p: np.ndarray) -> np.ndarray:
    """One error per training molecule, comparable across targets (NaN if unscored)."""
    assert ctx.task is not None
    y, tt = ctx.y(), ctx.task.task_type
    with np.errstate(invalid="ignore"):
        if tt == TaskType.MULTICLASS:
            ok = ~np.isnan(y[:, 0]) & ~np.isnan(p).any(axis=1)
            err = np.full(len(y), np.nan)
            idx = np.flatnonzero(ok)
            err[idx] = 1.0 - p[idx, y[idx, 0].astype(int)]
            return err
        e = np.abs(y - p)
        if tt == TaskType.REGRESSION:
            sd = np.nanstd(y, axis=0)
            e = e / np.where(sd > 0, sd, 1.0)
        bad = np.isnan(e).all(axis=1)
        out = np.full(len(y), np.nan)
        out[~bad] = np.nanmean(e[~bad], axis=1)
        return out


def errors_section(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> Section:
    sec = Section("errors", "3. Where the models go wrong")
    sub = ctx.run(ctx.submitted) if ctx.prepared else None
    best = (
        sub if sub is not None and sub.oof is not None else (ctx.best() if ctx.prepared else None)
    )
    if best is None:
        sec.add(Note("No out-of-fold predictions: run `chemchallenge train <model>` first."))
        return sec
    assert ctx.task is not None
    facts["error_model"] = best
    p = oof_matrix(ctx, best)
    tt = ctx.task.task_type
    who = "the submitted model" if best is sub else "the best model (one protocol)"
    sec.add(Note(f"Out-of-fold predictions of {who}, {best.name}."))
    if tt == TaskType.REGRESSION:
        safe(sec, "the predicted-vs-true plot", lambda: _pred_true(ctx, best, p, store))
    else:
        safe(sec, "the confusion matrices", lambda: _confusion(ctx, best, p, store))
        if tt != TaskType.MULTICLASS:
            safe(sec, "the precision and recall", lambda: _precision_recall(ctx, best, p, facts))
            if best.name == "ensemble":
                facts["thresholds_used"] = thresholds_matrix(ctx, best)[1]
        safe(sec, "the ROC and PR curves", lambda: _roc_pr(ctx, store))
        safe(sec, "the calibration plot", lambda: _calibration(ctx, best, p, store))
    err = molecule_error(ctx, p)
    safe(sec, "the worst molecules", lambda: _worst(ctx, p, err, store, facts))
    safe(sec, "the error-vs-similarity plot", lambda: _err_vs_sim(ctx, err, store, facts))
    safe(sec, "the errors per scaffold family", lambda: _by_scaffold(ctx, err, facts))
    safe(sec, "the scaffold-split CV", lambda: scaffold_items(ctx, store, facts))
    return sec


#: a scaffold family this large counts as well represented in training
LARGE_FAMILY = 5


def scaffold_groups(ctx: Context, err: np.ndarray) -> dict[str, dict[str, float]] | None:
    """Mean out-of-fold error of the molecules whose scaffold is unique in training, shared
    by a few, or by a large family (≥ ``LARGE_FAMILY`` molecules)."""
    from collections import Counter

    assert ctx.train is not None
    sc = [chem.scaffold(s) for s in ctx.train["smiles"]]
    counts = Counter(s for s in sc if s)
    size = np.array([counts.get(s, 0) if s else 0 for s in sc])
    groups = {
        "unique scaffold": size == 1,
        f"2–{LARGE_FAMILY - 1} molecules": (size >= 2) & (size < LARGE_FAMILY),
        f"≥ {LARGE_FAMILY} molecules": size >= LARGE_FAMILY,
    }
    out = {}
    for name, mask in groups.items():
        ok = mask & np.isfinite(err)
        if ok.sum() >= 3:
            out[name] = {"n": int(ok.sum()), "mean": float(err[ok].mean())}
    return out if len(out) >= 2 else None


def _by_scaffold(ctx: Context, err: np.ndarray, facts: dict[str, Any]) -> Any:
    from chemchallenge.report.items import Table

    groups = scaffold_groups(ctx, err)
    if groups is None:
        return None
    facts["scaffold_errors"] = groups
    rows = [[k, str(v["n"]), f"{v['mean']:.3f}"] for k, v in groups.items()]
    cap = (
        "Out-of-fold error (the same per-molecule error as the figures above) grouped by how "
        "many training molecules share the molecule's Bemis–Murcko scaffold: a higher error "
        "on unique scaffolds is what a scaffold split would measure, and what new chemical "
        "series in the test set would meet."
    )
    return Table(
        "Errors by scaffold family", ["scaffold shared by", "molecules", "mean error"], rows, cap
    )


def _pred_true(ctx: Context, run: ModelRun, p: np.ndarray, store: FigureStore) -> Figure:
    assert ctx.task is not None
    y = ctx.y()
    targets = ctx.task.targets[:MAX_PANELS]
    fig, axes = grid(len(targets), 3, (4.0, 3.8))
    for j, (ax, t) in enumerate(zip(axes, targets)):
        ok = ~np.isnan(y[:, j]) & ~np.isnan(p[:, j])
        yt, yp = y[ok, j], p[ok, j]
        ax.scatter(yt, yp, s=6, alpha=0.4, color=COLORS[0])
        lo, hi = float(min(yt.min(), yp.min())), float(max(yt.max(), yp.max()))
        ax.plot([lo, hi], [lo, hi], color="k", lw=1, ls="--")
        q = np.unique(np.quantile(yp, np.linspace(0, 1, 11)))
        if len(q) > 2:  # calibration: mean true value per bin of prediction
            b = np.clip(np.digitize(yp, q[1:-1]), 0, len(q) - 2)
            mp = [yp[b == i].mean() for i in range(len(q) - 1) if (b == i).any()]
            mt = [yt[b == i].mean() for i in range(len(q) - 1) if (b == i).any()]
            ax.plot(mp, mt, "o-", color=COLORS[1], ms=3, lw=1.2, label="binned mean")
        rmse = np.sqrt(np.mean((yt - yp) ** 2))
        ax.set(xlabel=f"true {t}", ylabel=f"predicted {t}")
        ax.set_title(f"{t}: pooled OOF RMSE {rmse:.3f}, R² {skm.r2_score(yt, yp):.3f}")
        ax.legend(fontsize=7)
    cap = (
        f"Out-of-fold predictions of {run.name}; the orange line (mean true value per decile "
        "of prediction) is the calibration: a slope below the diagonal means shrinkage to "
        "the mean (extremes under-predicted)."
    )
    return store.save(fig, "pred_vs_true", "Predicted vs true (out-of-fold)", cap)


def thresholds_matrix(ctx: Context, run: ModelRun) -> tuple[np.ndarray, dict[str, float]]:
    """Per training row and target, the threshold that labelled its OOF prediction: each
    outer fold's own (``nested_thresholds``) for a tuned ensemble, 0.5 otherwise; and the
    thresholds to quote (the ensemble's final ones, or empty)."""
    assert ctx.task is not None and ctx.train is not None
    n, targets = len(ctx.train), list(ctx.task.targets)
    out = np.full((n, len(targets)), 0.5)
    quoted: dict[str, float] = {}
    nested = run.metrics.get("nested_thresholds") if run.name == "ensemble" else None
    if isinstance(nested, dict) and nested and run.oof is not None and "fold" in run.oof:
        fold = run.oof.drop_duplicates("id").set_index("id")["fold"].reindex(ctx.train["id"])
        fold = fold.to_numpy(dtype=float)
        for k, thr in nested.items():
            rows = fold == float(k)
            for j, t in enumerate(targets):
                if isinstance(thr, dict) and t in thr:
                    out[rows, j] = float(thr[t])
    final = ctx.ensemble_thresholds if run.name == "ensemble" else None
    if isinstance(final, dict):
        final = final.get("thresholds", final)
        quoted = {t: float(final[t]) for t in targets if isinstance(final.get(t), int | float)}
    return out, quoted


def _precision_recall(ctx: Context, run: ModelRun, p: np.ndarray, facts: dict[str, Any]) -> None:
    """Per-target counts of the labelled OOF predictions (the confusion matrix in words)."""
    assert ctx.task is not None
    y, thr = ctx.y(), thresholds_matrix(ctx, run)[0]
    pr = {}
    for j, t in enumerate(ctx.task.targets):
        ok = ~np.isnan(y[:, j]) & ~np.isnan(p[:, j])
        pred, true = p[ok, j] >= thr[ok, j], y[ok, j] == 1
        tp, fp, fn = int(np.sum(pred & true)), int(np.sum(pred & ~true)), int(np.sum(~pred & true))
        pr[t] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": int(np.sum(~pred & ~true)),
            "pred_pos": tp + fp,
            "true_pos": tp + fn,
            "precision": tp / (tp + fp) if tp + fp else np.nan,
            "recall": tp / (tp + fn) if tp + fn else np.nan,
        }
    facts["precision_recall"] = pr


def _confusion(ctx: Context, run: ModelRun, p: np.ndarray, store: FigureStore) -> Figure:
    assert ctx.task is not None
    y, task = ctx.y(), ctx.task
    if task.task_type == TaskType.MULTICLASS:
        ok = ~np.isnan(y[:, 0]) & ~np.isnan(p).any(axis=1)
        labels = list(range(len(task.classes)))
        mats = [(task.targets[0], skm.confusion_matrix(y[ok, 0], p[ok].argmax(1), labels=labels))]
        ticks = [str(c) for c in task.classes]
    else:
        thr, mats, ticks = thresholds_matrix(ctx, run)[0], [], ["0", "1"]
        for j, t in enumerate(task.targets[:MAX_PANELS]):
            ok = ~np.isnan(y[:, j]) & ~np.isnan(p[:, j])
            pred = (p[ok, j] >= thr[ok, j]).astype(int)
            lo, hi = float(thr[ok, j].min()), float(thr[ok, j].max())
            what = f"threshold {lo:.2f}" if lo == hi else f"thresholds {lo:.2f}–{hi:.2f} by fold"
            mats.append((f"{t} ({what})", skm.confusion_matrix(y[ok, j], pred, labels=[0, 1])))
    fig, axes = grid(len(mats), 3, (3.4, 3.2))
    for ax, (title, m) in zip(axes, mats):
        ax.imshow(m, cmap="Blues")
        ax.grid(False)
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, str(v), ha="center", va="center", color="k" if v < m.max() / 2 else "w")
        ax.set_xticks(range(len(ticks)), short(ticks, 8))
        ax.set_yticks(range(len(ticks)), short(ticks, 8))
        ax.set(xlabel="predicted", ylabel="true", title=title)
    cap = (
        f"Confusion matrices of {run.name}'s out-of-fold predictions (rows: true label, "
        "columns: predicted). Off-diagonal cells are the errors: top right false alarms, "
        "bottom left misses"
        + (
            "; each fold's molecules are labelled with the thresholds tuned without that fold."
            if run.name == "ensemble" and run.metrics.get("nested_thresholds")
            else ("." if task.task_type == TaskType.MULTICLASS else "; threshold 0.5.")
        )
    )
    return store.save(fig, "confusion", "Confusion matrices (out-of-fold)", cap)


def _binary_columns(ctx: Context, p: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, y, score) per target (multi-class: one-vs-rest per class)."""
    assert ctx.task is not None
    y = ctx.y()
    if ctx.task.task_type == TaskType.MULTICLASS:
        cols = [
            (f"class {c}", (y[:, 0] == i).astype(float), p[:, i])
            for i, c in enumerate(ctx.task.classes)
        ]
        cols = [(n, np.where(np.isnan(y[:, 0]), np.nan, t), s) for n, t, s in cols]
    else:
        cols = [(t, y[:, j], p[:, j]) for j, t in enumerate(ctx.task.targets)]
    out = []
    for n, t, s in cols[:MAX_PANELS]:
        ok = ~np.isnan(t) & ~np.isnan(s)
        if len(np.unique(t[ok])) == 2:
            out.append((n, t[ok].astype(int), s[ok]))
    return out


def _roc_pr(ctx: Context, store: FigureStore) -> Figure | None:
    runs = [r for r in ctx.runs() if r.oof is not None]
    if runs:  # at most 6 curves per panel: the 5 best under one protocol and the benchmark
        gib = runs[0].gib
        runs.sort(key=lambda r: -r.fair_mean if gib else r.fair_mean)
        keep = [r for r in runs if r.name != "baseline"][:5]
        runs = keep + [r for r in runs if r.name == "baseline"]
    if not runs:
        return None
    per_run = {r.name: _binary_columns(ctx, oof_matrix(ctx, r)) for r in runs}
    names = [n for n, _, _ in per_run[runs[0].name]]
    if not names:
        return None
    fig, axes = plt.subplots(
        2, len(names), figsize=(3.6 * len(names), 6.8), squeeze=False, layout="constrained"
    )
    for r_i, (rname, cols) in enumerate(per_run.items()):
        c = COLORS[r_i % len(COLORS)]
        for j, (n, t, s) in enumerate(cols):
            fpr, tpr, _ = skm.roc_curve(t, s)
            axes[0, j].plot(fpr, tpr, color=c, lw=1.2, label=f"{rname} {skm.auc(fpr, tpr):.3f}")
            prec, rec, _ = skm.precision_recall_curve(t, s)
            ap = skm.average_precision_score(t, s)
            axes[1, j].plot(rec, prec, color=c, lw=1.2, label=f"{rname} {ap:.3f}")
            axes[0, j].set(
                title=f"ROC {n}", xlabel="false positive rate", ylabel="true positive rate"
            )
            axes[1, j].set(
                title=f"PR {n} (base {t.mean():.2f})", xlabel="recall", ylabel="precision"
            )
    for ax in axes.ravel():
        ax.legend(fontsize=7, loc="lower right" if "ROC" in ax.get_title() else "lower left")
    cap = (
        "Top: ROC curves (AUC in the legend); bottom: precision–recall (average precision; "
        "'base' is the positive rate, the score of a random ranking), for the five best models "
        "and the benchmark. These curves ignore the threshold: they show how well each model "
        "ranks the molecules, which the threshold then turns into labels."
    )
    return store.save(fig, "roc_pr", "ROC and precision–recall curves", cap)


def _calibration(ctx: Context, run: ModelRun, p: np.ndarray, store: FigureStore) -> Figure | None:
    cols = _binary_columns(ctx, p)
    if not cols:
        return None
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    for j, (n, t, s) in enumerate(cols):
        frac, mean = calibration_curve(t, np.clip(s, 0, 1), n_bins=10, strategy="quantile")
        ax.plot(mean, frac, "o-", ms=3, color=COLORS[j % len(COLORS)], label=n)
    ax.set(
        xlabel="predicted probability",
        ylabel="observed frequency",
        title=f"Calibration of {run.name}",
    )
    ax.legend(fontsize=8)
    cap = (
        "Reliability diagram (10 bins of equal size): points on the diagonal mean the "
        "predicted probabilities can be read as frequencies; points above it mean the model "
        "is under-confident there, below it over-confident."
    )
    return store.save(fig, "calibration", "Calibration", cap)


def _worst(
    ctx: Context, p: np.ndarray, err: np.ndarray, store: FigureStore, facts: dict[str, Any]
) -> Figure | None:
    assert ctx.task is not None and ctx.train is not None
    n = ctx.cfg.max_molecules_drawn
    order = [i for i in np.argsort(-np.nan_to_num(err, nan=-1)) if np.isfinite(err[i])][:n]
    if not order:
        return None
    y, legends = ctx.y(), []
    for i in order:
        if ctx.task.task_type == TaskType.MULTICLASS:
            cls = ctx.task.classes
            txt = f"true {cls[int(y[i, 0])]}, pred {cls[int(np.argmax(p[i]))]}"
        else:  # the target this molecule is worst on
            j = int(np.nanargmax(np.abs(y[i] - p[i])))
            t = ctx.task.targets[j] if len(ctx.task.targets) > 1 else ""
            txt = f"{t} true {fmt(y[i, j], 2)}, pred {fmt(p[i, j], 2)}".strip()
        legends.append(f"{ctx.train['id'].iloc[i]}: {txt}")
    facts["worst_ids"] = [str(ctx.train["id"].iloc[i]) for i in order]
    png = chem.grid_png([ctx.train["smiles"].iloc[i] for i in order], legends)
    if png is None:
        return None
    cap = (
        "The worst-predicted training molecules (out-of-fold), labelled with their ID and, "
        "for the target they are worst on, the true and the predicted value."
    )
    return store.png(png, "worst_molecules", "Worst-predicted molecules", cap)


def _err_vs_sim(ctx: Context, err: np.ndarray, store: FigureStore, facts: dict[str, Any]) -> Figure:
    nb = ctx.neighbours
    sim, e = nb["cv"].to_numpy(), err[nb["row"].to_numpy()]
    ok = ~np.isnan(sim) & ~np.isnan(e)
    sim, e = sim[ok], e[ok]
    b = np.digitize(sim, SIM_BINS) - 1
    centers, means, counts = [], [], []
    for i in range(len(SIM_BINS) - 1):
        if (b == i).sum() >= 3:
            centers.append((SIM_BINS[i] + min(SIM_BINS[i + 1], 1)) / 2)
            means.append(float(e[b == i].mean()))
            counts.append(int((b == i).sum()))
    from scipy.stats import spearmanr

    rho = float(spearmanr(sim, e)[0]) if len(e) > 2 else np.nan
    facts["err_sim"] = {"rho": rho, "centers": centers, "means": means, "counts": counts}
    nn_test = facts.get("nn_test")
    if nn_test is not None and len(means):
        tb = np.clip(np.digitize(nn_test, SIM_BINS) - 1, 0, len(SIM_BINS) - 2)
        lookup = dict(zip(np.digitize(centers, SIM_BINS) - 1, means))
        vals = [lookup[k] for k in tb if k in lookup]
        facts["err_sim"]["expected_test"] = float(np.mean(vals)) if vals else np.nan
        facts["err_sim"]["oof_mean"] = float(e.mean())
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.scatter(sim, e, s=5, alpha=0.25, color=COLORS[0], label="molecule")
    ax.plot(centers, means, "o-", color=COLORS[1], lw=2, label="mean per similarity bin")
    for x, m, c in zip(centers, means, counts):
        ax.annotate(
            f"n={c}", (x, m), textcoords="offset points", xytext=(0, 6), fontsize=7, ha="center"
        )
    ax.axvline(
        ctx.ad_threshold,
        color="k",
        ls=":",
        lw=1.2,
        label=f"domain threshold {ctx.ad_threshold:.2f}",
    )
    ylab = "|error| / target sd" if ctx.task and ctx.task.task_type == "regression" else "|y − p|"
    ax.set(xlabel="max Tanimoto similarity to the other folds", ylabel=ylab)
    ax.set_title(f"Error vs similarity to the training folds (Spearman ρ = {rho:.2f})")
    ax.legend(fontsize=8)
    cap = (
        "Each molecule's out-of-fold error against its nearest neighbour in the folds its "
        f"model was trained on; the dotted line is the applicability-domain threshold "
        f"({ctx.ad_threshold:.2f}). The orange line is the mean error per similarity bin "
        "(n = molecules in the bin): if it rises to the left, predictions outside the "
        "domain are less reliable."
    )
    return store.save(fig, "error_vs_similarity", "Error vs similarity", cap)
