"""Section 4 — why the models work: feature importances read from the fitted estimators,
the most important Morgan bits drawn as substructures, and atom-level occlusion maps of a
graph network. Nothing is refitted: the fold estimators are only loaded and queried."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chemchallenge.report import chem
from chemchallenge.report.context import GRAPH_KINDS, Context, ModelRun
from chemchallenge.report.items import (
    Figure,
    FigureStore,
    Note,
    Section,
    grid,
    safe,
    short,
)
from chemchallenge.report.style import COLORS

IMPORTANCE_KINDS = ("decision_tree", "random_forest", "xgboost", "catboost", "linear")
MORGAN_TYPES = ("morgan", "morgan_counts")


def load_estimators(path: Path) -> list[Any]:
    """The fitted fold models, read with the safe loader (a foreign file is refused); read
    once per build (importances and signed effects both need them)."""
    return _load(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _load(path: Path, mtime: int) -> list[Any]:
    from chemchallenge.models.persist import load_estimators as safe_load

    return safe_load(path)


def _one_importance(est: Any) -> np.ndarray | None:
    if hasattr(est, "feature_importances"):
        imp = est.feature_importances()
        if imp is not None:
            return np.asarray(imp, dtype=float)
    coefs = []  # linear models: |coefficient| of the standardised features
    for m in getattr(est, "models", []):
        last = m.steps[-1][1] if hasattr(m, "steps") else m
        if hasattr(last, "coef_"):
            c = np.abs(np.atleast_2d(np.asarray(last.coef_, dtype=float))).mean(axis=0)
            coefs.append(c)
    return np.mean(coefs, axis=0) if coefs else None


def feature_names(ctx: Context, run: ModelRun) -> list[str]:
    """The model's feature columns, as the train stage built them (constant ones dropped)."""
    try:
        from chemchallenge.features.store import load_features

        return list(load_features(ctx.paths, run.features).names)
    except Exception:  # the store's API or files changed: fall back to the raw columns
        import pyarrow.parquet as pq

        names: list[str] = []
        for f in run.features:
            path = ctx.paths.features(f)
            if not path.exists():
                return []
            names += [c for c in pq.read_schema(path).names if c not in ("split", "id")]
        return names


def importances(ctx: Context, run: ModelRun) -> pd.Series | None:
    """Mean importance over the fold estimators, indexed by feature name."""
    if run.estimators_path is None or run.kind not in IMPORTANCE_KINDS:
        return None
    imps = [i for i in map(_one_importance, load_estimators(run.estimators_path)) if i is not None]
    if not imps:
        return None
    imp = np.mean(imps, axis=0)
    names = feature_names(ctx, run)
    if len(names) != len(imp):
        names = [f"feature {i}" for i in range(len(imp))]
    return pd.Series(imp, index=names).sort_values(ascending=False)


