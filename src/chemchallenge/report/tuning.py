"""Tuning (Optuna) and ensemble parts of the models section; formats are read defensively."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from chemchallenge.report.context import Context, ModelRun
from chemchallenge.report.items import Figure, FigureStore, Note, Table, fmt, plt
from chemchallenge.report.style import COLORS

_TUNING_PNGS = {
    "history": "optimisation history",
    "importance": "hyper-parameter importance",
    "parallel": "parallel coordinates",
}


_TUNING_HOW = {
    "history": "each dot is a trial's CV score, the line the best so far; a line still "
    "climbing at the last trial means more trials could pay.",
    "importance": "how much of the score's variation each hyper-parameter explains (fANOVA); "
    "tune the top ones, fix the rest.",
    "parallel": "one line per trial through its hyper-parameter values, coloured by score: "
    "good trials bunching on an axis show a good range.",
}


def _trials(run: ModelRun) -> pd.DataFrame | None:
    f = run.tuning_files.get("trials.csv")
    if f is None:
        return None
    try:
        df = pd.read_csv(f)
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return None
    if "state" in df.columns:
        df = df[df["state"].astype(str).str.upper().str.contains("COMPLETE")]
    return df if "value" in df.columns else None


def _params_text(p: Any) -> str:
    if not isinstance(p, dict):
        return ""
    return ", ".join(f"{k}={fmt(v)}" for k, v in p.items())


def tuning_items(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> list[Any]:
    tuned = [
        r
        for r in ctx.models
        if (isinstance(r.best_params, dict) and r.best_params.get("tuned", True)) or r.tuning_files
    ]
    if not tuned:
        return [Note("No model has been tuned (no models/<model>/best_params.json).")]
    out: list[Any] = []
    rows = []
    for r in tuned:
        bp = r.best_params if isinstance(r.best_params, dict) else {}
        trials = _trials(r)
        gib = bool(r.metrics.get("greater_is_better", True))
        best = bp.get("value", bp.get("best_value"))
        if best is None and trials is not None and len(trials):
            best = trials["value"].max() if gib else trials["value"].min()
        n = bp.get("n_trials", len(trials) if trials is not None else None)
        rows.append([r.name, fmt(n), fmt(best), _params_text(bp.get("params", bp))])
        facts.setdefault("tuned", []).append(r.name)
        pngs = [(k, r.tuning_files.get(f"{k}.png")) for k in _TUNING_PNGS]
        for key, f in pngs:
            if f is not None:
                cap = f"Optuna {_TUNING_PNGS[key]} for {r.name}: " + _TUNING_HOW[key]
                title = f"Tuning {r.name}: {_TUNING_PNGS[key]}"
                out.append(store.png(f.read_bytes(), f"tuning_{r.name}_{key}", title, cap))
        if not any(f for _, f in pngs) and trials is not None and len(trials):
            out.append(_history(r, trials, store))
    table = Table("Tuned models", ["model", "trials", "best CV value", "best parameters"], rows)
    return [table, *out]


def _history(run: ModelRun, trials: pd.DataFrame, store: FigureStore) -> Figure:
    gib = bool(run.metrics.get("greater_is_better", True))
    v = trials["value"].to_numpy(dtype=float)
    best = np.maximum.accumulate(v) if gib else np.minimum.accumulate(v)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.scatter(np.arange(len(v)), v, s=12, color=COLORS[0], label="trial")
    ax.plot(np.arange(len(v)), best, color=COLORS[1], label="best so far")
    ax.set(xlabel="trial", ylabel=str(run.metrics.get("metric", "value")))
    ax.legend()
    cap = f"Optuna trials of {run.name} (from trials.csv)."
    return store.save(fig, f"tuning_{run.name}_history", f"Tuning {run.name}", cap)


def _weights_frame(w: Any) -> pd.DataFrame | None:
    """Ensemble weights as a (model x column) frame, from the shapes we may meet."""
    if isinstance(w, dict) and isinstance(w.get("weights"), dict | list):
        w = w["weights"]
    if isinstance(w, dict) and w and all(isinstance(v, int | float) for v in w.values()):
        return pd.DataFrame({"weight": pd.Series(w, dtype=float)})
    if isinstance(w, dict) and w and all(isinstance(v, dict) for v in w.values()):
        df = pd.DataFrame(w).apply(pd.to_numeric, errors="coerce")
        return df.dropna(how="all")
    return None


def _score_text(v: Any) -> str:
    if isinstance(v, dict):
        mean = v.get("mean", v.get("cv_mean"))
        std = v.get("std", v.get("cv_std"))
        return f"{fmt(mean)} ± {fmt(std)}" if std is not None else fmt(mean)
    return fmt(v)


def _score_value(v: Any) -> float:
    if isinstance(v, dict):
        v = v.get("mean", v.get("cv_mean"))
    try:
        return float(v)
    except (TypeError, ValueError):
        return np.nan


def ensemble_items(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> list[Any]:
    ens = ctx.ensemble
    if ens is None and ctx.ensemble_weights is None:
        return [Note("The ensemble stage has not run (no metrics/ensemble.json).")]
    out: list[Any] = []
    m = ens.metrics if ens is not None else {}
    rows = []
    single = m.get("best_single_model")
    name = str(single.get("model", "") if isinstance(single, dict) else single or "")
    r = ctx.run(name) if name else None
    per_fold = m.get("best_single_per_fold")
    picks = sorted(set(per_fold.values())) if isinstance(per_fold, dict) and per_fold else []
    # the nested score picks the best member without the scored fold: name every pick
    chosen = ", ".join(map(str, picks)) if picks else name
    from chemchallenge.report.ladder import uses_thresholds

    at = ", thresholds 0.5" if uses_thresholds(ctx) else ""
    for key, label in (
        ("best_single_nested_at_0.5", f"best single model ({chosen}), nested CV{at}"),
        ("best_single_nested_tuned", f"best single model ({chosen}), nested CV, tuned thresholds"),
        ("nested_cv_at_0.5", f"ensemble, nested CV{at}"),
        ("nested_cv_tuned_thresholds", "ensemble, nested CV, tuned thresholds"),
    ):
        if m.get(key) is not None:
            rows.append([label, _score_text(m[key])])
    if name and not any(chosen in row[0] for row in rows) and r is not None:
        rows.insert(0, [f"best single model ({name}), CV", f"{fmt(r.cv_mean)} ± {fmt(r.cv_std)}"])
    if ens is not None and not rows:
        rows.append(["ensemble (CV)", f"{fmt(ens.cv_mean)} ± {fmt(ens.cv_std)}"])
    a, b = (
        _score_value(m.get("nested_cv_at_0.5")),
        _score_value(m.get("nested_cv_tuned_thresholds")),
    )
    if np.isfinite(a) and np.isfinite(b):
        facts["threshold_gain"] = (b - a) if m.get("greater_is_better", True) else (a - b)
    if rows:
        cap = (
            "Nested CV: weights"
            + (", thresholds" if at else "")
            + " and the best single model are chosen without the fold that scores them."
        )
        out.append(Table("Ensemble scores", ["what", "score"], rows, cap))
    thr = ctx.ensemble_thresholds if uses_thresholds(ctx) else None
    if isinstance(thr, dict) and thr:
        thr = thr.get("thresholds", thr)
        trows = [[str(k), fmt(v)] for k, v in thr.items() if not isinstance(v, dict | list)]
        if trows:
            out.append(Table("Tuned decision thresholds", ["target", "threshold"], trows))
    w = _weights_frame(
        ctx.ensemble_weights if ctx.ensemble_weights is not None else m.get("weights")
    )
    if w is not None and len(w):
        facts["ensemble_weights"] = w
        fig, ax = plt.subplots(figsize=(max(5.0, 0.8 * len(w) + 2), 3.2))
        w.plot.bar(ax=ax, legend=w.shape[1] > 1, rot=20, color=COLORS[: w.shape[1]])
        ax.set(ylabel="weight", title="Ensemble weights")
        zero = [str(i) for i in w.index if float(w.loc[i].abs().sum()) == 0]
        cap = (
            "Weight of each model in the blend, fitted on the out-of-fold predictions: a model "
            "with weight 0 adds nothing the others do not already bring"
            + (f" (here {', '.join(zero)})." if zero else ".")
        )
        out.append(store.save(fig, "ensemble_weights", "Ensemble weights", cap))
    return out or [Note("The ensemble outputs have no scores or weights to show.")]
