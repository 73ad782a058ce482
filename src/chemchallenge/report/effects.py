"""Signed effects: how each feature pushes a prediction up or down, per molecule.

XGBoost (exact TreeSHAP), random forest (path attributions) and linear models
(coefficient × standardised value): see :mod:`chemchallenge.report.explainers`; no ``shap``
package needed. Each fold model explains the molecules of its own held-out fold, so the
effects are out-of-fold like the scores. Nothing is refitted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from chemchallenge.report.context import Context, ModelRun
from chemchallenge.report.explainers import EXPLAINERS, METHODS
from chemchallenge.report.items import Figure, FigureStore, plt, short

TOP = 8
#: molecules explained (a random subsample spread over the folds): exact TreeSHAP costs
#: ~5 ms per molecule and target on deep boosted trees
MAX_MOLECULES = 300


def tree_contributions(ctx: Context, run: ModelRun) -> dict[str, pd.DataFrame] | None:
    """Per target: the out-of-fold contributions (rows: training molecules, columns: the
    model's features; :mod:`~chemchallenge.report.explainers` for each kind), and the
    feature values as ``<target>:values``."""
    from chemchallenge.features.store import load_features
    from chemchallenge.report.interpret import load_estimators

    explain = EXPLAINERS.get(run.kind)
    if explain is None or run.estimators_path is None or ctx.task is None:
        return None
    fs = load_features(ctx.paths, run.features)
    X, names = np.asarray(fs.train, dtype=float), list(fs.names)
    folds = ctx.fold_of_train()
    ests = load_estimators(run.estimators_path)
    if folds is None or len(X) != len(folds):
        return None
    ks = sorted(int(k) for k in np.unique(folds[~np.isnan(folds)]))
    if len(ks) != len(ests):
        return None
    rng = np.random.default_rng(0)
    keep = np.zeros(len(X), bool)
    keep[rng.choice(len(X), size=min(len(X), MAX_MOLECULES), replace=False)] = True
    out: dict[str, pd.DataFrame] = {}
    targets = list(ctx.task.targets) if ctx.task.task_type != "multiclass" else []
    for j, t in enumerate(targets):
        contrib = np.full((len(X), len(names)), np.nan)
        for k, est in zip(ks, ests):
            models = getattr(est, "models", [])
            if j >= len(models):
                return None
            rows = (folds == k) & keep
            if isinstance(models[j], float) or not rows.any():
                continue  # a constant (one-class) fold model explains nothing
            c = explain(models[j], X[rows])
            if c is None or c.shape != (int(rows.sum()), len(names)):
                return None
            contrib[rows] = c
        out[t] = pd.DataFrame(contrib[keep], columns=names)
        out[f"{t}:values"] = pd.DataFrame(X[keep], columns=names)
    return out or None


def direction(values: np.ndarray, effects: np.ndarray) -> float:
    """Spearman correlation between a feature's value and its effect (the sign of the
    relation a chemist reads: > 0, higher values raise the prediction)."""
    from scipy.stats import spearmanr

    ok = ~np.isnan(values) & ~np.isnan(effects)
    if ok.sum() < 3 or np.ptp(values[ok]) == 0 or np.ptp(effects[ok]) == 0:
        return float("nan")
    return float(spearmanr(values[ok], effects[ok])[0])


def summarise(contribs: dict[str, pd.DataFrame]) -> dict[str, list[tuple[str, float, float]]]:
    """Per target, the ``TOP`` features by mean |effect|: (name, mean |effect|, direction)."""
    out = {}
    for t, df in contribs.items():
        if t.endswith(":values"):
            continue
        vals = contribs[f"{t}:values"]
        mean = df.abs().mean().sort_values(ascending=False).head(TOP)
        out[t] = [
            (n, float(m), direction(vals[n].to_numpy(), df[n].to_numpy())) for n, m in mean.items()
        ]
    return out


def effects_figure(
    run: ModelRun, contribs: dict[str, pd.DataFrame], store: FigureStore, classification: bool
) -> Figure:
    targets = [t for t in contribs if not t.endswith(":values")][:3]
    method, unit, _ = METHODS[run.kind]
    fig, axes = plt.subplots(
        1,
        len(targets),
        figsize=(4.6 * len(targets), 0.42 * TOP + 1.6),
        squeeze=False,
        layout="constrained",
    )
    rng = np.random.default_rng(0)
    for ax, t in zip(axes[0], targets):
        df, vals = contribs[t], contribs[f"{t}:values"]
        top = list(df.abs().mean().sort_values(ascending=False).head(TOP).index)[::-1]
        for i, n in enumerate(top):
            e, v = df[n].to_numpy(), vals[n].to_numpy()
            ok = ~np.isnan(e)
            r = pd.Series(v[ok]).rank(pct=True).to_numpy()  # colour: the value's rank
            y = i + rng.uniform(-0.25, 0.25, ok.sum())
            sc = ax.scatter(e[ok], y, c=r, cmap="coolwarm", s=4, alpha=0.6, vmin=0, vmax=1)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(range(len(top)), short(top, 22), fontsize=8)
        ax.set_title(t)
        ax.set_xlabel(f"effect on the {unit if classification else 'prediction'}")
    fig.colorbar(sc, ax=axes[0, -1], shrink=0.8, label="feature value (rank: low → high)")
    cap = (
        f"Signed effects of {run.name}'s most influential features ({method}, each fold model "
        f"explaining its own held-out fold, on up to {MAX_MOLECULES} molecules): one dot per "
        "molecule, right of 0 it raises the prediction"
        + (f" ({unit} of label 1)" if classification else "")
        + ". Red dots (high values) on the right mean: the higher the feature, the higher "
        "the prediction."
        + (
            " Correlated descriptors split an effect, sometimes with opposite signs: read a "
            "group of related features, not one coefficient."
            if run.kind == "linear"
            else ""
        )
    )
    return store.save(fig, f"signed_effects_{run.name}", f"Signed effects ({run.name})", cap)


def effect_sentences(
    name: str, summary: dict[str, list[tuple[str, float, float]]], classification: bool = True
) -> list[str]:
    """Per target, the three most influential features and the sign of their effect (the
    Spearman ρ between the feature's value and its effect; |ρ| < 0.3 is called mixed)."""
    out = []
    for t, rows in summary.items():
        what = f"P({t}=1)" if classification else f"the predicted {t}"
        parts = []
        for n, _, rho in rows[:3]:
            if not np.isfinite(rho) or abs(rho) < 0.3:
                parts.append(f"{n} has a mixed effect")
            else:
                parts.append(
                    f"higher {n} {'raises' if rho > 0 else 'lowers'} {what} (ρ {rho:+.2f})"
                )
        out.append(f"{name}, {t}: " + "; ".join(parts) + ".")
    return out