def interpret_section(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> Section:
    sec = Section("interpretation", "4. Why the models work")
    if not ctx.prepared or not ctx.models:
        sec.add(Note("No trained model to interpret: run `chemchallenge train <model>` first."))
        return sec
    imps: dict[str, pd.Series] = {}
    for run in ctx.models:
        imp = safe(sec, f"the importances of {run.name}", lambda run=run: importances(ctx, run))
        if isinstance(imp, pd.Series):
            imps[run.name] = imp
    facts["importances"] = imps
    if not imps:
        sec.add(Note("No fitted tree or linear model (models/<model>/estimators.pt) to read."))
    else:
        safe(sec, "the importance figure", lambda: _importance_fig(ctx, imps, store))
        safe(sec, "the Morgan bits", lambda: _morgan_bits(ctx, imps, store, facts))
    safe(sec, "the signed effects", lambda: _signed_effects(ctx, store, facts))
    safe(sec, "the atom attributions", lambda: _attributions(ctx, store, facts))
    return sec


def _signed_effects(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> list[Any]:
    """Out-of-fold signed effects of every XGBoost, random forest and linear model that
    carries ensemble weight, the most weighted first."""
    from chemchallenge.report.effects import (
        effect_sentences,
        effects_figure,
        summarise,
        tree_contributions,
    )
    from chemchallenge.report.explainers import EXPLAINERS

    runs = [r for r in ctx.models if r.kind in EXPLAINERS]
    if not runs or ctx.task is None:
        return []
    out: list[Any] = []
    idle = [r.name for r in runs if not _weighted(ctx, r.name)]
    if idle:
        out.append(
            Note(
                f"No signed effects for {', '.join(idle)}: ensemble weight 0, so they would "
                "explain nothing that is submitted."
            )
        )
    weighted = [r for r in runs if _weighted(ctx, r.name)]
    weighted.sort(key=lambda r: -np.nan_to_num(ctx.weight(r.name), nan=0.0))
    classification = ctx.task.task_type != "regression"
    facts["effects"], facts["effects_figures"] = [], []
    for run in weighted:
        contribs = tree_contributions(ctx, run)
        if contribs is None:
            out.append(Note(f"The {run.name} estimators cannot be explained: no signed effects."))
            continue
        facts["effects"] += effect_sentences(run.name, summarise(contribs), classification)
        fig = effects_figure(run, contribs, store, classification)
        facts["effects_figures"].append(fig.name)
        out.append(fig)
    return out


def _importance_fig(ctx: Context, imps: dict[str, pd.Series], store: FigureStore) -> Figure:
    n = ctx.cfg.top_features
    fig, axes = grid(len(imps), 3, (4.3, 0.22 * n + 1.2))
    for ax, (name, imp) in zip(axes, imps.items()):
        top = imp.head(n)[::-1]
        ax.barh(short(list(top.index), 24), top.to_numpy(), color=COLORS[0])
        ax.set_title(name)
        ax.tick_params(axis="y", labelsize=7)
    cap = (
        "Impurity (trees), gain (XGBoost) or prediction-change (CatBoost) importance, or "
        "|standardised coefficient| (linear), averaged over the fold models. Correlated "
        "features share importance."
    )
    return store.save(fig, "feature_importance", "Feature importances", cap)


def _bit_of(name: str, featurizers: dict[str, dict[str, Any]]) -> tuple[str, int] | None:
    m = re.fullmatch(r"(.+)_(\d+)", name.split(":")[-1])
    if not m:
        return None
    prefix = m.group(1)
    p = featurizers.get(prefix, {}) or {}
    ftype = p.get("type", prefix)
    return (prefix, int(m.group(2))) if ftype in MORGAN_TYPES else None


#: a Morgan bit is drawn only when it holds at least this share of its model's importance
MIN_BIT_SHARE = 0.01
#: and only for a model whose Morgan bits together hold at least this share
MIN_MORGAN_SHARE = 0.2


def _weighted(ctx: Context, name: str) -> bool:
    """Carries ensemble weight (or there is no ensemble to ask)."""
    w = ctx.weight(name)
    return not np.isfinite(w) or w > 0


def _morgan_bits(
    ctx: Context, imps: dict[str, pd.Series], store: FigureStore, facts: dict[str, Any]
) -> Figure | Note:
    assert ctx.train is not None and ctx.task is not None
    best_name, bits = None, []
    shares: dict[str, float] = {}
    why = []
    for r in [r for r in (facts.get("ranking") or ctx.models) if r.name in imps]:
        imp = imps[r.name] / max(float(imps[r.name].sum()), 1e-12)
        found = [(n, b) for n in imp.index if (b := _bit_of(n, ctx.featurizers))]
        if not found:
            continue
        share = float(imp[[n for n, _ in found]].sum())
        shares[r.name] = share
        if not _weighted(ctx, r.name):
            why.append(f"{r.name} has ensemble weight 0")
            continue
        top = float(imp[found[0][0]])
        if share < MIN_MORGAN_SHARE or top < MIN_BIT_SHARE:
            why.append(
                f"{r.name}'s Morgan bits hold {share:.0%} of its importance (its top bit {top:.1%})"
            )
            continue
        best_name = r.name
        bits = [(n, b) for n, b in found if imp[n] >= MIN_BIT_SHARE][: ctx.cfg.morgan_bits_drawn]
        break
    facts["morgan_share"] = {k: v for k, v in list(shares.items())[:3]}
    if not bits:
        if not shares:
            return Note("No model uses Morgan fingerprints: no substructure to draw.")
        text = (
            "No substructure is drawn: no model that carries weight relies on single Morgan "
            f"bits ({'; '.join(why[:3])}); they rely on the descriptors above."
        )
        facts["morgan_skipped"] = text
        return Note(text)
    prefix = bits[0][1][0]
    p = ctx.featurizers.get(prefix, {}) or {}
    radius, n_bits = int(p.get("radius", 2)), int(p.get("n_bits", 2048))
    examples = chem.morgan_bit_examples(
        list(ctx.train["smiles"]), [b for _, (_, b) in bits], radius, n_bits
    )
    presence = _presence(ctx, prefix, [n.split(":")[-1] for n, _ in bits])
    y0, imp = ctx.y()[:, 0], imps[best_name] / max(float(imps[best_name].sum()), 1e-12)
    fig, axes = grid(len(bits), 4, (3.0, 3.1))
    for ax, (name, (_, bit)) in zip(axes, bits):
        ax.axis("off")
        png = (
            chem.draw_morgan_bit(examples[bit][0], bit, examples[bit][1])
            if bit in examples
            else None
        )
        if png is None:
            ax.text(0.5, 0.5, "(no example)", ha="center")
        else:
            ax.imshow(chem.png_array(png))
        title = f"bit {bit} ({imp[name]:.1%} of importance)"
        on = presence.get(name.split(":")[-1])
        if on is not None:
            with_, without = np.nanmean(y0[on]), np.nanmean(y0[~on])
            title += f"\nin {on.mean():.0%}; {ctx.task.targets[0]}: {with_:.2f} vs {without:.2f}"
        ax.set_title(title, fontsize=8)
    facts["morgan_bits"] = (best_name, [b for _, (_, b) in bits])
    cap = (
        f"The Morgan bits holding at least {MIN_BIT_SHARE:.0%} of {best_name}'s importance "
        f"(all its {prefix} bits together: {shares[best_name]:.0%}), each drawn on an example "
        "molecule (blue: centre atom; yellow: aromatic atoms; grey: neighbours), with the "
        f"share of training molecules carrying it and the mean {ctx.task.targets[0]} with vs "
        "without it: a higher mean with the bit means the substructure goes with label 1 "
        "(or high values)."
    )
    return store.save(fig, "morgan_bits", "Important substructures (Morgan bits)", cap)


def _presence(ctx: Context, prefix: str, columns: list[str]) -> dict[str, np.ndarray]:
    assert ctx.train is not None
    path = ctx.paths.features(prefix)
    if not path.exists():
        return {}
    df = pd.read_parquet(path, columns=["split", "id", *columns])
    df = df[df["split"] == "train"].drop_duplicates("id").set_index("id").reindex(ctx.train["id"])
    return {c: df[c].fillna(0).to_numpy() > 0 for c in columns}


def _attributions(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> Figure | Note:
    runs = [r for r in ctx.models if r.kind in GRAPH_KINDS and r.estimators_path is not None]
    if not runs:
        return Note("No graph network was trained: no atom-level attribution map.")
    weighted = [r for r in runs if _weighted(ctx, r.name)]
    if not weighted:
        text = (
            "No atom map: the graph networks ("
            + ", ".join(r.name for r in runs)
            + ") carry no ensemble weight, so their attributions would explain nothing that "
            "is submitted."
        )
        facts["attribution_skipped"] = text
        return Note(text)
    gib = weighted[0].gib
    run = max(
        weighted,
        key=lambda r: (
            np.nan_to_num(ctx.weight(r.name), nan=0.0),
            r.fair_mean * (1 if gib else -1),
        ),
    )
    est = load_estimators(run.estimators_path)[0]  # type: ignore[arg-type]
    from chemchallenge.report.occlusion import occlusion_weights, similarity_map_png

    outputs = list(ctx.task.output_columns)[:3] if ctx.task is not None else ["prediction"]
    smiles = _pick_molecules(ctx, run)
    maps = []
    for j, out_name in enumerate(outputs):
        for s in smiles:
            w = occlusion_weights(est, s, j)
            if w is None:
                return Note(
                    f"The {run.name} estimator does not allow occlusion: attribution skipped."
                )
            maps.append((f"{out_name}: {short([s], 28)[0]}", similarity_map_png(s, w)))
    ncol = max(1, len(smiles))
    fig, axes = grid(len(maps), ncol, (3.0, 3.0))
    for ax, (title, png) in zip(axes, maps):
        ax.axis("off")
        ax.imshow(chem.png_array(png))
        ax.set_title(title, fontsize=7)
    facts["attribution_model"] = run.name
    facts["attribution_weight"] = ctx.weight(run.name)
    facts["attribution_target"] = ", ".join(outputs)
    w = ctx.weight(run.name)
    cap = (
        f"Occlusion maps of {run.name}"
        + (f" (ensemble weight {w:.2f})" if np.isfinite(w) else "")
        + ", first fold model, one row per output: each atom's features are zeroed in turn "
        "and the change of the prediction is shown (green: the atom raises it, purple: "
        "lowers it). Molecules picked across the range of its out-of-fold predictions."
    )
    return store.save(fig, "atom_attribution", f"Atom attributions ({run.name})", cap)


def _pick_molecules(ctx: Context, run: ModelRun) -> list[str]:
    """A spread of training molecules over the model's out-of-fold predictions."""
    assert ctx.train is not None
    k = ctx.cfg.attribution_molecules
    smiles = list(ctx.train["smiles"])
    if run.oof is None or len(run.oof) < k:
        return smiles[:k]
    col = run.oof.columns[2]
    order = run.oof.sort_values(col)["id"].tolist()
    pos = np.linspace(0, len(order) - 1, k).round().astype(int)
    by_id = dict(zip(ctx.train["id"], smiles))
    return [by_id[order[i]] for i in pos[::-1] if order[i] in by_id]
